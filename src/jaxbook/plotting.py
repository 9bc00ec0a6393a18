"""The book's one plot style: call :func:`use_book_style` once at the top of a page.

Figures keep a white background so they stay readable in the site's dark theme, and use the
Okabe–Ito palette, which stays distinguishable for the common kinds of colour blindness.

Figures are SVG (sharp at any zoom, text kept as text) and sized for a phone: a page column
is about 358 CSS px wide on a 390 px screen, so a figure at most ``MAX_WIDTH`` inches wide
with no text under ``MIN_FONT_PT`` shows every label at 9 CSS px or more there. Several panels
are stacked (``nrows``) rather than set side by side.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib import cycler, scale, ticker

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

# A 5.6 in figure is 538 CSS px wide; shrunk to a 358 px phone column, 11 pt (14.7 px) text
# is drawn at 9.8 px. tests/browser checks the pages as a phone shows them.
MAX_WIDTH = 5.6
MIN_FONT_PT = 11
PANEL_HEIGHT = 3.3

BOOK_STYLE = {
    "figure.figsize": (MAX_WIDTH, PANEL_HEIGHT),
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
    "font.size": MIN_FONT_PT,
    "axes.titlesize": 12,
    "axes.labelsize": MIN_FONT_PT,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "figure.constrained_layout.use": True,
}


# Inline figures: SVG. PNG stays available for a figure that would be heavy as vectors.
FORMATS = ("svg", "png")
SVG_STYLE = {
    "svg.fonttype": "none",  # text stays text: lighter, selectable, found by the browser's search
    "svg.hashsalt": "jaxbook",  # the same ids on every build
}
_current_format = "svg"


def plain_number(value: float, _position: object = None) -> str:
    """A tick label in plain digits: ``0.001`` to ``10000`` as written, beyond that ``1e-6``."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e5:
        return f"{value:g}"
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


class PlainLogFormatter(ticker.LogFormatter):
    """matplotlib's choice of which log ticks to label, written by :func:`plain_number`."""

    def __call__(self, value: float, position: object = None) -> str:
        return plain_number(value) if super().__call__(value, position) else ""


class BookLogScale(scale.LogScale):
    """The log scale with plain tick labels (``100``, not ``10²``).

    matplotlib writes log ticks as ``10`` with a superscript exponent at 70 % of the text size,
    which on a phone is too small to read (tests/browser/test_figures.py measures it).
    """

    # No *axis* parameter: the signature matplotlib 3.11 asks of new scales.
    def __init__(self, *, base: float = 10, subs=None, nonpositive: str = "clip") -> None:
        super().__init__(None, base=base, subs=subs, nonpositive=nonpositive)

    def set_default_locators_and_formatters(self, axis) -> None:
        super().set_default_locators_and_formatters(axis)
        axis.set_major_formatter(PlainLogFormatter(self.base))
        axis.set_minor_formatter(
            PlainLogFormatter(self.base, labelOnlyBase=False, minor_thresholds=(1, 0.4))
        )


def current_format() -> str:
    """The format inline figures are rendered in (``"svg"`` unless a page chose ``"png"``)."""
    return _current_format


def use_book_style(fmt: str | None = None) -> None:
    """Apply the book's style to every later figure, and render inline figures as SVG.

    ``fmt="png"`` renders the page's later inline figures as PNG instead; the choice holds for
    the page (``new_figure`` keeps it) until ``use_book_style(fmt="svg")``.
    """
    global _current_format
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
        _current_format = fmt
    mpl.rcParams.update(BOOK_STYLE)
    mpl.rcParams.update(SVG_STYLE)
    scale.register_scale(BookLogScale)  # "log" (ax.set_yscale, semilogy, loglog) is the book's
    try:  # inside a notebook kernel only
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats(_current_format)
    except (ImportError, AttributeError):  # pragma: no cover - no IPython shell to configure
        pass


def new_figure(ncols: int = 1, nrows: int = 1, **kwargs):
    """``plt.subplots`` in the book's style; returns ``(figure, axes)``.

    The default size is ``MAX_WIDTH`` wide and ``PANEL_HEIGHT`` per row. A wider ``figsize``
    is refused: on a phone its text would shrink below readable size.
    """
    figsize = kwargs.pop("figsize", (MAX_WIDTH, PANEL_HEIGHT * nrows))
    if figsize[0] > MAX_WIDTH:
        raise ValueError(
            f"a figure {figsize[0]} in wide is unreadable on a phone: keep figsize's width at "
            f"most {MAX_WIDTH} in and stack panels with nrows"
        )
    use_book_style()
    return plt.subplots(nrows=nrows, ncols=ncols, figsize=figsize, **kwargs)
