"""What a change did to the book: ``python -m booktools.review --base <commit>`` (``make review
BASE=<commit>``), a Markdown report in ``_build/review.md``, also printed (CI appends it to the
job summary of a pull request).

For each page where something changed, the report names:

* the cells whose outputs changed, old → new, in the output checker's record form (a volatile
  cell by its form only), with the numbers that moved marked ``>>> <<<``; new and removed cells;
* the glued values that changed, and the claims added, removed, now failing or now holding;
* new, changed and removed figures, by name, with their alt text; and each whose image changed,
  old beside new, in one self-contained HTML file, ``_build/review/figures.html``, which the
  report links to;
* the page's execution time and weight, when either moved by more than a rebuild moves it;
* what the output checker flags on the head, and accessibility findings (a figure without alt
  text, an image of the page's HTML without an ``alt``).

A page where nothing changed is not shown.

Both sides are built on this machine, in this environment, through the execution cache, so what
differs is what the change did. The *head* is the working tree: its last build (``_build``) is
used when it is current (every page's executed notebook was made from its present code and
``jaxbook`` modules, the cache agrees with this environment, the site is newer than every
source), else it is built first; only what changed executes. The *base* is checked out in a
detached ``git worktree`` under ``_build/review/`` and built with its own ``booktools`` into
``_build/review/build``, whose execution cache starts as a copy of the head's: only the pages the
change affects execute again. ``--no-site`` takes the lean path (pages executed, no site):
about 15 s less per side on the real book (2 cores), and no page weights.

What cannot be compared is said in one line at the top, never replaced by an older result: an
unknown base, or a base that does not build or leaves no executed notebooks (the head is then
reported alone, after a full build if it was not current); a cache that could not be read or
was made in another environment (that side executes every page); a base whose requirements
differ (it is built in the head's environment all the same).

This module is the command: it decides what to build and runs the parts. What changed, page by
page, is :mod:`booktools.review_changes`; how it is shown (the Markdown, the figures' HTML),
:mod:`booktools.review_report`; building the base (and the head), :mod:`booktools.review_base`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from booktools.book import Book, Paths
from booktools.records import CheckerError
from booktools.review_base import (
    build_base,
    build_notes,
    describe_commit,
    describe_head,
    git,
    resolve_commit,
    review_folder,
    run_build,
)
from booktools.review_changes import (
    PageBuild,
    PageReview,
    checker_flags,
    code,
    load_side,
    review_book,
)
from booktools.review_report import FiguresLink, figures_html, render

# What the book is built from: a site older than any of these is stale.
SOURCES = ("book", "src", "_config.yml", "_toc.yml", "requirements.txt", "requirements.lock")


def newest_source(root: Path) -> float:
    listed = git(root, "ls-files", "-co", "--exclude-standard", "--", *SOURCES).stdout.split("\n")
    times = [(root / p).stat().st_mtime for p in listed if p and (root / p).is_file()]
    return max(times, default=0.0)


def head_staleness(book: Book, site: bool) -> tuple[str | None, bool]:
    """(why the head's last build cannot be used, or None; whether the cache is the reason)."""
    from booktools import cache

    paths, pages = book.paths, book.executable_pages
    for page in pages:
        notebook = paths.executed / f"{page.docname}.ipynb"
        if not notebook.is_file():
            where = paths.relative(notebook.parent)
            return f"{page.docname}.md has no executed notebook in {where}", False
        stamp = json.loads(notebook.read_text(encoding="utf-8"))["metadata"].get("jaxbook", {})
        if stamp.get("code_digest") != cache.code_digest(page, paths):
            return (
                f"{page.docname}.md (or a jaxbook module it imports) changed since it was executed",
                False,
            )
    if len(cache.cached_pages(book, pages)) != len(pages):
        return (
            "execution cache cannot be read or was made in another environment, so the "
            "head's executed notebooks may be stale: the head was built again",
            True,
        )
    if site:
        html = [paths.html / f"{page.docname}.html" for page in pages]
        if not all(p.is_file() for p in html):
            return "no site was built (`make execute` builds none)", False
        if min(p.stat().st_mtime for p in html) < newest_source(paths.root):
            return "the site is older than the book's sources", False
    return None, False


def figures_file(paths: Paths) -> Path:
    """The figures' HTML: beside the base's build, in the folder CI uploads."""
    return review_folder(paths) / "figures.html"


def write_figures(
    paths: Paths,
    output: Path,
    reviews: list[PageReview],
    head_label: str,
    base_label: str | None,
) -> FiguresLink | None:
    """Write the figures whose image changed, old beside new (:func:`figures_html`), and say
    where they are for the report ``output``; None (and no file) when no image changed."""
    target = figures_file(paths)
    page = figures_html(reviews, head_label, base_label)
    if page is None:
        target.unlink(missing_ok=True)  # an earlier review's figures are not this one's
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return FiguresLink(
        href=Path(os.path.relpath(target, output.parent)).as_posix(),
        local=paths.relative(target),
        in_artifact=target.relative_to(paths.build).as_posix(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with, e.g. main")
    parser.add_argument(
        "--no-site",
        action="store_true",
        help="the lean path: execute the pages, build no site (no page weights)",
    )
    parser.add_argument(
        "--output", type=Path, help="the Markdown report (default: _build/review.md)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    book = Book(Paths.from_environment())
    paths = book.paths
    output = args.output or paths.build / "review.md"
    site = not args.no_site
    notes: list[str] = []
    head_label = describe_head(paths.root)
    figures_file(paths).unlink(missing_ok=True)  # whatever happens, no earlier review's

    stale, cache_problem = head_staleness(book, site)
    if stale:
        print(f"review: {stale}: building the head first", file=sys.stderr, flush=True)
        if cache_problem:
            notes.append(f"The head's {stale}.")
        log = review_folder(paths) / "head-build.log"
        if run_build(paths, site, log, dict(os.environ)) is not None:
            return finish(
                paths,
                output,
                f"# What the change does to the book\n\nThe head does not build, so there is "
                f"nothing to review (the log is {paths.relative(log)}; `make book` shows the "
                "failure).\n",
                1,
            )
        notes += build_notes(log.read_text(encoding="utf-8"), "head")
    head = load_side(paths.root, paths.executed, paths.html if site else None, paths.cache)

    base: dict[str, PageBuild] | None = None
    base_label = None
    commit = resolve_commit(paths.root, args.base)
    if commit is None:
        notes.insert(
            0,
            f"{code(args.base)} is not a commit of this repository (fetched?): there is no base "
            "to compare with, so the head is reported alone.",
        )
    else:
        built, base_notes, summary = build_base(paths, commit, site)
        notes += base_notes
        if built is not None:
            try:
                base = load_side(
                    paths.root, built.executed, built.html if site else None, built.cache
                )
                base_label = describe_commit(paths.root, commit) + (
                    f" (base build: {summary})" if summary else ""
                )
            except CheckerError as error:
                notes.append(
                    f"The base's executed notebooks cannot be read ({error}): the head "
                    "is reported alone."
                )
    flags, book_flags = checker_flags(paths, paths.executed, list(head))
    reviews = review_book(base, head, flags)
    figures = write_figures(paths, output, reviews, head_label, base_label)
    report = render(reviews, notes, book_flags, head_label, base_label, figures)
    return finish(paths, output, report, 0)


def finish(paths: Paths, output: Path, report: str, status: int) -> int:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report, encoding="utf-8")
    print(report, end="")
    print(f"review: written to {paths.relative(output)}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
