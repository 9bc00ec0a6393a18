"""What every reader notebook must satisfy (issue 31), shared by tests/test_reader_notebooks.py
(fixtures and the book's own executed pages) and tests/test_notebooks.py."""

from __future__ import annotations

import os
import re

import nbformat
import pytest

from booktools.reader_notebooks import CHECK_TAG, NOTICE_TAG, QUESTION_TAG

# A MyST role ({name}`...`) or a directive's fence (```{name} or :::{name}) anywhere.
ROLE = re.compile(r"\{[A-Za-z][\w:.+-]*\}`")
DIRECTIVE = re.compile(r"^[ \t>]*(?:`{3,}|~{3,}|:{3,})\{[\w:.+-]+\}", re.MULTILINE)
# jaxbook.quiz's call: predict("name", ...), not a function of the book that is called predict
QUIZ_CALL = re.compile(r"(?<![\w.])predict\(\s*['\"]")
BOOKKEEPING = ("glue(", "answer=", "from jaxbook.quiz", "from jaxbook.glue", "jb-predict")
DETAILS = re.compile(r"<details>.*?</details>", re.DOTALL)


def problems(notebook: nbformat.NotebookNode, name: str) -> list[str]:
    """Everything in ``notebook`` that a reader should not see, each naming the cell."""
    found = []
    for number, cell in enumerate(notebook.cells):
        where = f"{name}, cell {number} ({cell.cell_type})"
        text = cell.source
        for output in cell.get("outputs", []):
            text += "\n" + str(output.get("text", "")) + str(output.get("data", {}))
        if match := ROLE.search(text):
            found.append(f"{where}: a MyST role is left: {match.group(0)!r}")
        if match := DIRECTIVE.search(text):
            found.append(f"{where}: a MyST directive is left: {match.group(0)!r}")
        if QUIZ_CALL.search(text):
            found.append(f"{where}: a question's predict(...) call is left")
        found += [f"{where}: {word!r} is left" for word in BOOKKEEPING if word in text]
    return found


def outside_details(text: str) -> str:
    return DETAILS.sub("", text)


def answer_shown_early(question: str, answer: str, why: str) -> str | None:
    """Why the question cell ``question`` shows its answer before it is asked, or None: outside
    its ``<details>`` only the snippet and the options (each once, all alike) may name it."""
    inside = "".join(DETAILS.findall(question))
    if answer not in inside or why not in inside:
        return "the output and its explanation are not inside a <details>"
    outside = outside_details(question)
    if why in outside:
        return "the explanation shows outside the <details>"
    snippet_free = re.sub(r"```python\n.*?\n```", "", outside, flags=re.DOTALL)
    options = re.findall(r"^- (.*)$", snippet_free, re.MULTILINE)
    marked = [o for o in options if o and not re.fullmatch(r"(`+) ?.+? ?\1", o)]
    if marked:  # an option is code and nothing else (or a code block below an empty item)
        return f"an option says more than its text, it may stand out: {marked}"
    rest = re.sub(r"^- .*$|^  .*$", "", snippet_free, flags=re.MULTILINE)
    if answer.strip() and answer in rest:
        return f"the answer {answer!r} shows outside the options"
    return None


def layout_problems(notebook: nbformat.NotebookNode, versions: dict[str, str]) -> list[str]:
    """The notice first (naming each version), the install cell next, then the version check."""
    cells = notebook.cells
    found = []
    if not cells or NOTICE_TAG not in cells[0].metadata.get("tags", []):
        return ["the first cell is not the version notice"]
    for library, version in versions.items():
        if f"{library} {version}" not in cells[0].source:
            found.append(f"the notice does not say {library} {version}")
    if "colab-install" not in cells[1].metadata.get("tags", []):
        found.append("the install cell does not come right after the notice")
    if CHECK_TAG not in cells[2].metadata.get("tags", []):
        found.append("the version check does not come after the install cell")
    return found


def questions(notebook: nbformat.NotebookNode) -> list[str]:
    return [c.source for c in notebook.cells if QUESTION_TAG in c.metadata.get("tags", [])]


# `make test` runs the unit tests before the build, so these files run them again after it
# (`make portability`) with this set: there a missing build is a failure, not a skip.
REQUIRE_BUILD = "JAXBOOK_REQUIRE_BUILD"


def without_build(reason: str) -> None:
    """Skip a test that needs the built book, or fail it where the build is required."""
    if os.environ.get(REQUIRE_BUILD) == "1":
        pytest.fail(f"{reason} (and {REQUIRE_BUILD}=1 requires it)")
    pytest.skip(reason)
