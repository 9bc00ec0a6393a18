"""No module of the build tools (src/booktools) or of the book's code (src/jaxbook) is over 500
lines: a longer one is split by concern, as booktools.review was (issue 32)."""

from __future__ import annotations

import pytest

from booktools.book import Paths

ROOT = Paths.from_environment().root
MAX_LINES = 500
MODULES = sorted(
    path for package in ("booktools", "jaxbook") for path in (ROOT / "src" / package).rglob("*.py")
)


def test_there_are_modules_to_measure():
    names = {p.relative_to(ROOT / "src").as_posix() for p in MODULES}
    assert {"booktools/review.py", "booktools/canary.py", "jaxbook/timing.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(ROOT / "src").as_posix())
def test_no_module_is_over_500_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, (
        f"src/{path.relative_to(ROOT / 'src').as_posix()} has {lines} lines (at most "
        f"{MAX_LINES}): split it by concern into modules named for what each owns, and add "
        "them to ARCHITECTURE.md's code map"
    )
