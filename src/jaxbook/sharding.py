"""Chapter "Parallelism and sharding": meshes of CPU devices, where an array's blocks live,
the collectives XLA inserts, and a small data-parallel training loop three ways.

Meshes are built from ``jax.devices("cpu")`` so that the page computes the same thing on the
book's GPU build, whose default device is a GPU. The training loop is a ``lax.scan`` inside
one ``jit``: one dispatch for all steps, so the eight simulated devices never wait for each
other across calls (on a CPU with few cores, many collective programs dispatched back to back
can stall).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxbook import ml_basics

Params = Any

# ---------------------------------------------------------------------------------- meshes


def cpu_mesh(
    shape: Sequence[int] = (2, 4), names: Sequence[str] = ("data", "model"), auto: bool = False
) -> Mesh:
    """A mesh of the first ``prod(shape)`` CPU devices with named axes.

    ``jax.make_mesh`` makes *explicit* axes (a sharding is part of an array's type); ``auto``
    asks for *automatic* ones, whose layouts the compiler chooses.
    """
    n = int(np.prod(shape))
    cpus = jax.devices("cpu")
    if n > len(cpus):
        raise ValueError(
            f"a mesh of shape {tuple(shape)} needs {n} CPU devices, JAX sees {len(cpus)}"
        )
    axis_types = (AxisType.Auto if auto else AxisType.Explicit,) * len(shape)
    return jax.make_mesh(tuple(shape), tuple(names), axis_types, devices=cpus[:n])


def place(x: jax.Array, mesh: Mesh, *spec: str | None) -> jax.Array:
    """``x`` put on ``mesh`` with ``PartitionSpec(*spec)``: ``place(x, mesh, "data")``."""
    return jax.device_put(x, NamedSharding(mesh, P(*spec)))


def _block(index: tuple[slice, ...], shape: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    return tuple(s.indices(n)[:2] for s, n in zip(index, shape, strict=True))


def shard_blocks(x: jax.Array) -> dict[tuple[tuple[int, int], ...], list[int]]:
    """Which devices hold each block of ``x``: ``{((row0, row1), (col0, col1)): [ids]}``, one
    ``(start, stop)`` pair per axis, the devices of a block sorted, blocks in array order."""
    blocks: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for shard in x.addressable_shards:
        blocks.setdefault(_block(shard.index, x.shape), []).append(shard.device.id)
    return {block: sorted(ids) for block, ids in sorted(blocks.items())}


def describe_blocks(x: jax.Array) -> list[str]:
    """One line per block of ``x``: its index range per axis, its shape and its devices."""
    lines = []
    for block, ids in shard_blocks(x).items():
        ranges = ", ".join(f"{a}:{b}" for a, b in block)
        shape = tuple(b - a for a, b in block)
        lines.append(f"[{ranges}] shape {shape} on devices {ids}")
    return lines


# ----------------------------------------------------------------------------- collectives

COLLECTIVES = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "collective-permute")
# "all-reduce(" on a CPU, "all-reduce-start(" where XLA makes it asynchronous (on GPUs)
_COLLECTIVE_OP = re.compile(r"\s(" + "|".join(COLLECTIVES) + r")(?:-start)?\(")


def count_collectives(hlo_text: str) -> Counter[str]:
    """How many of each collective operation a compiled module's text contains."""
    return Counter(match.group(1) for match in _COLLECTIVE_OP.finditer(hlo_text))


def compiled_collectives(fn: Callable[..., Any], *args: Any) -> Counter[str]:
    """The collectives XLA put into ``jax.jit(fn)`` compiled for ``args`` (their shardings
    included)."""
    return count_collectives(jax.jit(fn).lower(*args).compile().as_text())


# ------------------------------------------------------------------------ data parallelism


@partial(jax.jit, static_argnames="n")
def regression_data(key: jax.Array, n: int = 256) -> tuple[jax.Array, jax.Array]:
    """``n`` examples of four standard normal features and a noisy nonlinear target
    ``sin(2 x0) + x1 x2 / 2``, shape ``(n, 4)`` and ``(n, 1)``."""
    key_x, key_noise = jax.random.split(key)
    x = jax.random.normal(key_x, (n, 4))
    target = jnp.sin(2 * x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]
    return x, target + 0.1 * jax.random.normal(key_noise, (n, 1))


def init_params(key: jax.Array, hidden: int = 32) -> Params:
    """A 4-``hidden``-1 MLP, as ``jaxbook.ml_basics.init_mlp`` makes it."""
    return ml_basics.init_mlp(key, (4, hidden, 1))


def mse_loss(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean squared error of the tanh MLP of ``jaxbook.ml_basics`` on the batch ``(x, y)``."""
    return jnp.mean((ml_basics.mlp_forward(params, x, jnp.tanh) - y) ** 2)


def sgd_step(params: Params, x: jax.Array, y: jax.Array, rate: float):
    """One step of gradient descent on the whole batch; returns the new parameters and the
    loss before the step."""
    loss, grads = jax.value_and_grad(mse_loss)(params, x, y)
    return jax.tree.map(lambda p, g: p - rate * g, params, grads), loss


def train(params: Params, x: jax.Array, y: jax.Array, steps: int = 300, rate: float = 0.1):
    """``steps`` full-batch SGD steps in one ``lax.scan``; returns the parameters and the loss
    of every step. Jit it: the shardings of its arguments decide where it runs."""
    return jax.lax.scan(lambda p, _: sgd_step(p, x, y, rate), params, length=steps)


def shard_map_train(
    mesh: Mesh, axis: str = "data", steps: int = 300, rate: float = 0.1
) -> Callable[[Params, jax.Array, jax.Array], tuple[Params, jax.Array]]:
    """``train`` written per device: each device holds its block of the batch and a copy of the
    parameters, and differentiates the *global* loss, the ``pmean`` of the block losses.

    Because the parameters are the same on every device (``in_specs=P()``), the derivative of
    the ``pmean`` sums the block gradients over the devices: the gradient arrives averaged and
    replicated, and no ``pmean`` of the gradient is needed.
    """

    def global_loss(params, x_block, y_block):
        return jax.lax.pmean(mse_loss(params, x_block, y_block), axis)

    def step(params, x_block, y_block):
        loss, grads = jax.value_and_grad(global_loss)(params, x_block, y_block)
        return jax.tree.map(lambda p, g: p - rate * g, params, grads), loss

    def per_device(params, x_block, y_block):
        return jax.lax.scan(lambda p, _: step(p, x_block, y_block), params, length=steps)

    sharded = jax.shard_map(
        per_device, mesh=mesh, in_specs=(P(), P(axis), P(axis)), out_specs=(P(), P())
    )
    return jax.jit(sharded)


def block_gradient(
    mesh: Mesh, axis: str = "data", average: bool = True
) -> Callable[[Params, jax.Array, jax.Array], Params]:
    """The pmap-era recipe inside ``shard_map``: the gradient of each device's *block* loss,
    then (``average``) its ``pmean``. Returns the gradient, replicated."""

    def per_device(params, x_block, y_block):
        grads = jax.grad(mse_loss)(params, x_block, y_block)
        return jax.lax.pmean(grads, axis) if average else grads

    return jax.jit(
        jax.shard_map(per_device, mesh=mesh, in_specs=(P(), P(axis), P(axis)), out_specs=P())
    )


def max_abs_diff(a: Any, b: Any) -> float:
    """The largest absolute difference between two pytrees of arrays of one structure."""
    diffs = jax.tree.map(lambda u, v: float(jnp.max(jnp.abs(u - v))), a, b)
    return max(jax.tree.leaves(diffs))


def fully_replicated(tree: Any) -> bool:
    """Whether every leaf of a pytree of arrays has a full copy on each of its devices."""
    return all(leaf.sharding.is_fully_replicated for leaf in jax.tree.leaves(tree))


def specs(tree: Any) -> list[str]:
    """The ``PartitionSpec`` of every leaf of a pytree of arrays, as text."""
    return [str(leaf.sharding.spec) for leaf in jax.tree.leaves(tree)]


# --------------------------------------------------------------------------------- figure


def plot_layouts(arrays: dict[str, jax.Array]):
    """One panel per array (at most four, two by two): its elements coloured by the block they
    belong to, each block labelled with the devices that hold it; returns the figure."""
    from matplotlib.patches import Rectangle

    from jaxbook.plotting import PALETTE, new_figure

    if not 1 <= len(arrays) <= 4:
        raise ValueError(f"plot_layouts draws one to four arrays, got {len(arrays)}")
    fig, axes = new_figure(ncols=2, nrows=2, figsize=(5.6, 4.6))
    for ax in axes.flat[len(arrays) :]:
        ax.set_visible(False)
    for ax, (title, x) in zip(axes.flat, arrays.items(), strict=False):
        rows, cols = x.shape
        for i, (((r0, r1), (c0, c1)), ids) in enumerate(shard_blocks(x).items()):
            ax.add_patch(
                Rectangle(
                    (c0, r0),
                    c1 - c0,
                    r1 - r0,
                    facecolor=PALETTE[i % 7],
                    alpha=0.55,
                    edgecolor="black",
                    lw=1.5,
                )
            )
            label = "all" if len(ids) == len(jax.devices("cpu")) else ",".join(map(str, ids))
            ax.text((c0 + c1) / 2, (r0 + r1) / 2, label, ha="center", va="center", fontsize=11)
        ax.set_xlim(0, cols)
        ax.set_ylim(rows, 0)  # row 0 at the top, as the array prints
        ax.set_aspect("equal")
        ax.set_xticks([0, cols // 2, cols])
        ax.set_yticks([0, rows // 2, rows])
        ax.grid(False)
        ax.set_title(title, fontsize=11)
    fig.supxlabel("column of the 8 × 8 array", fontsize=11)
    fig.supylabel("row", fontsize=11)
    return fig
