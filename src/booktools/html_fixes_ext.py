"""Sphinx extension: fixes to the HTML that the book's Sphinx stack writes, found by its tests.

- Sphinx 7.4 lists an inline script twice when an extension adds it after the builder started
  (sphinx-thebe, sphinx-togglebutton): once as ``_JavaScript(None)``, once as ``_JavaScript('')``,
  which compare unequal. Run twice, ``const THEBE_JS_URL = ...`` throws "Identifier
  'THEBE_JS_URL' has already been declared" in every reader's console. Each page here keeps
  the first of each identical script.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def script_key(script: Any) -> tuple[Any, ...]:
    """What makes two script entries the same: file (None and '' alike), priority, attributes."""
    attributes = getattr(script, "attributes", {}) or {}
    return (
        getattr(script, "filename", script) or "",
        getattr(script, "priority", 500),
        tuple(sorted((str(k), str(v)) for k, v in attributes.items())),
    )


def unique_scripts(scripts: list[Any]) -> list[Any]:
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for script in scripts:
        key = script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    return unique


def deduplicate_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        scripts[:] = unique_scripts(scripts)  # in place: Sphinx restores the list after the page


def setup(app: Sphinx) -> dict[str, Any]:
    # After every extension that adds per-page scripts (default priority 500).
    app.connect("html-page-context", deduplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
