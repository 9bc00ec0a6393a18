import json

import pytest

from booktools import ROOT, notebooks


def test_pinned_versions_reads_requirements():
    pins = notebooks.pinned_versions()
    assert pins["dm-haiku"] and pins["flax"] and pins["jax"]


def test_install_cell_pins_every_library_colab_may_lack():
    source = notebooks.install_cell_source(
        "jaxbook @ git+https://x/y@abc", notebooks.pinned_versions()
    )
    compile(source, "<install cell>", "exec")
    assert "jaxbook @ git+https://x/y@abc" in source
    pins = notebooks.pinned_versions()
    for distribution in notebooks.PINNED_IF_MISSING.values():
        assert f"{distribution}=={pins[distribution]}" in source
    assert "'jax==" not in source  # Colab's own JAX matches its accelerator


def test_install_cell_refuses_an_unpinned_library():
    with pytest.raises(ValueError, match="dm-haiku"):
        notebooks.install_cell_source("jaxbook", {"flax": "1", "optax": "1"})


def test_install_cell_does_nothing_where_jaxbook_is_importable(capsys):
    source = notebooks.install_cell_source("jaxbook", notebooks.pinned_versions())
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
    written = notebooks.generate(tmp_path, package="jaxbook")
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert "book/why_jax.ipynb" in names
    assert "book/status.ipynb" not in names or notebooks.has_kernel(ROOT / "book/status.md")
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
    assert "import os" not in markdown and markdown.startswith("Text before.")


def test_inline_listings_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="/src/gone.py"):
        notebooks.inline_listings("```{literalinclude} /src/gone.py\n```\n", root=tmp_path)
