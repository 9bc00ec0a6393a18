"""Where each page was verified on a GPU: ``tests/numerics/gpu-verified.yml``.

A GPU run (``make gpu``) executes every page and checks it against its GPU record. What it found
is kept per page: the GPU, the date, the versions of the libraries the page ran with
(:data:`jaxbook.provenance.LIBRARIES`), how many cells and glued values matched their record,
moved (trajectory values under other numerics: reported, covered by claims) or failed, and which
claims did not hold there. Each page's "Where this page ran" note and the status page show it
(:mod:`booktools.provenance_ext`), but only while its *digest* matches: the digest covers what
the run verified, namely

* the page's code cells (source and metadata: kinds, tags) and its front matter (claims,
  kinds, tolerances; not jupytext's header), so prose may change and code may not;
* the ``jaxbook`` modules it imports, directly or through others;
* the pins of those libraries in ``requirements.txt`` (a bump of a test tool changes nothing);
* the records it was checked against: its GPU record, and its CPU record where cells were
  borrowed from it (:meth:`booktools.records.GoldenRecords.expected`).

So an entry lapses as soon as any of these changes, and the site says the page has not been
verified on a GPU since.

``python -m booktools.gpu_verification record`` (``make gpu-verified``: on the GPU machine,
after ``make gpu``) checks the executed notebooks again and writes their entries.
``python -m booktools.gpu_verification from-log LOG ...`` writes them from a GPU run's checker
output, for a run made elsewhere (how the first run, 2026-12-04 on an H200, was entered).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from booktools.book import Book, Paths
from booktools.checks.cell_outputs import where
from booktools.records import CheckerError, ExecutedPage, GoldenRecords
from jaxbook.provenance import LIBRARIES

PROFILE = "gpu"
OUTCOMES = ("matched", "moved", "failed")


# --------------------------------------------------------------------------- the digest


def pinned_versions(book: Book) -> dict[str, str]:
    """The pins of :data:`~jaxbook.provenance.LIBRARIES` (``"unpinned"`` where there is none)."""
    return {lib.distribution: book.pins.get(lib.distribution, "unpinned") for lib in LIBRARIES}


def gpu_digest(book: Book, docname: str, versions: Mapping[str, str], records: list[Path]) -> str:
    """What a GPU verification of ``docname`` vouches for (the module's docstring): its code
    cells and front matter as ``book`` has them, the ``jaxbook`` modules they import, the
    ``versions`` of :data:`~jaxbook.provenance.LIBRARIES` and the ``records`` it was checked
    against."""
    page = book.page(docname)
    digest = hashlib.sha256()

    def part(name: str, data: bytes) -> None:
        digest.update(f"{name}:{len(data)}:".encode())
        digest.update(data)

    for cell in page.code_cells:
        part("cell", cell.source.encode())
        part("metadata", json.dumps(cell.get("metadata", {}), sort_keys=True).encode())
    matter = {k: v for k, v in page.front_matter.items() if k != "jupytext"}
    part("front matter", json.dumps(matter, sort_keys=True, default=str).encode())
    for name, path in page.dependencies.items():
        part(f"module {name}", path.read_bytes())
    pins = {lib.distribution: str(versions.get(lib.distribution)) for lib in LIBRARIES}
    part("versions", json.dumps(pins, sort_keys=True).encode())
    for record in records:
        part("record", record.read_bytes())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- the entries


@dataclasses.dataclass(frozen=True)
class GpuVerification:
    """One page's entry: what a GPU run found."""

    device: str  # the GPU's model, e.g. "NVIDIA H200"
    date: str  # "2026-12-04"
    versions: dict[str, str]  # of LIBRARIES, by distribution
    cells: dict[str, int]  # matched / moved / failed
    glued: dict[str, int]
    failed_claims: list[str]
    other_problems: int = 0  # alt text, kinds, deleted cells: what is neither a cell nor a claim
    records: list[str] = dataclasses.field(default_factory=lambda: [PROFILE])  # profiles read
    run: str = ""  # where what it printed is kept

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> GpuVerification:
        return cls(
            device=str(entry["device"]),
            date=str(entry["date"]),
            versions={str(k): str(v) for k, v in (entry.get("versions") or {}).items()},
            cells={k: int((entry.get("cells") or {}).get(k, 0)) for k in OUTCOMES},
            glued={k: int((entry.get("glued") or {}).get(k, 0)) for k in OUTCOMES},
            failed_claims=[str(c) for c in entry.get("failed_claims") or []],
            other_problems=int(entry.get("other_problems", 0)),
            records=[str(r) for r in entry.get("records") or [PROFILE]],
            run=str(entry.get("run", "")),
        )

    def entry(self, digest: str) -> dict[str, Any]:
        return {"digest": digest, **dataclasses.asdict(self)}


def record_files(paths: Paths, docname: str, profiles: list[str]) -> list[Path]:
    golden = GoldenRecords(paths)
    return [golden.file(docname, profile) for profile in profiles]


def read_entries(paths: Paths) -> dict[str, Any]:
    if not paths.gpu_verified.exists():
        return {}
    data = yaml.safe_load(paths.gpu_verified.read_text(encoding="utf-8")) or {}
    return data if isinstance(data, dict) else {}


def verified_on_gpu(docname: str, paths: Paths | Path) -> GpuVerification | None:
    """The page's GPU verification, or ``None`` when there is none or it lapsed (its digest no
    longer matches). ``paths`` may be the book's root folder (what the Sphinx extension has)."""
    paths = paths if isinstance(paths, Paths) else Paths.at(paths)
    entry = read_entries(paths).get(docname)
    if not isinstance(entry, dict):
        return None
    try:
        verification = GpuVerification.from_entry(entry)
    except (KeyError, TypeError, ValueError):
        return None  # a malformed entry vouches for nothing
    records = record_files(paths, docname, verification.records)
    book = Book(paths)
    if not all(r.exists() for r in records) or book.source_of(docname) is None:
        return None
    if entry.get("digest") != gpu_digest(book, docname, pinned_versions(book), records):
        return None
    return verification


HEADER = (
    "# Where each page was verified on a GPU: written by `python -m booktools.gpu_verification`\n"
    "# (`make gpu-verified`, after `make gpu`). An entry counts only while its digest (the page's\n"
    "# code cells and front matter, the jaxbook modules it imports, the pins of the libraries it\n"
    "# runs on, the records it was checked against) is unchanged; the site shows it then.\n"
)


def write_entries(paths: Paths, entries: Mapping[str, Mapping[str, Any] | None]) -> None:
    """Add or replace ``entries`` (by docname; ``None`` removes a page's) in
    ``tests/numerics/gpu-verified.yml``; the other pages' entries stay."""
    data = {k: v for k, v in {**read_entries(paths), **entries}.items() if v is not None}
    paths.gpu_verified.parent.mkdir(parents=True, exist_ok=True)
    text = HEADER + yaml.safe_dump(data, sort_keys=True, allow_unicode=True, width=100)
    paths.gpu_verified.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- from a check


def tally(page: ExecutedPage, problems: list[str], drifts: list[Any]) -> dict[str, Any]:
    """Per cell and glued value of ``page``: matched, moved or failed, from the problems and
    drifts of :func:`booktools.outputs.check_page` (each names its cell or glued value as the
    checks write it); the claims that did not hold; and how many problems are neither."""
    moved_at = {drift.where for drift in drifts}
    accounted: set[str] = set()

    def outcome(prefix: str) -> str:
        mine = {p for p in problems if p.startswith(prefix + ":")}
        accounted.update(mine)
        return "failed" if mine else "moved" if prefix in moved_at else "matched"

    cells = dict.fromkeys(OUTCOMES, 0)
    for cell in page.cells:
        cells[outcome(where(page, cell))] += 1
    glued = dict.fromkeys(OUTCOMES, 0)
    for name in page.glue:
        glued[outcome(f"{page.source}: glued value `{name}`")] += 1
    failed_claims = []
    for claim in page.claims:
        mine = {p for p in problems if p.startswith(f"{page.source}: claim `{claim}` ")}
        accounted.update(mine)
        if mine:
            failed_claims.append(claim)
    return {
        "cells": cells,
        "glued": glued,
        "failed_claims": failed_claims,
        "other_problems": len(set(problems) - accounted),
    }


def verify(
    paths: Paths, executed: Path | None, date: str, run: str, installed: Mapping[str, str]
) -> tuple[dict[str, dict[str, Any] | None], list[str]]:
    """Check the executed notebooks of a GPU build (``executed``, by default the last build's)
    and return their entries and a line per page; a page of the book that the build did not
    execute (it failed) gets ``None``: no verification of it stands. Refuses
    (:class:`CheckerError`) notebooks that did not run on a GPU or no longer match the page, and
    libraries ``installed`` at other versions than the pins (the verification is of the pinned
    stack)."""
    from booktools import outputs
    from booktools.checks.profile import read_profile
    from booktools.records import load_pages

    executed = executed or paths.executed
    book = Book(paths)
    pins = pinned_versions(book)
    differ = [
        f"{name} {installed.get(name)} (pinned {pin})"
        for name, pin in pins.items()
        if installed.get(name) != pin
    ]
    if differ:
        raise CheckerError(
            "nothing recorded: a GPU verification is of the pinned libraries, and here "
            + ", ".join(differ)
        )
    pages = load_pages(executed, paths.root)
    elsewhere = sorted(p.source for p in pages if p.profile != PROFILE)
    if elsewhere:
        raise CheckerError(f"nothing recorded: {', '.join(elsewhere)} did not run on a GPU")
    in_toc = outputs.executable_pages(paths)
    stale = outputs.stale_problems(paths, in_toc, executed, pages, None)
    if stale:
        raise CheckerError("nothing recorded:\n" + "\n".join(f"  {p}" for p in stale))
    records = GoldenRecords(paths)
    profile = read_profile(paths.pyproject, PROFILE)
    entries: dict[str, dict[str, Any] | None] = {}
    lines = []
    for docname in sorted(set(in_toc) - {page.docname for page in pages}):
        entries[docname] = None
        lines.append(f"{docname}.md: not executed by this build; no verification of it stands")
    for page in pages:
        expected = records.expected(page, PROFILE)
        if expected is None:
            lines.append(f"{page.source}: no record to verify against; no entry")
            continue
        result = outputs.check_page(page, records, profile)
        found = tally(page, result.problems, result.drifts)
        profiles = [
            PROFILE if path == records.file(page.docname, PROFILE) else "cpu"
            for path in expected.sources
        ]
        verification = GpuVerification(
            device=str(page.numerics.get("model", "unknown GPU")),
            date=date,
            versions=dict(pins),
            records=profiles,
            run=run,
            **found,
        )
        digest = gpu_digest(book, page.docname, pins, record_files(paths, page.docname, profiles))
        entries[page.docname] = verification.entry(digest)
        lines.append(f"{page.source}: {summary(verification)}")
    return entries, lines


def summary(verification: GpuVerification) -> str:
    """``42 cells matched, 0 moved, 0 failed; 22 glued values ...; claims that failed: ...``"""
    c, g = verification.cells, verification.glued
    text = (
        f"{c['matched']} cells matched, {c['moved']} moved, {c['failed']} failed; "
        f"{g['matched']} glued values matched, {g['moved']} moved, {g['failed']} failed"
    )
    if verification.failed_claims:
        text += "; claims that failed: " + ", ".join(f"`{c}`" for c in verification.failed_claims)
    if verification.other_problems:
        text += f"; {verification.other_problems} other problem(s)"
    return text


# --------------------------------------------------------------------------- from a log

WHERE = re.compile(r"^(?P<page>book/[^,:\s]+)\.md(?:, cell \d+ \[(?P<key>[^\]]+)\]|: )(?P<what>.*)")
CLAIM = re.compile(r"^claim `(?P<claim>.*?)` ")
GLUED = re.compile(r"^glued value `(?P<name>[^`]+)`")


def read_log(text: str) -> dict[str, dict[str, set[str]]]:
    """From the checker's output (``python -m booktools.outputs check``): per page, the cells
    and glued values that failed or moved, and the claims that failed."""
    found: dict[str, dict[str, set[str]]] = {}
    for line in text.splitlines():
        if line.startswith("FAIL "):
            state, rest = "failed", line.removeprefix("FAIL ")
        elif line.startswith("  moved: "):
            state, rest = "moved", line.removeprefix("  moved: ")
        else:
            continue
        match = WHERE.match(rest)
        if not match:
            continue
        page = found.setdefault(
            "book/" + match["page"].removeprefix("book/"),
            {
                "failed cells": set(),
                "moved cells": set(),
                "failed glued": set(),
                "moved glued": set(),
                "failed claims": set(),
                "other": set(),
            },
        )
        what = match["what"]
        if match["key"]:
            page[f"{state} cells"].add(match["key"])
        elif glued := GLUED.match(what):
            page[f"{state} glued"].add(glued["name"])
        elif (claim := CLAIM.match(what)) and state == "failed":
            page["failed claims"].add(claim["claim"])
        else:
            page["other"].add(what)
    return found


def front_matter_claims(book: Book, docname: str) -> list[str]:
    """Every claim of the page's front matter, in order (a claim scoped to a device kind,
    ``{cpu: ...}``, included)."""
    claims = []
    for entry in book.page(docname).front_matter.get("claims") or []:
        claims += [str(c) for c in entry.values()] if isinstance(entry, dict) else [str(entry)]
    return claims


def from_log(
    paths: Paths,
    log: str,
    code_book: Book,
    device: str,
    date: str,
    versions: Mapping[str, str],
    run: str,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Entries for every page with a GPU record, from the output of a check against those
    records (``log``: of one run, or several runs' one after the other: a value or claim that
    failed in any of them failed): counts from the records and the log, digests from
    ``code_book`` (the book as it was run)."""
    golden = GoldenRecords(paths)
    found = read_log(log)
    entries, lines = {}, []
    for record in golden.files(PROFILE):
        docname = golden.docname_of(record, PROFILE)
        data = golden.load(record)
        page = found.get(docname) or {}
        cells = dict.fromkeys(OUTCOMES, 0)
        for cell in data["cells"]:
            key = cell["key"]
            state = (
                "failed"
                if key in page.get("failed cells", ())
                else "moved"
                if key in page.get("moved cells", ())
                else "matched"
            )
            cells[state] += 1
        glued = dict.fromkeys(OUTCOMES, 0)
        for name in data.get("glue") or {}:
            state = (
                "failed"
                if name in page.get("failed glued", ())
                else "moved"
                if name in page.get("moved glued", ())
                else "matched"
            )
            glued[state] += 1
        failed = page.get("failed claims", set())
        claims = [c for c in front_matter_claims(code_book, docname) if c in failed]
        claims += sorted(failed - set(claims))
        verification = GpuVerification(
            device=device,
            date=date,
            versions={lib.distribution: str(versions[lib.distribution]) for lib in LIBRARIES},
            cells=cells,
            glued=glued,
            failed_claims=claims,
            other_problems=len(page.get("other", ())),
            run=run,
        )
        digest = gpu_digest(code_book, docname, verification.versions, [record])
        entries[docname] = verification.entry(digest)
        lines.append(f"{docname}.md: {summary(verification)}")
    return entries, lines


def book_at(paths: Paths, revision: str, into: Path) -> Book:
    """The book's pages and ``jaxbook`` modules as they were at ``revision`` (``git archive``
    into ``into``: the working tree and the index are not touched)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "book", "src"],
        cwd=paths.root,
        capture_output=True,
        check=True,
    ).stdout
    archive_file = into / "book.tar"
    archive_file.write_bytes(archive)
    with tarfile.open(archive_file) as tar:
        tar.extractall(into, filter="data")
    return Book(Paths.at(into))


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    record = commands.add_parser("record", help="check a GPU build and write its entries")
    record.add_argument("--executed", type=Path, default=None, help="default: the last build's")
    log = commands.add_parser("from-log", help="write entries from a GPU run's checker output")
    log.add_argument(
        "logs", type=Path, nargs="+", help="what `booktools.outputs check` printed there"
    )
    log.add_argument("--device", required=True, help="the GPU's model, e.g. 'NVIDIA H200'")
    log.add_argument(
        "--code-at", default="HEAD", help="the commit the run executed (default: HEAD)"
    )
    log.add_argument(
        "--versions",
        default=None,
        help="what the run had, e.g. jax=0.11.2,jaxlib=0.11.2,... (default: the pins)",
    )
    for command in (record, log):
        command.add_argument(
            "--date", default=None, help="YYYY-MM-DD of the run (default: today, UTC)"
        )
        command.add_argument("--run", default="", help="where its output is kept")
    args = parser.parse_args(argv)
    paths = Paths.from_environment()
    date = args.date or datetime.now(tz=UTC).strftime("%Y-%m-%d")
    try:
        if args.command == "record":
            from jaxbook.provenance import library_versions

            entries, lines = verify(paths, args.executed, date, args.run, library_versions())
        else:
            versions = pinned_versions(Book(paths))
            if args.versions:
                versions = dict(item.split("=", 1) for item in args.versions.split(","))
            missing = [lib.distribution for lib in LIBRARIES if lib.distribution not in versions]
            if missing:
                raise CheckerError(f"--versions names no version of {', '.join(missing)}")
            with tempfile.TemporaryDirectory() as folder:
                code_book = book_at(paths, args.code_at, Path(folder))
                entries, lines = from_log(
                    paths,
                    "\n".join(log.read_text(encoding="utf-8") for log in args.logs),
                    code_book,
                    args.device,
                    date,
                    versions,
                    args.run,
                )
    except CheckerError as error:
        print(f"gpu verification: ERROR: {error}", file=sys.stderr)
        return 2
    write_entries(paths, entries)
    print("\n".join(lines))
    print(f"gpu verification: wrote {len(entries)} entries to {paths.relative(paths.gpu_verified)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
