"""No plumbing on the page: the reader sees the code that teaches, not the book's bookkeeping.

Cells that only glue values into the prose are hidden (``remove-cell``), and module source is
shown by ``literalinclude`` as highlighted Python, not printed by ``inspect.getsource`` as
plain output. The checks read the built HTML; each is a plain function so its failure can be
shown on a small page made to fail.
"""

from __future__ import annotations

import html
import re

import pytest
from sitecheck import PAGES, fail_on

pytestmark = pytest.mark.browser

TAG = re.compile(r"<[^>]+>")
CELL_INPUT = re.compile(r'<div class="cell_input[^"]*">(.*?)</div>\s*</div>', re.DOTALL)
OUTPUT_PRE = re.compile(r'<div class="output (?:stream|text_plain)[^"]*">(.*?)</pre>', re.DOTALL)
# What inspect.getsource prints: a def or class line, then an indented docstring.
PRINTED_SOURCE = re.compile(r'^(?:def|class) \w+.*:\n\s+(?:"""|\'\'\')', re.MULTILINE)


def text_of(fragment: str) -> str:
    return html.unescape(TAG.sub("", fragment))


def problems_plumbing(name: str, page: str) -> list[str]:
    """Visible cell inputs that glue or print source, and outputs that are printed source."""
    problems = []
    for number, cell in enumerate(CELL_INPUT.findall(page), start=1):
        code = text_of(cell)
        first = code.strip().splitlines()[0] if code.strip() else ""
        if "glue(" in code:
            problems.append(f"{name}: code cell {number} ({first!r}) shows a glue( call")
        if "getsource(" in code:
            problems.append(f"{name}: code cell {number} ({first!r}) prints module source")
    for output in OUTPUT_PRE.findall(page):
        match = PRINTED_SOURCE.search(text_of(output))
        if match:
            problems.append(
                f"{name}: an output is printed source: {match.group(0).splitlines()[0]!r}"
            )
    return problems


def test_pages_show_no_glue_calls_and_no_printed_source(site_dir):
    problems = []
    for name in PAGES:
        problems += problems_plumbing(name, (site_dir / f"{name}.html").read_text("utf-8"))
    fail_on(problems)


def test_module_source_is_highlighted_python_with_a_caption(site_dir):
    listings = 0
    for name in PAGES:
        page = (site_dir / f"{name}.html").read_text("utf-8")
        listings += len(re.findall(r'<div class="literal-block-wrapper', page))
    assert listings >= 10, f"only {listings} captioned listings on the site"


CELL = '<div class="cell_input docutils container">{}</div>\n</div>'
OUTPUT = '<div class="output stream highlight-myst-ansi"><div class="highlight"><pre>{}</pre>'


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        (CELL.format('<pre>glue(<span>"x"</span>, 1, display=False)</pre>'), "shows a glue( call"),
        (CELL.format("<pre>print(inspect.getsource(f))</pre>"), "prints module source"),
        (
            OUTPUT.format("def f(x):\n    &quot;&quot;&quot;Doc.&quot;&quot;&quot;"),
            "printed source",
        ),
    ],
)
def test_each_kind_of_plumbing_is_named_with_its_page(fragment, expected):
    (problem,) = problems_plumbing("book/x", fragment)
    assert problem.startswith("book/x:") and expected in problem


def test_teaching_code_is_not_plumbing():
    fragment = CELL.format("<pre>x = jnp.arange(3)\nprint(x)</pre>") + OUTPUT.format("[0 1 2]")
    assert problems_plumbing("book/x", fragment) == []
