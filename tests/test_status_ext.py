"""The status page's tables (booktools.status_ext): each page's execution time against the
budget, and where the records were verified with each fact said once; their pure parts, and
the tiny book of tests/roots/test-provenance built with them."""

from __future__ import annotations

import pytest
from docutils import nodes
from sphinx_roots import copy_root, page
from test_provenance_ext import (
    H200,
    PINS,
    VERIFIED_UNDER,
    VERSIONS,
    build_with_probe,
    write_gpu_verified,
    write_verified,
)

from booktools import status_ext as ext
from booktools.provenance_ext import TABLE_CLASS

# What tests/numerics/verified.yml held for a page (the native build ran AVX2 as well).
MATRIX = [
    "cpu AVX2, 2 threads (AMD EPYC), JAX 0.11.2",
    "cpu SSE4_2, 2 threads (AMD EPYC), JAX 0.11.2",
    "cpu AVX2, 2 threads (AMD EPYC), JAX 0.11.2",
    "cpu AVX2, 1 thread (AMD EPYC), JAX 0.11.2",
]


def test_the_budget_verdict():
    assert ext.budget_verdict(49.94, 45) == "over by 4.9 s"
    assert ext.budget_verdict(45.07, 45) == "over by 0.1 s"
    assert ext.budget_verdict(45.0, 45) == "within"
    assert ext.budget_verdict(None, 45) == "unknown"


def test_the_times_follow_the_reading_order():
    includes = {"index": ["book/b", "book/a"], "book/b": ["book/c"]}
    assert ext.reading_order(includes, "index") == ["book/b", "book/c", "book/a"]
    metadata = {doc: {"exec_data": {"runtime": 1.0}} for doc in ("book/a", "book/b", "book/z")}
    metadata["book/plain"] = {}
    order = [doc for doc, _ in ext.executed_pages(metadata, ["book/b", "book/c", "book/a"])]
    assert order == ["book/b", "book/a", "book/z"]


def test_the_summary_names_every_page_over_the_budget_and_every_failure():
    pages = [
        ("book/flax_nnx", "Flax NNX", {"runtime": 49.94, "succeeded": True}),
        ("book/vmap", "vmap", {"runtime": 45.07, "succeeded": True}),
        ("book/jit", "jit", {"runtime": 8.2, "succeeded": False}),
    ]
    text = ext.times_summary(pages, 45)
    assert text.startswith("The budget: every page must execute in at most 45 s")
    assert "Over it in this build, 2 of 3 pages: Flax NNX (49.9 s), vmap (45.1 s)." in text
    assert text.endswith("Failed to execute: jit.")
    within = ext.times_summary(pages[2:], 45)
    assert "In this build all 1 pages took at most that; the slowest, jit, took 8.2 s." in within


def test_the_variants_are_named_once_and_each_is_a_column():
    headers, shared = ext.common_tail(list(dict.fromkeys(MATRIX)))
    assert headers == ["cpu AVX2, 2 threads", "cpu SSE4_2, 2 threads", "cpu AVX2, 1 thread"]
    assert shared == "AMD EPYC, JAX 0.11.2"
    mixed = ["cpu AVX2, 2 threads (A), JAX 1", "cpu AVX2, 2 threads (B), JAX 1"]
    assert ext.common_tail(mixed) == (mixed, None)

    paragraph, table = ext.cpu_verification({"dsp.md": MATRIX, "grad.md": []})
    assert "(all on AMD EPYC, JAX 0.11.2)" in paragraph.astext()
    cells = [entry.astext() for entry in table.findall(nodes.entry)]
    assert cells == [
        *("Page", "cpu AVX2, 2 threads", "cpu SSE4_2, 2 threads", "cpu AVX2, 1 thread"),
        *("dsp.md", "verified", "verified", "verified"),
        *("grad.md", "no", "no", "no"),
    ]
    (none,) = ext.cpu_verification({"grad.md": []})
    assert none.astext().startswith("No page's recorded outputs are verified")


# --------------------------------------------------------------------------- in a real build


def rows_of(table) -> list[list[str]]:
    return [[cell.text() for cell in row.find_all("p")] for row in table.find_all("tr")]


def build_book(tmp_path_factory, **confoverrides):
    srcdir = copy_root("provenance", tmp_path_factory)
    (srcdir / "requirements.txt").write_text(PINS, encoding="utf-8")
    write_verified(srcdir, "book/executed", VERIFIED_UNDER)
    write_gpu_verified(srcdir, "book/executed", H200)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in confoverrides.items():
            patch.setattr(ext, name, value)
        return build_with_probe(srcdir, lambda: ("cpu (Test CPU)", VERSIONS))


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    built = build_book(tmp_path_factory)
    yield built
    built.app.cleanup()


def test_the_book_builds_without_warnings(book):
    assert book.app.warning.getvalue() == ""


def test_each_executed_page_is_compared_with_the_budget(book):
    status = page(book.app, "book/status")
    (table,) = [t for t in status.find_all("table") if "Budget (45 s)" in t.text()]
    rows = rows_of(table)
    assert rows[0] == ["Page", "Executed", "Time", "Budget (45 s)", "Status"]
    assert [row[0] for row in rows[1:]] == ["An executed page"]
    assert rows[1][3:] == ["within", "succeeded"]
    assert "at most 45 s on the 2-core CPU machine that CI uses" in status.text()
    assert "the slowest, An executed page, took" in status.text()


def test_a_page_over_the_budget_is_marked_and_named(tmp_path_factory):
    over = build_book(tmp_path_factory, PAGE_TIME_BUDGET_S=0.001)
    try:
        status = page(over.app, "book/status")
        (table,) = [t for t in status.find_all("table") if "Budget (0.001 s)" in t.text()]
        (row,) = table.find_all("tr", class_=ext.OVER_CLASS)
        assert row.find_all("strong")[0].text().startswith("over by ")
        assert "Over it in this build, 1 of 1 pages: An executed page (" in status.text()
    finally:
        over.app.cleanup()


def test_the_verification_tables_say_each_fact_once(book):
    tables = page(book.app, "book/status").find_all("table", class_=TABLE_CLASS)
    cpu, gpu = rows_of(tables[1]), rows_of(tables[2])
    assert cpu == [
        ["Page", "cpu SSE4_2, 2 threads", "cpu AVX512, 1 thread"],
        ["executed.md", "verified", "verified"],
    ]
    assert gpu == [
        ["Page", "GPU, date", "Cells matched, moved, failed", "Claims"],
        [
            "executed.md",
            "NVIDIA H200, 2026-12-04",
            "67 cells matched, 1 moved, 1 failed",
            "the claims `tall_rev_over_fwd > 1` and `wide_fwd_over_rev > 1` did not hold there",
        ],
    ]
    text = page(book.app, "book/status").text()
    assert "(all on Test CPU)" in text
    assert (
        "Every GPU run listed had JAX 0.11.2, jaxlib 0.11.2, Flax 0.12.10, Haiku 0.0.17 and "
        "Optax 0.2.8." in text
    )


def test_a_lapsed_gpu_verification_says_so_in_its_row(tmp_path_factory):
    srcdir = copy_root("provenance", tmp_path_factory)
    (srcdir / "requirements.txt").write_text(PINS, encoding="utf-8")
    write_gpu_verified(srcdir, "book/executed", H200)
    source = srcdir / "book" / "executed.md"
    source.write_text(source.read_text().replace("print(1 + 1)", "print(1 + 2)"))
    (table,) = ext.gpu_verification(srcdir, ["book/executed"])
    cells = [entry.astext() for entry in table.findall(nodes.entry)]
    assert cells[4:] == ["executed.md", "not verified since it changed", "", ""]
    (srcdir / "tests" / "golden" / "gpu" / "executed.yml").unlink()
    (table,) = ext.gpu_verification(srcdir, ["book/executed"])
    assert [entry.astext() for entry in table.findall(nodes.entry)][5] == "no GPU has run it"
