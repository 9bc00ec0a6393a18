"""The glossary (book/glossary.md): every term is linked from a chapter, every link has a term.

The strict build already fails on a ``{term}`` that names no glossary entry; this test says
which page and which term before any build, and also catches a term nobody links to.
"""

from __future__ import annotations

import re

from booktools.book import Paths

ROOT = Paths.from_environment().root

GLOSSARY = ROOT / "book" / "glossary.md"
TERM_ROLE = re.compile(r"\{term\}`(?:[^`<]*<(?P<target>[^>`]+)>|(?P<text>[^`]+))`")


def glossary_terms(text: str) -> list[str]:
    body = text.split("```{glossary}", 1)[1].split("\n```", 1)[0]
    return [line.strip() for line in body.splitlines() if line.strip() and not line[0].isspace()]


def term_links(text: str) -> list[str]:
    return [m["target"] or m["text"] for m in TERM_ROLE.finditer(text)]


def chapter_links() -> dict[str, list[str]]:
    pages = sorted((ROOT / "book").glob("*.md"))
    return {p.stem: term_links(p.read_text("utf-8")) for p in pages if p != GLOSSARY}


def test_the_glossary_defines_the_book_s_core_terms():
    terms = glossary_terms(GLOSSARY.read_text("utf-8"))
    core = {"trace", "tracer", "jaxpr", "static argument", "pytree", "key", "subkey", "fusion"}
    assert core | {"XLA", "HLO", "vectorise", "shard"} <= set(terms)
    assert len(terms) == len(set(terms)), "a term is defined twice"


def test_every_term_is_linked_from_a_chapter():
    terms = glossary_terms(GLOSSARY.read_text("utf-8"))
    linked = {term for links in chapter_links().values() for term in links}
    assert not set(terms) - linked, f"terms no chapter links to: {sorted(set(terms) - linked)}"


def test_every_link_names_a_glossary_term():
    terms = set(glossary_terms(GLOSSARY.read_text("utf-8")))
    unknown = [
        f"{page}: {link}"
        for page, links in chapter_links().items()
        for link in links
        if link not in terms
    ]
    assert not unknown, f"links to no glossary term: {unknown}"


def test_term_links_are_parsed_with_and_without_display_text():
    text = "A {term}`tracer`, two {term}`pytrees <pytree>` and `code`."
    assert term_links(text) == ["tracer", "pytree"]
    assert glossary_terms("```{glossary}\nkey\n  A key.\n\nsubkey\n  Another.\n```") == [
        "key",
        "subkey",
    ]
