"""Sphinx extension: fixes to the HTML that the book's Sphinx stack writes, found by its tests.

Lighter pages (tests/browser: test_pages.py, test_icon_font.py):

- MathJax loads only on a page that has math of its own. Sphinx asks whether the page *or any
  page in its toctree* has equations, so the front page loaded 1.2 MB of MathJax for none.
  MathJax is loaded in parts (its TeX input, HTML output and assistive MathML), without the
  400 kB context menu that its combined ``tex-chtml.js`` carries.
- Only the search page loads Sphinx's search scripts and the search index (about 110 kB,
  growing with the book): pydata-sphinx-theme loads them on every page for its
  search-as-you-type, which is off here, so its other pages never use them.
- The theme's icons come from its own icon-font CSS, with the fonts cut down to the glyphs
  the site shows (fontTools, which matplotlib already needs), instead of ``fontawesome.js``,
  a 1.5 MB script that every page loaded to draw about twenty icons.

Exercises (tests/browser/test_numbering.py):

- sphinx-exercise writes a solution's title as "Solution to" followed by a link whose text
  starts with a space, so the space is underlined; the space moves out of the link.

Emoji (tests/browser/test_emoji.py):

- myst-nb's execution table (book/status) says ✅ or ❌, empty boxes without an emoji font;
  it says "succeeded" or "failed".

Scripts:

- Sphinx 7.4 lists an inline script twice when an extension adds it after the builder started
  (sphinx-thebe, sphinx-togglebutton): once as ``_JavaScript(None)``, once as ``_JavaScript('')``,
  which compare unequal. Run twice, ``const THEBE_JS_URL = ...`` throws "Identifier
  'THEBE_JS_URL' has already been declared" in every reader's console. Each page here keeps
  the first of each identical script.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"


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


# --------------------------------------------------------------------------- MathJax

# MathJax's components, loaded by its startup script: TeX input (with autoload, for the rare
# extension a page needs), CommonHTML output and the hidden MathML that screen readers read.
MATHJAX_STARTUP = "mathjax/startup.js"
MATHJAX_COMPONENTS = ["input/tex", "output/chtml", "a11y/assistive-mml"]


def configure_mathjax(app: Sphinx) -> None:
    """Load MathJax in parts (after myst-parser has set its classes, at builder-inited)."""
    if app.config.mathjax_path != "mathjax/tex-chtml.js":
        return  # not sphinx-mathjax-offline's copy: leave another setup alone
    app.config.mathjax_path = MATHJAX_STARTUP
    mathjax = app.config.mathjax3_config = app.config.mathjax3_config or {}
    mathjax.setdefault("loader", {})["load"] = MATHJAX_COMPONENTS


def is_mathjax(script: Any) -> bool:
    filename = str(getattr(script, "filename", script) or "")
    body = str((getattr(script, "attributes", {}) or {}).get("body", ""))
    return "mathjax/" in filename or body.startswith("window.MathJax")


def drop_mathjax_without_math(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Keep MathJax's scripts only on a page with math of its own."""
    own_math = app.env.get_domain("math").data["has_equations"].get(pagename, False)
    scripts = context.get("script_files")
    if not own_math and isinstance(scripts, list):
        scripts[:] = [script for script in scripts if not is_mathjax(script)]


# --------------------------------------------------------------------------- icons

ICON_SCRIPT = re.compile(r"\s*<script[^>]*scripts/fontawesome\.js[^>]*>\s*</script>")
ICON_CLASS = re.compile(r'class="([^"]*\bfa-[^"]*)"')
ICON_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:before,?)+)\{content:"\\([0-9a-f]+)"\}')
# The theme's three faces: (family, weight, font file without suffix).
ICON_FACES = [
    ("Font Awesome 6 Free", 900, "fa-solid-900"),
    ("Font Awesome 6 Free", 400, "fa-regular-400"),
    ("Font Awesome 6 Brands", 400, "fa-brands-400"),
]
ICON_CSS = "jaxbook-icons.css"


def without_icon_script(html: str) -> str:
    """The theme's <head> without fontawesome.js (a Jinja filter; see templates/layout.html)."""
    return ICON_SCRIPT.sub("", str(html))


SEARCH_SCRIPTS = re.compile(
    r"\s*<script[^>]*(?:searchtools\.js|language_data\.js|searchindex\.js)[^>]*>\s*</script>"
)


def without_search_scripts(html: str, pagename: str, search_as_you_type: Any) -> str:
    """The theme's extra <head> without the search scripts, except where search runs."""
    if pagename == "search" or str(search_as_you_type).lower() == "true":
        return str(html)
    return SEARCH_SCRIPTS.sub("", str(html))


def citations_as_list_items(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Entries of a bibliography are ``listitem``s of its ``role="list"``.

    Docutils marks them ``doc-biblioentry``, a role DPUB-ARIA 1.1 deprecated; axe-core then
    sees the links inside the entries as children the list may not have (a critical
    "aria-required-children" on book/references).
    """
    if "body" in context:
        context["body"] = context["body"].replace('role="doc-biblioentry"', 'role="listitem"')


def add_template_filter(app: Sphinx) -> None:
    templates = getattr(app.builder, "templates", None)
    if templates is not None and hasattr(templates, "environment"):
        templates.environment.filters["jaxbook_without_icon_script"] = without_icon_script
        templates.environment.filters["jaxbook_without_search_scripts"] = without_search_scripts


def add_templates(app: Sphinx, config: Config) -> None:
    config.templates_path = [*config.templates_path, str(TEMPLATES)]


def icon_codepoints(theme_css: str) -> dict[str, int]:
    """``{"fa-bars": 0xF0C9, ...}`` from the theme's icon-font CSS."""
    codepoints = {}
    for selectors, code in ICON_RULE.findall(theme_css):
        for selector in selectors.split(","):
            if selector:
                codepoints[selector.removeprefix(".").removesuffix(":before")] = int(code, 16)
    return codepoints


def used_icons(outdir: Path) -> set[str]:
    """Every ``fa-*`` class that a page of the built site uses."""
    names: set[str] = set()
    for page in outdir.rglob("*.html"):
        for classes in ICON_CLASS.findall(page.read_text(encoding="utf-8", errors="replace")):
            names.update(c for c in classes.split() if c.startswith("fa-"))
    return names


def subset_icon_fonts(app: Sphinx, exception: Exception | None) -> None:
    """Write the icon fonts cut down to the glyphs the site uses, and the CSS that points the
    theme's font faces at them (declared after the theme's, so they win)."""
    if exception is not None or app.builder.format != "html":
        return
    from fontTools import subset
    from fontTools.ttLib import TTFont

    static = Path(app.outdir) / "_static"
    theme_css = static / "styles" / "pydata-sphinx-theme.css"
    fonts = static / "vendor" / "fontawesome" / "webfonts"
    if not theme_css.is_file() or not fonts.is_dir():
        logger.warning("html_fixes_ext: the theme's icon fonts are not where expected")
        return
    codepoints = icon_codepoints(theme_css.read_text(encoding="utf-8"))
    wanted = {codepoints[name] for name in used_icons(Path(app.outdir)) if name in codepoints}
    out = static / "jaxbook-icons"
    out.mkdir(exist_ok=True)
    faces = []
    for family, weight, stem in ICON_FACES:
        font = TTFont(fonts / f"{stem}.ttf")
        options = subset.Options()
        options.flavor = "woff"  # zlib: no Brotli needed, unlike woff2
        options.layout_features = []
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=wanted & set(font.getBestCmap()))
        subsetter.subset(font)
        font.flavor = "woff"
        font.save(out / f"{stem}.woff")
        faces.append(
            f'@font-face{{font-display:block;font-family:"{family}";font-style:normal;'
            f'font-weight:{weight};src:url(jaxbook-icons/{stem}.woff) format("woff")}}'
        )
    header = "/* Written by booktools.html_fixes_ext: the theme's icon fonts, cut down. */\n"
    (static / ICON_CSS).write_text(header + "\n".join(faces) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- exercises


class UnderlineNoSpaceInSolutionTitles(SphinxPostTransform):
    """Move the leading space of a solution title's link text before the link."""

    default_priority = 30  # after sphinx-exercise resolves the titles (21, 22)

    def run(self, **kwargs: Any) -> None:
        from sphinx_exercise.nodes import solution_node

        for solution in self.document.findall(solution_node):
            title = solution.children[0] if solution.children else None
            if not isinstance(title, nodes.title):
                continue
            for reference in list(title.findall(nodes.reference)):
                first = reference.children[0] if reference.children else None
                if isinstance(first, nodes.Text) and first.astext()[:1].isspace():
                    reference.replace(first, nodes.Text(first.astext().lstrip()))
                    index = reference.parent.index(reference)
                    before = reference.parent[index - 1] if index else None
                    if isinstance(before, nodes.Text):
                        reference.parent.replace(before, nodes.Text(before.astext() + " "))
                    else:
                        reference.parent.insert(index, nodes.Text(" "))


def words_for_execution_status() -> None:
    """myst-nb's execution table: "succeeded"/"failed" instead of ✅/❌."""
    from myst_nb.ext import execution_tables

    execution_tables._key2transform["succeeded"] = lambda ok: "succeeded" if ok else "failed"


def setup(app: Sphinx) -> dict[str, Any]:
    # After every extension that adds per-page scripts (default priority 500).
    app.connect("html-page-context", deduplicate_scripts, priority=900)
    app.connect("html-page-context", drop_mathjax_without_math, priority=890)
    app.connect("html-page-context", citations_as_list_items)
    app.connect("builder-inited", configure_mathjax, priority=900)
    app.connect("builder-inited", add_template_filter)
    app.connect("config-inited", add_templates)
    app.connect("build-finished", subset_icon_fonts)
    app.add_css_file(ICON_CSS)
    app.add_post_transform(UnderlineNoSpaceInSolutionTitles)
    words_for_execution_status()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
