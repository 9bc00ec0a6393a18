"""Wide content on a phone and a laptop: code, tables and display equations that are wider than
the column scroll inside their own box, with a visible cue (a shadow at the edge that has more),
and the page itself never scrolls sideways (book/_static/scroll-cues.js and custom.css)."""

from __future__ import annotations

import pytest
from sitecheck import CHECKED, fail_on

pytestmark = pytest.mark.browser

# The boxes that may be wider than the column: code and outputs, tables (the theme wraps each in
# a scrollable container), display equations as MathJax typesets them.
WIDE = 'div.highlight pre, .pst-scrollable-table-container, mjx-container[display="true"]'

MEASURE = """async (selector) => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const boxes = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.checkVisibility() || el.scrollWidth <= el.clientWidth + 1) continue;
    const style = getComputedStyle(el);
    const label = el.tagName.toLowerCase() + (el.closest("section[id]") ?
        " in #" + el.closest("section[id]").id : "");
    boxes.push({label, scrollWidth: el.scrollWidth, clientWidth: el.clientWidth,
                overflow: style.overflowX, cue: style.backgroundImage});
  }
  return {page: document.documentElement.scrollWidth, viewport: window.innerWidth, boxes};
}"""


@pytest.fixture(scope="module", params=[(390, 844), (1366, 900)], ids=["390px", "1366px"])
def measured(request, browser, base_url):
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    seen = {}
    try:
        for name in CHECKED:
            page.goto(f"{base_url}{name}.html", wait_until="load")
            seen[name] = page.evaluate(MEASURE, WIDE)
    finally:
        context.close()
    return width, seen


def test_no_page_scrolls_sideways_as_a_whole(measured):
    width, seen = measured
    fail_on(
        [
            f"{name} at {width} px: the page is {m['page']} px wide in a {m['viewport']} px window"
            for name, m in seen.items()
            if m["page"] > m["viewport"]
        ]
    )


def test_wide_boxes_scroll_inside_themselves_with_a_visible_cue(measured):
    """Every code block, table and display equation wider than its column scrolls on its own
    (overflow-x auto or scroll) and shows a cue: the scroll shadows are background gradients."""
    width, seen = measured
    problems = []
    for name, m in seen.items():
        for box in m["boxes"]:
            size = f"{box['scrollWidth']} px in {box['clientWidth']}"
            where = f"{name} at {width} px: {box['label']} ({size})"
            if box["overflow"] not in ("auto", "scroll"):
                problems.append(f"{where} is cut off (overflow-x: {box['overflow']})")
            elif "gradient" not in box["cue"]:
                problems.append(f"{where} scrolls with no visible cue")
    fail_on(problems)


def test_the_ml_basics_equations_are_not_cut_off_on_a_phone(measured):
    width, seen = measured
    if width != 390:
        pytest.skip("the phone's width only")
    if "book/ml_basics" not in seen:
        pytest.skip("book/ml_basics is not among the pages checked")
    boxes = [b for b in seen["book/ml_basics"]["boxes"] if b["label"].startswith("mjx-container")]
    fail_on(
        [
            f"book/ml_basics: {b['label']} is {b['scrollWidth']} px in {b['clientWidth']} px "
            "with no scroll cue"
            for b in boxes
            if b["overflow"] not in ("auto", "scroll") or "gradient" not in b["cue"]
        ]
    )


def test_the_flax_comparison_table_fits_a_phone(browser, base_url):
    """The prose table "Where they differ" (four columns of sentences) is laid out as one block
    per row at 390 px, each cell labelled with its column, so it fits without scrolling."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"{base_url}book/flax_nnx.html", wait_until="load")
        seen = page.evaluate(
            """() => {
              const table = document.querySelector("#where-they-differ-in-a-way-that-bites table");
              if (!table) return null;
              const box = table.closest(".pst-scrollable-table-container") || table;
              const heads = [...table.querySelectorAll("thead th")].map(th => th.innerText.trim());
              const unlabelled = [];
              for (const row of table.querySelectorAll("tbody tr")) {
                [...row.cells].forEach((cell, i) => {
                  const label = getComputedStyle(cell, "::before").content;
                  if (heads[i] && !label.includes(heads[i])) {
                    unlabelled.push(row.cells[0].innerText + " / " + heads[i]);
                  }
                });
              }
              return {scrollWidth: box.scrollWidth, clientWidth: box.clientWidth, unlabelled};
            }"""
        )
    finally:
        context.close()
    assert seen is not None, "book/flax_nnx: no table under 'Where they differ ...'"
    problems = []
    if seen["scrollWidth"] > seen["clientWidth"] + 1:
        problems.append(
            f"book/flax_nnx: the comparison table is {seen['scrollWidth']} px wide in a "
            f"{seen['clientWidth']} px column at 390 px"
        )
    problems += [f"book/flax_nnx: cell {c} does not name its column" for c in seen["unlabelled"]]
    fail_on(problems)
