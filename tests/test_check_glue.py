"""The page's glued values against their record (booktools.checks.glue)."""

from checkers import page_with

from booktools.checks.glue import check_glue

TOL = {"rtol": 1e-4, "atol": 1e-6}


def test_a_glued_value_within_tolerance_passes_beyond_it_fails():
    page = page_with(glue={"loss": "0.12345"})
    assert check_glue(page, {"loss": "0.123451"}, TOL, True) == ([], [])
    problems, _ = check_glue(page, {"loss": "0.13"}, TOL, True)
    assert problems[0].startswith("book/x.md: glued value `loss`: number 1 differs")


def test_a_value_recorded_but_not_glued_and_one_glued_but_not_recorded():
    page = page_with(glue={"new": "1"})
    problems, _ = check_glue(page, {"old": "1"}, TOL, True)
    assert problems == [
        "book/x.md: glued value `new` has no recorded expectation",
        "book/x.md: glued value `old` was recorded but not produced",
    ]


def test_volatile_values_are_not_compared_exact_ones_exactly():
    page = page_with(glue={"step_us": "41.0", "n": "4.0"}, volatile=["step_us"], exact=["n"])
    problems, _ = check_glue(page, {"step_us": "#", "n": "4.00001"}, {"rtol": 1, "atol": 1}, True)
    assert len(problems) == 1 and "`n`" in problems[0]


def test_a_trajectory_value_under_other_numerics_is_reported_not_failed():
    page = page_with(glue={"acc": "0.975"}, trajectory=["acc"], claims=["acc > 0.9"])
    problems, drifts = check_glue(page, {"acc": "0.981"}, TOL, same_numerics=False)
    assert problems == []
    assert str(drifts[0]).startswith("book/x.md: glued value `acc`: 0.981 → 0.975")
    problems, _ = check_glue(page, {"acc": "0.981"}, TOL, same_numerics=True)
    assert problems


def test_a_glued_value_borrowed_from_another_record_is_judged_by_that_records_numerics():
    page = page_with(glue={"acc": "0.975"}, trajectory=["acc"], claims=["acc > 0.9"])
    borrowed = {"acc": {"device": "cpu", "isa": "SSE4_2", "threads": 2}}
    problems, drifts = check_glue(page, {"acc": "0.981"}, TOL, True, borrowed)
    assert problems == [] and drifts
    same = {"acc": page.numerics}  # borrowed from a record made under the page's own numerics
    assert check_glue(page, {"acc": "0.981"}, TOL, False, same)[0]
