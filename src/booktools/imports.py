"""Every library a page or ``src/jaxbook`` imports must be pinned in ``requirements.txt``.

A page can import a package that happens to be installed on the author's machine (often as a
dependency of something else) and still build there; a fresh environment, such as Binder's or
CI's, then fails. ``python -m booktools.imports`` lists such imports, naming the file.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import jupytext

from booktools import ROOT

LOCAL_PACKAGES = {"jaxbook", "booktools"}
# Modules every Jupyter kernel has; the book pins ipykernel, which brings them.
KERNEL_MODULES = {"IPython", "ipykernel", "matplotlib_inline"}


def as_python(cell_source: str) -> str:
    """A code cell as plain Python: IPython magics (``%xmode``, ``!pip``) become calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


def imported_modules(source: str) -> set[str]:
    """Top-level names of the modules that ``source`` imports (absolute imports only)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics and shell escapes: the build reports real errors
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def sources(root: Path = ROOT) -> dict[Path, str]:
    found = {}
    for page in sorted((root / "book").glob("*.md")):
        notebook = jupytext.read(page, fmt="md:myst")  # every page is MyST, with a header or not
        found[page] = "\n".join(
            as_python(cell.source) for cell in notebook.cells if cell.cell_type == "code"
        )
    for module in sorted((root / "src" / "jaxbook").rglob("*.py")):
        found[module] = module.read_text(encoding="utf-8")
    return found


def pinned(root: Path = ROOT) -> set[str]:
    names = set()
    for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*==", line.strip())
        if match:
            names.add(match.group(1).lower().replace("_", "-"))
    return names


def unpinned_imports(root: Path = ROOT) -> list[str]:
    distributions = importlib.metadata.packages_distributions()
    allowed = pinned(root)
    problems = []
    for path, source in sources(root).items():
        for module in sorted(imported_modules(source)):
            if module in sys.stdlib_module_names or module in LOCAL_PACKAGES | KERNEL_MODULES:
                continue
            owners = {d.lower().replace("_", "-") for d in distributions.get(module, [])}
            if not owners:
                problems.append(f"{path.relative_to(root)}: imports {module!r}, not installed")
            elif not owners & allowed:
                owner = ", ".join(sorted(owners))
                problems.append(
                    f"{path.relative_to(root)}: imports {module!r} (from {owner}), "
                    "which requirements.txt does not pin"
                )
    return problems


def main() -> int:
    problems = unpinned_imports()
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    if not problems:
        print("imports: every library the pages and src/jaxbook import is pinned")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
