"""Sphinx extension: point the theme's "Colab" and "Binder" launch buttons at the reader
notebooks.

sphinx-book-theme links both to the page's ``.md`` source, which Colab cannot open and Binder
shows as raw MyST. The publish workflow writes one reader notebook per executable page
(:mod:`booktools.reader_notebooks`), with Binder's environment beside them, to a branch of the
repository (``jaxbook_colab_branch`` in ``_config.yml``, default ``notebooks``), and this
extension rewrites both buttons' URLs to the page's notebook on that branch. Nothing else of
the theme changes.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

COLAB_LABEL = "Colab"
BINDER_LABEL = "Binder"


def colab_notebook_url(colab_url: str, repository_url: str, branch: str, pagename: str) -> str:
    """``https://colab.research.google.com/github/<org>/<repo>/blob/<branch>/<page>.ipynb``."""
    org_repo = repository_url.removeprefix("https://github.com/").strip("/").removesuffix(".git")
    return f"{colab_url.rstrip('/')}/github/{org_repo}/blob/{branch}/{pagename}.ipynb"


def binder_notebook_url(
    binderhub_url: str, repository_url: str, branch: str, pagename: str, interface: str
) -> str:
    """``https://mybinder.org/v2/gh/<org>/<repo>/<branch>?urlpath=lab/tree/<page>.ipynb``."""
    org_repo = repository_url.removeprefix("https://github.com/").strip("/").removesuffix(".git")
    tree = "tree" if interface in ("classic", "notebook") else "lab/tree"
    return f"{binderhub_url.rstrip('/')}/v2/gh/{org_repo}/{branch}?urlpath={tree}/{pagename}.ipynb"


def rewrite_colab_button(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    theme_options = app.builder.theme_options if hasattr(app.builder, "theme_options") else {}
    launch = (app.config.html_theme_options or {}).get("launch_buttons", {}) or theme_options.get(
        "launch_buttons", {}
    )
    repository_url = (app.config.html_theme_options or {}).get("repository_url", "")
    colab_url, binderhub_url = launch.get("colab_url", ""), launch.get("binderhub_url", "")
    branch = app.config.jaxbook_colab_branch
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            if not repository_url:
                continue
            if button.get("text") == COLAB_LABEL and colab_url:
                button["url"] = colab_notebook_url(colab_url, repository_url, branch, pagename)
            elif button.get("text") == BINDER_LABEL and binderhub_url:
                interface = launch.get("notebook_interface", "jupyterlab")
                button["url"] = binder_notebook_url(
                    binderhub_url, repository_url, branch, pagename, interface
                )


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("jaxbook_colab_branch", "notebooks", "html")
    # sphinx-book-theme adds its launch buttons at priority 501; rewrite after it.
    app.connect("html-page-context", rewrite_colab_button, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
