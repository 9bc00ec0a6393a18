"""What the reader notebooks link to and number by, read from the book's sources as the site
makes them: its URL, chapter numbers, glossary terms, citations, page titles and labels.

* :func:`site_url` — the published site: ``html.baseurl`` of ``_config.yml`` where it is set,
  else the GitHub Pages address of the repository (``https://<org>.github.io/<repo>/``).
* :func:`chapter_numbers` — the number the numbered parts of ``_toc.yml`` give each chapter,
  continuous across parts as Jupyter Book's ``use_multitoc_numbering`` makes them.
* :class:`BookLinks` — the index: each glossary term with its anchor (Sphinx's ``term-...``),
  each citation with its author/year text from ``book/references.bib`` and its anchor
  (``cite-<key>``: ``bibtex_cite_id`` in ``_config.yml``), each page's title, and each label
  (a ``(label)=`` target, an exercise, a captioned figure) with its text and anchor. Exercises
  and figures are numbered within their chapter, as the site numbers them ("Exercise 3.1").
* :func:`blocks` — the MyST block structure of a markdown text (fenced directives and code
  blocks, the prose between them), shared with :mod:`booktools.reader_markdown`.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from booktools.book import Book

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
DIRECTIVE = re.compile(r"^\{(?P<name>[\w:.+-]+)\}\s*(?P<argument>.*)$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
TARGET = re.compile(r"^\((?P<label>[^()\s]+)\)=\s*$")
HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<title>.+?)\s*#*\s*$")


@dataclasses.dataclass
class Block:
    """A fenced block (``name`` is its directive, or None for a code block) or prose."""

    kind: str  # "prose", "directive" or "code"
    lines: list[str]  # prose: its lines; directive: its content; code: the block as written
    name: str = ""
    argument: str = ""
    options: dict[str, str] = dataclasses.field(default_factory=dict)
    raw: list[str] = dataclasses.field(default_factory=list)  # the block as written


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return (
        len(line) - len(line.lstrip(" ")) <= 3
        and len(stripped) >= len(fence)
        and set(stripped) == {fence[0]}
    )


def _options(content: list[str]) -> tuple[dict[str, str], list[str]]:
    """A directive's options (``:key: value`` lines, or a ``---`` YAML block) and the rest."""
    options: dict[str, str] = {}
    if content and content[0].strip() == "---" and "---" in (c.strip() for c in content[1:]):
        import yaml

        end = next(i for i in range(1, len(content)) if content[i].strip() == "---")
        data = yaml.safe_load("\n".join(content[1:end])) or {}
        options = {str(k): "" if v is None else str(v) for k, v in data.items()}
        content = content[end + 1 :]
    else:
        while content and (match := OPTION.match(content[0])):
            options[match["key"]] = match["value"].strip()
            content = content[1:]
    while content and not content[0].strip():
        content = content[1:]
    while content and not content[-1].strip():
        content = content[:-1]
    return options, content


def blocks(text: str) -> Iterator[Block]:
    """The blocks of MyST markdown ``text`` at its top level: prose, ```` ```{name} ```` and
    ``:::{name}`` directives (a fence closes at the first line of at least as many of its
    characters, as CommonMark says) and code blocks, kept as written."""
    lines = text.split("\n")
    prose: list[str] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        directive = DIRECTIVE.match(match["info"].strip()) if match else None
        if not match or (match["fence"][0] == ":" and not directive):
            prose.append(lines[i])
            i += 1
            continue
        if prose:
            yield Block("prose", prose, raw=prose)
            prose = []
        end = i + 1
        while end < len(lines) and not _closes(lines[end], match["fence"]):
            end += 1
        if directive:
            options, content = _options(lines[i + 1 : end])
            name, argument = directive["name"], directive["argument"].strip()
            yield Block("directive", content, name, argument, options, lines[i : end + 1])
        else:
            yield Block("code", lines[i : end + 1], raw=lines[i : end + 1])
        i = end + 1
    if prose:
        yield Block("prose", prose, raw=prose)


def walk(text: str) -> Iterator[Block]:
    """Every block of ``text``, the directives' contents included, in document order."""
    for block in blocks(text):
        yield block
        if block.kind == "directive":
            yield from walk("\n".join(block.lines))


def sphinx_id(text: str) -> str:
    """An identifier as Sphinx makes one (``sphinx.util.nodes._make_id``): letters keep their
    case, accents are dropped, every other run of characters becomes one hyphen."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-zA-Z0-9._]+", "-", " ".join(text.split()))
    return re.sub(r"^[-0-9._]+|-+$", "", text)


def docutils_id(text: str) -> str:
    """An identifier as docutils makes one (``docutils.nodes.make_id``): lower case."""
    text = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-z0-9]+", "-", " ".join(text.split()))
    return re.sub(r"^[-0-9]+|-+$", "", text)


def site_url(config: dict) -> str:
    """The published site's address, ending in ``/``."""
    html = config.get("html") or {}
    sphinx = (config.get("sphinx") or {}).get("config") or {}
    base = html.get("baseurl") or sphinx.get("html_baseurl")
    if base:
        return base.rstrip("/") + "/"
    repository = (config.get("repository") or {}).get("url", "")
    match = re.match(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$", repository)
    if not match:
        raise ValueError(
            "_config.yml: set html.baseurl (the published site), or repository.url to a GitHub "
            f"repository whose Pages publish it (it is {repository!r})"
        )
    org, repo = match.group(1).lower(), match.group(2)
    return f"https://{org}.github.io/" + ("" if repo.lower() == f"{org}.github.io" else f"{repo}/")


def chapter_numbers(book: Book) -> dict[str, str]:
    """``{docname: "3"}`` for every page of a numbered part (a page below a chapter shares the
    chapter's number: exercises and figures are numbered by the chapter, depth 1)."""
    continuous = (book.config.get("html") or {}).get("use_multitoc_numbering", True)
    site_map = book.site_map
    numbers: dict[str, str] = {}
    count = 0

    def below(docname: str) -> Iterator[str]:
        for tree in site_map[docname].subtrees:
            for item in tree.items:
                if isinstance(item, str):
                    yield item
                    yield from below(item)

    for tree in site_map.root.subtrees:
        if not tree.numbered:
            continue
        if tree.restart_numbering or not continuous:
            count = 0
        for item in tree.items:
            if isinstance(item, str):
                count += 1
                for docname in (item, *below(item)):
                    numbers[docname] = str(count)
    return numbers


@dataclasses.dataclass(frozen=True)
class Target:
    docname: str
    anchor: str  # a section's or figure's label as docutils makes ids; an exercise's as written
    text: str  # what a reference shows: a section's title, "Exercise 3.1", "Fig. 3.2"


@dataclasses.dataclass(frozen=True)
class Citation:
    key: str
    names: str  # "Bradbury et al.", or the title where the entry names no author
    year: str


def _plain(text: str) -> str:
    """A BibTeX field as text: no braces, LaTeX's ``\\&`` and ``~`` as they print."""
    text = text.replace("\\&", "&").replace("~", " ")
    return re.sub(r"\s+", " ", text.replace("{", "").replace("}", "")).strip()


def citations(bibfile: Path) -> dict[str, Citation]:
    from pybtex.database import parse_file

    found = {}
    for key, entry in parse_file(str(bibfile), bib_format="bibtex").entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        lasts = [_plain(" ".join(person.last_names)) for person in people]
        if len(lasts) > 2:
            names = f"{lasts[0]} et al."
        elif lasts:
            names = " and ".join(lasts)
        else:
            fields = entry.fields
            names = next(
                (_plain(fields[f]) for f in ("organization", "institution") if f in fields),
                _plain(fields.get("title", key)),
            )
        found[key] = Citation(key, names, _plain(entry.fields.get("year", "")))
    return found


@dataclasses.dataclass
class BookLinks:
    """The book-wide index of what a reader notebook links to; :meth:`of` reads it."""

    url: str
    chapters: dict[str, str]
    titles: dict[str, str]
    terms: dict[str, tuple[str, str]]  # lower-cased term: (glossary page, the term as written)
    labels: dict[str, Target]
    citations: dict[str, Citation]
    references: str  # the page with the bibliography
    exercises: dict[str, list[str]]  # page: its exercises' labels in order ("" if none)

    def page_url(self, docname: str, anchor: str = "") -> str:
        return f"{self.url}{docname}.html" + (f"#{anchor}" if anchor else "")

    def term(self, target: str) -> tuple[str, str] | None:
        """``(url, term)`` of a glossary term, matched as Sphinx matches it (any case)."""
        found = self.terms.get(" ".join(target.split()).lower())
        if not found:
            return None
        docname, term = found
        return self.page_url(docname, sphinx_id(f"term-{term}")), term

    def citation_url(self, key: str) -> str:
        return self.page_url(self.references, docutils_id(f"cite-{key}"))

    @classmethod
    def of(cls, book: Book) -> BookLinks:
        chapters = chapter_numbers(book)
        links = cls(site_url(book.config), chapters, {}, {}, {}, {}, "", {})
        bibfiles = book.config.get("bibtex_bibfiles") or []
        for bibfile in bibfiles:
            links.citations.update(citations(book.paths.root / bibfile))
        for page in book.pages:
            links._read(page.docname, page.notebook().cells, chapters.get(page.docname))
        return links

    def _read(self, docname: str, cells: list, chapter: str | None) -> None:
        """Index one page: its title, targets, exercises, figures, glossary and bibliography."""
        number = f"{chapter}." if chapter else ""
        figures, exercises, pending = 0, [], None
        for cell in cells:
            figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
            if cell.cell_type == "code" and figure.get("caption"):
                figures += 1
                if name := figure.get("name"):
                    anchor = docutils_id(name)
                    self.labels[name] = Target(docname, anchor, f"Fig. {number}{figures}")
                continue
            if cell.cell_type != "markdown":
                continue
            for block in walk(cell.source):
                if block.kind == "prose":
                    for line in block.lines:
                        if target := TARGET.match(line.strip()):
                            pending = target["label"]
                        elif heading := HEADING.match(line):
                            self.titles.setdefault(docname, heading["title"])
                            if pending:
                                anchor = docutils_id(pending)
                                self.labels[pending] = Target(docname, anchor, heading["title"])
                                pending = None
                elif block.name == "exercise" and "nonumber" not in block.options:
                    exercises.append(label := block.options.get("label", ""))
                    if label:
                        text = f"Exercise {number}{len(exercises)}"
                        self.labels[label] = Target(docname, label, text)
                elif block.name in ("figure", "glue:figure") and block.lines:  # captioned
                    figures += 1
                    if name := block.options.get("name"):
                        anchor = docutils_id(name)
                        self.labels[name] = Target(docname, anchor, f"Fig. {number}{figures}")
                elif block.name == "glossary":
                    for line in block.lines:
                        if line.strip() and not line[:1].isspace() and not OPTION.match(line):
                            self.terms[" ".join(line.split()).lower()] = (docname, line.strip())
                elif block.name == "bibliography":
                    self.references = docname
        self.exercises[docname] = exercises
