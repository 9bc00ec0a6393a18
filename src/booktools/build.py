"""The strict build: ``python -m booktools.build`` (what ``make book`` runs).

Jupyter Book writes into a staging folder; only a build with no error and no warning replaces
``_build/html`` and ``_build/jupyter_execute``, so a failed build never leaves a half-written
site that looks good. When a page fails, the error report that myst-nb wrote for it is printed,
so the log names the page, the cell and the error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from booktools import BUILD, ROOT

STAGING = BUILD / ".staging"
PUBLISHED = ("html", "jupyter_execute")


def jupyter_book_command(staging: Path, config: Path | None = None) -> list[str]:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return [
        str(jupyter_book),
        "build",
        str(ROOT),
        *(["--config", str(config)] if config else []),
        "--path-output",
        str(staging),
        "--all",  # execute every page on every build: outputs never lag behind src/
        "-W",  # warnings are errors
        "-n",  # nitpicky: broken references are warnings, hence errors
        "--keep-going",  # report every problem of the build, not only the first
        "--builder",
        "html",
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


def publish(staging: Path) -> None:
    """Replace the published folders with the staged ones, each by one rename."""
    for name in PUBLISHED:
        fresh, target = staging / "_build" / name, BUILD / name
        incoming, outgoing = BUILD / f".incoming-{name}", BUILD / f".outgoing-{name}"
        for leftover in (incoming, outgoing):
            shutil.rmtree(leftover, ignore_errors=True)
        shutil.copytree(fresh, incoming)
        if target.exists():
            target.rename(outgoing)
        incoming.rename(target)
        shutil.rmtree(outgoing, ignore_errors=True)


def single_page_config(page: str, staging: Path) -> Path:
    """A copy of _config.yml that executes only ``page`` (the others render without outputs)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    others = sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.md") if p != ROOT / page
    )
    config.setdefault("execute", {})["exclude_patterns"] = others
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / "_config.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def toc_files(node: object) -> list[str | None]:
    """Every ``file:`` of a Jupyter Book table of contents, at any depth (parts, chapters,
    sections); ``None`` for an entry that is neither a file, a glob nor a URL."""
    files: list[str | None] = []
    if isinstance(node, dict):
        if "file" in node:
            files.append(node["file"])
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                if isinstance(child, dict) and not {
                    "file",
                    "glob",
                    "url",
                    "parts",
                    "chapters",
                    "sections",
                    "caption",
                } & set(child):
                    files.append(None)
                files += toc_files(child)
    return files


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
    args = parser.parse_args(argv)
    problems = configuration_problems()
    if problems:
        for problem in problems:
            print(f"BUILD FAILED: {problem}", file=sys.stderr)
        return 1
    BUILD.mkdir(parents=True, exist_ok=True)
    staging = BUILD / f"page-{Path(args.page).stem}" if args.page else STAGING
    config = single_page_config(args.page, staging) if args.page else None
    # Every page is executed on every build, so nothing of an earlier build is reused: a fresh
    # staging folder cannot carry a deleted page's notebook or an old error report forward.
    shutil.rmtree(staging / "_build", ignore_errors=True)
    env = dict(os.environ, PYTHONHASHSEED="0")
    start = time.perf_counter()
    result = subprocess.run(jupyter_book_command(staging, config), cwd=ROOT, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0 or failure_reports(staging):
        print_failure(staging, result.returncode)
        return 1
    if args.page:
        print(f"\n{args.page} built in {elapsed:.0f} s: {staging / '_build' / 'html'}")
        return 0
    publish(staging)
    print(f"\nBuilt in {elapsed:.0f} s. The site is {BUILD / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
