import contextlib
import io
from types import SimpleNamespace

import nbformat
import pytest
from reader_checks import problems, without_build

from booktools import notebooks
from booktools.book import Book, BookError
from booktools.reader_notebooks import stale

BOOK = Book()


def test_install_cell_names_every_library_a_page_needs_at_the_books_version():
    source = notebooks.install_cell_source("jaxbook @ git+https://x/y@abc", BOOK.pins)
    compile(source, "<install cell>", "exec")
    assert "BOOK_PACKAGE = 'jaxbook @ git+https://x/y@abc'" in source
    pins = BOOK.pins
    for module, distribution in notebooks.PAGE_LIBRARIES.items():
        assert f"{module!r}: ({distribution!r}, {pins[distribution]!r})," in source


class FakePip:
    """subprocess.run for the install cell: records the command, exits with ``returncode``."""

    def __init__(self, returncode=0):
        self.commands, self.returncode = [], returncode

    def __call__(self, command, **kwargs):
        self.commands.append(command)
        return SimpleNamespace(returncode=self.returncode)

    @property
    def installed(self):
        """What pip was asked to install, the book's package first; None if never called."""
        if not self.commands:
            return None
        command = self.commands[0]
        return command[command.index("--quiet") + 1 :]


def run_install_cell(monkeypatch, present, versions, broken=(), pip=None):
    """Execute the install cell where only the modules in ``present`` are importable (a dotted
    one's parent package too), ``versions`` are the installed distributions' versions, and the
    modules in ``broken`` raise when imported. Returns the fake pip and what the cell printed."""
    import importlib
    import importlib.metadata
    import importlib.util
    import subprocess

    def find_spec(name):
        parent = name.rpartition(".")[0]
        if parent and parent not in present:
            raise ModuleNotFoundError(f"No module named {parent!r}")
        return object() if name in present else None

    def version(distribution):
        if distribution not in versions:
            raise importlib.metadata.PackageNotFoundError(distribution)
        return versions[distribution]

    def import_module(name):
        if name in broken:
            raise ImportError(f"cannot import name 'HiPrimitive' from {name}\n(a second line)")
        return SimpleNamespace(__name__=name)

    pip = pip or FakePip()
    source = notebooks.install_cell_source("jaxbook @ x", BOOK.pins)
    printed = io.StringIO()
    monkeypatch.setattr(subprocess, "run", pip)
    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(importlib, "import_module", import_module)
    with contextlib.redirect_stdout(printed):
        exec(source, {})
    return pip, printed.getvalue()


PINS = BOOK.pins
OTHER_JAX = "0.12.0.1" if PINS["jax"] != "0.12.0.1" else "0.11.2"  # any JAX but the book's
COLAB = {"jax", "jaxlib", "numpy", "matplotlib", "flax"}


def test_install_cell_keeps_colabs_own_jax_and_installs_the_pins_beside_the_books_jax(monkeypatch):
    versions = {"jax": PINS["jax"], "jaxlib": PINS["jaxlib"], "flax": PINS["flax"]}
    pip, printed = run_install_cell(monkeypatch, COLAB, versions)
    installed = pip.installed
    assert installed[0] == "jaxbook @ x"
    assert not any(p.startswith(("jax==", "jaxlib==", "numpy==", "flax==")) for p in installed)
    assert f"dm-haiku=={PINS['dm-haiku']}" in installed
    assert f"orbax-checkpoint=={PINS['orbax-checkpoint']}" in installed  # `orbax` is absent
    assert printed == ""


def test_install_cell_brings_the_pinned_jax_where_there_is_none(monkeypatch):
    installed = run_install_cell(monkeypatch, set(), {})[0].installed
    assert f"jax=={PINS['jax']}" in installed and f"jaxlib=={PINS['jaxlib']}" in installed
    assert f"flax=={PINS['flax']}" in installed


def test_beside_another_jax_the_missing_libraries_are_resolved_against_it(monkeypatch):
    """Flax 0.12.8, the book's pin once, did not import under JAX 0.11: beside a JAX other than
    the book's, pip picks the versions and may not replace that JAX."""
    versions = {"jax": OTHER_JAX, "jaxlib": OTHER_JAX, "numpy": "2.0.0"}
    installed = run_install_cell(monkeypatch, {"jax", "jaxlib", "numpy"}, versions)[0].installed
    assert installed[0] == "jaxbook @ x"
    assert f"jax=={OTHER_JAX}" in installed and f"jaxlib=={OTHER_JAX}" in installed
    for distribution in ("flax", "optax", "dm-haiku", "orbax-checkpoint", "scikit-learn"):
        assert distribution in installed, distribution  # unpinned
    assert not [p for p in installed if "==" in p and not p.startswith(("jax==", "jaxlib=="))]
    assert "numpy" not in installed  # present: left alone


def test_beside_another_jax_without_jaxlib_only_jax_is_held(monkeypatch):
    installed = run_install_cell(monkeypatch, {"jax"}, {"jax": OTHER_JAX})[0].installed
    assert f"jax=={OTHER_JAX}" in installed and "jaxlib" in installed
    assert not any(p.startswith("jaxlib==") for p in installed)


def test_a_library_that_still_does_not_import_is_named_in_one_line(monkeypatch):
    versions = {"jax": OTHER_JAX, "jaxlib": OTHER_JAX, "flax": "0.12.8"}
    printed = run_install_cell(monkeypatch, {"jax", "jaxlib"}, versions, broken={"flax"})[1]
    assert printed.splitlines() == [
        f"flax 0.12.8 does not import beside JAX {OTHER_JAX}: ImportError: cannot import name "
        "'HiPrimitive' from flax"
    ]


def test_a_failed_pip_is_said_and_the_imports_are_still_checked(monkeypatch):
    pip = FakePip(returncode=1)
    printed = run_install_cell(monkeypatch, set(), {}, broken={"haiku"}, pip=pip)[1]
    lines = printed.splitlines()
    assert lines[0] == "pip could not install what this page needs (its message is above)"
    assert lines[1:] == [
        "dm-haiku (not installed) does not import beside JAX (not installed): ImportError: "
        "cannot import name 'HiPrimitive' from haiku"
    ]


def test_install_cell_does_nothing_where_jaxbook_is_importable_even_with_another_jax(
    monkeypatch,
):
    pip, printed = run_install_cell(monkeypatch, {"jaxbook", "jax"}, {"jax": OTHER_JAX})
    assert pip.installed is None and printed == ""


def test_install_cell_is_tagged_so_that_the_tools_find_it():
    cell = notebooks.install_cell("jaxbook @ y", BOOK.pins)
    assert cell.metadata["tags"] == [notebooks.INSTALL_TAG] and "jaxbook @ y" in cell.source


def test_default_package_is_the_commit_or_the_override(monkeypatch):
    monkeypatch.delenv("JAXBOOK_NOTEBOOK_PACKAGE", raising=False)
    commit = notebooks.current_commit(BOOK.paths.root)
    assert notebooks.default_package(BOOK) == (
        f"jaxbook @ git+https://github.com/jaxbook/jaxbook@{commit}"
    )
    monkeypatch.setenv("JAXBOOK_NOTEBOOK_PACKAGE", "jaxbook @ file:///x")
    assert notebooks.default_package(BOOK) == "jaxbook @ file:///x"


def test_install_cell_refuses_an_unpinned_library():
    with pytest.raises(BookError, match="dm-haiku"):
        pins = {k: v for k, v in BOOK.pins.items() if k != "dm-haiku"}
        notebooks.install_cell_source("jaxbook", pins)


def test_install_cell_does_nothing_where_jaxbook_is_importable(capsys):
    source = notebooks.install_cell_source("jaxbook", BOOK.pins)
    calls = []
    namespace = {}
    import subprocess

    real_run = subprocess.run
    subprocess.run = lambda *a, **k: calls.append(a)
    try:
        exec(source, namespace)  # jaxbook is installed in the test environment
    finally:
        subprocess.run = real_run
    assert calls == []


def fresh_executed_pages():
    """The executable pages whose executed notebook the last build left and is still current."""
    pages = []
    for page in BOOK.executable_pages:
        path = BOOK.paths.executed / f"{page.docname}.ipynb"
        if path.is_file() and not stale(nbformat.read(path, as_version=4), page.notebook()):
            pages.append(page)
    return pages


def test_generate_writes_a_reader_notebook_per_executed_page(tmp_path):
    """The Colab notebooks of the book itself, from its last build (`make book`)."""
    pages = fresh_executed_pages()
    if not pages:
        without_build(f"no current executed page in {BOOK.paths.executed}: run `make book` first")
    written = notebooks.generate(BOOK, tmp_path, package="jaxbook", pages=pages)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        f"{page.docname}.ipynb" for page in pages
    ]
    for path in written:
        notebook = nbformat.read(path, as_version=4)
        assert problems(notebook, path.name) == []
        first, install = notebook.cells[:2]
        assert first.cell_type == "markdown" and "Built and checked with JAX" in first.source
        assert notebooks.INSTALL_TAG in install.metadata["tags"]
        assert "jupytext" not in notebook.metadata


def test_the_command_says_what_is_missing_instead_of_a_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("JAXBOOK_NOTEBOOK_PACKAGE", "jaxbook")
    status = notebooks.main(["--out", str(tmp_path), "--executed", str(tmp_path / "none")])
    assert status == 1 and "build the book first" in capsys.readouterr().err
