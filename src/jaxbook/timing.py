"""The book's one timing harness.

Every timing in the book goes through :func:`benchmark`, which

* calls the function ``warmup`` times first, so tracing and compilation are not timed
  (time those on their own with :func:`time_first_call`);
* waits for every array in the output (``block_until_ready`` on each leaf of the pytree),
  because JAX dispatches work asynchronously and returns before it is done;
* repeats the measurement and reports the median and the spread, with the device that ran it;
* measures again when the spread is more than :data:`MAX_SPREAD` of the median (another process
  took the machine for a while), and raises :class:`NoisyTiming`, naming the timing, when it
  stays that noisy: no number the book prints or compares rests on noise. A demonstration of
  noise itself passes ``max_spread=None``.

A demonstration that needs the device busy for a while (asynchronous dispatch) sizes its work
with :func:`long_enough_call`: the same product lasts 100 ms on a CPU and well under a
millisecond on a GPU, about as long as handing it to the GPU takes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax

from jaxbook.provenance import device_description


def block(tree: Any) -> Any:
    """Wait until every leaf of ``tree`` that is still being computed is ready; return ``tree``."""
    for leaf in jax.tree.leaves(tree):
        if hasattr(leaf, "block_until_ready"):
            leaf.block_until_ready()
    return tree


# A timing whose spread (half the interquartile range) is more than this fraction of its
# median is noise, not a measurement (issue #30: "13.3 ms ± 9.69 ms", a 73% spread, had been
# printed and divided by another timing).
MAX_SPREAD = 0.3
MEASUREMENTS = 3  # how many times a noisy timing is measured before it fails


class NoisyTiming(RuntimeError):
    """A timing stayed noisier than its ``max_spread`` in every measurement."""


def format_seconds(seconds: float) -> str:
    """``0.000123`` → ``'123 µs'``: three significant figures in the closest unit."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


@dataclass(frozen=True)
class Timing:
    """Seconds per call, one entry per repeat, and the device that ran them."""

    name: str
    seconds_per_call: tuple[float, ...]
    calls_per_repeat: int
    device: str

    @property
    def median(self) -> float:
        return statistics.median(self.seconds_per_call)

    @property
    def spread(self) -> float:
        """Half the interquartile range: robust to the odd slow repeat."""
        if len(self.seconds_per_call) < 2:
            return 0.0
        q1, _, q3 = statistics.quantiles(self.seconds_per_call, n=4, method="inclusive")
        return (q3 - q1) / 2

    @property
    def best(self) -> float:
        return min(self.seconds_per_call)

    def __str__(self) -> str:
        repeats = len(self.seconds_per_call)
        return (
            f"{self.name}: {format_seconds(self.median)} ± {format_seconds(self.spread)} per call "
            f"(median ± half IQR of {repeats} × {self.calls_per_repeat} calls on {self.device})"
        )


def _calls_per_repeat(call: Callable[[], Any], target_seconds: float, max_calls: int) -> int:
    """Like ``timeit.autorange``: the number of calls that takes at least ``target_seconds``."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            block(call())
        elapsed = time.perf_counter() - start
        if elapsed >= target_seconds or calls >= max_calls:
            return calls
        calls = min(max_calls, calls * 10 if elapsed < target_seconds / 10 else calls * 2)


def benchmark(
    fn: Callable[..., Any],
    *args: Any,
    name: str | None = None,
    repeat: int = 7,
    number: int | None = None,
    warmup: int = 1,
    target_seconds: float = 0.02,
    max_calls: int = 10_000,
    max_spread: float | None = MAX_SPREAD,
    measurements: int = MEASUREMENTS,
    **kwargs: Any,
) -> Timing:
    """Time ``fn(*args, **kwargs)`` honestly; see the module docstring.

    ``number`` calls make one repeat; by default it is chosen so that a repeat lasts at least
    ``target_seconds``. The result's :attr:`Timing.median` is seconds per call. A measurement
    whose spread is more than ``max_spread`` of its median is taken again, up to
    ``measurements`` times in all; then :class:`NoisyTiming` is raised (``None``: never).
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    if measurements < 1:
        raise ValueError(f"measurements must be at least 1, got {measurements}")
    name = name or getattr(fn, "__name__", "function")

    def call() -> Any:
        return fn(*args, **kwargs)

    for _ in range(warmup):
        block(call())
    calls = number or _calls_per_repeat(call, target_seconds, max_calls)
    for _ in range(measurements):
        per_call = []
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(calls):
                block(call())
            per_call.append((time.perf_counter() - start) / calls)
        timing = Timing(
            name=name,
            seconds_per_call=tuple(per_call),
            calls_per_repeat=calls,
            device=device_description(),
        )
        if max_spread is None or timing.spread <= max_spread * timing.median:
            return timing
    raise NoisyTiming(
        f"{timing}: its spread stayed above {max_spread:.0%} of its median in {measurements} "
        "measurements, so it is noise, not a timing. The machine was busy: build again on a "
        "quieter one."
    )


def time_first_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """Seconds taken by one call, waiting for its result: for a fresh ``jax.jit`` function this
    is tracing + compilation + one run, which :func:`benchmark` deliberately leaves out."""
    start = time.perf_counter()
    block(fn(*args, **kwargs))
    return time.perf_counter() - start


def long_enough_call(
    make_call: Callable[[Any], Callable[[], Any]], sizes: Sequence[Any], at_least: float
) -> tuple[Any, Callable[[], Any], float]:
    """``(size, call, seconds)`` for the first of ``sizes`` whose ``call = make_call(size)``
    lasts at least ``at_least`` seconds on this device (run once first, so compilation is not
    counted, then timed once, waiting for its result), or for the last size if none does."""
    if not sizes:
        raise ValueError("long_enough_call needs at least one size")
    for size in sizes:
        call = make_call(size)
        block(call())
        start = time.perf_counter()
        block(call())
        seconds = time.perf_counter() - start
        if seconds >= at_least:
            break
    return size, call, seconds
