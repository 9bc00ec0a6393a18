"""The page's glued values against their record, each by its kind's rule (a volatile value is
recorded masked and not compared); a value recorded but not glued, or glued but not recorded,
is a problem."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from booktools.checks.values import Drift, compare_value
from booktools.records import ExecutedPage


def check_glue(
    page: ExecutedPage,
    recorded_glue: dict[str, Any],
    tol: dict[str, float],
    same_numerics: bool,
    borrowed: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[str], list[Drift]]:
    """``(problems, drifts)`` of the page's glued values against ``recorded_glue`` (a record's
    ``glue``), under the page's tolerances ``tol``; a value ``borrowed`` from another record (by
    name: that record's numerics) is judged by its own record's numerics."""
    borrowed = borrowed or {}
    problems: list[str] = []
    drifts: list[Drift] = []
    for name in sorted(set(recorded_glue) | set(page.glue)):
        kind = page.glue_kind(name)
        if name not in page.glue:
            problems.append(f"{page.source}: glued value `{name}` was recorded but not produced")
        elif name not in recorded_glue:
            problems.append(f"{page.source}: glued value `{name}` has no recorded expectation")
        elif kind != "volatile":
            same = borrowed[name] == page.numerics if name in borrowed else same_numerics
            why, moves = compare_value(str(recorded_glue[name]), page.glue[name], kind, tol, same)
            if why:
                problems.append(f"{page.source}: glued value `{name}`: {why}")
            if moves:
                drifts.append(Drift(f"{page.source}: glued value `{name}`", moves))
    return problems, drifts
