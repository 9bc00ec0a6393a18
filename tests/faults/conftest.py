"""A minimal scratch book, built and checked by the real tools, for injecting one fault each.

The scratch book has the real `_config.yml` and `pyproject.toml`, a two-page `_toc.yml`, and a
module `jaxbook.faultdemo` of its own (on the kernel's PYTHONPATH) standing in for `src/jaxbook`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from booktools.book import Paths

ROOT = Paths.from_environment().root

HEADER = (ROOT / "book" / "why_jax.md").read_text(encoding="utf-8").split("---")[1]
JUPYTEXT = "---" + HEADER.split("output_check:")[0] + "---\n"

PAGE = (
    JUPYTEXT
    + """
# A page

Some prose, and a reference to {doc}`index`.

```{code-cell} ipython3
from jaxbook.faultdemo import answer

print("the answer is", answer())
```

```{code-cell} ipython3
:tags: [raises-exception]

1 / 0
```
"""
)

TOC = """format: jb-book
root: book/index
chapters:
  - file: book/page
"""


@dataclass
class ScratchBook:
    root: Path

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def run(self, *args: str) -> subprocess.CompletedProcess:
        env = dict(
            os.environ,
            JAXBOOK_ROOT=str(self.root),
            PYTHONPATH=os.pathsep.join([str(self.root / "src"), str(ROOT / "src")]),
        )
        return subprocess.run(
            [sys.executable, *args], cwd=self.root, env=env, capture_output=True, text=True
        )

    def build(self) -> subprocess.CompletedProcess:
        return self.run("-m", "booktools.build")

    def check(self) -> subprocess.CompletedProcess:
        return self.run("-m", "booktools.outputs", "check")

    def record(self) -> subprocess.CompletedProcess:
        return self.run("-m", "booktools.outputs", "record")


def make_scratch(root: Path) -> ScratchBook:
    book = ScratchBook(root)
    shutil.copy(ROOT / "_config.yml", root / "_config.yml")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    shutil.copy(ROOT / "requirements.txt", root / "requirements.txt")
    shutil.copy(ROOT / "requirements-reader.in", root / "requirements-reader.in")
    if (ROOT / "book" / "_static").is_dir():
        shutil.copytree(ROOT / "book" / "_static", root / "book" / "_static")
    book.write("_toc.yml", TOC)
    shutil.copy(ROOT / "book" / "references.bib", root / "book" / "references.bib")  # _config.yml's
    book.write("book/index.md", "# Scratch book\n\nA book for fault injection.\n")
    book.write("book/page.md", PAGE)
    # The book's package, plus a module standing in for the chapter code a fault changes.
    shutil.copytree(
        ROOT / "src" / "jaxbook",
        root / "src" / "jaxbook",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    book.write("src/jaxbook/faultdemo.py", "def answer():\n    return 42.0\n")
    return book


@pytest.fixture(scope="session")
def good_book(tmp_path_factory) -> ScratchBook:
    """A scratch book that builds, with its outputs recorded: the baseline every fault breaks."""
    book = make_scratch(tmp_path_factory.mktemp("good"))
    for step in (book.build, book.record, book.check):
        result = step()
        assert result.returncode == 0, result.stdout + result.stderr
    return book


@pytest.fixture
def book(good_book, tmp_path) -> ScratchBook:
    """A fresh copy of the good, built and recorded scratch book."""
    shutil.copytree(good_book.root, tmp_path / "book", symlinks=True)
    return ScratchBook(tmp_path / "book")


@pytest.fixture
def modular_book(tmp_path) -> ScratchBook:
    """A scratch book whose pages import jaxbook modules: `a` imports alpha, `b` imports beta
    (which imports gamma), `c` imports none. Its jaxbook is a copy of the real one plus those."""
    (tmp_path / "modular").mkdir()
    book = make_scratch(tmp_path / "modular")
    book.write("src/jaxbook/alpha.py", "VALUE = 1.0\n")
    book.write("src/jaxbook/gamma.py", "VALUE = 3.0\n")
    book.write(
        "src/jaxbook/beta.py", "from jaxbook.gamma import VALUE as GAMMA\n\nVALUE = 2 * GAMMA\n"
    )
    toc = "format: jb-book\nroot: book/index\nchapters:\n"
    for name, code in [
        ("a", "from jaxbook import alpha\nprint(alpha.VALUE)"),
        ("b", "%xmode Plain\nfrom jaxbook.beta import VALUE\nprint(VALUE)"),
        ("c", "print(sum(range(10)))"),
    ]:
        book.write(
            f"book/{name}.md",
            f"{JUPYTEXT}\n# Page {name}\n\nProse.\n\n```{{code-cell}} ipython3\n{code}\n```\n",
        )
        toc += f"  - file: book/{name}\n"
    (book.root / "book" / "page.md").unlink()
    book.write("_toc.yml", toc)
    return book
