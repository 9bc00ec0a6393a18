"""Each contributor mistake fails the stage of `make test` that must catch it, and the message
names the file (and the page and cell where there is one). Run by `make faults`."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.faults


def output(result) -> str:
    return result.stdout + result.stderr


def assert_fails(result, *needles: str) -> None:
    text = output(result)
    assert result.returncode != 0, f"expected a failure, got success:\n{text}"
    for needle in needles:
        assert needle in text, f"{needle!r} not in the message:\n{text[-4000:]}"


def test_the_baseline_passes(book):
    assert book.check().returncode == 0


def test_a_cell_that_raises_fails_the_build_naming_page_and_error(book):
    book.edit("book/page.md", 'print("the answer is", answer())', 'raise ValueError("boom")')
    assert_fails(book.build(), "book/page", "ValueError", "boom", "BUILD FAILED")


def test_a_question_whose_distractor_is_the_output_fails_the_build(book):
    # jaxbook.quiz: the author's answer is 5, but the build computes 4, one of the distractors.
    question = 'from jaxbook.quiz import predict\npredict("sum", "print(2 + 2)", "5", ["4"], "why")'
    book.edit("book/page.md", 'print("the answer is", answer())', question)
    assert_fails(
        book.build(), "book/page", "ValueError", "the distractor '4' is what the snippet outputs"
    )


def test_a_cell_past_the_timeout_fails_the_build(book):
    book.edit("_config.yml", "timeout: 120", "timeout: 2")
    book.edit("book/page.md", 'print("the answer is", answer())', "import time; time.sleep(30)")
    assert_fails(book.build(), "book/page", "BUILD FAILED")
    assert "timed out" in output(book.build()).lower() or "Timeout" in output(book.build())


def test_a_src_change_that_alters_a_printed_number_fails_the_checker(book):
    book.write("src/jaxbook/faultdemo.py", "def answer():\n    return 43.0\n")
    assert book.build().returncode == 0
    assert_fails(book.check(), "book/page.md, cell 1", ">>>42.0<<<", ">>>43.0<<<")


def test_a_number_within_tolerance_passes(book):
    book.write("src/jaxbook/faultdemo.py", "def answer():\n    return 42.000001\n")
    assert book.build().returncode == 0
    assert book.check().returncode == 0, output(book.check())


def test_a_src_change_that_breaks_an_import_fails_the_build(book):
    book.write("src/jaxbook/faultdemo.py", "def renamed():\n    return 42.0\n")
    assert_fails(book.build(), "book/page", "ImportError", "answer")


def test_a_cell_without_expectation_and_an_expectation_without_cell(book):
    # A new first cell, and the pitfall cell deleted: nothing on the page replaces the other.
    book.edit(
        "book/page.md", "# A page\n", '# A page\n\n```{code-cell} ipython3\nprint("new")\n```\n'
    )
    book.edit(
        "book/page.md", "```{code-cell} ipython3\n:tags: [raises-exception]\n\n1 / 0\n```", ""
    )
    assert book.build().returncode == 0
    result = book.check()
    assert_fails(
        result,
        "book/page.md, cell 1",
        "no recorded expectation (a new cell)",
        "`1 / 0` is no longer on the page (deleted)",
    )
    assert "an edited cell" not in output(result)


def record_a_division_pitfall_then_change_it(book, new_body: str):
    """Record the pitfall cell `divide(1, 0)` raising ZeroDivisionError, then give `divide`
    another body in src/ and rebuild: the recorded cell now meets a changed behaviour."""
    module = "def answer():\n    return 42.0\n\n\ndef divide(a, b):\n    {}\n"
    book.write("src/jaxbook/faultdemo.py", module.format("return a / b"))
    book.edit("book/page.md", "1 / 0", "from jaxbook.faultdemo import divide\ndivide(1, 0)")
    assert book.build().returncode == 0
    assert book.record().returncode == 0
    book.write("src/jaxbook/faultdemo.py", module.format(new_body))
    assert book.build().returncode == 0


def test_a_raises_exception_cell_that_raises_another_type(book):
    record_a_division_pitfall_then_change_it(book, "raise KeyError(b)")
    assert_fails(book.check(), "book/page.md, cell 2", "error ZeroDivisionError", "error KeyError")


def test_a_raises_exception_cell_that_no_longer_raises(book):
    record_a_division_pitfall_then_change_it(book, "return float('inf')")
    assert_fails(book.check(), "book/page.md, cell 2", "error ZeroDivisionError")


def test_a_broken_cross_reference_fails_the_build(book):
    book.edit("book/page.md", "{doc}`index`", "{doc}`no_such_page`")
    assert_fails(book.build(), "book/page.md", "no_such_page", "BUILD FAILED")


def test_a_missing_figure_file_fails_the_build(book):
    book.edit("book/page.md", "Some prose,", "![a plot](no_such_figure.png)\n\nSome prose,")
    assert_fails(book.build(), "book/page.md", "no_such_figure.png", "BUILD FAILED")


def test_a_page_missing_from_the_toc_fails_the_build(book):
    book.write("book/orphan.md", "# Orphan\n\nNot in the table of contents.\n")
    assert_fails(book.build(), "book/orphan.md", "toctree", "BUILD FAILED")


@pytest.mark.parametrize("name", ["_config.yml", "_toc.yml"])
def test_a_malformed_configuration_fails_naming_the_file(book, name):
    book.write(name, "title: [unclosed\n  - {\n")
    assert_fails(book.build(), name, "not valid YAML")


def test_a_toc_entry_without_a_file_fails(book):
    book.edit("_toc.yml", "book/page", "book/pgae")
    assert_fails(book.build(), "_toc.yml", "book/pgae")


def test_a_failed_build_keeps_the_last_good_site(book):
    before = (book.root / "_build" / "html" / "book" / "page.html").read_text(encoding="utf-8")
    book.edit("book/page.md", "Some prose", "Changed prose")
    book.edit("book/page.md", 'print("the answer is", answer())', 'raise ValueError("boom")')
    assert book.build().returncode != 0
    after = (book.root / "_build" / "html" / "book" / "page.html").read_text(encoding="utf-8")
    assert after == before


def test_a_malformed_expectation_file_is_an_error_not_a_pass(book):
    book.write("tests/golden/page.yml", "cells: [{no_key: 1}]\n")
    assert_fails(book.check(), "tests/golden/page.yml", "malformed", "make golden")


def test_a_renamed_page_without_its_expectations(book):
    (book.root / "book/page.md").rename(book.root / "book/renamed.md")
    book.edit("_toc.yml", "book/page", "book/renamed")
    assert book.build().returncode == 0
    assert_fails(book.check(), "book/renamed.md", "no recorded outputs", "tests/golden/page.yml")


def test_the_checker_before_any_build(book):
    import shutil

    shutil.rmtree(book.root / "_build")
    assert_fails(book.check(), "make book")


def test_an_import_missing_from_requirements_is_named(book):
    import shutil

    from booktools.book import Paths

    shutil.copy(Paths.from_environment().requirements, book.root / "requirements.txt")
    book.edit(
        "book/page.md",
        "from jaxbook.faultdemo import answer",
        "import tabulate\nfrom jaxbook.faultdemo import answer",
    )
    result = book.run("-m", "booktools.imports")
    assert_fails(result, "book/page.md", "tabulate", "requirements.txt")


def test_a_record_of_an_unknown_kind_is_an_error(book):
    book.edit("tests/golden/page.yml", "- key: ", "- kind: fuzzy\n  key: ")
    assert_fails(book.check(), "tests/golden/page.yml", "unknown kind `fuzzy`", "make golden")


def test_kinds_that_name_no_glued_value_or_lack_a_claim_are_errors(book):
    book.edit(
        "book/page.md",
        "---\n\n# A page",
        "output_check:\n  trajectory: [answer, ghost]\n---\n\n# A page",
    )
    book.edit(
        "book/page.md",
        'print("the answer is", answer())',
        'print("the answer is", answer())\n'
        "from jaxbook.glue import glue\n\n"
        'glue("answer", answer(), display=False)',
    )
    assert book.run("-m", "booktools.build", "--execute-only").returncode == 0
    assert_fails(
        book.check(),
        "book/page.md: front matter lists `ghost` as trajectory, but the page glued no value",
        "book/page.md: glued value `answer` is a trajectory value, but no claim covers it",
    )
    assert_fails(book.record(), "nothing recorded", "no claim covers it")


def test_an_output_that_moves_under_other_numerics_fails_that_variant_by_name(book):
    book.edit(
        "book/page.md",
        'print("the answer is", answer())',
        'import os\n\nprint("the answer is", answer(), os.environ.get("XLA_FLAGS", "(native)"))',
    )
    for step in (book.build, book.record, book.check):
        assert step().returncode == 0
    result = book.run("-m", "booktools.numerics_matrix", "--variants", "native,SSE4_2")
    assert_fails(
        result,
        "variant native (cpu",
        "output check (cpu, variant SSE4_2)",
        "book/page.md, cell 1",
        "FAILED under SSE4_2",
    )
    assert "FAILED under native" not in output(result)


NEW_CELL = '```{code-cell} ipython3\nprint("a new cell")\n```\n\n```{code-cell} ipython3\n:tags:'
PAGE_BUILD = "_build/page-page/_build/jupyter_execute"


def test_make_golden_after_a_page_golden_refuses_and_keeps_the_page_record(book):
    # The loss reported in the contributor-loop issue: `make page` + `make page-golden` recorded
    # a new cell, then `make golden` (from the older full build) erased it.
    book.edit("book/page.md", "```{code-cell} ipython3\n:tags:", NEW_CELL)
    assert book.run("-m", "booktools.build", "--page", "book/page.md").returncode == 0
    page_check = book.run(
        "-m", "booktools.outputs", "check", "--executed", PAGE_BUILD, "--page", "book/page"
    )
    assert_fails(page_check, "a new cell", "make page-golden PAGE=book/page.md")
    assert "`make golden`" not in output(page_check)
    recorded = book.run(
        "-m", "booktools.outputs", "record", "--executed", PAGE_BUILD, "--page", "book/page"
    )
    assert recorded.returncode == 0, output(recorded)
    before = (book.root / "tests/golden/page.yml").read_text(encoding="utf-8")
    assert "a new cell" in before
    assert_fails(
        book.record(), "book/page.md (or a jaxbook module it imports) changed", "make book"
    )
    assert (book.root / "tests/golden/page.yml").read_text(encoding="utf-8") == before


def test_recording_refuses_a_module_change_and_a_page_outside_the_toc(book):
    book.edit("src/jaxbook/faultdemo.py", "42.0", "43.0")
    assert_fails(book.record(), "book/page.md (or a jaxbook module it imports) changed")
    outside = book.run(
        "-m", "booktools.outputs", "record", "--executed", PAGE_BUILD, "--page", "book/nowhere"
    )
    assert_fails(outside, "book/nowhere.md is not a page of _toc.yml")


def test_an_edited_cell_is_shown_against_the_output_it_replaces(book):
    book.edit(
        "book/page.md", 'print("the answer is", answer())', 'print("the answer was", answer())'
    )
    assert book.build().returncode == 0
    result = book.check()
    assert_fails(
        result,
        "book/page.md, cell 1",
        "an edited cell (it replaces recorded cell",
        "the answer is 42.0",
        "the answer was 42.0",
    )
    assert "no longer on the page" not in output(result)


def test_a_clean_build_log_is_short_and_ends_with_the_site(book):
    result = book.build()
    assert result.returncode == 0
    log = output(result)
    assert "IPKernelApp" not in log and "Running Jupyter-Book" not in log
    assert "\x1b[" not in log  # no raw colour codes in a redirected log
    assert "cache: book/page.md unchanged" in log
    assert log.rstrip().splitlines()[-1].startswith("Built in ")
    assert "The site is" in log and len(log.splitlines()) < 15


BROKEN_PAGE = '\n# Broken\n\n```{code-cell} ipython3\nraise RuntimeError("no CPU device")\n```\n'
DEAD_PAGE = "\n# Dead\n\n```{code-cell} ipython3\nimport os\n\nos.kill(os.getpid(), 9)\n```\n"


def test_pages_that_fail_on_the_lean_path_leave_the_others_exported_and_checked(book):
    # As on a GPU (2026-12-04): kernels died (DeadKernelError, which stopped the whole build)
    # and book/purity raised, and nothing could be checked.
    from booktools.build import PAGES_FAILED
    from booktools.cache import FAILED_PAGES

    header = (book.root / "book" / "page.md").read_text(encoding="utf-8").split("\n# A page")[0]
    book.write("book/broken.md", header + BROKEN_PAGE)
    book.write("book/dead.md", header + DEAD_PAGE)
    pages = "  - file: book/page\n  - file: book/broken\n  - file: book/dead\n"
    book.edit("_toc.yml", "  - file: book/page\n", pages)
    lean = book.run("-m", "booktools.build", "--execute-only")
    assert lean.returncode == PAGES_FAILED, output(lean)
    assert "BUILD FAILED: book/broken.md, book/dead.md failed to execute" in output(lean)
    executed = book.root / "_build" / "jupyter_execute"
    assert (executed / "book" / "page.ipynb").is_file()
    assert not (executed / "book" / "broken.ipynb").exists()
    assert "book/dead.md" in (executed / FAILED_PAGES).read_text(encoding="utf-8")
    assert_fails(
        book.check(),
        "2 problem(s)",  # book/page was checked, and matched
        "FAIL book/broken.md failed to execute: RuntimeError: no CPU device — not checked",
        "FAIL book/dead.md failed to execute: nbclient.exceptions.DeadKernelError: Kernel died",
    )
    # the full build still publishes nothing: neither the site nor the executed notebooks
    exported = (executed / "book" / "page.ipynb").stat().st_mtime_ns
    assert_fails(book.build(), "book/broken.md", "Nothing was published")
    assert (executed / "book" / "page.ipynb").stat().st_mtime_ns == exported
    assert not (book.root / "_build" / "html" / "book" / "broken.html").exists()
