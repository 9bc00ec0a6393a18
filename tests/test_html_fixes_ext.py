"""The HTML fixes: each inline script once per page, whatever Sphinx 7.4 listed twice."""

from __future__ import annotations

from sphinx.builders.html._assets import _JavaScript

from booktools.html_fixes_ext import deduplicate_scripts, unique_scripts

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
