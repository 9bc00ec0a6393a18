"""The whole book as one PDF (``make pdf``, booktools.pdf): what an offline reader gets.

Every chapter's title, every figure's caption and the text inside the (vector) figures must be
in the PDF as text that can be extracted and searched; the page count must be that of a book.
"""

from __future__ import annotations

import html
import re
import unicodedata

import pytest
import yaml
from pypdf import PdfReader
from sitecheck import BOOK, PAGES, fail_on

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


# --------------------------------------------------------------------------- a book to read


@pytest.fixture(scope="module")
def raw_sheets(site_dir) -> list[str]:
    """Each page's text as pypdf extracts it."""
    path = site_dir / "jaxbook.pdf"
    if not path.is_file():
        pytest.fail(f"no {path}: run `make pdf` after `make book`")
    return [page.extract_text() or "" for page in PdfReader(path).pages]


@pytest.fixture(scope="module")
def sheets(raw_sheets) -> list[str]:
    """Each page's text, whitespace and ligatures squashed (``squash``)."""
    return [squash(text) for text in raw_sheets]


@pytest.fixture(scope="module")
def tops(site_dir) -> list[str]:
    """Each page's text in the order it stands on the page, top to bottom (squashed): pypdf
    extracts in drawing order, which puts e.g. the references' labels before their heading."""
    texts = []
    for page in PdfReader(site_dir / "jaxbook.pdf").pages:
        parts: list[tuple[float, float, str]] = []

        def visit(text, cm, tm, font, size, parts=parts):
            x, y = tm[4], tm[5]
            top = cm[1] * x + cm[3] * y + cm[5]  # the baseline's height on the page
            parts.append((-round(top, 1), cm[0] * x + cm[2] * y + cm[4], text))

        page.extract_text(visitor_text=visit)
        texts.append(squash("".join(text for *_, text in sorted(parts))))
    return texts


def chapter_titles(site_dir) -> dict[str, str]:
    """Every page of the book after the front page, by its title (as the site shows it)."""
    titles = {}
    for name in PAGES[1:]:
        heading = re.search(
            r'<section[^>]*>\s*<h1>(.*?)<a class="headerlink"', page_html(site_dir, name), re.S
        )
        plain = " ".join(html.unescape(TAG.sub("", heading.group(1))).split()) if heading else name
        titles[name] = re.sub(r"^[\d.]+\s+", "", plain)  # without its number ("5. ")
    return titles


def starts_page(top: str, title: str) -> bool:
    """The page's text, top first, begins with ``title`` (after a number such as "5.")."""
    return re.match(r"(\d+\.)*\d*" + re.escape(squash(title)), top) is not None


def test_every_page_of_the_pdf_carries_its_number(sheets):
    total = len(sheets)
    unnumbered = [i + 1 for i, sheet in enumerate(sheets) if f"{i + 1}/{total}" not in sheet]
    assert not unnumbered, (
        f"{len(unnumbered)} of {total} pages carry no 'N / {total}' (first: {unnumbered[:10]})"
    )


def test_each_chapter_starts_at_the_top_of_a_page(site_dir, tops):
    missing = [
        f"{name}: no page of the PDF begins with {title!r}"
        for name, title in chapter_titles(site_dir).items()
        if not any(starts_page(top, title) for top in tops)
    ]
    fail_on(missing)


def test_the_contents_lists_each_chapter_with_its_page(site_dir, raw_sheets, tops):
    contents = next((i for i, text in enumerate(tops[:5]) if "Contents" in text), None)
    assert contents is not None, "none of the first five pages has a 'Contents'"
    titles = chapter_titles(site_dir)
    entry_line = re.compile(r"(.*\S)\s+(\d+)")
    # The contents goes on over each next page made only of entries ("Build status 382"),
    # the captions of _toc.yml's parts ("About this book") and its page number ("2 / 387"),
    # once the book has more chapters than one page lists.
    captions = {
        part["caption"] for part in yaml.safe_load(BOOK.paths.toc.read_text("utf-8"))["parts"]
    }
    last = contents + 1
    while last < len(raw_sheets) and all(
        entry_line.fullmatch(line.strip())
        or re.fullmatch(r"\d+ / \d+", line.strip())
        or line.strip() in captions
        for line in raw_sheets[last].splitlines()
        if line.strip()
    ):
        last += 1
    listed = {}  # each line "5. jit — compilation ... 17": the title squashed, its page
    for sheet in raw_sheets[contents:last]:
        for line in sheet.splitlines():
            entry = entry_line.fullmatch(line.strip())
            if entry:
                listed[squash(entry.group(1))] = int(entry.group(2))
    problems = []
    for name, title in titles.items():
        number = next((n for t, n in listed.items() if t.endswith(squash(title))), None)
        if number is None:
            problems.append(f"{name}: the contents does not list {title!r} with a page number")
        elif not 0 < number <= len(tops) or not starts_page(tops[number - 1], title):
            problems.append(f"{name}: the contents says page {number}, where it does not begin")
    fail_on(problems)
