"""One value (a cell's output text, a glued value) checked by the rule of its kind:

``numeric`` (the default)
    text and integers exactly; floats within ``rtol``/``atol`` (:mod:`booktools.checks.profile`).
``exact``
    the text and every number exactly, on every device.
``trajectory``
    against the record only under the numerics it was recorded with; elsewhere its form is
    checked and how far it moved is reported (a :class:`Drift`), without failing: a claim
    covers it (:mod:`booktools.checks.kinds`).
``volatile``
    the form only; checked by the callers, which know what a form is for their values.
"""

from __future__ import annotations

import dataclasses

from booktools.checks.numbers import EXACT, compare_text, number_moves, same_form

Moves = list[tuple[str, str, float]]  # (recorded, found, relative move) of each moved number


@dataclasses.dataclass
class Drift:
    """A trajectory value that moved under numerics other than its record's: reported only."""

    where: str
    moves: Moves

    def __str__(self) -> str:
        largest = max(m for _, _, m in self.moves)
        shown = ", ".join(f"{e} → {a}" for e, a, _ in self.moves[:4])
        more = f" and {len(self.moves) - 4} more" if len(self.moves) > 4 else ""
        return f"{self.where}: {shown}{more} (largest relative move {largest:.2g})"


def compare_value(
    expected: str, actual: str, kind: str, tol: dict[str, float], same_numerics: bool
) -> tuple[str | None, Moves]:
    """``(why it fails or None, moves to report)`` for one text under its kind's rule."""
    if kind == "exact":
        return compare_text(expected, actual, **EXACT), []
    if kind == "trajectory" and not same_numerics:
        if not same_form(expected, actual):
            return compare_text(expected, actual, **tol), []
        return None, number_moves(expected, actual)
    return compare_text(expected, actual, **tol), []
