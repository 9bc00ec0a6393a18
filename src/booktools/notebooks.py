"""Write the notebooks readers open: ``python -m booktools.notebooks --out DIR [--binder]``.

One ``.ipynb`` per executable page of ``_toc.yml``, made from the last build's executed notebook
by :mod:`booktools.reader_notebooks` (plain Markdown, the build's outputs, answers collapsed),
after a notice of the versions it was built with and an *install cell*, which installs what the
page needs when ``jaxbook`` is not importable (on Colab, or in a reader's own Jupyter): the
``jaxbook`` package pinned to the commit that produced the notebook, and the libraries that are
missing there: at the book's versions where JAX is the book's (or absent), else at the versions
pip resolves against the reader's JAX, which it keeps. Then it imports each library and names,
in one line, any that does not import beside that JAX. On Binder or in a checkout the cell does
nothing. ``--binder`` also writes Binder's environment beside them: the publish workflow pushes
the folder to the ``notebooks`` branch, which Colab and Binder open
(:mod:`booktools.launch_ext`). The build writes the same notebooks, without the note on Colab's
GPU, behind the site's ".ipynb" download button (:func:`generate`, called by
:mod:`booktools.build`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from booktools.book import Book, BookError, Page
from booktools.reader_links import BookLinks
from booktools.reader_markdown import ReaderError
from booktools.reader_notebooks import built_with, executed_page, reader_notebook, stale

# What a page needs, by import name: installed only where it is missing. Colab lacks Haiku (and
# may lack Flax, Optax, ...), a reader's own Jupyter may lack JAX too. Colab's own JAX, NumPy and
# Matplotlib are never replaced: its JAX matches its accelerator.
PAGE_LIBRARIES = {
    "jax": "jax",
    "jaxlib": "jaxlib",
    "numpy": "numpy",
    "matplotlib": "matplotlib",
    "flax": "flax",
    "optax": "optax",
    "haiku": "dm-haiku",
    "orbax.checkpoint": "orbax-checkpoint",
    "sklearn": "scikit-learn",
    "scipy": "scipy",
}

INSTALL_TAG = "colab-install"
# The cell is this header (what the book pins) and INSTALL_CELL_CODE. Where JAX is the book's
# version, or absent, the missing libraries come at the book's versions. Beside another JAX (a
# Colab runtime, a reader's own Jupyter) those pins may not import at all (Flax 0.12.8 under JAX
# 0.11), so pip resolves the missing libraries against the reader's JAX instead: unpinned, with
# `jax==<installed>` and `jaxlib==<installed>` beside them so that pip cannot replace it.
INSTALL_CELL_HEADER = """\
# Outside the book (Colab, your own Jupyter): install the book's package and what this page
# needs, unless the package is already importable (on Binder or in a checkout of the book this
# cell does nothing). Beside the JAX the book was built with (or where there is no JAX), the
# missing libraries come at the book's versions; beside another JAX, at versions pip picks for
# that JAX, which stays as it is.
BOOK_PACKAGE = {package!r}
BOOK_VERSIONS = {{  # import name: (distribution, the book's version)
{versions}}}
"""
INSTALL_CELL_CODE = """\
import importlib
import importlib.metadata
import importlib.util
import subprocess
import sys


def install_what_this_page_needs():
    def missing(module):
        try:
            return importlib.util.find_spec(module) is None
        except ModuleNotFoundError:  # its parent package is missing too
            return True

    def installed(distribution):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    if not missing("jaxbook"):
        return
    absent = [module for module in BOOK_VERSIONS if missing(module)]
    your_jax = None if missing("jax") else installed("jax")
    if your_jax in (None, BOOK_VERSIONS["jax"][1]):
        packages = [f"{BOOK_VERSIONS[m][0]}=={BOOK_VERSIONS[m][1]}" for m in absent]
    else:  # keep your JAX: pip picks the versions of the others that go with it
        packages = [BOOK_VERSIONS[m][0] for m in absent]
        packages += [f"{d}=={installed(d)}" for d in ("jax", "jaxlib") if installed(d)]
    command = [sys.executable, "-m", "pip", "install", "--quiet", BOOK_PACKAGE, *packages]
    if subprocess.run(command).returncode != 0:
        print("pip could not install what this page needs (its message is above)")
    importlib.invalidate_caches()
    for module, (distribution, _) in BOOK_VERSIONS.items():
        try:
            importlib.import_module(module)
        except Exception as error:
            reason = (str(error).splitlines() or [""])[0]
            print(
                f"{distribution} {installed(distribution) or '(not installed)'} does not "
                f"import beside JAX {installed('jax') or '(not installed)'}: "
                f"{type(error).__name__}: {reason}"
            )


install_what_this_page_needs()
"""
INSTALL_CELL = INSTALL_CELL_HEADER + INSTALL_CELL_CODE


def install_cell_source(package: str, pins: dict[str, str]) -> str:
    entries = []
    for module, distribution in PAGE_LIBRARIES.items():
        if distribution not in pins:
            raise BookError(f"requirements.txt pins no version of {distribution}")
        entries.append(f"    {module!r}: ({distribution!r}, {pins[distribution]!r}),\n")
    header = INSTALL_CELL_HEADER.format(package=package, versions="".join(entries))
    return header + INSTALL_CELL_CODE


def install_cell(package: str, pins: dict[str, str]) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(install_cell_source(package, pins))
    cell.metadata["tags"] = [INSTALL_TAG]
    return cell


def generate(
    book: Book,
    out: Path,
    package: str,
    executed: Path | None = None,
    pages: list[Page] | None = None,
    colab: bool = True,
) -> list[Path]:
    """The reader notebooks of ``pages`` (every executable page by default) in ``out``
    (mirroring the book), made from the executed notebooks in ``executed`` (the last build's,
    ``_build/jupyter_execute``, by default): the notice, the install cell, then the page as
    :mod:`booktools.reader_notebooks` lays it out. ``colab`` adds the note on choosing a GPU.
    An executed notebook that is missing, or older than its page's code, is an error."""
    executed = executed or book.paths.executed
    links = BookLinks.of(book)
    cell = install_cell(package, book.pins)
    written = []
    for page in book.executable_pages if pages is None else pages:
        notebook, glued = executed_page(executed, page.docname)
        if stale(notebook, page.notebook()):
            raise ReaderError(
                f"{executed / page.docname}.ipynb is older than {page.docname}.md's code: "
                "build the book again"
            )
        reader = reader_notebook(
            notebook,
            glued,
            page.docname,
            links,
            book.paths.root,
            built_with(notebook, book.pins),
            install=cell,
            colab=colab,
        )
        target = out / f"{page.docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(reader, target)
        written.append(target)
    return written


# What Binder needs to build the notebooks branch as it builds the book's repository: its
# environment (.binder: Python, the reader's lock, postBuild, which installs the package).
BINDER_FILES = (".binder", "pyproject.toml", "README.md", "src/jaxbook")


def write_binder_environment(book: Book, out: Path) -> None:
    """Make ``out`` a folder Binder can launch: the book's Binder environment and package."""
    for name in BINDER_FILES:
        source, target = book.paths.root / name, out / name
        if source.is_dir():
            shutil.copytree(
                source,
                target,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
            )
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)


def current_commit(root: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def default_package(book: Book) -> str:
    """``jaxbook`` as pip installs it from the repository: ``$JAXBOOK_NOTEBOOK_PACKAGE`` if set
    (a test points it at a local copy), else the commit being built, else the book's branch
    (a copy of the book that is not a git checkout)."""
    if os.environ.get("JAXBOOK_NOTEBOOK_PACKAGE"):
        return os.environ["JAXBOOK_NOTEBOOK_PACKAGE"]
    repository = book.config["repository"]
    try:
        revision = current_commit(book.paths.root)
    except (OSError, subprocess.CalledProcessError):
        revision = repository.get("branch", "main")
    return f"jaxbook @ git+{repository['url'].rstrip('/')}@{revision}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write notebooks to")
    parser.add_argument(
        "--package",
        help="pip requirement for jaxbook (default: the repository at the current commit)",
    )
    parser.add_argument(
        "--executed",
        type=Path,
        help="the executed notebooks (default: the last build's, _build/jupyter_execute)",
    )
    parser.add_argument(
        "--binder",
        action="store_true",
        help="also write Binder's environment, so that Binder can launch the folder",
    )
    args = parser.parse_args(argv)
    book = Book()
    package = args.package or default_package(book)
    try:
        written = generate(book, args.out, package, executed=args.executed)
    except ReaderError as error:
        print(f"notebooks: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    if args.binder:
        write_binder_environment(book, args.out)
        print(f"wrote Binder's environment into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
