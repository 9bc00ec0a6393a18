"""Rebuilds re-execute exactly the pages a change affects (issue: fast and correct rebuilds)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.faults


def executed(result) -> set[str]:
    text = result.stdout + result.stderr
    assert result.returncode == 0, text[-4000:]
    return set(re.findall(r"cache: executed book/(\w+)\.md", text))


def test_a_page_reexecutes_only_when_what_it_depends_on_changes(modular_book):
    book = modular_book
    assert executed(book.build()) == {"a", "b", "c"}, "a clean build executes every page"
    assert executed(book.build()) == set(), "nothing changed: nothing re-executed"

    book.write("src/jaxbook/gamma.py", "VALUE = 4.0\n")  # imported by b through beta
    assert executed(book.build()) == {"b"}
    assert executed(book.build()) == set()

    book.write("src/jaxbook/alpha.py", "VALUE = 1.5\n")
    assert executed(book.build()) == {"a"}

    book.edit("book/c.md", "Prose.", "Other prose.")  # prose only: re-rendered, not executed
    assert executed(book.build()) == set()
    html = (book.root / "_build" / "html" / "book" / "c.html").read_text(encoding="utf-8")
    assert "Other prose." in html

    book.edit("book/c.md", "range(10)", "range(11)")  # its own code
    assert executed(book.build()) == {"c"}


def test_the_new_outputs_are_on_the_page(modular_book):
    book = modular_book
    executed(book.build())
    book.write("src/jaxbook/gamma.py", "VALUE = 21.0\n")
    executed(book.build())
    html = (book.root / "_build" / "html" / "book" / "b.html").read_text(encoding="utf-8")
    assert "42.0" in html


def test_a_changed_environment_reexecutes_everything(modular_book):
    book = modular_book
    executed(book.build())
    pins = (book.root / "requirements.txt").read_text(encoding="utf-8")
    book.write("requirements.txt", pins.replace("\njax==", "\njax==0.0.1  # pretend; was "))
    assert executed(book.build()) == {"a", "b", "c"}


@pytest.mark.parametrize("damage", ["corrupt database", "deleted cache", "lost fingerprints"])
def test_a_damaged_cache_is_rebuilt_not_trusted(modular_book, damage):
    import shutil

    book = modular_book
    executed(book.build())
    cache = book.root / "_build" / ".jupyter_cache"
    if damage == "corrupt database":
        (cache / "global.db").write_bytes(b"this is not sqlite")
    elif damage == "deleted cache":
        shutil.rmtree(cache)
    else:  # the records stand, but say nothing of what else their outputs came from
        import sqlite3

        with sqlite3.connect(cache / "global.db") as database:
            database.execute("UPDATE nbcache SET data = '{}'")
    assert executed(book.build()) == {"a", "b", "c"}
