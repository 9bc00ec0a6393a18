"""Chapter "grad": the lecture's RMS-error descent, a finite-difference check, the talk's
linear-regression training loop (hand-written SGD and its Optax twin), a small MLP, and the
tools beyond grad: Jacobians from jvp and vjp, Hessian-vector products and Newton steps built
on them, custom derivative rules and what reverse mode saves; and the page's tables and
figures."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import jax
import jax.ad_checkpoint
import jax.numpy as jnp
import jax.scipy.sparse.linalg
import numpy as np
import optax

# --------------------------------------------------------------------------- the RMS example

# What the lecture printed (slides "Functional computation of gradients" and "Gradient
# descent"), kept as data so that the page can compare today's run with it.
LECTURE_GRADIENT = (0.1086251, -0.16293764, -0.54312545)
LECTURE_PLAIN_LOSSES = (
    3.6657236, 3.4990568, 3.3323894, 3.1657221, 2.9990551, 2.8323882, 2.665721, 2.4990537,
    2.3323865, 2.1657195, 1.9990524, 1.8323854, 1.6657186, 1.4990516, 1.3323847, 1.1657186,
    0.9990542, 0.8323898, 0.6657253, 0.49906078,
)  # fmt: skip
LECTURE_PLAIN_X = (0.11374928, 4.829371, 9.431246)
LECTURE_ANNEALED_LOSSES = (
    2.0157194, 0.7657221, 0.015718736, 0.012406095, 0.008687421, 0.0071328944, 0.0047321706,
    0.0041667605, 0.002507655, 0.0024983105, 0.0012557198, 0.0012558495, 0.0008558435,
    0.0007279681, 0.00046012658, 0.00043075677, 0.00023763097, 0.00023762452, 0.00013843694,
    0.00013850731,
)  # fmt: skip
LECTURE_ANNEALED_X = (4.142728e-05, 4.999917e00, 9.999779e00)


def rms_error(x: jax.Array, y: jax.Array) -> jax.Array:
    """The lecture's loss: root mean square of ``x - y``."""
    return jnp.sqrt(jnp.mean((x - y) ** 2))


def mean_squared_error(x: jax.Array, y: jax.Array) -> jax.Array:
    """The smooth alternative: the mean of ``(x - y) ** 2``, a bowl where the RMS error is a
    cone."""
    return jnp.mean((x - y) ** 2)


def lecture_inputs() -> tuple[jax.Array, jax.Array]:
    """The lecture's starting point ``x_in`` and target ``y_target`` (float32)."""
    x_in = jnp.array([1.2, 3.2, 4], dtype=jnp.float32)
    y_target = jnp.array([0, 5.0, 10.0], dtype=jnp.float32)
    return x_in, y_target


def learning_rates(
    learning_rate: float, steps: int, anneal_every: int | None = None, factor: float = 1.0
) -> np.ndarray:
    """The step size used at each step, computed as the lecture's loop does: a Python float,
    multiplied by ``factor`` after every ``anneal_every`` steps (float64, so that rounding
    matches the lecture's ``lambda_ *= annealing``)."""
    rates = np.empty(steps)
    for i in range(steps):
        rates[i] = learning_rate
        if anneal_every and (i + 1) % anneal_every == 0:
            learning_rate *= factor
    return rates


@partial(jax.jit, static_argnames="loss")
def gradient_descent(
    loss: Callable[[jax.Array, jax.Array], jax.Array],
    x0: jax.Array,
    target: jax.Array,
    rates: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """``x <- x - rate * grad(loss)(x, target)`` once per entry of ``rates``, compiled into one
    ``lax.scan``. Returns the final ``x`` and the loss after every step (what the lecture
    printed every 10th or 50th step)."""
    grad_loss = jax.grad(loss)

    def step(x, rate):
        x = x - rate.astype(x.dtype) * grad_loss(x, target)
        return x, loss(x, target)

    return jax.lax.scan(step, x0, rates)


def finite_difference_grad(
    f: Callable[[jax.Array], jax.Array], x: jax.Array, eps: float = 1e-3
) -> jax.Array:
    """Central differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` along every axis
    of a flat ``x``: a slow, approximate, independent check of ``jax.grad``."""
    basis = jnp.eye(x.size, dtype=x.dtype) * eps
    return jnp.array([(f(x + e) - f(x - e)) / (2 * eps) for e in basis])


# --------------------------------------------------------------------------- linear regression

Params = Any  # a pytree of arrays


def make_line_data(
    key: jax.Array, n: int = 101, slope: float = 2.0, intercept: float = -1.0, noise: float = 0.3
) -> tuple[jax.Array, jax.Array]:
    """``n`` points of the line ``slope * x + intercept`` plus Gaussian noise, ``x`` uniform
    in [-1, 1]; one key for the abscissae and one for the noise."""
    key_x, key_noise = jax.random.split(key)
    x = jax.random.uniform(key_x, (n,), minval=-1.0, maxval=1.0)
    y = slope * x + intercept + noise * jax.random.normal(key_noise, (n,))
    return x, y


def linear_model(params: Params, x: jax.Array) -> jax.Array:
    w, b = params
    return w * x + b


def mse_loss(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((linear_model(params, x) - y) ** 2)


# The talk's choice: compile the value and the gradient, keep the loop in Python.
loss_and_grad = jax.jit(jax.value_and_grad(mse_loss))


def sgd_update(params: Params, grads: Params, learning_rate: float) -> Params:
    """One step of plain gradient descent on any pytree of parameters."""
    return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)


def fit_sgd(
    params: Params, x: jax.Array, y: jax.Array, learning_rate: float, steps: int
) -> tuple[Params, np.ndarray]:
    """The talk's training loop with the hand-written update; returns the final parameters
    and the loss *before* each step."""
    losses = []
    for _ in range(steps):
        loss, grads = loss_and_grad(params, x, y)
        params = sgd_update(params, grads, learning_rate)
        losses.append(loss)
    return params, np.asarray(jnp.stack(losses))


def fit_optax(
    optimizer: optax.GradientTransformation,
    params: Params,
    x: jax.Array,
    y: jax.Array,
    steps: int,
) -> tuple[Params, np.ndarray]:
    """The same loop with an Optax optimiser: its state is a pytree we carry, not an object
    that changes."""
    opt_state = optimizer.init(params)
    losses = []
    for _ in range(steps):
        loss, grads = loss_and_grad(params, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        losses.append(loss)
    return params, np.asarray(jnp.stack(losses))


# --------------------------------------------------------------------------- a small MLP


def init_mlp(key: jax.Array, sizes: Sequence[int]) -> list[dict[str, jax.Array]]:
    """One ``{"w": (n_in, n_out), "b": (n_out,)}`` per layer, ``w`` scaled by 1/sqrt(n_in)."""
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        {
            "w": jax.random.normal(k, (n_in, n_out)) / jnp.sqrt(n_in),
            "b": jnp.zeros(n_out),
        }
        for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def mlp(params: list[dict[str, jax.Array]], x: jax.Array) -> jax.Array:
    """ReLU hidden layers, linear output layer."""
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def mlp_loss(params: list[dict[str, jax.Array]], x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((mlp(params, x) - y) ** 2)


# --------------------------------------------------------------------------- beyond grad


def jacobian_by_jvp(f: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    """The Jacobian of ``f`` at a flat ``x`` from Jacobian-vector products: one ``jvp`` per
    input direction gives one column, and ``vmap`` runs them all at once (what ``jax.jacfwd``
    does)."""

    def column(tangent):
        return jax.jvp(f, (x,), (tangent,))[1]

    return jax.vmap(column, out_axes=1)(jnp.eye(x.size, dtype=x.dtype))


def jacobian_by_vjp(f: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    """The Jacobian of ``f`` at ``x`` (flat output) from vector-Jacobian products: one forward
    pass, then one pull-back per output direction gives one row, all at once with ``vmap``
    (what ``jax.jacrev`` does)."""
    y, pullback = jax.vjp(f, x)
    (rows,) = jax.vmap(pullback)(jnp.eye(y.size, dtype=y.dtype))
    return rows


def grad_by_vjp(f: Callable[[jax.Array], jax.Array]) -> Callable[[jax.Array], jax.Array]:
    """``jax.grad`` for a scalar ``f`` of one argument: pull the cotangent 1 back through
    ``f``."""

    def grad_f(x):
        y, pullback = jax.vjp(f, x)
        (gradient,) = pullback(jnp.ones_like(y))
        return gradient

    return grad_f


def hvp(f: Callable[[jax.Array], jax.Array], x: jax.Array, v: jax.Array) -> jax.Array:
    """The Hessian of a scalar ``f`` at ``x`` times ``v``, without forming the Hessian:
    forward mode over reverse mode, the directional derivative of ``grad(f)`` along ``v``."""
    return jax.jvp(jax.grad(f), (x,), (v,))[1]


def newton(h: Callable[[jax.Array], jax.Array], x0: jax.Array, steps: int) -> list[jax.Array]:
    """``steps`` Newton steps ``x <- x - H(x)^-1 grad h(x)`` from ``x0``; returns every
    iterate, ``x0`` first (the solution of the page's exercise grad-ex-newton)."""

    @jax.jit  # one compiled step instead of re-tracing the Hessian every time
    def step(x):
        return x - jnp.linalg.solve(jax.hessian(h)(x), jax.grad(h)(x))

    xs = [x0]
    for _ in range(steps):
        xs.append(step(xs[-1]))
    return xs


def newton_cg(h: Callable[[jax.Array], jax.Array], x0: jax.Array, steps: int) -> list[jax.Array]:
    """:func:`newton` without forming the Hessian: conjugate gradients solve each Newton system
    from Hessian-vector products (:func:`hvp`)."""

    @jax.jit
    def step(x):
        def hessian_times(v):
            return hvp(h, x, v)

        direction, _ = jax.scipy.sparse.linalg.cg(hessian_times, jax.grad(h)(x))
        return x - direction

    xs = [x0]
    for _ in range(steps):
        xs.append(step(xs[-1]))
    return xs


@jax.custom_jvp
def safe_norm(x: jax.Array) -> jax.Array:
    """The Euclidean norm of ``x``, with derivative 0 at ``x = 0`` instead of ``nan``."""
    return jnp.sqrt(jnp.sum(x**2))


@safe_norm.defjvp
def safe_norm_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    norm = safe_norm(x)
    # d|x| = <x, dx> / |x|. At x = 0 the numerator is 0, so any nonzero divisor gives the
    # tangent 0; the `where` keeps the division, and its own derivative, away from 0.
    return norm, jnp.vdot(x, x_dot) / jnp.where(norm == 0, 1.0, norm)


@jax.custom_vjp
def clip_gradient(x: jax.Array, max_abs: float) -> jax.Array:
    """The identity on the way forward; on the way back, the cotangent that reaches ``x`` is
    clipped to ``[-max_abs, max_abs]``, element by element."""
    return x


def clip_gradient_fwd(x, max_abs):
    return x, max_abs  # the residual: what the backward pass needs


def clip_gradient_bwd(max_abs, cotangent):
    # One cotangent per input of clip_gradient; None: no gradient flows to max_abs.
    return jnp.clip(cotangent, -max_abs, max_abs), None


clip_gradient.defvjp(clip_gradient_fwd, clip_gradient_bwd)


def saved_residuals(f: Callable[..., jax.Array], *args: Any) -> list[str]:
    """What reverse mode keeps from the forward pass of ``f`` for its backward pass, one line
    per array, as ``jax.ad_checkpoint.print_saved_residuals`` prints it, but with the source
    file and line of each value replaced by its function's name."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        jax.ad_checkpoint.print_saved_residuals(f, *args)
    return [
        re.sub(r" from \S+:\d+(?::\d+)? \((\w+)\)$", r" in \1", line)
        for line in buffer.getvalue().splitlines()
    ]


# --------------------------------------------------------------------------- tables and figures


def annealing_table(
    rates: np.ndarray, losses32: np.ndarray, x0: jax.Array, target: jax.Array, every: int = 50
) -> str:
    """The annealed descent at the end of each block of ``every`` steps, one row per block: the
    size of one step on the RMS error (``λ/n``), the loss the lecture printed, the loss of the
    float32 run here (``losses32``) and that of the same descent run again in float64."""
    with jax.enable_x64(True):
        _, losses64 = gradient_descent(
            rms_error, x0.astype(jnp.float64), target.astype(jnp.float64), jnp.asarray(rates)
        )
        losses64 = np.asarray(losses64)
    header = f"{'block':>5} {'λ/n':>10} {'lecture':>12} {'float32 here':>13} {'float64':>12}"
    last = slice(every - 1, None, every)
    rows = zip(
        rates[last] / x0.size,
        LECTURE_ANNEALED_LOSSES,
        losses32[last],
        losses64[last],
        strict=True,
    )
    return "\n".join(
        [header]
        + [
            f"{block:>5} {bound:10.3e} {theirs:12.5e} {here:13.5e} {exact:12.5e}"
            for block, (bound, theirs, here, exact) in enumerate(rows)
        ]
    )


def jacobian_mode_ratios(timings: dict[tuple[str, str], Any]) -> dict[str, float]:
    """From ``{(case, mode): Timing}`` with a tall case first and a wide one second: how many
    times as long ``jacrev`` took as ``jacfwd`` on the tall Jacobian (``tall_rev_over_fwd``),
    and ``jacfwd`` as ``jacrev`` on the wide one (``wide_fwd_over_rev``)."""
    median = {key: timing.median for key, timing in timings.items()}
    tall, wide = dict.fromkeys(case for case, _ in timings)
    return {
        "tall_rev_over_fwd": median[tall, "jacrev"] / median[tall, "jacfwd"],
        "wide_fwd_over_rev": median[wide, "jacfwd"] / median[wide, "jacrev"],
    }


def annealing_checks(
    rates: np.ndarray, losses: np.ndarray, x_end: jax.Array, target: jax.Array
) -> dict[str, float | bool]:
    """What the page claims of the lecture's annealed descent (20 blocks of 50 steps): the
    largest relative difference of its first three block-end losses from the lecture's, whether
    from the fourth block on (the target reached) every loss stays below one step, ``λ/n``
    (within float32 rounding), and whether it ends within 1e-3 of the target."""
    lecture_head = np.array(LECTURE_ANNEALED_LOSSES[:3])
    losses, rates = np.asarray(losses), np.asarray(rates)
    head_diff = np.max(np.abs(losses[49:150:50] - lecture_head) / lecture_head)
    settled = slice(150, None)
    below = np.all(losses[settled] <= rates[settled] / np.size(x_end) * (1 + 1e-4))
    return {
        "annealed_head_rel_diff": float(head_diff),
        "annealed_below_floor": bool(below),
        "annealed_at_target": bool(jnp.max(jnp.abs(x_end - target)) < 1e-3),
    }


def plot_jacobian_timings(timings: dict[tuple[str, str], Any]):
    """Grouped bars on a log axis: the median time per Jacobian of ``jacfwd`` and ``jacrev``
    for each case, from ``{(case, mode): Timing}``; returns the figure."""
    from jaxbook.plotting import new_figure

    cases = list(dict.fromkeys(case for case, _ in timings))
    fig, ax = new_figure()
    for offset, mode in [(-0.2, "jacfwd"), (0.2, "jacrev")]:
        medians = [timings[case, mode].median * 1e6 for case in cases]
        ax.bar(np.arange(len(cases)) + offset, medians, width=0.4, label=mode)
    ax.set_xticks(np.arange(len(cases)), cases)
    ax.set_yscale("log")
    ax.set_ylabel("time per Jacobian (µs, log scale)")
    ax.set_title("Jacobian of tanh(W sin v), jit-compiled")
    ax.legend(title="mode")
    return fig


def plot_descents(
    plain_losses: np.ndarray,
    annealed_losses: np.ndarray,
    annealed_rates: np.ndarray,
    mse_losses: np.ndarray,
    n: int = 3,
):
    """The lecture's plain and annealed descents on the RMS error (the annealed one's loss at
    the end of each block of 50 steps marked, beside what the lecture printed), the size of one
    step ``λ/n`` as a dashed staircase, and the square root of a fixed-step descent on the
    squared error, on one log axis; returns the figure."""
    from jaxbook.plotting import new_figure

    steps = np.arange(1, len(annealed_losses) + 1)
    block_ends = slice(49, None, 50)
    fig, ax = new_figure(figsize=(5.6, 5.4))
    ax.plot(steps[: len(plain_losses)], plain_losses, label="plain, λ = 0.05 (lecture)")
    ax.plot(steps, annealed_losses, lw=0.5, alpha=0.6, color="C1")
    annealed_label = "annealed, λ = 0.1 × 0.75 every 50 (lecture)"
    ax.plot(
        steps[block_ends], annealed_losses[block_ends], "o-", color="C1", ms=4, lw=1,
        label=annealed_label,
    )  # fmt: skip
    ax.plot(
        steps[block_ends], LECTURE_ANNEALED_LOSSES, "x", color="C3", label="printed by the lecture"
    )
    ax.plot(steps, annealed_rates / n, "k--", lw=1, label="one step, λ/n")
    ax.plot(steps, np.sqrt(mse_losses), color="C2", lw=1, label="fixed λ = 0.05 on squared error")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("RMS error (units of x, log scale)")
    fig.legend(loc="outside lower center")
    return fig


def plot_line_fit(
    x: jax.Array,
    y: jax.Array,
    fits: dict[str, tuple[Params, np.ndarray]],
    slope=2.0,
    intercept=-1.0,
):
    """The data with the line they came from and each fitted line (top), and each fit's loss
    per step on a log axis (bottom), from ``{name: (params, losses)}``; returns the figure."""
    from jaxbook.plotting import new_figure

    fig, (ax_fit, ax_loss) = new_figure(nrows=2)
    ax_fit.plot(x, y, ".", color="0.6", label="data")
    grid = jnp.linspace(-1, 1, 2)
    sign = "−" if intercept < 0 else "+"
    ax_fit.plot(
        grid,
        slope * grid + intercept,
        "k--",
        lw=1,
        label=f"y = {slope:g}x {sign} {abs(intercept):g}",
    )
    for (name, (params, losses)), style in zip(fits.items(), ["-", ":", "-.", "--"], strict=False):
        ax_fit.plot(grid, linear_model(params, grid), style, label=name)
        ax_loss.plot(np.arange(len(losses)), losses, label=name)
    ax_fit.set_xlabel("x (arbitrary units)")
    ax_fit.set_ylabel("y (arbitrary units)")
    ax_fit.legend()
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("MSE loss (y units², log scale)")
    ax_loss.legend()
    return fig
