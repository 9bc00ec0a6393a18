"""Chapter "Random numbers the JAX way": helpers for the split-a-key-per-use pattern.

JAX has no hidden random state: every random function takes a key, and a key must be used
once. Code that needs many keys carries one key and splits a fresh subkey off it for each
use. :class:`KeySequence` packages that loop for code that runs in plain Python (setting up
parameters, a training loop's driver); :func:`named_keys` hands out one key per named purpose.
Inside a jitted function, split explicitly instead: a ``KeySequence`` is mutable Python state,
and ``jax.jit`` would freeze it at trace time like any other side effect.
"""

from __future__ import annotations

from collections.abc import Iterator

import jax
import jax.numpy as jnp


def as_key(key_or_seed: int | jax.Array) -> jax.Array:
    """A typed key from a seed, a typed key, or a legacy raw ``uint32[2]`` key."""
    if isinstance(key_or_seed, int):
        return jax.random.key(key_or_seed)
    if jnp.issubdtype(key_or_seed.dtype, jax.dtypes.prng_key):
        return key_or_seed
    return jax.random.wrap_key_data(key_or_seed)


class KeySequence(Iterator[jax.Array]):
    """An endless iterator of fresh keys, from one seed or key.

    Each ``next()`` does what JAX code does by hand::

        key, subkey = jax.random.split(key)

    and returns ``subkey``, keeping ``key`` for later. The same seed gives the same stream.
    """

    def __init__(self, key_or_seed: int | jax.Array):
        self._key = as_key(key_or_seed)

    def __next__(self) -> jax.Array:
        self._key, subkey = jax.random.split(self._key)
        return subkey

    def take(self, n: int) -> jax.Array:
        """``n`` fresh keys at once, as one key array of shape ``(n,)`` (for ``jax.vmap``)."""
        if n < 1:
            raise ValueError(f"take() needs n >= 1, got {n}")
        keys = jax.random.split(self._key, n + 1)
        self._key = keys[0]
        return keys[1:]

    def __repr__(self) -> str:
        data = jax.random.key_data(self._key).tolist()
        return f"KeySequence(next state {data})"


def named_keys(key: jax.Array, *names: str) -> dict[str, jax.Array]:
    """One independent key per name, e.g. ``named_keys(key, "init", "dropout", "data")``.

    The keys depend on the position of each name, so keep the order of the names fixed.
    """
    if not names:
        raise ValueError("named_keys() needs at least one name")
    if len(set(names)) != len(names):
        raise ValueError(f"named_keys() got duplicate names: {names}")
    return dict(zip(names, jax.random.split(as_key(key), len(names)), strict=True))
