"""The output checker's records: what an executed page showed, and the files that record it.

An executed notebook (``_build/jupyter_execute/<page>.ipynb``, written by
:func:`booktools.cache.export_executed`) is read into an :class:`ExecutedPage`: its code cells,
each with a *summary* of its outputs (stream text, ``text/plain`` results, the MIME types of
rich outputs, the type and first line of an error), and its glued values, all normalised
(:func:`booktools.normalisation.normalise`: what differs between runs and machines without
being a change is taken out). A cell is keyed by its ``label`` metadata if it has one, else by
a hash of its source, so editing one cell does not disturb the others.

:class:`GoldenRecords` are the YAML files under ``tests/golden/`` that record those summaries,
one per page and profile (CPU records in ``tests/golden/``, GPU records in
``tests/golden/gpu/``): where they are, how they are read (a malformed one is an error, never a
pass) and how they are written, and what a page is checked against (:class:`Expected`: a GPU
record completed cell by cell from the CPU record where the page changed since the GPU's).

What each kind of value (``exact``, ``numeric``, ``trajectory``, ``volatile``) means is the
checks' business (:mod:`booktools.checks`); here a kind is only read and recorded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from booktools import numerics
from booktools.book import Paths
from booktools.normalisation import normalise

BOOK_PREFIX = "book/"
VOLATILE_TAG = "volatile-output"
KINDS = ("exact", "numeric", "trajectory", "volatile")
DEFAULT_KIND = "numeric"
GLUE_KINDS = tuple(k for k in KINDS if k != DEFAULT_KIND)  # front-matter lists of glued names


class CheckerError(Exception):
    """A problem with the checker's inputs (no build, a malformed file): never a pass."""


# A number in printed text: not part of a name (`float32`) or of a longer number.
NUMBER = re.compile(
    r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w])|(?<!\w)-?(?:nan|inf)(?!\w)"
)

# --------------------------------------------------------------------------- executed pages


def _text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def cell_key(cell: dict[str, Any]) -> str:
    label = cell.get("metadata", {}).get("label")
    if label:
        return str(label)
    source = "\n".join(line.rstrip() for line in _text(cell["source"]).strip().splitlines())
    return "cell-" + hashlib.sha1(source.encode()).hexdigest()[:10]


def summarise_outputs(outputs: list[dict[str, Any]], root: Path) -> list[dict[str, Any]]:
    """A cell's outputs as recorded. Its streams are already merged as the page shows them
    (:func:`booktools.streams.as_rendered`, applied when the notebook was exported)."""
    summary: list[dict[str, Any]] = []
    for output in outputs:
        kind = output["output_type"]
        if kind == "stream":
            summary.append(
                {"stream": output["name"], "text": normalise(_text(output["text"]), root)}
            )
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            label = "result" if kind == "execute_result" else "display"
            entry: dict[str, Any] = {label: sorted(data)}
            if "text/plain" in data:
                entry["text"] = normalise(_text(data["text/plain"]), root)
            summary.append(entry)
        elif kind == "error":
            message = normalise(output.get("evalue", ""), root).split("\n", 1)[0]
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
    alt_text: str | None  # a figure's alt text, from the metadata `mystnb: {image: {alt: ...}}`

    @property
    def volatile(self) -> bool:
        return self.kind == "volatile"

    @property
    def covered_by(self) -> list[str]:
        return [str(name) for name in self.options.get("covered_by", []) or []]


def cell_kind(metadata: dict[str, Any]) -> str:
    """The kind a cell's metadata gives it (validated by :mod:`booktools.checks.kinds`)."""
    options = metadata.get("output_check", {}) or {}
    if VOLATILE_TAG in metadata.get("tags", []):
        return "volatile"
    return str(options.get("kind", DEFAULT_KIND))


def notebook_cells(notebook: dict[str, Any], root: Path) -> list[Cell]:
    cells, seen = [], {}
    code_cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    for index, cell in enumerate(code_cells, start=1):
        key = cell_key(cell)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:  # the same source twice on one page
            key = f"{key}-{seen[key]}"
        metadata = cell.get("metadata", {})
        alt = (metadata.get("mystnb", {}).get("image", {}) or {}).get("alt")
        cells.append(
            Cell(
                key=key,
                index=index,
                first_line=(_text(cell["source"]).strip().splitlines() or [""])[0][:80],
                outputs=summarise_outputs(cell.get("outputs", []), root),
                kind=cell_kind(metadata),
                options=dict(metadata.get("output_check", {}) or {}),
                alt_text=None if alt is None else str(alt),
            )
        )
    return cells


def glue_values(glue_file: Path, root: Path) -> dict[str, str]:
    """The page's glued values (``<page>.glue.json``, beside its executed notebook)."""
    if not glue_file.exists():
        return {}
    data = json.loads(glue_file.read_text(encoding="utf-8"))
    return {
        name: normalise(_text(output.get("data", {}).get("text/plain", "")), root)
        for name, output in data.items()
    }


CLAIM_DEVICES = ("cpu", "gpu")  # the device kinds a claim may be scoped to (the profiles)


def claims_on(entries: Any, device: str) -> list[str]:
    """The claims of a page's front matter (``claims:``) made for ``device`` (``cpu`` or
    ``gpu``): a plain entry (``acc > 0.95``) is claimed on every device, an entry scoped to a
    device kind (``{cpu: tall_rev_over_fwd > 1}``) only on that kind, where the behaviour really
    differs between devices (:mod:`booktools.checks.claims` rejects other kinds)."""
    claims = []
    for entry in entries or []:
        if isinstance(entry, dict):
            claims += [str(claim) for kind, claim in entry.items() if kind == device]
        else:
            claims.append(str(entry))
    return claims


@dataclasses.dataclass
class ExecutedPage:
    """One page as its executed notebook shows it."""

    docname: str  # e.g. "book/why_jax"
    metadata: dict[str, Any]  # the notebook's: the page's front matter
    cells: list[Cell]
    glue: dict[str, str]
    numerics: dict[str, Any] = dataclasses.field(default_factory=dict)
    code_digest: str | None = None  # of the page's code when it was executed

    @property
    def source(self) -> str:
        return f"{self.docname}.md"

    @property
    def profile(self) -> str:
        """The profile of the numerics it ran under: ``cpu`` or ``gpu``."""
        return numerics.profile(self.numerics)

    @property
    def options(self) -> dict[str, Any]:
        """The front matter's ``output_check``: tolerances and the kinds of glued values."""
        return self.metadata.get("output_check", {}) or {}

    @property
    def claims(self) -> list[str]:
        """The front matter's claims that hold on the device this page ran on."""
        return claims_on(self.metadata.get("claims"), self.profile)

    def glue_kind(self, name: str) -> str:
        for kind in GLUE_KINDS:
            if name in (self.options.get(kind) or []):
                return kind
        return DEFAULT_KIND


def load_pages(executed: Path, root: Path, only: list[str] | None = None) -> list[ExecutedPage]:
    """The executed pages in ``executed`` (``only`` these docnames, if given), each with code
    cells and a numerics stamp; ``root`` is the book's folder, which outputs name as
    ``<root>``."""
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
        cells = notebook_cells(notebook, root)
        if not cells:
            continue
        glue = glue_values(notebook_file.with_suffix(".glue.json"), root)
        metadata = notebook.get("metadata", {})
        stamp = metadata.get("jaxbook", {}) or {}
        pages.append(
            ExecutedPage(
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


# --------------------------------------------------------------------------- the records


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)

TIME_UNIT = re.compile(r"#\s*(?:ns|µs|us|ms|s)\b")


def mask(text: str) -> str:
    """Numbers become ``#``, a duration's unit ``#s``, and runs of spaces one space: how a
    volatile value is recorded, so that re-recording does not rewrite the file for every new
    timing (only a volatile value's form is checked)."""
    text = TIME_UNIT.sub("#s", NUMBER.sub("#", text))
    return re.sub(r"[ \t]+", " ", text)


def _masked(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: mask(v) if k in ("text", "message") else v for k, v in o.items()} for o in outputs]


def _cell_record(cell: Cell) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": cell.key, "source": cell.first_line}
    if cell.kind != DEFAULT_KIND:
        entry["kind"] = cell.kind
    entry["outputs"] = _masked(cell.outputs) if cell.volatile else cell.outputs
    return entry


def page_record(page: ExecutedPage) -> dict[str, Any]:
    return {
        "page": page.source,
        "numerics": page.numerics,
        "cells": [_cell_record(c) for c in page.cells],
        "glue": {
            name: mask(value) if page.glue_kind(name) == "volatile" else value
            for name, value in sorted(page.glue.items())
        },
    }


@dataclasses.dataclass
class Expected:
    """What one page is checked against: a record's cells and glued values, some of them
    *borrowed* from the CPU record (:meth:`GoldenRecords.expected`)."""

    record: Path  # the record read first: the profile's own, else the CPU's
    numerics: dict[str, Any]  # what that record was made under
    cells: list[dict[str, Any]]  # entries as a record has them, in page order
    glue: dict[str, Any]
    # cell key / glued name -> the numerics of the CPU record it was borrowed from
    borrowed_cells: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    borrowed_glue: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    sources: list[Path] = dataclasses.field(default_factory=list)  # every record that supplied one
    notes: list[str] = dataclasses.field(default_factory=list)

    def complete_from(
        self, page: ExecutedPage, cpu: dict[str, Any], cpu_path: Path, profile: str
    ) -> None:
        """Borrow from the CPU record ``cpu`` what this record lacks of ``page``, and leave
        out what neither has any more (as :meth:`GoldenRecords.expected` says)."""
        cpu_numerics = cpu.get("numerics") or {}
        cpu_cells = {entry["key"]: entry for entry in cpu["cells"]}
        built = [cell.key for cell in page.cells]
        kept, dropped = [], 0
        for entry in self.cells:
            if entry["key"] in built or entry["key"] in cpu_cells:
                kept.append(entry)
            else:
                dropped += 1
                self.notes.append(
                    f"{page.source}: the {profile} record's cell [{entry['key']}] "
                    f"`{entry.get('source', '')}` is on neither the page nor its CPU record "
                    f"(the page changed since); left out until the {profile} record is made again"
                )
        own = {entry["key"] for entry in kept}
        for position, cell in enumerate(page.cells):
            if cell.key in own or cell.key not in cpu_cells:
                continue
            earlier = set(built[:position])
            at = max((i + 1 for i, e in enumerate(kept) if e["key"] in earlier), default=0)
            kept.insert(at, cpu_cells[cell.key])
            self.borrowed_cells[cell.key] = cpu_numerics
            self.notes.append(
                f"{page.source}, cell {cell.index} [{cell.key}] `{cell.first_line}`: not in the "
                f"{profile} record (the cell changed since it was made); checked against its "
                "CPU record"
            )
        self.cells = kept
        cpu_glue = cpu.get("glue") or {}
        for name in sorted(self.glue):
            if name not in page.glue and name not in cpu_glue:
                del self.glue[name]
                dropped += 1
                self.notes.append(
                    f"{page.source}: the {profile} record's glued value `{name}` is glued by "
                    "neither the page nor its CPU record (the page changed since); left out"
                )
        for name in sorted(page.glue):
            if name not in self.glue and name in cpu_glue:
                self.glue[name] = cpu_glue[name]
                self.borrowed_glue[name] = cpu_numerics
                self.notes.append(
                    f"{page.source}: glued value `{name}` is not in the {profile} record (the "
                    "page changed since it was made); checked against its CPU record"
                )
        if self.borrowed_cells or self.borrowed_glue or dropped:
            self.sources.append(cpu_path)  # what was checked depended on it


class GoldenRecords:
    """The recorded outputs of the book at ``paths`` (``tests/golden/``)."""

    def __init__(self, paths: Paths):
        self.paths = paths

    def folder(self, profile: str = "cpu") -> Path:
        """Where a profile's records live: the CPU's in ``tests/golden``, others in a subfolder."""
        return self.paths.golden if profile == "cpu" else self.paths.golden / profile

    def file(self, docname: str, profile: str = "cpu") -> Path:
        return self.folder(profile) / f"{docname.removeprefix(BOOK_PREFIX)}.yml"

    def docname_of(self, record: Path, profile: str = "cpu") -> str:
        return BOOK_PREFIX + record.relative_to(self.folder(profile)).with_suffix("").as_posix()

    def files(self, profile: str = "cpu") -> list[Path]:
        """The records of one profile (a CPU record is a ``.yml`` directly in ``tests/golden``)."""
        folder = self.folder(profile)
        return sorted(folder.glob("*.yml")) if folder.is_dir() else []

    def record_for(self, page: ExecutedPage, profile: str) -> tuple[Path | None, str | None]:
        """The record to check a page against, and a note when it is another profile's."""
        own = self.file(page.docname, profile)
        if own.exists():
            return own, None
        cpu = self.file(page.docname, "cpu")
        if profile != "cpu" and cpu.exists():
            return cpu, f"{page.source}: no {profile} records yet; checked against the CPU records"
        return None, None

    def expected(self, page: ExecutedPage, profile: str) -> Expected | None:
        """What ``page`` is checked against under ``profile`` (``None``: no record at all).

        The profile's own record, completed from the CPU record cell by cell: a GPU record is
        made only where a GPU is, so a page may change after it. A cell (or glued value) of the
        page that the GPU record lacks but the CPU record has is checked against the CPU record,
        with a note; a GPU entry that neither the page nor the CPU record has any more is left
        out, with a note. Without a GPU record the whole page is checked against the CPU one."""
        path, note = self.record_for(page, profile)
        if path is None:
            return None
        data = self.load(path)
        expected = Expected(
            path,
            data.get("numerics") or {},
            list(data["cells"]),
            dict(data.get("glue") or {}),
            sources=[path],
            notes=[note] if note else [],
        )
        cpu = self.file(page.docname, "cpu")
        if profile != "cpu" and path != cpu and cpu.exists():
            expected.complete_from(page, self.load(cpu), cpu, profile)
        return expected

    def load(self, path: Path) -> dict[str, Any]:
        """A record, validated: a malformed one is a :class:`CheckerError` naming the file."""
        where = self.paths.relative(path)
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

    def write(self, page: ExecutedPage) -> Path:
        """Record ``page`` under its own profile; the file written."""
        path = self.file(page.docname, page.profile)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.dump(page_record(page), Dumper=_Dumper, sort_keys=False, allow_unicode=True)
        header = (
            f"# Recorded outputs of {page.source}: written by `make golden`, read by `make test`.\n"
        )
        path.write_text(header + text, encoding="utf-8")
        return path
