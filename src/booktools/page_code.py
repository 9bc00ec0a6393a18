"""The pages' code cells, formatted and linted by Ruff like ``src/`` (``make format-pages``).

A page's code is read in a column that fits about 88 characters at 1366 px
(``tests/browser/test_cut_off.py``), so its cells are formatted to
``[tool.jaxbook.page-code] line-length`` rather than the 100 columns of ``src/``. Ruff reads a
notebook with IPython magics, so each page's code cells are handed to it as one notebook (on
standard input): names defined in one cell and used in another are seen as a notebook's are.

* ``python -m booktools.page_code format [PAGE ...]`` rewrites the code of each cell in place;
  everything else in the page (prose, cell options, questions' snippets, which are strings)
  is left byte for byte.
* ``python -m booktools.page_code check [PAGE ...]`` (in ``make lint``) exits with 1 and names
  the page and the cell of each cell Ruff would format, of each lint finding
  (``[tool.jaxbook.page-code] lint``) and of each line of a shown cell (not ``remove-cell`` or
  ``remove-input``) longer than the column (a string or a comment the formatter cannot
  break), with its line in the page.

Without pages, every page of the book (``book/*.md``) is taken.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^(?P<ticks>`{3,})\{code-cell\}")
OPTION = re.compile(r"^:[\w-]+:")
NOT_SHOWN = re.compile(r"\bremove-(cell|input)\b")


@dataclass(frozen=True)
class CodeCell:
    """One code cell of a page: its code is ``lines[start:end]`` of the page (0-based)."""

    number: int  # 1-based, among the page's code cells
    start: int
    end: int
    code: str
    shown: bool = True  # False for a cell tagged remove-cell or remove-input


def settings() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["tool"]["jaxbook"]["page-code"]


def code_cells(lines: list[str]) -> list[CodeCell]:
    """The code cells of a page given as its lines (without their line ends)."""
    cells: list[CodeCell] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        index += 1
        if not opening:
            continue
        header_start = index
        ticks = opening.group("ticks")
        if index < len(lines) and lines[index].strip() == "---":  # options as YAML
            index += 1
            while index < len(lines) and lines[index].strip() != "---":
                index += 1
            index += 1
        else:
            options = index
            while index < len(lines) and OPTION.match(lines[index]):
                index += 1
            if index > options and index < len(lines) and not lines[index].strip():
                index += 1  # the blank line that ends the options belongs to them
        start = index
        while index < len(lines) and lines[index].rstrip() != ticks:
            index += 1
        if index == len(lines):
            raise ValueError(f"a code cell opened on line {start} is never closed")
        header = "\n".join(lines[header_start:start])
        code = "\n".join(lines[start:index])
        cells.append(CodeCell(len(cells) + 1, start, index, code, not NOT_SHOWN.search(header)))
        index += 1
    return cells


def as_notebook(cells: list[CodeCell]) -> str:
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "id": f"cell-{cell.number}",
                    "metadata": {},
                    "outputs": [],
                    "source": cell.code,
                }
                for cell in cells
            ],
            "metadata": {"language_info": {"name": "python"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


def ruff(*arguments: str, notebook: str, name: str) -> subprocess.CompletedProcess[str]:
    """Ruff on ``notebook`` given on standard input as ``name`` (so pyproject's settings
    apply), the line length that of the pages' code."""
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("ruff")),
            *arguments,
            "--line-length",
            str(settings()["line-length"]),
            "--stdin-filename",
            name,
            "-",
        ],
        input=notebook,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def formatted(page: Path) -> tuple[list[str], list[CodeCell]]:
    """The page's lines with its code cells formatted, and the cells whose code changed."""
    lines = page.read_text("utf-8").split("\n")
    cells = code_cells(lines)
    if not cells:
        return lines, []
    name = f"{page.relative_to(ROOT).with_suffix('')}.ipynb"
    result = ruff("format", notebook=as_notebook(cells), name=name)
    if result.returncode != 0:
        raise SystemExit(f"{page}: Ruff could not format the code cells:\n{result.stderr}")
    new_codes = ["".join(cell["source"]) for cell in json.loads(result.stdout)["cells"]]
    changed = [cell for cell, new in zip(cells, new_codes, strict=True) if new != cell.code]
    for cell, new in reversed(list(zip(cells, new_codes, strict=True))):
        if new != cell.code:
            lines[cell.start : cell.end] = new.split("\n") if new else []
    return lines, changed


def lint(page: Path) -> list[str]:
    """Ruff's lint findings in the page's code, each named by page, cell and line."""
    lines = page.read_text("utf-8").split("\n")
    cells = code_cells(lines)
    if not cells:
        return []
    name = f"{page.relative_to(ROOT).with_suffix('')}.ipynb"
    rules = ["--select", ",".join(settings()["lint"])]
    if settings().get("lint-ignore"):
        rules += ["--ignore", ",".join(settings()["lint-ignore"])]
    result = ruff(
        "check", "--output-format", "json", *rules, notebook=as_notebook(cells), name=name
    )
    if result.returncode not in (0, 1):
        raise SystemExit(f"{page}: Ruff could not lint the code cells:\n{result.stderr}")
    problems = []
    for finding in json.loads(result.stdout or "[]"):
        cell_number = int(finding.get("cell") or 1)
        cell = cells[cell_number - 1]
        line = cell.start + finding["location"]["row"]  # 1-based line of the page
        problems.append(
            f"{page.relative_to(ROOT)}:{line}: code cell {cell_number}: "
            f"{finding['code']} {finding['message']}"
        )
    return problems


def long_lines(page: Path) -> list[str]:
    """Lines of shown cells longer than the column (a string or a comment, which the formatter
    leaves as they are): each is cut off at 1366 px."""
    limit = settings()["line-length"]
    problems = []
    for cell in code_cells(page.read_text("utf-8").split("\n")):
        for offset, line in enumerate(cell.code.split("\n")):
            if cell.shown and len(line) > limit:
                problems.append(
                    f"{page.relative_to(ROOT)}:{cell.start + offset + 1}: code cell "
                    f"{cell.number} shows a line of {len(line)} characters; the column fits "
                    f"{limit}"
                )
    return problems


def pages(arguments: list[str]) -> list[Path]:
    if arguments:
        return [Path(argument).resolve() for argument in arguments]
    return sorted((ROOT / "book").glob("*.md"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m booktools.page_code", description=__doc__)
    parser.add_argument("command", choices=["format", "check"])
    parser.add_argument("pages", nargs="*", help="pages (default: book/*.md)")
    arguments = parser.parse_args(argv)
    problems: list[str] = []
    for page in pages(arguments.pages):
        lines, changed = formatted(page)
        if arguments.command == "format":
            if changed:
                page.write_text("\n".join(lines), "utf-8")
                print(f"{page.relative_to(ROOT)}: formatted {len(changed)} code cell(s)")
            continue
        problems += [
            f"{page.relative_to(ROOT)}:{cell.start + 1}: code cell {cell.number} is not "
            f"formatted (make format-pages)"
            for cell in changed
        ]
        problems += lint(page)
        problems += long_lines(page)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
