"""The search page finds the chapters a reader would look for."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from expectations import SEARCHES
from sitecheck import PAGES, PageReport, fail_on, problems_axe, run_axe

pytestmark = pytest.mark.browser

RESULTS = "#search-results ul.search li a"
FINISHED = """() => {
  const summary = document.querySelector("#search-results .search-summary");
  return summary && summary.innerText.trim().length > 0;
}"""


@pytest.mark.parametrize("word", sorted(SEARCHES))
def test_search_finds_the_chapter(browser, base_url, word):
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{base_url}search.html?q={word}")
        page.wait_for_function(FINISHED, timeout=15_000)
        found = [
            urlsplit(a).path for a in page.eval_on_selector_all(RESULTS, "l => l.map(a => a.href)")
        ]
        summary = page.inner_text("#search-results .search-summary")

        report = PageReport(name=f"search.html?q={word}", url=page.url)
        report.axe["light"] = run_axe(page)
    finally:
        context.close()
    assert not errors, f"search.html?q={word}: script errors {errors}"
    expected = f"/{SEARCHES[word]}.html"
    assert expected in found, f"search.html?q={word} lists {found} ({summary!r}), not {expected}"
    fail_on(problems_axe(report, "light"))


# Where the text of each search field starts (its box, border and padding) and where the
# magnifying glass the theme draws over it (position: absolute) ends.
SEARCH_FIELDS = """() => [...document.querySelectorAll("form.bd-search")]
  .filter(form => form.checkVisibility())
  .map(form => {
    const input = form.querySelector("input"), icon = form.querySelector("i, .icon");
    const style = getComputedStyle(input);
    return {where: form.closest("dialog") ? "the search dialog" : "the search page's field",
            value: input.value,
            textStart: input.getBoundingClientRect().left + parseFloat(style.borderLeftWidth) +
                       parseFloat(style.paddingLeft) + parseFloat(style.textIndent || 0),
            iconEnd: icon ? icon.getBoundingClientRect().right : null};
  })"""


@pytest.mark.parametrize("width", [390, 1366], ids=["390px", "1366px"])
def test_the_search_icon_leaves_the_query_clear(browser, base_url, width):
    """The query's first letter starts right of the magnifying glass, on the search page and in
    the search dialog (Ctrl+K); the theme's padding put the text under the icon (issue #31)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{base_url}search.html?q=vmap")
        page.wait_for_function(FINISHED, timeout=15_000)
        fields = page.evaluate(SEARCH_FIELDS)
        # On the search page Ctrl+K focuses its own field; elsewhere it opens the dialog.
        page.goto(f"{base_url}{PAGES[0]}.html")
        page.keyboard.press("Control+k")
        page.wait_for_selector("#pst-search-dialog[open] input", timeout=5_000)
        fields += [f for f in page.evaluate(SEARCH_FIELDS) if f["where"] == "the search dialog"]
    finally:
        context.close()
    assert any(f["value"] == "vmap" for f in fields), f"no field holds the query: {fields}"
    assert {f["where"] for f in fields} == {"the search page's field", "the search dialog"}, fields
    fail_on(
        [
            f"{f['where']} at {width} px: the text starts at x = {f['textStart']:.1f}, under the "
            f"icon, which ends at x = {f['iconEnd']:.1f}"
            for f in fields
            if f["iconEnd"] is not None and f["textStart"] < f["iconEnd"] + 2
        ]
    )
