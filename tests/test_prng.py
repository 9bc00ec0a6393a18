import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbook import prng


def draws(keys):
    return np.asarray([float(jax.random.uniform(k)) for k in keys])


def test_as_key_accepts_seed_typed_and_raw_keys():
    typed = jax.random.key(7)
    for given in (7, typed, jax.random.PRNGKey(7)):
        key = prng.as_key(given)
        assert jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
        np.testing.assert_array_equal(jax.random.key_data(key), jax.random.key_data(typed))


def test_same_seed_gives_the_same_stream():
    first = draws(itertools.islice(prng.KeySequence(0), 5))
    again = draws(itertools.islice(prng.KeySequence(jax.random.key(0)), 5))
    np.testing.assert_array_equal(first, again)


def test_different_seeds_give_different_streams():
    a = draws(itertools.islice(prng.KeySequence(0), 5))
    b = draws(itertools.islice(prng.KeySequence(1), 5))
    assert not np.any(a == b)


def test_subkeys_are_distinct_and_give_distinct_draws():
    keys = list(itertools.islice(prng.KeySequence(3), 20))
    data = {tuple(jax.random.key_data(k).tolist()) for k in keys}
    assert len(data) == 20
    assert len(set(draws(keys).tolist())) == 20


def test_next_is_the_carry_and_split_pattern():
    seq = prng.KeySequence(5)
    key = jax.random.key(5)
    for _ in range(3):
        key, subkey = jax.random.split(key)
        np.testing.assert_array_equal(jax.random.key_data(next(seq)), jax.random.key_data(subkey))


def test_take_returns_a_key_array_and_advances_the_sequence():
    seq = prng.KeySequence(0)
    batch = seq.take(4)
    assert batch.shape == (4,)
    assert jnp.issubdtype(batch.dtype, jax.dtypes.prng_key)
    # vmap over the batch gives one draw per key, all different
    values = jax.vmap(jax.random.uniform)(batch)
    assert len(set(np.asarray(values).tolist())) == 4
    following = next(seq)
    batch_data = {tuple(row) for row in jax.random.key_data(batch).tolist()}
    assert tuple(jax.random.key_data(following).tolist()) not in batch_data
    with pytest.raises(ValueError):
        seq.take(0)


def test_named_keys_are_deterministic_independent_and_positional():
    key = jax.random.key(42)
    keys = prng.named_keys(key, "init", "dropout", "data")
    assert list(keys) == ["init", "dropout", "data"]
    expected = jax.random.split(key, 3)
    for i, name in enumerate(keys):
        np.testing.assert_array_equal(
            jax.random.key_data(keys[name]), jax.random.key_data(expected[i])
        )
    assert len(set(draws(keys.values()).tolist())) == 3
    again = prng.named_keys(jax.random.PRNGKey(42), "init", "dropout", "data")
    np.testing.assert_array_equal(
        jax.random.key_data(again["dropout"]), jax.random.key_data(keys["dropout"])
    )


def test_named_keys_rejects_no_names_and_duplicates():
    with pytest.raises(ValueError):
        prng.named_keys(jax.random.key(0))
    with pytest.raises(ValueError, match="duplicate"):
        prng.named_keys(jax.random.key(0), "a", "b", "a")
