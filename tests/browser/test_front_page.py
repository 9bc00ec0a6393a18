"""The front page invites: one card per chapter saying what the reader will be able to do after
it, a logo with alt text, and a footer that reads naturally."""

from __future__ import annotations

import re

import pytest
from sitecheck import EXECUTABLE, PAGES, fail_on

pytestmark = pytest.mark.browser

# The chapters are the executable pages; the glossary, references and status page are not.
CHAPTERS = EXECUTABLE

CARDS = """() => [...document.querySelectorAll("article .sd-card")].map(card => {
  const link = card.querySelector("a[href]");
  const box = card.getBoundingClientRect();
  const body = card.querySelector(".sd-card-text");
  return {href: link ? link.getAttribute("href") : null, text: body ? body.innerText.trim() : "",
          left: box.left, right: box.right};
})"""


@pytest.fixture(params=[390, 1366])
def front(request, browser, base_url):
    context = browser.new_context(viewport={"width": request.param, "height": 900})
    page = context.new_page()
    page.goto(f"{base_url}book/index.html", wait_until="load")
    yield request.param, page
    context.close()


def test_one_card_per_chapter_saying_what_you_will_be_able_to_do(front):
    width, page = front
    cards = page.evaluate(CARDS)
    linked = [card["href"].removesuffix(".html") for card in cards if card["href"]]
    expected = [name.removeprefix("book/") for name in CHAPTERS]
    problems = []
    if linked != expected:
        problems.append(f"index at {width} px: the cards link to {linked}, expected {expected}")
    for card in cards:
        sentence = card["text"]
        if len(sentence) < 40 or not sentence.endswith("."):
            problems.append(f"index: the card for {card['href']} has no sentence: {card['text']!r}")
        if card["left"] < 0 or card["right"] > width:
            problems.append(f"index at {width} px: the card for {card['href']} leaves the screen")
    fail_on(problems)


def test_logo_with_alt_text(front):
    width, page = front
    if width == 390:
        page.locator(".primary-toggle:visible").first.click()
        page.wait_for_timeout(300)
    logos = page.evaluate(
        """() => [...document.querySelectorAll("img.logo__image")].filter(img =>
              img.checkVisibility()).map(img => ({alt: img.alt, width: img.naturalWidth,
                                                 src: img.getAttribute("src")}))"""
    )
    assert logos, f"index at {width} px: no visible logo"
    for logo in logos:
        assert logo["width"] > 0, f"the logo {logo['src']} did not load"
        assert logo["alt"].strip(), f"the logo {logo['src']} has no alt text"


def test_footer_reads_naturally(front):
    width, page = front
    footer = " ".join(page.locator("footer.bd-footer-content").inner_text().split())
    assert "By the jaxbook contributors" in footer, footer
    assert "By The" not in footer, footer


def test_the_front_page_links_the_pdf_only_where_the_site_holds_it(site_dir):
    """`make book` writes no PDF (`make pdf` does, and then links it from the front page): a
    link to a PDF the site does not hold is a 404 (issue #31)."""
    front = site_dir / f"{PAGES[0]}.html"
    links = re.findall(r'href="([^"#?]+\.pdf)"', front.read_text(encoding="utf-8"))
    missing = [href for href in links if not (front.parent / href).resolve().is_file()]
    assert not missing, f"{PAGES[0]} links {missing}, which the site does not hold"
    if (site_dir / "jaxbook.pdf").is_file():
        assert links, f"the site holds jaxbook.pdf but {PAGES[0]} does not link it"
