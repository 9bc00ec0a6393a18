"""What a reader uses on a page: the dark theme, hidden solutions, the copy button."""

from __future__ import annotations

import pytest
from sitecheck import CHECKED, EXECUTABLE, PAGES

pytestmark = pytest.mark.browser

BACKGROUND = """() => {
  const rgb = getComputedStyle(document.body).backgroundColor.match(/[\\d.]+/g).map(Number);
  const [r, g, b] = rgb.slice(0, 3).map(c => {
    c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
  return {theme: document.documentElement.dataset.theme,
          color: getComputedStyle(document.body).backgroundColor,
          luminance: 0.2126 * r + 0.7152 * g + 0.0722 * b};
}"""


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_theme_renders(browser, base_url, mode):
    """localStorage mode=dark (the theme switch's choice) gives a dark page; light a light one."""
    context = browser.new_context()
    context.add_init_script(f'localStorage.setItem("mode", "{mode}");')
    page = context.new_page()
    try:
        page.goto(base_url + PAGES[1] + ".html")
        seen = page.evaluate(BACKGROUND)
    finally:
        context.close()
    assert seen["theme"] == mode, seen
    if mode == "dark":
        assert seen["luminance"] < 0.05, f"the dark theme's background is {seen['color']}"
    else:
        assert seen["luminance"] > 0.8, f"the light theme's background is {seen['color']}"


def test_exercise_solutions_are_hidden_until_clicked(reports, browser, base_url):
    """Every dropdown solution is closed on load; clicking opens it (on the first such page)."""
    with_solutions = [name for name in CHECKED if reports[name].solutions_shown]
    if not with_solutions:
        pytest.skip("no page checked has a dropdown solution (sphinx-exercise)")
    shown = [
        f"{name}: solution {i + 1} is shown before it is asked for"
        for name in with_solutions
        for i, visible in enumerate(reports[name].solutions_shown)
        if visible
    ]
    assert not shown, "\n".join(shown)
    name = with_solutions[0]
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(base_url + name + ".html")
        solutions = page.locator("div.solution.dropdown")
        for i in range(solutions.count()):
            body = solutions.nth(i).locator("> :not(.admonition-title)").first
            assert not body.is_visible(), f"{name}: solution {i + 1} is open before a click"
            solutions.nth(i).locator("button.toggle-button").click()
            body.wait_for(state="visible", timeout=5_000)
    finally:
        context.close()


def test_copy_button_copies_the_code(browser, base_url):
    name = next(iter(EXECUTABLE), None)
    if name is None:
        pytest.skip("no executable page")
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        page.goto(base_url + name + ".html")
        cell = page.locator("div.cell div.cell_input div.highlight").first
        code = cell.locator("pre").inner_text()
        cell.hover()
        cell.locator("button.copybtn").click()
        copied = page.evaluate("navigator.clipboard.readText()")
    finally:
        context.close()
    assert copied.strip() == code.strip(), f"{name}: the copy button copied {copied[:80]!r}"
