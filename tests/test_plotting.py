"""The book's plot style: palette, white background, and the inline format a page chooses."""

from __future__ import annotations

import io
import re

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
    """Each test starts from matplotlib's defaults and the SVG format, and closes its figures."""
    saved = mpl.rcParams.copy()
    yield
    plotting.use_book_style(fmt="svg")
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


def test_svg_is_the_default_and_png_is_kept_by_new_figure():
    plotting.use_book_style()
    assert plotting.current_format() == "svg"
    plotting.use_book_style(fmt="png")
    plotting.new_figure()  # re-applies the style, keeps the page's choice
    assert plotting.current_format() == "png"
    plotting.use_book_style(fmt="svg")
    assert plotting.current_format() == "svg"


def test_new_figure_stacks_panels_at_the_phone_width():
    fig, axes = plotting.new_figure(nrows=2)
    width, height = fig.get_size_inches()
    assert width == plotting.MAX_WIDTH and height == pytest.approx(2 * plotting.PANEL_HEIGHT)
    assert axes.shape == (2,)


def test_a_figure_wider_than_a_phone_allows_is_refused():
    with pytest.raises(ValueError, match="unreadable on a phone"):
        plotting.new_figure(ncols=2, figsize=(9, 3.4))


def test_no_text_in_the_style_is_smaller_than_the_minimum():
    plotting.use_book_style()
    keys = ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize",
            "ytick.labelsize", "legend.fontsize")  # fmt: skip
    sizes = {key: mpl.font_manager.FontProperties(size=mpl.rcParams[key]).get_size_in_points()
             for key in keys}  # fmt: skip
    assert min(sizes.values()) >= plotting.MIN_FONT_PT, sizes


def test_text_of_a_full_width_figure_is_9_px_in_a_phone_column():
    # What tests/browser measures on the pages: an SVG's text, scaled to a 358 px column.
    fig, ax = plotting.new_figure()
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("step")
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    viewbox_width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    smallest = min(float(size) for size in re.findall(r"font-size[:=]\s*\"?([\d.]+)", svg))
    assert smallest * 358 / viewbox_width >= 9


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


def test_log_axes_label_ticks_in_plain_digits():
    # Superscript exponents (10²) are drawn at 70 % of the text size: unreadable on a phone.
    fig, ax = plotting.new_figure()
    ax.semilogy([1, 2, 3], [1e-4, 1, 1e6])
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and not any("$" in label or "^" in label for label in labels), labels
    assert "1" in labels and "1e6" in labels


@pytest.mark.parametrize(
    ("value", "label"),
    [(0, "0"), (0.001, "0.001"), (1, "1"), (250, "250"), (10000, "10000"), (1e5, "1e5"),
     (3e-6, "3e-6"), (-0.5, "-0.5")],
)  # fmt: skip
def test_plain_number(value, label):
    assert plotting.plain_number(value) == label
