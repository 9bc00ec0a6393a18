"""The canary: the book against the newest JAX, jaxlib, Flax, Haiku, Optax and Orbax.

``make canary`` makes ``.venv-canary`` with a Python >= 3.12 (``tools/find-python``), installs
the pins of ``requirements.txt`` there, upgrades the libraries of
:data:`jaxbook.provenance.NEWEST_IN_CANARY` (the one list of the book's libraries; ``--list``
prints them) to their newest releases and runs ``python -m booktools.canary`` into
``_build/canary``. That executes every page (one page failing leaves the others to be checked),
builds the site when every page executed, and runs the output checker over the pages that
executed, with ``JAXBOOK_OTHER_VERSIONS=canary``: the checker refuses other versions than the
pins everywhere else, and checking them is the canary's job.

It writes ``_build/canary/report.md``: the versions tried against the pins, then for each page
whether it executed (else the failing cell and its error), which cells' and glued values'
outputs changed against the records (the checker's findings by page), which of them differ only
by the library versions they print (every page's first cell prints its JAX: those fail nothing),
and which trajectory values moved; and ``_build/canary/result.json``, which says whether
everything passed. Its exit status is 1 when anything failed. The report holds no time or date,
so the same findings give the same report.

The report, and the reading of the checker's findings behind it, is
:mod:`booktools.canary_report`.

``python -m booktools.canary issue`` keeps one tracking issue, "Canary: the book against the
newest JAX", in step with the last report (:mod:`booktools.tracking_issue`, as the link check
does): opened or updated while something fails, closed when everything passes. The weekly
workflow (``.github/workflows/canary.yml``) runs both; the canary never runs on pull requests.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from booktools import tracking_issue
from booktools.book import Book, Page, Paths
from booktools.canary_report import (
    ANSI,
    KEEP_CHARS,
    Execution,
    Failure,
    Outcome,
    Step,
    Version,
    parse_checker,
    report,
)
from booktools.checks.environment import OTHER_VERSIONS, checked_distributions, installed_version
from booktools.tracking_issue import TrackingIssue
from jaxbook.provenance import NEWEST_IN_CANARY

UPGRADED = tuple(library.distribution for library in NEWEST_IN_CANARY)
ISSUE = TrackingIssue(
    "Canary: the book against the newest JAX",
    resolved="Under the newest releases every page executes again and no output changed beyond "
    "the versions it prints",
    tool="canary issue",
)
# The last line of a traceback: `ValueError: ...`, `jax.errors.TracerBoolConversionError: ...`.
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b")


# --------------------------------------------------------------------------- versions


def versions(
    pins: Mapping[str, str],
    reader: Iterable[str],
    version_of: Callable[[str], str] = installed_version,
) -> list[Version]:
    """The upgraded libraries first, then every other pinned library the pages run on."""
    rows = [Version(name, version_of(name), pins.get(name, "-"), True) for name in UPGRADED]
    for name in reader:
        if name not in UPGRADED and name in pins:
            rows.append(Version(name, version_of(name), pins[name], False))
    return rows


# --------------------------------------------------------------------------- execution


def parse_failure(report: str, page: Page | None = None) -> Failure:
    """The failing cell and the error of an execution error report (nbclient's, as
    ``booktools.cache`` returns it, with the kernel's own log after it)."""
    text = ANSI.sub("", report).split("\n(the kernel's own log, ")[0]
    source = ""
    for opening, rule in (
        ("An error occurred while executing the following cell:\n", "------------------\n"),
        ("Here is a preview of the cell contents:\n", "-------------------\n"),
    ):
        if opening + rule in text:
            after = text.split(opening + rule, 1)[1]
            source, _, rest = after.partition("\n" + rule.rstrip("\n"))
            break
    else:
        rest = text
    if "A cell timed out while it was being executed" in text:
        error = next(
            line.strip() for line in text.splitlines() if "A cell timed out" in line
        ).split(": ", 1)[-1]
    else:
        lines = [line.strip() for line in rest.splitlines() if line.strip()]
        named = [line for line in lines if ERROR_LINE.match(line)]
        error = (named or lines or ["(no error message)"])[-1]
    cell = None
    if page is not None and source:
        for index, code_cell in enumerate(page.code_cells, start=1):
            if code_cell.source.strip() == source.strip():
                cell = index
                break
    return Failure(cell, source.strip("\n"), error, text.strip()[-KEEP_CHARS:])


def execute(book: Book) -> Execution:
    """Execute every page (through the build's cache: a canary run again reuses what still
    holds) and export the notebooks of those that executed for the checker."""
    from booktools import cache
    from booktools.build import configuration_problems

    problems = configuration_problems(book)
    if problems:
        return Execution([], [], {}, problems)
    os.environ.setdefault("PYTHONHASHSEED", "0")  # for the kernels, as the build does
    pages = book.executable_pages
    docnames = [page.docname for page in pages]
    try:
        prepared = cache.prepare(book, pages)
    except Exception as error:  # noqa: BLE001 - a dead kernel pool: reported, not a traceback
        return Execution(docnames, [], {}, [f"the execution stopped: {error!r}"])
    by_source = {book.paths.relative(page.path): page for page in pages}
    failed = {
        by_source[name].docname: parse_failure(report, by_source[name])
        for name, report in prepared.failed
    }
    executed = [page for page in pages if page.docname not in failed]
    shutil.rmtree(book.paths.executed, ignore_errors=True)  # no notebook of an earlier run
    cache.export_executed(book, executed, book.paths.executed)
    return Execution(docnames, [page.docname for page in executed], failed, [])


def run_tool(paths: Paths, *args: str, **extra_env: str) -> Step:
    env = dict(os.environ, JAXBOOK_BUILD=str(paths.build), PYTHONHASHSEED="0", **extra_env)
    done = subprocess.run(
        [sys.executable, *args], cwd=paths.root, env=env, capture_output=True, text=True
    )
    return Step(done.returncode, done.stdout, done.stderr)


def build_site(paths: Paths) -> Step:
    """The strict site build; the cache holds every page, so it executes nothing."""
    return run_tool(paths, "-m", "booktools.build")


def run_checker(paths: Paths, pages: list[str], every_page: bool) -> Step:
    """``booktools.outputs check`` over the exported notebooks, allowed other versions;
    ``pages`` are named when some did not execute (so their records are not orphans)."""
    args = ["-m", "booktools.outputs", "check", "--executed", str(paths.executed)]
    if not every_page:
        for docname in pages:
            args += ["--page", docname]
    return run_tool(paths, *args, **{OTHER_VERSIONS: "canary"})


# --------------------------------------------------------------------------- commands


def result_file(paths: Paths) -> Path:
    return paths.build / "result.json"


def report_file(paths: Paths) -> Path:
    return paths.build / "report.md"


def run_canary(book: Book) -> int:
    paths = book.paths
    paths.build.mkdir(parents=True, exist_ok=True)
    for stale in (report_file(paths), result_file(paths)):  # a failed run shows no old report
        stale.unlink(missing_ok=True)
    rows = versions(book.pins, checked_distributions(paths))
    print(
        "canary: "
        + ", ".join(f"{v.distribution} {v.tried} (pinned {v.pinned})" for v in rows if v.upgraded),
        flush=True,
    )
    execution = execute(book)
    site = checker = findings = None
    if not execution.problems:
        if not execution.failed:
            print("canary: building the site ...", flush=True)
            site = build_site(paths)
        if execution.executed:
            print("canary: checking the outputs against the records ...", flush=True)
            checker = run_checker(paths, execution.executed, not execution.failed)
            findings = parse_checker(checker)
    outcome = Outcome(rows, execution, site, checker, findings)
    text = report(outcome)
    report_file(paths).write_text(text, encoding="utf-8")
    result_file(paths).write_text(
        json.dumps({"passed": outcome.passed}, indent=2) + "\n", encoding="utf-8"
    )
    print(text)
    print(f"canary: {'passed' if outcome.passed else 'FAILED'}; report: {report_file(paths)}")
    return 0 if outcome.passed else 1


def update_issue(paths: Paths, run_url: str) -> int:
    """Bring the tracking issue in step with the last canary run (``gh`` and ``GH_TOKEN``)."""
    result, text = result_file(paths), report_file(paths)
    if not (result.is_file() and text.is_file()):
        print(
            f"canary issue: no {result.name} and {text.name} in {paths.build}: the canary did "
            "not run to its end (its install, most likely), so the tracking issue is left as "
            "it is",
            file=sys.stderr,
        )
        return 1
    passed = bool(json.loads(result.read_text(encoding="utf-8")).get("passed"))
    return tracking_issue.sync(ISSUE, text.read_text(encoding="utf-8"), not passed, run_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "action",
        nargs="?",
        choices=["run", "issue"],
        default="run",
        help="run: execute, build and check the book and write the report (the default); "
        "issue: open, update or close the tracking issue from the last report (needs gh)",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="print the distributions the canary upgrades (for `make canary`) and exit",
    )
    parser.add_argument(
        "--run-url", default="", help="the workflow run, linked from the issue's comments"
    )
    args = parser.parse_args(argv)
    if args.list:
        print(" ".join(UPGRADED))
        return 0
    paths = Paths.from_environment()
    if args.action == "issue":
        return update_issue(paths, args.run_url)
    return run_canary(Book(paths))


if __name__ == "__main__":
    sys.exit(main())
