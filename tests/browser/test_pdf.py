"""The whole book as one PDF (``make pdf``, booktools.pdf): what an offline reader gets.

Every chapter's title, every figure's caption and the text inside the (vector) figures must be
in the PDF as text that can be extracted and searched; the page count must be that of a book.
"""

from __future__ import annotations

import html
import re
import unicodedata

import pytest
from pypdf import PdfReader
from sitecheck import PAGES, fail_on

pytestmark = pytest.mark.browser

MIN_PAGES = 80
TAG = re.compile(r"<[^>]+>")


def squash(text: str) -> str:
    """Text with all whitespace removed (a PDF breaks lines where print does) and ligatures
    (fi, fl, ff) as letters (NFKC)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@pytest.fixture(scope="module")
def pdf_text(site_dir) -> tuple[int, str]:
    path = site_dir / "jaxbook.pdf"
    if not path.is_file():
        pytest.fail(f"no {path}: run `make pdf` after `make book`")
    reader = PdfReader(path)
    return len(reader.pages), squash("".join(page.extract_text() or "" for page in reader.pages))


def page_html(site_dir, name: str) -> str:
    return (site_dir / f"{name}.html").read_text("utf-8")


def test_the_pdf_is_a_book(pdf_text):
    pages, text = pdf_text
    assert pages >= MIN_PAGES, f"only {pages} pages"
    assert len(text) > 200_000, f"only {len(text)} characters of text"


def test_every_chapter_title_is_in_the_pdf(site_dir, pdf_text):
    _, text = pdf_text
    missing = []
    for name in PAGES:
        title = re.search(r"<title>(.*?)</title>", page_html(site_dir, name), re.S)
        heading = html.unescape(title.group(1)).split(" \u2014 ")[0].strip() if title else name
        if squash(heading) not in text:
            missing.append(f"{name}: title {heading!r} not in the PDF")
    fail_on(missing)


def test_every_figure_caption_and_the_figures_own_text_are_in_the_pdf(site_dir, pdf_text):
    _, text = pdf_text
    missing, captions = [], 0
    for name in PAGES:
        for caption in re.findall(
            r'<span class="caption-text">(.*?)</span>', page_html(site_dir, name), re.S
        ):
            plain = squash(html.unescape(TAG.sub("", caption)))
            captions += 1
            if plain[:60] not in text:
                missing.append(f"{name}: caption {plain[:60]!r} not in the PDF")
    assert captions >= 20, f"only {captions} captions found on the site"
    # Text drawn inside an SVG figure (an axis label of book/prng) stays text in the PDF.
    assert squash("uniform draw u (no unit)") in text, "figure text is not extractable"
    fail_on(missing)
