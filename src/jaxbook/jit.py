"""Chapter "jit": the functions the chapter compiles, and tools to watch what ``jax.jit`` does.

* :func:`selu` and :func:`selu_step_by_step` are the lectures' examples;
* :func:`trim_hlo`, :func:`entry_instructions` and :func:`count_fusions` read XLA's compiled
  program;
* :class:`CompileCounter` counts how often a jitted function is traced (= compiled);
* :func:`bucket_size`, :func:`pad_to_bucket` and :func:`masked_mean_selu` avoid recompiling
  for every new input length;
* :func:`derivative_table` checks which structured control flow reverse mode differentiates;
* :func:`captured_jax_warnings`, :func:`compiled_functions` and :func:`cache_miss_explanations`
  read what ``jax_log_compiles`` and ``jax_explain_cache_misses`` log;
* :func:`plot_compile_times` and :func:`plot_bucket_compilations` draw "jit's pitfalls" figures.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxbook.timing import block

# --------------------------------------------------------------------------- the lectures' selu


def selu(x: jax.Array, alpha: float = 1.67, lambda_: float = 1.05) -> jax.Array:
    """The scaled exponential linear unit, written as in the lectures."""
    return lambda_ * jnp.where(x > 0, x, alpha * jnp.exp(x) - alpha)


def selu_step_by_step(x: jax.Array, alpha: float = 1.67, lambda_: float = 1.05) -> jax.Array:
    """The same function one operation per line, as the lecture spells it out: run eagerly,
    every line is a separate computation that reads and writes a whole array."""
    original_x = x
    x = jnp.exp(x)
    x = alpha * x
    x = x - alpha
    x = jnp.where(original_x > 0, original_x, x)
    x = lambda_ * x
    return x


def primitive_names(closed_jaxpr: jax.extend.core.ClosedJaxpr) -> list[str]:
    """The top-level operations of a jaxpr, in order. Run eagerly, each is dispatched on its
    own (a nested ``jit``, such as the one inside ``jnp.where``, counts as one)."""
    return [eqn.primitive.name for eqn in closed_jaxpr.jaxpr.eqns]


# --------------------------------------------------------------------------- compiled programs

_COMPUTATION_START = re.compile(r"^(ENTRY )?%\S+ \(.*\) -> .* \{$")
# `%name = TYPE opcode(...)`, where TYPE is a shape like `f32[10]{0}` or a tuple of shapes.
_INSTRUCTION = re.compile(r"^\s+(?:ROOT )?%\S+ = (?:\([^()]*\)|\S+) ([\w-]+)\(")
_DROPPED_ATTRIBUTES = ("metadata", "backend_config", "frontend_attributes", "origin")


def _drop_attribute(line: str, name: str) -> str:
    """Remove ``, name={...}`` (braces may nest, as in GPU backend configs) or ``, name="..."``."""
    marker = f", {name}="
    while (start := line.find(marker)) >= 0:
        i = start + len(marker)
        if i < len(line) and line[i] == "{":
            depth = 0
            for j in range(i, len(line)):
                depth += {"{": 1, "}": -1}.get(line[j], 0)
                if depth == 0:
                    break
            end = j + 1
        elif i < len(line) and line[i] == '"':
            end = line.index('"', i + 1) + 1
        else:
            end = line.find(",", i) if line.find(",", i) >= 0 else len(line)
        line = line[:start] + line[end:]
    return line


def trim_hlo(hlo_text: str) -> str:
    """XLA's compiled HLO, keeping only what a reader needs: the computations and their
    instructions, without source locations, metadata and backend configuration."""
    lines = hlo_text.splitlines()
    kept: list[str] = []
    if lines and lines[0].startswith("HloModule"):
        kept.append(lines[0].split(",", 1)[0])
    inside = False
    for line in lines:
        if _COMPUTATION_START.match(line):
            inside = True
            kept.append("")
        if inside:
            for name in _DROPPED_ATTRIBUTES:
                line = _drop_attribute(line, name)
            kept.append(line.rstrip())
        if line == "}":
            inside = False
    return "\n".join(kept).strip()


def _computation(hlo_text: str, entry: bool) -> list[str]:
    lines, inside = [], False
    for line in hlo_text.splitlines():
        match = _COMPUTATION_START.match(line)
        if match:
            inside = bool(match.group(1)) == entry
            continue
        if line == "}":
            inside = False
        elif inside:
            lines.append(line)
    return lines


def _opcodes(hlo_text: str, entry: bool) -> list[str]:
    """Opcodes of the entry computation (``entry=True``) or of the fused ones, without
    parameters and constants, which cost nothing to run."""
    opcodes = []
    for line in _computation(hlo_text, entry=entry):
        match = _INSTRUCTION.match(line)
        if match and match.group(1) not in ("parameter", "constant"):
            opcodes.append(match.group(1))
    return opcodes


def entry_instructions(hlo_text: str) -> list[str]:
    """The opcodes of the compiled program's entry computation: what actually runs, one kernel
    or library call each."""
    return _opcodes(hlo_text, entry=True)


def count_fusions(hlo_text: str) -> int:
    """How many fused kernels the entry computation launches."""
    return entry_instructions(hlo_text).count("fusion")


def fused_instructions(hlo_text: str) -> list[str]:
    """The opcodes inside the fused computations: the work the fusions do in one pass."""
    return _opcodes(hlo_text, entry=False)


def first_call_stages(fn: Callable[..., Any], *args: Any) -> dict[str, float]:
    """Seconds spent in each stage of the first call of ``jax.jit(fn)(*args)``: tracing to a
    jaxpr, lowering to StableHLO, compiling with XLA, and running (waiting for the result).

    The stages are timed one by one with jit's ahead-of-time API. Pass a function jit has not
    seen: jit caches traces by function, so ``jax.jit(f)`` of a known ``f`` skips the work.
    """
    jitted = jax.jit(fn)
    start = time.perf_counter()
    traced = jitted.trace(*args)
    traced_at = time.perf_counter()
    lowered = traced.lower()
    lowered_at = time.perf_counter()
    compiled = lowered.compile()
    compiled_at = time.perf_counter()
    block(compiled(*args))
    ran_at = time.perf_counter()
    return {
        "trace": traced_at - start,
        "lower": lowered_at - traced_at,
        "compile": compiled_at - lowered_at,
        "run": ran_at - compiled_at,
    }


def bandwidth(nbytes: int, seconds: float) -> float:
    """Bytes per second."""
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    return nbytes / seconds


# --------------------------------------------------------------------------- control flow


def clip_by_norm_python(g: jax.Array, max_norm: float) -> jax.Array:
    """Gradient clipping with a Python ``if``: fine eagerly, fails under ``jax.jit``."""
    norm = jnp.linalg.norm(g)
    if norm > max_norm:
        g = g * (max_norm / norm)
    return g


def clip_by_norm_where(g: jax.Array, max_norm: float) -> jax.Array:
    """The same with ``jnp.where``: both branches are computed, one is selected."""
    norm = jnp.linalg.norm(g)
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_by_norm_cond(g: jax.Array, max_norm: float) -> jax.Array:
    """The same with ``jax.lax.cond``: the compiled program branches."""
    norm = jnp.linalg.norm(g)
    return jax.lax.cond(norm > max_norm, lambda g: g * (max_norm / norm), lambda g: g, g)


def newton_sqrt(a: jax.Array, tol: float = 1e-6) -> jax.Array:
    """√a for a scalar ``a > 0`` by Newton's method until ``|y² − a| <= tol·a``, with
    ``jax.lax.while_loop``: a loop whose number of steps depends on the data cannot be a Python
    ``while`` under jit."""

    def not_converged(y: jax.Array) -> jax.Array:
        return jnp.abs(y * y - a) > tol * a

    def step(y: jax.Array) -> jax.Array:
        return 0.5 * (y + a / y)

    return jax.lax.while_loop(not_converged, step, jnp.maximum(a, 1.0))


def derivatives_under_jit(fn: Callable[..., Any], x: float, n: int) -> dict[str, str]:
    """``fn(x, n)``, its forward-mode derivative (``jax.jvp``) and its reverse-mode derivative
    (``jax.grad``) with respect to ``x``, each under ``jax.jit`` with ``n`` traced: the value
    as text, or the name of the error the transformation raises."""

    @jax.jit
    def value_and_forward(x: jax.Array, n: jax.Array) -> tuple[jax.Array, jax.Array]:
        return jax.jvp(lambda x: fn(x, n), (x,), (jnp.ones_like(x),))

    results = {}
    try:
        value, tangent = value_and_forward(x, n)
        results["f(x)"], results["jvp"] = str(float(value)), str(float(tangent))
    except Exception as error:  # the type of the error is the result
        results["f(x)"] = results["jvp"] = type(error).__name__
    try:
        results["grad"] = str(float(jax.jit(jax.grad(fn))(x, n)))
    except Exception as error:
        results["grad"] = type(error).__name__
    return results


def derivative_table(functions: dict[str, Callable[..., Any]], x: float, n: int) -> str:
    """A text table of :func:`derivatives_under_jit` for each named function."""
    width = max(len(name) for name in functions) + 2
    lines = [f"{'':<{width}}{'f(x)':>6}{'jvp (forward)':>15}{'grad (reverse)':>16}"]
    for name, fn in functions.items():
        row = derivatives_under_jit(fn, x, n)
        lines.append(f"{name:<{width}}{row['f(x)']:>6}{row['jvp']:>15}{row['grad']:>16}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- loops


def euler_step(x: jax.Array) -> jax.Array:
    """One explicit Euler step of dx/dt = sin(x) with dt = 0.1: the body of every loop below."""
    return x + 0.1 * jnp.sin(x)


def euler_unrolled(x: jax.Array, n: int) -> jax.Array:
    """``n`` steps with a Python loop: under jit, tracing unrolls it into ``n`` copies."""
    for _ in range(n):
        x = euler_step(x)
    return x


def euler_fori(x: jax.Array, n: int) -> jax.Array:
    """``n`` steps with ``jax.lax.fori_loop``: the body is traced once, whatever ``n``."""
    return jax.lax.fori_loop(0, n, lambda _, x: euler_step(x), x)


def euler_scan(x: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
    """``n`` steps with ``jax.lax.scan``, which also returns every intermediate state."""

    def body(x: jax.Array, _: None) -> tuple[jax.Array, jax.Array]:
        x = euler_step(x)
        return x, x

    return jax.lax.scan(body, x, length=n)


# --------------------------------------------------------------------------- recompilation


def describe_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``(f32[3], i32[] weak, mode='fast')``: what jit keys its cache on, as seen while tracing:
    shape and dtype for arrays (and whether the dtype is weak, i.e. came from a Python number),
    the value itself for static arguments."""

    def one(value: Any) -> str:
        if isinstance(value, jax.core.Tracer):
            aval = jax.typeof(value)
            weak = " weak" if getattr(aval, "weak_type", False) else ""
            return aval.str_short(short_dtypes=True) + weak
        return repr(value)

    parts = [one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


class CompileCounter:
    """``jax.jit(fn, **jit_kwargs)`` that counts how often ``fn`` is traced.

    jit traces a function once per new *signature* (shapes, dtypes and static arguments) and
    compiles what it traced, so the number of traces is the number of compilations. The
    counting is a Python side effect inside the traced function, which runs at trace time only:
    exactly the behaviour that makes side effects a pitfall elsewhere is what we want here.
    """

    def __init__(self, fn: Callable[..., Any], **jit_kwargs: Any) -> None:
        self.fn = fn
        self.signatures: list[str] = []

        @functools.wraps(fn)
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.signatures.append(describe_arguments(args, kwargs))
            return fn(*args, **kwargs)

        self.jitted = jax.jit(counted, **jit_kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.jitted(*args, **kwargs)

    @property
    def traces(self) -> int:
        return len(self.signatures)

    def cache_size(self) -> int:
        """Entries in jit's own cache of compiled executables (a private but stable API)."""
        return self.jitted._cache_size()


def bucket_size(n: int, smallest: int = 16) -> int:
    """The smallest power-of-two multiple of ``smallest`` that holds ``n`` elements."""
    if n < 0:
        raise ValueError(f"a length cannot be negative, got {n}")
    if smallest < 1:
        raise ValueError(f"smallest must be at least 1, got {smallest}")
    size = smallest
    while size < n:
        size *= 2
    return size


def pad_to_bucket(x: np.ndarray, smallest: int = 16) -> tuple[np.ndarray, int]:
    """Pad a 1-D host array with zeros to :func:`bucket_size` of its length; return the padded
    array and the true length. NumPy pads on the host: padding with ``jnp.pad`` would itself
    compile a small program for every new length."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D array, got shape {x.shape}")
    n = x.shape[0]
    return np.pad(x, (0, bucket_size(n, smallest) - n)), n


def mean_selu(x: jax.Array) -> jax.Array:
    """The mean of ``selu`` over a 1-D array: its shape, so its compilation, follows ``len(x)``."""
    return jnp.mean(selu(x))


def masked_mean_selu(padded: jax.Array, length: jax.Array | int) -> jax.Array:
    """:func:`mean_selu` of ``padded[:length]``, computed on the whole padded array so that the
    shape, hence the compilation, depends only on the bucket. ``length`` is traced, not static."""
    valid = jnp.arange(padded.shape[0]) < length
    return jnp.sum(jnp.where(valid, selu(padded), 0.0)) / length


# --------------------------------------------------------------------------- JAX's own logs


class _ListHandler(logging.Handler):
    def __init__(self, messages: list[str]) -> None:
        super().__init__(level=logging.WARNING)
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def captured_jax_warnings() -> Iterator[list[str]]:
    """Collect what JAX logs at WARNING level or above while the block runs, instead of
    letting it reach stderr. ``jax_log_compiles`` and ``jax_explain_cache_misses`` write their
    messages through the ``jax`` logger of Python's :mod:`logging` at that level."""
    logger = logging.getLogger("jax")
    messages: list[str] = []
    handler = _ListHandler(messages)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


_COMPILING = re.compile(r"^Compiling (\S+) with global shapes and types \((.*)\)\.\s")


def compiled_functions(messages: list[str]) -> list[str]:
    """One entry per compilation that ``jax_log_compiles`` reported, as ``jit(f)(float32[3])``:
    the function and its argument types, without the timings of the other messages."""
    compiled = []
    for message in messages:
        match = _COMPILING.match(message)
        if match:
            types = re.sub(r"ShapedArray\(([^()]*)\)", r"\1", match.group(2)).rstrip(",")
            compiled.append(f"{match.group(1)}({types})")
    return compiled


def cache_miss_explanations(messages: list[str]) -> list[str]:
    """The reasons ``jax_explain_cache_misses`` gave, one string per cache miss, without what
    differs between machines and runs: the first line (the calling file and line), object ids,
    and the file and line where the function was defined."""
    explanations = []
    for message in messages:
        if not message.startswith("TRACING CACHE MISS"):
            continue
        lines = message.splitlines()[1:]
        lines = [re.sub(r" id=\d+| defined at \S+:\d+", "", line).rstrip() for line in lines]
        explanations.append(textwrap.dedent("\n".join(lines)))
    return explanations


# --------------------------------------------------------------------------- exercises


def ema_python_loop(x: np.ndarray, decay: float = 0.9) -> np.ndarray:
    """Exponential moving average ``y[n] = decay·y[n−1] + (1 − decay)·x[n]``, ``y[−1] = 0``,
    with a Python loop (the exercise asks for a ``lax.scan`` version)."""
    y = np.zeros(len(x), dtype=np.float32)
    previous = 0.0
    for n, value in enumerate(x):
        previous = decay * previous + (1 - decay) * value
        y[n] = previous
    return y


# --------------------------------------------------------------------------- the pages' figures


def plot_compile_times(loop_sizes: list[int], compile_times: dict[str, list[float]]):
    """One line per loop version: the first-call time (ms, log axis) against the number of loop
    iterations ``n`` (log base 2, ticked at ``loop_sizes``); returns the figure."""
    from matplotlib.ticker import LogFormatter, NullFormatter, ScalarFormatter

    from jaxbook.plotting import new_figure

    fig, ax = new_figure()
    for name, seconds in compile_times.items():
        ax.plot(loop_sizes, [s * 1e3 for s in seconds], marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(loop_sizes)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))
    ax.set_xlabel("number of loop iterations n")
    ax.set_ylabel("first call (ms)")
    ax.legend()
    ax.set_title("compiling a loop of n Euler steps")
    return fig


def plot_bucket_compilations(naive_history: list[int], bucketed_history: list[int]):
    """Steps of the compilations so far after each call, one program per length against
    padding to power-of-two buckets; returns the figure."""
    from jaxbook.plotting import new_figure

    fig, ax = new_figure()
    calls_made = np.arange(1, len(naive_history) + 1)
    ax.step(calls_made, naive_history, where="post", label="one program per length")
    ax.step(calls_made, bucketed_history, where="post", label="padded to power-of-two buckets")
    ax.set_xlabel("calls made")
    ax.set_ylabel("compilations so far")
    ax.legend()
    ax.set_title(f"compilations for {len(naive_history)} signals of random length")
    return fig
