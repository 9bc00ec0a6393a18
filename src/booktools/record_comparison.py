"""Two sets of records compared value by value, by the output checker's rules (``python -m
booktools.numerics_matrix --compare RECORDED FOUND``): the measurement behind a profile's
tolerance where the two sets were made on different machines (the GPU's, ``tests/golden/gpu``,
against the CPU's).

Each set is a folder of records or ``REV:FOLDER`` in a commit (:func:`read_records`). Only
numeric values are compared (a cell's kind is its record's; a glued value's, the page's front
matter): how far each float moved (:class:`Move`), what no tolerance covers (text, integers),
and the version numbers that differ, which are the pins' business (:class:`RecordComparison`,
:func:`comparison_report`). It executes nothing.
"""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from booktools.book import front_matter
from booktools.checks.numbers import number_moves, relative_move, same_form
from booktools.records import BOOK_PREFIX, DEFAULT_KIND, ExecutedPage

ATOL = 1e-6  # the CPU profile's: values near zero stayed within it under the matrix

# A number that is part of a dotted version (`0.10` of `JAX 0.10.2`) says which library ran, not
# what it computed: no tolerance is about it (the checker's pins check is).
VERSION = re.compile(r"(?<![\w.])\d+(?:\.\d+){2,}(?!\w|\.\d)")


@dataclasses.dataclass(frozen=True)
class Move:
    """A float of a numeric value that differs between two records."""

    page: str
    where: str  # `cell 3 [key] `first line``, or `glued value `name``
    recorded: str
    found: str

    @property
    def relative(self) -> float:
        return relative_move(self.recorded, self.found)

    @property
    def absolute(self) -> float:
        return abs(float(self.found) - float(self.recorded))

    def __str__(self) -> str:
        return f"{self.page}, {self.where}: {self.recorded} → {self.found}"


@dataclasses.dataclass
class RecordComparison:
    """Two sets of records (say a GPU's against a CPU's), value by value, by the checker's rules:
    the numeric values' floats that moved (what a tolerance is measured from), the differences
    no tolerance covers (text, integers), and the version numbers that differ."""

    pages: list[str] = dataclasses.field(default_factory=list)
    moves: list[Move] = dataclasses.field(default_factory=list)
    differences: list[str] = dataclasses.field(default_factory=list)  # text, integers, counts
    versions: list[str] = dataclasses.field(default_factory=list)
    left_out: dict[str, int] = dataclasses.field(default_factory=dict)  # values by kind

    def largest(self, atol: float = 0.0) -> Move | None:
        """The largest move relative to its value, of those that moved more than ``atol`` (a
        value near zero moves far relative to itself: ``atol`` is for those)."""
        beyond = [m for m in self.moves if m.absolute > atol]
        return max(beyond, key=lambda m: m.relative, default=None)

    def tolerances(self, margin: float = 25.0, atol: float = ATOL) -> dict[str, float]:
        """``rtol``: ``margin`` (at least 1) times the largest relative move of a value that
        moved more than ``atol``, up to one significant digit (the CPU profile keeps 25× over
        its measured 3.8e-6: 1e-4). Every move is then within ``atol + rtol * |value|``."""
        largest = self.largest(atol)
        rtol = _one_digit_up(max(margin, 1.0) * largest.relative) if largest else 0.0
        return {"rtol": rtol, "atol": atol}


def _one_digit_up(value: float) -> float:
    """``value`` rounded up to one significant digit: 9.5e-5 → 1e-4, 3.2e-3 → 4e-3."""
    exponent = math.floor(math.log10(value))
    digit = math.ceil(round(value / 10**exponent, 9))
    return float(f"{digit}e{exponent}")


def compare_texts(page: str, where: str, recorded: str, found: str, into: RecordComparison):
    """Add what differs between two texts of one numeric value to ``into``: versions (``JAX
    0.10.2``, compared as words), then text around the numbers, then integers and floats."""
    if recorded == found:
        return
    old_versions, new_versions = VERSION.findall(recorded), VERSION.findall(found)
    if len(old_versions) == len(new_versions):
        into.versions += [
            f"{page}, {where}: {e} → {a}"
            for e, a in zip(old_versions, new_versions, strict=True)
            if e != a
        ]
        recorded, found = VERSION.sub("<version>", recorded), VERSION.sub("<version>", found)
    if not same_form(recorded, found):
        into.differences.append(f"{page}, {where}: the text differs")
        return
    for e, a, _ in number_moves(recorded, found):
        if re.fullmatch(r"[-+]?\d+", e) and re.fullmatch(r"[-+]?\d+", a):
            into.differences.append(f"{page}, {where}: integer {e} → {a}")
        else:
            into.moves.append(Move(page, where, e, a))


def compare_records(
    recorded: dict[str, dict[str, Any]],
    found: dict[str, dict[str, Any]],
    front_matter: dict[str, dict[str, Any]],
) -> RecordComparison:
    """Every page both sets record (``{docname: record}``), value by value. Only numeric values
    are compared (a cell's kind is its record's; a glued value's, the page's ``front_matter``);
    exact, trajectory and volatile ones are counted in ``left_out``."""
    comparison = RecordComparison(pages=sorted(set(recorded) & set(found)))
    for docname in comparison.pages:
        source = f"{docname}.md"
        old, new = recorded[docname], found[docname]
        old_cells = {c["key"]: c for c in old.get("cells") or []}
        for index, cell in enumerate(new.get("cells") or [], start=1):
            entry = old_cells.get(cell["key"])
            kinds = {cell.get("kind", DEFAULT_KIND), (entry or {}).get("kind", DEFAULT_KIND)}
            if entry is None:
                comparison.differences.append(f"{source}, cell [{cell['key']}]: in one only")
                continue
            if kinds != {DEFAULT_KIND}:
                kind = next(iter(kinds - {DEFAULT_KIND}))
                comparison.left_out[kind] = comparison.left_out.get(kind, 0) + 1
                continue
            where = f"cell {index} [{cell['key']}] `{cell.get('source', '')}`"
            if len(entry["outputs"]) != len(cell["outputs"]):
                comparison.differences.append(f"{source}, {where}: other outputs")
                continue
            for e, a in zip(entry["outputs"], cell["outputs"], strict=True):
                for field in ("text", "message"):
                    compare_texts(
                        source, where, str(e.get(field, "")), str(a.get(field, "")), comparison
                    )
        page = ExecutedPage(docname, front_matter.get(docname) or {}, [], {}, {})
        old_glue, new_glue = old.get("glue") or {}, new.get("glue") or {}
        for name in sorted(set(old_glue) & set(new_glue)):
            kind = page.glue_kind(name)
            if kind != DEFAULT_KIND:
                comparison.left_out[kind] = comparison.left_out.get(kind, 0) + 1
                continue
            where = f"glued value `{name}`"
            compare_texts(source, where, str(old_glue[name]), str(new_glue[name]), comparison)
    return comparison


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def read_records(root: Path, where: str) -> dict[str, dict[str, Any]]:
    """The records in a folder (``tests/golden/gpu``) or, as ``REV:FOLDER``, in a commit
    (``3b9e331:tests/golden``), by docname."""
    revision, _, folder = where.rpartition(":") if ":" in where else ("", "", where)
    found = {}
    if revision:
        listing = _git(root, "ls-tree", "--name-only", f"{revision}:{folder}")
        for name in listing.split():
            if name.endswith(".yml"):
                text = _git(root, "show", f"{revision}:{folder}/{name}")
                found[BOOK_PREFIX + name.removesuffix(".yml")] = yaml.safe_load(text)
    else:
        for path in sorted((root / folder).glob("*.yml")):
            found[BOOK_PREFIX + path.stem] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return found


def front_matters(root: Path, docnames: list[str], revision: str | None) -> dict[str, Any]:
    """The pages' front matter, in the working tree or at ``revision``."""
    matters = {}
    for docname in docnames:
        if revision:
            text = _git(root, "show", f"{revision}:{docname}.md")
        else:
            text = (root / f"{docname}.md").read_text(encoding="utf-8")
        matters[docname] = front_matter(text)
    return matters


def comparison_report(comparison: RecordComparison, recorded: str, found: str) -> str:
    lines = [f"records {recorded} → {found}: {len(comparison.pages)} page(s) in both"]
    left_out = ", ".join(f"{n} {kind}" for kind, n in sorted(comparison.left_out.items()))
    lines.append(f"left out by kind: {left_out or 'nothing'}")
    for title, items in (
        (
            "version numbers that differ (the pins' business, not a tolerance's)",
            comparison.versions,
        ),
        ("differences no tolerance covers (text, integers)", comparison.differences),
    ):
        lines.append(f"{title}: {len(items)}")
        lines += [f"  {item}" for item in items]
    moves = sorted(comparison.moves, key=lambda m: m.relative, reverse=True)
    lines.append(f"floats of numeric values that moved: {len(moves)}")
    lines += [f"  {m} (relative {m.relative:.2g}, absolute {m.absolute:.2g})" for m in moves]
    largest = comparison.largest(ATOL)
    if largest:
        lines.append(
            f"largest relative move of a value that moved more than {ATOL:g}: "
            f"{largest.relative:.2g} ({largest})"
        )
        rtol, atol = comparison.tolerances().values()
        lines.append(f"with a 25x margin: rtol {rtol:g}, atol {atol:g} (every move within them)")
    else:
        lines.append(f"no float of a numeric value moved more than {ATOL:g}")
    return "\n".join(lines)
