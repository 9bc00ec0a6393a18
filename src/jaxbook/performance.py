"""Performance in practice: read a profiler trace, measure precision, use the persistent cache.

* :func:`record_trace` runs a function a few times under ``jax.profiler.trace`` and returns the
  trace file the profiler wrote (``*.trace.json.gz``, gzip-compressed JSON in the Chrome trace
  format, which https://ui.perfetto.dev opens); :func:`read_trace` turns it into
  :class:`TraceEvent` rows, :func:`op_totals` adds up the time of each XLA operation, and
  :func:`op_sources` names the line of JAX code each operation came from.
* :func:`matmul_errors` measures how far a float32, bfloat16 or lower-precision matrix product
  lands from a float64 NumPy reference; :func:`plot_precision` draws it.
* :func:`persistent_cache` switches JAX's persistent compilation cache on for one block and
  restores the settings afterwards; :func:`monitoring_events` counts what JAX reports meanwhile
  (``/jax/compilation_cache/cache_hits``, ...).
"""

from __future__ import annotations

import collections
import contextlib
import gzip
import json
import re
import statistics
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxbook.plotting import new_figure
from jaxbook.timing import block

# ------------------------------------------------------------------------------ the model


def init_mlp(key: jax.Array, sizes: tuple[int, int, int]) -> dict[str, jax.Array]:
    """Parameters of a two-layer perceptron ``sizes = (inputs, hidden, outputs)``."""
    n_in, n_hidden, n_out = sizes
    k1, k2 = jax.random.split(key)
    return {
        "w1": jax.random.normal(k1, (n_in, n_hidden)) / np.sqrt(n_in),
        "b1": jnp.zeros(n_hidden),
        "w2": jax.random.normal(k2, (n_hidden, n_out)) / np.sqrt(n_hidden),
        "b2": jnp.zeros(n_out),
    }


def mlp_loss(params: Mapping[str, jax.Array], x: jax.Array) -> jax.Array:
    """Mean log-sum-exp of a two-layer perceptron's outputs, each layer in a named scope."""
    with jax.named_scope("hidden"):
        h = jnp.tanh(x @ params["w1"] + params["b1"])
    with jax.named_scope("output"):
        logits = h @ params["w2"] + params["b2"]
    return jnp.mean(jax.nn.logsumexp(logits, axis=-1))


# ------------------------------------------------------------------------- the trace file


@dataclass(frozen=True)
class TraceEvent:
    """One complete event of a trace: what ran, where, when and for how long (µs)."""

    name: str
    process: str  # "/host:CPU", or "/device:GPU:0 ..." for a GPU's kernels
    thread: str
    start_us: float
    duration_us: float
    hlo_op: str | None  # the XLA instruction, for an event that ran one


def record_trace(
    fn: Callable[..., Any],
    *args: Any,
    log_dir: str | Path,
    steps: int = 5,
    annotation: str = "step",
) -> Path:
    """Call ``fn(*args)`` ``steps`` times under the profiler, each call (waited for) inside a
    ``TraceAnnotation(annotation)``; return the path of the trace file the profiler wrote."""
    block(fn(*args))  # compile before tracing: the trace shows steady-state calls
    with jax.profiler.trace(str(log_dir)):
        for _ in range(steps):
            with jax.profiler.TraceAnnotation(annotation):
                block(fn(*args))
    # <log_dir>/plugins/profile/<date_time>/<host>.trace.json.gz, one per trace
    return max(
        Path(log_dir).glob("plugins/profile/*/*.trace.json.gz"), key=lambda p: p.stat().st_mtime
    )


def read_trace(path: str | Path) -> list[TraceEvent]:
    """The complete events (``"ph": "X"``) of a trace file, with process and thread names."""
    with gzip.open(path, "rt", encoding="utf-8") as file:
        trace = json.load(file)
    processes, threads = {}, {}
    for event in trace["traceEvents"]:
        if event.get("ph") == "M" and event.get("name") == "process_name":
            processes[event["pid"]] = event["args"]["name"]
        elif event.get("ph") == "M" and event.get("name") == "thread_name":
            threads[event["pid"], event["tid"]] = event["args"]["name"]
    return [
        TraceEvent(
            name=event["name"],
            process=processes.get(event.get("pid"), ""),
            thread=threads.get((event.get("pid"), event.get("tid")), ""),
            start_us=float(event["ts"]),
            duration_us=float(event.get("dur", 0.0)),
            hlo_op=event.get("args", {}).get("hlo_op"),
        )
        for event in trace["traceEvents"]
        if event.get("ph") == "X"
    ]


def op_events(events: list[TraceEvent]) -> list[TraceEvent]:
    """The events that ran an XLA operation: on the accelerator where the trace has one (its
    kernels), else on the host's CPU."""
    ops = [e for e in events if e.hlo_op]
    on_device = [e for e in ops if e.process.startswith("/device:")]
    return on_device or ops


def op_totals(events: list[TraceEvent]) -> dict[str, float]:
    """Total µs spent in each XLA operation, largest first."""
    totals: collections.Counter[str] = collections.Counter()
    for event in op_events(events):
        totals[event.hlo_op] += event.duration_us
    return dict(totals.most_common())


def durations(events: list[TraceEvent], name: str) -> list[float]:
    """The durations (µs) of every event called ``name``, in the order they started."""
    return [e.duration_us for e in sorted(events, key=lambda e: e.start_us) if e.name == name]


_INSTRUCTION = re.compile(r'^\s*(?:ROOT )?%(\S+) = .*?metadata=\{op_name="([^"]*)"', re.MULTILINE)


def op_sources(compiled_text: str) -> dict[str, str]:
    """``{XLA instruction: the JAX operation it came from}``, read from the metadata of a
    compiled program's text (``jax.jit(f).lower(...).compile().as_text()``): for example
    ``{"dot.1": "jit(mlp_loss)/transpose(jvp(output))/transpose", ...}``. Named scopes
    (``jax.named_scope``) appear in these paths."""
    return {name: op_name for name, op_name in _INSTRUCTION.findall(compiled_text)}


def time_by_scope(
    totals: Mapping[str, float], sources: Mapping[str, str], scopes: tuple[str, ...]
) -> dict[str, float]:
    """Share of the operations' time in each of the named ``scopes`` (by the JAX operation's
    path), with what falls in none of them as ``"other"``."""
    shares = dict.fromkeys([*scopes, "other"], 0.0)
    for op, micros in totals.items():
        parts = set(re.split(r"[/()]", sources.get(op, "")))
        scope = next((s for s in scopes if s in parts), "other")
        shares[scope] += micros
    total = sum(shares.values()) or 1.0
    return {scope: micros / total for scope, micros in shares.items()}


def step_summary(events: list[TraceEvent], annotation: str, call: str) -> dict[str, float]:
    """Median µs per step: the whole annotated step (until the result was ready), the call
    that dispatched it (the host returning, ``call`` is its event name, ``PjitFunction(f)``),
    and the XLA operations of one step."""
    steps = durations(events, annotation)
    calls = durations(events, call)
    ops = sum(e.duration_us for e in op_events(events))
    return {
        "step_us": statistics.median(steps),
        "dispatch_us": statistics.median(calls) if calls else float("nan"),
        "ops_us": ops / max(len(steps), 1),
    }


# ------------------------------------------------------------------------------ precision


def relative_error(result: Any, reference: np.ndarray) -> float:
    """‖result − reference‖ / ‖reference‖, in float64 (Frobenius norm)."""
    result = np.asarray(result, dtype=np.float64)
    return float(np.linalg.norm(result - reference) / np.linalg.norm(reference))


def matmul_errors(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Relative error of ``a @ b`` computed several ways in JAX, against float64 NumPy."""
    reference = np.asarray(a, np.float64) @ np.asarray(b, np.float64)
    a32, b32 = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
    a16, b16 = a32.astype(jnp.bfloat16), b32.astype(jnp.bfloat16)
    highest = jax.lax.Precision.HIGHEST
    ways = {
        "float32, HIGHEST": lambda: jnp.matmul(a32, b32, precision=highest),
        "float32, default": lambda: jnp.matmul(a32, b32),
        "bfloat16 in, float32 out": lambda: jnp.matmul(
            a16, b16, preferred_element_type=jnp.float32
        ),
        "bfloat16": lambda: jnp.matmul(a16, b16),
    }
    return {name: relative_error(way(), reference) for name, way in ways.items()}


def plot_precision(errors: Mapping[str, float], title: str):
    """Horizontal bars of relative errors on a log axis, with each format's unit roundoff."""
    fig, ax = new_figure()
    names = list(errors)
    ax.barh(names, [errors[n] for n in names], color="C0")
    for dtype, style in ((jnp.float32, ":"), (jnp.bfloat16, "--")):
        eps = float(jnp.finfo(dtype).eps) / 2
        ax.axvline(eps, color="C3", linestyle=style, label=f"{jnp.dtype(dtype).name} rounding")
    ax.set_xscale("log")
    ax.set_xlabel("relative error against float64 (log scale)")
    ax.invert_yaxis()
    ax.legend(loc="upper right", framealpha=1.0)
    ax.set_title(title)
    return fig, ax


# ------------------------------------------------------------------ the persistent cache


@contextlib.contextmanager
def persistent_cache(directory: str | Path) -> Iterator[Path]:
    """Cache every compiled program in ``directory`` during the block, however fast it
    compiled and however small it is; restore the earlier settings afterwards."""
    from jax.experimental.compilation_cache import compilation_cache

    settings = {
        "jax_compilation_cache_dir": str(directory),
        "jax_persistent_cache_min_compile_time_secs": 0.0,
        "jax_persistent_cache_min_entry_size_bytes": 0,
    }
    saved = {name: getattr(jax.config, name) for name in settings}
    compilation_cache.reset_cache()  # the cache reads its settings once: start afresh
    for name, value in settings.items():
        jax.config.update(name, value)
    try:
        yield Path(directory)
    finally:
        for name, value in saved.items():
            jax.config.update(name, value)
        compilation_cache.reset_cache()


@contextlib.contextmanager
def monitoring_events(prefix: str = "") -> Iterator[collections.Counter[str]]:
    """Count the events JAX records (``jax.monitoring``) during the block, by name, keeping
    those whose name starts with ``prefix``."""
    counts: collections.Counter[str] = collections.Counter()

    def listener(event: str, **_: Any) -> None:
        if event.startswith(prefix):
            counts[event] += 1

    jax.monitoring.register_event_listener(listener)
    try:
        yield counts
    finally:
        jax.monitoring.unregister_event_listener(listener)
