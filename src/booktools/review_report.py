"""How the review of a change is shown (:mod:`booktools.review` writes both):

* :func:`render`: the Markdown report (``_build/review.md``, which CI appends to a pull
  request's job summary): for each page with something to review, its time and weight, the
  cells whose outputs changed (old → new, a diff with the numbers that moved marked
  ``>>> <<<``), then its glued values, claims, figures, the checker's flags and accessibility
  findings, from :class:`booktools.review_changes.PageReview`;
* :func:`figures_html`: one self-contained HTML file with the old and the new image of every
  figure whose image changed, was added or was removed, side by side (the images inlined as
  ``data:`` URIs, so the file can be opened from CI's artifact as it is). The report links to
  it and says where it is in CI's artifact (:data:`ARTIFACT`, which holds ``_build``).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import re
import textwrap

from booktools.checks.numbers import mark_moves, number_moves, same_form
from booktools.review_changes import Figure, PageReview, code, quoted

MAX_LINES = 40  # of one cell's diff; the rest is counted
# The artifact of .github/workflows/ci.yml that holds _build (the report, the figures' HTML);
# tests/test_review.py checks that the workflow uploads the figures under this name.
ARTIFACT = "site-and-reports"


@dataclasses.dataclass(frozen=True)
class FiguresLink:
    """Where the figures' HTML is, as the report names it."""

    href: str  # from the report's folder: review/figures.html
    local: str  # from the repository's root: _build/review/figures.html
    in_artifact: str  # in CI's artifact, which holds _build: review/figures.html


# --------------------------------------------------------------------------- Markdown


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


def render_page(review: PageReview, figures: FiguresLink | None = None) -> list[str]:
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
        if title == "Figures" and figures and review.figure_pairs:
            target = f"{figures.href}#{anchor(review.docname)}"
            out += [f"Old and new side by side: [this page in figures.html]({target}).", ""]
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
    figures: FiguresLink | None = None,
) -> str:
    """The Markdown report; ``figures``: where :func:`figures_html` was written, if it was."""
    shown = [p for p in pages if p.noteworthy]
    out = ["# What the change does to the book", ""]
    against = f"against {base_label}" if base_label else "with no base to compare with"
    changed = f"{len(shown)} with something to review" if shown else "nothing changed"
    out += [f"Head: {head_label}, {against}. {len(pages)} page(s): {changed}.", ""]
    out += [f"> {note}" for note in notes] + ([""] if notes else [])
    if figures and any(p.figure_pairs for p in shown):
        out += [
            f"The figures that changed, old and new side by side: [{figures.local}]"
            f"({figures.href}) (in CI: `{figures.in_artifact}` in the run's `{ARTIFACT}` "
            "artifact).",
            "",
        ]
    for page in shown:
        out += render_page(page, figures) + [""]
    if book_flags:
        out += ["## The book", ""] + [line for flag in book_flags for line in bullet(flag)] + [""]
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------- the figures' HTML

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
code { font-size: 0.95em; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; align-items: start; }
figure { margin: 0; padding: 0.5rem; border: 1px solid #ccc; background: #fff; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { font-weight: 600; margin-bottom: 0.5rem; }
.alt { color: #555; margin: 0.5rem 0 0; }
.none { color: #777; }
@media (max-width: 700px) { .pair { grid-template-columns: 1fr; } }
"""


def anchor(docname: str) -> str:
    """The id of a page's section in the figures' HTML: ``book/grad`` → ``book-grad``."""
    return re.sub(r"[^\w-]", "-", docname)


def data_uri(figure: Figure) -> str:
    """The image inlined: an SVG's text in base64, another image's base64 as the notebook has
    it."""
    if figure.mime == "image/svg+xml":
        payload = base64.b64encode(figure.data.encode()).decode()
    else:
        payload = "".join(figure.data.split())
    return f"data:{figure.mime};base64,{payload}"


def _side(title: str, figure: Figure | None) -> list[str]:
    if figure is None:
        return [f'<figure class="none"><figcaption>{title}: no such figure</figcaption></figure>']
    alt = html.escape(figure.alt, quote=True)
    said = html.escape(quoted(figure.alt)) if figure.alt else "NONE"
    return [
        f"<figure><figcaption>{title}, cell {figure.cell}</figcaption>",
        f'<img src="{data_uri(figure)}" alt="{alt}">',
        f'<p class="alt">Alt text: {said}</p></figure>',
    ]


def figures_html(pages: list[PageReview], head_label: str, base_label: str | None) -> str | None:
    """One self-contained HTML page with each figure whose image changed, was added or was
    removed: the base's image beside the head's. None when there is none."""
    shown = [p for p in pages if p.figure_pairs]
    if not shown:
        return None
    e = html.escape
    against = f"against {base_label}" if base_label else "with no base to compare with"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>What the change does to the book: the figures</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<h1>What the change does to the book: the figures</h1>",
        f"<p>Head: {e(head_label)}, {e(against)}. Each figure whose image changed, was added "
        "or was removed: the base's on the left, the head's on the right.</p>",
    ]
    for page in shown:
        out.append(f'<h2 id="{anchor(page.docname)}">{e(page.docname)}.md</h2>')
        for pair in page.figure_pairs:
            cell = (pair.new or pair.old).cell
            out += [
                "<section>",
                f"<h3>{pair.what} figure <code>{e(pair.name)}</code> (cell {cell})</h3>",
                '<div class="pair">',
                *_side("Base", pair.old),
                *_side("Head", pair.new),
                "</div>",
                "</section>",
            ]
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
