"""Tiny Sphinx projects that the extensions' tests build with a real Sphinx (``sphinx.testing``).

Each ``tests/roots/test-<name>/`` is a ``conf.py`` and a few pages. A test module copies one
into a temporary folder, builds it once (a module-scoped fixture: a build takes a second or
two) and asserts on the HTML that Sphinx wrote, as Sphinx, pydata-sphinx-theme and myst-nb
test their extensions.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path
from typing import Any

from sphinx.testing.util import SphinxTestApp

ROOTS = Path(__file__).parent / "roots"


def copy_root(name: str, tmp_path_factory: Any) -> Path:
    """A fresh copy of ``tests/roots/test-<name>`` (a build writes into its source folder)."""
    srcdir = tmp_path_factory.mktemp(name) / name
    shutil.copytree(ROOTS / f"test-{name}", srcdir)
    return srcdir


def build(srcdir: Path, **confoverrides: Any) -> SphinxTestApp:
    """Build ``srcdir`` into ``srcdir/_build/html``; call ``cleanup()`` on the app when done."""
    app = SphinxTestApp(
        "html", srcdir=srcdir, confoverrides=confoverrides, status=StringIO(), warning=StringIO()
    )
    app.build()
    return app


# --------------------------------------------------------------------------- reading the HTML
# The standard library's parser, not BeautifulSoup: that is in the environment only as a
# dependency of the theme, and these tests need little more than elements by class.


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def text(self) -> str:
        """Its text, runs of whitespace as one space (as a browser shows it)."""
        return " ".join("".join(self._strings()).split())

    def _strings(self) -> list[str]:
        strings: list[str] = []
        for child in self.children:
            strings += [child] if isinstance(child, str) else child._strings()
        return strings

    def find_all(self, tag: str | None = None, class_: str | None = None) -> list[Element]:
        """Every element below this one with that tag and class, in document order."""
        found = []
        for child in self.children:
            if not isinstance(child, Element):
                continue
            if tag in (None, child.tag) and (class_ is None or class_ in child.classes):
                found.append(child)
            found += child.find_all(tag, class_)
        return found


class _TreeBuilder(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def page(app: SphinxTestApp, docname: str) -> Element:
    """The HTML that the build wrote for ``docname``, as a tree."""
    builder = _TreeBuilder()
    builder.feed((Path(app.outdir) / f"{docname}.html").read_text(encoding="utf-8"))
    builder.close()
    return builder.root


def scripts(document: Element) -> list[tuple[str, str]]:
    """Each ``<script>`` of a page as ``(src, inline body)``, in order."""
    return [(s.attrs.get("src", ""), s.text()) for s in document.find_all("script")]
