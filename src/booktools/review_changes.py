"""What a change did to the book, page by page (:mod:`booktools.review` runs it): for each page of
two builds, the base's and the head's (:class:`PageBuild`, read by :func:`load_side`), a
:class:`PageReview` that says

* which cells' outputs changed, in the output checker's record form (a volatile cell by its
  form only), and which cells are new or removed (an edited cell paired with the one it
  replaces, as the checker pairs them);
* which glued values changed, and which claims were added, removed, now fail or now hold;
* which figures are new, changed or removed, by name, with their alt text; each whose image
  changed (an SVG's metadata, the time it was drawn, is not a change) with its old and new
  images (:class:`FigurePair`), which :mod:`booktools.review_report` shows side by side;
* the page's execution time (from the execution cache) and weight (its HTML and the scripts,
  styles and images it names), and whether either moved more than a rebuild moves it;
* what the output checker flags on the head, and accessibility findings.

Here changes are found and said in short lines (with the names in inline code); how the report
lays them out is :mod:`booktools.review_report`'s business.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from booktools import outputs
from booktools.book import Paths
from booktools.checks.alt_text import check_alt_text
from booktools.checks.cell_outputs import edited_cells
from booktools.checks.claims import check_claims
from booktools.records import Cell, CheckerError, ExecutedPage, load_pages, page_record

# What a rebuild of an unchanged page moves by itself: its execution time by a second or two
# (kernel start, the machine's load), its HTML by a few bytes (the provenance note's date and
# duration). Smaller moves are not reported.
TIME_NOISE_S = 5.0
TIME_NOISE_FRACTION = 0.25
WEIGHT_NOISE_BYTES = 1000
# Matplotlib writes the time of drawing (and its version) into an SVG's metadata: not a change
# of the figure.
SVG_METADATA = re.compile(r"<metadata>.*?</metadata>", flags=re.S)


def code(text: str) -> str:
    """``text`` as inline code, whatever backticks it holds."""
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def quoted(text: str) -> str:
    return f"“{text}”"


# --------------------------------------------------------------------------- one side


@dataclasses.dataclass
class Figure:
    name: str  # the figure's `name` in the cell metadata, else the cell's key
    cell: int
    alt: str
    digest: str  # of the image data, without an SVG's metadata
    mime: str = ""  # the image's type: the book's figures are image/svg+xml
    data: str = ""  # the image as the notebook holds it: an SVG's text, another image's base64


@dataclasses.dataclass(frozen=True)
class FigurePair:
    """A figure whose image changed, was added or was removed: its old image and its new one
    (``None`` on the side that lacks it), for the report to show side by side."""

    what: str  # "changed", "new", "removed"
    name: str
    old: Figure | None
    new: Figure | None


@dataclasses.dataclass
class PageBuild:
    """What one side's build says about one page."""

    page: ExecutedPage
    figures: dict[str, Figure] = dataclasses.field(default_factory=dict)
    seconds: float | None = None
    weight: int | None = None  # bytes of the HTML and the files it names
    images_without_alt: list[str] = dataclasses.field(default_factory=list)

    @functools.cached_property
    def record(self) -> dict:
        """The page's outputs as the checker records them (volatile values masked)."""
        return page_record(self.page)


def text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def figures_of(notebook: dict, cells: list[Cell]) -> dict[str, Figure]:
    code_cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    found: dict[str, Figure] = {}
    for raw, cell in zip(code_cells, cells, strict=True):
        mystnb = raw.get("metadata", {}).get("mystnb", {}) or {}
        name = (mystnb.get("figure", {}) or {}).get("name") or cell.key
        alt = str((mystnb.get("image", {}) or {}).get("alt", "")).strip()
        images = []
        for data in (o.get("data", {}) for o in raw.get("outputs", [])):
            mime = next((m for m in sorted(data) if m.startswith("image/")), None)
            if mime:
                images.append((mime, text(data[mime])))
        for n, (mime, image) in enumerate(images, start=1):
            key = name if len(images) == 1 else f"{name} ({n} of {len(images)})"
            digest = hashlib.sha256(SVG_METADATA.sub("", image).encode()).hexdigest()
            found[key] = Figure(key, cell.index, alt, digest, mime, image)
    return found


class _PageAssets(HTMLParser):
    """The files a page's HTML names (scripts, stylesheets, images), and images without alt."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.images_without_alt: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag in ("script", "img") and values.get("src"):
            self.urls.append(values["src"])
        elif tag == "link" and "stylesheet" in values.get("rel", "").split():
            self.urls.append(values.get("href", ""))
        if tag == "img" and not values.get("alt", "").strip():
            self.images_without_alt.append(values.get("src", "") or "(no src)")


def page_weight(html: Path, docname: str) -> tuple[int | None, list[str]]:
    """(bytes of the page's HTML and of the local scripts, stylesheets and images it names,
    images without alt text). What scripts load later (fonts, MathJax's parts) is not counted:
    the browser tests measure a cold load; this is the part a page's own change moves."""
    page = html / f"{docname}.html"
    if not page.is_file():
        return None, []
    parser = _PageAssets()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    files = set()
    for url in parser.urls:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path:
            continue
        path = (page.parent / unquote(parts.path)).resolve()
        if path.is_relative_to(html.resolve()) and path.is_file():
            files.add(path)
    total = page.stat().st_size + sum(f.stat().st_size for f in files)
    return total, parser.images_without_alt


def execution_seconds(executed: Path, cache_dir: Path) -> dict[str, float]:
    """Each page's execution time, from its record in the execution cache (which keeps it)."""
    if not (cache_dir / "global.db").is_file():
        return {}
    import nbformat
    from jupyter_cache import get_cache

    seconds = {}
    try:
        cache = get_cache(str(cache_dir))
        for notebook in sorted(executed.rglob("*.ipynb")):
            docname = notebook.relative_to(executed).with_suffix("").as_posix()
            try:
                record = cache.match_cache_notebook(nbformat.read(notebook, as_version=4))
            except KeyError:
                continue
            if "execution_seconds" in (record.data or {}):
                seconds[docname] = float(record.data["execution_seconds"])
    except Exception as error:  # noqa: BLE001 - times are optional; the report says they are missing
        print(f"review: no execution times from {cache_dir} ({error!r})", file=sys.stderr)
    return seconds


def load_side(
    root: Path, executed: Path, html: Path | None, cache_dir: Path
) -> dict[str, PageBuild]:
    """Every executed page of one build (raises :class:`CheckerError` if there is none)."""
    seconds = execution_seconds(executed, cache_dir)
    side = {}
    for page in load_pages(executed, root):
        notebook = json.loads((executed / f"{page.docname}.ipynb").read_text(encoding="utf-8"))
        weight, without_alt = page_weight(html, page.docname) if html else (None, [])
        side[page.docname] = PageBuild(
            page,
            figures_of(notebook, page.cells),
            seconds.get(page.docname),
            weight,
            without_alt,
        )
    return side


# --------------------------------------------------------------------------- comparison


@dataclasses.dataclass
class CellChange:
    what: str  # "changed", "new", "removed"
    index: int  # 1-based among the code cells of the side it is on (the head, unless removed)
    key: str
    source: str  # the first line
    old: list[dict]
    new: list[dict]


@dataclasses.dataclass
class PageReview:
    docname: str
    status: str = ""  # "new page", "removed page" or ""
    cells: list[CellChange] = dataclasses.field(default_factory=list)
    glue: list[tuple[str, str | None, str | None]] = dataclasses.field(default_factory=list)
    claims: list[str] = dataclasses.field(default_factory=list)
    figures: list[str] = dataclasses.field(default_factory=list)
    figure_pairs: list[FigurePair] = dataclasses.field(default_factory=list)  # images that differ
    seconds: tuple[float | None, float | None] = (None, None)
    weight: tuple[int | None, int | None] = (None, None)
    flags: list[str] = dataclasses.field(default_factory=list)
    accessibility: list[str] = dataclasses.field(default_factory=list)

    @property
    def time_moved(self) -> bool:
        old, new = self.seconds
        if old is None or new is None:
            return False
        return abs(new - old) > max(TIME_NOISE_S, TIME_NOISE_FRACTION * old)

    @property
    def weight_moved(self) -> bool:
        old, new = self.weight
        return old is not None and new is not None and abs(new - old) >= WEIGHT_NOISE_BYTES

    @property
    def noteworthy(self) -> bool:
        return bool(
            self.status
            or self.cells
            or self.glue
            or self.claims
            or self.figures
            or self.flags
            or self.accessibility
            or self.time_moved
            or self.weight_moved
        )


def cell_changes(base: PageBuild, head: PageBuild) -> tuple[list[CellChange], dict[str, str]]:
    """The cells whose outputs changed, and ``{head key: base key}`` of edited cells (an edited
    cell has a new key; it is paired with the one it replaces, as the checker pairs them)."""
    old = {c["key"]: c for c in base.record["cells"]}
    head_keys = [c.key for c in head.page.cells]
    edited = {
        new: previous
        for new, previous in edited_cells(list(old), head_keys).items()
        if new not in old and previous not in head_keys
    }
    changes = []
    for cell, entry in zip(head.page.cells, head.record["cells"], strict=True):
        before = old.get(cell.key) or old.get(edited.get(cell.key, ""))
        if before is None:
            if entry["outputs"]:
                changes.append(
                    CellChange("new", cell.index, cell.key, entry["source"], [], entry["outputs"])
                )
        elif before["outputs"] != entry["outputs"]:
            changes.append(
                CellChange(
                    "changed",
                    cell.index,
                    cell.key,
                    entry["source"],
                    before["outputs"],
                    entry["outputs"],
                )
            )
    kept = set(head_keys) | set(edited.values())
    for index, (key, entry) in enumerate(old.items(), start=1):
        if key not in kept and entry["outputs"]:
            changes.append(
                CellChange("removed", index, key, entry.get("source", ""), entry["outputs"], [])
            )
    return changes, edited


def glue_changes(base: PageBuild, head: PageBuild) -> list[tuple[str, str | None, str | None]]:
    old, new = base.record["glue"], head.record["glue"]
    return [
        (name, old.get(name), new.get(name))
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]


def claim_failure(page: ExecutedPage, claim: str) -> str | None:
    """Why ``claim`` does not hold on ``page`` (the checker's words), or None."""
    problems = check_claims(
        dataclasses.replace(page, metadata={**page.metadata, "claims": [claim]})
    )
    # under the page's heading the checker's "book/x.md: " prefix says nothing new
    return problems[0].removeprefix(f"{page.source}: ") if problems else None


def claim_changes(base: PageBuild | None, head: PageBuild) -> list[str]:
    before = base.page.claims if base else []  # each build's claims for its own device
    after = head.page.claims
    lines = []
    for claim in after:
        failure = claim_failure(head.page, claim)
        if claim not in before:
            lines.append(f"added {code(claim)}: " + (f"FAILS: {failure}" if failure else "holds"))
        elif failure and not claim_failure(base.page, claim):
            lines.append(f"now FAILS: {failure}")
        elif not failure and claim_failure(base.page, claim):
            lines.append(f"now holds: {code(claim)}")
    lines += [f"removed {code(claim)}" for claim in before if claim not in after]
    return lines


def figure_changes(
    base: PageBuild | None, head: PageBuild, edited: dict[str, str]
) -> tuple[list[str], list[FigurePair]]:
    """(a line for each new, changed and removed figure; the old and new images of each whose
    image differs: a changed image, a new figure, a removed one)."""
    old = dict(base.figures) if base else {}
    renamed = {new: previous for new, previous in edited.items() if previous in old}
    lines, pairs = [], []
    for name, figure in head.figures.items():
        before = old.pop(name, None) or old.pop(renamed.get(name, ""), None)
        where = f"{code(name)} (cell {figure.cell})"
        alt = f"alt text {quoted(figure.alt)}" if figure.alt else "NO alt text"
        if before is None:
            lines.append(f"new figure {where}, {alt}")
            pairs.append(FigurePair("new", name, None, figure))
        elif before.digest != figure.digest or before.alt != figure.alt:
            image = "the image changed" if before.digest != figure.digest else "same image"
            if before.alt != figure.alt:
                alt = f"alt text {quoted(before.alt)} → {quoted(figure.alt)}"
            lines.append(f"changed figure {where}: {image}, {alt}")
            if before.digest != figure.digest:
                pairs.append(FigurePair("changed", name, before, figure))
    for name, figure in old.items():
        lines.append(f"removed figure {code(name)} (cell {figure.cell})")
        pairs.append(FigurePair("removed", name, figure, None))
    return lines, pairs


def review_page(
    docname: str,
    base: PageBuild | None,
    head: PageBuild | None,
    flags: list[str],
    compared: bool = True,
) -> PageReview:
    """One page's review; ``compared=False`` when there is no base to compare with at all."""
    review = PageReview(docname, flags=list(flags))
    if head is None:
        review.status = "removed page"
        return review
    review.accessibility = check_alt_text(head.page) + [
        f"{head.page.source}: an image without alt text in the page's HTML ({src})"
        for src in head.images_without_alt
    ]
    review.flags = [f for f in review.flags if f not in review.accessibility]
    if not compared:
        return review
    review.seconds = (base.seconds if base else None, head.seconds)
    review.weight = (base.weight if base else None, head.weight)
    edited: dict[str, str] = {}
    if base is None:
        review.status = "new page"
    else:
        review.cells, edited = cell_changes(base, head)
        review.glue = glue_changes(base, head)
    review.claims = claim_changes(base, head)
    review.figures, review.figure_pairs = figure_changes(base, head, edited)
    return review


def checker_flags(
    paths: Paths, executed: Path, docnames: list[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """What the output checker flags on a build: per page, and for the book as a whole."""
    try:
        result = outputs.check(paths, executed)
    except CheckerError as error:
        return {}, [f"the output checker could not run: {error}"]
    per_page: dict[str, list[str]] = {d: [] for d in docnames}
    book = []
    for problem in result.problems:
        page = next((d for d in docnames if problem.startswith(f"{d}.md")), None)
        (per_page[page] if page else book).append(problem)
    for drift in result.drifts:
        page = next((d for d in docnames if drift.where.startswith(f"{d}.md")), None)
        line = f"moved (a trajectory value, not a failure): {drift}"
        (per_page[page] if page else book).append(line)
    return per_page, book


def review_book(
    base: dict[str, PageBuild] | None,
    head: dict[str, PageBuild],
    flags: dict[str, list[str]],
) -> list[PageReview]:
    """Every page's review, in the head's order, then the pages only the base has."""
    names = list(head) + [d for d in (base or {}) if d not in head]
    return [
        review_page(
            d, (base or {}).get(d), head.get(d), flags.get(d, []), compared=base is not None
        )
        for d in names
    ]
