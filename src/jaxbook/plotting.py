"""The book's one plot style: call :func:`use_book_style` once at the top of a page.

Figures keep a white background so they stay readable in the site's dark theme, and use the
Okabe–Ito palette, which stays distinguishable for the common kinds of colour blindness.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib import cycler

# Okabe & Ito (2008), "Color Universal Design".
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

BOOK_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.prop_cycle": cycler(color=PALETTE),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "figure.constrained_layout.use": True,
}


# Inline figures: PNG by default. A page of line plots may choose SVG (sharp at any zoom, and
# usually lighter for lines and text); heatmaps and scatter clouds stay lighter as PNG.
FORMATS = ("png", "svg")
SVG_STYLE = {
    "svg.fonttype": "none",  # text stays text: lighter, selectable, found by the browser's search
    "svg.hashsalt": "jaxbook",  # the same ids on every build
}
_current_format = "png"


def current_format() -> str:
    """The format inline figures are rendered in (``"png"`` unless a page chose ``"svg"``)."""
    return _current_format


def use_book_style(fmt: str | None = None) -> None:
    """Apply the book's style to every later figure, and render inline figures as PNG.

    ``fmt="svg"`` renders the page's later inline figures as SVG instead; the choice holds for
    the page (``new_figure`` keeps it) until ``use_book_style(fmt="png")``.
    """
    global _current_format
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
        _current_format = fmt
    mpl.rcParams.update(BOOK_STYLE)
    mpl.rcParams.update(SVG_STYLE)
    try:  # inside a notebook kernel only
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats(_current_format)
    except (ImportError, AttributeError):  # pragma: no cover - no IPython shell to configure
        pass


def new_figure(ncols: int = 1, nrows: int = 1, **kwargs):
    """``plt.subplots`` in the book's style; returns ``(figure, axes)``."""
    use_book_style()
    return plt.subplots(nrows=nrows, ncols=ncols, **kwargs)
