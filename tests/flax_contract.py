"""Checks of the `Library` contract (jaxbook.flax_haiku) that every library's tests run:
Linen and Haiku (tests/test_flax_haiku.py) and NNX (tests/test_flax_nnx.py)."""

from __future__ import annotations

import jax
import numpy as np
import optax

from jaxbook import flax_haiku as fh


def check_batchnorm_updates_in_training_only(lib, x, every: bool = False) -> None:
    """A training call changes the BatchNorm statistics (``every`` one of them, or some); an
    evaluation call leaves them as they were."""
    params, state = lib.init(jax.random.key(0), x[:1])
    _, after_train = lib.apply(params, state, x, True, jax.random.key(1))
    _, after_eval = lib.apply(params, state, x, False, None)
    changed = jax.tree.leaves(
        jax.tree.map(lambda a, b: not np.array_equal(a, b), state, after_train)
    )
    assert all(changed) if every else any(changed)
    jax.tree.map(np.testing.assert_array_equal, state, after_eval)


def check_dropout_uses_the_key_in_training_only(lib, x) -> None:
    """In training, dropout depends on the key (and only on it); in evaluation, not at all."""
    params, state = lib.init(jax.random.key(0), x[:1])
    a, _ = lib.apply(params, state, x, True, jax.random.key(1))
    b, _ = lib.apply(params, state, x, True, jax.random.key(2))
    c, _ = lib.apply(params, state, x, True, jax.random.key(1))
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, c)
    e1, _ = lib.apply(params, state, x, False, jax.random.key(1))
    e2, _ = lib.apply(params, state, x, False, jax.random.key(2))
    np.testing.assert_array_equal(e1, e2)


def check_trains_in_the_shared_loop(lib, data):
    """The shared loop trains ``lib`` (the loss falls, the accuracy is high) and the same key
    gives the same losses; returns the run."""
    plan = fh.batch_plan(jax.random.key(1), 40, 32, data.y_train.shape[0])
    train = fh.make_train(lib, optax.adam(1e-2))
    first = train(jax.random.key(0), plan, data)
    again = train(jax.random.key(0), plan, data)
    np.testing.assert_array_equal(first.losses, again.losses)
    assert first.losses.shape == (40,)
    assert float(first.losses[-5:].mean()) < 0.5 * float(first.losses[:5].mean())
    assert 0.8 < float(first.accuracy) <= 1.0
    return first
