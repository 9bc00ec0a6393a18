"""What a pitfall shows the reader: the error and the reader's own frames, readable on a phone.

A traceback must name no build path (the repository, the virtual environment, the kernel's
temporary cell files) and no frame of the kernel's machinery; its lines wrap instead of running
off the right edge at 390 px. booktools.kernel_errors and book/_static/custom.css do this.
"""

from __future__ import annotations

import re
import sys

import pytest
from sitecheck import CHECKED, ROOT, WHOLE_BOOK, fail_on

pytestmark = pytest.mark.browser

TAG = re.compile(r"<[^>]+>")
# Build paths, and the files of the kernel's machinery that IPython's own tracebacks show.
FORBIDDEN = {
    "the repository's path": str(ROOT),
    "the environment's path": sys.prefix,
    "a kernel cell file": "/tmp/ipykernel_",
    "site-packages": "site-packages",
    "a runpy frame": "runpy.py",
    "an ipykernel frame": "ipykernel/",
    "an asyncio frame": "asyncio/",
    "a tornado frame": "tornado/",
}


def tracebacks(html: str) -> list[str]:
    blocks = re.findall(r'<div class="output traceback.*?</pre>', html, flags=re.DOTALL)
    return [TAG.sub("", block) for block in blocks]


def test_tracebacks_show_no_build_paths_and_no_kernel_frames(site_dir):
    problems, seen = [], 0
    for name in CHECKED:
        for text in tracebacks((site_dir / f"{name}.html").read_text(encoding="utf-8")):
            seen += 1
            for what, needle in FORBIDDEN.items():
                if needle in text:
                    problems.append(f"{name}: a traceback shows {what} ({needle})")
    assert seen > 10 or not WHOLE_BOOK, f"only {seen} tracebacks found: has the markup changed?"
    fail_on(sorted(set(problems)))


def test_no_page_shows_a_build_path(site_dir):
    # Not only tracebacks: a printed path (a file the cell wrote, a module's location, the
    # environment) names this machine's folders, which mean nothing to a reader.
    problems = []
    for name in CHECKED:
        text = TAG.sub("", (site_dir / f"{name}.html").read_text(encoding="utf-8"))
        for what in ("the repository's path", "the environment's path", "a kernel cell file"):
            if FORBIDDEN[what] in text:
                problems.append(f"{name}: the page shows {what} ({FORBIDDEN[what]})")
    fail_on(problems)


def test_error_messages_wrap_on_a_phone(browser, base_url):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    problems = []
    try:
        for name in CHECKED:
            page.goto(f"{base_url}{name}.html", wait_until="load")
            wide = page.evaluate(
                """() => [...document.querySelectorAll('div.output.traceback pre')]
                     .filter(pre => pre.scrollWidth > pre.clientWidth + 1).length"""
            )
            if wide:
                problems.append(f"{name}: {wide} traceback(s) scroll sideways at 390 px")
    finally:
        context.close()
    fail_on(problems)
