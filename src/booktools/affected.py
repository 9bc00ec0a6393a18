"""What a change affects: the plan of a pull request's CI (``python -m booktools.affected``).

A pull request's CI restores the execution caches and the environment of the base branch's
last good build, so the build re-executes only the pages the change affects (the cache's key
sees to that). This module decides the rest of the plan from the files the change touches:

* **full** — every suite on every page, as on main and nightly — when the change touches
  anything but content: the tools (``src/booktools``), the tests of the build, the Makefile,
  the requirements, the configuration, the workflows, the site's static files; or when the
  base is unknown.
* **fast** — when it touches only content: pages (``book/*.md``, the bibliography), the
  ``jaxbook`` package, unit tests, records. The build, the output checker and the numerics
  variant still run on the whole book (from the caches); the unit tests run except those of
  ``jaxbook`` modules the change does not reach; the browser tests check the pages the change
  affects (and the site-wide ones); the suites that test the build tooling (faults,
  portability) do not run, since the tooling is the base's, which passed them.

``--shell`` prints the plan as shell assignments that ``.ci/run`` exports for ``make test``:
``JAXBOOK_CI_PLAN`` (fast or full), ``JAXBOOK_PAGES`` (the pages the browser tests visit;
empty: every page), ``UNIT_TESTS`` (empty: every unit test) and ``SKIP_SUITES``.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import shlex
import subprocess
import sys
from pathlib import Path

from booktools.book import Book, BookError, Paths, package_dependencies

# Content: what a fast plan can check. Anything else makes the plan full.
CONTENT = (
    "book/*.md",
    "book/references.bib",
    "src/jaxbook/*.py",
    "tests/test_*.py",
    "tests/golden/*.yml",
    "tests/numerics/verified.yml",
    "tests/numerics/gpu-verified.yml",
    "README.md",
    "CONTRIBUTING.md",
    "ARCHITECTURE.md",  # its code map is checked by a unit test, which a fast plan runs
)
TOOLING_SUITES = ("portability", "faults")
VERIFIED = ("tests/numerics/verified.yml", "tests/numerics/gpu-verified.yml")


@dataclasses.dataclass
class Plan:
    full: bool
    why: str
    pages: list[str] = dataclasses.field(default_factory=list)  # docnames; full: every page
    unit_tests: list[str] = dataclasses.field(default_factory=list)  # full: every test

    def shell(self) -> str:
        values = {
            "JAXBOOK_CI_PLAN": "full" if self.full else "fast",
            "JAXBOOK_PAGES": "" if self.full else " ".join(self.pages) or "none",
            "UNIT_TESTS": "" if self.full else " ".join(self.unit_tests),
            "SKIP_SUITES": "" if self.full else " ".join(self.skipped),
        }
        return "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())

    @property
    def skipped(self) -> list[str]:
        return [*TOOLING_SUITES, *([] if self.unit_tests else ["unit"])]

    def summary(self) -> str:
        if self.full:
            return f"CI plan: full ({self.why})"
        return (
            f"CI plan: fast ({self.why}); pages checked in the browser: "
            f"{', '.join(self.pages) or 'none'}; unit tests: {len(self.unit_tests)} file(s); "
            f"not run: {', '.join(self.skipped)} (the build tooling is unchanged)"
        )


def changed_files(root: Path, base: str) -> list[str] | None:
    """The files that differ between ``base`` and the working tree (committed or not), or
    None when ``base`` is not a commit here."""
    known = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if known.returncode != 0:
        return None
    listed = subprocess.run(
        ["git", "diff", "--name-only", base],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(set(listed.stdout.split()) | set(untracked.stdout.split()))


def is_content(path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in CONTENT)


def module_of(path: str) -> str:
    """``src/jaxbook/grad.py`` -> ``jaxbook.grad`` (``__init__.py`` -> ``jaxbook``)."""
    name = Path(path).relative_to("src").with_suffix("").as_posix().replace("/", ".")
    return name.removesuffix(".__init__")


def plan(book: Book, changed: list[str] | None, base: str) -> Plan:
    if changed is None:
        return Plan(True, f"{base!r} is not a commit here")
    outside = [path for path in changed if not is_content(path)]
    if outside:
        shown = ", ".join(outside[:5]) + (" ..." if len(outside) > 5 else "")
        return Plan(True, f"not only content changed: {shown}")
    try:
        pages = book.executable_pages
        docnames = book.docnames
    except BookError as error:
        return Plan(True, str(error))
    modules = {module_of(path) for path in changed if path.startswith("src/jaxbook/")}
    affected = {page.docname for page in pages if modules & set(page.dependencies)}
    for path in changed:
        if fnmatch.fnmatchcase(path, "book/*.md"):
            affected.add(path.removesuffix(".md"))
        elif fnmatch.fnmatchcase(path, "tests/golden/*.yml"):
            affected.add("book/" + Path(path).stem)
        elif path == "book/references.bib":
            affected.add("book/references")
        elif path in VERIFIED:  # every page's "where it ran" note, and the status page
            affected |= {page.docname for page in pages} | {"book/status"}
    chosen = [name for name in docnames if name in affected]

    paths = book.paths
    tests = []
    for test in sorted((paths.root / "tests").glob("test_*.py")):
        relative = paths.relative(test)
        uses = set(package_dependencies(test.read_text(encoding="utf-8"), paths.package_dir))
        if relative in changed or not uses or uses & modules:
            tests.append(relative)
    changed_shown = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
    return Plan(False, f"only content changed: {changed_shown or 'nothing'}", chosen, tests)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit the change is compared with")
    parser.add_argument("--shell", action="store_true", help="print shell assignments")
    args = parser.parse_args(argv)
    book = Book(Paths.from_environment())
    result = plan(book, changed_files(book.paths.root, args.base), args.base)
    print(result.summary(), file=sys.stderr)
    if args.shell:
        print(result.shell(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
