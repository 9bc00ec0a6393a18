"""Chapter "Machine-learning basics": the digits data, a small MLP in pure JAX, its training loop.

Other chapters reuse :func:`load_digits_split` (the data and its split) and may reuse the MLP.

* Data: :func:`load_digits_split` gives the 8×8 handwritten digits that scikit-learn ships,
  as float32 pixels in [0, 1] and int32 labels, split into train / validation / test sets by
  an explicit seed.
* Model: :func:`init_mlp`, :func:`mlp_forward` (logits), and, jitted so that calling them
  outside a training loop compiles one program rather than one per operation,
  :func:`cross_entropy`, :func:`accuracy`, :func:`predict`. Parameters are a list of
  ``{"w", "b"}`` layers; ``w`` has the shape ``(outputs, inputs)`` of the lecture's matrices
  ``A``.
* Training: :func:`sgd` (plain gradient descent, pure JAX), :func:`train_step` (one jitted
  minibatch step) and :func:`train`, a Python loop over those steps. An optimiser is given as
  a function of the learning rate that returns an object with Optax's ``init``/``update``
  interface, so ``optax.adam`` drops in for :func:`sgd`; the learning rate is a traced
  argument, so trying several rates compiles the step once.
* Universal approximation: :func:`fit_shallow`, which fits ``F(x) = A σ(Bx + c)`` for several
  hidden widths at once (with ``vmap``, ``lax.scan`` and Optax: the chapter uses it before the
  chapters that explain those tools, and only shows what it returns).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import matplotlib as mpl
import numpy as np
import optax

NUM_CLASSES = 10
IMAGE_SHAPE = (8, 8)

Params = list[dict[str, jax.Array]]


# --------------------------------------------------------------------------- data


class DigitsSplit(NamedTuple):
    """The digits, split. ``x_*``: float32 ``(n, 64)`` in [0, 1]; ``y_*``: int32 ``(n,)``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits_split(
    seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2
) -> DigitsSplit:
    """scikit-learn's 1,797 handwritten digits (8×8 pixels, 16 grey levels), shuffled by
    ``np.random.default_rng(seed)`` and cut into train / validation / test sets.

    The same seed always gives the same split. Pixels are scaled from 0..16 to [0, 1] so that
    a network's initial weights need no rescaling. Flatten order is row by row: reshape a row of
    ``x_*`` to :data:`IMAGE_SHAPE` to see the image.
    """
    if not (0 <= val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            "val_fraction must lie in [0, 1) and test_fraction in (0, 1), leaving some training "
            f"data, got {val_fraction} and {test_fraction}"
        )
    from sklearn.datasets import load_digits  # imported here: only this function needs it

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = round(test_fraction * len(y))
    n_val = round(val_fraction * len(y))
    test, val, train = np.split(order, [n_test, n_test + n_val])
    return DigitsSplit(x[train], y[train], x[val], y[val], x[test], y[test])


# --------------------------------------------------------------------------- model


def init_mlp(key: jax.Array, sizes: Sequence[int], scale: float | None = None) -> Params:
    """Random layers for an MLP with layer widths ``sizes`` (inputs first, outputs last).

    Weights are normal with standard deviation ``sqrt(2 / inputs)`` (He initialisation, which
    keeps the size of ReLU activations roughly constant from layer to layer) unless ``scale``
    fixes it; biases start at zero.
    """
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs at least an input and an output size, got {sizes}")
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        {
            "w": jax.random.normal(k, (n_out, n_in)) * (scale or jnp.sqrt(2.0 / n_in)),
            "b": jnp.zeros(n_out),
        }
        for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def mlp_forward(
    params: Params, x: jax.Array, activation: Callable[[jax.Array], jax.Array] = jax.nn.relu
) -> jax.Array:
    """``L_n ∘ σ ∘ L_{n-1} ∘ … ∘ σ ∘ L_0`` on a batch ``x`` of shape ``(batch, inputs)``.

    The last layer has no activation: it returns logits, which the loss turns into
    probabilities. ``x @ w.T`` is the lecture's ``A x`` applied to every row of the batch.
    """
    for layer in params[:-1]:
        x = activation(x @ layer["w"].T + layer["b"])
    return x @ params[-1]["w"].T + params[-1]["b"]


@jax.jit
def cross_entropy(params: Params, x: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy between the network's outputs and one-hot ``labels``."""
    logits = mlp_forward(params, x)
    targets = jax.nn.one_hot(labels, logits.shape[-1])
    return -jnp.mean(jnp.sum(targets * jax.nn.log_softmax(logits), axis=-1))


@jax.jit
def predict(params: Params, x: jax.Array) -> jax.Array:
    """The most likely class of each row of ``x``."""
    return jnp.argmax(mlp_forward(params, x), axis=-1)


@jax.jit
def accuracy(params: Params, x: jax.Array, labels: jax.Array) -> jax.Array:
    """The fraction of rows of ``x`` classified correctly, in [0, 1]."""
    return jnp.mean(predict(params, x) == labels)


def with_constant(x: jax.Array) -> jax.Array:
    """``x`` (one example per row) with a column of ones appended, so that ``A x`` includes an
    offset (a bias)."""
    return jnp.hstack([x, jnp.ones((len(x), 1))])


def least_squares_classifier(x: np.ndarray, labels: np.ndarray, k: int = 2) -> jax.Array:
    """The ``A`` (``k × (features + 1)``) that makes ``A`` times :func:`with_constant` of each
    row closest, in least squares, to the one-hot label: the linear model's closed form."""
    a_transposed, *_ = np.linalg.lstsq(with_constant(x), jax.nn.one_hot(labels, k), rcond=None)
    return jnp.asarray(a_transposed.T)


# --------------------------------------------------------------------------- training


class Optimizer(NamedTuple):
    """The interface of ``optax.GradientTransformation``: ``init(params) -> state`` and
    ``update(grads, state, params) -> (updates, state)``; ``params + updates`` is the step."""

    init: Callable[[Any], Any]
    update: Callable[..., tuple[Any, Any]]


def sgd(learning_rate: float) -> Optimizer:
    """Plain gradient descent, ``θ ← θ − ε ∇L``, in pure JAX. It keeps no state."""

    def init(params: Any) -> tuple:
        return ()

    def update(grads: Any, state: tuple, params: Any = None) -> tuple[Any, tuple]:
        return jax.tree.map(lambda g: -learning_rate * g, grads), state

    return Optimizer(init, update)


def apply_updates(params: Any, updates: Any) -> Any:
    return jax.tree.map(jnp.add, params, updates)


class History(NamedTuple):
    """Metrics recorded during training, one entry per evaluation."""

    step: jax.Array  # the number of training steps taken when the metrics were computed
    train_loss: jax.Array  # on the whole training set
    val_loss: jax.Array
    val_accuracy: jax.Array


@partial(jax.jit, static_argnames="optimizer")
def train_step(
    params: Params,
    opt_state: Any,
    x: jax.Array,
    labels: jax.Array,
    learning_rate: float | jax.Array,
    *,
    optimizer: Callable[[Any], Optimizer],
) -> tuple[Params, Any]:
    """One step of ``optimizer(learning_rate)`` on the cross-entropy of the batch ``(x, labels)``.

    Compiled once per ``optimizer`` (a static argument) and per shape of the batch; the learning
    rate is traced, so another rate reuses the compiled step.
    """
    grads = jax.grad(cross_entropy)(params, x, labels)
    updates, opt_state = optimizer(learning_rate).update(grads, opt_state, params)
    return apply_updates(params, updates), opt_state


@jax.jit
def evaluate(params: Params, x_train, y_train, x_val, y_val) -> tuple[jax.Array, ...]:
    """The metrics of :class:`History`: training loss, validation loss and accuracy."""
    return (
        cross_entropy(params, x_train, y_train),
        cross_entropy(params, x_val, y_val),
        accuracy(params, x_val, y_val),
    )


def train(
    params: Params,
    data: DigitsSplit | tuple,
    key: jax.Array,
    *,
    optimizer: Callable[[Any], Optimizer],
    learning_rate: float,
    steps: int,
    batch_size: int,
    eval_every: int = 1,
) -> tuple[Params, History]:
    """Train ``params`` for ``steps`` minibatch steps of ``optimizer(learning_rate)``.

    ``optimizer`` is a function of the learning rate, :func:`sgd` or ``optax.adam``. ``data``
    holds ``(x_train, y_train, x_val, y_val, ...)`` (a :class:`DigitsSplit` or any tuple that
    starts so). Each step trains on ``batch_size`` training examples drawn at random (with
    replacement: cheaper than a shuffle, and as good for training); all the draws are made up
    front from ``key``, so the same key gives the same run. Every ``eval_every`` steps the
    metrics of :class:`History` are computed on the whole training and validation sets.
    """
    if steps % eval_every:
        raise ValueError(f"steps ({steps}) must be a multiple of eval_every ({eval_every})")
    x_train, y_train = np.asarray(data[0]), np.asarray(data[1])  # NumPy cuts batches fastest
    whole_sets = [jnp.asarray(a) for a in data[:4]]  # on the device once, for the metrics
    opt_state = optimizer(learning_rate).init(params)
    batches = np.asarray(jax.random.randint(key, (steps, batch_size), 0, len(y_train)))
    metrics = []
    for i, batch in enumerate(batches, start=1):
        params, opt_state = train_step(
            params, opt_state, x_train[batch], y_train[batch], learning_rate, optimizer=optimizer
        )
        if i % eval_every == 0:
            metrics.append(evaluate(params, *whole_sets))
    train_loss, val_loss, val_accuracy = (jnp.stack(m) for m in zip(*metrics, strict=True))
    step_numbers = jnp.arange(eval_every, steps + 1, eval_every)
    return params, History(step_numbers, train_loss, val_loss, val_accuracy)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, k: int = NUM_CLASSES):
    """``m[i, j]``: how many examples of class ``i`` were predicted as ``j``."""
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (np.asarray(labels), np.asarray(predictions)), 1)
    return m


# --------------------------------------------------------------------------- pictures


def grid_predictions(
    predict_fn: Callable[[jax.Array], jax.Array], extent: float = 1.5, resolution: int = 200
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``predict_fn`` on a square grid over ``[-extent, extent]²``: ``(xx, yy, classes)``, each
    of shape ``(resolution, resolution)``, ready for ``ax.contourf`` (decision regions)."""
    ticks = np.linspace(-extent, extent, resolution, dtype=np.float32)
    xx, yy = np.meshgrid(ticks, ticks)
    points = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return xx, yy, np.asarray(predict_fn(points)).reshape(xx.shape)


def plot_digit_grid(images: np.ndarray, titles: Sequence[str], ncols: int = 8):
    """Digits (rows of 64 pixels, or 8×8 images) in a grid, one title each; returns the figure.

    The digits are tiled into one picture on one axes: a grid of small axes would look the same
    but costs matplotlib about a tenth of a second per digit to lay out.
    """
    from jaxbook.plotting import new_figure

    images = np.asarray(images).reshape(-1, *IMAGE_SHAPE)
    if len(titles) != len(images):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    nrows = max(1, -(-len(images) // ncols))
    height, width = IMAGE_SHAPE
    cell_h, cell_w = height + 4, width + 2  # room for a title above, a gap beside
    canvas = np.full((nrows * cell_h, ncols * cell_w), np.nan)
    fig, ax = new_figure(figsize=(0.7 * ncols, 0.9 * nrows))
    for i, (image, title) in enumerate(zip(images, titles, strict=True)):
        top, left = (i // ncols) * cell_h + 3, (i % ncols) * cell_w + 1
        canvas[top : top + height, left : left + width] = image
        ax.text(left + width / 2 - 0.5, top - 1, title, ha="center", va="bottom")
    cmap = mpl.colormaps["gray_r"].with_extremes(bad="white")
    ax.imshow(canvas, cmap=cmap, vmin=-0.15, vmax=1, interpolation="nearest")
    ax.axis("off")
    return fig


def plot_histories(histories: dict[str, History]):
    """Loss (top, log scale) and validation accuracy (bottom) against the step, one colour per
    run: solid lines for the training set, dashed for the validation set."""
    from jaxbook.plotting import new_figure

    fig, (loss_ax, acc_ax) = new_figure(nrows=2, sharex=True)
    for i, (name, h) in enumerate(histories.items()):
        steps = np.asarray(h.step)
        colour = f"C{i}"
        loss_ax.plot(steps, h.train_loss, color=colour)
        loss_ax.plot(steps, h.val_loss, color=colour, linestyle="--")
        acc_ax.plot(steps, 100 * np.asarray(h.val_accuracy), color=colour, label=name)
    loss_ax.set(ylabel="cross-entropy (nats)", yscale="log")
    loss_ax.yaxis.set_minor_formatter(mpl.ticker.NullFormatter())  # no 6×10⁻¹ clutter
    loss_ax.set_title("solid: training set, dashed: validation set")
    acc_ax.set(xlabel="step", ylabel="validation accuracy (%)")
    acc_ax.legend(loc="lower right")
    return fig


def plot_activations(z: np.ndarray):
    """ReLU, the sigmoid and tanh over ``z``, one curve each; returns the figure."""
    from jaxbook.plotting import new_figure

    fig, ax = new_figure()
    ax.plot(z, jax.nn.relu(z), label=r"ReLU: $\max(x, 0)$")
    ax.plot(z, jax.nn.sigmoid(z), label=r"sigmoid: $1 / (1 + e^{-x})$")
    ax.plot(z, jnp.tanh(z), label=r"$\tanh x$")
    ax.set(xlabel="input $x$", ylabel=r"$\sigma(x)$", ylim=(-1.2, 2.2))
    ax.legend()
    return fig


def plot_image_as_vector(image: np.ndarray, vector: np.ndarray, shown: int = 300):
    """A colour image (top) and the first ``shown`` entries of it as a vector (bottom)."""
    from jaxbook.plotting import new_figure

    fig, (image_ax, vector_ax) = new_figure(nrows=2, figsize=(5.6, 6.0), height_ratios=[1.3, 1])
    image_ax.imshow(image)
    image_ax.set_title(" × ".join(map(str, image.shape)) + " image")
    image_ax.axis("off")
    vector_ax.plot(vector[:shown], linewidth=1)
    vector_ax.set(xlabel="index in the vector", ylabel="intensity (0 to 1)")
    vector_ax.set_title(f"as a vector of {vector.size:,} numbers (first {shown})")
    return fig


def plot_rings(
    predict_fn: Callable[[jax.Array], jax.Array], x: np.ndarray, y: np.ndarray, title: str
):
    """Two-class points in the plane (class 0 "outer ring", 1 "inner ring") over the decision
    regions of ``predict_fn``; returns the figure."""
    from jaxbook.plotting import new_figure

    fig, ax = new_figure(figsize=(4.5, 4))
    xx, yy, classes = grid_predictions(predict_fn, extent=1.5)
    ax.contourf(xx, yy, classes, levels=[-0.5, 0.5, 1.5], colors=["C0", "C1"], alpha=0.2)
    for label, marker in [(0, "o"), (1, "^")]:
        inside = y == label
        ax.scatter(*x[inside].T, s=10, marker=marker, color=f"C{label}",
                   label=["outer ring", "inner ring"][label])  # fmt: skip
    ax.set(xlabel="$x_1$", ylabel="$x_2$", aspect="equal", title=title)
    ax.legend(loc="upper right")
    return fig


def plot_fits_by_width(x, target, curves, widths, max_errors, line_error, shown=(2, 4, 16)):
    """Fitted curves of some widths over the target (top) and the largest error against the
    hidden width, with the best straight line's as a dashed level (bottom); returns the figure."""
    from jaxbook.plotting import new_figure

    fig, (fit_ax, error_ax) = new_figure(nrows=2)
    fit_ax.plot(x, target, color="C7", linewidth=4, alpha=0.3, label="target $g$")
    for curve, width in zip(curves, widths, strict=True):
        if width in shown:
            fit_ax.plot(x, curve, linewidth=1.5, label=f"width {width}")
    fit_ax.set(xlabel="$x$", ylabel="$g(x)$ and $F(x)$")
    fit_ax.legend(ncol=2)
    error_ax.loglog(widths, max_errors, "o-", label="tanh network")
    error_ax.axhline(line_error, color="C3", linestyle="--", label=r"$\sigma(x) = x$ (a line)")
    error_ax.set(xlabel="hidden width (units)", ylabel="max $|F(x) - g(x)|$")
    error_ax.legend()
    return fig


def plot_descent_paths(loss_fn, paths: dict, rates: dict, shown_steps: int = 15):
    """Loss against step on a log axis (top) and the first ``shown_steps`` steps of each path on
    the contour lines of ``loss_fn`` of two parameters (bottom), one colour per learning rate."""
    from jaxbook.plotting import new_figure

    fig, (loss_ax, path_ax) = new_figure(nrows=2)
    t1, t2 = np.meshgrid(np.linspace(-2.2, 2.2, 200), np.linspace(-1.2, 1.2, 200))
    path_ax.contour(t1, t2, loss_fn(np.stack([t1, t2])), levels=12, colors="0.8", linewidths=0.8)
    for name, rate in rates.items():
        losses = [float(loss_fn(theta)) for theta in paths[name]]
        loss_ax.semilogy(losses, label=rf"$\varepsilon$ = {rate:.3f}, {name}")
        path_ax.plot(*paths[name][: shown_steps + 1].T, "o-", markersize=3, linewidth=1, label=name)
    loss_ax.set(xlabel="step", ylabel=r"loss $L(\theta)$")
    loss_ax.legend()
    path_ax.set(xlabel=r"$\theta_1$", ylabel=r"$\theta_2$", xlim=(-2.2, 2.2), ylim=(-1.2, 1.2),
                title=f"first {shown_steps} steps")  # fmt: skip
    path_ax.legend(loc="lower right")
    return fig


def plot_confusion(confusion: np.ndarray):
    """A confusion matrix as a heat map, true class by row, each non-zero cell labelled."""
    from jaxbook.plotting import new_figure

    fig, ax = new_figure(figsize=(4.8, 4.2))
    ax.imshow(confusion, cmap="Blues")
    for (row, col), count in np.ndenumerate(confusion):
        if count:
            ax.text(col, row, count, ha="center", va="center",
                    color="white" if count > confusion.max() / 2 else "black")  # fmt: skip
    k = len(confusion)
    ax.set(xlabel="predicted digit", ylabel="true digit", xticks=range(k), yticks=range(k))
    ax.grid(False)
    return fig


# --------------------------------------------------------------------------- approximation


def shallow_net(params: dict[str, jax.Array], x: jax.Array, activation=jnp.tanh) -> jax.Array:
    """The lecture's ``F(x) = A σ(Bx + c)`` for scalar inputs ``x`` of shape ``(n,)``."""
    return activation(jnp.outer(x, params["B"]) + params["c"]) @ params["A"]


@partial(jax.jit, static_argnames=("widths", "steps", "activation"))
def fit_shallow(
    key: jax.Array,
    x: jax.Array,
    y: jax.Array,
    *,
    widths: tuple[int, ...],
    steps: int = 2_000,
    learning_rate: float = 0.05,
    activation: Callable[[jax.Array], jax.Array] = jnp.tanh,
) -> dict[str, jax.Array]:
    """Fit ``F(x) = A σ(Bx + c)`` to ``(x, y)`` by Adam on the mean squared error, once per
    hidden width in ``widths``; returns the parameters stacked along a leading width axis
    (:func:`fits_per_width` splits them into one dictionary per width).

    All widths train at once: each network has ``max(widths)`` hidden units, and a mask zeroes
    the entries of ``A`` beyond its width. Masked units get zero gradients, so Adam never moves
    them, and the networks are exactly those of the smaller widths; ``vmap`` over the masks
    compiles one program instead of one per width. The returned ``"A"`` is already masked.
    The learning rate decays to zero along a cosine, so that the last steps refine the fit.
    """
    width = max(widths)
    k_b, k_c, k_a = jax.random.split(key, 3)
    init = {
        "B": 3.0 * jax.random.normal(k_b, (width,)),
        "c": 3.0 * jax.random.normal(k_c, (width,)),
        "A": jax.random.normal(k_a, (width,)) / jnp.sqrt(width),
    }
    masks = jnp.arange(width)[None, :] < jnp.asarray(widths)[:, None]
    optimizer = optax.adam(optax.cosine_decay_schedule(learning_rate, steps))

    def fit_one(mask):
        def loss(params):
            masked = {**params, "A": params["A"] * mask}
            return jnp.mean((shallow_net(masked, x, activation) - y) ** 2)

        def step(carry, _):
            params, state = carry
            updates, state = optimizer.update(jax.grad(loss)(params), state, params)
            return (optax.apply_updates(params, updates), state), None

        params = {**init, "A": init["A"] * mask}
        (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)), length=steps)
        return {**params, "A": params["A"] * mask}

    return jax.vmap(fit_one)(masks)


def fits_per_width(fits: dict[str, jax.Array]) -> list[dict[str, jax.Array]]:
    """The stacked result of :func:`fit_shallow` as one parameter dictionary per width."""
    n_widths = len(fits["A"])
    return [{name: leaf[i] for name, leaf in fits.items()} for i in range(n_widths)]
