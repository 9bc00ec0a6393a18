"""Chapter "Functional purity": small helpers for looking at pytrees of parameters.

A model's parameters, an optimiser's state or a batch of data are *pytrees*: nested lists,
tuples and dicts (or registered classes) whose leaves are arrays. These helpers answer the
questions one asks about such a tree every day: which arrays does it hold, with which shapes,
and how many numbers in all. Later chapters import them.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np


def shapes(tree: Any) -> Any:
    """The tree with each leaf replaced by its shape: the talk's ``lambda p: p.shape`` trick.

    Leaves that are Python numbers get the shape ``()``. The result is for printing: its
    shapes are tuples, which are themselves pytree nodes, so do not feed it back to
    ``jax.tree.leaves``.
    """
    return jax.tree.map(np.shape, tree)


def count_params(tree: Any) -> int:
    """How many numbers the tree holds: the sum of the sizes of its leaves (``None`` counts 0)."""
    return sum(math.prod(np.shape(leaf)) for leaf in jax.tree.leaves(tree))


def _dtype_name(leaf: Any) -> str:
    dtype = getattr(leaf, "dtype", None)
    return str(dtype) if dtype is not None else type(leaf).__name__


def describe_tree(tree: Any) -> str:
    """A table with one row per leaf (path, shape, dtype, size) and a total line.

    Paths are written ``outer/inner`` (dict keys, list positions, dataclass fields), in the
    order ``jax.tree.leaves`` visits them: dict keys sorted.
    """
    leaves = jax.tree.flatten_with_path(tree)[0]
    rows = [
        (
            jax.tree_util.keystr(path, simple=True, separator="/") or "<root>",
            str(tuple(np.shape(leaf))),
            _dtype_name(leaf),
            f"{math.prod(np.shape(leaf)):,}",
        )
        for path, leaf in leaves
    ]
    header = ("path", "shape", "dtype", "size")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]

    def line(row: tuple[str, str, str, str]) -> str:
        left = "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=False))
        return f"{left}  {row[3].rjust(widths[3])}"

    total = count_params(tree)
    noun = "leaf" if len(rows) == 1 else "leaves"
    footer = f"total: {total:,} numbers in {len(rows)} {noun}"
    return "\n".join([line(header), *(line(row) for row in rows), footer])
