"""Hidden bookkeeping (booktools.bookkeeping_ext): what a visible cell shows of its imports and
settings, on a tiny book (tests/roots/test-bookkeeping) and on sources alone."""

from __future__ import annotations

import pytest
from sphinx_roots import build, copy_root, page

from booktools.bookkeeping_ext import shown_sources


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = build(copy_root("bookkeeping", tmp_path_factory))
    yield app
    app.cleanup()


def cell_inputs(app, docname: str) -> list[str]:
    """The text of each cell input the page shows, in order."""
    document = page(app, docname)
    return [
        "".join(block.find_all("pre")[0]._strings())
        for block in document.find_all("div", "cell_input")
    ]


def test_the_book_builds_without_warnings(app):
    assert app.warning.getvalue() == ""


def test_the_first_cell_shows_only_what_visible_cells_use(app):
    first = cell_inputs(app, "book/page")[0]
    assert first == (
        "import jax\n"
        "import jax.numpy as jnp\n"
        "import numpy as np\n"
        "\n"
        "from jaxbook.timing import benchmark  # the page's one clock\n"
        "\n"
        'print("JAX", jax.__version__)\n'
    )


def test_what_hidden_cells_use_is_not_shown_anywhere(app):
    shown = "\n".join(cell_inputs(app, "book/page"))
    for bookkeeping in ("glue", "predict", "IPython.display", "format_seconds", "pprint"):
        assert bookkeeping not in shown


def test_a_cell_left_with_nothing_to_show_has_no_input(app):
    # The last cell only imports glue: no input is shown for it, as with remove-input.
    inputs = cell_inputs(app, "book/page")
    assert len(inputs) == 3  # the first cell, the timing, the hide-input %timeit
    assert inputs[2].startswith("%timeit np.sin")


def test_a_hide_input_cell_counts_as_visible(app):
    # np is used only by the collapsed %timeit cell, and stays imported in sight.
    assert "import numpy as np" in cell_inputs(app, "book/page")[0]


def test_a_page_whose_imports_are_all_used_is_unchanged(app):
    assert cell_inputs(app, "book/plain") == [
        "import numpy as np  # the page's only import\n\nnp.ones(3).sum()\n"
    ]


@pytest.mark.parametrize(
    ("sources", "shown"),
    [
        # A name used only in an f-string, an attribute's base, a magic's argument.
        (["import a\nimport b\nimport c", "f'{a.x}'", "%timeit b.f()"], ["import a\nimport b"]),
        # `import x.y` binds x; `import x.y as z` binds z.
        (["import os.path\nimport jax.numpy as jnp", "os.sep"], ["import os.path"]),
        # Blank lines around a removed group are kept once.
        (
            ["import a\n\nimport b\n\nimport c\n\nprint(a, c)"],
            ["import a\n\nimport c\n\nprint(a, c)"],
        ),
        # A star import and __future__ are kept; an import inside a function is not touched.
        (
            ["from __future__ import annotations\nfrom m import *\ndef f():\n    import q"],
            ["from __future__ import annotations\nfrom m import *\ndef f():\n    import q"],
        ),
        # A cell that does not parse is shown as is, and every identifier in it counts as used.
        (["import a\nimport b", "a c ("], ["import a", "a c ("]),
    ],
)
def test_shown_sources(sources, shown):
    assert shown_sources(sources)[: len(shown)] == shown


def test_only_presentation_settings_are_hidden():
    shown = shown_sources(
        [
            'import jax\njax.config.update("jax_pprint_use_color", False)\n'
            'jax.config.update("jax_enable_x64", True)\nprint(jax.numpy.ones(2))'
        ]
    )
    assert shown == [
        'import jax\njax.config.update("jax_enable_x64", True)\nprint(jax.numpy.ones(2))'
    ]
