"""The output checker run over a build (booktools.outputs): every check of each page, against
the records of the profile it ran under. The fault suite drives the command line end to end."""

import shutil

import nbformat
import pytest

from booktools import outputs
from booktools.book import Paths
from booktools.cache import write_failed_pages
from booktools.records import GoldenRecords, load_pages

CPU = {"device": "cpu", "isa": "AVX2", "threads": 2}


def executed_page(paths, stderr="", numerics=CPU, figure_alt="A dot.", source="print(acc)"):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["jaxbook"] = {"numerics": numerics, "code_digest": "0"}
    notebook.metadata["claims"] = ["acc > 0.9"]
    printed = nbformat.v4.new_code_cell(source)
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


GPU = {"device": "gpu", "model": "NVIDIA H200", "jax": "0.11.2", "jaxlib": "0.11.2"}


def test_a_cell_changed_since_the_gpu_record_is_checked_against_its_cpu_record(paths):
    records = GoldenRecords(paths)
    executed_page(paths, numerics=GPU)
    (gpu_page,) = load_pages(paths.executed, paths.root)
    records.write(gpu_page)  # what `make golden` wrote on the GPU
    # The page's first cell changed since; the CPU record followed (`make golden` on a CPU).
    executed_page(paths, source="print(acc)  # edited")
    (cpu_page,) = load_pages(paths.executed, paths.root)
    records.write(cpu_page)
    executed_page(paths, numerics=GPU, source="print(acc)  # edited")
    result = outputs.check(paths)
    assert result.profile == "gpu" and result.problems == []
    edited = cpu_page.cells[0]
    assert result.notes == [
        f"book/x.md: the gpu record's cell [{gpu_page.cells[0].key}] `print(acc)` is on neither "
        "the page nor its CPU record (the page changed since); left out until the gpu record is "
        "made again",
        f"book/x.md, cell 1 [{edited.key}] `print(acc)  # edited`: not in the gpu record (the "
        "cell changed since it was made); checked against its CPU record",
    ]
    # The rest is still checked against the GPU record: a glued value beyond tolerance fails.
    (paths.executed / "book" / "x.glue.json").write_text('{"acc": {"data": {"text/plain": "0.5"}}}')
    assert any("glued value `acc`: number 1 differs" in p for p in outputs.check(paths).problems)


def test_a_page_that_failed_to_execute_is_reported_and_the_others_are_checked(paths):
    # The lean path exported book/x and named book/purity, which failed (booktools.cache).
    records = GoldenRecords(paths)
    shutil.copy(records.file("book/x"), records.file("book/purity"))  # it has a record
    write_failed_pages(paths.executed, [("book/purity.md", "...\nRuntimeError: no CPU device\n")])
    (paths.executed / "book" / "x.glue.json").write_text('{"acc": {"data": {"text/plain": "0.5"}}}')
    result = outputs.check(paths)
    assert result.problems[0] == (
        "book/purity.md failed to execute: RuntimeError: no CPU device — not checked"
    )
    assert result.cells == 2  # book/x was checked, and what changed there is found
    assert any("glued value `acc`: number 1 differs" in p for p in result.problems)
    assert not any("which was not built" in p for p in result.problems)
    _, err = outputs.report(result)
    assert "FAIL book/purity.md failed to execute" in err
    # asked for by name, it is reported as well; the other page alone passes
    assert outputs.check(paths, only=["book/purity"]).problems == result.problems[:1]
    assert not any("purity" in p for p in outputs.check(paths, only=["book/x"]).problems)
    # and nothing is recorded from an export that lacks a page
    with pytest.raises(outputs.CheckerError, match="nothing recorded: book/purity.md failed"):
        outputs.record(paths)


def test_an_export_where_every_page_failed_reports_each(tmp_path):
    paths = Paths.at(tmp_path)
    shutil.copy(Paths.from_environment().pyproject, paths.pyproject)
    write_failed_pages(paths.executed, [("book/x.md", "DeadKernelError: Kernel died")])
    result = outputs.check(paths, profile="gpu")
    assert result.problems == [
        "book/x.md failed to execute: DeadKernelError: Kernel died — not checked"
    ]
