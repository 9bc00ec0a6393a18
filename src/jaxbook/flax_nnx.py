"""Chapter "Flax NNX, and the three compared": the digit classifier as an NNX object, the three
libraries behind one interface, NNX's own training step, and checkpoints with Orbax.

The data, the :class:`~jaxbook.flax_haiku.Library` interface, the shared training loop and the
measuring helpers are in :mod:`jaxbook.flax_haiku`, next to the Linen and Haiku versions of the
network; this module adds the NNX version and gathers the three.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp
from flax import nnx

from jaxbook.flax_haiku import (
    CLASSES,
    DROPOUT_RATE,
    FEATURES,
    HIDDEN,
    LECUN_NORMAL,
    MOMENTUM,
    Digits,
    Library,
    Plan,
    cross_entropy,
    haiku_library,
    linen_library,
)

# --------------------------------------------------------------------------- the model


class NnxMLP(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs, dropout_rate: float = DROPOUT_RATE):
        self.linear1 = nnx.Linear(FEATURES, HIDDEN, kernel_init=LECUN_NORMAL, rngs=rngs)
        self.norm = nnx.BatchNorm(HIDDEN, momentum=MOMENTUM, rngs=rngs)
        self.dropout = nnx.Dropout(dropout_rate)
        self.linear2 = nnx.Linear(HIDDEN, CLASSES, kernel_init=LECUN_NORMAL, rngs=rngs)

    def __call__(self, x, train: bool, rngs: nnx.Rngs | None = None):
        x = self.linear1(x)
        x = self.norm(x, use_running_average=not train)
        x = nnx.relu(x)
        x = self.dropout(x, deterministic=not train, rngs=rngs)
        return self.linear2(x)


# --------------------------------------------------------------------------- the interface


def nnx_graphdef(dropout_rate: float = DROPOUT_RATE) -> nnx.GraphDef:
    """The structure of an :class:`NnxMLP` without its arrays, from an abstract model (no
    arrays are created)."""
    abstract = nnx.eval_shape(lambda: NnxMLP(rngs=nnx.Rngs(0), dropout_rate=dropout_rate))
    graphdef, _, _ = nnx.split(abstract, nnx.Param, nnx.BatchStat)
    return graphdef


def nnx_library(dropout_rate: float = DROPOUT_RATE) -> Library:
    graphdef = nnx_graphdef(dropout_rate)

    def init(key, x):
        model = NnxMLP(rngs=nnx.Rngs(params=key), dropout_rate=dropout_rate)
        _, params, state = nnx.split(model, nnx.Param, nnx.BatchStat)
        return params, state

    def apply(params, state, x, train, key):
        # copy=True: fresh Variables that belong to the current trace (jit, grad), which
        # BatchNorm may update; without it they are the caller's, and updating them raises.
        model = nnx.merge(graphdef, params, state, copy=True)
        logits = model(x, train, rngs=nnx.Rngs(dropout=key) if train else None)
        return logits, nnx.state(model, nnx.BatchStat)

    return Library("Flax NNX", init, apply, NnxMLP)


def libraries(dropout_rate: float = DROPOUT_RATE) -> list[Library]:
    return [lib(dropout_rate) for lib in (linen_library, haiku_library, nnx_library)]


# --------------------------------------------------------------------------- NNX, its own way


@nnx.jit
def nnx_train_step(model: NnxMLP, optimizer: nnx.Optimizer, x, y, key) -> jax.Array:
    """Flax NNX's idiom: the model and optimiser are objects, updated in place; ``nnx.jit``
    carries their state into and out of the compiled function."""

    def loss_fn(model):
        return cross_entropy(model(x, True, rngs=nnx.Rngs(dropout=key)), y)

    loss, grads = nnx.value_and_grad(loss_fn)(model)  # gradients of the nnx.Param only
    optimizer.update(model, grads)
    return loss


def nnx_train_steps(
    model: NnxMLP, optimizer: nnx.Optimizer, plan: Plan, data: Digits, steps: Iterable[int]
) -> jax.Array:
    """Run :func:`nnx_train_step` for the given rows of ``plan`` (their batches and dropout
    keys), one compiled call per step from Python; return the losses."""
    losses = []
    for step in steps:
        idx, key = plan.indices[step], plan.dropout_keys[step]
        losses.append(nnx_train_step(model, optimizer, data.x_train[idx], data.y_train[idx], key))
    return jnp.stack(losses)


# --------------------------------------------------------------------------- checkpoints


def save_checkpoint(directory: Path, model: nnx.Module, optimizer: nnx.Optimizer) -> None:
    """Write the model's variables and the optimiser's state under ``directory``, one Orbax
    checkpoint each (``model/`` and ``optimizer/``); neither may exist yet."""
    # Orbax writes in a background thread; leaving the `with` waits for it, then closes.
    with ocp.StandardCheckpointer() as checkpointer:
        checkpointer.save(directory / "model", nnx.state(model))
        checkpointer.save(directory / "optimizer", nnx.state(optimizer))


def restore_checkpoint(
    directory: Path,
    make_model: Callable[[], nnx.Module],
    make_optimizer: Callable[[nnx.Module], nnx.Optimizer],
) -> tuple[nnx.Module, nnx.Optimizer]:
    """Rebuild what :func:`save_checkpoint` wrote: ``make_model`` gives the structure (run
    abstractly, so no weights are drawn), Orbax fills it in, then the optimiser's state."""
    graphdef, abstract_state = nnx.split(nnx.eval_shape(make_model))
    with ocp.StandardCheckpointer() as checkpointer:
        model = nnx.merge(graphdef, checkpointer.restore(directory / "model", abstract_state))
        optimizer = make_optimizer(model)
        saved = checkpointer.restore(directory / "optimizer", nnx.state(optimizer))
    nnx.update(optimizer, saved)
    return model, optimizer


# --------------------------------------------------------------------------- the page's table


def comparison_table(libraries: Iterable[Library], results: dict, timings: dict, steps: int) -> str:
    """The comparison as a Markdown table, one row per library: parameters, lines of model code
    and of wrapper, test accuracy, time per step (a timing of ``steps`` steps divided by
    ``steps``), the parameters' bytes and those of parameters, state and Adam's state."""
    from jaxbook.flax_haiku import count_params, lines_of_code, tree_bytes
    from jaxbook.timing import format_seconds

    wrappers = {"Flax Linen": linen_library, "Haiku": haiku_library, "Flax NNX": nnx_library}
    rows = [
        "| library | parameters | lines of model code | lines of wrapper | test accuracy "
        "| time per step | parameters (bytes) | params + state + Adam (bytes) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for lib in libraries:
        r = results[lib.name]
        everything = (r.params, r.state, r.opt_state)
        rows.append(
            f"| {lib.name} | {count_params(r.params):,} | {lines_of_code(lib.model)} "
            f"| {lines_of_code(wrappers[lib.name])} | {float(r.accuracy):.1%} "
            f"| {format_seconds(timings[lib.name].median / steps)} "
            f"| {tree_bytes(r.params):,} | {tree_bytes(everything):,} |"
        )
    return "\n".join(rows)


# --------------------------------------------------------------------------- the page's figure


def plot_losses(losses: dict[str, jax.Array], window: int = 10):
    """Each run's training loss per step, as a ``window``-step moving mean on a log axis, one
    line per library; returns the figure."""
    import numpy as np

    from jaxbook.plotting import new_figure

    fig, ax = new_figure()
    for name, run in losses.items():
        run = np.asarray(run)
        smooth = np.convolve(run, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(window, len(run) + 1), smooth, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("cross-entropy (nats)")
    ax.set_title("One network, three libraries, one loop")
    ax.legend()
    return fig
