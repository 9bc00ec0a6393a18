"""A reader can walk the whole book with the theme's "next" and "previous" links."""

from __future__ import annotations

import pytest
from sitecheck import CHECKED, PAGES, fail_on

pytestmark = pytest.mark.browser


def test_next_and_previous_links_follow_the_table_of_contents(reports, base_url):
    problems = []
    for i, name in enumerate(PAGES):
        if name not in CHECKED:  # a pull request's CI visits only the pages it affects
            continue
        report = reports[name]
        expected_next = base_url + PAGES[i + 1] + ".html" if i + 1 < len(PAGES) else None
        expected_prev = base_url + PAGES[i - 1] + ".html" if i > 0 else None
        if report.next_href != expected_next:
            problems.append(f"{name}: 'next' goes to {report.next_href}, not {expected_next}")
        if report.prev_href != expected_prev:
            problems.append(f"{name}: 'previous' goes to {report.prev_href}, not {expected_prev}")
    fail_on(problems)


def test_clicking_next_walks_every_chapter_and_previous_goes_back(browser, base_url):
    """Click "next" from the first page to the last, then "previous" once.

    Every page's "previous" link is checked above; one click shows that the link works.
    """
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(base_url + PAGES[0] + ".html")
        steps = [("next", "a.right-next", name) for name in PAGES[1:]]
        steps.append(("previous", "a.left-prev", PAGES[-2]))
        for direction, selector, name in steps:
            here = page.url
            with page.expect_navigation(wait_until="domcontentloaded"):
                page.click(f".prev-next-area {selector}")
            assert page.url == base_url + name + ".html", (
                f"'{direction}' from {here} led to {page.url}, not {name}"
            )
    finally:
        context.close()
