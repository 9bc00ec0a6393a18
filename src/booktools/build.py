"""The strict build: ``python -m booktools.build`` (what ``make book`` runs).

Jupyter Book writes into a staging folder; only a build with no error and no warning replaces
``_build/html`` and ``_build/jupyter_execute``, so a failed build never leaves a half-written
site that looks good. When a page fails, the error report that myst-nb wrote for it is printed,
so the log names the page, the cell and the error.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from booktools import BUILD, ROOT, cache
from booktools.notebooks import add_install_cell, notebook_pages, toc_files

STAGING = BUILD / ".staging"
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
PUBLISHED = ("html", "jupyter_execute")


def jupyter_book_command(
    staging: Path, config: Path | None = None, builder: str = "html"
) -> list[str]:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return [
        str(jupyter_book),
        "build",
        str(ROOT),
        *(["--config", str(config)] if config else []),
        "--path-output",
        str(staging),
        "--all",  # a fresh Sphinx environment: no page is left unwritten (outputs: cache.py)
        "-W",  # warnings are errors
        "-n",  # nitpicky: broken references are warnings, hence errors
        "--keep-going",  # report every problem of the build, not only the first
        "--builder",
        builder,
    ]


def failure_reports(staging: Path) -> list[Path]:
    reports = staging / "_build" / "html" / "reports"
    return sorted(reports.rglob("*.log")) if reports.is_dir() else []


def print_failure(staging: Path, returncode: int) -> None:
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
        f"{BUILD / 'html'} still holds the last good build, if there was one.",
        file=sys.stderr,
    )


def publish(staging: Path, names: tuple[str, ...] = PUBLISHED) -> None:
    """Replace the published folders with the staged ones, each by one rename."""
    for name in names:
        fresh, target = staging / "_build" / name, BUILD / name
        incoming, outgoing = BUILD / f".incoming-{name}", BUILD / f".outgoing-{name}"
        for leftover in (incoming, outgoing):
            shutil.rmtree(leftover, ignore_errors=True)
        shutil.copytree(fresh, incoming)
        if target.exists():
            target.rename(outgoing)
        incoming.rename(target)
        shutil.rmtree(outgoing, ignore_errors=True)


def load_config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def write_config(config: dict, staging: Path) -> Path:
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / "_config.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def single_page_config(page: Path, staging: Path) -> Path:
    """A copy of _config.yml for writing one page: it takes every page's outputs from the cache,
    and renders the pages that have no valid cached notebook without outputs (and without the
    glued values they would provide), instead of executing them."""
    config = load_config()
    others = [p for p in notebook_pages() if p != page]
    missing = sorted(str(p.relative_to(ROOT)) for p in set(others) - cache.cached_pages(others))
    execute = config.setdefault("execute", {})
    execute.update(execute_notebooks="cache", cache=str(cache.CACHE), exclude_patterns=missing)
    if missing:
        sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
        sphinx_config["suppress_warnings"] = [
            *sphinx_config.get("suppress_warnings", []),
            "mystnb.glue",
        ]
    return write_config(config, staging)


def cached_build_config(staging: Path) -> Path:
    """A copy of _config.yml that takes every page's outputs from the prepared cache."""
    config = load_config()
    config.setdefault("execute", {}).update(execute_notebooks="cache", cache=str(cache.CACHE))
    return write_config(config, staging)


def configuration_problems(root: Path = ROOT) -> list[str]:
    """Problems in _config.yml and _toc.yml that Jupyter Book reports obscurely, or not at all."""
    problems, data = [], {}
    for name in ("_config.yml", "_toc.yml"):
        path = root / name
        try:
            data[name] = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            problems.append(f"{name}: missing")
        except yaml.YAMLError as error:
            problems.append(f"{name}: not valid YAML: {error}")
        else:
            if not isinstance(data[name], dict):
                problems.append(f"{name}: expected a mapping at the top level")
    toc = data.get("_toc.yml")
    if isinstance(toc, dict):
        for entry in [toc.get("root"), *toc_files(toc)]:
            if not entry or not any((root / f"{entry}{s}").exists() for s in ("", ".md", ".ipynb")):
                problems.append(f"_toc.yml: entry {entry!r} names no file of the book")
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
    problems = configuration_problems()
    if problems:
        for problem in problems:
            print(f"BUILD FAILED: {problem}", file=sys.stderr)
        return 1
    page = (ROOT / args.page).resolve() if args.page else None
    if page and page not in notebook_pages():
        print(
            f"BUILD FAILED: {args.page} is not an executable page of _toc.yml: add it to "
            "_toc.yml (with the jupytext header of an existing page) first.",
            file=sys.stderr,
        )
        return 1
    BUILD.mkdir(parents=True, exist_ok=True)
    staging = BUILD / f"page-{Path(args.page).stem}" if args.page else STAGING
    # The staging folder starts empty: it cannot carry a deleted page's notebook or an old
    # error report forward. Executed notebooks are reused only through the cache (cache.py).
    shutil.rmtree(staging / "_build", ignore_errors=True)
    start = time.perf_counter()
    timeout = int(load_config().get("execute", {}).get("timeout", 120))
    prepared = cache.prepare([page] if page else notebook_pages(), timeout=timeout)
    if prepared.failed:
        for name, error in prepared.failed:
            print(f"\n===== {name} failed to execute: =====\n{error}", file=sys.stderr)
        print(
            f"\nBUILD FAILED: {', '.join(p for p, _ in prepared.failed)} failed to execute "
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
        try:
            cache.export_executed(notebook_pages(), staging / "_build" / "jupyter_execute")
        except RuntimeError as error:
            print(f"BUILD FAILED: {error}", file=sys.stderr)
            return 1
        publish(staging, ("jupyter_execute",))
        elapsed = time.perf_counter() - start
        print(f"\nExecuted in {elapsed:.0f} s: {BUILD / 'jupyter_execute'} (no site built)")
        return 0
    config = single_page_config(page, staging) if page else cached_build_config(staging)
    env = dict(os.environ, PYTHONHASHSEED="0")
    print("sphinx: writing the site ...", flush=True)
    # Jupyter Book's log (its banner, the parser configuration, a line per page read, written
    # and copied) is kept, and shown only when the build fails: under -W any warning does.
    result = subprocess.run(
        jupyter_book_command(staging, config),
        cwd=ROOT,
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
        print_failure(staging, result.returncode)
        return 1
    executed = [page] if page else notebook_pages()
    try:
        cache.export_executed(executed, staging / "_build" / "jupyter_execute")
        # The ".ipynb" download button offers the executed notebook, with the install cell of
        # the Colab notebooks first, so that it runs in a reader's own Jupyter too.
        downloads = staging / "_build" / "html" / "_sources"
        add_install_cell(cache.export_executed(executed, downloads, glue=False))
    except RuntimeError as error:
        print(f"BUILD FAILED: {error} Nothing was published.", file=sys.stderr)
        return 1
    if args.page:
        print(f"\n{args.page} built in {elapsed:.0f} s: {staging / '_build' / 'html'}")
        return 0
    publish(staging)
    print(f"\nBuilt in {elapsed:.0f} s. The site is {BUILD / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
