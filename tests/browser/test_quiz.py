"""Predict-the-output questions (jaxbook.quiz, book/_static/predict.js) in the browser.

Every chapter asks at least three; the output stays hidden until the reader answers; a right
pick and a wrong pick each get their answer at once; the keyboard alone is enough; axe finds
nothing serious in an answered question, in the light and the dark theme.
"""

from __future__ import annotations

import re

import pytest
from sitecheck import CHECKED_EXECUTABLE, COLOUR_RULES, SET_DARK, fail_on, run_axe

pytestmark = pytest.mark.browser

QUESTION_PAGE = "book/prng"
MIN_QUESTIONS = 3
CHAPTERS = CHECKED_EXECUTABLE


def test_every_chapter_asks_at_least_three_questions(site_dir):
    counts = {
        name: len(
            re.findall(r'<div class="jb-predict"', (site_dir / f"{name}.html").read_text("utf-8"))
        )
        for name in CHAPTERS
    }
    fail_on(
        [
            f"{name}: {n} questions (at least {MIN_QUESTIONS})"
            for name, n in counts.items()
            if n < MIN_QUESTIONS
        ]
    )


@pytest.fixture
def question(browser, base_url):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{base_url}{QUESTION_PAGE}.html", wait_until="load")
    yield page, page.locator(".jb-predict").first
    context.close()


def test_the_output_is_hidden_until_the_reader_answers(question):
    _, first = question
    assert first.locator(".jb-predict-check").is_visible()
    assert not first.locator(".jb-predict-answer").is_visible()


def test_a_right_pick_is_confirmed_and_shows_the_output(question):
    _, first = question
    first.locator(".jb-predict-option:has(input[data-correct])").click()
    first.locator(".jb-predict-check").click()
    assert first.locator(".jb-predict-feedback").inner_text().startswith("Right")
    assert first.locator(".jb-predict-answer pre").is_visible()


def test_a_wrong_pick_marks_the_right_option_and_shows_the_output(question):
    _, first = question
    first.locator(".jb-predict-option:has(input:not([data-correct]))").first.click()
    first.locator(".jb-predict-check").click()
    assert first.locator(".jb-predict-feedback").inner_text().startswith("Not quite")
    assert first.locator(".jb-predict-right input").get_attribute("data-correct") is not None
    assert first.locator(".jb-predict-wrong").count() == 1
    assert first.locator(".jb-predict-answer pre").is_visible()


def test_checking_without_a_pick_asks_for_one(question):
    _, first = question
    first.locator(".jb-predict-check").click()
    assert first.locator(".jb-predict-feedback").inner_text() == "Pick an option first."
    assert not first.locator(".jb-predict-answer").is_visible()


def test_the_keyboard_alone_answers_a_question(question):
    page, first = question
    first.locator("input[type=radio]").first.focus()
    page.keyboard.press("Space")  # pick the first option
    for _ in range(first.locator("input[type=radio]").count()):
        if first.locator("input[type=radio]:checked[data-correct]").count():
            break
        page.keyboard.press("ArrowDown")  # the next option of the group
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "jb-predict-check"
    page.keyboard.press("Enter")
    assert first.locator(".jb-predict-feedback").inner_text().startswith("Right")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_an_answered_question_passes_axe(question, theme):
    page, first = question
    if theme == "dark":
        page.evaluate(SET_DARK)
        page.reload(wait_until="load")
        first = page.locator(".jb-predict").first
    first.locator(".jb-predict-option:has(input:not([data-correct]))").first.click()
    first.locator(".jb-predict-check").click()
    serious = [
        v
        for v in run_axe(page, COLOUR_RULES if theme == "dark" else None)
        if v["impact"] in ("critical", "serious") and any("jb-predict" in t for t in v["targets"])
    ]
    fail_on(
        [f"{QUESTION_PAGE} ({theme}): {v['id']}: {v['help']} at {v['targets']}" for v in serious]
    )
