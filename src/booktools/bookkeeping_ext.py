"""Sphinx extension: a visible code cell shows no bookkeeping (``BOOK_STANDARD.md`` 7b).

A page's first cell imports what the whole page needs, hidden cells included: ``glue`` for the
cells that glue numbers into the prose, ``predict`` for the questions, ``IPython.display`` for
the cells that assemble a table, and it sets ``jax_pprint_use_color`` so that jaxprs print as
plain text. None of that teaches anything, and a reader who copies the visible cells does not
need it. So, as the page is read, each visible cell's input (``remove-input`` and
``remove-cell`` cells have none; ``hide-input`` ones count as visible) is shown:

* without the top-level imports whose names no visible cell uses: a statement that imports
  several names keeps the used ones (``from jaxbook.timing import benchmark``), one that
  imports none of them is left out;
* without the settings in :data:`PRESENTATION_SETTINGS`, which change only how the build's
  outputs print.

The page's source, its execution and its records are unchanged: the cells run as written, and
the ``.md`` download and the reader notebooks (:mod:`booktools.reader_notebooks`) are made from
the source. A cell left with nothing to show loses its input, as ``remove-input`` would.
``tests/browser/test_plumbing.py`` checks the built pages: no visible cell imports a name that
no visible cell uses.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from booktools.cells import as_python

# Settings that change only how the build's outputs look (a jaxpr without colour codes).
PRESENTATION_SETTINGS = ("jax_pprint_use_color",)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAGIC_CALLS = ("run_line_magic", "run_cell_magic", "system", "getoutput")


@dataclass
class _Cell:
    source: str
    tree: ast.Module | None  # None: the cell does not parse line for line, so it is shown as is

    @classmethod
    def parse(cls, source: str) -> _Cell:
        python = as_python(source)
        if python.rstrip("\n").count("\n") != source.rstrip("\n").count("\n"):
            return cls(source, None)  # a cell magic moved the lines
        try:
            return cls(source, ast.parse(python))
        except SyntaxError:
            return cls(source, None)

    def statements(self) -> list[ast.stmt]:
        return list(self.tree.body) if self.tree else []


def bound_name(alias: ast.alias, node: ast.Import | ast.ImportFrom) -> str:
    """The name an import binds: ``jnp`` for ``import jax.numpy as jnp``, ``jax`` for
    ``import jax.numpy``."""
    if alias.asname:
        return alias.asname
    return alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name


def is_presentation_setting(node: ast.stmt) -> bool:
    """``jax.config.update("jax_pprint_use_color", ...)`` and the like."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    call = node.value
    return (
        ast.unparse(call.func) in ("jax.config.update", "config.update")
        and bool(call.args)
        and isinstance(call.args[0], ast.Constant)
        and call.args[0].value in PRESENTATION_SETTINGS
    )


def _is_import(node: ast.stmt) -> bool:
    return isinstance(node, (ast.Import, ast.ImportFrom)) and not (
        isinstance(node, ast.ImportFrom) and node.module == "__future__"
    )


def names_used(cell: _Cell) -> set[str]:
    """Every name the cell's code reads, its imports left out; magics' arguments included. A
    cell that does not parse counts every identifier in it (a name is never hidden wrongly)."""
    if cell.tree is None:
        return set(IDENTIFIER.findall(cell.source))
    used: set[str] = set()
    for statement in cell.statements():
        if _is_import(statement):
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in MAGIC_CALLS
            ):
                for argument in node.args:
                    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                        used |= set(IDENTIFIER.findall(argument.value))
    return used


def _trailing_comment(line: str) -> str:
    match = re.search(r"\s+#.*$", line)
    return match.group(0) if match and line.count("#") == 1 else ""


def _pruned_import(node: ast.Import | ast.ImportFrom, keep: list[ast.alias], line: str) -> str:
    """The import statement with only the ``keep`` names, on one line (a trailing comment
    kept), indented as ``line``."""
    if isinstance(node, ast.Import):
        pruned: ast.stmt = ast.Import(names=keep)
    else:
        pruned = ast.ImportFrom(module=node.module, names=keep, level=node.level)
    indent = line[: len(line) - len(line.lstrip())]
    return indent + ast.unparse(pruned) + _trailing_comment(line)


def _without_lines(lines: list[str], drop: set[int], replace: dict[int, str]) -> str:
    """``lines`` less ``drop`` (and with ``replace``), a run of blank lines around a removed
    statement kept only once."""
    out: list[str | None] = []
    for number, line in enumerate(lines):
        if number in drop:
            if out and out[-1] is not None:
                out.append(None)  # where something was taken out
        else:
            out.append(replace.get(number, line))
    kept: list[str] = []
    for index, line in enumerate(out):
        if line is None:
            continue
        if not line.strip() and index and out[index - 1] is None:
            blank_before = 0
            for previous in reversed(kept):
                if previous.strip():
                    break
                blank_before += 1
            if blank_before or not kept:
                continue  # the blank after a removed statement, when one precedes it
        kept.append(line)
    return "\n".join(kept).strip("\n")


def shown_sources(sources: list[str]) -> list[str]:
    """Each visible cell's source as the page shows it (see the module's doc): ``sources`` are
    the page's visible cells, in order."""
    cells = [_Cell.parse(source) for source in sources]
    used = set().union(*(names_used(cell) for cell in cells)) if cells else set()
    shown = []
    for cell in cells:
        lines = cell.source.rstrip("\n").split("\n")
        drop: set[int] = set()
        replace: dict[int, str] = {}
        for node in cell.statements():
            span = set(range(node.lineno - 1, node.end_lineno or node.lineno))
            if is_presentation_setting(node):
                drop |= span
            elif _is_import(node):
                assert isinstance(node, (ast.Import, ast.ImportFrom))
                keep = [a for a in node.names if a.name == "*" or bound_name(a, node) in used]
                if not keep:
                    drop |= span
                elif len(keep) < len(node.names):
                    first = node.lineno - 1
                    replace[first] = _pruned_import(node, keep, lines[first])
                    drop |= span - {first}
        shown.append(_without_lines(lines, drop, replace) if drop or replace else cell.source)
    return shown


# ---------------------------------------------------------------------------- Sphinx


def hide_bookkeeping(app: Any, doctree: Any) -> None:
    """Rewrite the visible cell inputs of one page (myst-nb's ``cell_code_source`` containers)."""
    from docutils import nodes

    inputs = [
        node
        for node in doctree.findall(nodes.container)
        if node.get("nb_element") == "cell_code_source"
    ]
    blocks = [node.next_node(nodes.literal_block) for node in inputs]
    pairs = [(node, block) for node, block in zip(inputs, blocks, strict=True) if block]
    sources = [block.astext() for _, block in pairs]
    for (node, block), old, new in zip(pairs, sources, shown_sources(sources), strict=True):
        if new == old.strip("\n") or new == old:
            continue
        if not new.strip():
            node.parent.remove(node)
            continue
        block.rawsource = new
        block.clear()
        block += nodes.Text(new)


def setup(app: Any) -> dict[str, Any]:
    app.connect("doctree-read", hide_bookkeeping)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
