"""Predict-the-output questions: the answer is what the snippet outputs when the page builds."""

from __future__ import annotations

import pytest

from jaxbook import quiz


@pytest.fixture(autouse=True)
def _fresh_page():
    quiz._asked.clear()
    yield
    quiz._asked.clear()


def test_output_is_what_is_printed_then_the_last_value():
    assert quiz.run_snippet("print(jnp.ones((4, 3)).shape)") == "(4, 3)"
    assert quiz.run_snippet("x = 2\nprint('a')\nx + 1") == "a\n3"
    assert quiz.run_snippet("jnp.arange(3).dtype") == "dtype('int32')"
    assert quiz.run_snippet("y = 1") == ""


def test_an_exception_is_answered_by_its_type():
    snippet = "@jax.jit\ndef f(x):\n    return 1 if x > 0 else 0\n\nf(1.0)"
    assert quiz.run_snippet(snippet) == "raises TracerBoolConversionError"


def test_snippets_do_not_see_each_other():
    quiz.run_snippet("leaked = 1")
    assert quiz.run_snippet("leaked") == "raises NameError"


def test_the_right_option_is_the_computed_output():
    question = quiz.predict(
        "shape", "print(jax.vmap(jnp.sum)(jnp.ones((4, 3))).shape)", "(4,)", ["(3,)", "()"], "why"
    )
    assert question.options[question.correct] == "(4,)" == question.answer
    assert sorted(question.options) == ["()", "(3,)", "(4,)"]
    text = repr(question)
    assert "* (4,)" in text and "- (3,)" in text and "Why: why" in text
    page = question._repr_html_()
    assert page.count('type="radio"') == 3 and page.count("data-correct") == 1
    assert '<details class="jb-predict-answer">' in page  # answerable without JavaScript too


def test_a_distractor_that_is_the_output_fails_the_build():
    with pytest.raises(ValueError, match="the distractor '\\(4,\\)' is what the snippet outputs"):
        quiz.predict("d", "print(jnp.ones(4).shape)", "(1, 4)", ["(4,)", "(4, 1)"], "why")


def test_an_output_no_option_names_fails_the_build():
    with pytest.raises(ValueError, match="outputs 'float32', which is none of the options"):
        quiz.predict("n", "print(jnp.ones(2).dtype)", "float64", ["int32"], "why")


@pytest.mark.parametrize(
    ("answer", "distractors", "message"),
    [("1", [], "at least one distractor"), ("1", ["2", "2"], "repeats an option")],
)
def test_malformed_questions_are_refused(answer, distractors, message):
    with pytest.raises(ValueError, match=message):
        quiz.predict("m", "print(1)", answer, distractors, "why")


def test_a_name_used_twice_on_a_page_is_refused():
    quiz.predict("twice", "print(1)", "1", ["2"], "why")
    with pytest.raises(ValueError, match="asked twice"):
        quiz.predict("twice", "print(1)", "1", ["2"], "why")


def test_option_order_is_fixed_by_the_name():
    first = quiz.predict("order", "print(1)", "1", ["2", "3", "4"], "why").options
    quiz._asked.clear()
    assert quiz.predict("order", "print(1)", "1", ["4", "3", "2"], "why").options == first
