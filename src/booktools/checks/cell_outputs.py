"""Every code cell's outputs against its record: the same outputs, each value by its kind's
rule (:mod:`booktools.checks.values`). A cell on the page without a record is new, a recorded
cell no longer on the page was deleted, and a new cell where a recorded one vanished is an
edited cell, shown against the outputs it replaces."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from booktools.checks.profile import Profile
from booktools.checks.values import Drift, Moves, compare_value
from booktools.records import Cell, ExecutedPage


def _form(output: dict[str, Any]) -> tuple:
    kind = next(k for k in ("stream", "result", "display", "error") if k in output)
    value = output[kind]
    lines = len(output.get("text", "").splitlines()) if kind == "stream" else None
    return (kind, tuple(value) if isinstance(value, list) else value, lines)


def _describe(output: dict[str, Any]) -> str:
    kind, value, _ = _form(output)
    return f"{kind} {value if not isinstance(value, tuple) else ', '.join(value)}"


def compare_cell(
    expected: list[dict[str, Any]],
    cell: Cell,
    tol: dict[str, float],
    ignore_streams: tuple[str, ...] = (),
    same_numerics: bool = True,
) -> tuple[list[str], Moves]:
    """``(problems, moves of trajectory numbers)`` of one cell's outputs against the recorded
    ``expected``; streams named in ``ignore_streams`` are left out of both."""
    actual = cell.outputs
    if ignore_streams:
        expected = [o for o in expected if o.get("stream") not in ignore_streams]
        actual = [o for o in actual if o.get("stream") not in ignore_streams]
    if len(expected) != len(actual):
        return [
            f"{len(expected)} outputs expected, {len(actual)} found\n"
            f"    expected: {[_describe(o) for o in expected]}\n"
            f"    actual:   {[_describe(o) for o in actual]}"
        ], []
    problems, moves = [], []
    for n, (e, a) in enumerate(zip(expected, actual, strict=True), start=1):
        if cell.volatile:
            if _form(e) != _form(a):
                problems.append(
                    f"output {n} changed form (volatile cell): expected {_describe(e)} with "
                    f"{_form(e)[2]} lines, found {_describe(a)} with {_form(a)[2]} lines"
                )
            continue
        if _form(e)[:2] != _form(a)[:2]:
            problems.append(f"output {n}: expected {_describe(e)}, found {_describe(a)}")
            continue
        for field in ("text", "message"):
            if field in e or field in a:
                why, moved = compare_value(
                    e.get(field, ""), a.get(field, ""), cell.kind, tol, same_numerics
                )
                moves += moved
                if why:
                    problems.append(f"output {n} ({_describe(e)}): {why}")
    return problems, moves


def edited_cells(recorded_keys: list[str], built_keys: list[str]) -> dict[str, str]:
    """Built cells that replace recorded ones: ``{built key: recorded key}``. Both lists are
    aligned in page order; a run of new keys where a run of old keys vanished pairs up by
    position (an edited cell gets a new key, since its key is a hash of its source)."""
    matcher = difflib.SequenceMatcher(None, recorded_keys, built_keys, autojunk=False)
    pairs = {}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace":
            for old, new in zip(recorded_keys[i1:i2], built_keys[j1:j2], strict=False):
                pairs[new] = old
    return pairs


def where(page: ExecutedPage, cell: Cell) -> str:
    """How a message names a cell: page, position, key and first line."""
    return f"{page.source}, cell {cell.index} [{cell.key}] `{cell.first_line}`"


def check_cell_outputs(
    page: ExecutedPage,
    recorded_cells: list[dict[str, Any]],
    profile: Profile,
    page_tol: dict[str, float],
    same_numerics: bool,
    record_command: str,
    borrowed: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[str], list[Drift]]:
    """``(problems, drifts)`` of the page's cells against ``recorded_cells`` (a record's
    ``cells``); ``page_tol`` is the page's tolerances, which a cell's options override.
    ``same_numerics`` says whether the record was made under the page's numerics; an entry
    ``borrowed`` from another record (by key: that record's numerics, see
    :meth:`booktools.records.GoldenRecords.expected`) is judged by its own record's numerics."""
    borrowed = borrowed or {}
    problems: list[str] = []
    drifts: list[Drift] = []
    recorded = {c["key"]: c for c in recorded_cells}
    built_keys = [c.key for c in page.cells]
    edited = {
        new: old
        for new, old in edited_cells([c["key"] for c in recorded_cells], built_keys).items()
        if new not in recorded and old not in built_keys
    }
    for cell in page.cells:
        tol = profile.tolerances_for(cell.options, page_tol)
        if cell.key in edited:
            old = recorded[edited[cell.key]]
            changes, _ = compare_cell(
                old["outputs"], cell, tol, profile.ignore_streams, same_numerics
            )
            change = (
                "its outputs changed:\n    " + "\n    ".join(changes)
                if changes
                else "its outputs are unchanged"
            )
            problems.append(
                f"{where(page, cell)}: an edited cell (it replaces recorded cell [{old['key']}] "
                f"`{old.get('source', '')}`); {change}\n    Record it with `{record_command}` "
                "and review the diff."
            )
            continue
        if cell.key not in recorded:
            problems.append(
                f"{where(page, cell)}: no recorded expectation (a new cell). "
                f"Run `{record_command}` and review the diff."
            )
            continue
        same = borrowed[cell.key] == page.numerics if cell.key in borrowed else same_numerics
        found, moves = compare_cell(
            recorded[cell.key]["outputs"], cell, tol, profile.ignore_streams, same
        )
        problems += [f"{where(page, cell)}: {p}" for p in found]
        if moves:
            drifts.append(Drift(where(page, cell), moves))
    replaced = set(edited.values())
    for key, entry in recorded.items():
        if key not in built_keys and key not in replaced:
            problems.append(
                f"{page.source}: recorded cell [{key}] `{entry.get('source', '')}` is no longer "
                f"on the page (deleted). Run `{record_command}` and review the diff."
            )
    return problems, drifts
