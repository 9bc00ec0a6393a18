import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial.distance import cdist

from jaxbook import vmap as vm


@pytest.fixture
def layer():
    kx, kw, kb = jax.random.split(jax.random.key(0), 3)
    return (
        jax.random.normal(kx, (6, 4)),
        jax.random.normal(kw, (4, 3)),
        jax.random.normal(kb, (3,)),
    )


def test_single_linear_is_x_dot_w_plus_b(layer):
    x, w, b = layer
    np.testing.assert_allclose(vm.single_linear(x[0], w, b), x[0] @ w + b, rtol=1e-6)
    # The lecture's example: all ones, 4 features -> 4 + 1 in each of 3 outputs.
    out = vm.single_linear(jnp.ones(4), jnp.ones((4, 3)), jnp.ones(3))
    np.testing.assert_array_equal(out, jnp.full(3, 5.0))


def test_batched_linear_equals_python_loop(layer):
    x, w, b = layer
    batched = vm.batched_linear(x, w, b)
    loop = vm.naively_batched(lambda row: vm.single_linear(row, w, b), x)
    assert batched.shape == (6, 3)
    np.testing.assert_allclose(batched, loop, rtol=1e-6, atol=1e-6)


def test_naively_batched_stacks_in_order():
    xs = jnp.arange(12.0).reshape(4, 3)
    out = vm.naively_batched(lambda v: v.sum(keepdims=True), xs)
    np.testing.assert_array_equal(out, xs.sum(axis=1, keepdims=True))


def test_distance_is_euclidean():
    assert float(vm.distance(jnp.array([0.0, 0.0]), jnp.array([3.0, 4.0]))) == pytest.approx(5.0)
    assert float(vm.distance(jnp.ones(5), jnp.ones(5))) == 0.0


def test_pairwise_distances_equal_loop_and_cdist():
    kp, kq = jax.random.split(jax.random.key(1))
    p, q = jax.random.normal(kp, (7, 3)), jax.random.normal(kq, (5, 3))
    d = vm.pairwise_distances(p, q)
    assert d.shape == (7, 5)
    loop = jnp.array([[vm.distance(pi, qj) for qj in q] for pi in p])
    np.testing.assert_allclose(d, loop, rtol=1e-6)
    np.testing.assert_allclose(d, cdist(np.asarray(p), np.asarray(q)), rtol=1e-5, atol=1e-6)
    # Not symmetric in its arguments' roles: swapping them transposes the matrix.
    np.testing.assert_allclose(vm.pairwise_distances(q, p), d.T, rtol=1e-6)


def test_squared_error_gradient_has_closed_form():
    params = {"w": jnp.array([0.5, -1.0]), "b": jnp.array(0.25)}
    x, y = jnp.array([2.0, 1.0]), jnp.array(3.0)
    residual = 0.5 * 2.0 - 1.0 + 0.25 - 3.0
    assert float(vm.squared_error(params, x, y)) == pytest.approx(0.5 * residual**2)
    grads = jax.grad(vm.squared_error)(params, x, y)
    np.testing.assert_allclose(grads["w"], residual * x, rtol=1e-6)
    assert float(grads["b"]) == pytest.approx(residual)


def test_per_example_gradients_equal_loop():
    kx, ky = jax.random.split(jax.random.key(2))
    xs, ys = jax.random.normal(kx, (5, 3)), jax.random.normal(ky, (5,))
    params = {"w": jnp.array([1.0, 0.0, -1.0]), "b": jnp.array(0.5)}
    per_example = jax.vmap(jax.grad(vm.squared_error), in_axes=(None, 0, 0))(params, xs, ys)
    for i in range(5):
        one = jax.grad(vm.squared_error)(params, xs[i], ys[i])
        np.testing.assert_allclose(per_example["w"][i], one["w"], rtol=1e-6)
        np.testing.assert_allclose(per_example["b"][i], one["b"], rtol=1e-6)


# ------------------------------------------------------------------ mesh helpers, 1+ devices


def test_cpu_mesh_uses_cpu_devices():
    mesh = vm.cpu_mesh()
    assert mesh.axis_names == ("batch",)
    assert mesh.devices.size == len(jax.devices("cpu"))
    assert all(d.platform == "cpu" for d in mesh.devices.flat)


def test_cpu_mesh_rejects_more_devices_than_exist():
    with pytest.raises(ValueError, match="CPU devices"):
        vm.cpu_mesh(len(jax.devices("cpu")) + 1)
    with pytest.raises(ValueError):
        vm.cpu_mesh(0)


def test_sharded_results_equal_unsharded_on_available_devices(layer):
    x, w, b = layer
    n = len(jax.devices("cpu"))
    mesh = vm.cpu_mesh()
    rows = jnp.tile(x, (n, 1))  # a multiple of the device count
    sharded = vm.shard_rows(rows, mesh)
    assert len(vm.shard_layout(sharded)) == n
    y = vm.sharded_linear(mesh)(sharded, w, b)
    np.testing.assert_array_equal(y, jax.jit(vm.batched_linear)(rows, w, b))
    values = vm.shard_rows(jnp.arange(8.0 * n), mesh)
    assert float(vm.global_mean(mesh)(values)) == pytest.approx(float(jnp.arange(8.0 * n).mean()))


def test_shard_layout_names_rows_and_shapes():
    mesh = vm.cpu_mesh(1)
    lines = vm.shard_layout(vm.shard_rows(jnp.ones((6, 2)), mesh))
    assert lines == ["cpu:0: rows 0:6, shape (6, 2)"]


# ------------------------------------------------------------ 8 simulated devices, subprocess

EIGHT_DEVICES = textwrap.dedent(
    """
    import json
    import jax, jax.numpy as jnp
    from jaxbook import vmap as vm

    mesh = vm.cpu_mesh(8)
    kx, kw, kb = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(kx, (16, 4))
    w = jax.random.normal(kw, (4, 3))
    b = jax.random.normal(kb, (3,))
    xs = vm.shard_rows(x, mesh)
    y = vm.sharded_linear(mesh)(xs, w, b)
    values = jnp.arange(1.0, 33.0)
    print(json.dumps({
        "n_devices": len(jax.devices("cpu")),
        "layout": vm.shard_layout(xs),
        "out_devices": len(y.sharding.device_set),
        "equal": bool(jnp.array_equal(y, jax.jit(vm.batched_linear)(x, w, b))),
        "mean": float(vm.global_mean(mesh)(vm.shard_rows(values, mesh))),
    }))
    """
)


def test_eight_simulated_devices_in_a_fresh_process():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8")
    env["JAX_PLATFORMS"] = "cpu"
    result = subprocess.run(
        [sys.executable, "-c", EIGHT_DEVICES],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["n_devices"] == 8
    assert report["layout"] == [
        f"cpu:{i}: rows {2 * i}:{2 * i + 2}, shape (2, 4)" for i in range(8)
    ]
    assert report["out_devices"] == 8
    assert report["equal"]
    assert report["mean"] == pytest.approx(16.5)


def test_agree_accepts_rounding_and_rejects_wrong_values():
    expected = np.array([10.0, -3.0, 0.01])
    assert vm.agree(expected * (1 + 1e-4), expected)
    assert vm.agree(expected + 0.05, expected)  # 0.05 < 1% of the largest entry, 10
    assert not vm.agree(expected + 0.2, expected)
    assert not vm.agree(-expected, expected)
    assert not vm.agree(expected[:2], expected)  # shapes differ
    assert vm.agree(np.zeros(3), np.zeros(3))
    assert not vm.agree(np.ones(3), np.zeros(3))


# ---------------------------------------------------------------------------- collectives


def test_batch_normalise_uses_the_statistics_of_the_whole_batch():
    xs = jax.random.normal(jax.random.key(6), (16, 3)) * 4.0 + 2.0
    out = jax.vmap(vm.batch_normalise, axis_name="batch")(xs)
    expected = (xs - xs.mean(axis=0)) / jnp.sqrt(xs.var(axis=0) + 1e-5)
    assert out.shape == xs.shape
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=1e-3)


def test_batch_normalise_follows_its_axis_name():
    xs = jnp.arange(12.0).reshape(4, 3)
    out = jax.vmap(lambda x: vm.batch_normalise(x, axis_name="rows"), axis_name="rows")(xs)
    np.testing.assert_allclose(out[:, 0], out[:, 1], rtol=1e-6)  # every column: 0, 3, 6, 9
    with pytest.raises(NameError, match="unbound axis name"):
        vm.batch_normalise(xs[0])
    with pytest.raises(NameError, match="unbound axis name"):
        jax.vmap(vm.batch_normalise, axis_name="other")(xs)


def test_keyword_arguments_are_mapped_over_axis_0():
    # in_axes covers the positional arguments only; a keyword argument is mapped like in_axes=0.
    xs = jnp.arange(9.0).reshape(3, 3)
    scale = jnp.array([1.0, 10.0, 100.0])
    mapped = jax.vmap(lambda x, s: x * s, in_axes=(0,))(xs, s=scale)
    np.testing.assert_array_equal(mapped, xs * scale[:, None])
    shared = jax.vmap(lambda x, s: x * s, in_axes=(0, None))(xs, scale)
    np.testing.assert_array_equal(shared, xs * scale)
    with pytest.raises(ValueError, match="inconsistent sizes"):
        jax.vmap(lambda x, s: x * s, in_axes=(0,))(jnp.ones((5, 3)), s=scale)


# ---------------------------------------------------------------------------- memory


@pytest.fixture
def wide():
    k1, k2, k3 = jax.random.split(jax.random.key(7), 3)
    params = {"w1": jax.random.normal(k1, (256, 8)), "w2": jax.random.normal(k2, (3, 256))}
    return params, jax.random.normal(k3, (64, 8))


def test_wide_layer_is_w2_tanh_w1_x(wide):
    params, xs = wide
    np.testing.assert_allclose(
        vm.wide_layer(params, xs[0]), params["w2"] @ jnp.tanh(params["w1"] @ xs[0]), rtol=1e-5
    )


def test_lax_map_gives_vmap_s_result_with_less_memory(wide):
    params, xs = wide
    by_vmap = lambda p, x: jax.vmap(vm.wide_layer, in_axes=(None, 0))(p, x)  # noqa: E731
    by_map = lambda p, x: jax.lax.map(lambda row: vm.wide_layer(p, row), x)  # noqa: E731
    by_chunks = lambda p, x: jax.lax.map(  # noqa: E731
        lambda row: vm.wide_layer(p, row), x, batch_size=16
    )
    results = [jax.jit(f)(params, xs) for f in (by_vmap, by_map, by_chunks)]
    for result in results[1:]:
        assert vm.agree(result, results[0], rel=1e-5)
    memory = [vm.memory_bytes(f, params, xs) for f in (by_vmap, by_map, by_chunks)]
    # The same inputs and outputs; scratch memory for all 64, one, and 16 hidden layers at once.
    assert {m["output"] for m in memory} == {64 * 3 * 4}
    assert {m["argument"] for m in memory} == {(256 * 8 + 3 * 256 + 64 * 8) * 4}
    vmap_temp, map_temp, chunk_temp = (m["temp"] for m in memory)
    assert vmap_temp >= 64 * 256 * 4
    assert map_temp < chunk_temp < vmap_temp


def test_global_mean_refuses_an_array_not_placed_on_the_mesh():
    # The page says so in prose: shard_map with the mesh's explicit axes does not move an
    # array that lives whole on one device, it asks for jax.device_put or jax.reshard.
    mesh = vm.cpu_mesh(1)
    values = jnp.arange(16.0)
    with pytest.raises(ValueError, match="reshard"):
        vm.global_mean(mesh)(jax.device_put(values, jax.devices("cpu")[0]))
    assert float(vm.global_mean(mesh)(vm.shard_rows(values, mesh))) == pytest.approx(7.5)


def test_plot_batching_timings_colours_eager_and_jit():
    import matplotlib

    matplotlib.use("Agg")

    class Timing:
        def __init__(self, name, median):
            self.name, self.median, self.spread = name, median, median / 10

    timings = [Timing(f"t{i}", 1e-5 * (i + 1)) for i in range(6)]
    (ax,) = vm.plot_batching_timings(timings).axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"t{i}" for i in range(6)]
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx([10, 20, 30, 40, 50, 60])
    assert ax.patches[0].get_facecolor() != ax.patches[3].get_facecolor()
    assert ax.get_xscale() == "log"


def test_batching_summary_glues_microseconds_and_ratios():
    class Timing:
        def __init__(self, name, median):
            self.name, self.median = name, median

    medians = {"Python loop + stack": 8e-4, "manual batch": 1e-4, "vmap": 9e-4}
    medians |= {"jit(Python loop)": 2e-4, "jit(manual batch)": 5e-5, "jit(vmap)": 1e-5}
    timings = [Timing(name, median) for name, median in medians.items()]
    summary = vm.batching_summary(timings)
    assert summary == pytest.approx(
        {"naive_us": 800, "jit_vmap_us": 10, "naive_over_jit_vmap": 80, "naive_over_jit_loop": 4}
    )


def test_wide_example_shapes_and_device():
    cpu = jax.devices("cpu")[0]
    params, batch = vm.wide_example(jax.random.key(0), cpu, batch=16)
    assert params["w1"].shape == (4096, 64) and params["w2"].shape == (10, 4096)
    assert batch.shape == (16, 64)
    assert {params["w1"].device, params["w2"].device, batch.device} == {cpu}
    assert vm.wide_layer(params, batch[0]).shape == (10,)


def test_memory_table_has_a_header_and_one_row_per_program():
    memory = {"vmap": {"temp": 16_777_216, "output": 40_960, "argument": 1_310_720}}
    header, row = vm.memory_table(memory).splitlines()
    assert header.split() == ["temp", "output", "inputs", "(bytes)"]
    assert row.split() == ["vmap", "16,777,216", "40,960", "1,310,720"]
    assert len(header) == len(row) + len("   (bytes)")
