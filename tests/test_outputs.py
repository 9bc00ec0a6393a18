"""The output checker run over a build (booktools.outputs): every check of each page, against
the records of the profile it ran under. The fault suite drives the command line end to end."""

import shutil

import nbformat
import pytest

from booktools import outputs
from booktools.book import Paths
from booktools.records import GoldenRecords, load_pages

CPU = {"device": "cpu", "isa": "AVX2", "threads": 2}


def executed_page(paths, stderr="", numerics=CPU, figure_alt="A dot."):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["jaxbook"] = {"numerics": numerics, "code_digest": "0"}
    notebook.metadata["claims"] = ["acc > 0.9"]
    printed = nbformat.v4.new_code_cell("print(acc)")
    printed.outputs = [nbformat.v4.new_output("stream", name="stdout", text="acc 0.97\n")]
    if stderr:
        printed.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=stderr))
    figure = nbformat.v4.new_code_cell(
        "plot()", metadata={"mystnb": {"image": {"alt": figure_alt}}}
    )
    figure.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": "", "text/plain": "<Figure>"})
    ]
    notebook.cells = [printed, figure]
    path = paths.executed / "book" / "x.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    path.with_suffix(".glue.json").write_text('{"acc": {"data": {"text/plain": "0.97"}}}')


@pytest.fixture
def paths(tmp_path):
    paths = Paths.at(tmp_path)
    shutil.copy(Paths.from_environment().pyproject, paths.pyproject)
    executed_page(paths)
    records = GoldenRecords(paths)
    for page in load_pages(paths.executed, paths.root):
        records.write(page)
    return paths


def test_a_build_matches_its_own_record(paths):
    result = outputs.check(paths)
    assert result.problems == [] and result.cells == 2 and result.profile == "cpu"
    out, err = outputs.report(result)
    assert out.endswith("output check (cpu): 2 cells match their recorded outputs") and not err


def test_every_check_runs_on_each_page(paths):
    executed_page(paths, figure_alt="")
    (paths.executed / "book" / "x.glue.json").write_text('{"acc": {"data": {"text/plain": "0.5"}}}')
    problems = "\n".join(outputs.check(paths).problems)
    assert "a figure without alt text" in problems
    assert "glued value `acc`: number 1 differs" in problems
    assert "claim `acc > 0.9` does not hold on this device: acc=0.5" in problems


def test_stderr_is_ignored_under_the_gpu_profile_only(paths):
    # pyproject.toml: [tool.jaxbook.checker.gpu] ignore_streams = ["stderr"]
    executed_page(paths, stderr="2026-01-01 autotuning ptxas warning\n")
    problems = outputs.check(paths).problems
    assert problems and "1 outputs expected, 2 found" in problems[0]
    result = outputs.check(paths, profile="gpu")
    assert result.problems == []
    assert result.notes == ["book/x.md: no gpu records yet; checked against the CPU records"]


def test_a_record_without_a_built_page_and_a_page_without_a_record(paths):
    records = GoldenRecords(paths)
    records.file("book/x").rename(records.file("book/old"))
    problems = outputs.check(paths).problems
    assert any("no recorded outputs (tests/golden/x.yml is missing)" in p for p in problems)
    assert any(
        p.startswith("tests/golden/old.yml: recorded outputs of book/old.md, which was not built")
        for p in problems
    )


def test_a_page_build_is_recorded_with_its_own_command(paths, tmp_path):
    elsewhere = tmp_path / "page-x" / "_build" / "jupyter_execute"
    assert outputs.record_command(paths, paths.executed, ["book/x"]) == "make golden"
    assert outputs.record_command(paths, elsewhere, ["book/x"]) == "make page-golden PAGE=book/x.md"


def test_no_build_is_an_error_not_a_pass(tmp_path):
    with pytest.raises(outputs.CheckerError, match="no executed notebooks.*make book"):
        outputs.check(Paths.at(tmp_path))
