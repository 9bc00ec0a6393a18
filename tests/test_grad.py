import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxbook import grad


@pytest.fixture
def line_data():
    return grad.make_line_data(jax.random.key(0))


def zeros_params():
    return [jnp.array(0.0), jnp.array(0.0)]


def test_rms_gradient_matches_lecture_and_closed_form():
    x, y = grad.lecture_inputs()
    g = jax.grad(grad.rms_error)(x, y)
    np.testing.assert_allclose(g, grad.LECTURE_GRADIENT, rtol=1e-6)
    # d/dx sqrt(mean((x - y)^2)) = (x - y) / (n * rms)
    closed_form = (x - y) / (x.size * grad.rms_error(x, y))
    np.testing.assert_allclose(g, closed_form, rtol=1e-6)


@pytest.mark.parametrize(
    "loss",
    [
        lambda v: grad.rms_error(v, jnp.array([0.0, 5.0, 10.0])),
        lambda v: grad.mse_loss([v[0], v[1]], jnp.linspace(-1, 1, 7), jnp.arange(7.0)),
        lambda v: jnp.sum(jnp.sin(v) * v**2),
    ],
)
def test_grad_agrees_with_finite_differences(loss):
    with jax.enable_x64(True):
        point = jnp.array([1.2, 3.2, 4.0])
        np.testing.assert_allclose(
            jax.grad(loss)(point), grad.finite_difference_grad(loss, point, eps=1e-5), rtol=1e-7
        )


def test_finite_difference_grad_is_an_independent_check():
    # d/dx of sum(x^3) is 3 x^2: the helper must get it without jax.grad.
    x = jnp.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(
        grad.finite_difference_grad(lambda v: jnp.sum(v**3), x), 3 * x**2, rtol=1e-3
    )


def test_mlp_gradient_agrees_with_finite_differences():
    with jax.enable_x64(True):
        params = jax.tree.map(
            lambda a: a.astype(jnp.float64), grad.init_mlp(jax.random.key(1), [3, 4, 1])
        )
        x = jax.random.normal(jax.random.key(2), (5, 3), dtype=jnp.float64)
        y = jnp.arange(5.0)[:, None]
        flat, unravel = jax.flatten_util.ravel_pytree(params)

        def loss(v):
            return grad.mlp_loss(unravel(v), x, y)

        np.testing.assert_allclose(
            jax.grad(loss)(flat), grad.finite_difference_grad(loss, flat, eps=1e-6), atol=1e-7
        )


def test_learning_rates_follow_the_lecture_schedule():
    rates = grad.learning_rates(0.1, 1000, anneal_every=50, factor=0.75)
    assert rates.shape == (1000,)
    assert rates[0] == rates[49] == 0.1
    assert rates[50] == pytest.approx(0.075)
    assert rates[-1] == pytest.approx(0.1 * 0.75**19)
    np.testing.assert_array_equal(grad.learning_rates(0.05, 4), [0.05] * 4)


def test_gradient_descent_reproduces_the_lecture():
    x_in, y = grad.lecture_inputs()
    x, losses = grad.gradient_descent(grad.rms_error, x_in, y, grad.learning_rates(0.05, 200))
    assert losses.shape == (200,)
    np.testing.assert_allclose(losses[::10], grad.LECTURE_PLAIN_LOSSES, rtol=1e-6)
    np.testing.assert_allclose(x, grad.LECTURE_PLAIN_X, rtol=1e-6)
    # Each fixed step lowers the RMS error by exactly rate / n while far from the target.
    np.testing.assert_allclose(np.diff(losses[:150]), -0.05 / 3, rtol=1e-3)


def test_annealed_descent_reaches_the_target():
    x_in, y = grad.lecture_inputs()
    rates = grad.learning_rates(0.1, 1000, anneal_every=50, factor=0.75)
    x, losses = grad.gradient_descent(grad.rms_error, x_in, y, rates)
    np.testing.assert_allclose(x, y, atol=1e-3)
    assert losses[-1] < 1e-3
    # Once at the target, the iterate hops across it: the loss stays below one step, rate / n.
    assert np.all(losses[200:] <= rates[200:] / 3 * (1 + 1e-4))
    # The lecture's first printed values are far from the kink and agree closely.
    np.testing.assert_allclose(losses[49::50][:3], grad.LECTURE_ANNEALED_LOSSES[:3], rtol=1e-5)


def test_make_line_data_is_reproducible_noisy_line(line_data):
    x, y = line_data
    assert x.shape == y.shape == (101,)
    assert float(x.min()) >= -1 and float(x.max()) <= 1
    np.testing.assert_array_equal(x, grad.make_line_data(jax.random.key(0))[0])
    assert not np.array_equal(y, grad.make_line_data(jax.random.key(1))[1])
    residual = y - (2.0 * x - 1.0)
    assert 0.2 < float(jnp.std(residual)) < 0.4


def test_sgd_loss_decreases_and_fits_the_line(line_data):
    x, y = line_data
    params, losses = grad.fit_sgd(zeros_params(), x, y, learning_rate=0.3, steps=100)
    assert losses.shape == (100,)
    assert np.all(np.diff(losses) <= 1e-6)  # float32 rounding once converged
    assert losses[-1] < 0.05 * losses[0]
    w, b = params
    # Least squares is the best any optimiser can do: SGD must get there.
    w_ls, b_ls = np.polyfit(np.asarray(x), np.asarray(y), 1)
    assert float(w) == pytest.approx(w_ls, abs=1e-2)
    assert float(b) == pytest.approx(b_ls, abs=1e-2)


def test_hand_written_sgd_equals_optax_sgd_step_for_step(line_data):
    x, y = line_data
    mine, my_losses = grad.fit_sgd(zeros_params(), x, y, learning_rate=0.1, steps=25)
    theirs, their_losses = grad.fit_optax(optax.sgd(0.1), zeros_params(), x, y, steps=25)
    np.testing.assert_allclose(my_losses, their_losses, rtol=1e-6)
    for a, b in zip(mine, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_sgd_update_on_a_nested_pytree_equals_optax():
    params = grad.init_mlp(jax.random.key(3), [2, 3, 1])
    grads = jax.tree.map(jnp.ones_like, params)
    mine = grad.sgd_update(params, grads, 0.5)
    updates, _ = optax.sgd(0.5).update(grads, optax.sgd(0.5).init(params), params)
    theirs = optax.apply_updates(params, updates)
    assert jax.tree.structure(mine) == jax.tree.structure(params)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), mine, theirs)
    jax.tree.map(lambda a, p: np.testing.assert_allclose(a, p - 0.5, rtol=1e-6), mine, params)


def test_adam_fits_the_line(line_data):
    x, y = line_data
    params, losses = grad.fit_optax(optax.adam(0.1), zeros_params(), x, y, steps=200)
    assert losses[-1] < 0.5 * losses[0]
    w_ls, b_ls = np.polyfit(np.asarray(x), np.asarray(y), 1)
    assert float(params[0]) == pytest.approx(w_ls, abs=5e-2)
    assert float(params[1]) == pytest.approx(b_ls, abs=5e-2)


def test_mlp_shapes_and_gradient_structure():
    params = grad.init_mlp(jax.random.key(0), [4, 8, 2])
    assert [(p["w"].shape, p["b"].shape) for p in params] == [((4, 8), (8,)), ((8, 2), (2,))]
    x = jnp.ones((5, 4))
    assert grad.mlp(params, x).shape == (5, 2)
    grads = jax.grad(grad.mlp_loss)(params, x, jnp.zeros((5, 2)))
    assert jax.tree.structure(grads) == jax.tree.structure(params)
    assert jax.tree.map(jnp.shape, grads) == jax.tree.map(jnp.shape, params)
