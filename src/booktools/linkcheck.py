"""The external link check: ``python -m booktools.linkcheck`` (what ``make linkcheck`` runs).

Sphinx's linkcheck builder requests every external link of the book; no page is executed (the
pages are read without their outputs, which hold no links). Its ``output.json`` becomes a
readable report, ``_build/linkcheck/report.md``: the broken links first, each with its page,
line, URL and reason, then the redirects, then how many links work. The exit status is 1 when
a link is broken.

``python -m booktools.linkcheck issue`` keeps one tracking issue, "Broken external links", in
step with the last check, through the GitHub CLI (``gh``): it opens the issue when a link
breaks, updates it when the report changes, and closes it when every link works again
(:mod:`booktools.tracking_issue`, which keeps the canary's issue too).
The weekly workflow (``.github/workflows/linkcheck.yml``) runs both, so a dead link elsewhere on
the web never fails an unrelated pull request.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from booktools import tracking_issue
from booktools.book import Book, Paths
from booktools.build import ANSI_COLOUR, jupyter_book_command, write_config
from booktools.tracking_issue import IssueAction, TrackingIssue

ISSUE_TITLE = "Broken external links"

# Sphinx's linkcheck options for this book (the test's scratch project uses them too).
LINKCHECK_SETTINGS = {
    # GitHub writes its anchors (#readme, a CHANGELOG heading) into the page with JavaScript,
    # so the HTML Sphinx reads never has them: check GitHub's pages, not their anchors.
    "linkcheck_anchors_ignore_for_url": [r"https://github\.com/.*"],
    # A timeout gets its own status (Sphinx 8's default; Sphinx 7 warns until it is set).
    "linkcheck_report_timeouts_as_broken": False,
    "linkcheck_timeout": 30,
    # A second try: a site that fails once is more often a network blip than a dead link.
    "linkcheck_retries": 2,
}

BROKEN = ("broken", "timeout")  # Sphinx exits with 1 for both
REDIRECTED = "redirected"
WORKING = "working"
IGNORED = "ignored"  # a 503, or a page excluded from the check; "unchecked" is not requested
# How requests words an HTTP error answer ("404 Client Error: Not Found for url: ..."), as
# against a connection that got no answer at all.
HTTP_ERROR = re.compile(r"^\d{3} (Client|Server) Error")
CONNECTION_CAUSE = re.compile(r"\(Caused by (?P<error>\w+)\((?P<message>.*)\)\)$")
REDIRECT_KINDS = {
    301: "permanently",
    302: "found",
    303: "see other",
    307: "temporarily",
    308: "permanently",
}


@dataclass(frozen=True)
class Link:
    """One line of Sphinx's output.json: a link, where it is, and what checking it found."""

    page: str  # the source file, relative to the book's root: book/jit.md
    line: int
    status: str  # working, broken, timeout, redirected, ignored, unchecked
    code: int  # the redirect's HTTP status for a redirect, else 0
    uri: str
    info: str  # the reason it is broken, the redirect's target, why it was ignored


def parse_output(text: str) -> list[Link]:
    """The links of Sphinx's output.json (one JSON object per line)."""
    links = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            links.append(
                Link(
                    page=str(entry["filename"]),
                    line=int(entry.get("lineno") or 0),
                    status=str(entry["status"]),
                    code=int(entry.get("code") or 0),
                    uri=str(entry["uri"]),
                    info=str(entry.get("info") or ""),
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"output.json line {number} is not a link entry: {error}") from error
    return links


def broken(links: Iterable[Link]) -> list[Link]:
    return sorted((x for x in links if x.status in BROKEN), key=lambda x: (x.page, x.line, x.uri))


def redirected(links: Iterable[Link]) -> list[Link]:
    return sorted(
        (x for x in links if x.status == REDIRECTED), key=lambda x: (x.page, x.line, x.uri)
    )


def _where(link: Link) -> str:
    return f"`{link.page}` line {link.line}" if link.line > 0 else f"`{link.page}`"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def broken_reason(link: Link) -> str:
    info = _one_line(link.info)
    if link.status == "timeout":
        return f"timed out: {info}" if info else "timed out"
    # urllib3 wraps a failed connection twice ("HTTPSConnectionPool(...): Max retries exceeded
    # with url: ... (Caused by NameResolutionError("HTTPSConnection(...): Failed to resolve
    # ...")))"); the innermost error is the reason.
    if cause := CONNECTION_CAUSE.search(info):
        error, message = cause["error"], cause["message"].strip("'\"")
        return f"{error}: {message.split('): ', 1)[-1]}"
    return info or "not found"  # Sphinx gives no reason for a missing file


def unreachable(links: Sequence[Link]) -> bool:
    """Whether no requested link got any answer: then the network (or its DNS) is down where
    the check ran, and the broken links say nothing about the links themselves."""
    requested = [x for x in links if x.status in (*BROKEN, REDIRECTED, WORKING)]
    return bool(requested) and all(
        x.status in BROKEN and not HTTP_ERROR.match(x.info) for x in requested
    )


def report(links: Sequence[Link]) -> str:
    """The Markdown report: broken links, then redirects, then the count of working ones."""
    dead, moved = broken(links), redirected(links)
    working = sum(x.status == WORKING for x in links)
    ignored = sorted((x for x in links if x.status == IGNORED), key=lambda x: (x.page, x.line))
    unchecked = len(links) - len(dead) - len(moved) - working - len(ignored)
    external = len(links) - unchecked
    summary = (
        f"{len(dead)} broken, {len(moved)} redirected, {working} working"
        + (f", {len(ignored)} ignored" if ignored else "")
        + f" ({_count(external, 'external link')})"
    )
    lines = ["# External links", "", summary, ""]
    if unreachable(links):
        lines += [
            f"**No link could be reached.** None of the {external} requests got an answer, so "
            "the network (or its DNS) is probably down where this ran: the list below says "
            "nothing about the links themselves. Run the check again where the network is up.",
            "",
        ]
    if dead:
        lines += [f"## Broken ({len(dead)})", ""]
        for link in dead:
            lines += [f"- {_where(link)}: <{link.uri}>", f"  - {broken_reason(link)}"]
        lines.append("")
    if moved:
        lines += [f"## Redirected ({len(moved)})", ""]
        lines.append("Each works, but its page moved; link the new address instead.")
        lines.append("")
        for link in moved:
            kind = REDIRECT_KINDS.get(link.code, "redirected")
            code = f" ({link.code})" if link.code else ""
            lines.append(f"- {_where(link)}: <{link.uri}> {kind}{code} to <{link.info}>")
        lines.append("")
    verb = "works" if working == 1 else "work"
    lines += [f"## Working ({working})", "", f"{_count(working, 'link')} {verb}."]
    if ignored:  # a server that said 503 (unavailable), a page excluded from the check
        lines += ["", f"## Ignored ({len(ignored)})", ""]
        lines += [f"- {_where(x)}: <{x.uri}>: {_one_line(x.info)}" for x in ignored]
    if unchecked:
        lines += [
            "",
            f"{_count(unchecked, 'other link')} (anchors within the book, mailto:) "
            f"{'is' if unchecked == 1 else 'are'} not requested; the strict build checks the "
            "book's own references.",
        ]
    return "\n".join(lines) + "\n"


def sphinx_output_file(paths: Paths) -> Path:
    # jupyter-book writes every HTML-like builder's output into _build/html of --path-output.
    return paths.linkcheck / "_build" / "html" / "output.json"


def report_file(paths: Paths) -> Path:
    return paths.linkcheck / "report.md"


def linkcheck_config(book: Book, staging: Path) -> Path:
    """A copy of _config.yml that executes no page and carries the link check's settings."""
    config = copy.deepcopy(book.config)
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config.update(LINKCHECK_SETTINGS)
    # Unexecuted pages have no glued values; the strict build checks those, not this one.
    sphinx_config["suppress_warnings"] = [
        *sphinx_config.get("suppress_warnings", []),
        "mystnb.glue",
    ]
    return write_config(config, staging)


def check(
    command: Sequence[str],
    output_json: Path,
    report_path: Path,
    log_path: Path,
    cwd: Path,
    env: dict[str, str] | None = None,
) -> int:
    """Run a linkcheck build, write and print its report; 1 when a link is broken or the build
    failed (then the report is not written and the last lines of its log are printed)."""
    for stale in (output_json, report_path):  # a failed run must not show the last report
        stale.unlink(missing_ok=True)
    result = subprocess.run(
        list(command),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(ANSI_COLOUR.sub("", result.stdout), encoding="utf-8")
    # Sphinx writes output.json when it has checked every link, so without it the build
    # stopped before the check; its exit status alone does not say (1 is also "broken links").
    if not output_json.is_file():
        tail = "\n".join(log_path.read_text(encoding="utf-8").splitlines()[-30:])
        print(tail, file=sys.stderr)
        print(
            f"LINKCHECK FAILED: the build stopped (exit status {result.returncode}) before it "
            f"checked the links; its log is {log_path}",
            file=sys.stderr,
        )
        return 1
    links = parse_output(output_json.read_text(encoding="utf-8"))
    text = report(links)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(text, encoding="utf-8")
    print(text)
    dead = broken(links)
    if unreachable(links):
        print(
            f"linkcheck: no link could be reached (is the network down?); report: {report_path}",
            file=sys.stderr,
        )
        return 1
    if dead:
        print(f"linkcheck: {len(dead)} broken link(s); report: {report_path}", file=sys.stderr)
        return 1
    if result.returncode != 0:
        print(
            f"LINKCHECK FAILED: the build exited with {result.returncode} though no link is "
            f"broken; its log is {log_path}",
            file=sys.stderr,
        )
        return 1
    print(f"linkcheck: no broken link; report: {report_path}")
    return 0


# The tracking issue: booktools.tracking_issue keeps it (the canary's too); these name it.
ISSUE = TrackingIssue(
    ISSUE_TITLE, resolved="Every external link works again", tool="linkcheck issue"
)


def tracking_issue_action(
    report_text: str,
    has_broken: bool,
    open_issues: Sequence[dict],
    run_url: str = "",
    network_down: bool = False,
) -> IssueAction:
    """What to do with the tracking issue, given the check's report and the repository's open
    issues (:func:`booktools.tracking_issue.decide`). A check that reached no link at all
    (``network_down``) changes nothing."""
    return tracking_issue.decide(
        ISSUE, report_text, has_broken, open_issues, run_url, inconclusive=network_down
    )


def gh_commands(action: IssueAction) -> list[list[str]]:
    """The ``gh`` command lines that carry out ``action`` on the link check's issue."""
    return tracking_issue.gh_commands(action, ISSUE.title)


def update_tracking_issue(output_json: Path, run_url: str) -> int:
    """Bring the tracking issue in step with the last check (``gh`` and ``GH_TOKEN`` needed)."""
    if not output_json.is_file():
        print(
            f"linkcheck issue: no {output_json}: the check did not run to its end, so the "
            "tracking issue is left as it is",
            file=sys.stderr,
        )
        return 1
    links = parse_output(output_json.read_text(encoding="utf-8"))
    network_down = unreachable(links)
    if network_down:
        print("linkcheck issue: no link could be reached, so the tracking issue is left alone")
    return tracking_issue.sync(
        ISSUE, report(links), bool(broken(links)), run_url, inconclusive=network_down
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "action",
        nargs="?",
        choices=["check", "issue"],
        default="check",
        help="check: run the link check and write the report (the default); issue: open, "
        "update or close the tracking issue from the last check's output (needs gh)",
    )
    parser.add_argument(
        "--run-url", default="", help="the workflow run, linked from the issue's comments"
    )
    args = parser.parse_args(argv)
    book = Book()
    paths = book.paths
    if args.action == "issue":
        return update_tracking_issue(sphinx_output_file(paths), args.run_url)
    shutil.rmtree(paths.linkcheck / "_build", ignore_errors=True)
    config = linkcheck_config(book, paths.linkcheck)
    command = jupyter_book_command(paths, paths.linkcheck, config, "linkcheck", strict=False)
    print("linkcheck: requesting every external link of the book (no page is executed) ...")
    return check(
        command,
        sphinx_output_file(paths),
        report_file(paths),
        paths.linkcheck / "jupyter-book.log",
        cwd=paths.root,
    )


if __name__ == "__main__":
    sys.exit(main())
