"""The canary's per-page report (:mod:`booktools.canary` runs the book and writes it): what it
reads and how it says it.

* what ran: the versions tried against the pins (:class:`Version`), the pages that executed and
  those that failed, each with its failing cell and error (:class:`Execution`,
  :class:`Failure`), and each command's exit status and output (:class:`Step`);
* the output checker's findings, read from what it printed and grouped by page
  (:func:`parse_checker`), and told apart: outputs that changed against the records, outputs
  that differ only by the library versions they print (:func:`version_only`: every page's first
  cell prints its JAX; those fail nothing), trajectory values that moved;
* whether the canary passed (:attr:`Outcome.passed`) and the Markdown report
  (:func:`report`): the versions, a table of every page, then each page's failure and findings,
  the site's build and the checker's header. It holds no time or date, so the same findings
  give the same report (the tracking issue changes only when they do).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Mapping

from booktools.checks.environment import NOT_INSTALLED, OTHER_VERSIONS

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# A finding of the checker names its page first: `book/grad.md, cell 5 [...]`, `book/grad.md:`.
PAGE_PREFIX = re.compile(r"^(?P<page>[\w./-]+\.(?:md|ipynb))[,:]")
KEEP_CHARS = 4_000  # of one failure's error report, or of a log's tail


# --------------------------------------------------------------------------- what ran


@dataclasses.dataclass(frozen=True)
class Version:
    distribution: str
    tried: str  # installed here
    pinned: str  # requirements.txt
    upgraded: bool  # the canary installs its newest release


@dataclasses.dataclass(frozen=True)
class Failure:
    """A page that did not execute: the cell that failed (its 1-based position among the page's
    code cells, when it is found) and the error."""

    cell: int | None
    source: str
    error: str
    report: str


@dataclasses.dataclass
class Execution:
    pages: list[str]  # every executable page (docnames), in reading order
    executed: list[str]
    failed: dict[str, Failure]  # by docname
    problems: list[str]  # the book's configuration cannot be read, the execution stopped


@dataclasses.dataclass(frozen=True)
class Step:
    """A command the canary ran: its exit status and what it printed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def tail(self) -> str:
        return ANSI.sub("", (self.stdout + "\n" + self.stderr).strip())[-KEEP_CHARS:]


# --------------------------------------------------------------------------- the checker's findings


@dataclasses.dataclass
class Findings:
    """The checker's output, by page."""

    header: list[str]  # its first line (the numerics), its notes
    failures: dict[str, list[str]]  # page -> findings (each may span lines)
    moves: dict[str, list[str]]  # page -> trajectory moves
    other: list[str]  # findings that name no page (an orphan record)
    summary: str  # its last line
    error: str  # the checker stopped (exit status 2): why


def _page_of(finding: str) -> str | None:
    match = PAGE_PREFIX.match(finding)
    return match["page"].removesuffix(".md").removesuffix(".ipynb") if match else None


def parse_checker(step: Step) -> Findings:
    findings = Findings([], {}, {}, [], "", "")
    if step.returncode == 2:
        findings.error = ANSI.sub("", step.stderr).strip()
    for line in step.stdout.splitlines():
        if line.startswith("  moved: "):
            move = line.removeprefix("  moved: ")
            findings.moves.setdefault(_page_of(move) or "", []).append(move)
        elif "cells match their recorded outputs" in line:
            findings.summary = line
        elif "trajectory value(s) moved" not in line and line.strip():
            findings.header.append(line)
    blocks: list[list[str]] = []
    for line in step.stderr.splitlines():
        if line.startswith("FAIL "):
            blocks.append([line.removeprefix("FAIL ")])
        elif blocks:
            blocks[-1].append(line)
        elif line.startswith("output check") and "problem(s)" in line:
            findings.summary = line
    for block in blocks:
        text = "\n".join(block).rstrip()
        page = _page_of(text)
        if page is None:
            findings.other.append(text)
        else:
            findings.failures.setdefault(page, []).append(text)
    return findings


# --------------------------------------------------------------------------- the report


# A finding whose text differs: `...: the text differs:\n    expected: ...\n    actual: ...`
# (booktools.checks.numbers.indent), or a number beyond tolerance, marked `>>>0.12<<<`.
EXPECTED_ACTUAL = re.compile(
    r"\n    expected: (?P<expected>.*?)\n    actual: (?P<actual>.*)\Z", re.S
)
PROBLEM_COUNT = re.compile(r"(\d+) problem\(s\)")


def _version_pattern(version: str) -> re.Pattern:
    """``version`` as a whole token: not inside a longer version or word."""
    return re.compile(rf"(?<![\w.]){re.escape(version)}(?!\w|\.\w)")


def version_only(finding: str, tried_to_pinned: Mapping[str, str]) -> bool:
    """Whether a finding says only that a cell prints the versions it ran with: its text, with
    every version tried put back to the pinned one, is the recorded text."""
    match = EXPECTED_ACTUAL.search(finding)
    if not match or not tried_to_pinned:
        return False

    def plain(text: str) -> str:
        return " ".join(text.replace(">>>", "").replace("<<<", "").split())

    expected, actual = plain(match["expected"]), plain(match["actual"])
    for tried in sorted(tried_to_pinned, key=len, reverse=True):
        actual = _version_pattern(tried).sub(tried_to_pinned[tried], actual)
    return expected != plain(match["actual"]) and actual == expected


@dataclasses.dataclass
class Outcome:
    versions: list[Version]
    execution: Execution
    site: Step | None  # None: not built (a page failed)
    checker: Step | None  # None: not run (no page executed)
    findings: Findings | None

    @property
    def tried_to_pinned(self) -> dict[str, str]:
        return {
            v.tried: v.pinned
            for v in self.versions
            if v.tried != v.pinned and NOT_INSTALLED not in (v.tried, v.pinned)
        }

    def changed(self, docname: str) -> tuple[list[str], list[str]]:
        """(outputs that changed, outputs that changed only by the versions they print)."""
        findings = self.findings.failures.get(docname, []) if self.findings else []
        banners = [f for f in findings if version_only(f, self.tried_to_pinned)]
        return [f for f in findings if f not in banners], banners

    @property
    def passed(self) -> bool:
        """Every page executed, the site built, and the checker found nothing but outputs that
        print the versions they ran with (and trajectory values that moved, which it reports)."""
        if self.execution.problems or self.execution.failed:
            return False
        if self.site is None or self.site.returncode != 0 or self.checker is None:
            return False
        if self.checker.returncode == 0:
            return True
        findings = self.findings
        if self.checker.returncode != 1 or findings is None or findings.other:
            return False
        count = PROBLEM_COUNT.search(findings.summary)
        parsed = sum(len(f) for f in findings.failures.values())
        if count is None or int(count[1]) != parsed:  # a finding the canary could not read
            return False
        return not any(self.changed(docname)[0] for docname in findings.failures)


def _block(text: str, language: str = "text") -> list[str]:
    fence = "````" if "```" in text else "```"
    return [f"{fence}{language}", text.rstrip("\n"), fence]


def _bullet(text: str) -> list[str]:
    first, *rest = text.splitlines() or [""]
    lines = [f"- {first}"]
    if rest:
        block = "\n".join(_block("\n".join(rest))).splitlines()
        lines += ["", *(f"  {line}".rstrip() for line in block), ""]
    return lines


def _without_page(finding: str, docname: str) -> str:
    for suffix in (".md", ".ipynb"):
        if finding.startswith(docname + suffix):
            return finding.removeprefix(docname + suffix).lstrip(", :")
    return finding


def _version_print(finding: str, docname: str) -> str:
    """One line for an output that differs only by the versions it prints: where, and the
    first line recorded and found (``JAX 0.11.2 on <device>`` → ``JAX 0.12.0.1 on <device>``)."""
    where = _without_page(finding, docname).splitlines()[0]
    where = re.sub(r": (the text differs|number \d+ differs.*):$", "", where)
    match = EXPECTED_ACTUAL.search(finding)
    if not match:
        return where

    def first(text: str) -> str:
        return text.splitlines()[0].strip().replace(">>>", "").replace("<<<", "")

    return f"{where}: `{first(match['expected'])}` → `{first(match['actual'])}`"


def page_status(outcome: Outcome, docname: str) -> tuple[str, str]:
    """(execution, outputs) for the page table."""
    if docname in outcome.execution.failed:
        failure = outcome.execution.failed[docname]
        where = f"cell {failure.cell}" if failure.cell else "a cell"
        return f"**FAILED** ({where})", "not checked"
    findings = outcome.findings
    if findings is None or findings.error:
        return "executed", "not checked"
    changed, banners = outcome.changed(docname)
    moved = len(findings.moves.get(docname, []))
    parts = [f"**{len(changed)} changed**"] if changed else []
    if banners:
        parts.append(f"{len(banners)} print{'s' if len(banners) == 1 else ''} the versions")
    if moved:
        parts.append(f"{moved} trajectory value(s) moved")
    return "executed", ", ".join(parts) or "unchanged"


def verdict(outcome: Outcome) -> str:
    if outcome.passed:
        return "everything passed"
    execution, findings = outcome.execution, outcome.findings
    parts = []
    if execution.problems:
        parts.append("nothing was checked")
    if execution.failed:
        parts.append(f"{len(execution.failed)} page(s) failed to execute")
    pages = execution.executed
    changed = sum(len(outcome.changed(docname)[0]) for docname in pages)
    if changed:
        parts.append(f"{changed} output(s) changed")
    if findings and (findings.other or findings.error):
        parts.append("the checker found more (below)")
    if outcome.site is not None and outcome.site.returncode != 0:
        parts.append("the site did not build")
    return "FAILED: " + "; ".join(parts or ["see below"])


def report(outcome: Outcome) -> str:
    """The Markdown report (no time, no durations: the same findings give the same text)."""
    execution, findings = outcome.execution, outcome.findings
    upgraded = [v for v in outcome.versions if v.upgraded]
    newer = [v for v in upgraded if v.tried != v.pinned]
    lines = [
        "# Canary: the book against the newest JAX",
        "",
        "The book's pages executed and checked with the newest releases of the libraries it "
        "teaches, against the records that `make golden` made on a CPU with the pins of "
        "`requirements.txt`. Checking the book under other versions than its pins is the "
        "canary's job: everywhere else the output checker refuses to (the canary runs it with "
        f"`{OTHER_VERSIONS}=canary`). Outputs that differ only by the versions they print, and "
        "trajectory values that moved, are listed but fail nothing.",
        "",
        f"**Result: {verdict(outcome)}.** Python {sys.version.split()[0]}; "
        + (
            "newer than the pins: " + ", ".join(f"{v.distribution} {v.tried}" for v in newer)
            if newer
            else "no library is newer than its pin"
        )
        + ".",
        "",
        "## Versions",
        "",
        "| library | tried | pinned | |",
        "| --- | --- | --- | --- |",
    ]
    for v in outcome.versions:
        how = "newest release" if v.upgraded else "as resolved beside them"
        mark = "" if v.tried == v.pinned else " (differs)"
        lines.append(f"| {v.distribution} | {v.tried}{mark} | {v.pinned} | {how} |")
    lines.append("")
    if execution.problems:
        lines += ["## Nothing was checked", ""]
        lines += [f"- {p}" for p in execution.problems]
        return "\n".join(lines) + "\n"
    pages = execution.pages
    lines += ["## Pages", ""]
    checked = "the checker did not run"
    if findings and findings.summary:
        checked = f"the checker: {findings.summary}"
    elif findings and findings.error:
        checked = "the checker stopped (below)"
    lines += [f"{len(execution.executed)} of {len(pages)} pages executed; {checked}.", ""]
    lines += ["| page | execution | outputs against the records |", "| --- | --- | --- |"]
    for docname in pages:
        executed_text, outputs = page_status(outcome, docname)
        lines.append(f"| `{docname}.md` | {executed_text} | {outputs} |")
    lines.append("")
    for docname in pages:
        failure = execution.failed.get(docname)
        changed, banners = outcome.changed(docname)
        moved = findings.moves.get(docname, []) if findings else []
        if not (failure or changed or banners or moved):
            continue
        lines += [f"### `{docname}.md`", ""]
        if failure:
            where = f"Cell {failure.cell}" if failure.cell else "A cell"
            lines += [f"{where} failed to execute: `{failure.error}`", ""]
            if failure.source:
                lines += _block(failure.source, "python") + [""]
            lines += ["<details><summary>The error report</summary>", ""]
            lines += _block(failure.report) + ["", "</details>", ""]
        if changed:
            lines += [f"Outputs that changed against the records ({len(changed)}):", ""]
            for finding in changed:
                lines += _bullet(_without_page(finding, docname))
            lines.append("")
        if banners:
            lines += [
                f"Outputs that differ only by the versions they print ({len(banners)}):",
                "",
            ]
            lines += [f"- {_version_print(f, docname)}" for f in banners]
            lines.append("")
        if moved:
            lines += [
                f"Trajectory values that moved ({len(moved)}; reported, not failures: their "
                "claims are checked):",
                "",
            ]
            lines += [f"- {_without_page(m, docname)}" for m in moved]
            lines.append("")
    if findings and findings.other:
        lines += ["### Other findings of the checker", ""]
        for finding in findings.other:
            lines += _bullet(finding)
        lines.append("")
    lines += ["## The site", ""]
    if outcome.site is None:
        lines.append("Not built: a page failed to execute.")
    elif outcome.site.returncode == 0:
        lines.append("The strict build (Sphinx, `-W -n`) built the site with no warning.")
    else:
        lines += ["The strict build (Sphinx, `-W -n`) FAILED; the end of its log:", ""]
        lines += _block(outcome.site.tail)
    lines += ["", "## The checker", ""]
    if outcome.checker is None:
        lines.append("Not run: no page executed.")
    elif findings and findings.error:
        lines += ["It stopped before checking anything:", ""] + _block(findings.error)
    else:
        lines += _block("\n".join(findings.header if findings else []) or "(no output)")
    return "\n".join(lines) + "\n"
