import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

from jaxbook import advanced_autodiff as aa


def test_primitive_counts_see_inside_nested_jaxprs():
    counts = aa.primitive_counts(jax.jit(lambda x: jnp.sin(x) * 2.0), 1.0)
    assert counts["sin"] == 1 and counts["mul"] == 1 and counts["pjit"] + counts["jit"] == 1
    # jvp evaluates sin and cos; the linearised map only multiplies by stored values
    assert aa.primitive_counts(lambda v: jax.jvp(jnp.sin, (1.0,), (v,))[1], 1.0)["cos"] == 1
    _, f_lin = jax.linearize(lambda x: jnp.sin(x) * x, 1.0)
    lin_counts = aa.primitive_counts(f_lin, 1.0)
    assert lin_counts["sin"] == lin_counts["cos"] == 0 and lin_counts["mul"] > 0


def test_softplus_values_agree_and_only_the_rule_has_a_finite_slope_at_100():
    xs = jnp.linspace(-30.0, 30.0, 61)
    np.testing.assert_allclose(aa.softplus(xs), jax.nn.softplus(xs), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(aa.softplus_guarded(xs), jax.nn.softplus(xs), rtol=1e-6, atol=1e-6)
    assert np.isinf(aa.softplus_naive(100.0)) and aa.softplus_guarded(100.0) == 100.0
    assert np.isnan(jax.grad(aa.softplus_naive)(100.0))
    assert np.isnan(jax.grad(aa.softplus_guarded)(100.0))
    assert jax.grad(aa.softplus)(100.0) == 1.0
    slopes = jax.vmap(jax.grad(aa.softplus))(jnp.linspace(-100.0, 200.0, 301))
    np.testing.assert_allclose(slopes, jax.nn.sigmoid(jnp.linspace(-100.0, 200.0, 301)), atol=1e-7)


def test_the_rules_agree_with_finite_differences_in_both_modes():
    with jax.enable_x64(True):
        for x in (-3.0, 0.0, 0.7, 5.0):
            check_grads(aa.softplus, (x,), order=2, modes=["fwd", "rev"])
            check_grads(lambda x: aa.smooth_relu(x, 4.0), (x,), order=1, modes=["fwd", "rev"])


def test_smooth_relu_tends_to_relu_and_its_sharpness_gets_no_derivative():
    xs = jnp.array([-2.0, -0.5, 0.5, 2.0])
    np.testing.assert_allclose(aa.smooth_relu(xs, 100.0), jax.nn.relu(xs), atol=1e-3)
    assert jax.grad(aa.smooth_relu)(0.5, 4.0) == pytest.approx(float(jax.nn.sigmoid(2.0)))
    assert jax.grad(aa.smooth_relu, argnums=1)(0.5, 4.0) == 0.0  # nondiff: silently 0
    # a traced sharpness is accepted (vmap over it), the rule then sees the tracer
    slopes = jax.vmap(jax.grad(aa.smooth_relu), in_axes=(None, 0))(0.5, jnp.array([1.0, 4.0]))
    np.testing.assert_allclose(slopes, jax.nn.sigmoid(jnp.array([0.5, 2.0])), rtol=1e-6)


@pytest.fixture
def equilibrium():
    params = aa.equilibrium_params(jax.random.key(1))
    return params, jnp.zeros(8)


def test_equilibrium_weights_are_a_contraction_and_the_solution_is_a_fixed_point(equilibrium):
    params, x0 = equilibrium
    assert float(jnp.linalg.norm(params["W"], ord=2)) == pytest.approx(0.6, rel=1e-5)
    x_star = aa.fixed_point(aa.equilibrium_layer, params, x0)
    assert x_star.shape == (8,)
    np.testing.assert_allclose(aa.equilibrium_layer(x_star, params), x_star, atol=1e-5)
    np.testing.assert_allclose(
        aa.fixed_point_unrolled(aa.equilibrium_layer, params, x0, 60), x_star, atol=1e-5
    )


def test_reverse_mode_through_the_while_loop_is_refused(equilibrium):
    params, x0 = equilibrium

    def loss(p):
        return jnp.sum(aa.solve_by_iteration(aa.equilibrium_layer, p, x0))

    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work"):
        jax.grad(loss)(params)


def test_the_implicit_gradient_matches_the_dense_formula_unrolling_and_finite_differences(
    equilibrium,
):
    params, x0 = equilibrium

    def layer_of_bias(x, b):
        return aa.equilibrium_layer(x, {**params, "b": b})

    def loss(b):
        return jnp.sum(aa.fixed_point(layer_of_bias, b, x0) ** 2)

    b = params["b"]
    implicit = jax.grad(loss)(b)
    x_star = aa.fixed_point(layer_of_bias, b, x0)
    dense = 2 * x_star @ aa.implicit_derivative_dense(layer_of_bias, b, x_star)
    np.testing.assert_allclose(implicit, dense, rtol=1e-4, atol=1e-5)
    unrolled = jax.grad(lambda b: jnp.sum(aa.fixed_point_unrolled(layer_of_bias, b, x0, 60) ** 2))
    np.testing.assert_allclose(unrolled(b), implicit, rtol=1e-4, atol=1e-5)
    eps, direction = 1e-2, jnp.ones(8) / jnp.sqrt(8.0)
    finite_difference = (loss(b + eps * direction) - loss(b - eps * direction)) / (2 * eps)
    assert float(implicit @ direction) == pytest.approx(float(finite_difference), rel=1e-2)


def test_the_implicit_gradient_of_a_pytree_has_its_structure_and_x0_gets_zero(equilibrium):
    params, x0 = equilibrium
    grads = jax.grad(lambda p, x0: jnp.sum(aa.fixed_point(aa.equilibrium_layer, p, x0)),
                     argnums=(0, 1))(params, x0)  # fmt: skip
    assert jax.tree.map(jnp.shape, grads[0]) == jax.tree.map(jnp.shape, params)
    np.testing.assert_array_equal(grads[1], jnp.zeros(8))


def test_fixed_point_differentiates_a_square_root_and_batches():
    def heron(x, a):
        return (x + a / x) / 2

    a = jnp.array([2.0, 9.0, 100.0])
    roots = jax.vmap(lambda a: aa.fixed_point(heron, a, 1.0))(a)
    np.testing.assert_allclose(roots, jnp.sqrt(a), rtol=1e-6)
    slopes = jax.vmap(jax.grad(lambda a: aa.fixed_point(heron, a, 1.0)))(a)
    np.testing.assert_allclose(slopes, 0.5 / jnp.sqrt(a), rtol=1e-5)


def test_the_unrolled_gradient_error_shrinks_below_the_contraction_bound(equilibrium):
    params, x0 = equilibrium

    def grad_after(n):
        return jax.grad(
            lambda b: jnp.sum(
                aa.fixed_point_unrolled(aa.equilibrium_layer, {**params, "b": b}, x0, n) ** 2
            )
        )(params["b"])

    exact = grad_after(80)
    errors = [
        float(jnp.linalg.norm(grad_after(n) - exact) / jnp.linalg.norm(exact)) for n in (1, 5, 10)
    ]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 10 * 0.6**10


def test_implicit_derivative_dense_of_a_linear_map_is_the_closed_form():
    A = jnp.array([[0.2, 0.1], [0.0, 0.3]])
    jac = aa.implicit_derivative_dense(lambda x, t: A @ x + t, jnp.zeros(2), jnp.zeros(2))
    np.testing.assert_allclose(jac, jnp.linalg.inv(jnp.eye(2) - A), rtol=1e-6)


@jax.tree_util.register_pytree_node_class
class Unnamed:
    def __init__(self, kernel, bias):
        self.kernel, self.bias = kernel, bias

    def tree_flatten(self):
        return (self.kernel, self.bias), None

    @classmethod
    def tree_unflatten(cls, _, children):
        return cls(*children)


@flax.struct.dataclass
class Named:
    kernel: jax.Array
    bias: jax.Array


def test_key_names_of_each_kind_of_key():
    tree = {"a": [Named(1.0, 2.0)], "b": Unnamed(3.0, 4.0)}
    names = [[aa.key_name(k) for k in path] for path, _ in jax.tree.flatten_with_path(tree)[0]]
    assert names == [["a", 0, "kernel"], ["a", 0, "bias"], ["b", None], ["b", None]]


def test_weight_decay_touches_named_kernels_only():
    net = {"hidden": Named(jnp.ones((2, 3)), jnp.ones(3)), "out": Named(jnp.ones(3), jnp.ones(1))}
    mask = aa.decay_mask(net)
    assert jax.tree.leaves(mask) == [True, False, True, False]
    decayed = aa.decay_weights(net, 0.25)
    np.testing.assert_array_equal(decayed["hidden"].kernel, 0.75 * jnp.ones((2, 3)))
    np.testing.assert_array_equal(decayed["hidden"].bias, jnp.ones(3))
    assert type(decayed["hidden"]) is Named
    unnamed = {"hidden": Unnamed(jnp.ones((2, 3)), jnp.ones(3))}
    assert jax.tree.leaves(aa.decay_mask(unnamed)) == [False, False]  # no names: no decay
    assert aa.is_kernel((), jnp.ones(2)) is False


def test_decay_weights_matches_optax_add_decayed_weights():
    net = {"hidden": Named(jnp.arange(6.0).reshape(2, 3), jnp.ones(3))}
    grads = jax.tree.map(lambda p: 0.5 * jnp.ones_like(p), net)
    optimizer = optax.chain(optax.add_decayed_weights(0.01, mask=aa.decay_mask), optax.sgd(0.1))
    updates, _ = optimizer.update(grads, optimizer.init(net), net)
    expected = jax.tree.map(lambda p, g: p - 0.1 * g, aa.decay_weights(net, 0.001), grads)
    after = jax.tree.leaves(optax.apply_updates(net, updates))
    for a, b in zip(after, jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_plot_unrolled_error_draws_both_curves():
    steps = np.array([1, 2, 4])
    fig = aa.plot_unrolled_error(steps, np.array([0.3, 0.1, 0.01]), norm=0.6)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    np.testing.assert_allclose(ax.lines[1].get_ydata(), 0.6**steps)
