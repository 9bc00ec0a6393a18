"""Sphinx extension: point the theme's "Colab" launch button at the generated notebooks.

Colab opens only ``.ipynb`` files, and sphinx-book-theme links to the page's ``.md`` source.
The publish workflow writes one notebook per executable page to a branch of the repository
(``jaxbook_colab_branch`` in ``_config.yml``, default ``notebooks``), and this extension
rewrites the button's URL to that notebook. Nothing else of the theme changes.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

COLAB_LABEL = "Colab"


def colab_notebook_url(colab_url: str, repository_url: str, branch: str, pagename: str) -> str:
    """``https://colab.research.google.com/github/<org>/<repo>/blob/<branch>/<page>.ipynb``."""
    org_repo = repository_url.removeprefix("https://github.com/").strip("/").removesuffix(".git")
    return f"{colab_url.rstrip('/')}/github/{org_repo}/blob/{branch}/{pagename}.ipynb"


def rewrite_colab_button(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    theme_options = app.builder.theme_options if hasattr(app.builder, "theme_options") else {}
    launch = (app.config.html_theme_options or {}).get("launch_buttons", {}) or theme_options.get(
        "launch_buttons", {}
    )
    repository_url = (app.config.html_theme_options or {}).get("repository_url", "")
    colab_url = launch.get("colab_url", "")
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            if button.get("text") == COLAB_LABEL and colab_url and repository_url:
                button["url"] = colab_notebook_url(
                    colab_url, repository_url, app.config.jaxbook_colab_branch, pagename
                )


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("jaxbook_colab_branch", "notebooks", "html")
    # sphinx-book-theme adds its launch buttons at priority 501; rewrite after it.
    app.connect("html-page-context", rewrite_colab_button, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
