import time

import jax
import jax.numpy as jnp
import pytest

from jaxbook import timing


class SlowLeaf:
    """Looks like a JAX array whose computation finishes only when waited for."""

    def __init__(self, seconds: float, log: list):
        self.seconds, self.log = seconds, log

    def block_until_ready(self):
        time.sleep(self.seconds)
        self.log.append(self)
        return self


def test_block_waits_for_every_leaf_of_a_pytree():
    log: list = []
    leaves = [SlowLeaf(0, log) for _ in range(3)]
    tree = {"a": leaves[0], "b": (leaves[1], [leaves[2]])}
    assert timing.block(tree) is tree
    assert sorted(map(id, log)) == sorted(map(id, leaves))


def test_benchmark_really_waits_for_the_result():
    # Calling returns at once; only waiting costs 20 ms. A harness that did not wait would
    # report microseconds.
    log: list = []
    result = timing.benchmark(lambda: {"out": SlowLeaf(0.02, log)}, repeat=3, number=1, warmup=0)
    assert result.median >= 0.02
    assert len(log) == 3


def test_benchmark_excludes_warmup_calls():
    calls = []

    def fn():
        calls.append(time.perf_counter())
        if len(calls) == 1:  # the first call is slow, like tracing and compiling
            time.sleep(0.2)
        return jnp.zeros(())

    result = timing.benchmark(fn, repeat=5, number=2, warmup=1)
    assert len(calls) == 1 + 5 * 2
    assert result.median < 0.1
    assert len(result.seconds_per_call) == 5
    assert result.calls_per_repeat == 2


def test_benchmark_reports_median_spread_and_device():
    f = jax.jit(lambda x: jnp.sin(x) ** 2)
    result = timing.benchmark(f, jnp.ones(1000), repeat=5, name="sin2")
    assert result.name == "sin2"
    assert result.calls_per_repeat >= 1
    assert result.best <= result.median
    assert result.spread >= 0
    assert result.device.startswith("cpu")
    text = str(result)
    assert text.startswith("sin2: ") and "per call" in text and result.device in text


def test_median_and_spread_are_computed_from_repeats():
    t = timing.Timing("x", (1.0, 2.0, 3.0, 4.0, 100.0), calls_per_repeat=1, device="cpu")
    assert t.median == 3.0
    assert t.spread == pytest.approx((4.0 - 2.0) / 2)
    assert t.best == 1.0


def test_benchmark_rejects_zero_repeats():
    with pytest.raises(ValueError, match="repeat"):
        timing.benchmark(lambda: None, repeat=0)


def test_time_first_call_includes_compilation():
    f = jax.jit(lambda x: jnp.cumsum(jnp.sort(x)))
    x = jnp.arange(10_000.0)
    first = timing.time_first_call(f, x)
    steady = timing.benchmark(f, x, repeat=3).median
    assert first > steady


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2.5, "2.5 s"), (0.00123, "1.23 ms"), (3.5e-5, "35 µs"), (4e-8, "40 ns")],
)
def test_format_seconds(seconds, text):
    assert timing.format_seconds(seconds) == text


def test_long_enough_call_takes_the_first_size_that_lasts_long_enough():
    made = []

    def make_call(size):
        made.append(size)
        return lambda: time.sleep(size)

    size, call, seconds = timing.long_enough_call(make_call, (0.0, 0.03, 0.2), at_least=0.02)
    assert size == 0.03 and made == [0.0, 0.03]  # the bigger size is never made
    assert 0.02 <= seconds < 0.2
    start = time.perf_counter()
    call()
    assert time.perf_counter() - start >= 0.03  # the call returned is that size's


def test_long_enough_call_falls_back_to_the_largest_size_and_needs_one():
    size, _, seconds = timing.long_enough_call(lambda s: lambda: s, (1, 2), at_least=60.0)
    assert size == 2 and seconds < 60.0
    with pytest.raises(ValueError, match="at least one size"):
        timing.long_enough_call(lambda s: lambda: s, (), at_least=1.0)


def test_long_enough_call_does_not_time_compilation():
    compiled = jax.jit(lambda a: a @ a)
    size, call, seconds = timing.long_enough_call(
        lambda n: lambda: compiled(jnp.ones((n, n))), (8,), at_least=1.0
    )
    assert size == 8 and seconds < timing.time_first_call(
        jax.jit(lambda a: a @ a + 1), jnp.ones((8, 8))
    )


class Durations:
    """A function that takes the next of ``durations`` each call (then the last one).

    It advances a simulated clock instead of sleeping, so that a loaded machine (tests run in
    parallel) cannot make a steady timing noisy or a noisy one steady.
    """

    def __init__(self, durations):
        self.durations, self.calls, self.now = list(durations), 0, 0.0

    def perf_counter(self) -> float:
        return self.now

    def __call__(self):
        self.now += self.durations[min(self.calls, len(self.durations) - 1)]
        self.calls += 1


@pytest.fixture
def durations(monkeypatch):
    """Make a :class:`Durations` whose clock is the one ``jaxbook.timing`` reads."""

    def make(seconds):
        fn = Durations(seconds)
        monkeypatch.setattr(timing, "time", fn)
        return fn

    return make


def test_a_noisy_timing_is_measured_again_and_kept_once_steady(durations):
    # warm-up, then four noisy repeats (1 ms and 6 ms), then steady 2 ms calls
    fn = durations([0.002, 0.001, 0.006, 0.001, 0.006] + [0.002] * 4)
    result = timing.benchmark(fn, number=1, repeat=4)
    assert fn.calls == 1 + 4 + 4  # warm-up, the noisy measurement, the steady one
    assert result.spread <= timing.MAX_SPREAD * result.median


def test_a_timing_that_stays_noisy_fails_naming_it(durations):
    fn = durations([0.002] + [0.001, 0.006] * 20)
    with pytest.raises(timing.NoisyTiming, match=r"^noisy thing: .*stayed above 30%"):
        timing.benchmark(fn, number=1, repeat=4, name="noisy thing")
    assert fn.calls == 1 + 3 * 4  # three measurements, then it gives up


def test_a_demonstration_of_noise_is_never_measured_again(durations):
    fn = durations([0.002] + [0.001, 0.006] * 20)
    result = timing.benchmark(fn, number=1, repeat=4, max_spread=None)
    assert fn.calls == 1 + 4 and result.spread > timing.MAX_SPREAD * result.median
