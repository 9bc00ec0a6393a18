"""Chapter "Why JAX": the lecture's Python / NumPy / JAX experiment on ``data.T @ data``."""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np


def make_data(seed: int = 0, n: int = 1_000) -> np.ndarray:
    """The lecture's ``np.random.normal(size=(1_000, 1))``, from an explicit seed."""
    return np.random.default_rng(seed).normal(size=(n, 1))


def python_loop(data: np.ndarray) -> float:
    """``data.T @ data`` one element at a time, as the lecture's ``basic_python`` does."""
    result = 0.0
    for i in range(data.shape[0]):
        result += data.T[0, i] * data[i, 0]
    return result


def numpy_gram(data: np.ndarray) -> np.ndarray:
    return data.T @ data


def jax_gram(data: jax.Array) -> jax.Array:
    """The same product with ``jax.numpy``, dispatched operation by operation."""
    return jnp.transpose(data) @ data


jit_gram = jax.jit(jax_gram)


def lecture_time_func(func: Callable[[], object], name: str) -> float:
    """The lecture's timer, kept to show what it gets wrong: one call, no warm-up, and no
    waiting for JAX's asynchronous result. Prints like the lecture and returns seconds."""
    start = time.perf_counter_ns()
    res = func()
    duration = time.perf_counter_ns() - start
    print(f"{name}() result = {res}")
    print(f"duration: {duration} ns ({duration / 1_000:.0f} µs)")
    return duration / 1e9
