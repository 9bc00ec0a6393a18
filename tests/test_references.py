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


# --------------------------------------------------------------------------- a reader can follow


# What the sources of the lectures (the seed files the book mirrors; book/index.md lists them)
# say about themselves: who made them and when. An entry must give exactly this, so that
# nothing is left out that a source names and nothing is added that it does not.
LECTURE_SOURCES = {
    # "Gridspace / GRIDSPACE IAP LECTURE 3 / ML/JAX / January 12, 2023"
    "lecture-ml-jax": {"author": "Gridspace", "year": "2023"},
    # Auto-generated captions of a talk: no speaker, date or place is said.
    "talk-jax-pytorch-tensorflow": {"author": None, "year": None},
    # "JAX. AN INTRODUCTION TO DEEP LEARNING PROGRAMMING PRINCIPLES / SAMUELE PAPA"; no date.
    "lecture-jax-principles": {"author": "Papa, Samuele", "year": None},
    # "Machine learning workshop: introduction / Alex Richardson / February 23, 2024"
    "workshop-ml-introduction": {"author": "Richardson, Alex", "year": "2024"},
    # Course notes; their setup names the course's environment econ622; no author or date.
    "notes-key-terminology": {"author": None, "year": None},
}

# A note says what its source does not name, in these words, so that a reader knows the gap
# is the source's and not the bibliography's.
NO_AUTHOR = re.compile(r"names? no (speaker|author|person)")
NO_DATE = re.compile(r"\bno date\b")
NO_PLACE = re.compile(r"\bno place where\b")
WHERE_FIELDS = ("url", "doi", "eprint", "journal", "booktitle")


def bibliography():
    from pybtex.database import parse_string

    return parse_string(BIB.read_text("utf-8"), "bibtex").entries


def authors(entry) -> str | None:
    people = entry.persons.get("author", [])  # an organisation is one {braced} name
    named = " and ".join(str(p) for p in people).replace("{", "").replace("}", "")
    return named or entry.fields.get("organization")


def problems_findable(key: str, entry) -> list[str]:
    """What a reader lacks to find ``entry``, unless its note says the source names none."""
    note = entry.fields.get("note", "")
    problems = []
    if not authors(entry) and not NO_AUTHOR.search(note):
        problems.append(f"{key}: no author or organisation, and no note that the source names none")
    if not entry.fields.get("year") and not NO_DATE.search(note):
        problems.append(f"{key}: no year, and no note that the source gives no date")
    if not any(entry.fields.get(f) for f in WHERE_FIELDS) and not NO_PLACE.search(note):
        problems.append(
            f"{key}: nothing says where to find it ({', '.join(WHERE_FIELDS)}), and no note "
            "that the source names no place"
        )
    return problems


def test_every_entry_says_who_made_it_when_and_where_to_find_it():
    problems = [p for key, entry in bibliography().items() for p in problems_findable(key, entry)]
    assert not problems, "\n".join(problems)


def test_the_lectures_give_what_their_sources_name_and_nothing_more():
    entries = bibliography()
    lectures = {key for key in entries if not re.search(r"\d{4}", key)}
    assert lectures == set(LECTURE_SOURCES), "a lecture was added or removed: update the table"
    problems = []
    for key, source in LECTURE_SOURCES.items():
        entry = entries[key]
        found = {"author": authors(entry), "year": entry.fields.get("year")}
        for field, expected in source.items():
            if found[field] != expected:
                problems.append(f"{key}: {field} is {found[field]!r}, the source says {expected!r}")
    assert not problems, "\n".join(problems)


def test_the_findability_check_bites():
    from pybtex.database import parse_string

    bare = parse_string("@misc{x, title={T}, howpublished={Lecture slides}}", "bibtex")
    assert len(problems_findable("x", bare.entries["x"])) == 3
    said = parse_string(
        "@misc{x, title={T}, note={The recording names no speaker, no date and no place where"
        " it is published}}",
        "bibtex",
    )
    assert problems_findable("x", said.entries["x"]) == []
    paper = parse_string("@article{x, author={A, B}, year={1999}, journal={J}}", "bibtex")
    assert problems_findable("x", paper.entries["x"]) == []
