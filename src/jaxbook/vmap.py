"""Chapter "vmap": a linear layer, pairwise distances, a small loss, batch statistics with
collectives, the memory a batch costs, device-mesh helpers, and the page's timing chart.

The functions are written for **one** example; the page batches them with ``jax.vmap``. The
mesh helpers work with whatever devices exist: the page asks for 8 simulated CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=8``), the unit tests run with one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from jax.typing import ArrayLike


def single_linear(x: jax.Array, w: jax.Array, b: jax.Array) -> jax.Array:
    """The lecture's linear layer for one example: ``x`` (n,), ``w`` (n, m), ``b`` (m,) → (m,)."""
    return (x[:, None] * w).sum(axis=0) + b


# Map over axis 0 of x only; w and b are shared by every example.
batched_linear = jax.vmap(single_linear, in_axes=(0, None, None), out_axes=0)


def naively_batched(f: Callable[[jax.Array], jax.Array], xs: jax.Array) -> jax.Array:
    """Apply ``f`` to each row of ``xs`` in a Python loop and stack: the reference vmap beats."""
    return jnp.stack([f(x) for x in xs])


def distance(x: jax.Array, y: jax.Array) -> jax.Array:
    """Euclidean distance between two points of the same dimension."""
    return jnp.sqrt(jnp.sum((x - y) ** 2))


def pairwise_distances(xs: jax.Array, ys: jax.Array) -> jax.Array:
    """All distances ``d[i, j] = distance(xs[i], ys[j])`` from two nested vmaps.

    The inner vmap maps over ``ys`` for one ``x`` (a row of the matrix); the outer one maps
    that row function over ``xs``.
    """
    row = jax.vmap(distance, in_axes=(None, 0))
    return jax.vmap(row, in_axes=(0, None))(xs, ys)


def agree(actual: ArrayLike, expected: ArrayLike, rel: float = 1e-2) -> bool:
    """Same shape, and no entry further from ``expected`` than ``rel`` times its largest entry.

    The page compares results computed in different ways (a loop, a closed form, vmap). In
    float32 they differ in the last digits; on GPUs that use TF32 for float32 matrix products,
    in the third. A tolerance relative to the largest entry absorbs both and still catches a
    wrong formula, whose errors are of the size of the values themselves.
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        return False
    scale = float(np.max(np.abs(expected), initial=0.0))
    return bool(np.all(np.abs(actual - expected) <= rel * scale))


def squared_error(params: dict[str, jax.Array], x: jax.Array, y: jax.Array) -> jax.Array:
    """Loss of a linear model ``w·x + b`` on **one** example: ``(w·x + b - y)² / 2``."""
    residual = jnp.dot(params["w"], x) + params["b"] - y
    return 0.5 * residual**2


def batch_normalise(x: jax.Array, axis_name: str = "batch", eps: float = 1e-5) -> jax.Array:
    """Normalise **one** example by the mean and variance of the whole batch it belongs to.

    Written for one example; ``jax.lax.pmean`` over ``axis_name`` averages across the examples
    of the ``vmap`` (or ``shard_map``) that binds that axis name. Called outside such a
    transformation, the axis name is unbound and JAX raises ``NameError``.
    """
    mean = jax.lax.pmean(x, axis_name)
    variance = jax.lax.pmean((x - mean) ** 2, axis_name)
    return (x - mean) / jnp.sqrt(variance + eps)


def wide_layer(params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    """A hidden layer and a readout for **one** example: ``w2 @ tanh(w1 @ x)``.

    With ``w1`` of shape (hidden, features) its intermediate, ``tanh(w1 @ x)``, has ``hidden``
    entries per example: the memory that batching multiplies.
    """
    return params["w2"] @ jnp.tanh(params["w1"] @ x)


def wide_example(key: jax.Array, device: Any, batch: int = 1024) -> tuple[dict, jax.Array]:
    """Parameters of a ``wide_layer`` (``w1`` (4096, 64), ``w2`` (10, 4096), scaled so that
    the activations stay of order one) and a batch of ``batch`` examples of 64 features, all
    placed on ``device``."""
    key_w1, key_w2, key_xs = jax.random.split(key, 3)
    params = {
        "w1": jax.random.normal(key_w1, (4096, 64)) / 8,
        "w2": jax.random.normal(key_w2, (10, 4096)) / 64,
    }
    return jax.device_put(params, device), jax.device_put(
        jax.random.normal(key_xs, (batch, 64)), device
    )


def memory_table(memory: dict[str, dict[str, int]]) -> str:
    """``memory_bytes`` of several programs as a table: one row per name, the scratch
    (``temp``), output and input bytes in columns, with thousands separators."""
    lines = [f"{'':24}{'temp':>12}{'output':>9}{'inputs':>11}   (bytes)"]
    for name, m in memory.items():
        lines.append(f"{name:24}{m['temp']:>12,}{m['output']:>9,}{m['argument']:>11,}")
    return "\n".join(lines)


def memory_bytes(fn: Callable, *args) -> dict[str, int]:
    """The buffers XLA plans for ``jax.jit(fn)(*args)``, from its compiled program.

    ``temp`` is the scratch memory the program needs while it runs (the intermediates),
    ``output`` and ``argument`` the sizes of its results and inputs, in bytes. Nothing runs:
    the numbers come from compiling, for the device the arguments live on.
    """
    stats = jax.jit(fn).lower(*args).compile().memory_analysis()
    return {
        "temp": int(stats.temp_size_in_bytes),
        "output": int(stats.output_size_in_bytes),
        "argument": int(stats.argument_size_in_bytes),
    }


# ---------------------------------------------------------------------------- many devices


def cpu_mesh(n_devices: int | None = None, axis_name: str = "batch") -> Mesh:
    """A one-axis mesh over the first ``n_devices`` CPU devices (all of them by default).

    Asking for CPU devices explicitly keeps the result the same on a GPU machine, where
    ``jax.devices()`` would list the GPUs instead.
    """
    cpus = jax.devices("cpu")
    n = len(cpus) if n_devices is None else n_devices
    if not 1 <= n <= len(cpus):
        raise ValueError(f"asked for {n} CPU devices, but JAX sees {len(cpus)}")
    return jax.make_mesh((n,), (axis_name,), devices=cpus[:n])


def shard_rows(x: jax.Array, mesh: Mesh) -> jax.Array:
    """Place ``x`` on ``mesh`` with its first axis split across the mesh's (only) axis."""
    (axis,) = mesh.axis_names
    return jax.device_put(x, NamedSharding(mesh, P(axis)))


def shard_layout(x: jax.Array) -> list[str]:
    """One line per shard: the device holding it and the rows of ``x`` it holds."""
    lines = []
    for shard in sorted(x.addressable_shards, key=lambda s: s.device.id):
        rows = shard.index[0] if shard.index else slice(None)
        start, stop, _ = rows.indices(x.shape[0]) if x.ndim else (0, 1, 1)
        lines.append(f"{shard.device}: rows {start}:{stop}, shape {tuple(shard.data.shape)}")
    return lines


def sharded_linear(mesh: Mesh) -> Callable[[jax.Array, jax.Array, jax.Array], jax.Array]:
    """``batched_linear`` compiled for ``mesh``: examples split across devices, ``w`` and ``b``
    copied to every device, the output left split like the input."""
    (axis,) = mesh.axis_names
    split, copied = NamedSharding(mesh, P(axis)), NamedSharding(mesh, P())
    return jax.jit(batched_linear, in_shardings=(split, copied, copied), out_shardings=split)


def global_mean(mesh: Mesh) -> Callable[[jax.Array], jax.Array]:
    """Mean of a vector split across ``mesh``, written per device with ``shard_map``: each
    device sums its own block, ``psum`` adds the partial sums over the mesh axis."""
    (axis,) = mesh.axis_names

    def per_device(block: jax.Array) -> jax.Array:
        total = jax.lax.psum(jnp.sum(block), axis)
        count = jax.lax.psum(block.shape[0], axis)
        return total / count

    return jax.jit(jax.shard_map(per_device, mesh=mesh, in_specs=P(axis), out_specs=P()))


def batching_summary(timings: Sequence[Any]) -> dict[str, float]:
    """The page's glued numbers from its six batching timings (named as the page names them):
    the Python loop's and ``jit(vmap)``'s medians in µs, and the loop's time over each jitted
    version's (``naive_over_jit_vmap``, ``naive_over_jit_loop``)."""
    median = {t.name: t.median for t in timings}
    naive = median["Python loop + stack"]
    return {
        "naive_us": naive * 1e6,
        "jit_vmap_us": median["jit(vmap)"] * 1e6,
        "naive_over_jit_vmap": naive / median["jit(vmap)"],
        "naive_over_jit_loop": naive / median["jit(Python loop)"],
    }


# ---------------------------------------------------------------------------- the page's figure


def plot_batching_timings(timings: Sequence[Any], n_eager: int = 3):
    """Horizontal bars on a log axis, one per timing (median, with its spread as an error bar):
    the first ``n_eager`` orange (eager), the rest blue (jit); returns the figure."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    from jaxbook.plotting import new_figure

    fig, ax = new_figure()
    ax.barh(
        [t.name for t in timings],
        [t.median * 1e6 for t in timings],
        xerr=[t.spread * 1e6 for t in timings],
        color=["C1"] * n_eager + ["C0"] * (len(timings) - n_eager),
    )
    ax.set_xscale("log")
    ax.set_xlim(left=10 ** np.floor(np.log10(min(t.median for t in timings) * 1e6)))
    left, right = ax.get_xlim()  # ticks at 1, 2, 5 × 10ⁿ while they fit, else at powers of ten
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5) if np.log10(right / left) < 2.5 else (1,)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("time per batch of 10 (µs, log scale)")
    ax.invert_yaxis()
    ax.legend(
        handles=[Patch(color="C1", label="eager"), Patch(color="C0", label="jit")],
        loc="lower right",
    )
    ax.set_title("150 × 100 matrix times a batch of 10 vectors")
    return fig
