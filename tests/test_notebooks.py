import json

import pytest

from booktools import notebooks
from booktools.book import Book, BookError

BOOK = Book()


def test_install_cell_pins_every_library_colab_may_lack():
    source = notebooks.install_cell_source("jaxbook @ git+https://x/y@abc", BOOK.pins)
    compile(source, "<install cell>", "exec")
    assert "jaxbook @ git+https://x/y@abc" in source
    pins = BOOK.pins
    for distribution in notebooks.PINNED_IF_MISSING.values():
        assert f"{distribution}=={pins[distribution]}" in source


def run_install_cell(monkeypatch, present):
    """Execute the install cell where only the modules in ``present`` are importable, and
    return what it would have asked pip to install."""
    import importlib.util
    import subprocess

    source = notebooks.install_cell_source("jaxbook @ x", BOOK.pins)
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: calls.append(command))
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: object() if name in present else None
    )
    exec(source, {})
    return calls[0][calls[0].index("--quiet") + 1 :] if calls else None


def test_install_cell_keeps_colabs_own_jax(monkeypatch):
    installed = run_install_cell(monkeypatch, {"jax", "jaxlib", "numpy", "matplotlib", "flax"})
    assert installed[0] == "jaxbook @ x"
    assert not any(p.startswith(("jax==", "jaxlib==", "numpy==", "flax==")) for p in installed)
    assert f"dm-haiku=={BOOK.pins['dm-haiku']}" in installed


def test_install_cell_brings_the_pinned_jax_where_there_is_none(monkeypatch):
    pins = BOOK.pins
    installed = run_install_cell(monkeypatch, set())
    assert f"jax=={pins['jax']}" in installed and f"jaxlib=={pins['jaxlib']}" in installed


def test_download_notebook_gets_the_install_cell_once(tmp_path):
    import nbformat

    path = tmp_path / "page.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import jaxbook")])
    notebook.metadata["jupytext"] = {"formats": "md:myst"}
    nbformat.write(notebook, path)
    for _ in range(2):
        notebooks.add_install_cell(BOOK, [path], package="jaxbook @ y")
    cells = nbformat.read(path, as_version=4).cells
    assert [c.metadata.get("tags") for c in cells] == [[notebooks.INSTALL_TAG], None]
    assert "jaxbook @ y" in cells[0].source and cells[1].source == "import jaxbook"
    assert "jupytext" not in nbformat.read(path, as_version=4).metadata


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


def test_generate_writes_one_notebook_per_executable_page(tmp_path):
    written = notebooks.generate(BOOK, tmp_path, package="jaxbook")
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert "book/why_jax.ipynb" in names
    assert "book/status.ipynb" not in names or BOOK.page("book/status").executes
    notebook = json.loads((tmp_path / "book/why_jax.ipynb").read_text())
    first = notebook["cells"][0]
    assert first["cell_type"] == "code" and "colab-install" in first["metadata"]["tags"]
    assert "jupytext" not in notebook["metadata"]
    for path in written:  # Jupyter renders no literalinclude: the notebooks show the code
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                assert "{literalinclude}" not in "".join(cell["source"]), path


LISTING_PAGE = """Text before.

````{dropdown} Source of two functions
```{literalinclude} /src/mod.py
:pyobject: second
:caption: mod.second
```
````

```{literalinclude} /src/mod.py
:start-at: def first
:end-before: def second
```

:::{literalinclude} /src/mod.py
:pyobject: first
:::
"""


def test_inline_listings_shows_the_code_literalinclude_selects(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src/mod.py").write_text(
        "import os\n\n\ndef first():\n    return 1\n\n\ndef second():\n    return 2\n"
    )
    markdown = notebooks.inline_listings(LISTING_PAGE, root=tmp_path)
    assert "{literalinclude}" not in markdown and "{dropdown}" not in markdown
    assert "<details><summary>Source of two functions</summary>" in markdown
    assert "*mod.second*\n\n```python\ndef second():\n    return 2\n```" in markdown
    assert "```python\ndef first():\n    return 1\n```" in markdown  # start-at .. end-before
    assert markdown.count("def first():") == 2  # the colon-fenced one too
    assert "import os" not in markdown and markdown.startswith("Text before.")


def test_inline_listings_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="/src/gone.py"):
        notebooks.inline_listings("```{literalinclude} /src/gone.py\n```\n", root=tmp_path)
