"""The whole book as one PDF: ``python -m booktools.pdf`` (what ``make pdf`` runs).

Sphinx's ``singlehtml`` builder writes every page of the table of contents into one HTML file,
with the outputs of the last ``make book`` (from the execution cache: nothing is executed
again), and the Chromium of the browser tests prints it. Collapsed listings, solutions and
the answers of the questions are opened first, since paper cannot click. The PDF is written
next to the site, ``_build/html/jaxbook.pdf``, which the front page links to; nothing is
downloaded at build time.
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

from booktools import cache
from booktools.book import Book
from booktools.build import ANSI_COLOUR, cached_build_config, jupyter_book_command, write_config
from booktools.chromium import CHROMIUM_ARGS, NO_CHROMIUM, find_chromium

PDF_NAME = "jaxbook.pdf"

# Open everything a reader would click open, and wait until MathJax has typeset the math.
PREPARE_FOR_PRINT = """async () => {
  document.querySelectorAll("details").forEach((d) => { d.hidden = false; d.open = true; });
  document.querySelectorAll(".toggle-hidden").forEach((e) => e.classList.remove("toggle-hidden"));
  document.querySelectorAll(".jb-predict-check").forEach((b) => { b.hidden = true; });
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
}"""


# Paper cannot scroll or click: long code lines and wide outputs wrap instead of being cut at
# the edge, and every tab of a tab set is printed.
PRINT_CSS = """
pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
div.highlight, div.cell_output, div.output, .table-wrapper { overflow: visible !important; }
mjx-container[display="true"] { overflow: visible !important; font-size: 90%; }
.sd-tab-set > .sd-tab-content { display: block !important; }
"""

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


def print_pdf(html: Path, target: Path, chromium: str) -> list[str]:
    """Print ``html`` to ``target`` (A4, with an outline) with Chromium; return what is still
    wider than the page (nothing, or the PDF cuts it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(html.as_uri(), wait_until="load")
            page.evaluate(PREPARE_FOR_PRINT)
            page.add_style_tag(content=PRINT_CSS)
            page.emulate_media(media="print")
            page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
            clipped = page.evaluate(CLIPPED)
            target.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(
                path=str(target),
                format="A4",
                margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"},
                print_background=True,
                outline=True,  # the PDF's own table of contents, from the headings
                tagged=True,  # text a screen reader (and a copy) can follow
            )
        finally:
            browser.close()
    return clipped


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
    clipped = print_pdf(html, out, chromium)
    if clipped:
        print(f"PDF FAILED: {len(clipped)} element(s) wider than the page:", file=sys.stderr)
        for element in clipped[:20]:
            print(f"  {element}", file=sys.stderr)
        return 1
    size = out.stat().st_size / 1e6
    print(f"PDF written in {time.perf_counter() - start:.0f} s: {out} ({size:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
