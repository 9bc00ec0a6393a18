"""booktools.pdf's parts that need no browser: the front page links the PDF only once `make pdf`
has written it (the browser suite reads the PDF itself, tests/browser/test_pdf.py)."""

from __future__ import annotations

from booktools import pdf


def front_page(tmp_path, body: str):
    site = tmp_path / "html"
    (site / "book").mkdir(parents=True)
    front = site / "book" / "index.html"
    front.write_text(f"<html><body><p>Intro</p>{body}</body></html>", encoding="utf-8")
    return site, front


def test_the_marker_becomes_a_link_relative_to_the_front_page(tmp_path):
    site, front = front_page(tmp_path, pdf.PDF_MARKER)
    assert pdf.link_from_front_page(front, site / pdf.PDF_NAME)
    html = front.read_text(encoding="utf-8")
    assert pdf.PDF_MARKER not in html
    assert '<a href="../jaxbook.pdf">PDF file</a>' in html
    assert "hidden" not in html
    # A second `make pdf` over the same site finds the link already there.
    assert pdf.link_from_front_page(front, site / pdf.PDF_NAME)
    assert front.read_text(encoding="utf-8") == html


def test_a_front_page_without_the_marker_is_reported(tmp_path):
    site, front = front_page(tmp_path, "")
    assert not pdf.link_from_front_page(front, site / pdf.PDF_NAME)


def test_the_front_page_source_carries_the_marker_and_no_link():
    """book/index.md holds the marker as the built page will (Sphinx keeps raw HTML as it is),
    and no link of its own to a PDF that `make book` does not write."""
    from booktools.book import Paths

    source = (Paths.from_environment().root / "book" / "index.md").read_text(encoding="utf-8")
    assert pdf.PDF_MARKER in source
    assert pdf.PDF_NAME not in source.replace(pdf.PDF_MARKER, "")
