"""Exercises, solutions and captioned figures are numbered within their chapter ("Exercise 3.1"),
headings that name an exercise agree with its box, and a solution's title links its exercise
without underlining a space. Read from the built HTML: no browser needed."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sitecheck import PAGES, fail_on

pytestmark = pytest.mark.browser

TAG = re.compile(r"<[^>]+>")


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(TAG.sub("", html))).strip()


def chapter_number(html: str) -> str | None:
    """The number the numbered table of contents gives the page's title, e.g. "3"."""
    match = re.search(r"<h1>\s*<span class=\"section-number\">([\d.]+?)\.?\s*</span>", html)
    return match.group(1) if match else None


def exercise_titles(html: str) -> list[str]:
    return [
        text(m)
        for m in re.findall(
            r'<div class="exercise[^"]*"[^>]*>\s*<p class="admonition-title">(.*?)</p>', html, re.S
        )
    ]


def solution_titles(html: str) -> list[str]:
    return re.findall(
        r'<div class="solution[^"]*"[^>]*>\s*<p class="admonition-title">(.*?)</p>', html, re.S
    )


@pytest.fixture(scope="module")
def pages(site_dir):
    return {name: (site_dir / f"{name}.html").read_text(encoding="utf-8") for name in PAGES}


def test_exercises_are_numbered_within_their_chapter(pages):
    problems, seen = [], 0
    for name, html in pages.items():
        titles = exercise_titles(html)
        if not titles:
            continue
        chapter = chapter_number(html)
        if chapter is None:
            problems.append(f"{name}: has exercises but its title carries no chapter number")
            continue
        for i, title in enumerate(titles, start=1):
            seen += 1
            if not title.startswith(f"Exercise {chapter}.{i} "):
                problems.append(
                    f"{name}: exercise {i} is titled {title!r}, not 'Exercise {chapter}.{i} ...'"
                )
    assert seen or problems, "no exercise found: has sphinx-exercise's markup changed?"
    fail_on(problems)


def test_solutions_name_their_exercise_and_underline_no_space(pages):
    problems = []
    for name, html in pages.items():
        exercises = [t.split(" (")[0] for t in exercise_titles(html)]
        for raw in solution_titles(html):
            link = re.search(r"<a [^>]*>(.*?)</a>", raw, re.S)
            title = text(raw)
            if link and link.group(1)[:1].isspace():
                problems.append(f"{name}: the solution title {title!r} underlines a leading space")
            number = re.match(r"Solution to (Exercise [\d.]+)", title)
            if not number or number.group(1) not in exercises:
                problems.append(f"{name}: the solution {title!r} names no exercise of this page")
    fail_on(problems)


def test_headings_that_name_an_exercise_agree_with_its_box(pages):
    """A heading saying "Exercise 2" must stand over the box titled "Exercise 2" (or 9.2)."""
    problems = []
    for name, html in pages.items():
        numbers = {t.split(" ")[1] for t in exercise_titles(html) if re.match(r"Exercise \d", t)}
        for _level, heading in re.findall(r"<h([2-6])>(.*?)</h\1>", html, re.S):
            for number in re.findall(r"\bExercises? (\d+(?:\.\d+)*)", text(heading)):
                if number not in numbers:
                    problems.append(
                        f"{name}: heading {text(heading)!r} names exercise {number}, but the "
                        f"page's boxes are numbered {sorted(numbers) or 'not at all'}"
                    )
    fail_on(problems)


def test_captioned_figures_are_numbered_within_their_chapter(pages):
    problems = []
    for name, html in pages.items():
        captions = re.findall(r"<figcaption>(.*?)</figcaption>", html, re.S)
        chapter = chapter_number(html)
        for i, caption in enumerate(captions, start=1):
            if chapter is None or not text(caption).startswith(f"Fig. {chapter}.{i} "):
                problems.append(f"{name}: figure {i}'s caption reads {text(caption)[:60]!r}")
    fail_on(problems)
