"""The checks themselves: on a deliberately broken site, each one fails and names the page.

The site is written here by hand (no Sphinx build needed): a figure without alt text, an image
that does not load, a page whose script throws, a broken link and a broken anchor.
"""

from __future__ import annotations

import base64

import pytest
from sitecheck import (
    problems_console,
    problems_external,
    problems_images,
    problems_links,
    serve,
    visit,
)

pytestmark = pytest.mark.browser

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def html(body: str) -> str:
    return f'<!doctype html><html lang="en"><head><title>t</title></head><body>{body}</body></html>'


@pytest.fixture(scope="module")
def bad_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_site")
    (root / "book").mkdir()
    (root / "book" / "figure.png").write_bytes(PNG)
    pages = {
        "book/good": html('<h1 id="top">Good</h1><img src="figure.png" alt="A dot.">'),
        "book/no_alt": html('<img src="figure.png"><img src="missing.png" alt="Gone.">'),
        "book/throws": html('<p>Hi</p><script>throw new Error("boom in a page script")</script>'),
        "book/links": html(
            '<a href="good.html#top">ok</a> <a href="good.html#nowhere">bad anchor</a> '
            '<a href="absent.html">bad link</a> <a href="#here">bad own anchor</a> '
            '<a href="https://example.org/">elsewhere</a>'
        ),
        "book/external": html('<script src="https://cdn.example.org/lib.js"></script>'),
    }
    for name, text in pages.items():
        (root / f"{name}.html").write_text(text, encoding="utf-8")
    (root / "index.html").write_text(html('<a href="book/good.html">book</a>'), encoding="utf-8")
    with serve(root) as url:
        yield root, url


def check(browser, bad_site, name):
    root, url = bad_site
    return visit(browser, url, name, f"{name}.html", axe=False), root, url


def test_a_good_page_has_no_problems(browser, bad_site):
    report, root, url = check(browser, bad_site, "book/good")
    assert not problems_console(report) + problems_images(report)
    assert not problems_links(report, root, url) + problems_external(report)


def test_a_figure_without_alt_text_and_a_missing_image_fail(browser, bad_site):
    report, _, _ = check(browser, bad_site, "book/no_alt")
    problems = problems_images(report)
    assert any("book/no_alt: image without alt text" in p and "figure.png" in p for p in problems)
    assert any("book/no_alt: image did not load" in p and "missing.png" in p for p in problems)
    assert any("book/no_alt: failed request" in p for p in problems_console(report))


def test_a_script_error_fails(browser, bad_site):
    report, _, _ = check(browser, bad_site, "book/throws")
    assert any(
        p.startswith("book/throws: console error") and "boom in a page script" in p
        for p in problems_console(report)
    )


def test_broken_links_and_anchors_fail(browser, bad_site):
    report, root, url = check(browser, bad_site, "book/links")
    problems = problems_links(report, root, url)
    assert sorted(problems) == [
        "book/links: broken anchor /book/good.html#nowhere (no such id)",
        "book/links: broken anchor /book/links.html#here (no such id)",
        "book/links: broken link to /book/absent.html (no such file)",
    ]


def test_a_request_to_another_host_fails(browser, bad_site):
    report, _, _ = check(browser, bad_site, "book/external")
    assert problems_external(report) == [
        "book/external: request to another host: https://cdn.example.org/lib.js"
    ]
    assert not problems_console(report)  # the aborted request is reported once, above
