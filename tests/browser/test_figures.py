"""Figures a phone can read: vector images whose smallest text is at least 9 CSS px at 390 px.

A figure is an image in a cell's output. It must be SVG (sharp at any zoom), have a caption,
and, shrunk to the page column of a 390 px wide screen, show no text under ``MIN_TEXT_PX``:
the text's size in the SVG's own units times the displayed width over the SVG's width.
Sub- and superscripts of mathematical text (``$x_1$``) are drawn at 70 % of their text's size,
as in print, and are held to 70 % of the minimum.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import pytest
from sitecheck import CHECKED, WHOLE_BOOK, fail_on

pytestmark = pytest.mark.browser

MIN_TEXT_PX = 9
SCRIPT_SCALE = 0.7  # matplotlib's mathtext draws sub- and superscripts at 70 % size
PHONE = {"width": 390, "height": 844}
VIEWBOX_WIDTH = re.compile(r'<svg[^>]*viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ')
FONT_SIZE = re.compile(r"font-size:\s*([\d.]+)")
TEXT_ELEMENT = re.compile(r"<text\b.*?</text>", re.DOTALL)

FIGURES = """() => [...document.querySelectorAll('div.cell_output img')].map(img => ({
    src: img.getAttribute('src'),
    width: img.getBoundingClientRect().width,
    caption: !!img.closest('figure')?.querySelector('figcaption'),
}))"""


def smallest_text_px(svg: str, displayed_width: float) -> float | None:
    """The smallest text of ``svg`` in CSS px when it is drawn ``displayed_width`` px wide, a
    script counted at its size over ``SCRIPT_SCALE`` (``None`` when there is no text);
    matplotlib writes sizes in the units of its viewBox."""
    match = VIEWBOX_WIDTH.search(svg)
    sizes = []
    for element in TEXT_ELEMENT.findall(svg):
        in_element = [float(size) for size in FONT_SIZE.findall(element)]
        base = max(in_element, default=0)
        sizes += [size if size == base else size / SCRIPT_SCALE for size in in_element]
    if not match or not sizes:
        return None
    return min(sizes) * displayed_width / float(match.group(1))


def problems_figure(name: str, figure: dict, svg: str | None) -> list[str]:
    src = figure["src"]
    if not src.endswith(".svg") or svg is None:
        return [f"{name}: figure {src} is not SVG (blurred when zoomed, unmeasurable text)"]
    problems = []
    if not figure["caption"]:
        problems.append(f"{name}: figure {src} has no caption")
    smallest = smallest_text_px(svg, figure["width"])
    if smallest is not None and smallest < MIN_TEXT_PX:
        problems.append(
            f"{name}: figure {src} shows text at {smallest:.1f} px on a 390 px screen "
            f"(at least {MIN_TEXT_PX}); keep it at most 5.6 in wide (jaxbook.plotting)"
        )
    return problems


def test_figures_are_captioned_svg_readable_on_a_phone(browser, base_url, site_dir):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    problems, seen = [], 0
    try:
        for name in CHECKED:
            page.goto(f"{base_url}{name}.html", wait_until="load")
            for figure in page.evaluate(FIGURES):
                seen += 1
                file = (site_dir / name).parent / unquote(urlsplit(figure["src"]).path)
                svg = file.read_text("utf-8") if file.suffix == ".svg" else None
                problems += problems_figure(name, figure, svg)
    finally:
        context.close()
    assert seen >= 20 or not WHOLE_BOOK, f"only {seen} figures found: has the markup changed?"
    fail_on(problems)


SVG = '<svg width="403.2pt" viewBox="0 0 403.2 237.6"><text style="font-size: {}px">x</text></svg>'


@pytest.mark.parametrize(
    ("figure", "svg", "expected"),
    [
        ({"src": "a.png", "width": 358, "caption": True}, None, "is not SVG"),
        ({"src": "a.svg", "width": 358, "caption": False}, SVG.format(11), "has no caption"),
        ({"src": "a.svg", "width": 250, "caption": True}, SVG.format(11), "6.8 px"),
    ],
)
def test_each_figure_problem_is_named_with_its_page(figure, svg, expected):
    (problem,) = problems_figure("book/x", figure, svg)
    assert problem.startswith("book/x: figure a.") and expected in problem


def test_a_script_is_held_to_70_percent_and_plain_small_text_is_not():
    script = (
        '<svg viewBox="0 0 403.2 237.6"><text><tspan style="font-size: 11px">x</tspan>'
        '<tspan style="font-size: 7.7px">1</tspan></text></svg>'
    )
    assert smallest_text_px(script, 358) == pytest.approx(11 * 358 / 403.2)
    assert smallest_text_px(SVG.format(7.7), 358) == pytest.approx(7.7 * 358 / 403.2)


def test_a_figure_of_the_book_style_passes():
    assert (
        problems_figure("book/x", {"src": "a.svg", "width": 358, "caption": True}, SVG.format(11))
        == []
    )


ZOOM_TEXT_PX = 12  # issue #31: figure text at least 12 CSS px on a phone, or a view that has it

OPEN_ZOOM = """async (index) => {
  const img = document.querySelectorAll('div.cell_output img')[index];
  const button = img.closest('figure')?.querySelector('button.jaxbook-zoom-open');
  if (!button || button.hidden) return {button: false};
  button.click();
  const dialog = document.querySelector('dialog.jaxbook-zoom-dialog');
  const big = dialog?.querySelector('img');
  if (big) await big.decode().catch(() => null);
  return {button: true, open: !!dialog?.open, width: big ? big.getBoundingClientRect().width : 0};
}"""

# After Escape: is the dialog closed, and is the focus back on the button that opened it?
AFTER_CLOSE = """async (index) => {
  await new Promise(done => setTimeout(done, 0));  // the dialog's close event is a task
  const img = document.querySelectorAll('div.cell_output img')[index];
  const button = img.closest('figure').querySelector('button.jaxbook-zoom-open');
  const dialog = document.querySelector('dialog.jaxbook-zoom-dialog');
  return {closed: !dialog.open, focusBack: document.activeElement === button};
}"""


def problems_zoom(name: str, src: str, shown_px: float | None, zoom: dict, svg: str) -> list[str]:
    """A figure whose text is under ``ZOOM_TEXT_PX`` as shown must open, on a tap of its
    "Enlarge" button, at a size where it is not, and give the focus back when closed."""
    if shown_px is None or shown_px >= ZOOM_TEXT_PX:
        return []
    where = f"{name}: figure {src} (text {shown_px:.1f} px on a 390 px screen)"
    if not zoom["button"]:
        return [f"{where} has no Enlarge button"]
    if not zoom["open"]:
        return [f"{where}: its Enlarge button opens no dialog"]
    zoomed = smallest_text_px(svg, zoom["width"]) or 0
    problems = []
    if zoomed < ZOOM_TEXT_PX:
        problems.append(f"{where} is enlarged to text of {zoomed:.1f} px only")
    if not (zoom["closed"] and zoom["focusBack"]):
        problems.append(f"{where}: closing the enlarged view does not return to its button")
    return problems


def test_small_figure_text_can_be_enlarged_on_a_phone(browser, base_url, site_dir):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    problems, enlarged = [], 0
    try:
        for name in CHECKED:
            page.goto(f"{base_url}{name}.html", wait_until="load")
            for index, figure in enumerate(page.evaluate(FIGURES)):
                file = (site_dir / name).parent / unquote(urlsplit(figure["src"]).path)
                if file.suffix != ".svg":
                    continue  # test_figures_are_captioned_svg_readable_on_a_phone names it
                svg = file.read_text("utf-8")
                shown = smallest_text_px(svg, figure["width"])
                zoom = page.evaluate(OPEN_ZOOM, index)
                if zoom["button"] and zoom["open"]:
                    page.keyboard.press("Escape")
                    zoom |= page.evaluate(AFTER_CLOSE, index)
                enlarged += zoom["button"]
                problems += problems_zoom(name, figure["src"], shown, zoom, svg)
    finally:
        context.close()
    assert enlarged >= 10 or not WHOLE_BOOK, f"only {enlarged} figures could be enlarged"
    fail_on(problems)


@pytest.mark.parametrize(
    ("zoom", "expected"),
    [
        ({"button": False}, "has no Enlarge button"),
        ({"button": True, "open": False}, "opens no dialog"),
        (
            {"button": True, "open": True, "width": 300, "closed": True, "focusBack": True},
            "enlarged to text of 8.2 px only",
        ),
        (
            {"button": True, "open": True, "width": 600, "closed": True, "focusBack": False},
            "does not return to its button",
        ),
    ],
)
def test_each_zoom_problem_is_named_with_its_page(zoom, expected):
    (problem,) = problems_zoom("book/x", "a.svg", 9.8, zoom, SVG.format(11))
    assert problem.startswith("book/x: figure a.svg (text 9.8 px") and expected in problem


def test_a_figure_readable_as_shown_needs_no_zoom():
    assert problems_zoom("book/x", "a.svg", 12.5, {"button": False}, SVG.format(11)) == []
