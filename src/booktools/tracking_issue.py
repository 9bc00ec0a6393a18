"""One GitHub issue that a scheduled check keeps in step with its last report, through the GitHub
CLI (``gh``): opened when the check fails, its description replaced (and a comment added) when
the report changes, closed when the check passes again. A report already in the issue changes
nothing, so a weekly run that finds the same thing makes no noise.

The link check (``python -m booktools.linkcheck issue``, "Broken external links") and the canary
(``python -m booktools.canary issue``, "Canary: the book against the newest JAX") each name their
issue with a :class:`TrackingIssue` and call :func:`sync`; their workflows give the job
``issues: write`` and ``GH_TOKEN``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

# GitHub refuses an issue body over 65,536 characters; a longer report is cut, with a line
# saying so (the whole report is the workflow run's artifact).
MAX_BODY = 60_000


@dataclass(frozen=True)
class TrackingIssue:
    """Which issue a check keeps, and how it speaks."""

    title: str  # the issue's title, which finds it among the open issues
    resolved: str  # the comment that closes it, e.g. "Every external link works again"
    tool: str  # the prefix of the messages it prints, e.g. "linkcheck issue"


@dataclass(frozen=True)
class IssueAction:
    """What to do with the tracking issue: create, update, close, or nothing."""

    kind: str  # "create", "update", "close" or "none"
    number: int | None = None
    body: str = ""  # the issue's new body (create, update)
    comment: str = ""  # a comment to add (update, close)


def issue_body(report_text: str) -> str:
    """The report as an issue's body: whole, or cut to :data:`MAX_BODY` with a line saying so."""
    if len(report_text) <= MAX_BODY:
        return report_text
    cut = report_text[:MAX_BODY].rsplit("\n", 1)[0]
    return cut + "\n\n… (cut here: the whole report is the workflow run's artifact)\n"


def decide(
    issue: TrackingIssue,
    report_text: str,
    failing: bool,
    open_issues: Sequence[dict],
    run_url: str = "",
    inconclusive: bool = False,
) -> IssueAction:
    """What to do, given the check's report, whether it failed, and the repository's open issues
    (dicts with ``number``, ``title`` and ``body``, as ``gh issue list`` gives them). A check
    whose result says nothing (``inconclusive``: the network was down) changes nothing."""
    tracking = [i for i in open_issues if i.get("title") == issue.title]
    # The oldest one is the tracking issue, should two ever be open.
    current = min(tracking, key=lambda i: i["number"]) if tracking else None
    ran = f" ({run_url})" if run_url else ""
    if inconclusive:
        return IssueAction("none", current["number"] if current else None)
    if not failing:
        if current is None:
            return IssueAction("none")
        return IssueAction("close", current["number"], comment=f"{issue.resolved}{ran}.")
    body = issue_body(report_text)
    if current is None:
        return IssueAction("create", body=body)
    if (current.get("body") or "").strip() == body.strip():
        return IssueAction("none", current["number"])  # already says this: no weekly noise
    return IssueAction(
        "update",
        current["number"],
        body=body,
        comment=f"The report changed{ran}; the description above is the new one.",
    )


def gh_commands(action: IssueAction, title: str) -> list[list[str]]:
    """The ``gh`` command lines that carry out ``action`` (bodies are read from stdin)."""
    number = str(action.number)
    if action.kind == "create":
        return [["gh", "issue", "create", "--title", title, "--body-file", "-"]]
    if action.kind == "update":
        return [
            ["gh", "issue", "edit", number, "--body-file", "-"],
            ["gh", "issue", "comment", number, "--body", action.comment],
        ]
    if action.kind == "close":
        return [["gh", "issue", "close", number, "--comment", action.comment]]
    return []


def run_gh(command: list[str], stdin: str = "", tool: str = "tracking issue") -> str | None:
    """Run a ``gh`` command line; its output, or None (and the reason printed) when it failed."""
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True)
    except FileNotFoundError:
        print(
            f"{tool}: the GitHub CLI (gh) is not installed; it is on GitHub's runners",
            file=sys.stderr,
        )
        return None
    if done.returncode != 0:
        print(f"{tool}: {' '.join(command[:3])} failed: {done.stderr.strip()}", file=sys.stderr)
        return None
    return done.stdout


def sync(
    issue: TrackingIssue,
    report_text: str,
    failing: bool,
    run_url: str = "",
    inconclusive: bool = False,
) -> int:
    """Bring the tracking issue in step with a finished check (``gh`` and ``GH_TOKEN`` needed);
    0 when done, 1 when ``gh`` failed."""
    listed = run_gh(
        ["gh", "issue", "list", "--state", "open", "--search", f'"{issue.title}" in:title']
        + ["--json", "number,title,body", "--limit", "100"],
        tool=issue.tool,
    )
    if listed is None:
        return 1
    action = decide(issue, report_text, failing, json.loads(listed), run_url, inconclusive)
    for command in gh_commands(action, issue.title):
        done = run_gh(command, action.body, tool=issue.tool)
        if done is None:
            return 1
        print(done.strip())
    where = f" #{action.number}" if action.number else ""
    print(f"{issue.tool}: {action.kind}{where}")
    return 0
