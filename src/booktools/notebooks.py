"""Generate the notebooks that Colab opens: ``python -m booktools.notebooks --out DIR``.

One ``.ipynb`` per executable page of ``_toc.yml`` (jupytext reads the MyST source), with a
first cell that installs what the page needs when ``jaxbook`` is not importable (on Colab, or in
a reader's own Jupyter): the ``jaxbook`` package pinned to the commit that produced the notebook,
and the libraries that are missing there: at the book's versions where JAX is the book's (or
absent), else at the versions pip resolves against the reader's JAX, which it keeps. Then it
imports each library and names, in one line, any that does not import beside that JAX. On Binder
or in a checkout the cell does nothing. The executed notebook that the site's ".ipynb" download
button offers gets the same cell (``add_install_cell``, called by the build).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat

from booktools.book import Book, BookError

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


# A page shows module source with ```{literalinclude} /src/...``` (long ones inside a
# ````{dropdown}````); Jupyter renders neither directive, so a notebook gets the code itself.
# Either fence: backticks, or colons (MyST's colon_fence, as inside a tab set).
LITERALINCLUDE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{literalinclude\}[ \t]+(?P<path>\S+)[ \t]*\n"
    r"(?P<options>(?::[^:\n][^\n]*\n)*)(?P=fence)[ \t]*$",
    re.MULTILINE,
)
DROPDOWN = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{dropdown\}[ \t]*(?P<title>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


SELECTION_OPTIONS = {"pyobject", "start-at", "start-after", "end-at", "end-before", "lines"}


def included_source(path: str, options: dict[str, str], root: Path) -> str:
    """What ``literalinclude`` shows for ``path`` (from the book's root when it starts with
    ``/``) and ``options``: Sphinx's own reader, so a notebook shows what the page shows."""
    from sphinx.directives.code import LiteralIncludeReader

    filename = root / path.lstrip("/")
    if not filename.is_file():
        raise FileNotFoundError(f"literalinclude of a missing file: {path}")
    selection = {key: value for key, value in options.items() if key in SELECTION_OPTIONS}
    text, _ = LiteralIncludeReader(
        str(filename), selection, SimpleNamespace(source_encoding="utf-8")
    ).read()
    return text


def inline_listings(markdown: str, root: Path) -> str:
    """Markdown with every ``literalinclude`` replaced by a Python code block of the lines it
    selects (its caption above it), and every ``dropdown`` by an HTML ``<details>``."""

    def listing(match: re.Match) -> str:
        options = dict(
            (line[1:].split(":", 1) + [""])[:2] for line in match["options"].splitlines()
        )
        options = {key.strip(): value.strip() for key, value in options.items()}
        code = included_source(match["path"], options, root).rstrip("\n")
        caption = f"*{options['caption']}*\n\n" if options.get("caption") else ""
        return f"{caption}```python\n{code}\n```"

    def details(match: re.Match) -> str:
        title, body = match["title"].strip(), match["body"].strip()
        return f"<details><summary>{title}</summary>\n\n{body}\n\n</details>"

    return DROPDOWN.sub(details, LITERALINCLUDE.sub(listing, markdown))


def with_install_cell(
    notebook: nbformat.NotebookNode, cell: str, root: Path
) -> nbformat.NotebookNode:
    """The notebook as a reader runs it outside the book: the install cell first (replacing one
    it already has), module listings as code (Jupyter renders no ``literalinclude``), a plain
    notebook, not paired with a ``.md``."""
    for markdown in (c for c in notebook.cells if c.cell_type == "markdown"):
        markdown.source = inline_listings(markdown.source, root)
    notebook.cells = [
        c for c in notebook.cells if INSTALL_TAG not in c.get("metadata", {}).get("tags", [])
    ]
    install = nbformat.v4.new_code_cell(cell, metadata={"tags": [INSTALL_TAG]})
    if notebook.get("nbformat_minor", 0) < 5:  # cell ids came with nbformat 4.5
        install.pop("id", None)
    notebook.cells.insert(0, install)
    notebook.metadata.pop("jupytext", None)
    return notebook


def add_install_cell(book: Book, paths: list[Path], package: str | None = None) -> None:
    """Give each written notebook (e.g. the executed one the site offers for download) the
    install cell, so that it runs where a reader opens it."""
    cell = install_cell_source(package or default_package(book), book.pins)
    for path in paths:
        notebook = with_install_cell(nbformat.read(path, as_version=4), cell, book.paths.root)
        nbformat.write(notebook, path)


def generate(book: Book, out: Path, package: str) -> list[Path]:
    """The Colab notebooks of every executable page, in ``out`` (mirroring the book)."""
    cell = install_cell_source(package, book.pins)
    written = []
    for page in book.executable_pages:
        notebook = with_install_cell(page.notebook(), cell, book.paths.root)
        target = out / page.path.relative_to(book.paths.root).with_suffix(".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        written.append(target)
    return written


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
    args = parser.parse_args(argv)
    book = Book()
    package = args.package or default_package(book)
    for path in generate(book, args.out, package):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
