from booktools import imports


def test_every_import_of_the_book_is_pinned():
    assert imports.unpinned_imports() == []


def test_imported_modules_finds_absolute_imports_only():
    source = "import a.b\nfrom c.d import e\nfrom . import f\nimport g as h\n"
    assert imports.imported_modules(source) == {"a", "c", "g"}


def test_magics_do_not_crash_the_scan():
    assert imports.imported_modules("%timeit f(x)\n") == set()


def test_cells_with_magics_are_read_as_python():
    source = imports.as_python("%xmode Plain\nimport scipy\n!ls\n")
    assert imports.imported_modules(source) == {"scipy"}
