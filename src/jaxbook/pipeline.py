"""Chapter "A real training pipeline": a data loader that can be resumed, a small CNN whose
identical blocks are stacked with ``nnx.vmap`` and applied with ``nnx.scan`` and ``nnx.remat``,
an Optax chain with clipping, a warm-up schedule and masked weight decay, NNX metrics, and
checkpoints with Orbax's ``CheckpointManager``.

The data is :func:`jaxbook.ml_basics.load_digits_split`: 8x8 images, 64 pixels a row.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
from flax import nnx

from jaxbook.advanced_autodiff import is_kernel

CLASSES = 10

# --------------------------------------------------------------------------- the data loader


@dataclasses.dataclass
class Loader:
    """Minibatches of ``(x, y)``, reshuffled every epoch, that can stop and resume anywhere.

    Epoch ``e`` visits the examples in the order ``jax.random.permutation(fold_in(key, e), n)``
    and cuts it into ``n // batch_size`` batches of exactly ``batch_size``: the last
    ``n % batch_size`` examples of each epoch's order are dropped (a new order next epoch drops
    others), so every batch has one shape and the training step compiles once. The position,
    ``(epoch, step)`` of the next batch, is the loader's whole state: two integers, which
    :meth:`position` returns and :meth:`seek` sets.
    """

    x: np.ndarray
    y: np.ndarray
    batch_size: int
    key: jax.Array
    epoch: int = 0
    step: int = 0  # the next batch's index within the epoch

    def __post_init__(self) -> None:
        if not 0 < self.batch_size <= len(self.y):
            raise ValueError(f"batch_size must lie in 1..{len(self.y)}, got {self.batch_size}")
        self._order_epoch, self._order = -1, None

    @property
    def steps_per_epoch(self) -> int:
        return len(self.y) // self.batch_size

    def order(self, epoch: int) -> np.ndarray:
        """The order in which epoch ``epoch`` visits the examples (all ``n`` indices)."""
        if epoch != self._order_epoch:  # one permutation per epoch, not one per batch
            key = jax.random.fold_in(self.key, epoch)
            self._order = np.asarray(jax.random.permutation(key, len(self.y)))
            self._order_epoch = epoch
        return self._order

    def __iter__(self) -> Loader:
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        """The batch at the current position; then move the position on by one."""
        start = self.step * self.batch_size
        idx = self.order(self.epoch)[start : start + self.batch_size]
        self.step += 1
        if self.step == self.steps_per_epoch:
            self.epoch, self.step = self.epoch + 1, 0
        return self.x[idx], self.y[idx]

    def position(self) -> dict[str, int]:
        """Where the next batch comes from: JSON-ready, to be saved with a checkpoint."""
        return {"epoch": self.epoch, "step": self.step}

    def seek(self, position: dict[str, int]) -> None:
        """Continue from a saved :meth:`position`."""
        if not 0 <= position["step"] < self.steps_per_epoch:
            raise ValueError(f"step must lie in 0..{self.steps_per_epoch - 1}: {position}")
        self.epoch, self.step = int(position["epoch"]), int(position["step"])


# --------------------------------------------------------------------------- the model


class Block(nnx.Module):
    """A residual 3x3 convolution: ``x + relu(conv(x))``, same shape in and out."""

    def __init__(self, channels: int, *, rngs: nnx.Rngs):
        self.conv = nnx.Conv(channels, channels, (3, 3), rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return x + nnx.relu(self.conv(x))


class DigitsCNN(nnx.Module):
    """Conv 3x3 -> relu -> ``depth`` identical :class:`Block` s -> flatten -> Linear to 10
    logits. The blocks' variables are stacked along a leading layer axis
    (created by ``nnx.vmap`` over split keys); :meth:`__call__` runs them with ``nnx.scan``,
    each block under ``nnx.remat`` when ``remat``."""

    def __init__(self, *, channels: int = 8, depth: int = 3, remat: bool = True, rngs):
        self.stem = nnx.Conv(1, channels, (3, 3), rngs=rngs)

        @nnx.split_rngs(splits=depth)
        @nnx.vmap(in_axes=(0,), out_axes=0)
        def make_blocks(rngs: nnx.Rngs) -> Block:
            return Block(channels, rngs=rngs)

        self.blocks = make_blocks(rngs)
        self.head = nnx.Linear(64 * channels, CLASSES, rngs=rngs)
        self.remat = remat

    def features(self, x: jax.Array) -> jax.Array:
        return nnx.relu(self.stem(x.reshape(-1, 8, 8, 1)))

    def __call__(self, x: jax.Array) -> jax.Array:
        block_fn = nnx.remat(apply_block) if self.remat else apply_block
        h = nnx.scan(block_fn, in_axes=(nnx.Carry, 0), out_axes=nnx.Carry)(
            self.features(x), self.blocks
        )
        return self.head(h.reshape(h.shape[0], -1))


def apply_block(h: jax.Array, block: Block) -> jax.Array:
    return block(h)


def unrolled_call(model: DigitsCNN, x: jax.Array) -> jax.Array:
    """What :meth:`DigitsCNN.__call__` computes, with a Python loop over the layer axis: one
    block at a time, each rebuilt from its slice of the stacked variables."""
    graphdef, stacked = nnx.split(model.blocks)
    h = model.features(x)
    depth = jax.tree.leaves(stacked)[0].shape[0]
    for layer in range(depth):
        block = nnx.merge(graphdef, jax.tree.map(lambda a, i=layer: a[i], stacked))
        h = block(h)
    return model.head(h.reshape(h.shape[0], -1))


# --------------------------------------------------------------------------- the optimiser


def decay_mask(params: Any) -> Any:
    """``True`` at the kernels (convolutions and the linear head), ``False`` at the biases,
    for an ``nnx.State``: each ``nnx.Variable`` is taken as a leaf, so that its path ends at
    its name (``kernel``) rather than at the array inside it (``.value``)."""
    return jax.tree_util.tree_map_with_path(
        is_kernel, params, is_leaf=lambda x: isinstance(x, nnx.Variable)
    )


def make_schedule(peak: float, warmup_steps: int, total_steps: int) -> optax.Schedule:
    """Linear warm-up from 0 to ``peak`` over ``warmup_steps``, then cosine decay to
    ``peak / 100`` at ``total_steps``."""
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=peak,
        warmup_steps=warmup_steps,
        decay_steps=total_steps,
        end_value=peak / 100,
    )


def make_tx(schedule: optax.Schedule, weight_decay: float = 1e-3, mask=decay_mask):
    """Clip the gradient's global norm to 1, then AdamW with the schedule, decaying only what
    ``mask`` selects."""
    return optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.adamw(schedule, weight_decay=weight_decay, mask=mask),
    )


# --------------------------------------------------------------------------- steps and metrics


def loss_fn(model: DigitsCNN, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    logits = model(x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits


@nnx.jit
def train_step(model: DigitsCNN, optimizer: nnx.Optimizer, metrics, x, y) -> None:
    """One AdamW step on a batch; the batch's loss and accuracy go into ``metrics``."""
    grad_fn = nnx.value_and_grad(loss_fn, has_aux=True)
    (loss, logits), grads = grad_fn(model, x, y)
    optimizer.update(model, grads)
    metrics.update(loss=loss, logits=logits, labels=y)


@nnx.jit
def eval_step(model: DigitsCNN, metrics, x, y) -> None:
    loss, logits = loss_fn(model, x, y)
    metrics.update(loss=loss, logits=logits, labels=y)


def new_metrics() -> nnx.MultiMetric:
    return nnx.MultiMetric(loss=nnx.metrics.Average("loss"), accuracy=nnx.metrics.Accuracy())


def evaluate(model: DigitsCNN, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Loss and accuracy on a whole set, in one batch."""
    metrics = new_metrics()
    eval_step(model, metrics, x, y)
    return {name: float(value) for name, value in metrics.compute().items()}


# --------------------------------------------------------------------------- checkpoints


def save(manager: ocp.CheckpointManager, step: int, model, optimizer, loader: Loader) -> bool:
    """Save the model's and the optimiser's state and the loader's position as checkpoint
    ``step``; whether the manager saved (it may skip a step by its options)."""
    return manager.save(
        step,
        args=ocp.args.Composite(
            state=ocp.args.StandardSave(
                {"model": nnx.state(model), "optimizer": nnx.state(optimizer)}
            ),
            loader=ocp.args.JsonSave(loader.position()),
        ),
    )


def restore(
    manager: ocp.CheckpointManager,
    model: nnx.Module,
    optimizer: nnx.Optimizer,
    loader: Loader,
    step: int | None = None,
) -> int:
    """Load checkpoint ``step`` (the latest if ``None``) into the given objects, in place;
    returns the step restored."""
    step = manager.latest_step() if step is None else step
    # Shapes and dtypes are all Orbax needs to read into; no arrays are copied.
    target = jax.tree.map(
        ocp.utils.to_shape_dtype_struct,
        {"model": nnx.state(model), "optimizer": nnx.state(optimizer)},
    )
    restored = manager.restore(
        step,
        args=ocp.args.Composite(
            state=ocp.args.StandardRestore(target), loader=ocp.args.JsonRestore()
        ),
    )
    nnx.update(model, restored.state["model"])
    nnx.update(optimizer, restored.state["optimizer"])
    loader.seek(restored.loader)
    return step


# --------------------------------------------------------------------------- the run


@dataclasses.dataclass
class History:
    """Per step: learning rate and training loss; per epoch: validation loss and accuracy."""

    learning_rate: list[float] = dataclasses.field(default_factory=list)
    train_loss: list[float] = dataclasses.field(default_factory=list)
    val_step: list[int] = dataclasses.field(default_factory=list)
    val_loss: list[float] = dataclasses.field(default_factory=list)
    val_accuracy: list[float] = dataclasses.field(default_factory=list)


def train(
    model: DigitsCNN,
    optimizer: nnx.Optimizer,
    loader: Loader,
    until: int,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    schedule: optax.Schedule | None = None,
    manager: ocp.CheckpointManager | None = None,
    history: History | None = None,
) -> History:
    """Train from the optimiser's current step up to step ``until``. After each step, offer a
    checkpoint to ``manager``; at each epoch's end, evaluate on ``validation``."""
    history = History() if history is None else history
    metrics = new_metrics()
    # The objects' graph is walked once here, not on every call (see flax_nnx.md).
    step_fn = nnx.cached_partial(train_step, model, optimizer, metrics)
    while (step := int(optimizer.step[...])) < until:
        if schedule is not None:
            history.learning_rate.append(float(schedule(step)))
        x, y = next(loader)
        metrics.reset()
        step_fn(x, y)
        history.train_loss.append(float(metrics.compute()["loss"]))
        if manager is not None:
            save(manager, step + 1, model, optimizer, loader)
        if validation is not None and loader.step == 0:
            result = evaluate(model, *validation)
            history.val_step.append(step + 1)
            history.val_loss.append(result["loss"])
            history.val_accuracy.append(result["accuracy"])
    return history


def max_abs_difference(a: nnx.Module, b: nnx.Module) -> float:
    """The largest difference between any two corresponding variables of ``a`` and ``b``."""
    diffs = jax.tree.map(lambda u, v: jnp.max(jnp.abs(u - v)), nnx.state(a), nnx.state(b))
    return float(max(jax.tree.leaves(diffs)))


# --------------------------------------------------------------------------- the figure


def plot_history(history: History):
    """Three panels over the training steps: the learning rate, the training loss (per step)
    with the validation loss (per epoch), and the validation accuracy; returns the figure."""
    from jaxbook.plotting import new_figure

    fig, (ax_lr, ax_loss, ax_acc) = new_figure(nrows=3, sharex=True, figsize=(5.6, 7.5))
    steps = np.arange(1, len(history.train_loss) + 1)
    ax_lr.plot(steps - 1, history.learning_rate)
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_title("Warm-up, then cosine decay")
    ax_loss.plot(steps, history.train_loss, label="training batch", alpha=0.7)
    ax_loss.plot(history.val_step, history.val_loss, "o-", label="validation set")
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("cross-entropy (nats)")
    ax_loss.legend()
    ax_acc.plot(history.val_step, history.val_accuracy, "o-", color="C1")
    ax_acc.set_ylabel("validation accuracy")
    ax_acc.set_xlabel("training step")
    return fig
