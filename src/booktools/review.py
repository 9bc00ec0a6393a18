"""What a change did to the book: ``python -m booktools.review --base <commit>`` (``make review
BASE=<commit>``), a Markdown report in ``_build/review.md``, also printed (CI appends it to the
job summary of a pull request).

For each page where something changed, the report names:

* the cells whose outputs changed, old → new, in the output checker's record form (a volatile
  cell by its form only), with the numbers that moved marked ``>>> <<<``; new and removed cells;
* the glued values that changed, and the claims added, removed, now failing or now holding;
* new, changed and removed figures, by name, with their alt text;
* the page's execution time and weight, when either moved by more than a rebuild moves it;
* what the output checker flags on the head, and accessibility findings (a figure without alt
  text, an image of the page's HTML without an ``alt``).

A page where nothing changed is not shown.

Both sides are built on this machine, in this environment, through the execution cache, so what
differs is what the change did. The *head* is the working tree: its last build (``_build``) is
used when it is current (every page's executed notebook was made from its present code and
``jaxbook`` modules, the cache agrees with this environment, the site is newer than every
source), else it is built first; only what changed executes. The *base* is checked out in a
detached ``git worktree`` under ``_build/review/`` and built with its own ``booktools`` into
``_build/review/build``, whose execution cache starts as a copy of the head's: only the pages the
change affects execute again. ``--no-site`` takes the lean path (pages executed, no site):
about 15 s less per side on the real book (2 cores), and no page weights.

What cannot be compared is said in one line at the top, never replaced by an older result: an
unknown base, or a base that does not build or leaves no executed notebooks (the head is then
reported alone, after a full build if it was not current); a cache that could not be read or
was made in another environment (that side executes every page); a base whose requirements
differ (it is built in the head's environment all the same).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from booktools import outputs
from booktools.book import Book, Paths
from booktools.checks.alt_text import check_alt_text
from booktools.checks.cell_outputs import edited_cells
from booktools.checks.claims import check_claims
from booktools.checks.numbers import mark_moves, number_moves, same_form
from booktools.records import Cell, CheckerError, ExecutedPage, load_pages, page_record

# What a rebuild of an unchanged page moves by itself: its execution time by a second or two
# (kernel start, the machine's load), its HTML by a few bytes (the provenance note's date and
# duration). Smaller moves are not reported.
TIME_NOISE_S = 5.0
TIME_NOISE_FRACTION = 0.25
WEIGHT_NOISE_BYTES = 1000
MAX_LINES = 40  # of one cell's diff; the rest is counted
# What the book is built from: a site older than any of these is stale.
SOURCES = ("book", "src", "_config.yml", "_toc.yml", "requirements.txt", "requirements.lock")
# Matplotlib writes the time of drawing (and its version) into an SVG's metadata: not a change
# of the figure.
SVG_METADATA = re.compile(r"<metadata>.*?</metadata>", flags=re.S)
CACHE_SUMMARY = re.compile(r"cache: (\d+) page\(s\) executed, (\d+) taken from the cache")


# --------------------------------------------------------------------------- one side


@dataclasses.dataclass
class Figure:
    name: str  # the figure's `name` in the cell metadata, else the cell's key
    cell: int
    alt: str
    digest: str  # of the image data


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
        images = [
            text(next(data[m] for m in sorted(data) if m.startswith("image/")))
            for data in (o.get("data", {}) for o in raw.get("outputs", []))
            if any(m.startswith("image/") for m in data)
        ]
        for n, image in enumerate(images, start=1):
            key = name if len(images) == 1 else f"{name} ({n} of {len(images)})"
            digest = hashlib.sha256(SVG_METADATA.sub("", image).encode()).hexdigest()
            found[key] = Figure(key, cell.index, alt, digest)
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


def figure_changes(base: PageBuild | None, head: PageBuild, edited: dict[str, str]) -> list[str]:
    old = dict(base.figures) if base else {}
    renamed = {new: previous for new, previous in edited.items() if previous in old}
    lines = []
    for name, figure in head.figures.items():
        before = old.pop(name, None) or old.pop(renamed.get(name, ""), None)
        where = f"{code(name)} (cell {figure.cell})"
        alt = f"alt text {quoted(figure.alt)}" if figure.alt else "NO alt text"
        if before is None:
            lines.append(f"new figure {where}, {alt}")
        elif before.digest != figure.digest or before.alt != figure.alt:
            image = "the image changed" if before.digest != figure.digest else "same image"
            if before.alt != figure.alt:
                alt = f"alt text {quoted(before.alt)} → {quoted(figure.alt)}"
            lines.append(f"changed figure {where}: {image}, {alt}")
    lines += [f"removed figure {code(name)} (cell {f.cell})" for name, f in old.items()]
    return lines


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
    review.figures = figure_changes(base, head, edited)
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


# --------------------------------------------------------------------------- Markdown


def code(text: str) -> str:
    """``text`` as inline code, whatever backticks it holds."""
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def quoted(text: str) -> str:
    return f"“{text}”"


def fenced(lines: list[str], language: str = "") -> str:
    body = "\n".join(lines)
    fence = "`" * max(3, max((len(r) + 1 for r in re.findall(r"`{3,}", body)), default=3))
    return f"{fence}{language}\n{body}\n{fence}"


def output_text(output: dict) -> str:
    if "error" in output:
        return f"{output['error']}: {output.get('message', '')}"
    if "text" in output:
        return output["text"]
    kind = next(k for k in ("stream", "result", "display") if k in output)
    return (
        f"({kind}: {', '.join(output[kind]) if isinstance(output[kind], list) else output[kind]})"
    )


def output_diff(old: list[dict], new: list[dict]) -> tuple[list[str], list[str]]:
    """(diff lines, "a → b (relative move)" of every number that moved). Outputs of the same
    form are compared number by number, with the numbers that moved marked in both."""
    lines, moves = [], []
    paired = len(old) == len(new)
    for n in range(max(len(old), len(new))):
        before = output_text(old[n]) if n < len(old) else None
        after = output_text(new[n]) if n < len(new) else None
        if before == after:
            continue
        if paired and before is not None and after is not None and same_form(before, after):
            moves += [
                f"{e} → {a} (relative move {m:.2g})" for e, a, m in number_moves(before, after)
            ]
            before, after = mark_moves(before, after)
        old_lines = before.splitlines() if before is not None else []
        new_lines = after.splitlines() if after is not None else []
        if len(old_lines) == len(new_lines):  # line by line: only the lines that differ
            for o, w in zip(old_lines, new_lines, strict=True):
                lines += [f"- {o}", f"+ {w}"] if o != w else []
        else:
            lines += [f"- {o}" for o in old_lines] + [f"+ {w}" for w in new_lines]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"  ({len(lines) - MAX_LINES} more lines)"]
    return lines, moves


def kilobytes(size: int | None) -> str:
    return "not measured" if size is None else f"{size / 1000:,.1f} kB"


def seconds(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.1f} s"


def render_page(review: PageReview) -> list[str]:
    out = [f"## {review.docname}.md" + (f" ({review.status})" if review.status else ""), ""]
    if review.status == "removed page":
        return out[:-1]
    facts = []
    if review.seconds != (None, None):
        old, new = review.seconds
        moved = " (**moved**)" if review.time_moved else ""
        facts.append(f"execution {seconds(old)} → {seconds(new)}{moved}")
    if review.weight != (None, None):
        old, new = review.weight
        delta = f" ({new - old:+,} bytes)" if old is not None and new is not None else ""
        moved = " (**moved**)" if review.weight_moved else ""
        facts.append(f"weight {kilobytes(old)} → {kilobytes(new)}{delta}{moved}")
    if facts:
        sentence = "; ".join(facts)
        out += [sentence[0].upper() + sentence[1:] + ".", ""]
    for change in review.cells:
        where = f"Cell {change.index} {code(change.source)}"
        if change.what == "new":
            out.append(f"{where}: a new cell; it outputs:")
        elif change.what == "removed":
            out.append(f"The base's cell {change.index} {code(change.source)}: removed; it output:")
        else:
            out.append(f"{where}: its outputs changed:")
        lines, moves = output_diff(change.old, change.new)
        out += ["", fenced(lines, "diff")]
        if moves:
            shown = ", ".join(moves[:8]) + (f" and {len(moves) - 8} more" if len(moves) > 8 else "")
            out += ["", f"Numbers that moved: {shown}."]
        out.append("")
    sections = [
        (
            "Glued values",
            [f"{code(n)}: {show_value(o)} → {show_value(w)}" for n, o, w in review.glue],
        ),
        ("Claims", review.claims),
        ("Figures", review.figures),
        ("The output checker flags", review.flags),
        ("Accessibility", review.accessibility),
    ]
    for title, items in sections:
        if items:
            out += [f"**{title}:**", ""] + [line for item in items for line in bullet(item)] + [""]
    return out[:-1] if out[-1] == "" else out


def bullet(item: str) -> list[str]:
    """A list item; the lines after the first (the checker's expected and actual) as code."""
    first, *rest = item.splitlines() or [""]
    if not rest:
        return [f"- {first}"]
    block = fenced(textwrap.dedent("\n".join(rest)).splitlines())
    return [f"- {first}", "", *(f"  {line}" for line in block.splitlines()), ""]


def show_value(value: str | None) -> str:
    return "(none)" if value is None else code(value)


def render(
    pages: list[PageReview],
    notes: list[str],
    book_flags: list[str],
    head_label: str,
    base_label: str | None,
) -> str:
    shown = [p for p in pages if p.noteworthy]
    out = ["# What the change does to the book", ""]
    against = f"against {base_label}" if base_label else "with no base to compare with"
    changed = f"{len(shown)} with something to review" if shown else "nothing changed"
    out += [f"Head: {head_label}, {against}. {len(pages)} page(s): {changed}.", ""]
    out += [f"> {note}" for note in notes] + ([""] if notes else [])
    for page in shown:
        out += render_page(page) + [""]
    if book_flags:
        out += ["## The book", ""] + [line for flag in book_flags for line in bullet(flag)] + [""]
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------- building


def review_folder(paths: Paths) -> Path:
    """Where the review keeps the base's worktree, its build and the build logs."""
    return paths.build / "review"


def base_paths(paths: Paths) -> Paths:
    """The base's worktree (removed after its build) and its build folder (``JAXBOOK_BUILD``:
    its cache, notebooks and site)."""
    return Paths.at(review_folder(paths) / "base", review_folder(paths) / "build")


def git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


def resolve_commit(root: Path, ref: str) -> str | None:
    found = git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return found.stdout.strip() if found.returncode == 0 else None


def describe_commit(root: Path, commit: str) -> str:
    shown = git(root, "log", "-1", "--format=%h “%s”", commit).stdout.strip()
    return shown or commit[:12]


def describe_head(root: Path) -> str:
    head = git(root, "rev-parse", "--short", "HEAD").stdout.strip() or "no commit"
    dirty = git(root, "status", "--porcelain").stdout.strip()
    return f"the working tree at {head}" + (" (with uncommitted changes)" if dirty else "")


def newest_source(root: Path) -> float:
    listed = git(root, "ls-files", "-co", "--exclude-standard", "--", *SOURCES).stdout.split("\n")
    times = [(root / p).stat().st_mtime for p in listed if p and (root / p).is_file()]
    return max(times, default=0.0)


def head_staleness(book: Book, site: bool) -> tuple[str | None, bool]:
    """(why the head's last build cannot be used, or None; whether the cache is the reason)."""
    from booktools import cache

    paths, pages = book.paths, book.executable_pages
    for page in pages:
        notebook = paths.executed / f"{page.docname}.ipynb"
        if not notebook.is_file():
            where = paths.relative(notebook.parent)
            return f"{page.docname}.md has no executed notebook in {where}", False
        stamp = json.loads(notebook.read_text(encoding="utf-8"))["metadata"].get("jaxbook", {})
        if stamp.get("code_digest") != cache.code_digest(page, paths):
            return (
                f"{page.docname}.md (or a jaxbook module it imports) changed since it was executed",
                False,
            )
    if len(cache.cached_pages(book, pages)) != len(pages):
        return (
            "execution cache cannot be read or was made in another environment, so the "
            "head's executed notebooks may be stale: the head was built again",
            True,
        )
    if site:
        html = [paths.html / f"{page.docname}.html" for page in pages]
        if not all(p.is_file() for p in html):
            return "no site was built (`make execute` builds none)", False
        if min(p.stat().st_mtime for p in html) < newest_source(paths.root):
            return "the site is older than the book's sources", False
    return None, False


def run_build(paths: Paths, site: bool, log: Path, env: dict[str, str]) -> str | None:
    """Build a book with ``booktools.build`` (the lean path without a site); None when it
    succeeded, else its log."""
    command = [sys.executable, "-m", "booktools.build", *([] if site else ["--execute-only"])]
    env = dict(env, JAXBOOK_ROOT=str(paths.root), JAXBOOK_BUILD=str(paths.build))
    print(f"review: building {paths.root} into {paths.build} ...", file=sys.stderr, flush=True)
    result = subprocess.run(
        command,
        cwd=paths.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout, encoding="utf-8")
    return None if result.returncode == 0 else result.stdout


def build_notes(log: str, side: str) -> list[str]:
    """What a build's log says about its cache, in one line each."""
    notes = []
    if "cannot be read" in log:
        notes.append(
            f"The {side}'s execution cache could not be read (damaged, or from another "
            "version of the tools): it was built from an empty cache, every page executed."
        )
    summary = CACHE_SUMMARY.search(log)
    if summary and not notes:
        executed, reused = int(summary.group(1)), int(summary.group(2))
        if executed > 1 and reused == 0:
            notes.append(
                f"No cached notebook fitted the {side} (another environment, or every page "
                f"changed): all {executed} of its pages were executed."
            )
    return notes


def remove_worktree(paths: Paths) -> None:
    """Remove the base's worktree (a leftover one too: `git worktree add --force` takes over
    the entry of a folder deleted by hand)."""
    base = base_paths(paths).root
    if base.exists():
        git(paths.root, "worktree", "remove", "--force", str(base))
        shutil.rmtree(base, ignore_errors=True)


def build_base(paths: Paths, commit: str, site: bool) -> tuple[Paths | None, list[str], str]:
    """Build the base commit beside the head: (where it was built or None, notes, the line of
    its build that says what it executed)."""
    base = base_paths(paths)
    label = describe_commit(paths.root, commit)
    log = review_folder(paths) / "base-build.log"
    remove_worktree(paths)
    shutil.rmtree(base.build, ignore_errors=True)
    review_folder(paths).mkdir(parents=True, exist_ok=True)
    added = git(paths.root, "worktree", "add", "--detach", "--force", str(base.root), commit)
    if added.returncode != 0:
        why = (added.stderr.strip().splitlines() or ["git worktree failed"])[-1]
        return (
            None,
            [f"The base {label} could not be checked out ({why}): the head is reported alone."],
            "",
        )
    notes = []
    try:
        pins = git(
            paths.root, "diff", "--quiet", commit, "--", "requirements.txt", "requirements.lock"
        )
        if pins.returncode != 0:
            notes.append(
                f"The base {label} pins other requirements; it was built in this (the head's) "
                "environment all the same, so what the versions change does not show here."
            )
        if paths.cache.is_dir():  # the base executes only the pages the change affects
            shutil.copytree(paths.cache, base.cache)
        # The base's own jaxbook and booktools (a scratch book without booktools: these).
        python_path = [str(base.root / "src"), os.environ.get("PYTHONPATH", "")]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in python_path if p))
        failed = run_build(base, site, log, env)
        if failed is not None:
            last = (failed.strip().splitlines() or ["(no output)"])[-1]
            notes.append(
                f"The base {label} does not build ({last.strip()}; the log is "
                f"{paths.relative(log)}): the head is reported alone."
            )
            return None, notes, ""
        output = log.read_text(encoding="utf-8")
        notes += build_notes(output, "base")
        notebooks = sorted(base.executed.rglob("*.ipynb")) if base.executed.is_dir() else []
        if not notebooks:
            notes.append(
                f"The base {label} left no executed notebooks in "
                f"{paths.relative(base.executed)} (its tools predate them?): the head is "
                "reported alone."
            )
            return None, notes, ""
        # The base ran in its worktree: its outputs name that folder where the head's name the
        # root. Said the head's way, a path is not a change.
        for path in [*notebooks, *base.executed.rglob("*.glue.json")]:
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace(str(base.root), str(paths.root)), encoding="utf-8")
        summary = CACHE_SUMMARY.search(output)
        return base, notes, summary.group(0).removeprefix("cache: ") if summary else ""
    finally:
        remove_worktree(paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with, e.g. main")
    parser.add_argument(
        "--no-site",
        action="store_true",
        help="the lean path: execute the pages, build no site (no page weights)",
    )
    parser.add_argument(
        "--output", type=Path, help="the Markdown report (default: _build/review.md)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    book = Book(Paths.from_environment())
    paths = book.paths
    output = args.output or paths.build / "review.md"
    site = not args.no_site
    notes: list[str] = []
    head_label = describe_head(paths.root)

    stale, cache_problem = head_staleness(book, site)
    if stale:
        print(f"review: {stale}: building the head first", file=sys.stderr, flush=True)
        if cache_problem:
            notes.append(f"The head's {stale}.")
        log = review_folder(paths) / "head-build.log"
        if run_build(paths, site, log, dict(os.environ)) is not None:
            return finish(
                paths,
                output,
                f"# What the change does to the book\n\nThe head does not build, so there is "
                f"nothing to review (the log is {paths.relative(log)}; `make book` shows the "
                "failure).\n",
                1,
            )
        notes += build_notes(log.read_text(encoding="utf-8"), "head")
    head = load_side(paths.root, paths.executed, paths.html if site else None, paths.cache)

    base: dict[str, PageBuild] | None = None
    base_label = None
    commit = resolve_commit(paths.root, args.base)
    if commit is None:
        notes.insert(
            0,
            f"{code(args.base)} is not a commit of this repository (fetched?): there is no base "
            "to compare with, so the head is reported alone.",
        )
    else:
        built, base_notes, summary = build_base(paths, commit, site)
        notes += base_notes
        if built is not None:
            try:
                base = load_side(
                    paths.root, built.executed, built.html if site else None, built.cache
                )
                base_label = describe_commit(paths.root, commit) + (
                    f" (base build: {summary})" if summary else ""
                )
            except CheckerError as error:
                notes.append(
                    f"The base's executed notebooks cannot be read ({error}): the head "
                    "is reported alone."
                )
    flags, book_flags = checker_flags(paths, paths.executed, list(head))
    reviews = review_book(base, head, flags)
    return finish(paths, output, render(reviews, notes, book_flags, head_label, base_label), 0)


def finish(paths: Paths, output: Path, report: str, status: int) -> int:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report, encoding="utf-8")
    print(report, end="")
    print(f"review: written to {paths.relative(output)}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
