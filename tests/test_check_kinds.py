"""The kinds a page gives its values (booktools.checks.kinds)."""

from checkers import cell, page_with

from booktools.checks.kinds import kind_problems


def test_kinds_that_name_nothing_or_lack_a_claim_are_errors():
    page = page_with(
        glue={"acc": "0.97", "loss": "0.1"},
        claims=["acc > 0.9"],
        trajectory=["acc", "loss", "ghost"],
        speed=["acc"],
    )
    problems = "\n".join(kind_problems(page))
    assert "unknown entries ['speed']" in problems
    assert "`ghost` as trajectory, but the page glued no value" in problems
    assert "`loss` is a trajectory value, but no claim covers it" in problems
    assert "`acc`" not in problems.replace("claimed: ['acc']", "")


def test_a_trajectory_cell_must_name_claimed_values_and_kinds_must_be_known():
    covered = cell("acc 1", "trajectory", ["acc"])
    bare = cell("acc 1", "trajectory")
    odd = cell("acc 1", "fuzzy")
    page = page_with([covered], glue={"acc": "1"}, claims=["acc > 0"])
    assert kind_problems(page) == []
    page = page_with([bare, odd], glue={"acc": "1"}, claims=["acc > 0"])
    problems = kind_problems(page)
    assert "needs `covered_by" in problems[0] and "claimed: ['acc']" in problems[0]
    assert "unknown output kind `fuzzy`" in problems[1]


def test_tolerances_and_profiles_are_known_entries():
    page = page_with(rtol=1e-3, atol=0, gpu={"rtol": 5e-2}, cpu={"atol": 1e-7})
    assert kind_problems(page) == []
