"""The strict build: ``python -m booktools.build`` (what ``make book`` runs).

Jupyter Book writes into a staging folder; only a build with no error and no warning replaces
``_build/html`` and ``_build/jupyter_execute``, so a failed build never leaves a half-written
site that looks good. When a page fails, the error report that myst-nb wrote for it is printed,
so the log names the page, the cell and the error. The lean path (``--execute-only``, no site)
exports every page that executed even when others failed, names those in the export
(:data:`booktools.cache.FAILED_PAGES`, which the output checker reports) and exits with
:data:`PAGES_FAILED`.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from booktools import cache
from booktools.book import Book, BookError, Page, Paths
from booktools.notebooks import default_package, generate
from booktools.reader_markdown import ReaderError

ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
PUBLISHED = ("html", "jupyter_execute")
# The exit status of --execute-only when some pages failed and the others were exported (and
# can be checked); any other failure exits with 1 and exports nothing.
PAGES_FAILED = 3


def jupyter_book_command(
    paths: Paths,
    staging: Path,
    config: Path | None = None,
    builder: str = "html",
    strict: bool = True,
) -> list[str]:
    """The jupyter-book command line; ``strict=False`` lets warnings pass (the link check
    renders pages without their outputs, and judges the links by its own report)."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    strict_flags = [
        "-W",  # warnings are errors
        "-n",  # nitpicky: broken references are warnings, hence errors
        "--keep-going",  # report every problem of the build, not only the first
    ]
    return [
        str(jupyter_book),
        "build",
        str(paths.root),
        *(["--config", str(config)] if config else []),
        "--path-output",
        str(staging),
        "--all",  # a fresh Sphinx environment: no page is left unwritten (outputs: cache.py)
        *(strict_flags if strict else []),
        "--builder",
        builder,
    ]


def failure_reports(staging: Path) -> list[Path]:
    reports = staging / "_build" / "html" / "reports"
    return sorted(reports.rglob("*.log")) if reports.is_dir() else []


def print_failure(paths: Paths, staging: Path, returncode: int) -> None:
    print(f"\nBUILD FAILED (jupyter-book exited with {returncode}).", file=sys.stderr)
    for report in failure_reports(staging):
        page = report.relative_to(staging / "_build" / "html" / "reports").with_suffix("")
        page = str(page).removesuffix(".err")
        print(
            f"\n===== page {page}.md failed to execute; its report ({report}): =====",
            file=sys.stderr,
        )
        print(report.read_text(encoding="utf-8", errors="replace"), file=sys.stderr)
    print(
        "\nThe warnings and errors above name each file. Nothing was published: "
        f"{paths.html} still holds the last good build, if there was one.",
        file=sys.stderr,
    )


def publish(paths: Paths, staging: Path, names: tuple[str, ...] = PUBLISHED) -> None:
    """Replace the published folders with the staged ones, each by one rename."""
    for name in names:
        fresh, target = staging / "_build" / name, paths.build / name
        incoming, outgoing = paths.build / f".incoming-{name}", paths.build / f".outgoing-{name}"
        for leftover in (incoming, outgoing):
            shutil.rmtree(leftover, ignore_errors=True)
        shutil.copytree(fresh, incoming)
        if target.exists():
            target.rename(outgoing)
        incoming.rename(target)
        shutil.rmtree(outgoing, ignore_errors=True)


def write_config(config: dict, staging: Path) -> Path:
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / "_config.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def single_page_config(book: Book, page: Page, staging: Path) -> Path:
    """A copy of _config.yml for writing one page: it takes every page's outputs from the cache,
    and renders the pages that have no valid cached notebook without outputs (and without the
    glued values they would provide), instead of executing them."""
    config = copy.deepcopy(book.config)
    others = [p for p in book.executable_pages if p is not page]
    valid = cache.cached_pages(book, others)
    missing = sorted(book.paths.relative(p.path) for p in others if p not in valid)
    execute = config.setdefault("execute", {})
    execute.update(execute_notebooks="cache", cache=str(book.paths.cache), exclude_patterns=missing)
    if missing:
        sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
        sphinx_config["suppress_warnings"] = [
            *sphinx_config.get("suppress_warnings", []),
            "mystnb.glue",
        ]
    return write_config(config, staging)


def cached_build_config(book: Book, staging: Path) -> Path:
    """A copy of _config.yml that takes every page's outputs from the prepared cache."""
    config = copy.deepcopy(book.config)
    config.setdefault("execute", {}).update(execute_notebooks="cache", cache=str(book.paths.cache))
    return write_config(config, staging)


def configuration_problems(book: Book) -> list[str]:
    """Problems in _config.yml, _toc.yml and requirements.txt that Jupyter Book reports
    obscurely, or not at all."""
    problems = []
    for read in (lambda: book.config, lambda: book.docnames, lambda: book.pins):
        try:
            read()
        except BookError as error:
            problems.append(str(error))
    if not problems:
        problems += [
            f"_toc.yml: entry {name!r} names no file of the book" for name in book.missing_sources()
        ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--page",
        help="execute only this page (e.g. book/jit.md) into _build/page-<name>/, for writing a "
        "page; publishes nothing",
    )
    parser.add_argument(
        "--execute-only",
        action="store_true",
        help="execute every page into _build/jupyter_execute (for the output checker) without "
        "building the site: the lean path of a GPU machine or a numerics variant",
    )
    args = parser.parse_args(argv)
    if args.page and args.execute_only:
        parser.error("--page and --execute-only do not go together")
    os.environ.setdefault("PYTHONHASHSEED", "0")  # for the kernels too
    book = Book(Paths.from_environment())
    paths = book.paths
    problems = configuration_problems(book)
    if problems:
        for problem in problems:
            print(f"BUILD FAILED: {problem}", file=sys.stderr)
        return 1
    page = book.find(paths.root / args.page) if args.page else None
    if args.page and (page is None or not page.executes):
        print(
            f"BUILD FAILED: {args.page} is not an executable page of _toc.yml: add it to "
            "_toc.yml (with the jupytext header of an existing page) first.",
            file=sys.stderr,
        )
        return 1
    paths.build.mkdir(parents=True, exist_ok=True)
    staging = paths.page_build(page.docname) if page else paths.staging
    # The staging folder starts empty: it cannot carry a deleted page's notebook or an old
    # error report forward. Executed notebooks are reused only through the cache (cache.py).
    shutil.rmtree(staging / "_build", ignore_errors=True)
    start = time.perf_counter()
    executed = [page] if page else book.executable_pages
    prepared = cache.prepare(book, executed)
    failed = ", ".join(p for p, _ in prepared.failed)
    for name, error in prepared.failed:
        print(f"\n===== {name} failed to execute: =====\n{error}", file=sys.stderr)
    if prepared.failed and not args.execute_only:
        print(
            f"\nBUILD FAILED: {failed} failed to execute "
            "(the cell and the error are above). Nothing was published.",
            file=sys.stderr,
        )
        return 1
    print(
        f"cache: {len(prepared.executed)} page(s) executed, "
        f"{len(prepared.reused)} taken from the cache",
        flush=True,
    )
    if args.execute_only:
        # The lean path exports every page that executed, and names the others in the export,
        # so that the output checker checks what ran and reports what did not.
        export = staging / "_build" / "jupyter_execute"
        try:
            cache.export_executed(book, executed, export, failed=prepared.failed)
        except RuntimeError as error:
            print(f"BUILD FAILED: {error}", file=sys.stderr)
            return 1
        publish(paths, staging, ("jupyter_execute",))
        elapsed = time.perf_counter() - start
        if prepared.failed:
            print(
                f"\nBUILD FAILED: {failed} failed to execute (the cell and the error are "
                f"above). The {len(executed) - len(prepared.failed)} other page(s) are in "
                f"{paths.executed}, the failed ones named in its {cache.FAILED_PAGES}: "
                "`python -m booktools.outputs check` checks them.",
                file=sys.stderr,
            )
            return PAGES_FAILED
        print(f"\nExecuted in {elapsed:.0f} s: {paths.executed} (no site built)")
        return 0
    config = single_page_config(book, page, staging) if page else cached_build_config(book, staging)
    env = dict(os.environ, PYTHONHASHSEED="0")
    print("sphinx: writing the site ...", flush=True)
    # Jupyter Book's log (its banner, the parser configuration, a line per page read, written
    # and copied) is kept, and shown only when the build fails: under -W any warning does.
    result = subprocess.run(
        jupyter_book_command(paths, staging, config),
        cwd=paths.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sphinx_log = ANSI_COLOUR.sub("", result.stdout)
    (staging / "jupyter-book.log").write_text(sphinx_log, encoding="utf-8")
    elapsed = time.perf_counter() - start
    if result.returncode != 0 or failure_reports(staging):
        print(sphinx_log, file=sys.stderr)
        print_failure(paths, staging, result.returncode)
        return 1
    try:
        exported = staging / "_build" / "jupyter_execute"
        cache.export_executed(book, executed, exported)
        # The ".ipynb" download button offers the reader notebook made from the executed page
        # (booktools.reader_notebooks), with the Colab notebooks' install cell, so that it
        # reads like the page and runs in a reader's own Jupyter too.
        downloads = staging / "_build" / "html" / "_sources"
        package = default_package(book)
        generate(book, downloads, package, executed=exported, pages=executed, colab=False)
    except (RuntimeError, ReaderError) as error:
        print(f"BUILD FAILED: {error} Nothing was published.", file=sys.stderr)
        return 1
    if page:
        print(f"\n{args.page} built in {elapsed:.0f} s: {staging / '_build' / 'html'}")
        return 0
    publish(paths, staging)
    print(f"\nBuilt in {elapsed:.0f} s. The site is {paths.html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
