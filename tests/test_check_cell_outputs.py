"""Each cell's outputs against its record (booktools.checks.cell_outputs)."""

import pytest
from checkers import cell, page_with

from booktools.checks.cell_outputs import check_cell_outputs, compare_cell, edited_cells
from booktools.checks.profile import Profile

RECORDED = [{"stream": "stdout", "text": "accuracy 97.8%"}]
CPU = Profile("cpu", rtol=1e-4, atol=1e-6)


def test_exact_values_allow_no_move_at_all():
    problems, _ = compare_cell(
        RECORDED, cell("accuracy 97.80001%", "exact"), {"rtol": 1, "atol": 1}
    )
    assert problems and "number 1 differs" in problems[0]


def test_a_trajectory_value_is_checked_under_its_own_numerics_and_reported_elsewhere():
    tight = {"rtol": 1e-4, "atol": 1e-6}
    moved = cell("accuracy 97.6%", "trajectory", ["acc"])
    problems, moves = compare_cell(RECORDED, moved, tight, same_numerics=True)
    assert problems and not moves
    problems, moves = compare_cell(RECORDED, moved, tight, same_numerics=False)
    assert not problems and moves == [("97.8", "97.6", pytest.approx(0.2 / 97.8))]
    # Elsewhere its form is still checked: other words are a failure, not a move.
    changed = cell("loss 97.6%", "trajectory", ["acc"])
    problems, _ = compare_cell(RECORDED, changed, tight, same_numerics=False)
    assert problems and "text differs" in problems[0]


def test_a_volatile_cell_is_checked_for_its_form_only():
    recorded = [{"stream": "stdout", "text": "#s per step"}]
    assert compare_cell(recorded, cell("3.2 ms per step", "volatile"), CPU.tolerances)[0] == []
    problems, _ = compare_cell(recorded, cell("1 ms\n2 ms", "volatile"), CPU.tolerances)
    assert "changed form (volatile cell)" in problems[0]


def test_ignored_streams_are_left_out_of_the_record_and_the_build():
    logged = [{"stream": "stderr", "text": "ptxas warning"}, *RECORDED]
    quiet = cell(outputs=list(RECORDED))
    problems, _ = compare_cell(logged, quiet, CPU.tolerances)
    assert problems and "2 outputs expected, 1 found" in problems[0]
    assert compare_cell(logged, quiet, CPU.tolerances, ignore_streams=("stderr",))[0] == []
    # Only the named streams: a changed stdout still fails.
    problems, _ = compare_cell(logged, cell("accuracy 12%"), CPU.tolerances, ("stderr",))
    assert problems and "number 1 differs" in problems[0]


def test_an_edited_cell_pairs_with_the_cell_it_replaced():
    assert edited_cells(["a", "b", "c"], ["a", "x", "c"]) == {"x": "b"}
    assert edited_cells(["a", "b"], ["a", "b", "new"]) == {}


def test_new_edited_and_deleted_cells_are_named_with_the_command_that_records_them():
    recorded = [
        {"key": "k", "source": "print(x)", "outputs": RECORDED},
        {"key": "gone", "source": "print(y)", "outputs": []},
    ]
    page = page_with([cell("accuracy 97.8%")])
    problems, drifts = check_cell_outputs(page, recorded, CPU, CPU.tolerances, True, "make golden")
    assert problems == [
        "book/x.md: recorded cell [gone] `print(y)` is no longer on the page (deleted). "
        "Run `make golden` and review the diff."
    ]
    assert drifts == []
    problems, _ = check_cell_outputs(page, recorded[1:], CPU, CPU.tolerances, True, "make golden")
    assert "an edited cell (it replaces recorded cell [gone] `print(y)`)" in problems[0]
    assert "1 outputs expected" not in problems[0] and "0 outputs expected, 1 found" in problems[0]


def test_a_cell_tolerance_overrides_the_page_and_the_profile():
    page = page_with([cell("accuracy 97.9%")])
    recorded = [{"key": "k", "source": "print(x)", "outputs": RECORDED}]
    problems, _ = check_cell_outputs(page, recorded, CPU, CPU.tolerances, True, "make golden")
    assert problems and "number 1 differs beyond rtol=0.0001" in problems[0]
    page.cells[0].options["cpu"] = {"rtol": 1e-2}
    assert check_cell_outputs(page, recorded, CPU, CPU.tolerances, True, "make golden")[0] == []


def test_a_cell_borrowed_from_another_record_is_judged_by_that_records_numerics():
    # A GPU build, a GPU record made under its numerics, but this cell changed since: its
    # expectation is the CPU record's, made elsewhere, so its trajectory value may move.
    page = page_with([cell("accuracy 97.6%", "trajectory", ["acc"])])
    page.numerics = {"device": "gpu", "model": "NVIDIA H200"}
    recorded = [{"key": "k", "source": "print(x)", "outputs": RECORDED}]
    problems, _ = check_cell_outputs(page, recorded, CPU, CPU.tolerances, True, "make golden")
    assert problems and "number 1 differs" in problems[0]
    borrowed = {"k": {"device": "cpu", "isa": "AVX512", "threads": 2}}
    problems, drifts = check_cell_outputs(
        page, recorded, CPU, CPU.tolerances, True, "make golden", borrowed
    )
    assert problems == [] and str(drifts[0]).endswith("97.8 → 97.6 (largest relative move 0.002)")
