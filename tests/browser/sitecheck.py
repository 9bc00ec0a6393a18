"""Visit a built page in Chromium once and record everything the browser tests check.

The tests in this folder assert on :class:`PageReport` objects; the functions that turn a report
into a list of problems (``problems_*``) are plain Python, so ``test_bad_input.py`` can show
that each check fails, naming the page, on a deliberately broken site.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from axe_exceptions import EXCEPTIONS as AXE_EXCEPTIONS
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, ConsoleMessage, Request, Route

from booktools.book import Book, Paths
from booktools.checks.alt_text import lacks_alt_text  # the rule the output checker applies
from booktools.chromium import CHROMIUM_ARGS, NO_CHROMIUM, find_chromium  # noqa: F401 - used by the tests

BOOK = Book(Paths.from_environment())
ROOT = BOOK.paths.root
AXE = Axe()
# Only these impacts fail a page; "moderate" and "minor" findings are not asserted.
AXE_FAILING_IMPACTS = ("critical", "serious")
# --------------------------------------------------------------------------- the site


# The pages of _toc.yml in reading order, and those the build executes (booktools.book).
PAGES = BOOK.docnames
EXECUTABLE = [page.docname for page in BOOK.executable_pages]
# The pages the per-page checks visit: every page, or only those a pull request affects
# (JAXBOOK_PAGES, which .ci/run sets from booktools.affected; "none" for none). Site-wide
# checks (navigation, numbering, the front page, search) always cover the whole book.
_SELECTED = os.environ.get("JAXBOOK_PAGES", "").split()
CHECKED = [name for name in PAGES if name in _SELECTED] if _SELECTED else PAGES
CHECKED_EXECUTABLE = [name for name in EXECUTABLE if name in CHECKED]
WHOLE_BOOK = CHECKED == PAGES  # the suites' "did we see anything at all" floors hold for it


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1, on a free port; yields the base URL (ends with /)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --------------------------------------------------------------------------- one visit


@dataclass
class PageReport:
    """What one cold load of a page showed (plus axe's findings in the light and dark theme)."""

    name: str
    url: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    weight: dict[str, int] = field(default_factory=dict)
    images: list[dict[str, Any]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    code_blocks: int = 0
    copy_buttons: int = 0
    next_href: str | None = None
    prev_href: str | None = None
    provenance: str | None = None
    buttons: dict[str, str] = field(default_factory=dict)
    # One entry per dropdown solution (sphinx-exercise): is its body visible before a click?
    solutions_shown: list[bool] = field(default_factory=list)
    axe: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Every URL of the site the page requested, with its size in bytes.
    resources: dict[str, int] = field(default_factory=dict)
    # Elements of mathematics on the page (typeset or not): MathJax belongs only where this > 0.
    math_elements: int = 0

    @property
    def total_weight(self) -> int:
        return sum(self.weight.values())


WEIGHT_KINDS = {
    "html": (".html", "/"),
    "scripts": (".js",),
    "styles": (".css",),
    "images": (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp", ".ico"),
    "fonts": (".woff2", ".woff", ".ttf", ".otf", ".eot"),
}


def weight_kind(url: str) -> str:
    path = urlsplit(url).path.lower()
    for kind, suffixes in WEIGHT_KINDS.items():
        if path.endswith(suffixes):
            return kind
    return "other"


# The page is finished when MathJax has typeset it and its fonts are in (else axe sees a page
# that is still changing).
READY = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
}"""

# Runs in the page once it is ready: everything the checks need, in one round trip.
COLLECT = """async () => {
  for (const img of document.images) { img.loading = "eager"; }
  await Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(done => { img.addEventListener("load", done); img.addEventListener("error", done);
                            setTimeout(done, 5000); })));
  const entries = [...performance.getEntriesByType("navigation"),
                   ...performance.getEntriesByType("resource")];
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const href = sel => { const a = document.querySelector(sel); return a ? a.href : null; };
  const buttons = {};
  for (const a of document.querySelectorAll(
      ".dropdown-launch-buttons a, .dropdown-download-buttons a")) {
    buttons[a.textContent.trim()] = a.href;
  }
  const note = document.querySelector(".jaxbook-provenance");
  const solutions = [...document.querySelectorAll("div.solution.dropdown")].map(solution =>
      [...solution.children].some(c => !c.classList.contains("admonition-title") &&
          c.checkVisibility({visibilityProperty: true, opacityProperty: true})));
  return {
    resources: entries.map(e => [e.name, e.encodedBodySize || 0]),
    images: [...document.images].map(img => ({
      src: img.currentSrc || img.src, alt: img.getAttribute("alt"),
      decorative: img.getAttribute("role") === "presentation" ||
                  img.getAttribute("aria-hidden") === "true",
      complete: img.complete, width: img.naturalWidth, visible: visible(img)})),
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
    ids: [...document.querySelectorAll("[id]")].map(el => el.id)
         .concat([...document.querySelectorAll("a[name]")].map(a => a.name)),
    codeBlocks: document.querySelectorAll("div.highlight pre").length,
    copyButtons: document.querySelectorAll("div.highlight button.copybtn").length,
    next: href(".prev-next-area a.right-next"),
    prev: href(".prev-next-area a.left-prev"),
    provenance: note && visible(note) ? note.innerText : null,
    buttons,
    solutionsShown: solutions,
    math: document.querySelectorAll("div.math, span.math, mjx-container").length,
  };
}"""

# The theme keeps the reader's choice in localStorage; the page applies it as it loads.
SET_DARK = (
    """() => { localStorage.setItem("mode", "dark"); localStorage.setItem("theme", "dark"); }"""
)


# What changes between the light and the dark theme: only the colours.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]


def run_axe(page, rules: list[str] | None = None) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (all impacts; the tests filter).

    ``rules`` limits the run to those rules (all of them by default).
    """
    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    response = AXE.run(page, options=options).response
    return [
        {
            "id": v["id"],
            "impact": v.get("impact"),
            "help": v.get("help", ""),
            "targets": [" ".join(map(str, node.get("target", []))) for node in v["nodes"]],
            "summary": v["nodes"][0].get("failureSummary", "") if v["nodes"] else "",
        }
        for v in response["violations"]
    ]


def visit(browser: Browser, base_url: str, name: str, path: str, *, axe: bool = True):
    """Load ``base_url + path`` in a fresh context (cold cache), record a :class:`PageReport`."""
    report = PageReport(name=name, url=base_url + path)
    own_origin = base_url.rstrip("/")
    # Requests and console messages are the page's until axe runs; axe-core's own work (it
    # re-fetches stylesheets, resolving their @import against the wrong base) is not the site's.
    recording = [True]
    context = browser.new_context()

    def route(route: Route) -> None:
        url = route.request.url
        if url.startswith(own_origin) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:  # there is no network: say so, and do not wait for a timeout
            report.external_requests.append(url)
            route.abort()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and recording[0]:
            where = message.location.get("url", "") if message.location else ""
            if where and not where.startswith(own_origin):
                return  # the aborted request to another host; reported as external_requests
            report.console_errors.append(f"{message.text} ({where or 'no location'})")

    def on_failed(request: Request) -> None:
        if request.url.startswith(own_origin) and recording[0]:
            report.failed_requests.append(f"{request.url}: {request.failure}")

    def on_response(response) -> None:
        if response.url.startswith(own_origin) and response.status >= 400 and recording[0]:
            report.failed_requests.append(f"{response.url}: HTTP {response.status}")

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", on_console)
    page.on("pageerror", lambda error: report.console_errors.append(f"uncaught: {error}"))
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    try:
        page.goto(report.url, wait_until="load")
        page.evaluate(READY)
        data = page.evaluate(COLLECT)
        for url, size in data["resources"]:
            if url.startswith(own_origin):
                kind = weight_kind(url)
                report.weight[kind] = report.weight.get(kind, 0) + int(size)
                report.resources[url] = report.resources.get(url, 0) + int(size)
        report.images = data["images"]
        report.links = data["links"]
        report.ids = set(data["ids"])
        report.code_blocks = data["codeBlocks"]
        report.copy_buttons = data["copyButtons"]
        report.next_href, report.prev_href = data["next"], data["prev"]
        report.provenance = data["provenance"]
        report.buttons = data["buttons"]
        report.solutions_shown = data["solutionsShown"]
        report.math_elements = data["math"]
        recording[0] = False
        if axe:
            report.axe["light"] = run_axe(page)
            page.evaluate(SET_DARK)
            page.reload(wait_until="load")  # as a reader who chose dark sees it (no transition)
            page.evaluate(READY)
            report.axe["dark"] = run_axe(page, COLOUR_RULES)
    finally:
        context.close()
    return report


# --------------------------------------------------------------------------- the checks


def fail_on(problems: list[str]) -> None:
    """Fail the test with one line per problem (each names its page), or pass if none."""
    if problems:
        import pytest

        pytest.fail(f"{len(problems)} problem(s):\n" + "\n".join(problems), pytrace=False)


def problems_console(report: PageReport) -> list[str]:
    return [f"{report.name}: console error: {e}" for e in report.console_errors] + [
        f"{report.name}: failed request: {r}" for r in report.failed_requests
    ]


def problems_external(report: PageReport) -> list[str]:
    return [f"{report.name}: request to another host: {url}" for url in report.external_requests]


def problems_images(report: PageReport) -> list[str]:
    problems = []
    for image in report.images:
        if not image["complete"] or image["width"] == 0:
            problems.append(f"{report.name}: image did not load: {image['src']}")
        if not image["decorative"] and lacks_alt_text(image["alt"]):
            problems.append(f"{report.name}: image without alt text: {image['src']}")
    return problems


class _IdCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value and (key == "id" or (tag == "a" and key == "name")):
                self.ids.add(value)


@functools.cache
def static_ids(file: Path) -> frozenset[str]:
    collector = _IdCollector()
    collector.feed(file.read_text(encoding="utf-8", errors="replace"))
    return frozenset(collector.ids)


def problems_links(report: PageReport, site_dir: Path, base_url: str) -> list[str]:
    """Every link to our own site names an existing file, and its fragment an existing id."""
    problems = []
    page_path = urlsplit(report.url).path
    for link in sorted(set(report.links)):
        if not link.startswith(base_url):
            continue  # another host, mailto:, javascript: - not ours to resolve offline
        parts = urlsplit(link)
        target = site_dir / unquote(parts.path).lstrip("/")
        if parts.path.endswith("/") or target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"{report.name}: broken link to {parts.path} (no such file)")
            continue
        fragment = unquote(parts.fragment)
        if not fragment:
            continue
        if parts.path == page_path:
            ids = report.ids  # the live page, ids added by scripts included
        elif target.suffix == ".html":
            ids = static_ids(target)
        else:
            continue
        if fragment not in ids:
            problems.append(f"{report.name}: broken anchor {parts.path}#{fragment} (no such id)")
    return problems


def problems_mathjax(report: PageReport) -> list[str]:
    """MathJax (about 1 MB with its fonts) loads on a page exactly when the page has math."""
    loaded = [url for url in report.resources if "/mathjax/" in urlsplit(url).path]
    if loaded and not report.math_elements:
        return [f"{report.name}: loads MathJax ({len(loaded)} files) but shows no math"]
    if report.math_elements and not loaded:
        return [f"{report.name}: shows {report.math_elements} math elements but loads no MathJax"]
    return []


def problems_axe(report: PageReport, theme: str) -> list[str]:
    problems = []
    for violation in report.axe.get(theme, []):
        if violation["impact"] not in AXE_FAILING_IMPACTS:
            continue
        targets = [t for t in violation["targets"] if not _excepted(violation["id"], t)]
        if targets:
            problems.append(
                f"{report.name} ({theme}): {violation['impact']} {violation['id']}: "
                f"{violation['help']} at {targets[:5]}; {violation['summary']}"
            )
    return problems


def _excepted(rule: str, target: str) -> bool:
    return any(
        rule == exception["rule"] and exception["selector"] in target
        for exception in AXE_EXCEPTIONS
    )
