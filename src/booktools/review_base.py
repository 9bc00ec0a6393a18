"""Building the two sides of a review (:mod:`booktools.review` runs them): the base commit
checked out in a detached ``git worktree`` under ``_build/review/base`` (removed after its
build, a leftover one too), its execution cache a copy of the head's so that only the pages the
change affects execute again, and built there with its own ``booktools`` and ``jaxbook`` into
``_build/review/build``; the head built in place when its last build cannot be used. Each
build's log goes to ``_build/review/<side>-build.log``, and what it says about its cache
becomes one line of the report (:func:`build_notes`).

What cannot be built is said, never replaced by an older result: a base that cannot be checked
out, does not build or leaves no executed notebooks is a note, and the head is reported alone;
a base that pins other requirements is built in the head's environment all the same.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from booktools.book import Paths

CACHE_SUMMARY = re.compile(r"cache: (\d+) page\(s\) executed, (\d+) taken from the cache")


def review_folder(paths: Paths) -> Path:
    """Where the review keeps the base's worktree, its build, the build logs and the figures'
    HTML."""
    return paths.build / "review"


def base_paths(paths: Paths) -> Paths:
    """The base's worktree (removed after its build) and its build folder (``JAXBOOK_BUILD``:
    its cache, notebooks and site)."""
    return Paths.at(review_folder(paths) / "base", review_folder(paths) / "build")


def git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


def resolve_commit(root: Path, ref: str) -> str | None:
    found = git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return found.stdout.strip() if found.returncode == 0 else None


def describe_commit(root: Path, commit: str) -> str:
    shown = git(root, "log", "-1", "--format=%h “%s”", commit).stdout.strip()
    return shown or commit[:12]


def describe_head(root: Path) -> str:
    head = git(root, "rev-parse", "--short", "HEAD").stdout.strip() or "no commit"
    dirty = git(root, "status", "--porcelain").stdout.strip()
    return f"the working tree at {head}" + (" (with uncommitted changes)" if dirty else "")


def run_build(paths: Paths, site: bool, log: Path, env: dict[str, str]) -> str | None:
    """Build a book with ``booktools.build`` (the lean path without a site); None when it
    succeeded, else its log."""
    command = [sys.executable, "-m", "booktools.build", *([] if site else ["--execute-only"])]
    env = dict(env, JAXBOOK_ROOT=str(paths.root), JAXBOOK_BUILD=str(paths.build))
    print(f"review: building {paths.root} into {paths.build} ...", file=sys.stderr, flush=True)
    result = subprocess.run(
        command,
        cwd=paths.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout, encoding="utf-8")
    return None if result.returncode == 0 else result.stdout


def build_notes(log: str, side: str) -> list[str]:
    """What a build's log says about its cache, in one line each."""
    notes = []
    if "cannot be read" in log:
        notes.append(
            f"The {side}'s execution cache could not be read (damaged, or from another "
            "version of the tools): it was built from an empty cache, every page executed."
        )
    summary = CACHE_SUMMARY.search(log)
    if summary and not notes:
        executed, reused = int(summary.group(1)), int(summary.group(2))
        if executed > 1 and reused == 0:
            notes.append(
                f"No cached notebook fitted the {side} (another environment, or every page "
                f"changed): all {executed} of its pages were executed."
            )
    return notes


def remove_worktree(paths: Paths) -> None:
    """Remove the base's worktree (a leftover one too: `git worktree add --force` takes over
    the entry of a folder deleted by hand)."""
    base = base_paths(paths).root
    if base.exists():
        git(paths.root, "worktree", "remove", "--force", str(base))
        shutil.rmtree(base, ignore_errors=True)


def build_base(paths: Paths, commit: str, site: bool) -> tuple[Paths | None, list[str], str]:
    """Build the base commit beside the head: (where it was built or None, notes, the line of
    its build that says what it executed)."""
    base = base_paths(paths)
    label = describe_commit(paths.root, commit)
    log = review_folder(paths) / "base-build.log"
    remove_worktree(paths)
    shutil.rmtree(base.build, ignore_errors=True)
    review_folder(paths).mkdir(parents=True, exist_ok=True)
    added = git(paths.root, "worktree", "add", "--detach", "--force", str(base.root), commit)
    if added.returncode != 0:
        why = (added.stderr.strip().splitlines() or ["git worktree failed"])[-1]
        return (
            None,
            [f"The base {label} could not be checked out ({why}): the head is reported alone."],
            "",
        )
    notes = []
    try:
        pins = git(
            paths.root, "diff", "--quiet", commit, "--", "requirements.txt", "requirements.lock"
        )
        if pins.returncode != 0:
            notes.append(
                f"The base {label} pins other requirements; it was built in this (the head's) "
                "environment all the same, so what the versions change does not show here."
            )
        if paths.cache.is_dir():  # the base executes only the pages the change affects
            shutil.copytree(paths.cache, base.cache)
        # The base's own jaxbook and booktools (a scratch book without booktools: these).
        python_path = [str(base.root / "src"), os.environ.get("PYTHONPATH", "")]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in python_path if p))
        failed = run_build(base, site, log, env)
        if failed is not None:
            last = (failed.strip().splitlines() or ["(no output)"])[-1]
            notes.append(
                f"The base {label} does not build ({last.strip()}; the log is "
                f"{paths.relative(log)}): the head is reported alone."
            )
            return None, notes, ""
        output = log.read_text(encoding="utf-8")
        notes += build_notes(output, "base")
        notebooks = sorted(base.executed.rglob("*.ipynb")) if base.executed.is_dir() else []
        if not notebooks:
            notes.append(
                f"The base {label} left no executed notebooks in "
                f"{paths.relative(base.executed)} (its tools predate them?): the head is "
                "reported alone."
            )
            return None, notes, ""
        # The base ran in its worktree: its outputs name that folder where the head's name the
        # root. Said the head's way, a path is not a change.
        for path in [*notebooks, *base.executed.rglob("*.glue.json")]:
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace(str(base.root), str(paths.root)), encoding="utf-8")
        summary = CACHE_SUMMARY.search(output)
        return base, notes, summary.group(0).removeprefix("cache: ") if summary else ""
    finally:
        remove_worktree(paths)
