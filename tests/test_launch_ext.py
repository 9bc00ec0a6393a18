"""The Colab and Binder buttons, on a tiny book with the theme's launch buttons
(tests/roots/test-launch)."""

from __future__ import annotations

import pytest
from sphinx_roots import build, copy_root, page

from booktools.launch_ext import binder_notebook_url, colab_notebook_url


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = build(copy_root("launch", tmp_path_factory))
    yield app
    app.cleanup()


def launch_links(app, docname: str) -> list[str]:
    links = [a.attrs.get("href", "") for a in page(app, docname).find_all("a")]
    return [href for href in links if "colab" in href or "mybinder" in href]


def test_the_book_builds_without_warnings(app):
    assert app.warning.getvalue() == ""


def test_colab_opens_the_pages_notebook_on_the_configured_branch(app):
    # The theme's own link would be .../blob/main/book/jit.md, which Colab cannot open.
    assert (
        "https://colab.research.google.com/github/jaxbook/jaxbook/blob/colab-notebooks/book/jit.ipynb"
        in launch_links(app, "book/jit")
    )


def test_binder_opens_the_pages_reader_notebook_on_the_same_branch(app):
    # The theme's own link would open book/jit.md on main, which JupyterLab shows as raw MyST;
    # the notebooks branch carries Binder's environment beside the reader notebooks.
    binder = [href for href in launch_links(app, "book/jit") if "mybinder" in href]
    assert binder == [
        "https://mybinder.org/v2/gh/jaxbook/jaxbook/colab-notebooks?urlpath=lab/tree/book/jit.ipynb"
    ]


def test_a_page_that_is_not_a_notebook_has_no_launch_buttons(app):
    assert launch_links(app, "index") == []


def test_colab_url_tolerates_slashes_and_git_suffixes():
    assert colab_notebook_url(
        "https://colab.research.google.com/", "https://github.com/org/repo.git/", "nb", "book/x"
    ) == ("https://colab.research.google.com/github/org/repo/blob/nb/book/x.ipynb")


def test_binder_url_follows_the_notebook_interface():
    assert binder_notebook_url(
        "https://mybinder.org/", "https://github.com/org/repo.git", "nb", "book/x", "classic"
    ) == ("https://mybinder.org/v2/gh/org/repo/nb?urlpath=tree/book/x.ipynb")
