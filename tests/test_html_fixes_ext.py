"""The HTML fixes: each inline script once per page, whatever Sphinx 7.4 listed twice."""

from __future__ import annotations

from sphinx.builders.html._assets import _JavaScript

from booktools.html_fixes_ext import (
    citations_as_list_items,
    deduplicate_scripts,
    icon_codepoints,
    is_mathjax,
    unique_scripts,
    used_icons,
    without_icon_script,
    without_search_scripts,
)

THEBE = 'const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"'


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


def test_handler_edits_the_page_context_in_place():
    scripts = [_JavaScript(None, body=THEBE), _JavaScript("", body=THEBE)]
    context = {"script_files": scripts}
    deduplicate_scripts(None, "book/jit", "page.html", context, None)
    assert context["script_files"] is scripts and len(scripts) == 1
    deduplicate_scripts(None, "book/jit", "page.html", {}, None)  # no scripts: nothing to do


def test_the_icon_script_is_dropped_and_nothing_else():
    head = (
        '<link href="_static/styles/theme.css" rel="stylesheet" />\n'
        '  <script defer src="../_static/scripts/fontawesome.js?digest=55c2"></script>\n'
        '  <link rel="preload" as="script" href="../_static/scripts/bootstrap.js" />'
    )
    kept = without_icon_script(head)
    assert "fontawesome" not in kept
    assert "theme.css" in kept and "bootstrap.js" in kept


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


def test_search_scripts_stay_only_where_search_runs():
    head = (
        '<meta name="viewport" content="width=device-width"/>\n'
        '    <script src="../_static/searchtools.js"></script>\n'
        '    <script src="../_static/language_data.js"></script>\n'
        '    <script src="../searchindex.js"></script>\n'
    )
    lighter = without_search_scripts(head, "book/jit", "False")
    assert "script" not in lighter and "viewport" in lighter
    assert without_search_scripts(head, "search", "False") == head
    assert without_search_scripts(head, "book/jit", True) == head


def test_bibliography_entries_become_list_items():
    body = '<div role="list" class="citation-list"><div class="citation" role="doc-biblioentry">'
    context = {"body": body}
    citations_as_list_items(None, "book/references", "page.html", context, None)
    assert 'role="doc-biblioentry"' not in context["body"]
    assert '<div class="citation" role="listitem">' in context["body"]
