"""Every library a page or ``src/jaxbook`` imports must be pinned in ``requirements.txt``.

A page can import a package that happens to be installed on the author's machine (often as a
dependency of something else) and still build there; a fresh environment, such as Binder's or
CI's, then fails. ``python -m booktools.imports`` lists such imports, naming the file.
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

from packaging.utils import canonicalize_name

from booktools.book import Book, imported_modules

LOCAL_PACKAGES = {"jaxbook", "booktools"}
# Modules every Jupyter kernel has; the book pins ipykernel, which brings them.
KERNEL_MODULES = {"IPython", "ipykernel", "matplotlib_inline"}


def sources(book: Book) -> dict[Path, str]:
    """The Python of every page (its code cells) and of every module of ``src/jaxbook``."""
    found = {page.path: page.code for page in book.pages}
    for module in sorted(book.paths.package_dir.rglob("*.py")):
        found[module] = module.read_text(encoding="utf-8")
    return found


def unpinned_imports(book: Book) -> list[str]:
    distributions = importlib.metadata.packages_distributions()
    allowed = set(book.pins)
    problems = []
    for path, source in sources(book).items():
        shown = book.paths.relative(path)
        for module in sorted(imported_modules(source)):
            if module in sys.stdlib_module_names or module in LOCAL_PACKAGES | KERNEL_MODULES:
                continue
            owners = {canonicalize_name(d) for d in distributions.get(module, [])}
            if not owners:
                problems.append(f"{shown}: imports {module!r}, not installed")
            elif not owners & allowed:
                owner = ", ".join(sorted(owners))
                problems.append(
                    f"{shown}: imports {module!r} (from {owner}), "
                    "which requirements.txt does not pin"
                )
    return problems


def main() -> int:
    problems = unpinned_imports(Book())
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    if not problems:
        print("imports: every library the pages and src/jaxbook import is pinned")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
