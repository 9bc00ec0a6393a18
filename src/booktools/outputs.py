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
model). CPU records are ``tests/golden/<page>.yml``, GPU records ``tests/golden/gpu/<page>.yml``
(:mod:`booktools.records` reads the build and reads and writes the records).

Every checked value (a cell's output, or a glued value) is of one *kind*, checked by its rule
(:mod:`booktools.checks.values`):

``numeric`` (the default)
    text and integers exactly; floats within ``rtol``/``atol``, which are measured (``make
    numerics-matrix``) and set in ``pyproject.toml`` (``[tool.jaxbook.checker.<profile>]``,
    with the profile's other settings, such as the streams it ignores); a page overrides them in
    its front matter, a cell in its metadata.
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

Each of these is one check of :mod:`booktools.checks` (the cells' outputs, the glued values, the
claims, the figures' alt text, the kinds); this module runs them over the build and reports.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from booktools import numerics
from booktools.book import Book, BookError, Paths
from booktools.book import Page as BookPage
from booktools.cache import failed_pages
from booktools.checks.alt_text import check_alt_text
from booktools.checks.cell_outputs import check_cell_outputs
from booktools.checks.claims import check_claims
from booktools.checks.environment import require_pinned_environment
from booktools.checks.glue import check_glue
from booktools.checks.kinds import kind_problems
from booktools.checks.profile import Profile, read_profile
from booktools.checks.values import Drift
from booktools.records import CheckerError, ExecutedPage, GoldenRecords, load_pages

# --------------------------------------------------------------------------- checking


@dataclasses.dataclass
class PageResult:
    problems: list[str] = dataclasses.field(default_factory=list)
    drifts: list[Drift] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)


def check_page(
    page: ExecutedPage,
    records: GoldenRecords,
    profile: Profile,
    record_command: str = "make golden",
) -> PageResult:
    """Every check of one page: its figures' alt text and its kinds, then (when it has a
    record) its cells' outputs, its glued values and its claims."""
    result = PageResult(problems=check_alt_text(page) + kind_problems(page))
    expected = records.expected(page, profile.name)  # a GPU record completed from the CPU's
    if expected is None:
        missing = records.paths.relative(records.file(page.docname, profile.name))
        result.problems.append(
            f"{page.source}: no recorded outputs ({missing} is missing). "
            f"Run `{record_command}` and commit the file."
        )
        return result
    result.notes += expected.notes
    same_numerics = expected.numerics == page.numerics
    page_tol = profile.tolerances_for(page.options, profile.tolerances)
    problems, drifts = check_cell_outputs(
        page,
        expected.cells,
        profile,
        page_tol,
        same_numerics,
        record_command,
        expected.borrowed_cells,
    )
    result.problems += problems
    result.drifts += drifts
    problems, drifts = check_glue(
        page, expected.glue, page_tol, same_numerics, expected.borrowed_glue
    )
    result.problems += problems
    result.drifts += drifts
    result.problems += check_claims(page)
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


def record_command(paths: Paths, executed: Path, only: list[str] | None) -> str:
    """The command that records what was checked: one page's build, or the whole book's."""
    if only and executed.resolve() != paths.executed.resolve():
        return " ".join(f"make page-golden PAGE={docname}.md" for docname in only)
    return "make golden"


def check(
    paths: Paths,
    executed: Path | None = None,
    profile: str | None = None,
    only: list[str] | None = None,
) -> CheckResult:
    """Check the executed notebooks in ``executed`` (by default the last build's) against the
    records of ``profile`` (by default the one of the numerics they ran under)."""
    executed = executed or paths.executed
    records = GoldenRecords(paths)
    # The lean path exports the pages that executed and names the ones that failed: those are
    # reported, every other page is checked.
    failed = {d: e for d, e in failed_pages(executed).items() if not only or d in only}
    loaded = [d for d in only if d not in failed] if only else None
    nothing_ran = failed and (loaded == [] or not any(executed.rglob("*.ipynb")))
    pages = [] if nothing_ran else load_pages(executed, paths.root, loaded)
    fingerprints = {json.dumps(p.numerics, sort_keys=True) for p in pages}
    if len(fingerprints) > 1:
        raise CheckerError(
            f"the executed notebooks in {executed} ran under different numerics "
            f"({'; '.join(sorted(fingerprints))}): rebuild them together"
        )
    current = pages[0].numerics if pages else {}
    settings = read_profile(paths.pyproject, profile or numerics.profile(current))
    result = CheckResult([], [], [], sum(len(p.cells) for p in pages), settings.name, current, [])
    result.problems += [f"{d}.md failed to execute: {e} — not checked" for d, e in failed.items()]
    command = record_command(paths, executed, only)
    for page in pages:
        page_result = check_page(page, records, settings, command)
        result.problems += page_result.problems
        result.drifts += page_result.drifts
        result.notes += page_result.notes
        path, _ = records.record_for(page, settings.name)
        if path is not None:
            recorded = records.load(path).get("numerics") or {}
            if recorded not in result.recorded_numerics:
                result.recorded_numerics.append(recorded)
    if not only:
        built = {p.docname for p in pages}
        for orphan in records.files(settings.name):
            docname = records.docname_of(orphan, settings.name)
            if docname not in built and docname not in failed:
                result.problems.append(
                    f"{paths.relative(orphan)}: recorded outputs of {docname}.md, which was not "
                    "built (renamed or deleted?). Run `make golden` to remove it."
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


# --------------------------------------------------------------------------- recording


def executable_pages(paths: Paths) -> dict[str, BookPage]:
    """The executable pages of the table of contents, by docname."""
    try:
        return {page.docname: page for page in Book(paths).executable_pages}
    except BookError as error:
        raise CheckerError(f"nothing recorded: {error}") from None


def page_build_notebook(paths: Paths, docname: str) -> Path:
    """Where ``make page PAGE=<docname>.md`` leaves the page's executed notebook."""
    return paths.page_build(docname) / "_build" / "jupyter_execute" / f"{docname}.ipynb"


def stale_problems(
    paths: Paths,
    in_toc: dict[str, BookPage],
    executed: Path,
    pages: list[ExecutedPage],
    only: list[str] | None,
) -> list[str]:
    """Why recording from ``executed`` would lose or misstate work (empty when it is safe);
    ``in_toc`` is the table of contents' executable pages."""
    from booktools.cache import code_digest

    problems = []
    for page in pages:
        source = in_toc.get(page.docname)
        if source is None:
            continue  # an orphan: the full recorder removes its record
        rebuild = (
            f"`make page PAGE={page.source}`" if only else "`make book` (or `make page PAGE=...`)"
        )
        if page.code_digest != code_digest(source, paths):
            problems.append(
                f"{page.source} (or a jaxbook module it imports) changed since it was executed "
                f"({paths.relative(executed)}): run {rebuild} first, then record."
            )
            continue
        newer = page_build_notebook(paths, page.docname)
        notebook = executed / f"{page.docname}.ipynb"
        if not only and newer.exists() and newer.stat().st_mtime > notebook.stat().st_mtime:
            problems.append(
                f"{page.source} has a newer `make page` build than the last `make book`: record "
                f"it with `make page-golden PAGE={page.source}`, or run `make book` first."
            )
    return problems


def record(paths: Paths, executed: Path | None = None, only: list[str] | None = None) -> list[str]:
    """Record the executed notebooks in ``executed`` (``only`` these pages, if given); without
    ``only``, remove the records of pages no longer built. Refuses (a :class:`CheckerError`)
    a stale build and kinds with problems."""
    executed = executed or paths.executed
    records = GoldenRecords(paths)
    failed = [d for d in failed_pages(executed) if not only or d in only]
    if failed:  # recording the rest would remove their records
        raise CheckerError(
            f"nothing recorded: {', '.join(f'{d}.md' for d in failed)} failed to execute in "
            f"{paths.relative(executed)}: fix it and build again (or record the other pages "
            "with `--page`)."
        )
    in_toc = executable_pages(paths)
    outside = sorted(set(only or []) - set(in_toc))
    if outside:
        raise CheckerError(
            f"nothing recorded: {outside[0]}.md is not a page of _toc.yml; add it there, then "
            f"`make page PAGE={outside[0]}.md`."
        )
    pages = load_pages(executed, paths.root, only)
    stale = stale_problems(paths, in_toc, executed, pages, only)
    if stale:
        raise CheckerError("nothing recorded:\n" + "\n".join(f"  {p}" for p in stale))
    problems = [p for page in pages for p in kind_problems(page)]
    if problems:
        raise CheckerError(
            "nothing recorded; fix the kinds first:\n" + "\n".join(f"  {p}" for p in problems)
        )
    lines = []
    for page in pages:
        path = records.write(page)
        lines.append(
            f"recorded {paths.relative(path)} ({len(page.cells)} cells, "
            f"{numerics.label(page.numerics)})"
        )
    if not only:
        written = {records.file(p.docname, p.profile) for p in pages}
        for profile in sorted({p.profile for p in pages}):
            for old in records.files(profile):
                if old not in written:
                    old.unlink()
                    lines.append(f"removed {paths.relative(old)}: its page is no longer built")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check or record the book's cell outputs.")
    parser.add_argument("command", choices=["check", "record"])
    parser.add_argument(
        "--executed",
        type=Path,
        default=None,
        help="folder of executed notebooks (default: the build's jupyter_execute)",
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
    paths = Paths.from_environment()
    try:
        if args.command == "record":
            require_pinned_environment(paths, "nothing recorded")
            print("\n".join(record(paths, args.executed, args.pages)))
            return 0
        versions_note = require_pinned_environment(paths, "nothing checked")
        result = check(paths, args.executed, args.profile, args.pages)
    except CheckerError as error:
        print(f"output check: ERROR: {error}", file=sys.stderr)
        return 2
    out, err = report(result, args.variant)
    if versions_note:
        out = f"note: {versions_note}\n{out}"
    print(out, flush=True)
    if err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
