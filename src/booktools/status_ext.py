"""Sphinx extension: the status page's tables, each fact said once.

``{execution-times}`` lists every executed page with when it ran and how long it took, against
the book's time budget (:data:`PAGE_TIME_BUDGET_S`, the ``jaxbook_page_time_budget`` setting):
a sentence above the table states the budget and names every page over it, and each page's row
says "within" or "over by N s". It replaces myst-nb's ``{nb-exec-table}``, which listed 49.94 s
as "succeeded" under a sentence requiring at most 45 s.

A page over the budget is shown, not failed: the budget is for the 2-core CPU machine CI uses,
while the same build runs on GPUs, under slower numerics variants and in the canary, and a
page's time moves with the machine's load (the kernels run two at a time and a timed cell waits
for the machine lock), so a build that failed at 45.07 s would fail at random. The build log
names the pages over it.

``{numerics-verification}`` says where each page's records were verified: the CPU numerics
``make numerics-matrix`` ran are named once, above a table with one column per variant, and the
GPU table states once what every GPU run shares (the versions). Before, each page's row
repeated the same 50-word sentence.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from booktools.provenance_ext import (
    format_date,
    gpu_claims,
    gpu_counts,
    gpu_versions,
    table_node,
)

LOGGER = logging.getLogger(__name__)

# Seconds a page may take to execute on the 2-core CPU machine CI uses (README, CONTRIBUTING).
PAGE_TIME_BUDGET_S = 45.0
OVER_CLASS = "jaxbook-over-budget"
# myst-nb rewrites the pages that carry this mark whenever any page's execution data changed.
MYST_NB_TABLE_MARK = "has_exec_table"


# --------------------------------------------------------------------------- execution times


def budget_verdict(runtime: float | None, budget: float) -> str:
    """``"within"``, ``"over by 4.9 s"`` or ``"unknown"`` (no time recorded)."""
    if runtime is None:
        return "unknown"
    if runtime > budget:
        return f"over by {runtime - budget:.1f} s"
    return "within"


def executed_pages(
    metadata: Mapping[str, Mapping[str, Any]], order: list[str] | None = None
) -> list[tuple[str, Mapping]]:
    """``(docname, exec_data)`` of every page myst-nb executed (or took from its cache), in
    ``order`` (the book's reading order), then by name."""
    rank = {docname: i for i, docname in enumerate(order or [])}
    return [
        (docname, data["exec_data"])
        for docname, data in sorted(
            metadata.items(), key=lambda i: (rank.get(i[0], len(rank)), i[0])
        )
        if data.get("exec_data")
    ]


def reading_order(includes: Mapping[str, list[str]], root: str) -> list[str]:
    """The documents in the order of the table of contents, from Sphinx's toctree includes."""
    order: list[str] = []

    def walk(docname: str) -> None:
        for child in includes.get(docname, []):
            if child not in order:
                order.append(child)
                walk(child)

    walk(root)
    return order


def times_summary(pages: list[tuple[str, str, Mapping]], budget: float) -> str:
    """The sentence above the table; ``pages`` are ``(docname, title, exec_data)``."""
    timed = [
        (title, data["runtime"]) for _, title, data in pages if data.get("runtime") is not None
    ]
    over = [(title, runtime) for title, runtime in timed if runtime > budget]
    failed = [title for _, title, data in pages if data.get("succeeded") is False]
    text = (
        f"The budget: every page must execute in at most {budget:g} s on the 2-core CPU machine "
        "that CI uses. "
    )
    if over:
        named = ", ".join(f"{title} ({runtime:.1f} s)" for title, runtime in over)
        text += f"Over it in this build, {len(over)} of {len(pages)} pages: {named}."
    else:
        text += f"In this build all {len(pages)} pages took at most that"
        if timed:
            title, runtime = max(timed, key=lambda item: item[1])
            text += f"; the slowest, {title}, took {runtime:.1f} s"
        text += "."
    if failed:
        text += f" Failed to execute: {', '.join(failed)}."
    return text


def execution_times(
    parent: str,
    metadata: Mapping[str, Mapping[str, Any]],
    titles: Mapping[str, str],
    budget: float,
    order: list[str] | None = None,
) -> list[nodes.Node]:
    """The summary and the table of ``{execution-times}`` on page ``parent``."""
    pages = [(doc, titles.get(doc, doc), data) for doc, data in executed_pages(metadata, order)]
    header = ("Page", "Executed", "Time", f"Budget ({budget:g} s)", "Status")
    table = table_node(header, [], widths=(30, 25, 12, 18, 15))
    tbody = next(iter(table.findall(nodes.tbody)))
    for docname, title, data in pages:
        runtime = data.get("runtime")
        mtime = data.get("mtime")
        verdict = budget_verdict(runtime, budget)
        link = pending_xref(
            refdoc=parent,
            reftarget=posixpath.relpath(docname, posixpath.dirname(parent)),
            reftype="doc",
            refdomain="std",
            refexplicit=True,
            refwarn=True,
            classes=["xref", "doc"],
        )
        link += nodes.inline(text=title)
        cells: list[nodes.Node] = [
            nodes.paragraph("", "", link),
            nodes.paragraph(
                text=format_date(datetime.fromtimestamp(mtime, tz=UTC)) if mtime else "unknown"
            ),
            nodes.paragraph(text="-" if runtime is None else f"{runtime:.1f} s"),
            nodes.paragraph("", "", nodes.strong(text=verdict))
            if verdict.startswith("over")
            else nodes.paragraph(text=verdict),
            nodes.paragraph(text="failed" if data.get("succeeded") is False else "succeeded"),
        ]
        row = nodes.row(classes=[OVER_CLASS] if verdict.startswith("over") else [])
        for cell in cells:
            row += nodes.entry("", cell)
        tbody += row
    return [nodes.paragraph(text=times_summary(pages, budget)), table]


class ExecutionTimesPlaceholder(nodes.General, nodes.Element):
    """Replaced by :func:`execution_times` once every page has been read (and executed)."""


class ExecutionTimesDirective(SphinxDirective):
    """``{execution-times}``: each executed page's time against the budget."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from myst_nb.sphinx_ import NbMetadataCollector

        NbMetadataCollector.set_doc_data(self.env, self.env.docname, MYST_NB_TABLE_MARK, True)
        return [ExecutionTimesPlaceholder()]


class ExecutionTimesTransform(SphinxPostTransform):
    default_priority = 8  # before the references (10) are resolved: the page links are xrefs

    def run(self, **kwargs: Any) -> None:
        placeholders = list(self.document.findall(ExecutionTimesPlaceholder))
        if not placeholders:
            return
        metadata = getattr(self.env, "nb_metadata", {})
        titles = {doc: title.astext() for doc, title in self.env.titles.items()}
        budget = float(self.config.jaxbook_page_time_budget)
        over = [
            f"{doc} ({data['runtime']:.1f} s)"
            for doc, data in executed_pages(metadata)
            if budget_verdict(data.get("runtime"), budget).startswith("over")
        ]
        if over:
            LOGGER.info(f"[status] over the {budget:g} s time budget: {', '.join(over)}")
        order = reading_order(self.env.toctree_includes, self.config.root_doc)
        for placeholder in placeholders:
            placeholder.replace_self(
                execution_times(self.env.docname, metadata, titles, budget, order)
            )


# --------------------------------------------------------------------------- verification


def common_tail(descriptions: list[str]) -> tuple[list[str], str | None]:
    """Column headers for the variants, and what they all share said once: ``cpu SSE4_2, 2
    threads (AMD EPYC), JAX 0.11.2`` gives ``cpu SSE4_2, 2 threads`` and ``AMD EPYC, JAX
    0.11.2`` when every variant ran on that CPU and JAX; else the full descriptions."""
    heads, tails = [], set()
    for description in descriptions:
        head, _, tail = description.partition(" (")
        heads.append(head)
        tails.add(tail)
    if len(tails) != 1 or len(set(heads)) != len(heads) or not next(iter(tails)):
        return list(descriptions), None
    return heads, next(iter(tails)).replace(")", "", 1)


def cpu_verification(variants_by_page: Mapping[str, list[str]]) -> list[nodes.Node]:
    """The CPU numerics named once, then a table: one row per page, one column per variant."""
    variants = list(dict.fromkeys(v for vs in variants_by_page.values() for v in vs))
    if not variants:
        return [
            nodes.paragraph(
                text="No page's recorded outputs are verified under other CPU numerics at "
                "present (an entry lapses when its page's records or code change)."
            )
        ]
    headers, shared = common_tail(variants)
    text = f" ran (all on {shared})" if shared else " ran"
    text += (
        ': "verified" means the page\'s current records held under it, "no" that they have not '
        "been checked under it since the page last changed."
    )
    paragraph = nodes.paragraph("", "Each column is a CPU numerics variant that ")
    paragraph += [nodes.literal(text="make numerics-matrix"), nodes.Text(text)]
    rows = [
        (page, *("verified" if v in verified else "no" for v in variants))
        for page, verified in variants_by_page.items()
    ]
    widths = (25, *[max(10, 75 // len(variants))] * len(variants))
    return [paragraph, table_node(("Page", *headers), rows, widths)]


def gpu_verification(root: Path, docnames: list[str]) -> list[nodes.Node]:
    """One row per page with records: the GPU and date, its cells, its claims; the versions
    are said once above the table when every run listed shares them, else in a column."""
    from booktools.gpu_verification import verified_on_gpu

    found = {docname: verified_on_gpu(docname, root) for docname in docnames}
    versions = {gpu_versions(gpu) for gpu in found.values() if gpu is not None}
    per_row = len(versions) > 1
    rows = []
    for docname, gpu in found.items():
        name = docname.removeprefix("book/")
        if gpu is None:
            has_records = (root / "tests" / "golden" / "gpu" / f"{name}.yml").exists()
            why = "not verified since it changed" if has_records else "no GPU has run it"
            row = {"GPU, date": why}
        else:
            row = {
                "GPU, date": f"{gpu.device}, {gpu.date}",
                "Versions": gpu_versions(gpu),
                "Cells matched, moved, failed": gpu_counts(gpu),
                "Claims": gpu_claims(gpu),
            }
        rows.append((f"{name}.md", row))
    header = ["Page", "GPU, date", "Cells matched, moved, failed", "Claims"]
    widths = [18, 22, 30, 30]
    if per_row:
        header.insert(2, "Versions")
        widths = [14, 16, 30, 20, 20]
    table = table_node(
        tuple(header),
        [(page, *(row.get(column, "") for column in header[1:])) for page, row in rows],
        tuple(widths),
    )
    if len(versions) == 1:
        return [nodes.paragraph(text=f"Every GPU run listed had {versions.pop()}."), table]
    return [table]


class NumericsVerificationDirective(SphinxDirective):
    """``{numerics-verification}``: for each page with records, under which CPU numerics and on
    which GPU they were verified."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from booktools.numerics_matrix import verified_variants

        root = Path(self.env.srcdir)
        for verified in ("verified.yml", "gpu-verified.yml"):
            self.env.note_dependency(str(root / "tests" / "numerics" / verified))
        variants_by_page, docnames = {}, []
        for record in sorted((root / "tests" / "golden").glob("*.yml")):
            self.env.note_dependency(str(record))
            self.env.note_dependency(str(record.parent / "gpu" / record.name))
            docname = f"book/{record.stem}"
            docnames.append(docname)
            variants_by_page[f"{record.stem}.md"] = verified_variants(docname, root)
        return [*cpu_verification(variants_by_page), *gpu_verification(root, docnames)]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("jaxbook_page_time_budget", PAGE_TIME_BUDGET_S, "env", [float, int])
    app.add_node(ExecutionTimesPlaceholder)
    app.add_directive("execution-times", ExecutionTimesDirective)
    app.add_post_transform(ExecutionTimesTransform)
    app.add_directive("numerics-verification", NumericsVerificationDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
