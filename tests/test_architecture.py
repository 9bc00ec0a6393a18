"""ARCHITECTURE.md's code map names every module, and the modules import each other without a
cycle."""

import ast
import re
import subprocess
import sys
from pathlib import Path

from booktools.book import Paths

ROOT = Paths.from_environment().root
SOURCE = ROOT / "src"
PACKAGES = ("booktools", "jaxbook")
ARCHITECTURE = ROOT / "ARCHITECTURE.md"

# An entry of the code map: a heading or a bullet that starts with a module's dotted name.
ENTRY = re.compile(r"^(?:#{3,4} |- )`((?:booktools|jaxbook)(?:\.\w+)*)`", re.MULTILINE)
MENTION = re.compile(r"(?<![\w/.-])(?:booktools|jaxbook)(?:\.\w+)+")  # not a file's path


def modules(source: Path = SOURCE) -> dict[str, Path]:
    """Every module of the packages under ``source``, by dotted name (a package by its own)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((source / package).rglob("*.py")):
            parts = path.relative_to(source).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``path`` (the module ``name``) imports: at the top, inside
    functions, under ``if TYPE_CHECKING:`` (a cycle of types is a cycle of the design too),
    absolute or relative. ``from a import b`` imports the module ``a.b`` where there is one,
    else ``a``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return (found & known) - {name}


def import_graph(source: Path = SOURCE) -> dict[str, set[str]]:
    found = modules(source)
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (Tarjan), as the path
    ``[a, b, ..., a]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph[node]:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, group) for group in groups]


def _cycle_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    start = min(group)
    paths = {start: [start]}
    todo = [start]
    while todo:  # breadth first, within the group: the shortest way back to the start
        node = todo.pop(0)
        for target in sorted(graph[node] & group):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                todo.append(target)
    raise AssertionError(f"no cycle in {group}")


def code_map() -> str:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    start = text.index("\n## Code map")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_code_map_names_every_module_and_only_modules_that_exist():
    named = set(ENTRY.findall(code_map()))
    existing = set(modules())
    unnamed = sorted(existing - named)
    gone = sorted(named - existing)
    assert not unnamed, f"ARCHITECTURE.md's code map does not name {unnamed}: add an entry"
    assert not gone, f"ARCHITECTURE.md's code map names {gone}, which no longer exist"


def test_every_module_architecture_md_mentions_exists():
    # `booktools.book.Paths` names a module and something in it; `booktools.nothing` names
    # nothing (a module renamed or split since the page was written).
    existing = set(modules())
    stale = set()
    for mention in MENTION.findall(ARCHITECTURE.read_text(encoding="utf-8")):
        parts = mention.split(".")
        prefixes = [".".join(parts[:n]) for n in range(len(parts), 1, -1)]
        if not any(prefix in existing for prefix in prefixes):
            stale.add(mention)
    assert not stale, f"ARCHITECTURE.md names modules that do not exist: {sorted(stale)}"


def test_the_packages_import_each_other_without_a_cycle():
    found = cycles(import_graph())
    shown = "; ".join(" -> ".join(cycle) for cycle in found)
    assert not found, f"circular imports: {shown}"


def test_jaxbook_never_imports_booktools():
    # The pages import jaxbook on Colab and Binder too, where none of the build's tools are.
    leaks = {
        name: sorted(target for target in targets if target.startswith("booktools"))
        for name, targets in import_graph().items()
        if name.startswith("jaxbook")
    }
    assert not {name: found for name, found in leaks.items() if found}


def test_the_lock_check_imports_the_standard_library_only():
    # `make venv` runs `python -m booktools.lock check` with the base Python, before the
    # environment exists: booktools.lock, booktools.book and booktools.cells import nothing else
    # at the top.
    code = f"import sys; sys.path.insert(0, {str(SOURCE)!r}); import booktools.lock"
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_checks_see_packages_and_imports_inside_functions_and_relative_ones(tmp_path):
    package = tmp_path / "booktools"
    (package / "checks").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "checks" / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from booktools.b import g\n")
    (package / "b.py").write_text("from . import c\n")
    (package / "c.py").write_text("from booktools.checks import d\n")
    (package / "checks" / "d.py").write_text("from ..a import f\n")
    graph = import_graph(tmp_path)
    assert set(graph) == {
        "booktools",
        "booktools.checks",
        *(f"booktools.{m}" for m in "abc"),
        "booktools.checks.d",
    }
    assert graph["booktools.checks.d"] == {"booktools.a"}
    cycle = ["booktools.a", "booktools.b", "booktools.c", "booktools.checks.d", "booktools.a"]
    assert cycles(graph) == [cycle]
    (package / "checks" / "d.py").write_text("import booktools\n")
    assert cycles(import_graph(tmp_path)) == []
