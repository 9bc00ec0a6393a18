"""`python -m booktools.review` on a real two-commit change of a scratch book (issue #21)."""

from __future__ import annotations

import re
import subprocess

import pytest

pytestmark = pytest.mark.faults


def git(book, *args: str) -> None:
    identity = ["-c", "user.name=jaxbook", "-c", "user.email=jaxbook@example.org"]
    subprocess.run(
        ["git", *identity, "-c", "commit.gpgsign=false", *args],
        cwd=book.root,
        check=True,
        capture_output=True,
    )


def test_the_review_of_a_one_number_change_names_that_pages_cell_and_nothing_else(modular_book):
    # Pages a, b and c import alpha, beta (which imports gamma) and nothing. The lean path
    # (no site) keeps this test quick; tests/test_review.py covers weights on fixture pages.
    book = modular_book
    book.write(".gitignore", "_build/\n__pycache__/\n")
    for step in (book.run("-m", "booktools.build", "--execute-only"), book.record()):
        assert step.returncode == 0, step.stdout + step.stderr
    git(book, "init", "-q")
    git(book, "add", "-A")
    git(book, "commit", "-qm", "the base")
    book.write("src/jaxbook/gamma.py", "VALUE = 4.0\n")  # b prints 2 * gamma: 6.0 becomes 8.0
    git(book, "commit", "-qam", "one number")

    result = book.run("-m", "booktools.review", "--base", "HEAD~1", "--no-site")
    report = result.stdout
    assert result.returncode == 0, report + result.stderr
    assert report == (book.root / "_build" / "review.md").read_text(encoding="utf-8")
    assert re.findall(r"^## .*", report, flags=re.M) == ["## book/b.md"]
    assert "- >>>6.0<<<\n+ >>>8.0<<<" in report
    assert "6.0 → 8.0 (relative move 0.33)" in report
    # The checker, on the head, flags the same cell: its record still says 6.0.
    assert "book/b.md, cell 1" in report and "number 1 differs beyond" in report
    assert "book/a" not in report and "book/c" not in report
    # The base reused the unchanged pages from the head's cache and executed only b.
    assert "base build: 1 page(s) executed, 2 taken from the cache" in report
    assert "\n> " not in report, "no caveat: both sides were built and compared"

    result = book.run("-m", "booktools.review", "--base", "no-such-commit", "--no-site")
    assert result.returncode == 0, result.stdout + result.stderr
    notes = re.findall(r"^> .*", result.stdout, flags=re.M)
    assert notes == [
        "> `no-such-commit` is not a commit of this repository (fetched?): there is no base to "
        "compare with, so the head is reported alone."
    ]
    assert "building the head" not in result.stderr, "the head's build was current"
    assert "its outputs changed" not in result.stdout, "nothing is compared without a base"
