"""The kinds a page gives its values (:mod:`booktools.checks.values`) are known and name
something; a trajectory value, which may move between machines, is covered by a claim
(:mod:`booktools.checks.claims`) that states what the page teaches about it.

A cell says its kind in its metadata (``output_check: {kind: trajectory, covered_by: [acc]}``;
the tag ``volatile-output`` means ``kind: volatile``); a page lists its glued values of other
kinds than ``numeric`` in its front matter (``output_check: {trajectory: [acc]}``).
"""

from __future__ import annotations

from booktools.checks.claims import claimed_names
from booktools.checks.profile import TOLERANCES
from booktools.records import DEFAULT_KIND, GLUE_KINDS, KINDS, ExecutedPage

PROFILES = ("cpu", "gpu")  # the front matter's per-profile tolerances: `gpu: {rtol: ...}`


def kind_problems(page: ExecutedPage) -> list[str]:
    """Kinds that are unknown, name no glued value, or are trajectory without a claim."""
    problems = []
    claimed = claimed_names(page)
    unknown = sorted(set(page.options) - set(GLUE_KINDS) - set(TOLERANCES) - set(PROFILES))
    if unknown:
        problems.append(
            f"front matter `output_check` has unknown entries {unknown}: a glued value's kind is "
            f"one of {', '.join(GLUE_KINDS)} (the default is {DEFAULT_KIND}); tolerances are "
            "`rtol`, `atol`, and per profile `cpu: {...}`, `gpu: {...}`"
        )
    for kind in GLUE_KINDS:
        names = page.options.get(kind) or []
        if not isinstance(names, list):
            problems.append(f"front matter `output_check: {{{kind}: ...}}` is not a list of names")
            continue
        for name in names:
            if name not in page.glue:
                problems.append(
                    f"front matter lists `{name}` as {kind}, but the page glued no value "
                    "of that name"
                )
            elif kind == "trajectory" and name not in claimed:
                problems.append(
                    f"glued value `{name}` is a trajectory value, but no claim covers it: add a "
                    "claim to the front matter that states what the page teaches about it"
                )
    for cell in page.cells:
        where = f"cell {cell.index} [{cell.key}] `{cell.first_line}`"
        if cell.kind not in KINDS:
            problems.append(
                f"{where}: unknown output kind `{cell.kind}` (one of {', '.join(KINDS)})"
            )
        elif cell.kind == "trajectory":
            covered = [n for n in cell.covered_by if n in page.glue and n in claimed]
            if not covered or len(covered) != len(cell.covered_by):
                problems.append(
                    f"{where}: a trajectory cell needs `covered_by: [...]` naming glued values "
                    f"that the page's claims check (has {cell.covered_by or 'none'}; glued and "
                    f"claimed: {sorted(set(page.glue) & claimed) or 'none'})"
                )
    return [f"{page.source}: {p}" for p in problems]
