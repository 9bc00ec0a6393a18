"""Nothing cut off (issue #31): what a page shows is in sight, or behind a scroll bar the reader
can see.

* At 1366 px a line of 88 characters fits a code block (the width ``make format-pages``
  formats the pages' code cells to), and every code cell and question snippet fits its box.
* On a phone (390 px) every question snippet is in sight without scrolling (it wraps).
* At 390 and 1366 px nothing in the page's main column is clipped: every text, image and
  formula lies inside each box that clips it, or inside a box that scrolls and shows its scroll
  bar. Phones and macOS draw overlay scroll bars, which show only while one scrolls, so these
  tests run a Chromium with overlay scroll bars (``OVERLAY_ARGS``), where only a scroll bar
  that the site draws itself (custom.css) takes room.

Each check is a plain function of what the page measured, so ``test_each_cut_is_named`` can
show it failing on made-up measurements.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser
from sitecheck import CHECKED, CHECKED_EXECUTABLE, fail_on

pytestmark = pytest.mark.browser

CODE_COLUMNS = 88  # the line length of the pages' code cells: [tool.jaxbook.page-code]
# Playwright hides scroll bars in headless Chromium; these show them, as overlays.
OVERLAY_ARGS = ["--enable-features=OverlayScrollbar"]
MIN_SCROLLBAR_PX = 4
WIDTHS = [(390, 844), (1366, 900)]

READY = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  for (const img of document.images) { img.loading = "eager"; }
  await Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; setTimeout(done, 5000); })));
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
}"""

# Every text and replaced element of the main column against each box that clips it.
CLIPPED = """() => {
  const root = document.querySelector("main") || document.body;
  const screen = document.documentElement.clientWidth;
  const hiddenOnPurpose = (el) => {  // screen-reader text, MathJax's assistive MathML
    for (let a = el; a && a !== document.documentElement; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (style.clip !== "auto" || style.clipPath !== "none") return true;
    }
    return false;
  };
  const label = (el) => {
    const section = el.closest("section[id]");
    const text = (el.innerText || el.getAttribute("alt") || el.textContent || "").trim();
    return el.tagName.toLowerCase() + (section ? " in #" + section.id : "") +
        (text ? " (" + JSON.stringify(text.slice(0, 40)) + ")" : "");
  };
  const scrollbar = (box) => {
    const style = getComputedStyle(box);
    return box.offsetHeight - box.clientHeight -
        parseFloat(style.borderTopWidth) - parseFloat(style.borderBottomWidth);
  };
  const cuts = new Map();
  const check = (rect, from, owner) => {
    if (rect.width < 1 || rect.height < 1) return;
    let left = rect.left, right = rect.right;
    for (let box = from; box; box = box.parentElement) {
      const overflow = box === document.documentElement ? "clip" : getComputedStyle(box).overflowX;
      if (overflow === "visible") continue;
      const outer = box.getBoundingClientRect();
      const start = box === document.documentElement ? 0 : outer.left + box.clientLeft;
      const end = box === document.documentElement ? screen : start + box.clientWidth;
      const over = Math.max(right - end, start - left);
      if (over <= 1) continue;
      if (overflow === "auto" || overflow === "scroll") {
        if (box.scrollWidth <= box.clientWidth + 1) continue;  // a hanging space, nothing hidden
        if (scrollbar(box) < %(MIN)s && !cuts.has(box)) {
          cuts.set(box, {what: label(box), by: "its own box", px: Math.round(box.scrollWidth -
              box.clientWidth), scrolls: true});
        }
        left = Math.max(left, outer.left); right = Math.min(right, outer.right);
        continue;
      }
      if (!cuts.has(owner)) {
        cuts.set(owner, {what: label(owner), px: Math.round(over), scrolls: false,
            by: box === document.documentElement ? "the screen" : label(box).split(" (")[0]});
      }
      return;
    }
  };
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.checkVisibility({visibilityProperty: true}) ||
        hiddenOnPurpose(el)) continue;
    const range = document.createRange();  // the text without its spaces at either end
    const text = node.textContent;
    range.setStart(node, text.length - text.trimStart().length);
    range.setEnd(node, text.trimEnd().length);
    for (const rect of range.getClientRects()) check(rect, el, el);
  }
  for (const el of root.querySelectorAll("img, svg, mjx-container, canvas, video, iframe, " +
                                         "input, button, select, textarea")) {
    if (!el.checkVisibility({visibilityProperty: true}) || hiddenOnPurpose(el)) continue;
    check(el.getBoundingClientRect(), el.parentElement, el);
  }
  return [...cuts.values()];
}""".replace("%(MIN)s", str(MIN_SCROLLBAR_PX))

# The code boxes: cell inputs, question snippets, and a probe line of CODE_COLUMNS characters.
CODE = """(columns) => {
  const over = (pre) => pre.scrollWidth - pre.clientWidth;
  const first = (pre) => pre.textContent.trim().split("\\n")[0].slice(0, 60);
  const boxes = [...document.querySelectorAll("div.cell_input pre")].map(
      (pre, i) => ({kind: "code cell " + (i + 1), first: first(pre), over: over(pre)}));
  document.querySelectorAll(".jb-predict pre").forEach((pre) => boxes.push(
      {kind: "question " + pre.closest(".jb-predict").id, first: first(pre), over: over(pre),
       question: true}));
  let probe = null;
  const pre = document.querySelector("div.cell_input pre");
  if (pre) {
    const line = document.createElement("span");
    line.textContent = "x".repeat(columns);
    line.style.whiteSpace = "pre";
    pre.appendChild(document.createTextNode("\\n"));
    pre.appendChild(line);
    // The narrowest code box shown (a cell inside an exercise's solution has less room).
    const rooms = [...document.querySelectorAll("div.cell_input pre")]
        .filter((box) => box.clientWidth > 0)
        .map((box) => {
          const style = getComputedStyle(box);
          return box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        });
    probe = {width: line.getBoundingClientRect().width, room: Math.min(...rooms)};
    line.previousSibling.remove();
    line.remove();
  }
  return {boxes, probe};
}"""


@pytest.fixture(scope="module")
def overlay_browser(browser_type, browser_type_launch_args) -> Iterator[Browser]:
    """A Chromium that draws scroll bars as a phone or a Mac does: as overlays."""
    args = {
        **browser_type_launch_args,
        "args": [*browser_type_launch_args.get("args", []), *OVERLAY_ARGS],
        "ignore_default_args": ["--hide-scrollbars"],
    }
    browser = browser_type.launch(**args)
    yield browser
    browser.close()


@pytest.fixture(scope="module", params=WIDTHS, ids=["390px", "1366px"])
def seen(request, overlay_browser, base_url) -> tuple[int, dict[str, dict[str, Any]]]:
    width, height = request.param
    context = overlay_browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    measured = {}
    try:
        for name in CHECKED:
            page.goto(f"{base_url}{name}.html", wait_until="load")
            page.evaluate(READY)
            measured[name] = {
                "cuts": page.evaluate(CLIPPED),
                **page.evaluate(CODE, CODE_COLUMNS),
            }
    finally:
        context.close()
    return width, measured


def problems_cuts(name: str, width: int, cuts: list[dict[str, Any]]) -> list[str]:
    problems = []
    for cut in cuts:
        where = f"{name} at {width} px: {cut['what']}"
        if cut["scrolls"]:
            problems.append(f"{where} hides {cut['px']} px behind a scroll bar nobody sees")
        else:
            problems.append(f"{where} is cut off by {cut['px']} px ({cut['by']}, no scroll bar)")
    return problems


def problems_code(
    name: str, width: int, boxes: list[dict[str, Any]], *, questions_only: bool
) -> list[str]:
    return [
        f"{name} at {width} px: {box['kind']} ({box['first']!r}) is {box['over']} px wider "
        "than its box"
        for box in boxes
        if box["over"] > 1 and (box.get("question") or not questions_only)
    ]


def test_nothing_is_clipped_without_a_visible_scroll_bar(seen):
    width, measured = seen
    fail_on([p for name, m in measured.items() for p in problems_cuts(name, width, m["cuts"])])


def test_question_snippets_are_in_sight_on_a_phone(seen):
    width, measured = seen
    if width != 390:
        pytest.skip("the phone's width")
    fail_on(
        [
            p
            for name, m in measured.items()
            for p in problems_code(name, width, m["boxes"], questions_only=True)
        ]
    )


def test_a_line_of_88_characters_fits_a_code_cell_at_1366_px(seen):
    width, measured = seen
    if width != 1366:
        pytest.skip("the laptop's width")
    probes = {name: m["probe"] for name, m in measured.items() if m["probe"]}
    if not probes:
        pytest.skip("no page with a code cell among the pages checked")
    fail_on(
        [
            f"{name} at {width} px: {CODE_COLUMNS} characters of code are {p['width']:.0f} px "
            f"wide in a box with {p['room']:.0f} px of room"
            for name, p in probes.items()
            if p["width"] > p["room"] + 0.5
        ]
    )


def test_code_cells_fit_their_box_at_1366_px(seen):
    """The pages' code cells are formatted to 88 columns (``make format-pages``), which fit."""
    width, measured = seen
    if width != 1366:
        pytest.skip("the laptop's width")
    assert measured.keys() >= set(CHECKED_EXECUTABLE)
    fail_on(
        [
            p
            for name, m in measured.items()
            for p in problems_code(name, width, m["boxes"], questions_only=False)
        ]
    )


@pytest.mark.parametrize(
    ("cut", "expected"),
    [
        (
            {"what": 'h2 in #the-filter ("The filter")', "by": "span", "px": 88, "scrolls": False},
            'book/x at 390 px: h2 in #the-filter ("The filter") is cut off by 88 px (span',
        ),
        (
            {"what": "pre in #a", "by": "its own box", "px": 300, "scrolls": True},
            "book/x at 390 px: pre in #a hides 300 px behind a scroll bar nobody sees",
        ),
    ],
)
def test_each_cut_is_named(cut, expected):
    (problem,) = problems_cuts("book/x", 390, [cut])
    assert problem.startswith(expected)


def test_each_code_box_too_wide_is_named():
    boxes = [
        {"kind": "code cell 3", "first": "import jax", "over": 97},
        {"kind": "question predict-vmap", "first": "jax.vmap(f)", "over": 352, "question": True},
        {"kind": "code cell 4", "first": "x = 1", "over": 0},
    ]
    assert problems_code("book/x", 1366, boxes, questions_only=False) == [
        "book/x at 1366 px: code cell 3 ('import jax') is 97 px wider than its box",
        "book/x at 1366 px: question predict-vmap ('jax.vmap(f)') is 352 px wider than its box",
    ]
    assert len(problems_code("book/x", 390, boxes, questions_only=True)) == 1
