"""Chapter "Advanced autodiff and pytrees": what the page builds beyond ``jaxbook.grad``.

A linearisation inspected through its jaxpr, a softplus whose derivative is stable where the
one JAX derives is ``nan``, a derivative rule with a non-differentiable argument, a fixed-point
solver differentiated implicitly (and, to check it, by unrolling its iterations), a layer of a
small equilibrium model to solve for, and weight decay applied by key path to the kernels of a
parameter tree only; and the page's figure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

# ------------------------------------------------------------------------------- linearize


def primitive_counts(fn: Callable[..., Any], *args: Any) -> Counter[str]:
    """How often each primitive occurs in the jaxpr of ``fn(*args)``, nested jaxprs (of
    ``jit``, ``custom_jvp``, loops) included."""

    def count(jaxpr, counts: Counter[str]) -> Counter[str]:
        for eqn in jaxpr.eqns:
            counts[eqn.primitive.name] += 1
            for param in eqn.params.values():
                for sub in param if isinstance(param, (list, tuple)) else (param,):
                    inner = getattr(sub, "jaxpr", sub)  # a ClosedJaxpr holds a Jaxpr
                    if hasattr(inner, "eqns"):
                        count(inner, counts)
        return counts

    return count(jax.make_jaxpr(fn)(*args).jaxpr, Counter())


@partial(jax.jit, static_argnames="n")
def logistic_data(key: jax.Array, n: int = 200) -> tuple[jax.Array, jax.Array]:
    """``n`` examples of five standard normal features and labels ±1: the sign of a fixed
    linear function of the features plus noise (the data of the page's Newton steps)."""
    key_x, key_noise = jax.random.split(key)
    features = jax.random.normal(key_x, (n, 5))
    true_w = jnp.array([1.0, -2.0, 0.5, 0.0, 3.0])
    labels = jnp.sign(features @ true_w + 0.5 * jax.random.normal(key_noise, (n,)))
    return features, labels


# ------------------------------------------------------------------- a stable derivative

SOFTPLUS_SWITCH = 20.0  # above it, log(1 + e^x) is x to float32's precision


def softplus_naive(x: jax.Array) -> jax.Array:
    """``log(1 + e^x)`` as written: ``inf`` once ``e^x`` overflows (x > 88 in float32)."""
    return jnp.log1p(jnp.exp(x))


def softplus_guarded(x: jax.Array) -> jax.Array:
    """``log(1 + e^x)`` with its value guarded by a ``where``: ``x`` itself for large ``x``.
    The value is right everywhere; the derivative JAX derives is ``nan`` for large ``x``."""
    return jnp.where(x > SOFTPLUS_SWITCH, x, jnp.log1p(jnp.exp(x)))


@jax.custom_jvp
def softplus(x: jax.Array) -> jax.Array:
    """``log(1 + e^x)``, the guarded value, with the derivative stated: ``sigmoid(x)``."""
    return softplus_guarded(x)


@softplus.defjvp
def softplus_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return softplus(x), jax.nn.sigmoid(x) * x_dot


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def smooth_relu(x: jax.Array, sharpness: float) -> jax.Array:
    """``softplus(sharpness * x) / sharpness``: a ReLU with a rounded corner, sharper as
    ``sharpness`` grows. ``sharpness`` is a setting, not differentiated."""
    return softplus(sharpness * x) / sharpness


@smooth_relu.defjvp
def smooth_relu_jvp(sharpness, primals, tangents):  # the nondiff arguments come first
    (x,), (x_dot,) = primals, tangents
    return smooth_relu(x, sharpness), jax.nn.sigmoid(sharpness * x) * x_dot


# ---------------------------------------------------------------------- fixed points

TOLERANCE = 1e-6  # largest change of one iteration at which the solvers stop
MAX_STEPS = 1000  # and the most iterations they take in any case


def solve_by_iteration(
    step: Callable[[jax.Array, Any], jax.Array], theta: Any, x0: jax.Array
) -> jax.Array:
    """Iterate ``x <- step(x, theta)`` from ``x0`` until one iteration changes no entry by more
    than ``TOLERANCE`` (or ``MAX_STEPS`` iterations). A ``lax.while_loop``: forward-mode
    differentiable, but not in reverse mode."""

    def keep_going(carry):
        x, previous, steps = carry
        return (jnp.max(jnp.abs(x - previous)) > TOLERANCE) & (steps < MAX_STEPS)

    def one_step(carry):
        x, _, steps = carry
        return step(x, theta), x, steps + 1

    first = step(x0, theta)
    return jax.lax.while_loop(keep_going, one_step, (first, x0, 1))[0]


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def fixed_point(f: Callable[[jax.Array, Any], jax.Array], theta: Any, x0: jax.Array):
    """The solution ``x*`` of ``x* = f(x*, theta)``, found by iteration from ``x0``, whose
    derivative with respect to ``theta`` comes from the implicit function theorem, not from
    the iterations: ``f`` must be a contraction in ``x``."""
    return solve_by_iteration(f, theta, x0)


def _fixed_point_fwd(f, theta, x0):
    x_star = solve_by_iteration(f, theta, x0)
    return x_star, (theta, x_star, x0)


def _fixed_point_bwd(f, residuals, x_star_bar):
    """The cotangent of ``theta``: ``w = x̄ + (∂f/∂x)ᵀ w`` solved by iteration (the same
    contraction, transposed), then pulled back through ``∂f/∂θ``."""
    theta, x_star, x0 = residuals
    _, pull_back_x = jax.vjp(lambda x: f(x, theta), x_star)
    _, pull_back_theta = jax.vjp(lambda th: f(x_star, th), theta)
    w = solve_by_iteration(lambda w, u: u + pull_back_x(w)[0], x_star_bar, x_star_bar)
    (theta_bar,) = pull_back_theta(w)
    return theta_bar, jnp.zeros_like(x0)  # x* does not depend on where the iteration started


fixed_point.defvjp(_fixed_point_fwd, _fixed_point_bwd)


def fixed_point_unrolled(
    f: Callable[[jax.Array, Any], jax.Array], theta: Any, x0: jax.Array, steps: int
) -> jax.Array:
    """``steps`` iterations of ``x <- f(x, theta)`` in a ``lax.scan``: differentiable in
    reverse mode by differentiating every iteration, with every iterate kept for it."""
    x, _ = jax.lax.scan(lambda x, _: (f(x, theta), None), x0, length=steps)
    return x


def equilibrium_layer(x: jax.Array, params: dict[str, jax.Array]) -> jax.Array:
    """One step of a tiny deep equilibrium model: ``tanh(W x + U u + b)`` for the input ``u``
    kept in ``params``; a contraction in ``x`` while ``W``'s spectral norm is below 1."""
    return jnp.tanh(params["W"] @ x + params["U"] @ params["u"] + params["b"])


@partial(jax.jit, static_argnames=("size", "norm"))
def equilibrium_params(key: jax.Array, size: int = 8, norm: float = 0.6) -> dict[str, jax.Array]:
    """Random parameters for :func:`equilibrium_layer`, ``W`` scaled to spectral norm
    ``norm``: the iteration then shrinks errors by that factor at least, at every step."""
    k_w, k_u, k_b, k_in = jax.random.split(key, 4)
    W = jax.random.normal(k_w, (size, size))
    return {
        "W": norm * W / jnp.linalg.norm(W, ord=2),
        "U": jax.random.normal(k_u, (size, size)) / jnp.sqrt(size),
        "b": 0.1 * jax.random.normal(k_b, (size,)),
        "u": jax.random.normal(k_in, (size,)),
    }


def implicit_derivative_dense(
    f: Callable[[jax.Array, Any], jax.Array], theta: jax.Array, x_star: jax.Array
) -> jax.Array:
    """``dx*/dθ = (I - ∂f/∂x)⁻¹ ∂f/∂θ``, the implicit function theorem with both Jacobians
    formed and one linear solve: the check for small problems, where ``θ`` is one array."""
    J_x = jax.jacobian(f, argnums=0)(x_star, theta)
    J_theta = jax.jacobian(f, argnums=1)(x_star, theta)
    identity = jnp.eye(x_star.size)
    return jnp.linalg.solve(identity - J_x, J_theta.reshape(x_star.size, -1)).reshape(J_theta.shape)


def plot_unrolled_error(steps: np.ndarray, errors: np.ndarray, norm: float):
    """The relative error of the unrolled gradient against the implicit one, per number of
    unrolled iterations, on a log axis, with the contraction bound ``norm ** steps``;
    returns the figure."""
    from jaxbook.plotting import new_figure

    fig, ax = new_figure()
    ax.plot(steps, errors, "o-", ms=3, label="unrolled against implicit")
    ax.plot(steps, norm**steps, "k--", lw=1, label=f"{norm}ⁿ (W's spectral norm)")
    ax.set_yscale("log")
    ax.set_xlabel("iterations unrolled, n")
    ax.set_ylabel("relative error of the gradient")
    ax.legend()
    return fig


# ---------------------------------------------------------------------------- pytrees


def key_name(key: Any) -> str | int | None:
    """The name in one entry of a key path: a dict key, an attribute name, a sequence index;
    ``None`` for a class registered without key names (``FlattenedIndexKey``)."""
    if isinstance(key, jax.tree_util.DictKey):
        return key.key
    if isinstance(key, jax.tree_util.GetAttrKey):
        return key.name
    if isinstance(key, jax.tree_util.SequenceKey):
        return key.idx
    return None


def is_kernel(path: tuple[Any, ...], leaf: Any) -> bool:
    """Whether the leaf at ``path`` is a weight matrix to decay: its last key says ``kernel``."""
    return bool(path) and key_name(path[-1]) == "kernel"


def decay_mask(params: Any) -> Any:
    """A tree of booleans shaped like ``params``: ``True`` at the kernels. Optax's
    ``add_decayed_weights`` and ``adamw`` take such a mask."""
    return jax.tree_util.tree_map_with_path(is_kernel, params)


def decay_weights(params: Any, rate: float) -> Any:
    """``params`` with every kernel shrunk by ``rate`` (``p - rate * p``) and every other leaf,
    biases included, as it was: decoupled weight decay, applied by key path."""
    return jax.tree_util.tree_map_with_path(
        lambda path, p: p - rate * p if is_kernel(path, p) else p, params
    )
