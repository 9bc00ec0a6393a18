import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbook import jit


@pytest.fixture
def x():
    return jax.random.normal(jax.random.key(0), (1_000,))


# --------------------------------------------------------------------------- selu


def test_selu_matches_its_definition(x):
    expected = np.where(x > 0, 1.05 * np.asarray(x), 1.05 * (1.67 * np.exp(np.asarray(x)) - 1.67))
    # float32 cancellation in 1.67·exp(x) − 1.67 near 0: compare with an absolute tolerance too.
    np.testing.assert_allclose(jit.selu(x), expected, rtol=1e-5, atol=1e-6)
    assert float(jit.selu(jnp.array(2.0))) == pytest.approx(2.1)
    assert float(jit.selu(jnp.array(-50.0))) == pytest.approx(-1.05 * 1.67)


def test_step_by_step_and_jitted_selu_agree(x):
    np.testing.assert_allclose(jit.selu_step_by_step(x), jit.selu(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jax.jit(jit.selu)(x), jit.selu(x), rtol=1e-5, atol=1e-6)


def test_both_selus_trace_to_the_same_six_operations(x):
    one_line = jit.primitive_names(jax.make_jaxpr(jit.selu)(x))
    by_step = jit.primitive_names(jax.make_jaxpr(jit.selu_step_by_step)(x))
    assert len(one_line) == 6
    assert sorted(one_line) == sorted(by_step)
    assert "exp" in one_line


# --------------------------------------------------------------------------- compiled programs


def test_selu_compiles_to_one_fusion(x):
    hlo = jax.jit(jit.selu).lower(x).compile().as_text()
    assert jit.count_fusions(hlo) == 1
    assert jit.entry_instructions(hlo) == ["fusion"]
    fused = jit.fused_instructions(hlo)
    assert "exponential" in fused and "select" in fused


def test_copy_compiles_to_a_copy_and_loops_to_a_while(x):
    assert jit.entry_instructions(jax.jit(jnp.copy).lower(x).compile().as_text()) == ["copy"]
    scan_hlo = jax.jit(jit.euler_scan, static_argnums=1).lower(x, 10).compile().as_text()
    assert "while" in jit.entry_instructions(scan_hlo)


def test_trim_hlo_keeps_instructions_and_drops_metadata(x):
    raw = jax.jit(jit.selu).lower(x).compile().as_text()
    assert "metadata=" in raw
    trimmed = jit.trim_hlo(raw)
    assert trimmed.startswith("HloModule jit_selu")
    assert "HloModule jit_selu," not in trimmed
    for dropped in ("metadata=", "backend_config=", "FileNames", "StackFrames"):
        assert dropped not in trimmed
    assert "ENTRY" in trimmed and "exponential(" in trimmed
    assert jit.entry_instructions(trimmed) == jit.entry_instructions(raw)


def test_drop_attribute_handles_nested_braces_and_strings():
    line = '  %f = f32[2]{0} fusion(%p), kind=kLoop, backend_config={"a":{"b":[1]}}, calls=%c'
    assert jit._drop_attribute(line, "backend_config") == (
        "  %f = f32[2]{0} fusion(%p), kind=kLoop, calls=%c"
    )
    assert jit._drop_attribute('%x = f32[] add(%a, %b), origin="q"', "origin") == (
        "%x = f32[] add(%a, %b)"
    )


def test_first_call_stages_are_positive_and_complete(x):
    stages = jit.first_call_stages(lambda v: jit.selu(v) + 1.0, x)
    assert list(stages) == ["trace", "lower", "compile", "run"]
    assert all(seconds > 0 for seconds in stages.values())


def test_bandwidth():
    assert jit.bandwidth(8_000_000, 0.001) == pytest.approx(8e9)
    with pytest.raises(ValueError):
        jit.bandwidth(8, 0.0)


# --------------------------------------------------------------------------- control flow


def test_python_if_fails_under_jit_and_the_fixes_agree():
    g = jnp.array([3.0, 4.0])
    with pytest.raises(jax.errors.TracerBoolConversionError):
        jax.jit(jit.clip_by_norm_python)(g, 1.0)
    for max_norm, expected in ((1.0, [0.6, 0.8]), (10.0, [3.0, 4.0])):
        np.testing.assert_allclose(jit.clip_by_norm_python(g, max_norm), expected, rtol=1e-6)
        np.testing.assert_allclose(jax.jit(jit.clip_by_norm_where)(g, max_norm), expected, 1e-6)
        np.testing.assert_allclose(jax.jit(jit.clip_by_norm_cond)(g, max_norm), expected, 1e-6)


@pytest.mark.parametrize("a", [2.0, 0.25, 9.0, 1e4])
def test_newton_sqrt_converges_under_jit(a):
    assert float(jax.jit(jit.newton_sqrt)(a)) == pytest.approx(np.sqrt(a), rel=1e-6)


# --------------------------------------------------------------------------- loops


@pytest.mark.parametrize("n", [0, 1, 7])
def test_loop_versions_agree(x, n):
    expected = np.asarray(x)
    for _ in range(n):
        expected = expected + 0.1 * np.sin(expected)
    np.testing.assert_allclose(jit.euler_unrolled(x, n), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jit.euler_fori(x, n), expected, rtol=1e-5, atol=1e-6)
    final, trajectory = jit.euler_scan(x, n)
    np.testing.assert_allclose(final, expected, rtol=1e-5, atol=1e-6)
    assert trajectory.shape == (n, *x.shape)
    if n:
        np.testing.assert_allclose(trajectory[-1], final)


def test_unrolled_jaxpr_grows_with_n_but_fori_does_not(x):
    def size(fn, n):
        return len(jax.make_jaxpr(fn, static_argnums=1)(x, n).eqns)

    assert size(jit.euler_unrolled, 20) == 2 * size(jit.euler_unrolled, 10) > 10
    assert size(jit.euler_fori, 20) == size(jit.euler_fori, 10) == 1


# --------------------------------------------------------------------------- recompilation


def test_counter_counts_one_compilation_per_new_shape():
    counter = jit.CompileCounter(jit.mean_selu)
    for n in (3, 3, 4, 3, 5, 4):
        counter(jnp.ones(n))
    assert counter.traces == 3
    assert counter.signatures == ["(f32[3])", "(f32[4])", "(f32[5])"]
    assert counter.cache_size() == 3


def test_counter_counts_dtype_weak_type_and_static_changes():
    counter = jit.CompileCounter(jit.mean_selu)
    counter(jnp.ones(4))
    counter(jnp.ones(4, dtype=jnp.int32))
    counter(2.0)
    counter(jnp.float32(2.0))
    assert counter.signatures == ["(f32[4])", "(i32[4])", "(f32[] weak)", "(f32[])"]

    power = jit.CompileCounter(lambda x, n: x**n, static_argnames="n")
    assert float(power(2.0, n=3)) == 8.0
    power(3.0, n=3)
    power(2.0, n=2)
    assert power.traces == 2
    assert power.signatures[1] == "(f32[] weak, n=2)"


def test_counter_returns_the_functions_result(x):
    counter = jit.CompileCounter(jit.selu)
    np.testing.assert_allclose(counter(x), jit.selu(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("n", "expected"), [(0, 16), (1, 16), (16, 16), (17, 32), (100, 128), (1000, 1024)]
)
def test_bucket_size(n, expected):
    assert jit.bucket_size(n) == expected


def test_bucket_size_rejects_bad_arguments():
    with pytest.raises(ValueError):
        jit.bucket_size(-1)
    with pytest.raises(ValueError):
        jit.bucket_size(5, smallest=0)
    assert jit.bucket_size(5, smallest=3) == 6


def test_pad_to_bucket_pads_with_zeros_and_returns_the_length():
    x = np.arange(1, 21, dtype=np.float32)
    padded, length = jit.pad_to_bucket(x)
    assert length == 20 and padded.shape == (32,) and padded.dtype == np.float32
    np.testing.assert_array_equal(padded[:20], x)
    assert not padded[20:].any()
    with pytest.raises(ValueError):
        jit.pad_to_bucket(np.ones((2, 3)))


def test_padded_function_gives_the_unpadded_result():
    rng = np.random.default_rng(0)
    for n in (1, 15, 16, 17, 300):
        signal = rng.normal(size=n).astype(np.float32)
        expected = float(jit.mean_selu(signal))
        assert float(jax.jit(jit.masked_mean_selu)(*jit.pad_to_bucket(signal))) == pytest.approx(
            expected, rel=1e-5, abs=1e-6
        )


def test_padding_to_buckets_compiles_once_per_bucket():
    rng = np.random.default_rng(1)
    lengths = [3, 5, 16, 17, 20, 31, 40, 64, 65, 100]
    naive = jit.CompileCounter(jit.mean_selu)
    bucketed = jit.CompileCounter(jit.masked_mean_selu)
    for n in lengths:
        signal = rng.normal(size=n).astype(np.float32)
        naive(signal)
        bucketed(*jit.pad_to_bucket(signal))
    assert naive.traces == len(set(lengths))
    assert bucketed.traces == len({jit.bucket_size(n) for n in lengths}) == 4


# --------------------------------------------------------------------------- exercises


def test_ema_python_loop():
    np.testing.assert_allclose(jit.ema_python_loop(np.ones(3), decay=0.5), [0.5, 0.75, 0.875])
    y = jit.ema_python_loop(np.zeros(5))
    assert y.dtype == np.float32 and y.shape == (5,) and not y.any()


# --------------------------------------------------------------------------- loops and autodiff


def _cube_functions():
    lax = jax.lax
    return {
        "scan": lambda x, n: lax.scan(lambda y, _: (y * x, None), 1.0, length=3)[0],
        "fori fixed": lambda x, n: lax.fori_loop(0, 3, lambda i, y: y * x, 1.0),
        "fori traced": lambda x, n: lax.fori_loop(0, n, lambda i, y: y * x, 1.0),
        "while": lambda x, n: lax.while_loop(
            lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * x), (0, 1.0)
        )[1],
    }


def test_reverse_mode_needs_a_loop_length_known_at_compile_time():
    cubes = _cube_functions()
    for name in ("scan", "fori fixed"):
        assert jit.derivatives_under_jit(cubes[name], 2.0, 3) == {
            "f(x)": "8.0",
            "jvp": "12.0",
            "grad": "12.0",
        }
    for name in ("fori traced", "while"):
        # Forward mode works; reverse mode refuses a loop whose length is traced.
        assert jit.derivatives_under_jit(cubes[name], 2.0, 3) == {
            "f(x)": "8.0",
            "jvp": "12.0",
            "grad": "ValueError",
        }
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work"):
        jax.jit(jax.grad(cubes["while"]))(2.0, 3)


def test_derivative_table_has_a_row_per_function():
    table = jit.derivative_table(_cube_functions(), 2.0, 3).splitlines()
    assert len(table) == 1 + 4
    assert "grad (reverse)" in table[0]
    assert table[3].startswith("fori traced") and table[3].endswith("ValueError")
    assert table[1].split()[-3:] == ["8.0", "12.0", "12.0"]


# --------------------------------------------------------------------------- JAX's own logs


def test_log_compiles_counts_one_compilation_per_signature():
    @jax.jit
    def halve(x):
        return x / 2

    inputs = [jnp.ones(3), jnp.ones(3), jnp.ones(4)]
    with jax.log_compiles(True), jit.captured_jax_warnings() as log:
        for value in inputs:
            halve(value)
    assert jit.compiled_functions(log) == ["jit(halve)(float32[3])", "jit(halve)(float32[4])"]


def test_captured_warnings_are_restored_and_do_not_propagate():
    import logging

    logger = logging.getLogger("jax")
    handlers, propagate = list(logger.handlers), logger.propagate
    with jit.captured_jax_warnings() as log:
        logger.warning("one %s", "message")
        logger.info("not captured")
        assert logger.propagate is False
    assert log == ["one message"]
    assert logger.handlers == handlers and logger.propagate == propagate


def test_a_function_redefined_in_a_loop_compiles_every_time():
    x = jnp.ones(3)
    with jax.log_compiles(True), jit.captured_jax_warnings() as log:
        for factor in (2.0, 2.0, 2.0):
            jax.jit(lambda x: x * factor)(x)  # noqa: B023 - the pitfall shown on the page
    assert len(jit.compiled_functions(log)) == 3
    scale = jax.jit(lambda x, factor: x * factor)
    with jax.log_compiles(True), jit.captured_jax_warnings() as log:
        for factor in (2.0, 3.0, 4.0):
            scale(x, factor)
    assert jit.compiled_functions(log) == ["jit(<lambda>)(float32[3], float32[], weak_type=True)"]


def test_cache_miss_explanations_drop_paths_and_ids():
    @jax.jit
    def halve(x):
        return x / 2

    with jax.explain_cache_misses(True), jit.captured_jax_warnings() as log:
        halve(jnp.ones(3))
        halve(jnp.ones(4))
    first, second = jit.cache_miss_explanations(log)
    assert first.splitlines() == ["never seen function:", "  halve"]
    assert "now f32[4] and before f32[3]" in second
    assert not any(marker in "".join((first, second)) for marker in ("id=", ".py", "/"))


def test_compiled_functions_and_explanations_ignore_other_messages():
    messages = ["Finished tracing f for jit in 0.001 sec", "something else"]
    assert jit.compiled_functions(messages) == []
    assert jit.cache_miss_explanations(messages) == []


def test_derivatives_under_jit_reports_a_failing_forward_pass():
    def needs_a_python_int(x, n):
        return x * len(range(n))  # n is traced: range() raises

    assert jit.derivatives_under_jit(needs_a_python_int, 2.0, 3) == {
        "f(x)": "TracerIntegerConversionError",
        "jvp": "TracerIntegerConversionError",
        "grad": "TracerIntegerConversionError",
    }


# --------------------------------------------------------------------------- the pages' figures


def test_plot_compile_times_draws_one_line_per_version_in_ms():
    import matplotlib

    matplotlib.use("Agg")
    times = {"Python loop (unrolled)": [0.01, 0.04, 0.16], "lax.fori_loop": [0.01, 0.01, 0.01]}
    (ax,) = jit.plot_compile_times([8, 32, 128], times).axes
    assert [line.get_label() for line in ax.get_lines()] == list(times)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [10, 40, 160])
    assert list(ax.get_xticks()) == [8, 32, 128]
    assert ax.get_xscale() == ax.get_yscale() == "log"


def test_plot_bucket_compilations_steps_through_every_call():
    import matplotlib

    matplotlib.use("Agg")
    naive, bucketed = [1, 2, 3, 3, 4], [1, 1, 2, 2, 2]
    (ax,) = jit.plot_bucket_compilations(naive, bucketed).axes
    first, second = ax.get_lines()
    assert list(first.get_xdata()) == [1, 2, 3, 4, 5]
    assert list(first.get_ydata()) == naive and list(second.get_ydata()) == bucketed
    assert "5 signals" in ax.get_title()
