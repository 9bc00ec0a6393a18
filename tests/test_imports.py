from booktools import imports
from booktools.book import Book, Paths


def test_every_import_of_the_book_is_pinned():
    assert imports.unpinned_imports(Book()) == []


def test_an_unpinned_import_is_named_with_its_file(tmp_path):
    root = Paths.from_environment().root
    (tmp_path / "_config.yml").write_text((root / "_config.yml").read_text(encoding="utf-8"))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    (tmp_path / "index.md").write_text("# A book\n")
    (tmp_path / "requirements.txt").write_text("jax==0.0.1\n")
    (tmp_path / "src" / "jaxbook").mkdir(parents=True)
    (tmp_path / "src" / "jaxbook" / "extra.py").write_text("import numpy\nimport jax\n")
    book = Book(Paths.at(tmp_path))
    problems = imports.unpinned_imports(book)
    assert problems == [
        "src/jaxbook/extra.py: imports 'numpy' (from numpy), which requirements.txt does not pin"
    ]
