"""The book's plot style: palette, white background, and the inline format a page chooses."""

from __future__ import annotations

import io

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_rgb

from jaxbook import plotting

OKABE_ITO = {
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
}


@pytest.fixture(autouse=True)
def _restore():
    """Each test starts from matplotlib's defaults and the PNG format, and closes its figures."""
    saved = mpl.rcParams.copy()
    yield
    plotting.use_book_style(fmt="png")
    mpl.rcParams.update(saved)
    plt.close("all")


def test_palette_is_okabe_ito_with_blue_first():
    assert set(plotting.PALETTE) == OKABE_ITO and len(plotting.PALETTE) == 8
    assert plotting.PALETTE[0] == "#0072B2"


def test_style_sets_white_background_and_the_palette_cycle():
    plotting.use_book_style()
    for key in ("figure.facecolor", "axes.facecolor", "savefig.facecolor"):
        assert to_rgb(mpl.rcParams[key]) == (1.0, 1.0, 1.0), key
    cycle = [c.upper() for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert cycle == list(plotting.PALETTE)


def test_new_figure_returns_figure_and_axes_in_the_book_style():
    fig, axes = plotting.new_figure(2, 3)
    assert axes.shape == (3, 2)
    assert to_rgb(fig.get_facecolor()) == (1.0, 1.0, 1.0)
    (line,) = axes[0, 0].plot([0, 1], [0, 1])
    assert line.get_color().upper() == plotting.PALETTE[0]
    fig, ax = plotting.new_figure(figsize=(3, 2))
    assert tuple(fig.get_size_inches()) == (3.0, 2.0) and not hasattr(ax, "shape")


def test_png_is_the_default_and_svg_is_kept_by_new_figure():
    plotting.use_book_style()
    assert plotting.current_format() == "png"
    plotting.use_book_style(fmt="svg")
    plotting.new_figure()  # re-applies the style, keeps the page's choice
    assert plotting.current_format() == "svg"
    plotting.use_book_style(fmt="png")
    assert plotting.current_format() == "png"


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="fmt must be one of"):
        plotting.use_book_style(fmt="jpeg")


def test_svg_keeps_text_as_text_and_is_the_same_on_every_run():
    def render() -> str:
        fig, ax = plotting.new_figure()
        ax.plot([0, 1, 2], [0, 1, 4], label="loss")
        ax.set_xlabel("step")
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
        plt.close(fig)
        return buffer.getvalue()

    plotting.use_book_style(fmt="svg")
    first, second = render(), render()
    assert ">step</text>" in first  # a label, not glyph paths
    assert first == second
