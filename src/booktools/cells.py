"""What a code cell says, read without running it: its Python, and whether it times code.

* :func:`as_python` — a cell as plain Python (IPython magics become calls), so it parses.
* :func:`timing_names` and :func:`is_timed` — what counts as a clock: the clocks themselves
  (``perf_counter``, ``%timeit``, ...) and every function of a package that reads one, directly
  or through other functions. A cell that names any of them is *timed*: the book model marks
  it (:attr:`booktools.book.Page.timed_cells`) and the machine lock runs it alone
  (:mod:`booktools.machine`). A name is enough, so this errs towards timed, which costs only
  parallelism.

Pure: it reads source text and imports nothing of ``booktools``, so the book model and the
lock (which runs inside every kernel) can both ask it without importing each other.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

CLOCKS = frozenset(
    {
        "perf_counter",
        "perf_counter_ns",
        "monotonic",
        "monotonic_ns",
        "process_time",
        "time_ns",
        "timeit",
        "repeat",  # timeit.repeat
    }
)
TIMING_MAGICS = frozenset({"time", "timeit"})  # %time, %timeit, %%time, %%timeit


def as_python(cell_source: str) -> str:
    """A code cell as plain Python: IPython magics (``%xmode``, ``!pip``) become calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


def names_in(source: str) -> set[str]:
    """Every name and attribute ``source`` mentions, and the IPython magics it runs (code as
    :func:`as_python` translates it)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"run_line_magic", "run_cell_magic"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in TIMING_MAGICS
        ):
            names.add("timeit")  # a timing magic counts as a clock
    return names


@functools.cache
def timing_names(package_dir: Path) -> frozenset[str]:
    """The clocks, and the names of the functions (and methods) of the package that read a
    clock, directly or by calling another such function."""
    bodies: dict[str, set[str]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                bodies.setdefault(node.name, set()).update(names_in(ast.unparse(node)))
    timed = set(CLOCKS)
    while True:
        more = {name for name, used in bodies.items() if name not in timed and used & timed}
        if not more:
            return frozenset(timed)
        timed |= more


def is_timed(cell_source: str, timed_names: frozenset[str] | set[str]) -> bool:
    """Whether the cell names a clock or a function of :func:`timing_names`."""
    return bool(names_in(as_python(cell_source)) & timed_names)
