import haiku as hk
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

# By hand: Dense 64→64 (weights and biases), BatchNorm scale and offset, Dense 64→10.
HAND_COUNT = 64 * 64 + 64 + 64 + 64 + 64 * 10 + 10


LIBRARIES = {"Flax Linen": fh.linen_library, "Haiku": fh.haiku_library}
NAMES = list(LIBRARIES)


def by_name(name):
    return LIBRARIES[name]()


# --------------------------------------------------------------------------- data


def test_digits_split_is_reproducible_and_disjoint(data):
    assert data.x_train.shape == (1348, 64) and data.x_test.shape == (449, 64)
    assert data.y_train.dtype == jnp.int32 and data.x_train.dtype == jnp.float32
    assert float(data.x_train.min()) == 0.0 and float(data.x_train.max()) == 1.0
    assert set(np.unique(np.asarray(data.y_test))) == set(range(10))
    again = fh.load_digits_split(seed=0)
    np.testing.assert_array_equal(data.x_test, again.x_test)
    other = fh.load_digits_split(seed=1)
    assert not np.array_equal(np.asarray(data.y_test), np.asarray(other.y_test))
    # Disjoint: no test image appears in the training set (the digits have no duplicates).
    train_rows = {row.tobytes() for row in np.asarray(data.x_train)}
    assert not any(row.tobytes() in train_rows for row in np.asarray(data.x_test))


def test_batch_plan_shapes_and_range():
    plan = fh.batch_plan(jax.random.key(0), 7, 5, 20)
    assert plan.indices.shape == (7, 5) and plan.dropout_keys.shape == (7,)
    assert int(plan.indices.min()) >= 0 and int(plan.indices.max()) < 20
    keys = {tuple(np.asarray(jax.random.key_data(k))) for k in plan.dropout_keys}
    assert len(keys) == 7  # a different dropout key at every step


# --------------------------------------------------------------------------- the models


@pytest.mark.parametrize("name", NAMES)
def test_output_shapes_and_parameter_count(name, batch):
    lib = by_name(name)
    x, _ = batch
    params, state = lib.init(jax.random.key(0), x[:1])
    assert fh.count_params(params) == HAND_COUNT == fh.expected_param_count()
    for train in (True, False):
        logits, _ = lib.apply(params, state, x, train, jax.random.key(1))
        assert logits.shape == (len(x), 10)
        assert logits.dtype == jnp.float32


@pytest.mark.parametrize("name", NAMES)
def test_batchnorm_statistics_change_in_training_only(name, batch):
    check_batchnorm_updates_in_training_only(by_name(name), batch[0])


@pytest.mark.parametrize("name", NAMES)
def test_dropout_depends_on_the_key_in_training_only(name, batch):
    check_dropout_uses_the_key_in_training_only(by_name(name), batch[0])


def linen_to_haiku(p):
    return {
        "linear": {"w": p["Dense_0"]["kernel"], "b": p["Dense_0"]["bias"]},
        "batch_norm": {
            "scale": p["BatchNorm_0"]["scale"][None],
            "offset": p["BatchNorm_0"]["bias"][None],
        },
        "linear_1": {"w": p["Dense_1"]["kernel"], "b": p["Dense_1"]["bias"]},
    }


def test_linen_and_haiku_are_the_same_network(batch):
    """Given the same weights (and no dropout), the two compute the same function."""
    x, _ = batch
    linen, haiku = fh.linen_library(dropout_rate=0.0), fh.haiku_library(dropout_rate=0.0)
    key = jax.random.key(0)
    lp, ls = linen.init(key, x[:1])
    _, hs = haiku.init(key, x[:1])
    # Training mode normalises with the batch's statistics, so the running ones do not matter.
    dropout_key = jax.random.key(1)  # unused at rate 0, but each library asks for one
    expected, _ = linen.apply(lp, ls, x, True, dropout_key)
    from_haiku, _ = haiku.apply(linen_to_haiku(lp), hs, x, True, dropout_key)
    np.testing.assert_allclose(from_haiku, expected, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- training


@pytest.mark.parametrize("name", NAMES)
def test_one_training_step_lowers_the_loss(name, batch):
    lib = by_name(name)
    x, y = batch
    optimiser = optax.adam(1e-2)
    params, state = lib.init(jax.random.key(0), x[:1])
    opt_state = optimiser.init(params)
    key = jax.random.key(5)

    def loss(params):  # the same dropout mask before and after the step
        logits, _ = lib.apply(params, state, x, True, key)
        return float(fh.cross_entropy(logits, y))

    step = jax.jit(fh.make_step(lib, optimiser))
    new_params, new_state, _, reported = step(params, state, opt_state, x, y, key)
    assert float(reported) == pytest.approx(loss(params), rel=1e-5)
    assert loss(new_params) < loss(params)
    assert fh.count_params(new_params) == HAND_COUNT


@pytest.mark.parametrize("name", NAMES)
def test_shared_loop_trains_and_is_deterministic(name, data):
    first = check_trains_in_the_shared_loop(by_name(name), data)
    initial_params, _ = first.initial
    assert fh.count_params(initial_params) == HAND_COUNT


def test_haiku_must_be_initialised_on_the_training_path():
    model = hk.transform_with_state(lambda x, train: fh.haiku_mlp(x, train))
    with pytest.raises(ValueError, match="No value for 'average'"):
        model.init(jax.random.key(0), jnp.zeros((2, 64)), train=False)


# --------------------------------------------------------------------------- measuring


def test_count_params_and_tree_bytes():
    tree = {"a": jnp.zeros((3, 4)), "b": [jnp.zeros(5, dtype=jnp.int8), jnp.zeros(())]}
    assert fh.count_params(tree) == 12 + 5 + 1
    assert fh.tree_bytes(tree) == 12 * 4 + 5 * 1 + 4


def _sample(x):
    """A docstring
    over two lines."""
    # a comment

    y = x + 1  # counted
    return y


def test_lines_of_code_skips_docstrings_comments_and_blanks():
    assert fh.lines_of_code(_sample) == 3  # def, y = ..., return
    assert fh.lines_of_code(fh.haiku_mlp) < fh.lines_of_code(fh.LinenMLP)


def test_shapes_handles_nnx_state():
    layer = nnx.Linear(2, 3, rngs=nnx.Rngs(0))
    assert fh.shapes(nnx.state(layer)) == {"bias": (3,), "kernel": (2, 3)}
    assert fh.shapes({"w": jnp.zeros((4, 1))}) == {"w": (4, 1)}
