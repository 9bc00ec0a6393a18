"""Tests of jaxbook.performance: the trace reader, the precision measurements, the cache."""

import gzip
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbook import performance as perf


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory):
    params = perf.init_mlp(jax.random.key(0), (16, 32, 8))
    x = jnp.ones((4, 16))
    step = jax.jit(jax.value_and_grad(perf.mlp_loss))
    path = perf.record_trace(
        step, params, x, log_dir=tmp_path_factory.mktemp("trace"), steps=3, annotation="my_step"
    )
    sources = perf.op_sources(step.lower(params, x).compile().as_text())
    return path, perf.read_trace(path), sources


def test_mlp_loss_is_a_scalar_and_its_gradient_has_the_parameters_shapes():
    params = perf.init_mlp(jax.random.key(0), (5, 7, 3))
    assert params["w1"].shape == (5, 7) and params["b2"].shape == (3,)
    loss, grads = jax.value_and_grad(perf.mlp_loss)(params, jnp.ones((2, 5)))
    assert loss.shape == ()
    assert jax.tree.map(jnp.shape, grads) == jax.tree.map(jnp.shape, params)


def test_the_trace_file_holds_our_annotations_and_xla_operations(small_trace):
    path, events, _ = small_trace
    assert path.name.endswith(".trace.json.gz")
    assert perf.durations(events, "my_step") and len(perf.durations(events, "my_step")) == 3
    assert all(d > 0 for d in perf.durations(events, "my_step"))
    totals = perf.op_totals(events)
    assert totals and all(v >= 0 for v in totals.values())
    assert list(totals.values()) == sorted(totals.values(), reverse=True)


def test_op_sources_name_the_scopes_and_cover_the_traced_operations(small_trace):
    _, events, sources = small_trace
    assert any("hidden" in s for s in sources.values())
    assert any("output" in s for s in sources.values())
    traced = set(perf.op_totals(events))
    assert traced & set(sources)


def test_time_by_scope_sums_to_one_and_sorts_by_scope():
    totals = {"a": 3.0, "b": 1.0, "c": 4.0}
    sources = {"a": "jit(f)/jvp(hidden)/dot_general", "b": "jit(f)/transpose(jvp(output))/mul"}
    shares = perf.time_by_scope(totals, sources, ("hidden", "output"))
    assert shares == pytest.approx({"hidden": 3 / 8, "output": 1 / 8, "other": 4 / 8})
    # "hiddenish" is not the scope "hidden"
    assert (
        perf.time_by_scope({"a": 1.0}, {"a": "jit(f)/hiddenish/add"}, ("hidden",))["other"] == 1.0
    )


def test_read_trace_and_step_summary_on_a_hand_written_trace(tmp_path):
    trace = {
        "traceEvents": [
            {"ph": "M", "pid": 1, "name": "process_name", "args": {"name": "/host:CPU"}},
            {"ph": "M", "pid": 2, "name": "process_name", "args": {"name": "/device:GPU:0"}},
            {"ph": "M", "pid": 1, "tid": 7, "name": "thread_name", "args": {"name": "python"}},
            {"ph": "X", "pid": 1, "tid": 7, "ts": 0, "dur": 100, "name": "step"},
            {"ph": "X", "pid": 1, "tid": 7, "ts": 1, "dur": 10, "name": "PjitFunction(f)"},
            {
                "ph": "X",
                "pid": 1,
                "tid": 8,
                "ts": 20,
                "dur": 5,
                "name": "launch",
                "args": {"hlo_op": "dot"},
            },
            {
                "ph": "X",
                "pid": 2,
                "tid": 9,
                "ts": 30,
                "dur": 60,
                "name": "gemm",
                "args": {"hlo_op": "dot"},
            },
        ]
    }
    path = tmp_path / "x.trace.json.gz"
    with gzip.open(path, "wt") as file:
        json.dump(trace, file)
    events = perf.read_trace(path)
    assert len(events) == 4 and events[0].thread == "python" and events[0].process == "/host:CPU"
    assert perf.op_totals(events) == {"dot": 60.0}  # the device's kernel, not the host's launch
    assert perf.step_summary(events, "step", "PjitFunction(f)") == {
        "step_us": 100.0,
        "dispatch_us": 10.0,
        "ops_us": 60.0,
    }


def test_relative_error():
    reference = np.array([3.0, 4.0])
    assert perf.relative_error(reference, reference) == 0.0
    assert perf.relative_error(np.array([3.0, 4.5]), reference) == pytest.approx(0.1)


def test_matmul_errors_order_the_formats():
    rng = np.random.default_rng(0)
    errors = perf.matmul_errors(rng.standard_normal((32, 64)), rng.standard_normal((64, 16)))
    assert set(errors) == {
        "float32, HIGHEST",
        "float32, default",
        "bfloat16 in, float32 out",
        "bfloat16",
    }
    assert errors["float32, HIGHEST"] < 1e-5
    assert errors["bfloat16"] > 100 * errors["float32, HIGHEST"]
    assert errors["bfloat16 in, float32 out"] <= errors["bfloat16"]


def test_persistent_cache_writes_reads_and_restores(tmp_path):
    before = jax.config.jax_compilation_cache_dir
    with (
        perf.persistent_cache(tmp_path) as directory,
        perf.monitoring_events("/jax/compilation_cache/") as events,
    ):
        f = lambda v: jnp.cos(v) * 3.0 + 1.25  # noqa: E731
        v = jnp.arange(7.0)
        jax.jit(f)(v).block_until_ready()
        assert any(p.name.endswith("-cache") for p in directory.iterdir())
        jax.clear_caches()
        hits = events["/jax/compilation_cache/cache_hits"]
        jax.jit(f)(v).block_until_ready()
        assert events["/jax/compilation_cache/cache_hits"] == hits + 1
    assert jax.config.jax_compilation_cache_dir == before
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 1.0


def test_monitoring_events_filters_and_unregisters():
    with perf.monitoring_events("/test/") as counts:
        jax.monitoring.record_event("/test/a")
        jax.monitoring.record_event("/other")
    jax.monitoring.record_event("/test/a")
    assert dict(counts) == {"/test/a": 1}


def test_plot_precision_has_a_bar_per_way_and_a_log_axis():
    fig, ax = perf.plot_precision({"x": 1e-7, "y": 1e-3}, title="t")
    assert ax.get_xscale() == "log" and len(ax.patches) == 2
