"""The status page is honest (issue #31, item 7): the time budget it states is applied to the
table of execution times (a page over it is marked as over), and it says each thing once (no
long sentence repeated row after row). Read from the built HTML: no browser needed."""

from __future__ import annotations

import re
from collections import Counter
from html import unescape

import pytest
from sitecheck import fail_on

pytestmark = pytest.mark.browser

TAG = re.compile(r"<[^>]+>")
# A sentence this long said twice on one page is repetition, not a table's short status.
REPEATED_WORDS = 8


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(TAG.sub(" ", html))).strip()


@pytest.fixture(scope="module")
def status(site_dir) -> str:
    html = (site_dir / "book" / "status.html").read_text(encoding="utf-8")
    return html[html.index("<main") : html.index("</main>")]


def section(html: str, heading: str) -> str:
    """The HTML of the section whose heading starts with ``heading``."""
    parts = re.split(r"(?=<section id=)", html)
    for part in parts:
        title = re.search(r"<h[1-6]>(.*?)</h[1-6]>", part, re.S)
        if title and text(title.group(1)).startswith(heading):
            return part
    raise AssertionError(f"the status page has no section {heading!r}")


def rows(table: str) -> list[list[str]]:
    return [
        [text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    ]


def seconds(cell: str) -> float | None:
    match = re.fullmatch(r"([\d.]+)(?: s)?", cell)
    return float(match.group(1)) if match else None


def test_a_page_over_the_time_budget_is_shown_as_over_it(status):
    times = section(status, "How long each page took")
    budget = re.search(r"at most (\d+(?:\.\d+)?) s(?:econds)?\b", text(times))
    assert budget, "the section states no time budget ('at most N s')"
    limit = float(budget.group(1))
    (table,) = re.findall(r"<table.*?</table>", times, re.S)
    header, *body = rows(table)
    columns = [i for i, name in enumerate(header) if "budget" in name.lower()]
    assert columns, f"the table of times has no column for the {limit:g} s budget: {header}"
    time_column = next(i for i, name in enumerate(header) if "time" in name.lower())
    problems, checked = [], 0
    for row in body:
        runtime = seconds(row[time_column])
        if runtime is None:
            continue
        checked += 1
        verdict = row[columns[0]].lower()
        over = runtime > limit
        if over != ("over" in verdict):
            problems.append(f"{row[0]}: {runtime:g} s against {limit:g} s, marked {verdict!r}")
    assert checked, f"no row of the table has a time: {body}"
    fail_on(problems)


def test_the_status_page_says_each_thing_once(status):
    sentences = [
        s.strip()
        for cell in re.findall(r"<(?:p|td|li)[^>]*>(.*?)</(?:p|td|li)>", status, re.S)
        for s in re.split(r"(?<=[.;:])\s+", text(cell))
    ]
    repeated = [
        f"{count} times: {sentence!r}"
        for sentence, count in Counter(sentences).items()
        if count > 1 and len(sentence.split()) >= REPEATED_WORDS
    ]
    fail_on(repeated)
