import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax
import pytest

from jaxbook import ml_basics as mb

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def digits():
    return mb.load_digits_split(seed=0)


@pytest.fixture(scope="module")
def tiny(digits):
    """20 training and 20 validation digits: enough to see a loss fall, fast to compile."""
    return (digits.x_train[:20], digits.y_train[:20], digits.x_val[:20], digits.y_val[:20])


# --------------------------------------------------------------------------- data


def test_split_shapes_types_and_ranges(digits):
    assert sum(len(y) for y in (digits.y_train, digits.y_val, digits.y_test)) == 1797
    assert len(digits.y_test) == len(digits.y_val) == round(0.2 * 1797)
    for x, y in [(digits.x_train, digits.y_train), (digits.x_test, digits.y_test)]:
        assert x.shape == (len(y), 64)
        assert x.dtype == np.float32 and y.dtype == np.int32
        assert x.min() == 0.0 and x.max() == 1.0
        assert set(np.unique(y)) == set(range(10))


def test_split_is_a_partition_of_the_whole_data_set(digits):
    from sklearn.datasets import load_digits

    everything = np.concatenate([digits.x_train, digits.x_val, digits.x_test]) * 16
    labels = np.concatenate([digits.y_train, digits.y_val, digits.y_test])
    full = load_digits()
    key = lambda x, y: np.lexsort(np.column_stack([x, y]).T)  # noqa: E731
    np.testing.assert_array_equal(
        everything[key(everything, labels)], full.data[key(full.data, full.target)]
    )


def test_split_depends_on_the_seed_only(digits):
    again = mb.load_digits_split(seed=0)
    other = mb.load_digits_split(seed=1)
    for a, b in zip(digits, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(digits.y_test, other.y_test)


def test_split_fractions(digits):
    small = mb.load_digits_split(seed=0, val_fraction=0.1, test_fraction=0.3)
    assert (len(small.y_val), len(small.y_test)) == (round(0.1 * 1797), round(0.3 * 1797))


def test_split_without_validation_set():
    split = mb.load_digits_split(seed=0, val_fraction=0.0, test_fraction=0.25)
    assert split.x_val.shape == (0, 64)
    assert len(split.y_train) + len(split.y_test) == 1797


@pytest.mark.parametrize("val, test", [(0.2, 0.0), (0.5, 0.5), (0.2, 1.0), (-0.1, 0.2)])
def test_split_rejects_bad_fractions(val, test):
    with pytest.raises(ValueError, match="fraction"):
        mb.load_digits_split(val_fraction=val, test_fraction=test)


# --------------------------------------------------------------------------- model


def test_init_mlp_shapes_zero_biases_and_scale():
    params = mb.init_mlp(jax.random.key(0), [64, 500, 10])
    assert [(layer["w"].shape, layer["b"].shape) for layer in params] == [
        ((500, 64), (500,)),
        ((10, 500), (10,)),
    ]
    assert all(float(jnp.abs(layer["b"]).max()) == 0.0 for layer in params)
    assert float(jnp.std(params[0]["w"])) == pytest.approx(np.sqrt(2 / 64), rel=0.05)
    fixed = mb.init_mlp(jax.random.key(0), [64, 500, 10], scale=0.01)
    assert float(jnp.std(fixed[1]["w"])) == pytest.approx(0.01, rel=0.1)


def test_init_mlp_is_determined_by_the_key():
    a, b = (mb.init_mlp(jax.random.key(3), [4, 5, 2]) for _ in range(2))
    c = mb.init_mlp(jax.random.key(4), [4, 5, 2])
    assert all(jax.tree.leaves(jax.tree.map(jnp.array_equal, a, b)))
    assert not jnp.array_equal(a[0]["w"], c[0]["w"])


def test_init_mlp_needs_two_sizes():
    with pytest.raises(ValueError, match="at least"):
        mb.init_mlp(jax.random.key(0), [64])


def test_forward_is_the_lecture_formula():
    params = mb.init_mlp(jax.random.key(1), [2, 3, 1])
    for layer in params:  # non-zero biases, so that they are tested too
        layer["b"] = layer["b"] + 0.5
    x = jnp.array([[1.0, -2.0], [0.5, 0.25]])
    (a0, b0), (a1, b1) = ((layer["w"], layer["b"]) for layer in params)
    expected = jnp.stack([a1 @ jnp.maximum(a0 @ v + b0, 0) + b1 for v in x])
    np.testing.assert_allclose(mb.mlp_forward(params, x), expected, rtol=1e-6)
    assert mb.mlp_forward(params, x, activation=jnp.tanh).shape == (2, 1)


def test_cross_entropy_of_uniform_logits_is_log_k(digits):
    params = jax.tree.map(jnp.zeros_like, mb.init_mlp(jax.random.key(0), [64, 8, 10]))
    loss = mb.cross_entropy(params, digits.x_val, digits.y_val)
    assert float(loss) == pytest.approx(np.log(10), rel=1e-6)


def test_cross_entropy_matches_optax(digits):
    params = mb.init_mlp(jax.random.key(0), [64, 8, 10])
    logits = mb.mlp_forward(params, digits.x_val)
    expected = optax.softmax_cross_entropy_with_integer_labels(logits, digits.y_val).mean()
    assert float(mb.cross_entropy(params, digits.x_val, digits.y_val)) == pytest.approx(
        float(expected), rel=1e-5
    )


def test_accuracy_and_predict():
    # One linear layer that copies a one-hot input to the output: a perfect classifier.
    params = [{"w": jnp.eye(3), "b": jnp.zeros(3)}]
    labels = jnp.array([0, 2, 1, 2])
    x = jax.nn.one_hot(labels, 3)
    np.testing.assert_array_equal(mb.predict(params, x), labels)
    assert float(mb.accuracy(params, x, labels)) == 1.0
    assert float(mb.accuracy(params, x, jnp.array([0, 0, 0, 0]))) == 0.25


def test_accuracy_is_a_fraction(digits):
    params = mb.init_mlp(jax.random.key(5), [64, 16, 10])
    acc = float(mb.accuracy(params, digits.x_test, digits.y_test))
    assert 0.0 <= acc <= 1.0
    assert acc * len(digits.y_test) == pytest.approx(round(acc * len(digits.y_test)), abs=1e-3)


# --------------------------------------------------------------------------- training


def test_sgd_is_a_gradient_step():
    opt = mb.sgd(0.5)
    params = {"a": jnp.array([1.0, 2.0]), "b": jnp.array(3.0)}
    grads = {"a": jnp.array([2.0, -2.0]), "b": jnp.array(1.0)}
    updates, state = opt.update(grads, opt.init(params), params)
    new = mb.apply_updates(params, updates)
    np.testing.assert_allclose(new["a"], [0.0, 3.0])
    assert float(new["b"]) == 2.5
    assert state == ()


def test_training_lowers_the_loss_on_a_tiny_batch(tiny):
    params = mb.init_mlp(jax.random.key(0), [64, 16, 10])
    before = float(mb.cross_entropy(params, *tiny[:2]))
    trained, history = mb.train(
        params,
        tiny,
        jax.random.key(1),
        optimizer=mb.sgd,
        learning_rate=0.5,
        steps=100,
        batch_size=10,
    )
    assert history.train_loss.shape == history.val_loss.shape == (100,)
    assert history.val_accuracy.shape == (100,)
    assert float(history.train_loss[-1]) < 0.3 * before
    assert float(history.train_loss[-1]) == pytest.approx(
        float(mb.cross_entropy(trained, *tiny[:2])), rel=1e-5
    )
    assert float(mb.accuracy(trained, *tiny[:2])) >= 0.9
    assert float(history.val_loss[-1]) == pytest.approx(
        float(mb.cross_entropy(trained, *tiny[2:])), rel=1e-5
    )
    assert float(history.val_accuracy[-1]) == float(mb.accuracy(trained, *tiny[2:]))
    np.testing.assert_array_equal(history.step, np.arange(1, 101))


def test_evaluating_less_often_changes_only_the_record(tiny):
    params = mb.init_mlp(jax.random.key(0), [64, 16, 10])
    kwargs = dict(optimizer=mb.sgd, learning_rate=0.5, steps=30, batch_size=10)
    every, history = mb.train(params, tiny, jax.random.key(1), **kwargs)
    sparse, sparse_history = mb.train(params, tiny, jax.random.key(1), eval_every=10, **kwargs)
    np.testing.assert_array_equal(sparse_history.step, [10, 20, 30])
    np.testing.assert_allclose(sparse_history.train_loss, history.train_loss[9::10], rtol=1e-6)
    np.testing.assert_allclose(sparse[0]["w"], every[0]["w"], rtol=1e-6)
    with pytest.raises(ValueError, match="multiple"):
        mb.train(params, tiny, jax.random.key(1), eval_every=7, **kwargs)
    assert bool(jnp.all((history.val_accuracy >= 0) & (history.val_accuracy <= 1)))


def test_training_is_determined_by_the_key(tiny):
    params = mb.init_mlp(jax.random.key(0), [64, 16, 10])

    def run(seed):
        return mb.train(
            params,
            tiny,
            jax.random.key(seed),
            optimizer=optax.adam,
            learning_rate=1e-2,
            steps=20,
            batch_size=5,
        )

    (a, ha), (b, hb), (c, _) = run(1), run(1), run(2)
    assert all(jax.tree.leaves(jax.tree.map(jnp.array_equal, (a, ha), (b, hb))))
    assert not jnp.array_equal(a[0]["w"], c[0]["w"])


def test_train_step_is_one_optimizer_step(tiny):
    params = mb.init_mlp(jax.random.key(0), [64, 8, 10])
    x, y = tiny[0][:5], tiny[1][:5]
    stepped, state = mb.train_step(params, (), x, y, 0.5, optimizer=mb.sgd)
    grads = jax.grad(mb.cross_entropy)(params, x, y)
    expected = jax.tree.map(lambda p, g: p - 0.5 * g, params, grads)
    for got, want in zip(jax.tree.leaves(stepped), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    assert state == ()
    adam = optax.adam(0.1)
    adam_stepped, _ = mb.train_step(params, adam.init(params), x, y, 0.1, optimizer=optax.adam)
    updates, _ = adam.update(grads, adam.init(params), params)
    np.testing.assert_allclose(
        adam_stepped[0]["w"], optax.apply_updates(params, updates)[0]["w"], rtol=1e-5, atol=1e-7
    )


def test_another_learning_rate_reuses_the_compiled_step(tiny):
    params = mb.init_mlp(jax.random.key(0), [64, 8, 10])
    key = jax.random.key(1)

    def run(rate):
        return mb.train(
            params, tiny, key, optimizer=mb.sgd, learning_rate=rate, steps=10, batch_size=5
        )

    _, slow = run(0.1)
    compiled = mb.train_step._cache_size()
    _, fast = run(0.5)
    assert mb.train_step._cache_size() == compiled
    assert not np.allclose(slow.train_loss, fast.train_loss)
    _, again = run(0.5)
    np.testing.assert_array_equal(again.train_loss, fast.train_loss)


def test_confusion_matrix():
    m = mb.confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), k=3)
    np.testing.assert_array_equal(m, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])
    assert mb.confusion_matrix(np.array([3]), np.array([3])).shape == (10, 10)


# --------------------------------------------------------------------------- pictures


def test_grid_predictions_covers_the_square():
    xx, yy, classes = mb.grid_predictions(lambda p: (p[:, 0] > 0).astype(int), 2.0, 11)
    assert xx.shape == yy.shape == classes.shape == (11, 11)
    assert xx.min() == -2.0 and yy.max() == 2.0
    np.testing.assert_array_equal(classes, (xx > 0).astype(int))


def test_plot_digit_grid(digits):
    fig = mb.plot_digit_grid(digits.x_train[:13], [str(y) for y in digits.y_train[:13]], ncols=5)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.texts] == [str(y) for y in digits.y_train[:13]]
    assert ax.images[0].get_array().shape == (3 * 12, 5 * 10)
    with pytest.raises(ValueError, match="titles"):
        mb.plot_digit_grid(digits.x_train[:3], ["a", "b"])


def test_plot_histories_draws_two_panels():
    h = mb.History(
        jnp.arange(10, 60, 10),
        jnp.linspace(2, 1, 5),
        jnp.linspace(2, 1.5, 5),
        jnp.linspace(0.1, 0.9, 5),
    )
    fig = mb.plot_histories({"a": h, "b": h})
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.lines) == 4 and len(acc_ax.lines) == 2
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["a", "b"]
    assert loss_ax.get_yscale() == "log"
    np.testing.assert_allclose(acc_ax.lines[0].get_ydata(), 100 * np.linspace(0.1, 0.9, 5))
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), [10, 20, 30, 40, 50])


# --------------------------------------------------------------------------- approximation


def test_shallow_net_is_a_sigma_bx_plus_c():
    params = {"A": jnp.array([1.0, -2.0]), "B": jnp.array([0.5, 3.0]), "c": jnp.array([0.0, 1.0])}
    x = jnp.array([-1.0, 0.0, 2.0])
    expected = jnp.tanh(0.5 * x) - 2 * jnp.tanh(3 * x + 1)
    np.testing.assert_allclose(mb.shallow_net(params, x), expected, rtol=1e-6)


def test_fit_shallow_masks_units_and_wider_fits_better():
    x = jnp.linspace(-1, 1, 64)
    y = jnp.sin(3 * x)
    fits = mb.fit_shallow(jax.random.key(0), x, y, widths=(1, 8), steps=300, learning_rate=0.05)
    assert fits["A"].shape == fits["B"].shape == (2, 8)
    assert bool(jnp.all(fits["A"][0, 1:] == 0))  # width 1 uses one unit only
    errors = jnp.abs(jax.vmap(mb.shallow_net, in_axes=(0, None))(fits, x) - y).max(axis=1)
    assert float(errors[1]) < 0.2 * float(errors[0])
    per_width = mb.fits_per_width(fits)
    assert len(per_width) == 2 and per_width[1]["B"].shape == (8,)
    np.testing.assert_array_equal(
        mb.shallow_net(per_width[1], x),
        mb.shallow_net({name: leaf[1] for name, leaf in fits.items()}, x),
    )
    again = mb.fit_shallow(jax.random.key(0), x, y, widths=(1, 8), steps=300, learning_rate=0.05)
    np.testing.assert_array_equal(fits["A"], again["A"])


# --------------------------------------------------------------------------- the page's pictures


def test_least_squares_classifier_separates_linearly_separable_points():
    x = np.array([[-2.0, 0.0], [-1.0, 1.0], [1.0, -1.0], [2.0, 0.5]], dtype=np.float32)
    labels = np.array([0, 0, 1, 1])
    a = mb.least_squares_classifier(x, labels)
    assert a.shape == (2, 3)
    np.testing.assert_array_equal(mb.with_constant(x)[:, 2], np.ones(4))
    np.testing.assert_array_equal(jnp.argmax(mb.with_constant(x) @ a.T, axis=1), labels)


def test_page_figures_draw_what_they_say():
    fig = mb.plot_activations(np.linspace(-4, 4, 9))
    assert len(fig.axes[0].lines) == 3

    image = np.zeros((4, 4, 3))
    image_ax, vector_ax = mb.plot_image_as_vector(image, image.reshape(-1), shown=10).axes
    assert image_ax.get_title() == "4 × 4 × 3 image"
    assert len(vector_ax.lines[0].get_ydata()) == 10

    x = np.array([[0.0, 0.1], [1.0, 1.0]], dtype=np.float32)
    (ax,) = mb.plot_rings(lambda p: (p[:, 0] > 0.5).astype(int), x, np.array([0, 1]), "t").axes
    assert ax.get_title() == "t" and len(ax.collections) >= 2

    widths = (1, 2, 4)
    fit_ax, error_ax = mb.plot_fits_by_width(
        np.arange(3.0), np.arange(3.0), np.ones((3, 3)), widths, np.array([1.0, 0.5, 0.1]), 2.0
    ).axes
    assert len(fit_ax.lines) == 3  # the target, widths 2 and 4
    assert error_ax.get_xscale() == "log"

    def bowl(theta):
        return 0.5 * (theta[0] ** 2 + 10 * theta[1] ** 2)

    paths = {"a": np.array([[1.0, 1.0], [0.5, 0.1], [0.1, 0.0]])}
    loss_ax, path_ax = mb.plot_descent_paths(bowl, paths, {"a": 0.1}, shown_steps=1).axes
    np.testing.assert_allclose(loss_ax.lines[0].get_ydata(), [5.5, 0.175, 0.005])
    assert len(path_ax.lines[0].get_xdata()) == 2

    confusion = np.array([[3, 1], [0, 4]])
    (ax,) = mb.plot_confusion(confusion).axes
    assert sorted(t.get_text() for t in ax.texts) == ["1", "3", "4"]
