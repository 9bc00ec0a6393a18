"""Printed text compared number by number: the same words, and each number within tolerance."""

from __future__ import annotations

import math
import re

from booktools.records import NUMBER

EXACT = {"rtol": 0.0, "atol": 0.0}


def _split_numbers(text: str) -> tuple[list[str], list[str]]:
    """Text between numbers (whitespace removed, so re-aligned arrays still match) and numbers."""
    parts, numbers, last = [], [], 0
    for match in NUMBER.finditer(text):
        parts.append(re.sub(r"\s+", "", text[last : match.start()]))
        numbers.append(match.group())
        last = match.end()
    parts.append(re.sub(r"\s+", "", text[last:]))
    return parts, numbers


def _is_integer(token: str) -> bool:
    return re.fullmatch(r"[-+]?\d+", token) is not None


def _close(expected: str, actual: str, rtol: float, atol: float) -> bool:
    if _is_integer(expected) and _is_integer(actual):  # counts, shapes, indices: exactly
        return int(expected) == int(actual)
    a, b = float(expected), float(actual)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(a)


def relative_move(expected: str, actual: str) -> float:
    """How far a number moved, relative to the recorded one (``inf`` from or to zero)."""
    a, b = float(expected), float(actual)
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)) or a == 0:
        return math.inf
    return abs(a - b) / abs(a)


def _mark(text: str, *indices: int) -> str:
    """``text`` with its numbers at ``indices`` (0-based) wrapped in ``>>> <<<``."""
    pieces, last = [], 0
    for index, m in enumerate(NUMBER.finditer(text)):
        if index in indices:
            pieces += [text[last : m.start()], f">>>{m.group()}<<<"]
            last = m.end()
    return "".join(pieces) + text[last:]


def same_form(expected: str, actual: str) -> bool:
    """The same text around the numbers, and as many numbers."""
    expected_parts, expected_numbers = _split_numbers(expected)
    actual_parts, actual_numbers = _split_numbers(actual)
    return expected_parts == actual_parts and len(expected_numbers) == len(actual_numbers)


def number_moves(expected: str, actual: str) -> list[tuple[str, str, float]]:
    """``(recorded, found, relative move)`` of every number that differs (same form assumed)."""
    pairs = zip(_split_numbers(expected)[1], _split_numbers(actual)[1], strict=False)
    return [(e, a, relative_move(e, a)) for e, a in pairs if e != a and relative_move(e, a) > 0]


def mark_moves(expected: str, actual: str) -> tuple[str, str]:
    """Both texts with every number that moved wrapped in ``>>> <<<`` (same form assumed)."""
    pairs = zip(_split_numbers(expected)[1], _split_numbers(actual)[1], strict=False)
    moved = [i for i, (e, a) in enumerate(pairs) if relative_move(e, a) > 0]
    return _mark(expected, *moved), _mark(actual, *moved)


def compare_text(expected: str, actual: str, rtol: float, atol: float) -> str | None:
    """``None`` if ``actual`` matches ``expected`` within tolerance, else why not."""
    if not same_form(expected, actual):
        return f"the text differs:\n{indent('expected', expected)}\n{indent('actual', actual)}"
    expected_numbers, actual_numbers = _split_numbers(expected)[1], _split_numbers(actual)[1]
    for i, (e, a) in enumerate(zip(expected_numbers, actual_numbers, strict=True)):
        if not _close(e, a, rtol, atol):
            return (
                f"number {i + 1} differs beyond rtol={rtol:g}, atol={atol:g} "
                f"({e} expected, {a} found):\n"
                f"{indent('expected', _mark(expected, i))}\n{indent('actual', _mark(actual, i))}"
            )
    return None


def indent(label: str, text: str) -> str:
    lines = text.splitlines() or [""]
    pad = " " * (len(label) + 6)
    return f"    {label}: {lines[0]}" + "".join(f"\n{pad}{line}" for line in lines[1:])
