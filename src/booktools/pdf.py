"""The whole book as one PDF: ``python -m booktools.pdf`` (what ``make pdf`` runs).

Sphinx's ``singlehtml`` builder writes every page of the table of contents into one HTML file,
with the outputs of the last ``make book`` (from the execution cache: nothing is executed
again), and the Chromium of the browser tests prints it. Collapsed listings, solutions and
the answers of the questions are opened first, since paper cannot click. Each chapter starts on
a new page, every page carries its number (Chromium's footer template), and a contents at the
front gives each chapter's page: the book is printed once with placeholder numbers, the page of
each chapter read from that PDF's named destinations (the contents' links), and printed again
with the numbers, which take the placeholders' room so that nothing moves.

The PDF is written next to the site, ``_build/html/jaxbook.pdf``, and only then does the front
page link to it: ``make book`` replaces ``_build/html`` and writes no PDF, so its front page
carries an empty marker (:data:`PDF_MARKER`) that this command replaces with the link
(:func:`link_from_front_page`). Nothing is downloaded at build time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml
from pypdf import PdfReader

from booktools import cache
from booktools.book import Book
from booktools.build import ANSI_COLOUR, cached_build_config, jupyter_book_command, write_config
from booktools.chromium import CHROMIUM_ARGS, NO_CHROMIUM, find_chromium

PDF_NAME = "jaxbook.pdf"
# book/index.md's empty placeholder for the sentence that links the PDF (FRONT_PAGE_LINK).
PDF_MARKER = '<p class="jaxbook-pdf-link" hidden></p>'
FRONT_PAGE_LINK = (
    '<p class="jaxbook-pdf-link"><strong>Offline</strong>: the whole book, every page with its '
    'outputs and figures, is also one <a href="{href}">PDF file</a>, with a contents and page '
    "numbers.</p>"
)
# The page numbers the first printing puts in the contents: as wide as any real one.
PLACEHOLDER = "000"

# Open everything a reader would click open, and wait until MathJax has typeset the math.
PREPARE_FOR_PRINT = """async () => {
  document.querySelectorAll("details").forEach((d) => { d.hidden = false; d.open = true; });
  document.querySelectorAll(".toggle-hidden").forEach((e) => e.classList.remove("toggle-hidden"));
  document.querySelectorAll(".jb-predict-check").forEach((b) => { b.hidden = true; });
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
}"""


# Each page of the book after the front page starts a new sheet (its start-of-file anchor,
# which Sphinx's single page puts just before it, moved into it), and the contents that the
# theme prints before the book (#jb-print-toc, one link per page) gets a page number per link:
# PLACEHOLDER until it is known. Returns the links' targets, each a named destination of the PDF.
ADD_CONTENTS = """(placeholder) => {
  for (const start of document.querySelectorAll('span[id^="document-"]')) {
    let section = start.nextElementSibling;
    while (section && section.tagName !== "SECTION") section = section.nextElementSibling;
    if (!section) continue;
    section.classList.add("jaxbook-pdf-chapter");
    section.prepend(start);
  }
  const targets = [];
  for (const link of document.querySelectorAll('#jb-print-toc a[href^="#document-"]')) {
    const title = document.createElement("span");
    title.className = "jaxbook-pdf-title";
    title.textContent = link.textContent.trim();
    const page = document.createElement("span");
    page.className = "jaxbook-pdf-page";
    page.textContent = placeholder;
    link.replaceChildren(title, page);
    link.dataset.target = link.getAttribute("href").slice(1);
    targets.push(link.dataset.target);
  }
  return targets;
}"""

SET_PAGE_NUMBERS = """(pages) => {
  for (const link of document.querySelectorAll("#jb-print-toc a[data-target]")) {
    link.querySelector(".jaxbook-pdf-page").textContent = pages[link.dataset.target];
  }
}"""

# Paper cannot scroll or click: long code lines and wide outputs wrap instead of being cut at
# the edge, and every tab of a tab set is printed. Chapters start on a new sheet, after the
# contents.
PRINT_CSS = """
pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
div.highlight, div.cell_output, div.output, .table-wrapper { overflow: visible !important; }
mjx-container[display="true"] { overflow: visible !important; font-size: 90%; }
.sd-tab-set > .sd-tab-content { display: block !important; }
section.jaxbook-pdf-chapter { break-before: page; }
#jb-print-docs-body { break-after: page; }
#jb-print-toc ul { padding-left: 1rem; }
#jb-print-toc li { list-style: none; }
#jb-print-toc a[data-target] { display: flex; gap: 0.5rem; color: inherit; }
#jb-print-toc .jaxbook-pdf-title { flex: 1; border-bottom: 1px dotted #888; }
#jb-print-toc .jaxbook-pdf-page { font-variant-numeric: tabular-nums; }
"""

# Chromium fills in pageNumber and totalPages; the header is empty.
FOOTER = (
    '<div style="width: 100%; font-size: 9px; text-align: center; color: #444;">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)

# What would still be cut off: elements whose content is wider than their box.
CLIPPED = """() => [...document.querySelectorAll('pre, table, mjx-container[display="true"]')]
  .filter(e => e.scrollWidth > e.clientWidth + 2)
  .map(e => (e.closest('section[id]')?.id || '?') + ': ' + e.textContent.trim().slice(0, 60))"""


def inherit_html_handlers(app) -> None:
    """Give the ``singlehtml`` builder every node handler registered for ``html``.

    Sphinx looks a builder's handlers up by its name first and falls back to its format only
    when no extension registered any handler under the name. Once one did, a node known only
    to ``html`` (such as sphinx-jupyterbook-latex's ``HiddenCellNode``) fails the single-page
    build with "unknown node type".
    """
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    for name, pair in handlers.get("html", {}).items():
        handlers.setdefault("singlehtml", {}).setdefault(name, pair)


def setup(app):
    """The PDF build's Sphinx extension (only its configuration loads it)."""
    app.connect("builder-inited", inherit_html_handlers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def pdf_config(book: Book, staging: Path) -> Path:
    """The cached build's configuration, plus this module as an extension."""
    path = cached_build_config(book, staging)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    extensions = config.setdefault("sphinx", {}).setdefault("extra_extensions", [])
    extensions.append("booktools.pdf")
    return write_config(config, staging)


def single_html(book: Book, staging: Path) -> Path:
    """Build the single-page HTML of the book into ``staging``; return its ``index.html``."""
    pages = book.executable_pages
    valid = cache.cached_pages(book, pages)
    stale = [book.paths.relative(p.path) for p in pages if p not in valid]
    if stale:
        raise RuntimeError(
            f"no executed outputs in the cache for {', '.join(stale)}: run `make book` first"
        )
    shutil.rmtree(staging / "_build", ignore_errors=True)
    command = jupyter_book_command(
        book.paths, staging, pdf_config(book, staging), builder="singlehtml"
    )
    result = subprocess.run(command, cwd=book.paths.root, capture_output=True, text=True)
    if result.returncode != 0:
        log = ANSI_COLOUR.sub("", result.stdout + result.stderr)
        raise RuntimeError(f"the single-page build failed:\n{log}")
    # Sphinx writes the book to the root page's path (book/index.html) with links relative to
    # the output folder, where Jupyter Book puts a redirect: the copy at the top is the book.
    output = staging / "_build" / "singlehtml"
    single = output / "jaxbook.html"
    shutil.copy(output / f"{book.docnames[0]}.html", single)
    return single


def chapter_pages(pdf: Path, ids: list[str]) -> dict[str, str]:
    """The page number (from 1) on which each of ``ids`` starts, from the PDF's named
    destinations (Chromium writes one for each target of an internal link)."""
    reader = PdfReader(pdf)
    destinations = reader.named_destinations
    pages = {}
    for target in ids:
        # pypdf gives the names as PDF names ("/why-jax"), older versions as strings.
        destination = destinations.get(f"/{target}") or destinations.get(target)
        if destination is None:
            raise RuntimeError(f"the PDF has no destination for #{target}")
        pages[target] = str(reader.get_destination_page_number(destination) + 1)
    return pages


def print_pdf(html: Path, target: Path, chromium: str) -> list[str]:
    """Print ``html`` to ``target`` (A4, numbered pages, a contents, an outline) with Chromium;
    return what is still wider than the page (nothing, or the PDF cuts it)."""
    from playwright.sync_api import sync_playwright

    options = {
        "format": "A4",
        "margin": {"top": "15mm", "bottom": "18mm", "left": "12mm", "right": "12mm"},
        "print_background": True,
        "display_header_footer": True,
        "header_template": "<span></span>",
        "footer_template": FOOTER,
        "outline": True,  # the PDF's own table of contents, from the headings
        "tagged": True,  # text a screen reader (and a copy) can follow
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(html.as_uri(), wait_until="load")
            page.evaluate(PREPARE_FOR_PRINT)
            targets = page.evaluate(ADD_CONTENTS, PLACEHOLDER)
            if not targets:
                raise RuntimeError("the single page has no contents (#jb-print-toc) to number")
            page.add_style_tag(content=PRINT_CSS)
            page.emulate_media(media="print")
            page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
            clipped = page.evaluate(CLIPPED)
            target.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(target), **options)  # placeholders: where does each chapter start?
            numbers = chapter_pages(target, targets)
            if any(len(number) > len(PLACEHOLDER) for number in numbers.values()):
                raise RuntimeError(f"a page number is wider than {PLACEHOLDER!r}: {numbers}")
            page.evaluate(SET_PAGE_NUMBERS, numbers)
            page.pdf(path=str(target), **options)
            moved = {
                k: v for k, v in chapter_pages(target, list(numbers)).items() if numbers[k] != v
            }
            if moved:
                raise RuntimeError(f"chapters moved when the contents got its numbers: {moved}")
        finally:
            browser.close()
    return clipped


def link_from_front_page(front: Path, pdf: Path) -> bool:
    """Put the sentence that links ``pdf`` in place of the :data:`PDF_MARKER` of the built
    front page ``front``; ``False`` when it has neither the marker nor the link."""
    text = front.read_text(encoding="utf-8")
    href = os.path.relpath(pdf, front.parent).replace(os.sep, "/")
    if PDF_MARKER in text:
        front.write_text(text.replace(PDF_MARKER, FRONT_PAGE_LINK.format(href=href)), "utf-8")
        return True
    return f'href="{href}"' in text  # linked by an earlier `make pdf`


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="the PDF (default: the site's _build/html/...)")
    args = parser.parse_args(argv)
    book = Book()
    out = args.out or book.paths.html / PDF_NAME
    chromium, source = find_chromium(dict(os.environ))
    if chromium is None:
        print(f"PDF FAILED: {NO_CHROMIUM} ({source})", file=sys.stderr)
        return 1
    start = time.perf_counter()
    try:
        html = single_html(book, book.paths.build / "pdf")
    except RuntimeError as error:
        print(f"PDF FAILED: {error}", file=sys.stderr)
        return 1
    try:
        clipped = print_pdf(html, out, chromium)
    except RuntimeError as error:
        print(f"PDF FAILED: {error}", file=sys.stderr)
        return 1
    if clipped:
        print(f"PDF FAILED: {len(clipped)} element(s) wider than the page:", file=sys.stderr)
        for element in clipped[:20]:
            print(f"  {element}", file=sys.stderr)
        return 1
    front = book.paths.html / f"{book.docnames[0]}.html"
    if out.parent == book.paths.html and not link_from_front_page(front, out):
        print(f"PDF FAILED: {front} has no {PDF_MARKER!r} to link the PDF from", file=sys.stderr)
        return 1
    size = out.stat().st_size / 1e6
    print(f"PDF written in {time.perf_counter() - start:.0f} s: {out} ({size:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
