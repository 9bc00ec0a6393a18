"""The model of the book every tool reads: paths, the table of contents, page records, pins."""

from pathlib import Path

import pytest

from booktools.book import Book, BookError, Paths, as_python, imported_modules

PAGE = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3 (ipykernel)
  language: python
  name: python3
---
# {title}

```{{code-cell}} ipython3
{code}
```
"""


def scratch_book(root: Path, toc: str, pages: dict[str, str], modules: dict[str, str]) -> Book:
    (root / "_toc.yml").write_text(toc)
    (root / "_config.yml").write_text("title: A scratch book\n")
    (root / "requirements.txt").write_text("jax==0.4.1\ndm_haiku==0.0.13  # a comment\nnumpy\n")
    for name, text in {**pages, **modules}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return Book(Paths.at(root))


@pytest.fixture
def book(tmp_path):
    return scratch_book(
        tmp_path,
        "format: jb-book\nroot: index\nchapters:\n  - file: a\n  - file: b\n",
        {
            "index.md": "# Prose only\n",
            "a.md": PAGE.format(title="A", code="from jaxbook import alpha\n%time alpha.f()"),
            "b.md": PAGE.format(title="B", code="import jaxbook.beta"),
        },
        {
            "src/jaxbook/__init__.py": "",
            "src/jaxbook/alpha.py": "from jaxbook import timing\n",
            "src/jaxbook/timing.py": "",
            "src/jaxbook/beta.py": "import math\n",
        },
    )


def test_paths_come_from_the_environment_or_are_given(tmp_path):
    paths = Paths.from_environment({"JAXBOOK_ROOT": str(tmp_path)})
    assert paths.root == tmp_path.resolve() and paths.build == tmp_path.resolve() / "_build"
    other = Paths.from_environment({"JAXBOOK_ROOT": str(tmp_path), "JAXBOOK_BUILD": "/x/y"})
    assert other.build == Path("/x/y") and other.cache == Path("/x/y/.jupyter_cache")
    assert Paths.from_environment({}).toc.is_file()  # by default, this checkout
    assert paths.relative(tmp_path / "book" / "a.md") == "book/a.md"
    assert paths.relative("/elsewhere/a.md") == "/elsewhere/a.md"


def test_pages_in_reading_order_with_what_each_executes_and_imports(book):
    assert book.docnames == ["index", "a", "b"]
    assert [p.docname for p in book.executable_pages] == ["a", "b"]
    a, b = book.page("a"), book.page("b.md")
    assert list(a.dependencies) == ["jaxbook", "jaxbook.alpha", "jaxbook.timing"]  # through alpha
    assert a.times_code and not b.times_code
    assert list(b.dependencies) == ["jaxbook", "jaxbook.beta"]
    assert "get_ipython().run_line_magic('time', 'alpha.f()')" in a.code
    assert book.page("a") is a  # read once
    assert a.notebook() is not a.notebook()  # each caller gets its own copy
    assert book.find("nowhere") is None and book.find(book.paths.root / "a.md") is a


def test_the_pins_are_read_as_pip_reads_them(book):
    assert book.pins == {"jax": "0.4.1", "dm-haiku": "0.0.13"}
    assert book.pin("DM_Haiku") == "0.0.13"
    with pytest.raises(BookError, match="pins no version of numpy"):
        book.pin("numpy")


def test_a_broken_requirement_is_named_with_its_line(tmp_path):
    (tmp_path / "requirements.txt").write_text("jax==0.4.1\njax>=<1\n")
    with pytest.raises(BookError, match="requirements.txt, line 2"):
        Book(Paths.at(tmp_path)).pins  # noqa: B018


@pytest.mark.parametrize(
    ("toc", "message"),
    [
        ("format: jb-book\nchapters: []\n", "_toc.yml: .*root"),
        ("format: jb-book\nroot: index\nchapters:\n  - title: x\n", "_toc.yml: "),
        ("root: [unclosed\n", "_toc.yml: not valid YAML"),
        ("- a list\n", "_toc.yml: expected a mapping"),
    ],
)
def test_a_malformed_table_of_contents_is_one_clear_error(tmp_path, toc, message):
    book = scratch_book(tmp_path, toc, {"index.md": "# I\n"}, {})
    with pytest.raises(BookError, match=message):
        book.docnames  # noqa: B018


def test_an_entry_without_a_file_is_named(tmp_path):
    book = scratch_book(
        tmp_path, "format: jb-book\nroot: index\nchapters:\n  - file: gone\n", {"index.md": ""}, {}
    )
    assert book.missing_sources() == ["gone"]
    with pytest.raises(BookError, match="'gone' names no file"):
        book.page("gone")


def test_imported_modules_finds_absolute_imports_only():
    source = "import a.b\nfrom c.d import e\nfrom . import f\nimport g as h\n"
    assert imported_modules(source) == {"a", "c", "g"}


def test_magics_do_not_crash_the_scan_and_are_read_as_python():
    assert imported_modules("%timeit f(x)\n") == set()
    assert imported_modules(as_python("%xmode Plain\nimport scipy\n!ls\n")) == {"scipy"}


def test_the_real_book():
    book = Book()
    assert book.docnames[0] == "book/index" and "book/jit" in book.docnames
    assert book.page("book/jit").times_code and not book.page("book/purity").times_code
    assert not book.page("book/glossary").executes
    assert book.missing_sources() == []


def test_the_bootstrap_reader_of_the_lock_check_reads_the_same_pins():
    from booktools import lock

    book = Book()
    assert lock.read_pins(book.paths.requirements)[0] == book.pins


def test_the_build_names_each_configuration_problem_before_it_executes_anything(tmp_path):
    from booktools.build import configuration_problems

    book = scratch_book(
        tmp_path, "format: jb-book\nroot: index\nchapters:\n  - file: gone\n", {"index.md": ""}, {}
    )
    assert configuration_problems(book) == ["_toc.yml: entry 'gone' names no file of the book"]
    (tmp_path / "requirements.txt").write_text("jax==0.0.0-pretend\n")
    (tmp_path / "_config.yml").write_text("- not a mapping\n")
    problems = configuration_problems(Book(Paths.at(tmp_path)))
    assert problems[0] == "_config.yml: expected a mapping at the top level"
    assert problems[1].startswith("requirements.txt, line 1: ")
