"""A pull request's CI plan: what the change affects (booktools.affected)."""

import subprocess

from booktools.affected import changed_files, plan
from booktools.book import Book

BOOK = Book()


def test_prose_of_one_page_checks_that_page_and_skips_the_tooling_suites():
    result = plan(BOOK, ["book/jit.md"], "base")
    assert not result.full and result.pages == ["book/jit"]
    assert "tests/test_book.py" in result.unit_tests  # tooling tests are cheap: they run
    assert "tests/test_jit.py" not in result.unit_tests  # jaxbook.jit did not change
    shell = result.shell()
    assert "JAXBOOK_CI_PLAN=fast" in shell and "SKIP_SUITES='portability faults'" in shell


def test_the_documentation_alone_checks_no_page_and_runs_the_architecture_test():
    result = plan(BOOK, ["ARCHITECTURE.md", "CONTRIBUTING.md"], "base")
    assert not result.full and result.pages == []
    assert "tests/test_architecture.py" in result.unit_tests  # the code map against src/


def test_a_module_change_reaches_every_page_and_test_that_imports_it():
    result = plan(BOOK, ["src/jaxbook/grad.py"], "base")
    assert {"book/grad", "book/flax_haiku"} <= set(result.pages)  # flax_haiku imports grad
    assert "book/purity" not in result.pages
    assert "tests/test_grad.py" in result.unit_tests
    assert "tests/test_purity.py" not in result.unit_tests


def test_re_recorded_outputs_check_their_page():
    assert plan(BOOK, ["tests/golden/dsp.yml"], "base").pages == ["book/dsp"]


def test_gpu_records_check_their_page_and_a_verification_every_page_and_the_status():
    assert plan(BOOK, ["tests/golden/gpu/dsp.yml"], "base").pages == ["book/dsp"]
    result = plan(BOOK, ["tests/numerics/gpu-verified.yml"], "base")
    assert not result.full and {"book/dsp", "book/status"} <= set(result.pages)


def test_a_change_to_the_tooling_or_an_unknown_base_runs_everything():
    for changed in (["src/booktools/cache.py"], ["Makefile"], ["book/_static/predict.js"]):
        result = plan(BOOK, ["book/jit.md", *changed], "base")
        assert result.full and changed[0] in result.why
        assert result.shell().startswith("JAXBOOK_CI_PLAN=full\nJAXBOOK_PAGES=''\n")
    assert plan(BOOK, None, "nope").full


def test_changed_files_are_committed_and_uncommitted_changes_since_the_base(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.md").write_text("a\n")
    git("add", "a.md")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    (tmp_path / "a.md").write_text("changed\n")
    (tmp_path / "b.md").write_text("new\n")
    assert changed_files(tmp_path, "HEAD") == ["a.md", "b.md"]
    assert changed_files(tmp_path, "0" * 40) is None
