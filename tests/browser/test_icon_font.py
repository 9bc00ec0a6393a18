"""The theme's icons (toggles, search, theme switch, download, repository buttons) stay visible
and hidden from screen readers, while a page loads only the few glyphs it shows: not the
1.5 MB icon script nor the whole icon fonts (booktools.html_fixes_ext subsets them)."""

from __future__ import annotations

import pytest
from expectations import ICON_BUDGET
from sitecheck import CHECKED, fail_on

pytestmark = pytest.mark.browser

# For each icon on the page: is it visible, hidden from assistive technology (or labelled, as the
# theme switch's "Light" and "Dark" are), named by its control, and does its glyph come from the
# icon font (not a fallback font's empty box)?
ICONS = """async () => {
  await document.fonts.ready;
  const canvas = document.createElement("canvas").getContext("2d");
  const icons = [...document.querySelectorAll('i[class*="fa-"], svg.svg-inline--fa')];
  return icons.filter(el => el.checkVisibility()).map(el => {
    const box = el.getBoundingClientRect();
    const control = el.closest("a, button, label");
    const name = control ? (control.getAttribute("aria-label") || control.getAttribute("title") ||
                            control.innerText || "").trim() : "(no control)";
    let glyph = true, size = box.height;
    if (el.tagName === "I") {  // the icon font: the glyph of ::before, drawn in that font alone
      const before = getComputedStyle(el, "::before");
      size = parseFloat(before.fontSize);  // fa-lg squeezes the box's line height, not the glyph
      const text = before.content.replace(/^"|"$/g, "");
      const font = `${before.fontWeight} 40px ${before.fontFamily}`;
      canvas.font = `${font}, monospace`;
      const withIcon = canvas.measureText(text).width;
      canvas.font = "40px monospace";
      glyph = text.length > 0 && text !== "none" && withIcon !== canvas.measureText(text).width;
    }
    return {cls: el.getAttribute("class"), width: box.width, height: size, glyph, name,
            hidden: !!el.closest('[aria-hidden="true"]'),
            label: el.getAttribute("aria-label") || el.getAttribute("title") ||
                   (el.querySelector("title") || {}).textContent || ""};
  });
}"""


@pytest.mark.parametrize("name", CHECKED)
def test_the_icon_font_is_light(reports, name):
    icon_bytes = {
        url: size for url, size in reports[name].resources.items() if "fontawesome" in url
    }
    total = sum(icon_bytes.values())
    if total > ICON_BUDGET:
        fail_on([f"{name}: {total:,} bytes of icons (budget {ICON_BUDGET:,}): {icon_bytes}"])


@pytest.mark.parametrize("width", [390, 1366])
def test_the_icons_a_page_shows_are_visible_and_accessible(browser, base_url, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    problems, seen = [], 0
    try:
        for name in CHECKED:
            page.goto(f"{base_url}{name}.html", wait_until="load")
            for icon in page.evaluate(ICONS):
                seen += 1
                what = f"{name} at {width} px: icon {icon['cls']!r}"
                if icon["width"] < 4 or icon["height"] < 4:
                    problems.append(f"{what} is {icon['width']}x{icon['height']} px")
                if not icon["glyph"]:
                    problems.append(f"{what} has no glyph in the icon font")
                if not icon["hidden"] and not icon["label"]:
                    problems.append(f"{what} is neither aria-hidden nor labelled")
                if not icon["name"]:
                    problems.append(f"{what}: its control has no accessible name")
    finally:
        context.close()
    assert seen >= 5 * len(CHECKED), f"only {seen} visible icons on {len(CHECKED)} pages"
    fail_on(problems)
