"""The "Where this page ran" extension: its pure parts, and a tiny book built with it
(tests/roots/test-provenance) whose probe of the environment is replaced by a fixed answer."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from docutils import nodes
from sphinx.testing.util import SphinxTestApp
from sphinx_roots import build, copy_root, page

from booktools import provenance_ext as ext
from booktools.book import Book, Paths
from booktools.gpu_verification import GpuVerification, gpu_digest, pinned_versions
from booktools.numerics_matrix import verification_digest

VERSIONS = {
    "jax": "0.10.2",
    "jaxlib": "0.10.2",
    "flax": "0.12.8",
    "dm-haiku": "0.0.17",
    "optax": "0.2.8",
    "numpy": "2.4.6",
}
BUILT = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
ENVIRONMENT = ext.BuildEnvironment("cpu (AMD EPYC 7B13)", VERSIONS, BUILT)

H200 = GpuVerification(
    device="NVIDIA H200",
    date="2026-12-04",
    versions={**VERSIONS, "jax": "0.11.2", "jaxlib": "0.11.2", "flax": "0.12.10"},
    cells={"matched": 67, "moved": 1, "failed": 1},
    glued={"matched": 18, "moved": 0, "failed": 0},
    failed_claims=["tall_rev_over_fwd > 1", "wide_fwd_over_rev > 1"],
)


def test_build_time_honours_source_date_epoch():
    assert ext.build_time({"SOURCE_DATE_EPOCH": "0"}) == datetime(1970, 1, 1, tzinfo=UTC)
    now = ext.build_time({})
    assert now.tzinfo is not None and abs((datetime.now(tz=UTC) - now).total_seconds()) < 60


def test_format_date_and_runtime():
    assert ext.format_date(BUILT) == "2026-01-02 03:04 UTC"
    assert ext.format_runtime(3.21) == "3.2 s"
    assert ext.format_runtime(0.042) == "0.04 s"
    assert ext.format_runtime(None) == "an unknown time"


def test_parse_probe_takes_the_last_line_and_rejects_garbage():
    stdout = "some log line\n" + json.dumps({"device": "cuda (H100)", "versions": VERSIONS})
    assert ext.parse_probe(stdout) == ("cuda (H100)", VERSIONS)
    with pytest.raises(ValueError):
        ext.parse_probe("")
    with pytest.raises(ValueError):
        ext.parse_probe(json.dumps({"device": 3, "versions": []}))


def test_library_items_name_the_five_libraries_in_order():
    assert ENVIRONMENT.library_items() == [
        ("JAX", "0.10.2"),
        ("jaxlib", "0.10.2"),
        ("Flax", "0.12.8"),
        ("Haiku", "0.0.17"),
        ("Optax", "0.2.8"),
    ]
    partial = ext.BuildEnvironment("cpu", {"jax": "1"}, BUILT)
    assert ("Haiku", "not installed") in partial.library_items()


def test_page_execution_is_none_for_pages_that_did_not_run():
    metadata = {"book/jit": {"exec_data": {"runtime": 1.0}}, "book/status": {"exec_table": True}}
    assert ext.page_execution(metadata, "book/jit") == {"runtime": 1.0}
    assert ext.page_execution(metadata, "book/status") is None
    assert ext.page_execution(metadata, "book/missing") is None


def test_note_text_names_device_versions_runtime_and_build_date():
    text = ext.note_text(ENVIRONMENT, {"runtime": 4.04, "method": "direct", "succeeded": True})
    assert text == (
        "Executed in 4.0 s on cpu (AMD EPYC 7B13) with JAX 0.10.2, jaxlib 0.10.2, "
        "Flax 0.12.8, Haiku 0.0.17 and Optax 0.2.8; built 2026-01-02 03:04 UTC."
    )


def test_note_text_is_honest_about_cached_and_failed_runs():
    cached = ext.note_text(
        ENVIRONMENT, {"runtime": 1, "method": "cache", "mtime": 0, "succeeded": True}
    )
    assert "outputs from the cache, executed 1970-01-01 00:00 UTC" in cached
    failed = ext.note_text(ENVIRONMENT, {"runtime": 1, "succeeded": False, "error": "Boom"})
    assert "FAILED (Boom)" in failed


def test_note_node_is_a_styled_container_with_a_link_to_the_status_page():
    node = ext.note_node("Executed in 1.0 s.", "status.html")
    assert isinstance(node, nodes.container) and ext.NOTE_CLASS in node["classes"]
    assert node.astext() == "Where this page ran. Executed in 1.0 s. All pages: build status."
    (link,) = node.findall(nodes.reference)
    assert link["refuri"] == "status.html"
    assert not list(ext.note_node("x").findall(nodes.reference))


def test_environment_table_lists_device_libraries_and_date():
    table = ext.environment_table(ENVIRONMENT)
    cells = [entry.astext() for entry in table.findall(nodes.entry)]
    assert cells[:4] == ["What", "Version or name", "Device", "cpu (AMD EPYC 7B13)"]
    assert "Haiku" in cells and cells[-2:] == ["Built", "2026-01-02 03:04 UTC"]


# --------------------------------------------------------------------------- in a real build

PROBED_DEVICE = "cpu (Test CPU)"
BUILT_EPOCH = str(int(BUILT.timestamp()))  # SOURCE_DATE_EPOCH: the build date on the pages
VERIFIED_UNDER = ["cpu SSE4_2, 2 threads (Test CPU)", "cpu AVX512, 1 thread (Test CPU)"]


@dataclass
class ProvenanceBuild:
    app: SphinxTestApp
    probed_in: list[str | None]  # the folder each probe of the environment ran in


def write_verified(srcdir: Path, docname: str, variants: list[str]) -> None:
    """What `make numerics-matrix RECORD_VERIFIED=1` writes for a page whose records held."""
    record = srcdir / "tests" / "golden" / f"{docname.removeprefix('book/')}.yml"
    book = Book(Paths.at(srcdir))
    entry = {"digest": verification_digest(book, docname, record), "variants": variants}
    verified = srcdir / "tests" / "numerics" / "verified.yml"
    verified.parent.mkdir(parents=True)
    verified.write_text(yaml.safe_dump({docname: entry}), encoding="utf-8")


PINS = "jax==0.11.2\njaxlib==0.11.2\nflax==0.12.10\ndm-haiku==0.0.17\noptax==0.2.8\n"


def write_gpu_verified(srcdir: Path, docname: str, verification: GpuVerification) -> None:
    """What `python -m booktools.gpu_verification record` writes after a GPU run of the page."""
    name = docname.removeprefix("book/")
    record = srcdir / "tests" / "golden" / "gpu" / f"{name}.yml"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text("# The GPU's record of the page (its content does not matter here)\n")
    book = Book(Paths.at(srcdir))
    verification = dataclasses.replace(verification, versions=pinned_versions(book))
    digest = gpu_digest(book, docname, verification.versions, [record])
    verified = srcdir / "tests" / "numerics" / "gpu-verified.yml"
    verified.parent.mkdir(parents=True, exist_ok=True)
    verified.write_text(yaml.safe_dump({docname: verification.entry(digest)}), encoding="utf-8")


def build_with_probe(srcdir: Path, probe) -> ProvenanceBuild:
    """Build tests/roots/test-provenance with ``probe`` in place of the subprocess probe."""
    probed_in: list[str | None] = []

    def recorded_probe(cwd: str | None = None) -> tuple[str, dict[str, str]]:
        probed_in.append(cwd)
        return probe()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ext, "probe_environment", recorded_probe)
        patch.setenv("SOURCE_DATE_EPOCH", BUILT_EPOCH)
        return ProvenanceBuild(build(srcdir), probed_in)


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    srcdir = copy_root("provenance", tmp_path_factory)
    (srcdir / "requirements.txt").write_text(PINS, encoding="utf-8")
    write_verified(srcdir, "book/executed", VERIFIED_UNDER)
    write_gpu_verified(srcdir, "book/executed", H200)
    built = build_with_probe(srcdir, lambda: (PROBED_DEVICE, VERSIONS))
    yield built
    built.app.cleanup()


def notes(document) -> list[str]:
    return [note.text() for note in document.find_all(class_=ext.NOTE_CLASS)]


def test_the_book_builds_without_warnings(book):
    assert book.app.warning.getvalue() == ""


def test_the_environment_is_probed_once_per_build_in_the_book_root(book):
    assert book.probed_in == [str(book.app.srcdir)]


def test_an_executed_page_says_where_it_ran_and_where_its_records_held(book):
    document = page(book.app, "book/executed")
    (note,) = notes(document)
    assert re.fullmatch(
        r"Where this page ran\. Executed in \d+\.\d+ s on cpu \(Test CPU\) with JAX 0\.10\.2, "
        r"jaxlib 0\.10\.2, Flax 0\.12\.8, Haiku 0\.0\.17 and Optax 0\.2\.8; "
        r"built 2026-01-02 03:04 UTC\. "
        r"Its recorded outputs were verified under cpu SSE4_2, 2 threads \(Test CPU\); "
        r"cpu AVX512, 1 thread \(Test CPU\)\. On a GPU it was verified on 2026-12-04 \(NVIDIA "
        r"H200, with JAX 0\.11\.2, jaxlib 0\.11\.2, Flax 0\.12\.10, Haiku 0\.0\.17 and Optax "
        r"0\.2\.8\): 67 cells matched, 1 moved, 1 failed; the claims `tall_rev_over_fwd > 1` and "
        r"`wide_fwd_over_rev > 1` did not hold there\. All pages: build status\.",
        note,
    )
    (container,) = document.find_all(class_=ext.NOTE_CLASS)
    (link,) = container.find_all("a")
    assert link.attrs["href"] == "status.html"


def test_pages_that_did_not_run_carry_no_note(book):
    for docname in ("index", "book/plain", "book/status"):
        assert notes(page(book.app, docname)) == [], docname


def test_the_build_environment_directive_becomes_a_table_of_the_probe(book):
    table = page(book.app, "book/status").find_all("table", class_=ext.TABLE_CLASS)[0]
    rows = [[cell.text() for cell in row.find_all("p")] for row in table.find_all("tr")]
    assert rows == [
        ["What", "Version or name"],
        ["Device", "cpu (Test CPU)"],
        ["JAX", "0.10.2"],
        ["jaxlib", "0.10.2"],
        ["Flax", "0.12.8"],
        ["Haiku", "0.0.17"],
        ["Optax", "0.2.8"],
        ["Built", "2026-01-02 03:04 UTC"],
    ]


def test_a_failed_probe_is_a_warning_and_no_page_claims_an_environment(tmp_path_factory):
    def failing_probe():
        raise RuntimeError("exit status 1: no JAX here")

    failed = build_with_probe(copy_root("provenance", tmp_path_factory), failing_probe)
    try:
        warnings = failed.app.warning.getvalue()
        assert "could not describe the build's device: exit status 1: no JAX here" in warnings
        assert notes(page(failed.app, "book/executed")) == []
        status = page(failed.app, "book/status")
        assert "The build environment is unknown." in status.text()
        assert len(failed.probed_in) == 1  # a failure is remembered, not retried on each page
    finally:
        failed.app.cleanup()


def test_probe_describes_this_machine():
    """The real subprocess probe, as the build runs it."""
    device, versions = ext.probe_environment()
    assert device.split(" ", 1)[0] in {"cpu", "cuda", "gpu", "rocm", "tpu"}
    assert versions["jax"] == versions["jaxlib"] != "not installed"


def test_verification_text_names_the_variants_or_says_there_are_none():
    both = ext.verification_text(["cpu AVX512, 2 threads (X)", "cpu SSE4_2, 2 threads (X)"], True)
    assert both == (
        "Its recorded outputs were verified under cpu AVX512, 2 threads (X); "
        "cpu SSE4_2, 2 threads (X); its GPU records have not been verified on a GPU since the "
        "page, the modules it imports, the pins or the records last changed."
    )
    none = ext.verification_text([], False)
    assert "have not been checked under other CPU numerics" in none
    assert "no GPU has run it yet" in none


def test_verification_text_names_the_gpu_its_date_versions_counts_and_failed_claims():
    text = ext.verification_text(["cpu SSE4_2, 2 threads (X)"], True, H200)
    assert text == (
        "Its recorded outputs were verified under cpu SSE4_2, 2 threads (X). On a GPU it was "
        "verified on 2026-12-04 (NVIDIA H200, with JAX 0.11.2, jaxlib 0.11.2, Flax 0.12.10, "
        "Haiku 0.0.17 and Optax 0.2.8): 67 cells matched, 1 moved, 1 failed; the claims "
        "`tall_rev_over_fwd > 1` and `wide_fwd_over_rev > 1` did not hold there."
    )
    held = dataclasses.replace(H200, failed_claims=[], records=["gpu", "cpu"])
    assert ext.gpu_text(held).endswith(
        "partly against its CPU records (the page had changed since its GPU records)): "
        "67 cells matched, 1 moved, 1 failed; every claim held."
    )


def test_a_gpu_verification_shows_while_its_digest_holds_and_lapses_when_the_code_changes(
    tmp_path_factory,
):
    srcdir = copy_root("provenance", tmp_path_factory)
    (srcdir / "requirements.txt").write_text(PINS, encoding="utf-8")
    write_gpu_verified(srcdir, "book/executed", H200)
    assert "On a GPU it was verified on 2026-12-04" in ext.page_verification(
        "book/executed", srcdir
    )
    source = srcdir / "book" / "executed.md"
    source.write_text(source.read_text().replace("print(1 + 1)", "print(1 + 2)"))
    assert ext.page_verification("book/executed", srcdir).endswith(
        "its GPU records have not been verified on a GPU since the page, the modules it imports, "
        "the pins or the records last changed."
    )
