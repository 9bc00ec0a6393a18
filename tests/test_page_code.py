"""The pages' code cells formatted and linted by Ruff (booktools.page_code)."""

from __future__ import annotations

import pytest

from booktools import page_code

PAGE = """---
jupytext: {}
---

# A page

```{code-cell} ipython3
:tags: [remove-cell]

from jaxbook.glue import glue
```

Prose with `code` that stays    as it is.

```{code-cell} ipython3
---
tags: [hide-input]
---
x = [1,2,   3]
%timeit sum(x)
```

````{code-cell} ipython3
print( 'a long string that has to move to a line of its own once the call is too wide', x, glue)
````
"""


@pytest.fixture
def page(tmp_path, monkeypatch):
    monkeypatch.setattr(page_code, "ROOT", tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.jaxbook.page-code]\nline-length = 88\nlint = ["F"]\nlint-ignore = []\n'
    )
    (tmp_path / "book").mkdir()
    path = tmp_path / "book" / "page.md"
    path.write_text(PAGE, "utf-8")
    return path


def test_code_cells_are_found_after_their_options():
    cells = page_code.code_cells(PAGE.split("\n"))
    assert [cell.code for cell in cells] == [
        "from jaxbook.glue import glue",
        "x = [1,2,   3]\n%timeit sum(x)",
        "print( 'a long string that has to move to a line of its own once the call is too "
        "wide', x, glue)",
    ]
    assert [cell.number for cell in cells] == [1, 2, 3]


def test_an_unclosed_cell_is_an_error():
    with pytest.raises(ValueError, match="never closed"):
        page_code.code_cells(["```{code-cell} ipython3", "x = 1"])


def test_format_rewrites_only_the_code(page):
    assert page_code.main(["check", str(page)]) == 1
    assert page_code.main(["format", str(page)]) == 0
    text = page.read_text("utf-8")
    assert "x = [1, 2, 3]\n%timeit sum(x)\n```" in text  # the magic is kept
    assert 'print(\n    "a long string' in text
    assert max(len(line) for line in text.split("\n") if "code-cell" not in line) <= 88
    # Prose, options and the blank line after them stay byte for byte.
    assert "Prose with `code` that stays    as it is." in text
    assert ":tags: [remove-cell]\n\nfrom jaxbook.glue import glue\n" in text
    assert "---\ntags: [hide-input]\n---\nx = " in text
    assert page_code.main(["check", str(page)]) == 0
    assert page_code.main(["format", str(page)]) == 0
    assert page.read_text("utf-8") == text


def test_check_names_the_page_cell_and_line(page, capsys):
    page_code.main(["format", str(page)])
    page.write_text(page.read_text("utf-8").replace("x = [1, 2, 3]", "import os\nx = [1, 2, 3]"))
    assert page_code.main(["check", str(page)]) == 1
    err = capsys.readouterr().err
    assert "book/page.md:19: code cell 2: F401 `os` imported but unused" in err


def test_unformatted_cell_is_named(page, capsys):
    assert page_code.main(["check", str(page)]) == 1
    err = capsys.readouterr().err
    assert "book/page.md:19: code cell 2 is not formatted (make format-pages)" in err
    assert "code cell 1 " not in err
