"""The bibliography (book/references.bib): every entry is cited by a page, every citation exists.

The strict build fails on a citation of an unknown key; this test names the page first, and
also catches an entry no page cites (a reference list that says more than the pages use).
"""

from __future__ import annotations

import re

from booktools.book import Paths

ROOT = Paths.from_environment().root

BIB = ROOT / "book" / "references.bib"
ENTRY = re.compile(r"^@\w+\{([^,\s]+),", re.MULTILINE)
CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")


def bib_keys(text: str) -> list[str]:
    return ENTRY.findall(text)


def citations(text: str) -> list[str]:
    return [key.strip() for match in CITE.findall(text) for key in match.split(",")]


def cited_by_page() -> dict[str, list[str]]:
    return {p.stem: citations(p.read_text("utf-8")) for p in sorted((ROOT / "book").glob("*.md"))}


def test_every_entry_is_cited_and_every_citation_is_an_entry():
    keys = bib_keys(BIB.read_text("utf-8"))
    assert len(keys) == len(set(keys)), "a key is defined twice"
    cited = cited_by_page()
    unknown = [
        f"{page}: {key}" for page, keys_ in cited.items() for key in keys_ if key not in keys
    ]
    assert not unknown, f"citations of no entry: {unknown}"
    uncited = set(keys) - {key for keys_ in cited.values() for key in keys_}
    assert not uncited, f"entries no page cites: {sorted(uncited)}"


def test_every_chapter_cites_the_lectures_it_follows():
    lectures = {key for key in bib_keys(BIB.read_text("utf-8")) if not re.search(r"\d{4}", key)}
    for page, keys in cited_by_page().items():
        if page in {"index", "status", "glossary", "references"}:
            continue
        assert lectures & set(keys), f"{page} cites none of the lectures {sorted(lectures)}"


def test_citations_are_parsed_with_several_keys_and_roles():
    text = "{cite:p}`a,b` and {cite:t}`c` and {cite}`d`"
    assert citations(text) == ["a", "b", "c", "d"]
    assert bib_keys("@misc{x-1,\n  title={T}}\n@article{y2020,\n}") == ["x-1", "y2020"]
