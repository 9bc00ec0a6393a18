"""One model of the book for every tool: where its files are, its pages, its pins.

* :class:`Paths` — the book's root and build folder, and every file the tools read or write
  under them. It is made once (from ``JAXBOOK_ROOT``/``JAXBOOK_BUILD``, or explicitly) and
  passed along; no module reads a path from a global fixed at import.
* :class:`Book` — the table of contents (parsed by ``sphinx_external_toc``, the parser Jupyter
  Book itself uses, so a malformed ``_toc.yml`` is reported as Jupyter Book would), each page
  read once into a :class:`Page` record, and the pins of ``requirements.txt`` (parsed with
  ``packaging``).
* :class:`Page` — one source file: its front matter, its notebook as jupytext reads it (what
  the execution cache keys on), its code as Python, the ``jaxbook`` modules it imports
  (directly or through other ``jaxbook`` modules), whether it executes and whether it times
  code.

``python -m booktools.book pin NAME`` prints a pinned version (the Makefile's one way to read
a pin); ``python -m booktools.book pages`` lists the pages and what the model knows of them.
"""

from __future__ import annotations

import argparse
import ast
import copy
import dataclasses
import functools
import os
import sys
from pathlib import Path
from typing import Any

from booktools.cells import as_python, is_timed, timing_names  # stdlib only, as this module

PACKAGE = "jaxbook"  # the package the pages import, in src/
SOURCE_SUFFIXES = (".md", ".ipynb")


class BookError(Exception):
    """The book's configuration cannot be read; the message names the file."""


# --------------------------------------------------------------------------- paths


@dataclasses.dataclass(frozen=True)
class Paths:
    """Where the book is (``root``: ``_config.yml``, ``_toc.yml``, ``book/``, ``src/``) and
    where it is built (``build``, by default ``root/_build``)."""

    root: Path
    build: Path

    @classmethod
    def at(cls, root: Path | str, build: Path | str | None = None) -> Paths:
        root = Path(root).resolve()
        return cls(root, Path(build).resolve() if build else root / "_build")

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Paths:
        """``JAXBOOK_ROOT`` points the tools at another book (the fault tests build scratch
        copies), ``JAXBOOK_BUILD`` at another build folder (a numerics variant, the canary);
        by default the checkout this package is in."""
        environ = os.environ if environ is None else environ
        root = environ.get("JAXBOOK_ROOT") or Path(__file__).resolve().parents[2]
        return cls.at(root, environ.get("JAXBOOK_BUILD") or None)

    # the book's own files
    @property
    def config(self) -> Path:
        return self.root / "_config.yml"

    @property
    def toc(self) -> Path:
        return self.root / "_toc.yml"

    @property
    def pyproject(self) -> Path:
        return self.root / "pyproject.toml"

    @property
    def requirements(self) -> Path:
        return self.root / "requirements.txt"

    @property
    def lock(self) -> Path:
        return self.root / "requirements.lock"

    @property
    def reader_requirements(self) -> Path:
        """What a reader needs to run the pages (Binder's list): the libraries whose versions
        the pages' outputs depend on."""
        return self.root / "requirements-reader.in"

    @property
    def package_dir(self) -> Path:
        return self.root / "src" / PACKAGE

    @property
    def golden(self) -> Path:
        return self.root / "tests" / "golden"

    @property
    def verified(self) -> Path:
        return self.root / "tests" / "numerics" / "verified.yml"

    @property
    def gpu_verified(self) -> Path:
        """Where each page was verified on a GPU (:mod:`booktools.gpu_verification`)."""
        return self.root / "tests" / "numerics" / "gpu-verified.yml"

    # what the build writes
    @property
    def executed(self) -> Path:
        return self.build / "jupyter_execute"

    @property
    def html(self) -> Path:
        return self.build / "html"

    @property
    def cache(self) -> Path:
        return self.build / ".jupyter_cache"

    @property
    def staging(self) -> Path:
        return self.build / ".staging"

    @property
    def linkcheck(self) -> Path:
        """The link check's config copy, Sphinx's output and the report (``make linkcheck``);
        not a hidden folder, which actions/upload-artifact would leave out."""
        return self.build / "linkcheck"

    @property
    def kernel_logs(self) -> Path:
        return self.build / "kernel-logs"

    @property
    def variants(self) -> Path:
        return self.build / "variants"

    def page_build(self, docname: str) -> Path:
        """The staging folder of ``make page`` for one page."""
        return self.build / f"page-{Path(docname).name}"

    def relative(self, path: Path | str) -> str:
        """``path`` as the book names it (``book/jit.md``), or whole if it is outside."""
        path = Path(path)
        if path.is_relative_to(self.root):
            return path.relative_to(self.root).as_posix()
        return str(path)


# --------------------------------------------------------------------------- code


def imported_modules(source: str) -> set[str]:
    """Top-level names of the modules that ``source`` imports (absolute imports only)."""
    return {name.split(".")[0] for name in _imported_names(source)}


def _imported_names(source: str) -> set[str]:
    """Dotted names ``source`` imports; ``from a import b`` gives ``a`` and ``a.b`` (``b`` may
    be a submodule). Source that does not parse imports nothing: the build reports it."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


def module_file(name: str, package_dir: Path) -> Path | None:
    """The file of the ``jaxbook`` module ``name`` (``jaxbook.timing``), if there is one."""
    relative = Path(*name.split(".")[1:])
    for candidate in (package_dir / relative / "__init__.py", package_dir / f"{relative}.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_package_modules(source: str, package_dir: Path) -> set[str]:
    """Dotted names of the ``jaxbook`` modules ``source`` imports (``jaxbook`` itself included:
    importing ``a.b.c`` runs ``a`` and ``a.b`` too)."""
    modules: set[str] = set()
    for name in _imported_names(source):
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                prefix = ".".join(parts[:depth])
                if module_file(prefix, package_dir):
                    modules.add(prefix)
    return modules


def package_dependencies(source: str, package_dir: Path) -> dict[str, Path]:
    """Every ``jaxbook`` module ``source`` imports, directly or transitively, with its file,
    sorted by file."""
    seen: dict[str, Path] = {}
    todo = list(imported_package_modules(source, package_dir))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = module_file(name, package_dir)
        if path is None:
            continue
        seen[name] = path
        todo += imported_package_modules(path.read_text(encoding="utf-8"), package_dir)
    return dict(sorted(seen.items(), key=lambda item: item[1]))


# --------------------------------------------------------------------------- pages


def front_matter(text: str) -> dict[str, Any]:
    """The YAML front matter of a MyST page (``{}`` when there is none)."""
    import yaml

    if not text.startswith("---"):
        return {}
    parts = text.split("---", 2)
    if len(parts) < 3:
        return {}
    data = yaml.safe_load(parts[1])
    return data if isinstance(data, dict) else {}


@dataclasses.dataclass(frozen=True, eq=False)
class Page:
    """One page of the book, read once; every derived fact is computed on first use."""

    docname: str  # "book/jit"
    path: Path  # the source file
    package_dir: Path

    def __repr__(self) -> str:
        return f"Page({self.docname!r})"

    @functools.cached_property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @functools.cached_property
    def front_matter(self) -> dict[str, Any]:
        return front_matter(self.text) if self.path.suffix == ".md" else {}

    @functools.cached_property
    def executes(self) -> bool:
        """A page with a kernelspec is a notebook: the build executes it."""
        if self.path.suffix == ".ipynb":
            return True
        return "kernelspec" in self.front_matter

    @functools.cached_property
    def _notebook(self):
        import jupytext

        # An executable page is read as the execution cache keys it; any other MyST page is
        # read as MyST (it may have no jupytext header at all).
        fmt = None if self.executes else "md:myst"
        return jupytext.read(self.path, fmt=fmt)

    def notebook(self):
        """The page as a notebook (a fresh copy: callers may change it)."""
        return copy.deepcopy(self._notebook)

    @functools.cached_property
    def code_cells(self) -> list[Any]:
        return [cell for cell in self._notebook.cells if cell.cell_type == "code"]

    @functools.cached_property
    def code(self) -> str:
        """The page's code cells as one Python source (magics translated, so it parses)."""
        return "\n".join(as_python(cell.source) for cell in self.code_cells)

    @functools.cached_property
    def imports(self) -> set[str]:
        """Top-level names of every module the page's code imports."""
        return imported_modules(self.code)

    @functools.cached_property
    def dependencies(self) -> dict[str, Path]:
        """The ``jaxbook`` modules the page imports, directly or transitively, with their files."""
        return package_dependencies(self.code, self.package_dir)

    @property
    def dependency_files(self) -> list[Path]:
        return list(self.dependencies.values())

    @functools.cached_property
    def timed_cells(self) -> list[int]:
        """The indices (among the code cells) of the cells that time code: they run with the
        machine to themselves (:mod:`booktools.machine`); what counts as a clock is
        :mod:`booktools.cells`."""
        names = timing_names(self.package_dir)
        return [i for i, cell in enumerate(self.code_cells) if is_timed(cell.source, names)]

    @property
    def times_code(self) -> bool:
        return bool(self.timed_cells)


# --------------------------------------------------------------------------- the book


class Book:
    """The book at ``paths``: its table of contents, pages and pins, each read once."""

    def __init__(self, paths: Paths | None = None):
        self.paths = paths or Paths.from_environment()
        self._pages: dict[str, Page] = {}

    def __repr__(self) -> str:
        return f"Book({self.paths.root})"

    @functools.cached_property
    def config(self) -> dict[str, Any]:
        return _read_yaml_mapping(self.paths.config)

    @functools.cached_property
    def site_map(self):
        """The table of contents as Jupyter Book reads it (``sphinx_external_toc``)."""
        from sphinx_external_toc.parsing import MalformedError, parse_toc_yaml

        if not self.paths.toc.is_file():
            raise BookError("_toc.yml: missing")
        _read_yaml_mapping(self.paths.toc)  # YAML errors named as such, before the TOC's own
        try:
            return parse_toc_yaml(self.paths.toc)
        except MalformedError as error:
            raise BookError(f"_toc.yml: {error}") from None

    @functools.cached_property
    def docnames(self) -> list[str]:
        """Every page of the table of contents in reading order (``book/index`` first)."""
        return list(self.site_map.keys())

    def source_of(self, docname: str) -> Path | None:
        for suffix in ("", *SOURCE_SUFFIXES):
            path = self.paths.root / f"{docname}{suffix}"
            if path.is_file():
                return path
        return None

    def missing_sources(self) -> list[str]:
        """Entries of the table of contents that name no file of the book."""
        return [name for name in self.docnames if self.source_of(name) is None]

    def page(self, docname: str) -> Page:
        """The page ``docname`` (``book/jit``; a path such as ``book/jit.md`` works too)."""
        docname = self._docname(docname)
        if docname not in self._pages:
            path = self.source_of(docname)
            if path is None:
                raise BookError(f"_toc.yml: entry {docname!r} names no file of the book")
            self._pages[docname] = Page(docname, path, self.paths.package_dir)
        return self._pages[docname]

    def _docname(self, name: str | Path) -> str:
        path = Path(name)
        if path.is_absolute():
            path = path.resolve()
            if not path.is_relative_to(self.paths.root):
                return path.as_posix()  # names no page of this book
            path = path.relative_to(self.paths.root)
        text = path.as_posix()
        for suffix in SOURCE_SUFFIXES:
            text = text.removesuffix(suffix)
        return text

    @property
    def pages(self) -> list[Page]:
        """Every page of the table of contents, in reading order."""
        return [self.page(name) for name in self.docnames]

    @property
    def executable_pages(self) -> list[Page]:
        """The pages the build executes (they have a kernelspec), in reading order."""
        return [page for page in self.pages if page.executes]

    def find(self, name: str | Path) -> Page | None:
        """The page of the table of contents named by a docname or a path, or None."""
        docname = self._docname(name)
        return self.page(docname) if docname in self.docnames else None

    @functools.cached_property
    def pins(self) -> dict[str, str]:
        """``{distribution: version}`` of every ``name==version`` of ``requirements.txt``, names
        normalised as pip does (``dm_haiku`` is ``dm-haiku``)."""
        return read_pins(self.paths.requirements)

    def pin(self, name: str) -> str:
        from packaging.utils import canonicalize_name

        try:
            return self.pins[canonicalize_name(name)]
        except KeyError:
            raise BookError(f"requirements.txt pins no version of {name}") from None


def read_pins(requirements: Path) -> dict[str, str]:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for number, line in enumerate(requirements.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement as error:
            raise BookError(f"{requirements.name}, line {number}: {error}") from None
        exact = [s.version for s in requirement.specifier if s.operator == "=="]
        if exact:
            pins[canonicalize_name(requirement.name)] = exact[0]
    return pins


def _read_yaml_mapping(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BookError(f"{path.name}: missing") from None
    except yaml.YAMLError as error:
        raise BookError(f"{path.name}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise BookError(f"{path.name}: expected a mapping at the top level")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("pin", help="print the pinned version of a package").add_argument("name")
    commands.add_parser("pages", help="list the pages of the table of contents")
    args = parser.parse_args(argv)
    book = Book()
    try:
        if args.command == "pin":
            print(book.pin(args.name))
        else:
            for page in book.pages:
                facts = ["executes" if page.executes else "prose"]
                if page.executes:
                    facts += [f"imports {', '.join(page.dependencies) or 'nothing of jaxbook'}"]
                    timed = len(page.timed_cells)
                    facts += [f"{timed} cell(s) time code"] if timed else []
                print(f"{page.docname}: {'; '.join(facts)}")
    except BookError as error:
        print(f"book: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
