"""No MyST markup left on a page: a role the parser did not take (``{glue:text}`` inside a code
span, a misspelt role) is shown to the reader as raw text. Code cells and listings (``<pre>``)
may show markup on purpose; prose, inline code included, may not."""

from __future__ import annotations

import html
import re

import pytest
from sitecheck import CHECKED, fail_on

pytestmark = pytest.mark.browser

PRE = re.compile(r"<pre\b.*?</pre>", flags=re.DOTALL)
TAG = re.compile(r"<[^>]+>")
# The roles and directives the book's pages use, as MyST writes them.
MARKUP = re.compile(
    r"\{(?:glue(?::\w+)?|term|doc|ref|numref|eq|cite(?::\w+)?|math|download|prf:ref|"
    r"code-cell|exercise|solution(?:-start|-end)?|figure|note|admonition)\}"
)


def prose(page_html: str) -> str:
    """The page's text outside ``<pre>`` blocks, tags removed and entities decoded."""
    return html.unescape(TAG.sub("", PRE.sub("", page_html)))


def test_prose_shows_no_myst_markup(site_dir):
    problems = []
    for name in CHECKED:
        text = prose((site_dir / f"{name}.html").read_text(encoding="utf-8"))
        for match in MARKUP.finditer(text):
            around = text[max(0, match.start() - 40) : match.end() + 40].replace("\n", " ")
            problems.append(f"{name}: {match.group()} is shown as text: ...{around}...")
    fail_on(problems)


def test_the_markup_pattern_finds_a_role_left_in_a_code_span():
    page = "<p>was <code>{glue:text}</code>top_op, and</p><pre>{glue:text}`x`</pre>"
    assert MARKUP.findall(prose(page)) == ["{glue:text}"]
