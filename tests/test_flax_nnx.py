import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from flax_contract import (
    check_batchnorm_updates_in_training_only,
    check_dropout_uses_the_key_in_training_only,
    check_trains_in_the_shared_loop,
)

from jaxbook import flax_haiku as fh
from jaxbook import flax_nnx as fn

# By hand: Dense 64→64 (weights and biases), BatchNorm scale and offset, Dense 64→10.
HAND_COUNT = 64 * 64 + 64 + 64 + 64 + 64 * 10 + 10


def test_libraries_are_the_three_in_order():
    assert [lib.name for lib in fn.libraries()] == ["Flax Linen", "Haiku", "Flax NNX"]
    assert [lib.model for lib in fn.libraries()] == [fh.LinenMLP, fh.haiku_mlp, fn.NnxMLP]


# --------------------------------------------------------------------------- the NNX model


def test_nnx_output_shapes_and_parameter_count(batch):
    lib = fn.nnx_library()
    x, _ = batch
    params, state = lib.init(jax.random.key(0), x[:1])
    assert fh.count_params(params) == HAND_COUNT == fh.expected_param_count()
    assert fh.shapes(state) == {"norm": {"mean": (64,), "var": (64,)}}
    for train in (True, False):
        logits, _ = lib.apply(params, state, x, train, jax.random.key(1))
        assert logits.shape == (len(x), 10)
        assert logits.dtype == jnp.float32


def test_nnx_batchnorm_statistics_change_in_training_only(batch):
    check_batchnorm_updates_in_training_only(fn.nnx_library(), batch[0], every=True)


def test_nnx_dropout_depends_on_the_key_in_training_only(batch):
    check_dropout_uses_the_key_in_training_only(fn.nnx_library(), batch[0])


def test_nnx_graphdef_builds_no_arrays_and_merges_with_any_weights(batch):
    x, _ = batch
    params, state = fn.nnx_library().init(jax.random.key(0), x[:1])
    model = nnx.merge(fn.nnx_graphdef(), params, state)
    assert isinstance(model, fn.NnxMLP)
    assert model(x, False).shape == (len(x), 10)


def linen_to_nnx(p, nnx_params):
    pure = {
        "linear1": {"kernel": p["Dense_0"]["kernel"], "bias": p["Dense_0"]["bias"]},
        "norm": {"scale": p["BatchNorm_0"]["scale"], "bias": p["BatchNorm_0"]["bias"]},
        "linear2": {"kernel": p["Dense_1"]["kernel"], "bias": p["Dense_1"]["bias"]},
    }
    nnx.replace_by_pure_dict(nnx_params, pure)
    return nnx_params


def test_linen_and_nnx_are_the_same_network(batch):
    """Given the same weights (and no dropout), the two compute the same function (Linen and
    Haiku are checked against each other in test_flax_haiku, so all three agree)."""
    x, _ = batch
    linen, _, nnx_lib = fn.libraries(dropout_rate=0.0)
    key = jax.random.key(0)
    lp, ls = linen.init(key, x[:1])
    np_, ns = nnx_lib.init(key, x[:1])
    # Training mode normalises with the batch's statistics, so the running ones do not matter.
    dropout_key = jax.random.key(1)  # unused at rate 0, but each library asks for one
    expected, _ = linen.apply(lp, ls, x, True, dropout_key)
    from_nnx, _ = nnx_lib.apply(linen_to_nnx(lp, np_), ns, x, True, dropout_key)
    np.testing.assert_allclose(from_nnx, expected, rtol=1e-5, atol=1e-5)


def test_initialisation_scheme_is_lecun_normal():
    """All three draw the first layer's weights with stddev 1/sqrt(64), biases zero."""
    x = jnp.zeros((1, 64))
    for lib in fn.libraries():
        params, _ = lib.init(jax.random.key(3), x)
        leaves = {
            "/".join(str(getattr(k, "key", k)) for k in path): leaf
            for path, leaf in jax.tree_util.tree_leaves_with_path(params)
        }
        hidden_w = [v for k, v in leaves.items() if v.shape == (64, 64)]
        assert len(hidden_w) == 1, lib.name
        assert float(jnp.std(hidden_w[0])) == pytest.approx(1 / 8, rel=0.05), lib.name
        biases = [v for k, v in leaves.items() if v.shape in ((64,), (10,)) and "b" in k]
        assert biases and all(float(jnp.abs(b).max()) == 0.0 for b in biases), lib.name


# --------------------------------------------------------------------------- training


def test_nnx_trains_in_the_shared_loop(data):
    check_trains_in_the_shared_loop(fn.nnx_library(), data)


def test_idiomatic_nnx_step_matches_the_shared_loop(data):
    plan = fh.batch_plan(jax.random.key(1), 5, 32, data.y_train.shape[0])
    result = fh.make_train(fn.nnx_library(), optax.adam(1e-2))(jax.random.key(0), plan, data)
    model = nnx.merge(fn.nnx_graphdef(), *result.initial, copy=True)
    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
    losses = fn.nnx_train_steps(model, optimizer, plan, data, range(5))
    np.testing.assert_allclose(losses, result.losses, rtol=1e-6, atol=1e-7)
    assert int(optimizer.step[...]) == 5


# --------------------------------------------------------------------------- checkpoints


def make_model():
    return fn.NnxMLP(rngs=nnx.Rngs(0))


def make_optimizer(model):
    return nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)


def test_checkpoint_round_trip_resumes_training_exactly(data, batch):
    plan = fh.batch_plan(jax.random.key(1), 6, 32, data.y_train.shape[0])
    model = make_model()
    optimizer = make_optimizer(model)
    fn.nnx_train_steps(model, optimizer, plan, data, range(3))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "checkpoint"
        fn.save_checkpoint(directory, model, optimizer)
        assert sorted(p.name for p in directory.iterdir()) == ["model", "optimizer"]
        restored, restored_optimizer = fn.restore_checkpoint(directory, make_model, make_optimizer)
    assert isinstance(restored, fn.NnxMLP) and restored is not model
    assert int(restored_optimizer.step[...]) == 3
    saved, loaded = nnx.state(model), nnx.state(restored)
    assert jax.tree.structure(saved) == jax.tree.structure(loaded)
    jax.tree.map(np.testing.assert_array_equal, saved, loaded)
    jax.tree.map(np.testing.assert_array_equal, nnx.state(optimizer), nnx.state(restored_optimizer))
    x, _ = batch
    np.testing.assert_array_equal(model(x, False), restored(x, False))
    # The same three further steps from either: bit for bit the same losses.
    ahead = fn.nnx_train_steps(model, optimizer, plan, data, range(3, 6))
    resumed = fn.nnx_train_steps(restored, restored_optimizer, plan, data, range(3, 6))
    np.testing.assert_array_equal(ahead, resumed)


def test_save_checkpoint_refuses_an_existing_checkpoint():
    model = make_model()
    optimizer = make_optimizer(model)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        fn.save_checkpoint(directory, model, optimizer)
        with pytest.raises(ValueError, match="already exists"):
            fn.save_checkpoint(directory, model, optimizer)


def test_merge_shares_the_state_unless_copied(batch):
    """What the page warns of: training a model merged without copy=True changes the state
    it was merged from."""
    x, y = batch
    params, state = fn.nnx_library().init(jax.random.key(0), x[:1])
    before = np.array(params["linear1"]["kernel"][...])
    for copy, changed in ((True, False), (False, True)):
        model = nnx.merge(fn.nnx_graphdef(), params, state, copy=copy)
        optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
        fn.nnx_train_step(model, optimizer, x, y, jax.random.key(1))
        assert (not np.array_equal(before, params["linear1"]["kernel"][...])) == changed


def test_plot_losses_draws_a_moving_mean_per_library():
    import matplotlib

    matplotlib.use("Agg")
    losses = {"a": jnp.arange(1.0, 21.0), "b": jnp.ones(20)}
    (ax,) = fn.plot_losses(losses, window=10).axes
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    np.testing.assert_allclose(ax.lines[0].get_xdata(), np.arange(10, 21))
    np.testing.assert_allclose(ax.lines[0].get_ydata()[0], 5.5)
    assert ax.get_yscale() == "log"


def test_comparison_table_has_a_row_per_library_with_its_numbers():
    from types import SimpleNamespace

    from jaxbook.timing import format_seconds as fh_seconds

    libraries = fn.libraries()
    params = {"w": jnp.zeros((4, 3)), "b": jnp.zeros(3)}
    result = SimpleNamespace(params=params, state={}, opt_state=(params, params), accuracy=0.5)
    results = {lib.name: result for lib in libraries}
    timings = {lib.name: SimpleNamespace(median=0.3) for lib in libraries}
    header, rule, *rows = fn.comparison_table(libraries, results, timings, steps=300).splitlines()
    assert header.count("|") == rule.count("|") == 9 and len(rows) == 3
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells[0] == "Flax Linen" and cells[1] == "15"
    assert cells[2] == str(fh.lines_of_code(libraries[0].model))
    assert cells[4] == "50.0%" and cells[5] == fh_seconds(0.001)
    assert cells[6:] == ["60", "180"]
