"""``glue`` for pages: myst-nb's when it is installed (the book's build), a stand-in elsewhere.

Pages glue measured numbers into their prose with myst-nb's ``glue``. On Colab, myst-nb (and
all of Sphinx) is not installed, and installing it just to run a notebook would be slow; there
``glue`` shows the value (unless ``display=False``) and otherwise does nothing.
"""

from __future__ import annotations

from typing import Any

try:
    from myst_nb import glue
except ImportError:  # outside the book's build: Colab, a plain Jupyter install

    def glue(name: str, variable: Any, display: bool = True) -> None:
        """Stand-in for ``myst_nb.glue``: show ``variable`` if asked, as myst-nb would."""
        if display:
            from IPython.display import display as show

            show(variable)


__all__ = ["glue"]
