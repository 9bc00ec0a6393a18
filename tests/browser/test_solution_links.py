"""A solution's title opens the solution (issue #31, item 3).

sphinx-exercise titles each solution "Solution to <a>Exercise N.M</a>", the link pointing back
at the exercise, and sphinx-togglebutton makes the whole title of the dropdown clickable. Its
click handler knows only the title itself, its chevron button and the chevron's parts: a click
on the link (or on anything else inside the title) found no button and threw
``ReferenceError: button is not defined``, and the page jumped back to the exercise instead
of opening the solution. ``book/_static/reading-aids.js`` (aid 4) makes every part of a
dropdown's title open and close it. Checked on every page with solutions, at a phone's and a
laptop's width, by mouse and by keyboard (Enter on the focused link).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sitecheck import CHECKED, WHOLE_BOOK, fail_on

pytestmark = pytest.mark.browser

SOLUTION = "div.solution.dropdown"
STATE = """(solution) => ({
  open: [...solution.children].some(c => !c.classList.contains("admonition-title") &&
          c.checkVisibility({visibilityProperty: true, opacityProperty: true})),
  expanded: solution.querySelector(":scope > .admonition-title a")?.getAttribute("aria-expanded"),
  hash: location.hash,
  scrollY: Math.round(window.scrollY),
})"""


SETTLED = (
    """([solution, open]) => {
  const state = ("""
    + STATE
    + """)(solution);
  return state.open === open && state.expanded === String(open);
}"""
)


def pages_with_solutions(site_dir) -> list[str]:
    return [
        name
        for name in CHECKED
        if re.search(r'class="solution[^"]*dropdown', (site_dir / f"{name}.html").read_text())
    ]


# What a reader does to the link, and whether the solution is open afterwards.
STEPS = [
    ("a click on the link", "click", True),
    ("a second click on the link", "click", False),
    ("Enter on the focused link", "focus and Enter", True),
    ("Enter again", "Enter", False),
]


def problems_of_solution(page, solution, where: str) -> list[str]:
    """What goes wrong when a reader uses the link of ``solution``'s title (the first step that
    fails says enough about it)."""
    link = solution.locator("> .admonition-title a").first
    if not link.count():
        return [f"{where}: its title has no link to the exercise"]
    for what, action, want_open in STEPS:
        before = solution.evaluate(STATE)
        if action == "click":
            link.click()
        else:
            if action.startswith("focus"):
                link.focus()
            link.press("Enter")
        try:  # the theme toggles at once; a loaded machine may take a moment to paint it
            page.wait_for_function(
                SETTLED, arg=[solution.element_handle(), want_open], timeout=3_000
            )
        except PlaywrightTimeout:
            pass  # reported below, with what the page shows
        after = solution.evaluate(STATE)
        found = []
        if after["open"] != want_open:
            found.append("the solution is " + ("closed" if want_open else "open"))
        if after["expanded"] != str(want_open).lower():
            found.append(f"the link says aria-expanded={after['expanded']!r}")
        if after["hash"] != before["hash"]:
            found.append(f"the page jumped to {after['hash']!r}")
        if found:
            return [f"{where}: after {what}, {'; '.join(found)}"]
    return []


@pytest.mark.parametrize("width", [390, 1366], ids=["390px", "1366px"])
def test_a_solutions_link_opens_the_solution(browser, base_url, site_dir, width):
    names = pages_with_solutions(site_dir)
    if not names:
        assert not WHOLE_BOOK, "no page has a dropdown solution: has sphinx-exercise changed?"
        pytest.skip("no page checked has a dropdown solution")
    problems: list[str] = []
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        for name in names:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error, e=errors: e.append(f"uncaught: {error}"))
            page.on("console", lambda m, e=errors: m.type == "error" and e.append(m.text))
            page.goto(f"{base_url}{name}.html", wait_until="load")
            solutions = page.locator(SOLUTION)
            for i in range(solutions.count()):
                where = f"{name} at {width} px, solution {i + 1}"
                problems += problems_of_solution(page, solutions.nth(i), where)
            problems += [f"{name} at {width} px: {error}" for error in dict.fromkeys(errors)]
            page.close()
    finally:
        context.close()
    fail_on(problems)
