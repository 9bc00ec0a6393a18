"""The search page finds the chapters a reader would look for."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from expectations import SEARCHES
from sitecheck import PageReport, fail_on, problems_axe, run_axe

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
