import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest
from flax import nnx

from jaxbook import pipeline as pl

N, FEATURES = 70, 64


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    x = rng.random((N, FEATURES), dtype=np.float32)
    y = (np.arange(N) % 10).astype(np.int32)
    return x, y


def make_loader(toy, batch=16, seed=1):
    return pl.Loader(*toy, batch, key=jax.random.key(seed))


def test_each_epoch_visits_every_example_once_and_drops_the_remainder(toy):
    loader = make_loader(toy)
    assert loader.steps_per_epoch == N // 16 == 4
    for epoch in range(3):
        order = loader.order(epoch)
        assert sorted(order.tolist()) == list(range(N))
        labels = np.concatenate([next(loader)[1] for _ in range(loader.steps_per_epoch)])
        assert labels.shape == (64,)
        np.testing.assert_array_equal(labels, toy[1][order[:64]])
        assert loader.position() == {"epoch": epoch + 1, "step": 0}


def test_same_key_same_order_other_epoch_or_key_another(toy):
    a, b, c = make_loader(toy), make_loader(toy), make_loader(toy, seed=2)
    np.testing.assert_array_equal(a.order(3), b.order(3))
    assert not np.array_equal(a.order(0), a.order(1))
    assert not np.array_equal(a.order(0), c.order(0))


def test_seek_resumes_on_the_same_batches_across_an_epoch_boundary(toy):
    original = make_loader(toy)
    for _ in range(6):
        next(original)
    resumed = make_loader(toy)
    resumed.seek(original.position())
    assert resumed.position() == {"epoch": 1, "step": 2}
    for _ in range(7):
        (xa, ya), (xb, yb) = next(original), next(resumed)
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_loader_refuses_bad_sizes_and_positions(toy):
    with pytest.raises(ValueError):
        make_loader(toy, batch=0)
    with pytest.raises(ValueError):
        make_loader(toy).seek({"epoch": 0, "step": 4})


@pytest.fixture(scope="module")
def model():
    return pl.DigitsCNN(channels=4, depth=3, rngs=nnx.Rngs(0))


def test_blocks_are_stacked_and_scan_equals_the_loop(model, toy):
    kernel = nnx.state(model.blocks, nnx.Param)["conv"]["kernel"]
    assert kernel.shape == (3, 3, 3, 4, 4)
    assert not jnp.allclose(kernel[0], kernel[1])  # each layer its own weights
    x = toy[0][:5]
    logits = model(x)
    assert logits.shape == (5, 10)
    np.testing.assert_allclose(logits, pl.unrolled_call(model, x), atol=1e-5)


def test_remat_changes_the_program_not_the_gradient(toy):
    x, y = toy[0][:8], toy[1][:8]
    grads = []
    for remat in (False, True):
        m = pl.DigitsCNN(channels=4, depth=2, remat=remat, rngs=nnx.Rngs(0))
        graphdef, state = nnx.split(m)
        loss = lambda s, g=graphdef: pl.loss_fn(nnx.merge(g, s), x, y)[0]  # noqa: E731
        assert ("remat2" in str(jax.make_jaxpr(loss)(state))) == remat
        grads.append(jax.jit(jax.grad(loss))(state))
    diffs = jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))), *grads)
    assert max(jax.tree.leaves(diffs)) < 1e-5


def test_mask_selects_the_kernels_of_an_nnx_state(model):
    mask = pl.decay_mask(nnx.state(model, nnx.Param))
    assert mask["stem"]["kernel"] and mask["head"]["kernel"] and mask["blocks"]["conv"]["kernel"]
    assert not any([mask["stem"]["bias"], mask["head"]["bias"], mask["blocks"]["conv"]["bias"]])


def test_masked_adamw_decays_kernels_only_and_schedule_warms_up(model):
    schedule = pl.make_schedule(1.0, warmup_steps=4, total_steps=20)
    assert float(schedule(0)) == 0.0 and float(schedule(2)) == pytest.approx(0.5)
    assert float(schedule(4)) == pytest.approx(1.0)
    assert float(schedule(20)) == pytest.approx(0.01)
    params = nnx.state(model, nnx.Param)
    tx = pl.make_tx(1.0, weight_decay=0.1)
    zero = jax.tree.map(jnp.zeros_like, params)
    updates, _ = jax.jit(tx.update)(zero, tx.init(params), params)
    np.testing.assert_allclose(updates["head"]["kernel"], -0.1 * params["head"]["kernel"])
    assert float(jnp.max(jnp.abs(updates["head"]["bias"][...]))) == 0.0


def test_clipping_bounds_the_step(model):
    params = nnx.state(model, nnx.Param)
    tx = optax.clip_by_global_norm(1.0)
    huge = jax.tree.map(lambda p: 1e3 * jnp.ones_like(p), params)
    clipped, _ = jax.jit(tx.update)(huge, tx.init(params))
    assert float(optax.tree.norm(clipped)) == pytest.approx(1.0, rel=1e-5)


def fresh(toy, tx):
    m = pl.DigitsCNN(channels=4, depth=2, rngs=nnx.Rngs(0))
    return m, nnx.Optimizer(m, tx, wrt=nnx.Param), make_loader(toy)


def test_training_learns_and_records_history(toy):
    schedule = pl.make_schedule(1e-2, 4, 24)
    m, o, loader = fresh(toy, pl.make_tx(schedule))
    history = pl.train(m, o, loader, 24, validation=toy, schedule=schedule)
    assert int(o.step[...]) == 24 and len(history.train_loss) == 24
    assert history.val_step == [4, 8, 12, 16, 20, 24]
    assert history.learning_rate[0] == 0.0
    assert history.train_loss[-1] < history.train_loss[0]
    assert 0.0 <= history.val_accuracy[-1] <= 1.0


def test_resuming_from_a_checkpoint_is_exact(toy, tmp_path):
    tx = pl.make_tx(pl.make_schedule(1e-2, 2, 12))
    options = ocp.CheckpointManagerOptions(max_to_keep=2, save_interval_steps=3)
    straight = fresh(toy, tx)
    pl.train(*straight, until=12)
    with ocp.CheckpointManager(tmp_path, options=options) as manager:
        pl.train(*fresh(toy, tx), until=7, manager=manager)
        assert manager.all_steps() == [3, 6]
    with ocp.CheckpointManager(tmp_path, options=options) as manager:
        resumed = fresh(toy, tx)
        assert pl.restore(manager, *resumed) == 6
        assert resumed[2].position() == {"epoch": 1, "step": 2}
        pl.train(*resumed, until=12)
    assert pl.max_abs_difference(straight[0], resumed[0]) == 0.0
    assert pl.max_abs_difference(straight[1], resumed[1]) == 0.0


def test_restoring_into_another_structure_raises(toy, tmp_path):
    m, o, loader = fresh(toy, pl.make_tx(1e-3))
    with ocp.CheckpointManager(tmp_path) as manager:
        pl.save(manager, 1, m, o, loader)
    with ocp.CheckpointManager(tmp_path) as manager:
        with pytest.raises(ValueError, match="tree structures do not match"):
            pl.restore(manager, m, nnx.Optimizer(m, optax.adam(1e-3), wrt=nnx.Param), loader)
