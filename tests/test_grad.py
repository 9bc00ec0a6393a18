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


# --------------------------------------------------------------------------- beyond grad


def small_map(v):
    return jnp.array([v[0] * v[1], jnp.sin(v[2]), v[0] ** 2, jnp.exp(v[1] - v[2])])


def rosenbrock(ab):
    return (1 - ab[0]) ** 2 + 100 * (ab[1] - ab[0] ** 2) ** 2


def test_jacobians_from_jvp_and_vjp_equal_jacfwd_and_jacrev():
    x = jnp.array([1.0, 2.0, 0.5])
    by_jvp = grad.jacobian_by_jvp(small_map, x)
    by_vjp = grad.jacobian_by_vjp(small_map, x)
    assert by_jvp.shape == by_vjp.shape == (4, 3)  # outputs x inputs
    np.testing.assert_allclose(by_jvp, jax.jacfwd(small_map)(x), rtol=1e-6)
    np.testing.assert_allclose(by_vjp, jax.jacrev(small_map)(x), rtol=1e-6)
    np.testing.assert_allclose(by_jvp, by_vjp, rtol=1e-6)
    # A column is one jvp along a basis vector, a row one pull-back of a basis vector.
    _, column = jax.jvp(small_map, (x,), (jnp.array([0.0, 1.0, 0.0]),))
    np.testing.assert_allclose(column, by_jvp[:, 1], rtol=1e-6)
    _, pullback = jax.vjp(small_map, x)
    np.testing.assert_allclose(pullback(jnp.array([0.0, 0.0, 1.0, 0.0]))[0], by_vjp[2])


def test_grad_by_vjp_equals_grad():
    x = jnp.array([1.2, -0.7, 3.0])
    for f in (rosenbrock, lambda v: jnp.sum(jnp.sin(v) * v**2)):
        np.testing.assert_allclose(grad.grad_by_vjp(f)(x), jax.grad(f)(x), rtol=1e-6)


def test_hvp_equals_hessian_times_vector():
    with jax.enable_x64(True):
        x, v = jnp.array([-1.2, 1.0]), jnp.array([1.0, -2.0])
        np.testing.assert_allclose(
            grad.hvp(rosenbrock, x, v), jax.hessian(rosenbrock)(x) @ v, rtol=1e-12
        )
        # On a quadratic 1/2 x^T A x the Hessian is A (symmetric), everywhere.
        a = jax.random.normal(jax.random.key(0), (5, 5), dtype=jnp.float64)
        a = a + a.T
        point = jax.random.normal(jax.random.key(1), (5,), dtype=jnp.float64)
        direction = jnp.arange(5.0)
        result = grad.hvp(lambda z: 0.5 * z @ a @ z, point, direction)
        assert result.shape == (5,)
        np.testing.assert_allclose(result, a @ direction, rtol=1e-12)


def test_safe_norm_has_a_zero_gradient_at_zero_and_the_usual_one_elsewhere():
    zero = jnp.zeros(3)
    assert np.all(np.isnan(jax.grad(jnp.linalg.norm)(zero)))  # the problem it solves
    np.testing.assert_array_equal(jax.grad(grad.safe_norm)(zero), np.zeros(3))
    np.testing.assert_array_equal(jax.jacfwd(grad.safe_norm)(zero), np.zeros(3))
    x = jnp.array([3.0, 4.0])
    assert float(grad.safe_norm(x)) == 5.0
    np.testing.assert_allclose(jax.grad(grad.safe_norm)(x), [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(
        jax.hessian(grad.safe_norm)(x), jax.hessian(jnp.linalg.norm)(x), rtol=1e-5
    )
    assert np.all(np.isfinite(jax.hessian(grad.safe_norm)(zero)))
    batched = jax.vmap(jax.grad(grad.safe_norm))(jnp.array([[0.0, 0.0], [3.0, 4.0]]))
    np.testing.assert_allclose(batched, [[0.0, 0.0], [0.6, 0.8]], rtol=1e-6)


def test_clip_gradient_is_the_identity_forward_and_clips_backward():
    x = jnp.linspace(-2.0, 2.0, 5)
    np.testing.assert_array_equal(grad.clip_gradient(x, 1.0), x)
    slopes = jax.vmap(jax.grad(lambda z: grad.clip_gradient(z, 1.0) ** 3))(x)
    np.testing.assert_allclose(slopes, np.minimum(3 * np.asarray(x) ** 2, 1.0))
    # The clip acts on the cotangent reaching x, not on the derivative after it.
    assert float(jax.grad(lambda z: 5.0 * grad.clip_gradient(z, 1.0))(0.3)) == 1.0
    assert float(jax.grad(lambda z: grad.clip_gradient(5.0 * z, 1.0))(0.3)) == 5.0
    np.testing.assert_array_equal(
        jax.jacrev(lambda z: 10 * grad.clip_gradient(z, 2.0))(x), 2 * np.eye(5)
    )


def test_clip_gradient_has_no_forward_mode():
    with pytest.raises(TypeError, match="custom_vjp"):
        jax.jvp(lambda z: grad.clip_gradient(z, 1.0), (2.0,), (1.0,))


def sin_layer(w, x):
    return jnp.sin(w @ x)


def deep(ws, x, block=sin_layer):
    for w in ws:
        x = block(w, x)
    return jnp.sum(x)


def test_saved_residuals_shrink_under_checkpoint():
    ws = [jnp.full((4, 4), 0.1)] * 3
    x = jnp.ones(4)
    plain = grad.saved_residuals(deep, ws, x)
    remat = grad.saved_residuals(lambda ws, x: deep(ws, x, jax.checkpoint(sin_layer)), ws, x)
    dots = grad.saved_residuals(
        lambda ws, x: deep(
            ws, x, jax.checkpoint(sin_layer, policy=jax.checkpoint_policies.dots_saveable)
        ),
        ws,
        x,
    )
    arguments = [line for line in plain if "from the argument" in line]
    assert len(arguments) == 4  # the three weights and x
    # Without checkpoint: per layer its output (sin, the next layer's input) and its cos.
    assert sum("output of cos" in line for line in plain) == 3
    assert sum("output of cos" in line for line in remat) == 0
    assert sum("output of cos" in line for line in dots) == 0
    # Each checkpointed block keeps only its inputs; the policy keeps the products as well.
    assert sum("output of sin" in line for line in remat) == 2
    assert sum("output of dot_general" in line for line in dots) == 3
    assert len(remat) < len(plain)
    for line in plain + remat + dots:
        assert "/" not in line and ".py" not in line  # no build paths
        assert line.startswith("f32[")
    assert any(line.endswith("in sin_layer") for line in remat)
    # Rematerialisation changes what is stored, never the gradient.
    np.testing.assert_allclose(
        jax.grad(lambda x: deep(ws, x, jax.checkpoint(sin_layer)))(x),
        jax.grad(lambda x: deep(ws, x))(x),
        rtol=1e-6,
    )


# --------------------------------------------------------------------------- Newton steps


def test_newton_and_newton_cg_solve_a_quadratic_in_one_step():
    matrix = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    target = jnp.array([1.0, -2.0])

    def quadratic(x):
        return 0.5 * (x - target) @ matrix @ (x - target)

    for method in (grad.newton, grad.newton_cg):
        path = method(quadratic, jnp.zeros(2), steps=2)
        assert len(path) == 3
        np.testing.assert_allclose(path[1], target, rtol=1e-5, atol=1e-5)


def test_newton_cg_follows_newton_on_rosenbrock():
    def rosenbrock(ab):
        return (1 - ab[0]) ** 2 + 100 * (ab[1] - ab[0] ** 2) ** 2

    start = jnp.array([-1.2, 1.0])
    exact, cg = grad.newton(rosenbrock, start, 6), grad.newton_cg(rosenbrock, start, 6)
    np.testing.assert_allclose(exact[-1], [1.0, 1.0], atol=1e-4)
    np.testing.assert_allclose(cg[-1], exact[-1], atol=1e-3)


# --------------------------------------------------------------------------- tables and figures


def test_annealing_table_has_one_row_per_block_and_a_float64_column():
    x_in, y = grad.lecture_inputs()
    rates = grad.learning_rates(0.1, 1000, anneal_every=50, factor=0.75)
    _, losses = grad.gradient_descent(grad.rms_error, x_in, y, rates)
    lines = grad.annealing_table(rates, np.asarray(losses), x_in, y).splitlines()
    assert lines[0].split() == ["block", "λ/n", "lecture", "float32", "here", "float64"]
    assert len(lines) == 21
    block, bound, lecture, here, exact = lines[1].split()
    assert block == "0" and float(bound) == pytest.approx(0.1 / 3, rel=1e-3)
    assert float(lecture) == pytest.approx(grad.LECTURE_ANNEALED_LOSSES[0], rel=1e-4)
    assert float(here) == pytest.approx(float(exact), rel=1e-4)


def test_mean_squared_error_is_smooth_at_the_target():
    x_in, y = grad.lecture_inputs()
    assert float(grad.mean_squared_error(x_in, y)) == pytest.approx(
        float(grad.rms_error(x_in, y)) ** 2, rel=1e-6
    )
    np.testing.assert_array_equal(jax.grad(grad.mean_squared_error)(y, y), jnp.zeros(3))


class _Timing:
    def __init__(self, median):
        self.median = median


def test_plot_jacobian_timings_draws_a_bar_per_case_and_mode():
    import matplotlib

    matplotlib.use("Agg")
    timings = {
        (case, mode): _Timing(1e-6 * (i + 1))
        for i, (case, mode) in enumerate(
            [("tall", "jacfwd"), ("tall", "jacrev"), ("wide", "jacfwd"), ("wide", "jacrev")]
        )
    }
    (ax,) = grad.plot_jacobian_timings(timings).axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["tall", "wide"]
    assert sorted(p.get_height() for p in ax.patches) == pytest.approx([1, 2, 3, 4])
    assert ax.get_yscale() == "log"


def test_plot_descents_and_plot_line_fit():
    import matplotlib

    matplotlib.use("Agg")
    rates = grad.learning_rates(0.1, 1000, anneal_every=50, factor=0.75)
    fig = grad.plot_descents(np.ones(200), np.ones(1000), rates, np.ones(1000))
    (ax,) = fig.axes
    assert len(ax.lines) == 6 and len(ax.lines[0].get_xdata()) == 200
    np.testing.assert_allclose(ax.lines[4].get_ydata(), rates / 3)

    x, y = grad.make_line_data(jax.random.key(0))
    fits = {"a": ([2.0, -1.0], np.ones(5)), "b": ([1.0, 0.0], np.ones(5))}
    ax_fit, ax_loss = grad.plot_line_fit(x, y, fits).axes
    assert [t.get_text() for t in ax_loss.get_legend().get_texts()] == ["a", "b"]
    assert ax_fit.get_legend().get_texts()[1].get_text() == "y = 2x − 1"
    np.testing.assert_allclose(ax_fit.lines[2].get_ydata(), [-3.0, 1.0])


def test_jacobian_mode_ratios_compare_the_modes_per_case():
    class Timing:
        def __init__(self, median):
            self.median = median

    medians = {("tall", "jacfwd"): 1.0, ("tall", "jacrev"): 3.0}
    medians |= {("wide", "jacfwd"): 8.0, ("wide", "jacrev"): 2.0}
    timings = {key: Timing(median) for key, median in medians.items()}
    ratios = grad.jacobian_mode_ratios(timings)
    assert ratios == pytest.approx({"tall_rev_over_fwd": 3.0, "wide_fwd_over_rev": 4.0})


def test_annealing_checks_hold_for_the_lecture_descent_and_fail_for_a_stalled_one():
    x_in, y = grad.lecture_inputs()
    rates = grad.learning_rates(0.1, 1000, anneal_every=50, factor=0.75)
    x_end, losses = grad.gradient_descent(grad.rms_error, x_in, y, rates)
    checks = grad.annealing_checks(rates, losses, x_end, y)
    assert checks["annealed_head_rel_diff"] < 1e-3
    assert checks["annealed_below_floor"] is True and checks["annealed_at_target"] is True
    stalled = np.full(1000, 1.0)
    bad = grad.annealing_checks(rates, stalled, x_in, y)
    assert bad["annealed_head_rel_diff"] > 0.1
    assert bad["annealed_below_floor"] is False and bad["annealed_at_target"] is False
