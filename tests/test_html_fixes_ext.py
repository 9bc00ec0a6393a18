"""The HTML fixes, on a tiny book that the book's theme and extensions build
(tests/roots/test-html-fixes), and their pure parts alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from sphinx.builders.html._assets import _JavaScript
from sphinx_roots import build, copy_root, page, scripts

from booktools.html_fixes_ext import (
    ICON_CSS,
    MATHJAX_COMPONENTS,
    icon_codepoints,
    is_mathjax,
    unique_scripts,
    used_icons,
    without_search_scripts,
    words_for_execution_status,
)

PAGES = ["index", "math", "exercises", "references", "search"]
THEBE = 'const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"'


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = build(copy_root("html-fixes", tmp_path_factory))
    yield app
    app.cleanup()


def test_the_book_builds_without_warnings(app):
    assert app.warning.getvalue() == ""


# --------------------------------------------------------------------------- lighter pages


def test_mathjax_loads_in_parts_only_on_the_page_with_math(app):
    # index has no math of its own, but its toctree has math.html: Sphinx alone loads it there.
    for name in PAGES:
        mathjax = [s for s in scripts(page(app, name)) if "mathjax" in (s[0] + s[1]).lower()]
        if name != "math":
            assert mathjax == [], name
            continue
        (config, startup) = mathjax
        assert config[1].startswith("window.MathJax")
        assert '"load": ' + json.dumps(MATHJAX_COMPONENTS) in config[1]
        assert startup[0] == "_static/mathjax/startup.js"
        assert (Path(app.outdir) / startup[0]).is_file()


def test_each_script_is_on_a_page_once(app):
    for name in PAGES:
        listed = scripts(page(app, name))
        assert len(listed) == len(set(listed)), name
        # sphinx-togglebutton's inline script: Sphinx 7.4 lists it twice.
        assert sum("togglebuttonSelector" in body for _, body in listed) == 1, name


def test_only_the_search_page_loads_the_search_scripts(app):
    search = re.compile(r"searchtools\.js|language_data\.js|searchindex\.js")
    for name in PAGES:
        loaded = [src for src, _ in scripts(page(app, name)) if search.search(src)]
        assert bool(loaded) == (name == "search"), (name, loaded)


def test_icons_come_from_the_cut_down_fonts_not_fontawesome_js(app):
    static = Path(app.outdir) / "_static"
    for name in PAGES:
        document = page(app, name)
        assert not [src for src, _ in scripts(document) if "fontawesome" in src], name
        styles = [link.attrs["href"] for link in document.find_all("link")]
        assert any(href.startswith(f"_static/{ICON_CSS}") for href in styles), name
        assert any("pydata-sphinx-theme.css" in href for href in styles), name  # the rest kept
    faces = re.findall(r"url\((jaxbook-icons/[\w-]+\.woff)\)", (static / ICON_CSS).read_text())
    assert len(faces) == 3 and all((static / face).is_file() for face in faces)
    solid = TTFont(static / "jaxbook-icons" / "fa-solid-900.woff").getBestCmap()
    full = TTFont(static / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.ttf")
    assert 0xF0C9 in solid  # fa-bars, the theme's menu button on every page
    assert 0xF1F8 not in solid  # fa-trash, which no page shows
    assert len(solid) < len(full.getBestCmap()) / 10


# --------------------------------------------------------------------------- exercises, citations


def test_a_solution_title_links_its_exercise_without_an_underlined_space(app):
    (solution,) = page(app, "exercises").find_all(class_="solution")
    (title,) = solution.find_all("p", class_="admonition-title")
    (link,) = title.find_all("a")
    assert link.text() == "Exercise 1" and not "".join(link._strings())[:1].isspace()
    assert title.text() == "Solution to Exercise 1"


def test_bibliography_entries_are_list_items(app):
    document = page(app, "references")
    (citation,) = document.find_all(class_="citation")
    assert citation.attrs["role"] == "listitem"
    assert 'role="doc-biblioentry"' not in (Path(app.outdir) / "references.html").read_text()


# --------------------------------------------------------------------------- pure parts


def test_none_and_empty_filename_of_the_same_inline_script_are_one_script():
    # What Sphinx 7.4 does: the builder's copy has filename None, the registry's ''.
    first = _JavaScript(None, priority=500, body=THEBE)
    second = _JavaScript("", priority=500, body=THEBE)
    assert first != second  # the Sphinx behaviour being worked around
    assert unique_scripts([first, second]) == [first]


def test_different_scripts_and_order_are_kept():
    scripts = [
        _JavaScript("_static/doctools.js", priority=200),
        _JavaScript(None, priority=500, body="var a = 1;"),
        _JavaScript(None, priority=500, body="var b = 2;"),
        _JavaScript("_static/doctools.js", priority=200),
        _JavaScript("_static/doctools.js", priority=800),
    ]
    assert unique_scripts(scripts) == [scripts[0], scripts[1], scripts[2], scripts[4]]


def test_icon_codepoints_come_from_the_theme_css_aliases_included():
    css = '.fa-bars:before,.fa-navicon:before{content:"\\f0c9"}.fa-github:before{content:"\\f09b"}'
    assert icon_codepoints(css) == {"fa-bars": 0xF0C9, "fa-navicon": 0xF0C9, "fa-github": 0xF09B}


def test_used_icons_are_read_from_the_built_pages(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "a.html").write_text(
        '<i class="fa-solid fa-bars"></i><span class="fab fa-github"></span><p class="x">fa-no</p>'
    )
    assert used_icons(tmp_path) == {"fa-solid", "fa-bars", "fa-github"}


def test_mathjax_scripts_are_recognised():
    assert is_mathjax(_JavaScript("mathjax/startup.js", defer="defer"))
    assert is_mathjax(_JavaScript(None, body='window.MathJax = {"loader": {}}'))
    assert not is_mathjax(_JavaScript("_static/doctools.js"))


def test_search_as_you_type_keeps_the_search_scripts_everywhere():
    head = '<script src="../_static/searchtools.js"></script>'
    assert without_search_scripts(head, "book/jit", True) == head
    assert without_search_scripts(head, "book/jit", "False") == ""


def test_the_execution_table_says_succeeded_or_failed_not_emoji():
    from myst_nb.ext import execution_tables

    words_for_execution_status()
    succeeded = execution_tables._key2transform["succeeded"]
    assert (succeeded(True), succeeded(False)) == ("succeeded", "failed")
