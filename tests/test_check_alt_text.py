"""Every figure a cell shows has alt text (booktools.checks.alt_text)."""

import pytest
from checkers import cell, page_with

from booktools.checks.alt_text import check_alt_text, lacks_alt_text

FIGURE = [{"display": ["image/png", "text/plain"], "text": "<Figure size 640x480>"}]


@pytest.mark.parametrize("alt", [None, "", "   "])
def test_a_figure_without_alt_text_is_named_with_the_fix(alt):
    problems = check_alt_text(page_with([cell(outputs=FIGURE, alt_text=alt)]))
    assert problems == [
        "book/x.md, cell 1 [k] `print(x)`: a figure without alt text; add "
        "`mystnb: {image: {alt: ...}}` to the cell's metadata"
    ]


def test_a_described_figure_and_a_cell_without_figures_pass():
    assert check_alt_text(page_with([cell(outputs=FIGURE, alt_text="A falling loss curve.")])) == []
    assert check_alt_text(page_with([cell("no figure here")])) == []


def test_the_rule_is_the_one_the_site_check_applies():
    # tests/browser/sitecheck.py checks each rendered <img>'s alt attribute with this rule.
    assert lacks_alt_text(None) and lacks_alt_text(" \n") and not lacks_alt_text("A dot.")
