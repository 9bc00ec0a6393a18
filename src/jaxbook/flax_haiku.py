"""Chapter "Flax Linen and Haiku": the digit classifier in both, and what every library shares.

The network is ``Dense(64) → BatchNorm → relu → Dropout → Dense(10)`` on the 8×8 handwritten
digits, with LeCun-normal weights and zero biases. Each library is wrapped in a
:class:`Library`, a small functional interface, so that one loop (:func:`make_train`) can drive
any of them with the same data, keys, optimiser and number of steps. The Flax NNX version and
the three-way comparison are in :mod:`jaxbook.flax_nnx`, which adds the third library to this
interface; the data, the loop and the measuring helpers stay here, in one place.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import flax.linen as nn
import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxbook import ml_basics

FEATURES = 64  # 8 × 8 pixels
HIDDEN = 64
CLASSES = 10
DROPOUT_RATE = 0.1
# Flax's default momentum, 0.99, needs many hundreds of steps before the running statistics
# forget their initial values; a few hundred steps are all this page can afford.
MOMENTUM = 0.9
# LeCun normal, Flax's default for weights. Haiku's default differs (a truncated normal with
# stddev 1/sqrt(fan_in), not rescaled to that stddev after truncation), and Haiku initialisers
# take no key (``init(shape, dtype)``; the key comes from the transform), so each is told.
LECUN_NORMAL = jax.nn.initializers.lecun_normal()
HAIKU_LECUN_NORMAL = hk.initializers.VarianceScaling(1.0, "fan_in", "truncated_normal")

Params = Any
State = Any


# --------------------------------------------------------------------------- data


class Digits(NamedTuple):
    x_train: jax.Array
    y_train: jax.Array
    x_test: jax.Array
    y_test: jax.Array


def load_digits_split(seed: int = 0, test_fraction: float = 0.25) -> Digits:
    """The digits of the ML-basics chapter (:func:`jaxbook.ml_basics.load_digits_split`) as JAX
    arrays, without a validation set: these chapters compare libraries and tune nothing."""
    split = ml_basics.load_digits_split(seed, val_fraction=0.0, test_fraction=test_fraction)
    arrays = (split.x_train, split.y_train, split.x_test, split.y_test)
    return Digits(*(jnp.asarray(a) for a in arrays))


# --------------------------------------------------------------------------- the models


class LinenMLP(nn.Module):
    hidden: int = HIDDEN
    classes: int = CLASSES
    dropout_rate: float = DROPOUT_RATE

    @nn.compact
    def __call__(self, x, train: bool):
        x = nn.Dense(self.hidden, kernel_init=LECUN_NORMAL)(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=MOMENTUM)(x)
        x = nn.relu(x)
        x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        return nn.Dense(self.classes, kernel_init=LECUN_NORMAL)(x)


def haiku_mlp(x, train: bool, dropout_rate: float = DROPOUT_RATE):
    x = hk.Linear(HIDDEN, w_init=HAIKU_LECUN_NORMAL)(x)
    x = hk.BatchNorm(create_scale=True, create_offset=True, decay_rate=MOMENTUM)(x, train)
    x = jax.nn.relu(x)
    if train:
        x = hk.dropout(hk.next_rng_key(), dropout_rate, x)
    return hk.Linear(CLASSES, w_init=HAIKU_LECUN_NORMAL)(x)


# --------------------------------------------------------------------------- one interface


@dataclass(frozen=True)
class Library:
    """What the shared loop needs from a library: pure functions over explicit trees.

    ``init(key, x) -> (params, state)`` and
    ``apply(params, state, x, train, key) -> (logits, new_state)``, where ``state`` holds the
    BatchNorm statistics and ``key`` drives dropout (it is not used when ``train`` is False).
    """

    name: str
    init: Callable[[jax.Array, jax.Array], tuple[Params, State]]
    apply: Callable[[Params, State, jax.Array, bool, jax.Array | None], tuple[jax.Array, State]]
    model: Any  # the model definition, for showing and measuring its source


def linen_library(dropout_rate: float = DROPOUT_RATE) -> Library:
    model = LinenMLP(dropout_rate=dropout_rate)

    def init(key, x):
        variables = model.init(key, x, train=False)
        return variables["params"], variables["batch_stats"]

    def apply(params, state, x, train, key):
        variables = {"params": params, "batch_stats": state}
        if not train:
            return model.apply(variables, x, train=False), state
        logits, updates = model.apply(
            variables, x, train=True, rngs={"dropout": key}, mutable=["batch_stats"]
        )
        return logits, updates["batch_stats"]

    return Library("Flax Linen", init, apply, LinenMLP)


def haiku_library(dropout_rate: float = DROPOUT_RATE) -> Library:
    model = hk.transform_with_state(lambda x, train: haiku_mlp(x, train, dropout_rate))

    def init(key, x):
        # Haiku creates BatchNorm's moving averages only on the training path: init there.
        return model.init(key, x, train=True)

    def apply(params, state, x, train, key):
        return model.apply(params, state, key, x, train)

    return Library("Haiku", init, apply, haiku_mlp)


# --------------------------------------------------------------------------- one training loop


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def make_step(library: Library, optimiser: optax.GradientTransformation) -> Callable:
    """One training step: ``(params, state, opt_state, x, y, key) -> (..., loss)``."""

    def loss_fn(params, state, x, y, key):
        logits, new_state = library.apply(params, state, x, True, key)
        return cross_entropy(logits, y), new_state

    def step(params, state, opt_state, x, y, key):
        (loss, state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, state, x, y, key)
        updates, opt_state = optimiser.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), state, opt_state, loss

    return step


def accuracy(library: Library, params: Params, state: State, x, y) -> jax.Array:
    logits, _ = library.apply(params, state, x, False, None)
    return jnp.mean(jnp.argmax(logits, axis=-1) == y)


class Plan(NamedTuple):
    """Which examples each step trains on, and the key each step's dropout uses."""

    indices: jax.Array  # (steps, batch_size) row numbers into the training set
    dropout_keys: jax.Array  # (steps,) keys


@partial(jax.jit, static_argnums=(1, 2, 3))
def batch_plan(key: jax.Array, steps: int, batch_size: int, n: int) -> Plan:
    """Drawn once and given to every library: the same batches in the same order, the same
    dropout keys."""
    batch_key, dropout_key = jax.random.split(key)
    indices = jax.random.randint(batch_key, (steps, batch_size), 0, n)
    return Plan(indices, jax.random.split(dropout_key, steps))


class TrainResult(NamedTuple):
    params: Params
    state: State
    opt_state: Any
    losses: jax.Array  # one per step
    accuracy: jax.Array  # on the test set, in evaluation mode
    initial: tuple[Params, State]  # where training started


def make_train(
    library: Library, optimiser: optax.GradientTransformation
) -> Callable[[jax.Array, Plan, Digits], TrainResult]:
    """The shared loop: ``train(key, plan, data)`` initialises ``library``'s model from ``key``,
    takes one optimiser step per row of ``plan`` and scores the model on the test set. All of it
    is one jitted function (the loop is a ``lax.scan``): compiled once, run without Python."""
    step = make_step(library, optimiser)

    @jax.jit
    def train(key: jax.Array, plan: Plan, data: Digits) -> TrainResult:
        initial = params, state = library.init(key, data.x_train[:1])
        opt_state = optimiser.init(params)

        def body(carry, batch):
            idx, dropout_key = batch
            *carry, loss = step(*carry, data.x_train[idx], data.y_train[idx], dropout_key)
            return tuple(carry), loss

        (params, state, opt_state), losses = jax.lax.scan(body, (params, state, opt_state), plan)
        test_accuracy = accuracy(library, params, state, data.x_test, data.y_test)
        return TrainResult(params, state, opt_state, losses, test_accuracy, initial)

    return train


# --------------------------------------------------------------------------- measuring


def count_params(tree: Any) -> int:
    return sum(int(np.size(leaf)) for leaf in jax.tree.leaves(tree))


def tree_bytes(tree: Any) -> int:
    return sum(int(leaf.nbytes) for leaf in jax.tree.leaves(tree))


def expected_param_count(
    features: int = FEATURES, hidden: int = HIDDEN, classes: int = CLASSES
) -> int:
    """By hand: two weight matrices with their biases, and BatchNorm's scale and offset."""
    return (features * hidden + hidden) + 2 * hidden + (hidden * classes + classes)


def lines_of_code(obj: Any) -> int:
    """Lines of ``obj``'s source that hold code: not blank, not comments, not docstrings."""
    source = textwrap.dedent(inspect.getsource(obj))
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    return sum(
        1
        for number, line in enumerate(source.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#") and number not in docstrings
    )


def shapes(tree: Any) -> Any:
    """The tree with each array replaced by its shape; NNX state as a plain nested dict."""
    if isinstance(tree, nnx.State):
        tree = nnx.to_pure_dict(tree)
    return jax.tree.map(lambda leaf: tuple(leaf.shape), tree)
