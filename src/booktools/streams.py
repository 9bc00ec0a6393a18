"""A code cell's stream outputs (``stdout``, ``stderr``): how they are merged, in one place.

A kernel sends a cell's printed text in chunks whose boundaries depend on timing (one
``print(a, b)`` can arrive as two). Two steps make them deterministic:

* :func:`join_chunks`, when a page is executed (``booktools.cache`` stores its result): the
  chunks of one stream joined into the first, text exactly as printed;
* :func:`as_rendered`, when an executed notebook is exported for the output checker and the
  "Download .ipynb" button: the cell's streams as the page shows them. ``_config.yml`` sets
  ``nb_merge_streams: true``, so myst-nb passes the cached outputs through its
  ``coalesce_streams`` when it renders a page; this applies the same function.

The chunks must be joined before myst-nb sees them: ``coalesce_streams`` ends each chunk with a
newline (``rstrip() + "\\n"``), so a line split between two chunks would be shown as two lines,
differently from build to build. After both steps a cell has at most one stream of each name,
so the checker reads each stream as it is (:func:`booktools.records.summarise_outputs`).
"""

from __future__ import annotations

from typing import Any


def join_chunks(outputs: list[Any]) -> list[Any]:
    """A cell's outputs with the stream outputs of one name joined into the first (in place),
    text exactly as the kernel sent it; other outputs keep their order."""
    joined, first = [], {}
    for output in outputs:
        if output.get("output_type") == "stream":
            name = output["name"]
            if name in first:
                first[name]["text"] += output["text"]
                continue
            first[name] = output
        joined.append(output)
    return joined


def as_rendered(outputs: list[Any]) -> list[Any]:
    """A cell's outputs as myst-nb renders them: one stream of each name, its text with ``\\r``
    overwrites applied and ending in one newline, ``stdout`` before an adjacent ``stderr``."""
    from myst_nb.core.utils import coalesce_streams

    return coalesce_streams(join_chunks(outputs))
