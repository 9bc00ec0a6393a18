"""Tests of jaxbook.sharding. Most need eight CPU devices: in a process where JAX's CPU backend
has not started, this module asks for them; where another module started it first, those tests
are skipped here and run again in a fresh process by the last test."""

import os
import subprocess
import sys

import jax

try:  # refused once the CPU backend runs (another test module started it first)
    jax.config.update("jax_num_cpu_devices", 8)
except RuntimeError:
    pass

import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxbook import sharding as sh

N_CPUS = len(jax.devices("cpu"))
needs_8 = pytest.mark.skipif(N_CPUS < 8, reason="needs 8 CPU devices")


def test_count_collectives_reads_sync_and_async_forms():
    text = """
      %all-reduce.1 = f32[] all-reduce(%x), replica_groups={}
      %ag = f32[8] all-gather-start(%y), dimensions={0}
      %done = f32[8] all-gather-done(%ag)
      %p = f32[2] collective-permute(%z), source_target_pairs={{0,1}}
      %add = f32[] add(%a, %b)
    """
    counts = sh.count_collectives(text)
    assert counts == {"all-reduce": 1, "all-gather": 1, "collective-permute": 1}


def test_cpu_mesh_refuses_more_devices_than_there_are():
    with pytest.raises(ValueError, match="CPU devices"):
        sh.cpu_mesh((N_CPUS + 1,), ("data",))


@needs_8
def test_blocks_of_each_layout():
    mesh = sh.cpu_mesh((2, 4), ("data", "model"))
    x = jnp.arange(64.0).reshape(8, 8)
    rows = sh.shard_blocks(sh.place(x, mesh, "data"))
    assert rows == {((0, 4), (0, 8)): [0, 1, 2, 3], ((4, 8), (0, 8)): [4, 5, 6, 7]}
    blocks = sh.shard_blocks(sh.place(x, mesh, "data", "model"))
    assert len(blocks) == 8 and all(len(ids) == 1 for ids in blocks.values())
    assert blocks[((4, 8), (6, 8))] == [7]
    replicated = sh.place(x, mesh)
    assert sh.shard_blocks(replicated) == {((0, 8), (0, 8)): list(range(8))}
    assert sh.fully_replicated(replicated) and not sh.fully_replicated(sh.place(x, mesh, "data"))
    assert sh.describe_blocks(sh.place(x, mesh, None, "model"))[0] == (
        "[0:8, 0:2] shape (8, 2) on devices [0, 4]"
    )


@needs_8
def test_compiler_inserts_all_reduces_only_where_needed():
    mesh = sh.cpu_mesh((2, 4), ("data", "model"))
    x = sh.place(jnp.ones((8, 8)), mesh, "data", "model")
    assert sum(sh.compiled_collectives(lambda x: x * 2, x).values()) == 0
    assert sh.compiled_collectives(jnp.sum, x)["all-reduce"] >= 1


@needs_8
def test_data_parallel_training_matches_one_device_and_stays_replicated():
    key_data, key_init = jax.random.split(jax.random.key(0))
    x, y = sh.regression_data(key_data, n=64)
    assert x.shape == (64, 4) and y.shape == (64, 1)
    params = sh.init_params(key_init, hidden=8)
    train = jax.jit(sh.train, static_argnames="steps")
    params_one, losses_one = train(params, x, y, steps=20)
    assert losses_one[-1] < losses_one[0]

    mesh = sh.cpu_mesh((8,), ("data",))
    split = NamedSharding(mesh, P("data"))
    x_split, y_split = jax.device_put((x, y), split)
    copied = jax.device_put(params, NamedSharding(mesh, P()))
    params_jit, losses_jit = train(copied, x_split, y_split, steps=20)
    params_sm, losses_sm = sh.shard_map_train(mesh, steps=20)(copied, x_split, y_split)
    for p, losses in [(params_jit, losses_jit), (params_sm, losses_sm)]:
        assert sh.fully_replicated(p)
        assert sh.max_abs_diff(losses, losses_one) < 1e-5
        assert sh.max_abs_diff(p, params_one) < 1e-5


@needs_8
def test_block_gradient_recipe_is_eight_times_the_gradient():
    key_data, key_init = jax.random.split(jax.random.key(1))
    x, y = sh.regression_data(key_data, n=64)
    params = sh.init_params(key_init, hidden=8)
    mesh = sh.cpu_mesh((8,), ("data",))
    x_split, y_split = jax.device_put((x, y), NamedSharding(mesh, P("data")))
    copied = jax.device_put(params, NamedSharding(mesh, P()))
    exact = jax.grad(sh.mse_loss)(params, x, y)
    for average in (True, False):
        recipe = sh.block_gradient(mesh, average=average)(copied, x_split, y_split)
        ratio = jax.tree.map(lambda a, b: np.asarray(a) / np.asarray(b), recipe, exact)
        np.testing.assert_allclose(
            np.concatenate([r.ravel() for r in jax.tree.leaves(ratio)]), 8.0, rtol=1e-3
        )


def test_max_abs_diff_and_specs():
    a = {"w": jnp.zeros((2, 2)), "b": jnp.zeros(2)}
    b = {"w": jnp.zeros((2, 2)).at[0, 1].set(-0.5), "b": jnp.full(2, 0.25)}
    assert sh.max_abs_diff(a, b) == 0.5
    mesh = sh.cpu_mesh((1,), ("data",))
    assert sh.specs(sh.place(jnp.zeros((2, 2)), mesh, None, "data")) == ["P(None, 'data')"]


@needs_8
def test_plot_layouts_draws_one_block_per_piece():
    mesh = sh.cpu_mesh((2, 4), ("data", "model"))
    x = jnp.zeros((8, 8))
    fig = sh.plot_layouts(
        {"rows": sh.place(x, mesh, "data"), "blocks": sh.place(x, mesh, "data", "model")}
    )
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [len(ax.patches) for ax in axes] == [2, 8]
    with pytest.raises(ValueError, match="one to four"):
        sh.plot_layouts({})


def test_eight_device_tests_in_a_fresh_process():
    if N_CPUS >= 8:
        pytest.skip("the eight-device tests ran in this process")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            __file__,
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "not fresh",
        ],
        env=dict(os.environ, JAX_PLATFORMS="cpu"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "skipped" not in result.stdout.splitlines()[-1], result.stdout[-1000:]
