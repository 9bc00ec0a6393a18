"""No plumbing on the page: the reader sees the code that teaches, not the book's bookkeeping.

Cells that only glue values into the prose are hidden (``remove-cell``), and module source is
shown by ``literalinclude`` as highlighted Python, not printed by ``inspect.getsource`` as
plain output. No visible cell imports a name that no visible cell uses (``glue`` and
``predict``, which only hidden cells call; ``booktools.bookkeeping_ext`` hides such imports),
or shows a setting that only changes how the build prints (``jax_pprint_use_color``). The
checks read the built HTML; each is a plain function so its failure can be shown on a small
page made to fail.
"""

from __future__ import annotations

import ast
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


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAGIC = re.compile(r"^\s*[%!]", re.MULTILINE)
PRESENTATION_SETTINGS = ("jax_pprint_use_color",)


def _parsed(code: str) -> ast.Module | None:
    """The cell as Python, its magic lines as ``pass`` (``None`` if it still does not parse)."""
    try:
        return ast.parse(
            "\n".join("pass" if MAGIC.match(line) else line for line in code.split("\n"))
        )
    except SyntaxError:
        return None


def _names_read(code: str, tree: ast.Module | None) -> set[str]:
    if tree is None:
        return set(IDENTIFIER.findall(code))
    names = {
        node.id
        for statement in tree.body
        if not isinstance(statement, (ast.Import, ast.ImportFrom))
        for node in ast.walk(statement)
        if isinstance(node, ast.Name)
    }
    for line in code.split("\n"):
        if MAGIC.match(line):
            names |= set(IDENTIFIER.findall(line))
    return names


def problems_bookkeeping(name: str, page: str) -> list[str]:
    """Imports in visible cells whose names no visible cell reads, and presentation settings."""
    cells = [text_of(cell) for cell in CELL_INPUT.findall(page)]
    trees = [_parsed(code) for code in cells]
    read = set().union(*(_names_read(c, t) for c, t in zip(cells, trees, strict=True)))
    problems = []
    for number, (code, tree) in enumerate(zip(cells, trees, strict=True), start=1):
        for setting in PRESENTATION_SETTINGS:
            if setting in code:
                problems.append(f"{name}: code cell {number} shows the setting {setting}")
        for statement in tree.body if tree else []:
            if not isinstance(statement, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
                continue
            for alias in statement.names:
                bound = alias.asname or (
                    alias.name.split(".")[0] if isinstance(statement, ast.Import) else alias.name
                )
                if bound != "*" and bound not in read:
                    problems.append(
                        f"{name}: code cell {number} shows `{ast.unparse(statement)}`, but no "
                        f"visible cell uses {bound}"
                    )
    return problems


def test_pages_show_no_import_that_no_visible_cell_uses(site_dir):
    problems = []
    for name in PAGES:
        problems += problems_bookkeeping(name, (site_dir / f"{name}.html").read_text("utf-8"))
    fail_on(problems)


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


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["from jaxbook.glue import glue\nimport jax", "jax.jit"], "no visible cell uses glue"),
        (["from a import b, c", "b()"], "`from a import b, c`, but no visible cell uses c"),
        (["import jax.numpy as jnp"], "no visible cell uses jnp"),
        (['jax.config.update("jax_pprint_use_color", False)'], "shows the setting"),
    ],
)
def test_each_kind_of_bookkeeping_is_named_with_its_page(cells, expected):
    fragment = "".join(CELL.format(f"<pre>{html.escape(code)}</pre>") for code in cells)
    (problem,) = problems_bookkeeping("book/x", fragment)
    assert problem.startswith("book/x: code cell 1 ") and expected in problem


def test_imports_that_visible_cells_use_are_not_bookkeeping():
    cells = ["import jax\nimport numpy as np", "%timeit np.sin(1)", "print(f'{jax.numpy.pi}')"]
    fragment = "".join(CELL.format(f"<pre>{html.escape(code)}</pre>") for code in cells)
    assert problems_bookkeeping("book/x", fragment) == []
