"""Predict-the-output questions whose answer is what the build just computed.

A page asks a question in a code cell tagged ``remove-input``::

    predict(
        "vmap-shape",
        '''
        def total(row):
            return row.sum()

        print(jax.vmap(total)(jnp.ones((4, 3))).shape)
        ''',
        answer="(4,)",
        distractors=["(3,)", "(4, 3)"],
        why="vmap maps over the leading axis: four rows, one total each.",
    )

:func:`predict` runs the snippet (in a fresh namespace with ``jax``, ``jnp`` and ``np``
imported) and takes what it printed and the value of its last line, or ``raises <Error>`` when
it raises. The option marked right is that output, as the build computed it; the author's
``answer`` only states what the explanation expects, and the build fails when the output is
not that answer (a distractor that has become true, or an output no option names).

The cell's output is the question: HTML for the page (``book/_static/predict.js`` makes it
answerable; without JavaScript, as on Colab, the output is behind a "Show" toggle) and plain
text, which the output checker records like any other output.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import html
import io
import textwrap
from dataclasses import dataclass

PRELUDE = "import jax\nimport jax.numpy as jnp\nimport numpy as np\n"

_asked: set[str] = set()


@dataclass(frozen=True)
class Question:
    name: str
    snippet: str
    options: tuple[str, ...]
    answer: str
    why: str

    @property
    def correct(self) -> int:
        return self.options.index(self.answer)

    def __repr__(self) -> str:
        options = "\n".join(
            f"  {'*' if i == self.correct else '-'} {option}"
            for i, option in enumerate(self.options)
        )
        return (
            f"Predict the output ({self.name}):\n{textwrap.indent(self.snippet, '    ')}\n"
            f"Options:\n{options}\nOutput:\n{textwrap.indent(self.answer, '    ')}\nWhy: {self.why}"
        )

    def _repr_html_(self) -> str:
        group = f"predict-{self.name}"
        options = "".join(
            f'<label class="jb-predict-option"><input type="radio" name="{group}" value="{i}"'
            f"{' data-correct' if i == self.correct else ''}> "
            f"<code>{html.escape(option)}</code></label>"
            for i, option in enumerate(self.options)
        )
        return (
            f'<div class="jb-predict" id="{group}">'
            f'<p class="jb-predict-title">Predict the output</p>'
            f"{highlighted(self.snippet)}"
            f"<fieldset><legend>What does this print?</legend>{options}</fieldset>"
            f'<button type="button" class="jb-predict-check" hidden>Check my answer</button>'
            f'<p class="jb-predict-feedback" role="status" aria-live="polite"></p>'
            f'<details class="jb-predict-answer"><summary>Show the output</summary>'
            f"<pre>{html.escape(self.answer)}</pre><p>{html.escape(self.why)}</p></details>"
            f"</div>"
        )


def highlighted(code: str) -> str:
    """``code`` as the page shows Python: Pygments' HTML with the theme's ``highlight`` class."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    code_html = highlight(code, PythonLexer(), HtmlFormatter())
    return f'<div class="highlight-python notranslate">{code_html}</div>'


def run_snippet(snippet: str) -> str:
    """What ``snippet`` prints, then the repr of its last line if that is an expression (as a
    notebook shows it); ``raises <ExceptionType>`` if it raises."""
    tree = ast.parse(snippet)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    namespace: dict = {}
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(PRELUDE, "<prelude>", "exec"), namespace)
            exec(compile(tree, "<snippet>", "exec"), namespace)
            value = (
                eval(compile(ast.Expression(last.value), "<snippet>", "eval"), namespace)
                if last
                else None
            )
    except Exception as error:  # noqa: BLE001 - which error it raises is the answer
        return f"raises {type(error).__name__}"
    lines = printed.getvalue().rstrip("\n")
    if value is not None:
        lines = f"{lines}\n{value!r}" if lines else repr(value)
    return lines


def predict(name: str, snippet: str, answer: str, distractors: list[str], why: str) -> Question:
    """Run ``snippet`` and return the question, its options in an order fixed by ``name``.

    Raises ``ValueError`` when the output is one of the ``distractors`` or is not ``answer``,
    and when the question is malformed (no distractor, a repeated option, a name used twice).
    """
    snippet = textwrap.dedent(snippet).strip("\n")
    options = [answer, *distractors]
    if name in _asked:
        raise ValueError(f"question {name!r} is asked twice on this page")
    if not distractors:
        raise ValueError(f"question {name!r} needs at least one distractor")
    if len(set(options)) != len(options):
        raise ValueError(f"question {name!r} repeats an option: {options!r}")
    output = run_snippet(snippet)
    if output in distractors:
        raise ValueError(
            f"question {name!r}: the distractor {output!r} is what the snippet outputs today "
            f"(the answer given was {answer!r}); rewrite the question and its explanation"
        )
    if output != answer:
        raise ValueError(
            f"question {name!r}: the snippet outputs {output!r}, which is none of the options "
            f"{options!r}; make the answer exactly what it outputs today"
        )
    _asked.add(name)
    order = sorted(
        options, key=lambda option: hashlib.sha256(f"{name}|{option}".encode()).hexdigest()
    )
    return Question(name, snippet, tuple(order), output, why)
