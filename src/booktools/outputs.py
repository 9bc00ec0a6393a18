"""The output checker: every executed cell's output against its recorded expectation.

``python -m booktools.outputs check``: compare the last build with ``tests/golden/`` (make test)
``python -m booktools.outputs record``: re-record ``tests/golden/`` from the last build
(``make golden``)

One YAML file per page records, cell by cell, what each code cell printed: stream text,
``text/plain`` results, the MIME types of rich outputs (figures, HTML), and the type and first
line of the error of a ``raises-exception`` cell; then the page's glued values. A cell is keyed
by its ``label`` metadata if it has one, else by a hash of its source, so editing one cell does
not disturb the others. Each record also says under which numerics it was recorded
(:mod:`booktools.numerics`: the device, and for a CPU the instruction set, thread count and
model). CPU records are ``tests/golden/<page>.yml``, GPU records ``tests/golden/gpu/<page>.yml``.

Every checked value (a cell's output, or a glued value) is of one *kind*, checked by its rule:

``numeric`` (the default)
    text and integers exactly; floats within ``rtol``/``atol``, which are measured (``make
    numerics-matrix``) and set in ``pyproject.toml`` (``[tool.jaxbook.checker.<profile>]``); a
    page overrides them in its front matter, a cell in its metadata.
``exact``
    the text and every number exactly, on every device: integers, shapes, PRNG draws, closed
    forms.
``trajectory``
    the end of a long chaotic computation (an accuracy after training, a final loss): against
    the record only under the numerics it was recorded with; elsewhere its form is checked and
    how far it moved is reported, without failing. A claim must cover it: a glued trajectory
    value is named in one of the page's ``claims``, a trajectory cell names such values in
    ``covered_by``.
``volatile``
    timings: the form only (the same kinds of output, the same number of lines).

A cell says its kind in its metadata (``output_check: {kind: trajectory, covered_by: [acc]}``;
the tag ``volatile-output`` means ``kind: volatile``); a page lists its glued values of other
kinds than ``numeric`` in its front matter::

    output_check: {rtol: 1e-3, gpu: {rtol: 5e-2}, trajectory: [acc], volatile: [step_us]}

A page's ``claims:`` (Python comparisons over its glued values, e.g. ``acc > 0.95``; ``abs``,
``min``, ``max``, ``round`` and ``len`` may be called) are asserted on every build.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
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

from booktools import BUILD, ROOT, numerics

EXECUTED = BUILD / "jupyter_execute"
GOLDEN = ROOT / "tests" / "golden"
BOOK_PREFIX = "book/"
VOLATILE_TAG = "volatile-output"
RAISES_TAG = "raises-exception"
KINDS = ("exact", "numeric", "trajectory", "volatile")
DEFAULT_KIND = "numeric"
GLUE_KINDS = tuple(k for k in KINDS if k != DEFAULT_KIND)  # front-matter lists of glued names


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


def _path_replacements() -> list[tuple[str, str]]:
    """Build paths and their placeholders, longest first: a virtual environment inside the
    repository is ``<env>``, not ``<root>/.venv``, whatever the order of a set would be."""
    paths = {str(Path(sys.prefix)): "<env>", str(ROOT): "<root>"}
    return sorted(paths.items(), key=lambda item: len(item[0]), reverse=True)


def normalise(text: str) -> str:
    """Remove what legitimately differs between runs and machines; strip trailing spaces."""
    for path, placeholder in _path_replacements():
        text = text.replace(path, placeholder)
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
        return f"the text differs:\n{_indent('expected', expected)}\n{_indent('actual', actual)}"
    expected_numbers, actual_numbers = _split_numbers(expected)[1], _split_numbers(actual)[1]
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
    kind: str
    options: dict[str, Any]
    has_alt_text: bool

    @property
    def volatile(self) -> bool:
        return self.kind == "volatile"

    @property
    def covered_by(self) -> list[str]:
        return [str(name) for name in self.options.get("covered_by", []) or []]


def cell_kind(metadata: dict[str, Any]) -> str:
    """The kind a cell's metadata gives it (not validated here: see :func:`kind_problems`)."""
    options = metadata.get("output_check", {}) or {}
    if VOLATILE_TAG in metadata.get("tags", []):
        return "volatile"
    return str(options.get("kind", DEFAULT_KIND))


def notebook_cells(notebook: dict[str, Any]) -> list[Cell]:
    cells, seen = [], {}
    code_cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    for index, cell in enumerate(code_cells, start=1):
        key = cell_key(cell)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:  # the same source twice on one page
            key = f"{key}-{seen[key]}"
        metadata = cell.get("metadata", {})
        options = dict(metadata.get("output_check", {}) or {})
        image = metadata.get("mystnb", {}).get("image", {}) or {}
        cells.append(
            Cell(
                key=key,
                index=index,
                first_line=(_text(cell["source"]).strip().splitlines() or [""])[0][:80],
                outputs=summarise_outputs(cell.get("outputs", [])),
                kind=cell_kind(metadata),
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
    numerics: dict[str, Any] = dataclasses.field(default_factory=dict)
    code_digest: str | None = None  # of the page's code when it was executed

    @property
    def source(self) -> str:
        return f"{self.docname}.md"

    @property
    def options(self) -> dict[str, Any]:
        return self.metadata.get("output_check", {}) or {}

    def glue_kind(self, name: str) -> str:
        for kind in GLUE_KINDS:
            if name in (self.options.get(kind) or []):
                return kind
        return DEFAULT_KIND

    @property
    def golden_file(self) -> Path:
        return golden_file(self.docname, numerics.profile(self.numerics))


def golden_dir(profile: str = "cpu") -> Path:
    """Where a profile's records live: the CPU's in ``tests/golden``, others in a subfolder."""
    return GOLDEN if profile == "cpu" else GOLDEN / profile


def golden_file(docname: str, profile: str = "cpu") -> Path:
    return golden_dir(profile) / f"{docname.removeprefix(BOOK_PREFIX)}.yml"


def docname_of(golden: Path, profile: str = "cpu") -> str:
    return BOOK_PREFIX + golden.relative_to(golden_dir(profile)).with_suffix("").as_posix()


def recorded_files(profile: str = "cpu") -> list[Path]:
    """The records of one profile (a CPU record is a ``.yml`` directly in ``tests/golden``)."""
    folder = golden_dir(profile)
    return sorted(folder.glob("*.yml")) if folder.is_dir() else []


def load_pages(executed: Path, only: list[str] | None = None) -> list[Page]:
    if not executed.is_dir() or not any(executed.rglob("*.ipynb")):
        raise CheckerError(
            f"no executed notebooks in {executed}: build first (`make book`, or "
            "`make page PAGE=book/<page>.md` for one page)."
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
        metadata = notebook.get("metadata", {})
        stamp = metadata.get("jaxbook", {}) or {}
        pages.append(
            Page(
                docname,
                metadata,
                cells,
                glue,
                stamp.get("numerics") or {},
                stamp.get("code_digest"),
            )
        )
    if only:
        missing = sorted(set(only) - {p.docname for p in pages})
        if missing:
            raise CheckerError(
                f"no executed notebook for {', '.join(missing)} in {executed}: "
                "is the name right (e.g. book/jit), and was the page built?"
            )
    unstamped = sorted(p.source for p in pages if not p.numerics)
    if unstamped:
        raise CheckerError(
            f"the executed notebooks of {', '.join(unstamped)} in {executed} do not say under "
            "which numerics they ran (built by an older `booktools`?): rebuild (`make book`)."
        )
    return pages


# --------------------------------------------------------------------------- kinds


def claim_names(claim: str) -> set[str]:
    """The glued values a claim reads."""
    try:
        tree = ast.parse(str(claim), mode="eval")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} - set(CLAIM_BUILTINS)


def claimed_names(page: Page) -> set[str]:
    return set().union(*(claim_names(c) for c in page.metadata.get("claims", []) or []))


def kind_problems(page: Page) -> list[str]:
    """Kinds that are unknown, name no glued value, or are trajectory without a claim."""
    problems = []
    claimed = claimed_names(page)
    unknown = sorted(set(page.options) - set(GLUE_KINDS) - {"rtol", "atol", "cpu", "gpu"})
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


def _cell_record(cell: Cell) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": cell.key, "source": cell.first_line}
    if cell.kind != DEFAULT_KIND:
        entry["kind"] = cell.kind
    entry["outputs"] = _masked(cell.outputs) if cell.volatile else cell.outputs
    return entry


def page_record(page: Page) -> dict[str, Any]:
    return {
        "page": page.source,
        "numerics": page.numerics,
        "cells": [_cell_record(c) for c in page.cells],
        "glue": {
            name: _mask(value) if page.glue_kind(name) == "volatile" else value
            for name, value in sorted(page.glue.items())
        },
    }


def page_build_notebook(docname: str) -> Path:
    """Where ``make page PAGE=<docname>.md`` leaves the page's executed notebook."""
    return BUILD / f"page-{Path(docname).name}" / "_build" / "jupyter_execute" / f"{docname}.ipynb"


def toc_docnames() -> set[str]:
    from booktools.book import Book, Paths

    return {page.docname for page in Book(Paths.at(ROOT, BUILD)).executable_pages}


def stale_problems(executed: Path, pages: list[Page], only: list[str] | None) -> list[str]:
    """Why recording from ``executed`` would lose or misstate work (empty when it is safe)."""
    from booktools.book import Book, Paths
    from booktools.cache import code_digest

    book = Book(Paths.at(ROOT, BUILD))
    problems = []
    in_toc = toc_docnames()
    for page in pages:
        source = ROOT / page.source
        if not source.exists() or page.docname not in in_toc:
            continue  # an orphan: the full recorder removes its record
        rebuild = (
            f"`make page PAGE={page.source}`" if only else "`make book` (or `make page PAGE=...`)"
        )
        if page.code_digest != code_digest(book.page(page.docname), book.paths):
            problems.append(
                f"{page.source} (or a jaxbook module it imports) changed since it was executed "
                f"({_shown(executed)}): run {rebuild} first, then record."
            )
            continue
        newer = page_build_notebook(page.docname)
        notebook = executed / f"{page.docname}.ipynb"
        if not only and newer.exists() and newer.stat().st_mtime > notebook.stat().st_mtime:
            problems.append(
                f"{page.source} has a newer `make page` build than the last `make book`: record "
                f"it with `make page-golden PAGE={page.source}`, or run `make book` first."
            )
    return problems


def record(executed: Path, only: list[str] | None = None) -> list[str]:
    outside = sorted(set(only or []) - toc_docnames())
    if outside:
        raise CheckerError(
            f"nothing recorded: {outside[0]}.md is not a page of _toc.yml; add it there, then "
            f"`make page PAGE={outside[0]}.md`."
        )
    pages = load_pages(executed, only)
    stale = stale_problems(executed, pages, only)
    if stale:
        raise CheckerError("nothing recorded:\n" + "\n".join(f"  {p}" for p in stale))
    problems = [p for page in pages for p in kind_problems(page)]
    if problems:
        raise CheckerError(
            "nothing recorded; fix the kinds first:\n" + "\n".join(f"  {p}" for p in problems)
        )
    lines = []
    profiles = set()
    for page in pages:
        profiles.add(numerics.profile(page.numerics))
        page.golden_file.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.dump(page_record(page), Dumper=_Dumper, sort_keys=False, allow_unicode=True)
        header = (
            f"# Recorded outputs of {page.source}: written by `make golden`, read by `make test`.\n"
        )
        page.golden_file.write_text(header + text, encoding="utf-8")
        lines.append(
            f"recorded {_shown(page.golden_file)} ({len(page.cells)} cells, "
            f"{numerics.label(page.numerics)})"
        )
    if not only:
        for profile in sorted(profiles):
            built = {p.golden_file for p in pages}
            for stale in recorded_files(profile):
                if stale not in built:
                    stale.unlink()
                    lines.append(f"removed {_shown(stale)}: its page is no longer built")
    return lines


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def load_golden(path: Path) -> dict[str, Any]:
    where = _shown(path)
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
            elif cell.get("kind", DEFAULT_KIND) not in KINDS:
                problems.append(
                    f"cell entry {i} [{cell['key']}] has unknown kind `{cell.get('kind')}` "
                    f"(one of {', '.join(KINDS)})"
                )
        if not isinstance(data.get("glue", {}), dict):
            problems.append("`glue` is not a mapping")
        if not isinstance(data.get("numerics", {}), dict):
            problems.append("`numerics` is not a mapping")
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


EXACT = {"rtol": 0.0, "atol": 0.0}


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


@dataclasses.dataclass
class Drift:
    """A trajectory value that moved under numerics other than its record's: reported only."""

    where: str
    moves: list[tuple[str, str, float]]

    def __str__(self) -> str:
        largest = max(m for _, _, m in self.moves)
        shown = ", ".join(f"{e} → {a}" for e, a, _ in self.moves[:4])
        more = f" and {len(self.moves) - 4} more" if len(self.moves) > 4 else ""
        return f"{self.where}: {shown}{more} (largest relative move {largest:.2g})"


def compare_value(
    expected: str, actual: str, kind: str, tol: dict[str, float], same_numerics: bool
) -> tuple[str | None, list[tuple[str, str, float]]]:
    """``(why it fails or None, moves to report)`` for one text under its kind's rule."""
    if kind == "exact":
        return compare_text(expected, actual, **EXACT), []
    if kind == "trajectory" and not same_numerics:
        if not same_form(expected, actual):
            return compare_text(expected, actual, **tol), []
        return None, number_moves(expected, actual)
    return compare_text(expected, actual, **tol), []


def compare_cell(
    expected: list[dict[str, Any]],
    cell: Cell,
    tol: dict[str, float],
    profile: str,
    same_numerics: bool = True,
) -> tuple[list[str], list[tuple[str, str, float]]]:
    actual = cell.outputs
    if profile == "gpu":  # GPU runtimes log to stderr (autotuning, ptxas): not the page's output
        expected = [o for o in expected if o.get("stream") != "stderr"]
        actual = [o for o in actual if o.get("stream") != "stderr"]
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
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items() if k in claim_names(claim))
            problems.append(f"claim `{claim}` does not hold on this device: {shown}")
    return problems


@dataclasses.dataclass
class PageResult:
    problems: list[str] = dataclasses.field(default_factory=list)
    drifts: list[Drift] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)


def check_alt_text(page: Page) -> list[str]:
    return [
        f"{page.source}, cell {cell.index} [{cell.key}] `{cell.first_line}`: a figure without "
        "alt text; add `mystnb: {image: {alt: ...}}` to the cell's metadata"
        for cell in page.cells
        if any(
            "display" in o and any(m.startswith("image/") for m in o["display"])
            for o in cell.outputs
        )
        and not cell.has_alt_text
    ]


def record_for(page: Page, profile: str) -> tuple[Path | None, str | None]:
    """The record to check a page against, and a note when it is another profile's."""
    own = golden_file(page.docname, profile)
    if own.exists():
        return own, None
    cpu = golden_file(page.docname, "cpu")
    if profile != "cpu" and cpu.exists():
        return cpu, f"{page.source}: no {profile} records yet; checked against the CPU records"
    return None, None


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


def check_page(
    page: Page, profile: str, base: dict[str, float], record_command: str = "make golden"
) -> PageResult:
    result = PageResult(problems=check_alt_text(page) + kind_problems(page))
    path, note = record_for(page, profile)
    if path is None:
        result.problems.append(
            f"{page.source}: no recorded outputs ({_shown(golden_file(page.docname, profile))} "
            f"is missing). Run `{record_command}` and commit the file."
        )
        return result
    if note:
        result.notes.append(note)
    golden = load_golden(path)
    same_numerics = golden.get("numerics") == page.numerics
    page_tol = _override(base, page.options, profile)
    recorded = {c["key"]: c for c in golden["cells"]}
    built_keys = [c.key for c in page.cells]
    edited = {
        new: old
        for new, old in edited_cells([c["key"] for c in golden["cells"]], built_keys).items()
        if new not in recorded and old not in built_keys
    }

    def where(cell: Cell) -> str:
        return f"{page.source}, cell {cell.index} [{cell.key}] `{cell.first_line}`"

    for cell in page.cells:
        tol = _override(page_tol, cell.options, profile)
        if cell.key in edited:
            old = recorded[edited[cell.key]]
            problems, _ = compare_cell(old["outputs"], cell, tol, profile, same_numerics)
            change = (
                "its outputs changed:\n    " + "\n    ".join(problems)
                if problems
                else "its outputs are unchanged"
            )
            result.problems.append(
                f"{where(cell)}: an edited cell (it replaces recorded cell [{old['key']}] "
                f"`{old.get('source', '')}`); {change}\n    Record it with `{record_command}` "
                "and review the diff."
            )
            continue
        if cell.key not in recorded:
            result.problems.append(
                f"{where(cell)}: no recorded expectation (a new cell). "
                f"Run `{record_command}` and review the diff."
            )
            continue
        problems, moves = compare_cell(
            recorded[cell.key]["outputs"], cell, tol, profile, same_numerics
        )
        result.problems += [f"{where(cell)}: {p}" for p in problems]
        if moves:
            result.drifts.append(Drift(where(cell), moves))
    replaced = set(edited.values())
    for key, entry in recorded.items():
        if key not in built_keys and key not in replaced:
            result.problems.append(
                f"{page.source}: recorded cell [{key}] `{entry.get('source', '')}` is no longer "
                f"on the page (deleted). Run `{record_command}` and review the diff."
            )
    expected_glue = golden.get("glue", {}) or {}
    for name in sorted(set(expected_glue) | set(page.glue)):
        kind = page.glue_kind(name)
        if name not in page.glue:
            result.problems.append(
                f"{page.source}: glued value `{name}` was recorded but not produced"
            )
        elif name not in expected_glue:
            result.problems.append(
                f"{page.source}: glued value `{name}` has no recorded expectation"
            )
        elif kind != "volatile":
            why, moves = compare_value(
                str(expected_glue[name]), page.glue[name], kind, page_tol, same_numerics
            )
            if why:
                result.problems.append(f"{page.source}: glued value `{name}`: {why}")
            if moves:
                result.drifts.append(Drift(f"{page.source}: glued value `{name}`", moves))
    result.problems += [f"{page.source}: {p}" for p in check_claims(page)]
    return result


@dataclasses.dataclass
class CheckResult:
    problems: list[str]
    drifts: list[Drift]
    notes: list[str]
    cells: int
    profile: str
    numerics: dict[str, Any]
    recorded_numerics: list[dict[str, Any]]


def record_command(executed: Path, only: list[str] | None) -> str:
    """The command that records what was checked: one page's build, or the whole book's."""
    if only and executed.resolve() != EXECUTED.resolve():
        return " ".join(f"make page-golden PAGE={docname}.md" for docname in only)
    return "make golden"


def check(executed: Path, profile: str | None = None, only: list[str] | None = None) -> CheckResult:
    pages = load_pages(executed, only)
    fingerprints = {json.dumps(p.numerics, sort_keys=True) for p in pages}
    if len(fingerprints) > 1:
        raise CheckerError(
            f"the executed notebooks in {executed} ran under different numerics "
            f"({'; '.join(sorted(fingerprints))}): rebuild them together"
        )
    current = pages[0].numerics if pages else {}
    profile = profile or numerics.profile(current)
    base = tolerances(profile)
    result = CheckResult([], [], [], sum(len(p.cells) for p in pages), profile, current, [])
    for page in pages:
        page_result = check_page(page, profile, base, record_command(executed, only))
        result.problems += page_result.problems
        result.drifts += page_result.drifts
        result.notes += page_result.notes
        path, _ = record_for(page, profile)
        if path is not None:
            recorded = load_golden(path).get("numerics") or {}
            if recorded not in result.recorded_numerics:
                result.recorded_numerics.append(recorded)
    if not only:
        built = {p.docname for p in pages}
        for orphan in recorded_files(profile):
            if docname_of(orphan, profile) not in built:
                result.problems.append(
                    f"{_shown(orphan)}: recorded outputs of {docname_of(orphan, profile)}.md, "
                    "which was not built (renamed or deleted?). Run `make golden` to remove it."
                )
    return result


def report(result: CheckResult, variant: str | None = None) -> tuple[str, str]:
    """(what goes to stdout, what goes to stderr) for a check."""
    name = f"output check ({result.profile}"
    name += f", variant {variant})" if variant else ")"
    ran = numerics.label(result.numerics) if result.numerics else "unknown numerics"
    recorded = "; ".join(numerics.label(n) if n else "unknown" for n in result.recorded_numerics)
    header = f"{name}: ran under {ran}; records made under {recorded or 'nothing'}"
    out = [header]
    out += [f"note: {n}" for n in result.notes]
    if result.drifts:
        out.append(
            f"{len(result.drifts)} trajectory value(s) moved under these numerics (reported, "
            "not failures: their claims are checked):"
        )
        out += [f"  moved: {d}" for d in result.drifts]
    if result.problems:
        err = [f"{name}: {len(result.problems)} problem(s)\n"]
        err += [f"FAIL {p}\n" for p in result.problems]
        return "\n".join(out), "\n".join(err)
    out.append(f"{name}: {result.cells} cells match their recorded outputs")
    return "\n".join(out), ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check or record the book's cell outputs.")
    parser.add_argument("command", choices=["check", "record"])
    parser.add_argument(
        "--executed",
        type=Path,
        default=EXECUTED,
        help="folder of executed notebooks (default: %(default)s)",
    )
    parser.add_argument(
        "--profile",
        default=None,
        help="tolerance profile, cpu or gpu (default: the device the notebooks ran on)",
    )
    parser.add_argument(
        "--variant", default=None, help="a name for these numerics, shown in the report"
    )
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
        result = check(args.executed, args.profile, args.pages)
    except CheckerError as error:
        print(f"output check: ERROR: {error}", file=sys.stderr)
        return 2
    out, err = report(result, args.variant)
    print(out, flush=True)
    if err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
