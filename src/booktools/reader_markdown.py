"""MyST markdown as plain Jupyter Markdown, for the notebooks readers open: no role and no
directive is left, each becomes what the site shows.

* glued values (``{glue:text}`name:.2f```, ``{glue}``, the ``glue`` directives) become the text
  the build computed, formatted by myst-nb's own ``format_plain_text``; images become cell
  attachments;
* ``{term}``, ``{doc}``, ``{ref}``, ``{numref}`` and ``{cite:p}``/``{cite:t}`` become links to the
  published site (:class:`booktools.reader_links.BookLinks`), a citation with its author/year;
* an ``{exercise}`` becomes a heading "Exercise N.M: title" one level below the section it is
  in; a one-block ``{solution}`` becomes a collapsed ``<details>`` (solutions that span cells,
  ``{solution-start}`` ... ``{solution-end}``, are cut out by :func:`split_solutions` and laid
  out by :mod:`booktools.reader_notebooks`);
* admonitions become block quotes with a bold title (a ``dropdown`` class: a ``<details>``),
  ``{dropdown}`` a ``<details>``, ``{literalinclude}`` the code it selects (Sphinx's own reader),
  tabs and tables their titles in bold over their contents; targets and comments are dropped.
"""

from __future__ import annotations

import base64
import posixpath
import re
from pathlib import Path
from types import SimpleNamespace

from booktools.reader_links import TARGET, Block, BookLinks, blocks

ROLE = re.compile(
    r"\{(?P<name>[A-Za-z][\w:.+-]*)\}`(?P<content>[^`]+)`"
    r"|(?P<code>(?P<ticks>`+)(?:(?!\n[ \t]*\n).)+?(?P=ticks))",  # a code span: left alone
    re.DOTALL,
)
EXPLICIT = re.compile(r"^(?P<text>.+?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
HEADING = re.compile(r"^(#{1,6})\s")
MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)\s]*\)")
ADMONITIONS = {
    "note": "Note",
    "warning": "Warning",
    "tip": "Tip",
    "hint": "Hint",
    "important": "Important",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "seealso": "See also",
}
TITLED = {"admonition", "topic", "sidebar", "margin"}  # their argument is their title
# myst-nb's order of preference when a glued value has several representations (HTML output)
MIME_PRIORITY = (
    "text/html",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "text/markdown",
    "text/latex",
    "text/plain",
)
IMAGE_SUFFIX = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpg"}
SELECTION_OPTIONS = {"pyobject", "start-at", "start-after", "end-at", "end-before", "lines"}


class ReaderError(Exception):
    """The page says something a reader notebook cannot show (an unknown term, label or
    glued value); the message names it. The site's strict build would fail on it too."""


def included_source(path: str, options: dict[str, str], root: Path) -> str:
    """What ``literalinclude`` shows for ``path`` (from the book's root when it starts with
    ``/``) and ``options``: Sphinx's own reader, so a notebook shows what the page shows."""
    from sphinx.directives.code import LiteralIncludeReader

    filename = root / path.lstrip("/")
    if not filename.is_file():
        raise FileNotFoundError(f"literalinclude of a missing file: {path}")
    selection = {key: value for key, value in options.items() if key in SELECTION_OPTIONS}
    text, _ = LiteralIncludeReader(
        str(filename), selection, SimpleNamespace(source_encoding="utf-8")
    ).read()
    return text


def listing(path: str, options: dict[str, str], root: Path) -> str:
    """A ``literalinclude`` as Markdown: its caption in italics over a code block."""
    code = included_source(path, options, root).rstrip("\n")
    caption = f"*{options['caption']}*\n\n" if options.get("caption") else ""
    return f"{caption}```{options.get('language', 'python')}\n{code}\n```"


def details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"


def quote(title: str, body: str) -> str:
    lines = [f"**{title}**", "", *body.strip().split("\n")] if title else body.split("\n")
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def split_solutions(text: str) -> list[tuple[str, str]]:
    """``text`` cut at its ``{solution-start}`` and ``{solution-end}`` fences: ``("text", ...)``,
    ``("start", label)`` and ``("end", "")`` in order (a fence inside a code block is text)."""
    parts: list[tuple[str, str]] = []
    current: list[str] = []
    for block in blocks(text):
        if block.kind == "directive" and block.name in ("solution-start", "solution-end"):
            parts.append(("text", "\n".join(current)))
            current = []
            start = block.name == "solution-start"
            parts.append(("start", block.argument) if start else ("end", ""))
        else:
            current.extend(block.raw)
    parts.append(("text", "\n".join(current)))
    return [(kind, value) for kind, value in parts if kind != "text" or value.strip()]


class Converter:
    """Converts one page's markdown, cell after cell: it counts the exercises and figures as
    the site numbers them, knows the heading level it is under, and collects the attachments
    (glued images) of the cell being converted."""

    def __init__(self, links: BookLinks, docname: str, glued: dict, root: Path):
        self.links, self.docname, self.glued, self.root = links, docname, glued, root
        self.chapter = links.chapters.get(docname)
        self.exercises = self.figures = 0
        self.level = 1
        self.attachments: dict[str, dict[str, str]] = {}

    def number(self, count: int) -> str:
        return f"{self.chapter}.{count}" if self.chapter else str(count)

    def solution_title(self, label: str) -> str:
        target = self.links.labels.get(label)
        if target is None or not target.text.startswith("Exercise"):
            raise ReaderError(f"{self.docname}: a solution to {label!r}, which is no exercise")
        return f"Solution to {target.text}"

    def figure_caption(self, caption: str) -> str:
        self.figures += 1
        return f"**Fig. {self.number(self.figures)}:** {self.inline(caption.strip())}"

    # ------------------------------------------------------------------ blocks

    def convert(self, text: str) -> str:
        parts = []
        for block in blocks(text):
            if block.kind == "prose":
                part = self.prose(block.lines)
            elif block.kind == "code":
                part = "\n".join(block.raw)
            else:
                part = self.directive(block)
            if part.strip():
                parts.append(part.strip("\n"))
        return "\n\n".join(parts)

    def prose(self, lines: list[str]) -> str:
        kept = []
        for line in lines:
            if TARGET.match(line.strip()) or line.startswith("%"):
                continue  # a label's target, a MyST comment
            if heading := HEADING.match(line):
                self.level = len(heading.group(1))
            kept.append(line)
        return self.inline("\n".join(kept))

    def directive(self, block: Block) -> str:
        name, argument, options = block.name, block.argument, block.options
        body = "\n".join(block.lines)
        if name == "exercise":
            if "nonumber" in options:
                title = "Exercise"
            else:
                self.exercises += 1
                title = f"Exercise {self.number(self.exercises)}"
            title += f": {self.inline(argument)}" if argument else ""
            return f"{'#' * min(self.level + 1, 6)} {title}\n\n{self.convert(body)}"
        if name == "solution":
            return details(self.solution_title(argument), self.convert(body))
        if name in ADMONITIONS or name in TITLED:
            title = self.inline(argument) if name in TITLED else ADMONITIONS[name]
            if name not in TITLED and argument:
                body = f"{argument}\n{body}"
            if "dropdown" in options.get("class", "").split():
                return details(f"<b>{title}</b>", self.convert(body))
            return quote(title, self.convert(body))
        if name == "dropdown":
            return details(argument, self.convert(body))
        if name == "literalinclude":
            return listing(argument, options, self.root)
        if name in ("glue", "glue:any", "glue:md", "glue:math", "glue:figure"):
            shown = self.glue_block(argument, math=name == "glue:math")
            if name == "glue:figure" and body.strip():
                return f"{shown}\n\n{self.figure_caption(body)}"
            return shown
        if name in ("math",):
            return f"$$\n{body}\n$$"
        if name in ("code-block", "code", "sourcecode", "code-cell"):
            return f"```{argument.split(' ')[0] if argument else ''}\n{body}\n```"
        if name in ("figure", "image"):
            url = self.asset_url(argument)
            image = f"![{options.get('alt', '')}]({url})"
            if name == "figure" and body.strip():
                return f"{image}\n\n{self.figure_caption(body)}"
            return image
        if name == "raw":
            return body if argument.strip() == "html" else ""
        # tab sets, grids, cards, tables and anything else: the title in bold over the content
        title = f"**{self.inline(argument)}**" if argument else ""
        return "\n\n".join(part for part in (title, self.convert(body)) if part)

    def asset_url(self, path: str) -> str:
        if re.match(r"^[a-z]+://", path):
            return path
        return f"{self.links.url}_images/{posixpath.basename(path)}"

    # ------------------------------------------------------------------ roles

    def inline(self, text: str) -> str:
        def replace(match: re.Match) -> str:
            if match["code"]:
                return match["code"]
            return self.role(match["name"], match["content"])

        return ROLE.sub(replace, text)

    def plain(self, text: str) -> str:
        """``text`` with each role as plain text, no link (for a comment in code): a page by
        its name, a term, a label or a citation by what the site shows."""

        def replace(match: re.Match) -> str:
            if match["code"]:
                return match["code"]
            if match["name"] == "doc" and not EXPLICIT.match(match["content"]):
                return posixpath.basename(match["content"].strip())
            return MARKDOWN_LINK.sub(r"\1", self.role(match["name"], match["content"]))

        return ROLE.sub(replace, text)

    def role(self, name: str, content: str) -> str:
        explicit = EXPLICIT.match(content)
        text, target = (explicit["text"], explicit["target"]) if explicit else (None, content)
        target = target.strip()
        if name in ("glue", "glue:", "glue:any", "glue:text", "glue:md"):
            return self.glue_inline(content.strip(), as_text=name == "glue:text")
        if name == "term":
            found = self.links.term(target)
            if found is None:
                raise ReaderError(f"{self.docname}: {{term}} {target!r} is no glossary term")
            return f"[{text or target}]({found[0]})"
        if name == "doc":
            docname = self.resolve(target)
            if docname not in self.links.titles:
                raise ReaderError(f"{self.docname}: {{doc}} {target!r} names no page")
            return f"[{text or self.links.titles[docname]}]({self.links.page_url(docname)})"
        if name in ("ref", "numref"):
            found = self.links.labels.get(target)
            if found is None:
                raise ReaderError(f"{self.docname}: {{{name}}} {target!r} names no label")
            shown = found.text
            if text and name == "numref":
                number = found.text.split(" ", 1)[-1]
                shown = text.replace("%s", number).replace("{number}", number)
            elif text:
                shown = text
            return f"[{shown}]({self.links.page_url(found.docname, found.anchor)})"
        if name.startswith("cite"):
            return self.cite(name, content)
        if name == "math":
            return f"${content}$"
        if name in ("sub", "sup", "kbd"):
            return f"<{name}>{content}</{name}>"
        if name == "abbr":
            return content.split("(")[0].strip()
        if name in ("code", "samp", "file", "command", "download") or ":" in name:
            return f"`{text or target}`"
        return text or content

    def resolve(self, target: str) -> str:
        target = re.sub(r"\.(md|ipynb)$", "", target)
        if target.startswith("/"):
            return target.lstrip("/")
        return posixpath.normpath(posixpath.join(posixpath.dirname(self.docname), target))

    def cite(self, name: str, content: str) -> str:
        links = []
        for key in (k.strip() for k in content.split(",")):
            entry = self.links.citations.get(key)
            if entry is None or not self.links.references:
                raise ReaderError(f"{self.docname}: {{cite}} {key!r} is not in the bibliography")
            url = self.links.citation_url(key)
            if name == "cite:t":
                shown = f"{entry.names} ({entry.year})" if entry.year else entry.names
            else:
                shown = f"{entry.names}, {entry.year}" if entry.year else entry.names
            links.append(f"[{shown}]({url})")
        return ", ".join(links) if name == "cite:t" else f"({'; '.join(links)})"

    # ------------------------------------------------------------------ glued values

    def glue_data(self, key: str) -> dict:
        if "::" in key:
            raise ReaderError(f"{self.docname}: glue from another page ({key!r}) is not shown")
        if key not in self.glued:
            raise ReaderError(f"{self.docname}: no glued value {key!r} in the executed page")
        return self.glued[key].get("data", {})

    def glue_inline(self, content: str, as_text: bool) -> str:
        if as_text:
            from myst_nb.core.variables import format_plain_text

            key, _, spec = content.rpartition(":") if ":" in content else (content, "", "s")
            data = self.glue_data(key)
            if "text/plain" not in data:
                raise ReaderError(f"{self.docname}: the glued value {key!r} has no text")
            return format_plain_text(data["text/plain"], spec)
        mime, value = self.best(content)
        if mime in IMAGE_SUFFIX:
            return self.attach(content, mime, value)
        if mime == "text/markdown":
            return self.inline(value)
        return value if mime == "text/html" else f"`{value}`"

    def glue_block(self, key: str, math: bool = False) -> str:
        mime, value = self.best(key, ("text/latex", "text/plain") if math else MIME_PRIORITY)
        if math:
            return f"$$\n{value.strip().strip('$')}\n$$"
        if mime in IMAGE_SUFFIX:
            return self.attach(key, mime, value)
        if mime == "text/markdown":
            return self.convert(value)
        if mime == "text/html":
            return value
        return f"```\n{value.rstrip()}\n```"

    def best(self, key: str, priority: tuple[str, ...] = MIME_PRIORITY) -> tuple[str, str]:
        data = self.glue_data(key)
        for mime in priority:
            if mime in data:
                value = data[mime]
                return mime, "".join(value) if isinstance(value, list) else value
        raise ReaderError(f"{self.docname}: the glued value {key!r} has nothing to show")

    def attach(self, key: str, mime: str, value: str) -> str:
        name = f"{key}.{IMAGE_SUFFIX[mime]}"
        if mime == "image/svg+xml":  # attachments hold base64, as for any image
            value = base64.b64encode(value.encode()).decode()
        self.attachments[name] = {mime: value}
        return f"![{key}](attachment:{name})"
