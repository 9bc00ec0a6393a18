import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbook import why_jax


@pytest.fixture
def data():
    return why_jax.make_data(seed=0, n=1_000)


def test_make_data_is_reproducible_column(data):
    assert data.shape == (1_000, 1)
    np.testing.assert_array_equal(data, why_jax.make_data(seed=0, n=1_000))
    assert not np.array_equal(data, why_jax.make_data(seed=1, n=1_000))


def test_all_versions_agree(data):
    expected = float(np.sum(data[:, 0] ** 2))
    assert why_jax.python_loop(data) == pytest.approx(expected, rel=1e-12)
    assert why_jax.numpy_gram(data).shape == (1, 1)
    assert float(why_jax.numpy_gram(data)[0, 0]) == pytest.approx(expected, rel=1e-12)
    on_device = jnp.asarray(data)
    # JAX computes in float32 by default: agreement to float32 precision only.
    assert float(why_jax.jax_gram(on_device)[0, 0]) == pytest.approx(expected, rel=1e-5)
    assert float(why_jax.jit_gram(on_device)[0, 0]) == pytest.approx(expected, rel=1e-5)


def test_jax_versions_return_float32_device_arrays(data):
    out = why_jax.jit_gram(jnp.asarray(data))
    assert isinstance(out, jax.Array)
    assert out.dtype == jnp.float32


def test_lecture_timer_prints_result_and_returns_seconds(capsys):
    seconds = why_jax.lecture_time_func(lambda: 42, "answer")
    printed = capsys.readouterr().out
    assert "answer() result = 42" in printed
    assert "duration:" in printed
    assert 0 <= seconds < 1
