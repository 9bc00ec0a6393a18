"""The output checker: every executed cell's output against its recorded expectation.

``python -m booktools.outputs check``: compare the last build with ``tests/golden/`` (make test)
``python -m booktools.outputs record``: re-record ``tests/golden/`` from the last build
(``make golden``)

One YAML file per page records, cell by cell, what each code cell printed: stream text,
``text/plain`` results, the MIME types of rich outputs (figures, HTML), and the type and first
line of the error of a ``raises-exception`` cell. A cell is keyed by its ``label`` metadata if it
has one, else by a hash of its source, so editing one cell does not disturb the others.

Numbers inside text are compared with a relative and an absolute tolerance. The defaults live
in ``pyproject.toml`` (``[tool.jaxbook.checker.<profile>]``, profiles ``cpu`` and ``gpu``); a page
overrides them in its front matter and a cell in its metadata::

    output_check: {rtol: 1e-3, atol: 1e-5, gpu: {rtol: 5e-2}}

Cells tagged ``volatile-output`` (timings, say) are checked for their form only: the same kinds
of output, the same number of lines, the same exception type. Glued values listed in the page's
``output_check: {volatile_glue: [...]}`` are likewise not compared. A page's ``claims:`` (Python
comparisons over its glued values, e.g. ``jit_speedup > 1``) are asserted on every build.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import hashlib
import json
import math
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from booktools import BUILD, ROOT

EXECUTED = BUILD / "jupyter_execute"
GOLDEN = ROOT / "tests" / "golden"
BOOK_PREFIX = "book/"
VOLATILE_TAG = "volatile-output"
RAISES_TAG = "raises-exception"


class CheckerError(Exception):
    """A problem with the checker's inputs (no build, a malformed file): never a pass."""


# --------------------------------------------------------------------------- normalisation

NUMBER = re.compile(
    r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w])|(?<!\w)-?(?:nan|inf)(?!\w)"
)

_NORMALISERS: list[tuple[re.Pattern[str], str]] = [
    # Device names differ between machines, not between correct and wrong outputs.
    (re.compile(r"\b(?:Cpu|Cuda|Gpu|Rocm|Tpu)Device\(id=(\d+)\)"), r"Device(id=\1)"),
    (re.compile(r"\b(?:cpu|cuda|gpu|rocm|tpu)\(id=(\d+)\)"), r"device(id=\1)"),
    (re.compile(r"\bTFRT_CPU_(\d+)\b"), r"device_\1"),
    # jaxbook.provenance.device_description(): "cpu (AMD EPYC 7B13)", "cuda (NVIDIA H100)".
    (re.compile(r"\b(?:cpu|cuda|gpu|rocm|tpu) \([^()\n]*\)"), "<device>"),
    # Object addresses change on every run.
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "0x…"),
]


def normalise(text: str) -> str:
    """Remove what legitimately differs between runs and machines; strip trailing spaces."""
    for path in {str(ROOT), str(Path(sys.prefix))}:
        text = text.replace(path, "<root>" if path == str(ROOT) else "<env>")
    for pattern, replacement in _NORMALISERS:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.splitlines())


def _split_numbers(text: str) -> tuple[list[str], list[str]]:
    """Text between numbers (whitespace removed, so re-aligned arrays still match) and numbers."""
    parts, numbers, last = [], [], 0
    for match in NUMBER.finditer(text):
        parts.append(re.sub(r"\s+", "", text[last : match.start()]))
        numbers.append(match.group())
        last = match.end()
    parts.append(re.sub(r"\s+", "", text[last:]))
    return parts, numbers


def _close(expected: str, actual: str, rtol: float, atol: float) -> bool:
    a, b = float(expected), float(actual)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(a)


def _mark(text: str, index: int) -> str:
    """``text`` with its ``index``-th number wrapped in ``>>> <<<``."""
    matches = list(NUMBER.finditer(text))
    if index >= len(matches):
        return text
    m = matches[index]
    return f"{text[: m.start()]}>>>{m.group()}<<<{text[m.end() :]}"


def compare_text(expected: str, actual: str, rtol: float, atol: float) -> str | None:
    """``None`` if ``actual`` matches ``expected`` within tolerance, else why not."""
    expected_parts, expected_numbers = _split_numbers(expected)
    actual_parts, actual_numbers = _split_numbers(actual)
    if expected_parts != actual_parts or len(expected_numbers) != len(actual_numbers):
        return f"the text differs:\n{_indent('expected', expected)}\n{_indent('actual', actual)}"
    for i, (e, a) in enumerate(zip(expected_numbers, actual_numbers, strict=True)):
        if not _close(e, a, rtol, atol):
            return (
                f"number {i + 1} differs beyond rtol={rtol:g}, atol={atol:g} "
                f"({e} expected, {a} found):\n"
                f"{_indent('expected', _mark(expected, i))}\n{_indent('actual', _mark(actual, i))}"
            )
    return None


def _indent(label: str, text: str) -> str:
    lines = text.splitlines() or [""]
    pad = " " * (len(label) + 6)
    return f"    {label}: {lines[0]}" + "".join(f"\n{pad}{line}" for line in lines[1:])


# --------------------------------------------------------------------------- summaries


def _text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def cell_key(cell: dict[str, Any]) -> str:
    label = cell.get("metadata", {}).get("label")
    if label:
        return str(label)
    source = "\n".join(line.rstrip() for line in _text(cell["source"]).strip().splitlines())
    return "cell-" + hashlib.sha1(source.encode()).hexdigest()[:10]


def summarise_outputs(outputs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    summary: list[dict[str, Any]] = []
    streams_seen: set[str] = set()
    for output in outputs:
        kind = output["output_type"]
        if kind == "stream":
            # When myst-nb renders a cell it merges all its streams of one name into the first
            # (in place, in the notebook it saves), leaving the later ones behind: the first is
            # what the reader sees. How a kernel splits its output into streams is timing.
            if output["name"] not in streams_seen:
                streams_seen.add(output["name"])
                summary.append({"stream": output["name"], "text": normalise(_text(output["text"]))})
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            label = "result" if kind == "execute_result" else "display"
            entry: dict[str, Any] = {label: sorted(data)}
            if "text/plain" in data:
                entry["text"] = normalise(_text(data["text/plain"]))
            summary.append(entry)
        elif kind == "error":
            message = normalise(output.get("evalue", "")).split("\n", 1)[0]
            summary.append({"error": output["ename"], "message": message})
    return summary


@dataclasses.dataclass
class Cell:
    key: str
    index: int  # 1-based position among the page's code cells
    first_line: str
    outputs: list[dict[str, Any]]
    volatile: bool
    options: dict[str, Any]
    has_alt_text: bool


def notebook_cells(notebook: dict[str, Any]) -> list[Cell]:
    cells, seen = [], {}
    code_cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    for index, cell in enumerate(code_cells, start=1):
        key = cell_key(cell)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:  # the same source twice on one page
            key = f"{key}-{seen[key]}"
        metadata = cell.get("metadata", {})
        options = dict(metadata.get("output_check", {}))
        image = metadata.get("mystnb", {}).get("image", {}) or {}
        cells.append(
            Cell(
                key=key,
                index=index,
                first_line=(_text(cell["source"]).strip().splitlines() or [""])[0][:80],
                outputs=summarise_outputs(cell.get("outputs", [])),
                volatile=VOLATILE_TAG in metadata.get("tags", []) or bool(options.get("volatile")),
                options=options,
                has_alt_text=bool(str(image.get("alt", "")).strip()),
            )
        )
    return cells


def glue_values(glue_file: Path) -> dict[str, str]:
    if not glue_file.exists():
        return {}
    data = json.loads(glue_file.read_text(encoding="utf-8"))
    return {
        name: normalise(_text(output.get("data", {}).get("text/plain", "")))
        for name, output in data.items()
    }


# --------------------------------------------------------------------------- pages


@dataclasses.dataclass
class Page:
    docname: str  # e.g. "book/why_jax"
    metadata: dict[str, Any]
    cells: list[Cell]
    glue: dict[str, str]

    @property
    def source(self) -> str:
        return f"{self.docname}.md"

    @property
    def golden_file(self) -> Path:
        return golden_file(self.docname)


def golden_file(docname: str) -> Path:
    return GOLDEN / f"{docname.removeprefix(BOOK_PREFIX)}.yml"


def docname_of(golden: Path) -> str:
    return BOOK_PREFIX + golden.relative_to(GOLDEN).with_suffix("").as_posix()


def load_pages(executed: Path, only: list[str] | None = None) -> list[Page]:
    if not executed.is_dir() or not any(executed.rglob("*.ipynb")):
        raise CheckerError(
            f"no executed notebooks in {executed}: build the book first (`make book`)."
        )
    pages = []
    for notebook_file in sorted(executed.rglob("*.ipynb")):
        docname = notebook_file.relative_to(executed).with_suffix("").as_posix()
        if only and docname not in only:
            continue
        notebook = json.loads(notebook_file.read_text(encoding="utf-8"))
        cells = notebook_cells(notebook)
        if not cells:
            continue
        glue = glue_values(notebook_file.with_suffix(".glue.json"))
        pages.append(Page(docname, notebook.get("metadata", {}), cells, glue))
    if only:
        missing = sorted(set(only) - {p.docname for p in pages})
        if missing:
            raise CheckerError(
                f"no executed notebook for {', '.join(missing)} in {executed}: "
                "is the name right (e.g. book/jit), and was the page built?"
            )
    return pages


# --------------------------------------------------------------------------- recording


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def _masked(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A volatile cell's outputs with every number replaced by ``#``: only their form is
    checked, and re-recording does not rewrite the file for every new timing."""
    return [{k: _mask(v) if k in ("text", "message") else v for k, v in o.items()} for o in outputs]


def _mask(text: str) -> str:
    """Numbers become ``#``, a duration's unit ``#s``, and runs of spaces one space."""
    text = TIME_UNIT.sub("#s", NUMBER.sub("#", text))
    return re.sub(r"[ \t]+", " ", text)


TIME_UNIT = re.compile(r"#\s*(?:ns|µs|us|ms|s)\b")


def page_record(page: Page) -> dict[str, Any]:
    return {
        "page": page.source,
        "cells": [
            {"key": c.key, "source": c.first_line, "volatile": True, "outputs": _masked(c.outputs)}
            if c.volatile
            else {"key": c.key, "source": c.first_line, "outputs": c.outputs}
            for c in page.cells
        ],
        "glue": {
            name: _mask(value) if name in volatile_glue(page) else value
            for name, value in sorted(page.glue.items())
        },
    }


def volatile_glue(page: Page) -> set[str]:
    return set((page.metadata.get("output_check", {}) or {}).get("volatile_glue", []) or [])


def record(executed: Path, only: list[str] | None = None) -> list[str]:
    pages = load_pages(executed, only)
    GOLDEN.mkdir(parents=True, exist_ok=True)
    lines = []
    for page in pages:
        page.golden_file.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.dump(page_record(page), Dumper=_Dumper, sort_keys=False, allow_unicode=True)
        header = (
            f"# Recorded outputs of {page.source}: written by `make golden`, read by `make test`.\n"
        )
        page.golden_file.write_text(header + text, encoding="utf-8")
        lines.append(f"recorded {page.golden_file.relative_to(ROOT)} ({len(page.cells)} cells)")
    if not only:
        built = {p.golden_file for p in pages}
        for stale in sorted(GOLDEN.rglob("*.yml")):
            if stale not in built:
                stale.unlink()
                lines.append(f"removed {stale.relative_to(ROOT)}: its page is no longer built")
    return lines


def load_golden(path: Path) -> dict[str, Any]:
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CheckerError(
            f"{where} is not valid YAML ({error}); re-record it with `make golden`."
        ) from None
    problems = []
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        problems.append("it has no list of `cells`")
    else:
        for i, cell in enumerate(data["cells"], start=1):
            if (
                not isinstance(cell, dict)
                or "key" not in cell
                or not isinstance(cell.get("outputs"), list)
            ):
                problems.append(f"cell entry {i} lacks a `key` or a list of `outputs`")
        if not isinstance(data.get("glue", {}), dict):
            problems.append("`glue` is not a mapping")
    if problems:
        raise CheckerError(
            f"{where} is malformed: {'; '.join(problems)}. Re-record it with `make golden`."
        )
    return data


# --------------------------------------------------------------------------- checking


def tolerances(profile: str) -> dict[str, float]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    try:
        values = config["tool"]["jaxbook"]["checker"][profile]
    except KeyError as missing:
        raise CheckerError(
            f"pyproject.toml has no [tool.jaxbook.checker.{profile}] table ({missing})"
        ) from None
    return {"rtol": float(values["rtol"]), "atol": float(values["atol"])}


def _override(base: dict[str, float], options: dict[str, Any], profile: str) -> dict[str, float]:
    merged = dict(base)
    for source in (options, options.get(profile, {}) or {}):
        for name in ("rtol", "atol"):
            if name in source:
                merged[name] = float(source[name])
    return merged


def _form(output: dict[str, Any]) -> tuple:
    kind = next(k for k in ("stream", "result", "display", "error") if k in output)
    value = output[kind]
    lines = len(output.get("text", "").splitlines()) if kind == "stream" else None
    return (kind, tuple(value) if isinstance(value, list) else value, lines)


def _describe(output: dict[str, Any]) -> str:
    kind, value, _ = _form(output)
    return f"{kind} {value if not isinstance(value, tuple) else ', '.join(value)}"


def compare_cell(
    expected: list[dict[str, Any]], cell: Cell, tol: dict[str, float], profile: str
) -> list[str]:
    actual = cell.outputs
    if profile == "gpu":  # GPU runtimes log to stderr (autotuning, ptxas): not the page's output
        expected = [o for o in expected if o.get("stream") != "stderr"]
        actual = [o for o in actual if o.get("stream") != "stderr"]
    if len(expected) != len(actual):
        return [
            f"{len(expected)} outputs expected, {len(actual)} found\n"
            f"    expected: {[_describe(o) for o in expected]}\n"
            f"    actual:   {[_describe(o) for o in actual]}"
        ]
    problems = []
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
                why = compare_text(e.get(field, ""), a.get(field, ""), **tol)
                if why:
                    problems.append(f"output {n} ({_describe(e)}): {why}")
    return problems


# What a claim may call besides comparisons and arithmetic over the page's glued values.
CLAIM_BUILTINS = {"abs": abs, "min": min, "max": max, "round": round, "len": len}


def check_claims(page: Page) -> list[str]:
    problems = []
    values: dict[str, Any] = {}
    for name, text in page.glue.items():
        try:
            values[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            values[name] = text
    for claim in page.metadata.get("claims", []) or []:
        try:
            holds = eval(claim, {"__builtins__": CLAIM_BUILTINS}, dict(values))  # noqa: S307
        except NameError as error:
            problems.append(f"claim `{claim}` names a value the page did not glue ({error})")
            continue
        if not holds:
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items() if k in claim)
            problems.append(f"claim `{claim}` does not hold on this device: {shown}")
    return problems


def check_page(page: Page, profile: str, base: dict[str, float]) -> list[str]:
    if not page.golden_file.exists():
        return [
            f"{page.source}: no recorded outputs ({page.golden_file.relative_to(ROOT)} is "
            "missing). Run `make golden` and commit the file."
        ]
    golden = load_golden(page.golden_file)
    page_options = page.metadata.get("output_check", {}) or {}
    page_tol = _override(base, page_options, profile)
    recorded = {c["key"]: c for c in golden["cells"]}
    problems = []

    def where(cell: Cell) -> str:
        return f"{page.source}, cell {cell.index} [{cell.key}] `{cell.first_line}`"

    for cell in page.cells:
        if (
            any(
                "display" in o and any(m.startswith("image/") for m in o["display"])
                for o in cell.outputs
            )
            and not cell.has_alt_text
        ):
            problems.append(
                f"{where(cell)}: a figure without alt text; add `mystnb: {{image: {{alt: ...}}}}` "
                "to the cell's metadata"
            )
        if cell.key not in recorded:
            problems.append(
                f"{where(cell)}: no recorded expectation (a new or edited cell). "
                "Run `make golden` and review the diff."
            )
            continue
        tol = _override(page_tol, cell.options, profile)
        for problem in compare_cell(recorded[cell.key]["outputs"], cell, tol, profile):
            problems.append(f"{where(cell)}: {problem}")
    built_keys = {c.key for c in page.cells}
    for key, entry in recorded.items():
        if key not in built_keys:
            problems.append(
                f"{page.source}: recorded cell [{key}] `{entry.get('source', '')}` is no longer "
                "on the page (deleted or edited). Run `make golden` and review the diff."
            )
    expected_glue = golden.get("glue", {}) or {}
    for name in sorted(set(expected_glue) | set(page.glue)):
        if name not in page.glue:
            problems.append(f"{page.source}: glued value `{name}` was recorded but not produced")
        elif name not in expected_glue:
            problems.append(f"{page.source}: glued value `{name}` has no recorded expectation")
        elif name not in volatile_glue(page):
            why = compare_text(str(expected_glue[name]), page.glue[name], **page_tol)
            if why:
                problems.append(f"{page.source}: glued value `{name}`: {why}")
    problems.extend(f"{page.source}: {p}" for p in check_claims(page))
    return problems


def check(executed: Path, profile: str, only: list[str] | None = None) -> tuple[list[str], int]:
    base = tolerances(profile)
    pages = load_pages(executed, only)
    problems: list[str] = []
    for page in pages:
        problems.extend(check_page(page, profile, base))
    if not only:
        built = {p.golden_file for p in pages}
        for orphan in sorted(GOLDEN.rglob("*.yml")):
            if orphan not in built:
                problems.append(
                    f"{orphan.relative_to(ROOT)}: recorded outputs of {docname_of(orphan)}.md, "
                    "which was not built (renamed or deleted?). Run `make golden` to remove it."
                )
    return problems, sum(len(p.cells) for p in pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check or record the book's cell outputs.")
    parser.add_argument("command", choices=["check", "record"])
    parser.add_argument(
        "--executed",
        type=Path,
        default=EXECUTED,
        help="folder of executed notebooks (default: %(default)s)",
    )
    parser.add_argument("--profile", default="cpu", help="tolerance profile: cpu or gpu")
    parser.add_argument(
        "--page",
        action="append",
        dest="pages",
        metavar="DOCNAME",
        help="only this page, e.g. book/jit (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "record":
            print("\n".join(record(args.executed, args.pages)))
            return 0
        problems, count = check(args.executed, args.profile, args.pages)
    except CheckerError as error:
        print(f"output check: ERROR: {error}", file=sys.stderr)
        return 2
    if problems:
        print(f"output check ({args.profile}): {len(problems)} problem(s)\n", file=sys.stderr)
        for problem in problems:
            print(f"FAIL {problem}\n", file=sys.stderr)
        return 1
    print(f"output check ({args.profile}): {count} cells match their recorded outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
