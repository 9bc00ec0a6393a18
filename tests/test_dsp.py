import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import signal

from jaxbook import dsp

LECTURE_B = jnp.array([3.0, 5.0])


# --------------------------------------------------------------------------- aliasing


def test_lecture_whistle_appears_at_4_khz():
    assert float(dsp.alias_frequency(16_000, 20_000)) == 4_000


@pytest.mark.parametrize("fs", [20_000, 32_000, 44_100])
def test_alias_frequency_matches_brute_force_spectrum_peak(fs):
    n = fs // 10  # 0.1 s of samples: FFT bins every 10 Hz, so every test tone sits on a bin
    t = dsp.sample_times(fs, n)
    # Multiples of 10 Hz below, around and far above fs, and the edge cases fs/2, fs, 3fs/2.
    freqs = np.concatenate([np.arange(0, 3 * fs, 370), [fs // 2, fs, 3 * fs // 2, 2 * fs]])
    # A phase that is no multiple of π/2 keeps the tone visible even at exactly fs / 2.
    tones = dsp.sinusoid(jnp.asarray(freqs, dtype=float)[:, None], t[None, :], phase=0.3)
    peaks = jax.vmap(dsp.peak_frequency, in_axes=(0, None))(tones, fs)
    np.testing.assert_allclose(peaks, dsp.alias_frequency(freqs, fs), atol=1e-6)


def test_alias_frequency_folds_into_the_first_nyquist_zone():
    fs = 20_000.0
    f = jnp.linspace(0, 100_000, 1_001)
    alias = dsp.alias_frequency(f, fs)
    assert alias.shape == f.shape
    assert float(alias.min()) >= 0 and float(alias.max()) <= fs / 2
    np.testing.assert_allclose(alias, dsp.alias_frequency(f + fs, fs), atol=1e-2)  # periodic
    np.testing.assert_allclose(alias, dsp.alias_frequency(fs - f, fs), atol=1e-2)  # mirrored
    below_nyquist = f <= fs / 2
    np.testing.assert_allclose(alias[below_nyquist], f[below_nyquist])  # untouched


def test_images_of_the_whistle():
    true = np.array([4_000, 16_000, 24_000, 36_000, 44_000])
    np.testing.assert_allclose(dsp.alias_frequency(true, 20_000), 4_000)
    assert float(dsp.alias_frequency(15_000, 20_000)) == 5_000


def test_sinusoid_and_sample_times():
    t = dsp.sample_times(8.0, 4)
    np.testing.assert_allclose(t, [0, 0.125, 0.25, 0.375])
    np.testing.assert_allclose(dsp.sinusoid(1.0, t), [1, np.sqrt(0.5), 0, -np.sqrt(0.5)], atol=1e-6)
    np.testing.assert_allclose(
        dsp.sinusoid(1.0, t, amplitude=2.0, phase=-np.pi / 2),
        [0, np.sqrt(2), 2, np.sqrt(2)],
        atol=1e-6,
    )


def test_spectrum_scaling_and_peak():
    fs, n = 1_000.0, 1_000
    x = dsp.sinusoid(50.0, dsp.sample_times(fs, n), amplitude=0.7)
    freqs, amplitude = dsp.spectrum(x, fs)
    assert freqs.shape == amplitude.shape == (n // 2 + 1,)
    np.testing.assert_allclose(freqs, np.fft.rfftfreq(n, 1 / fs))
    odd_freqs, _ = dsp.spectrum(x[:999], fs)
    np.testing.assert_allclose(odd_freqs, np.fft.rfftfreq(999, 1 / fs), rtol=1e-6)
    assert float(amplitude[50]) == pytest.approx(0.7, rel=1e-4)
    assert float(dsp.peak_frequency(x, fs)) == 50.0


def test_sampling_at_exactly_twice_the_frequency_loses_the_sine():
    f = 16_000.0
    at_nyquist = dsp.sample_times(2 * f, 64)
    sine = dsp.sinusoid(f, at_nyquist, phase=-np.pi / 2)  # sin(2π f t): every sample a zero
    assert float(jnp.max(jnp.abs(sine))) < 1e-4
    # Two different sinusoids, the same samples: cos(2π f t) and 2 sin(2π f t + π/6).
    cosine = dsp.sinusoid(f, at_nyquist)
    other = dsp.sinusoid(f, at_nyquist, amplitude=2.0, phase=np.pi / 6 - np.pi / 2)
    np.testing.assert_allclose(cosine, other, atol=1e-4)
    faster = dsp.sample_times(40_000.0, 400)
    assert float(dsp.peak_frequency(dsp.sinusoid(f, faster, phase=-np.pi / 2), 40_000.0)) == f
    assert (
        float(jnp.max(jnp.abs(dsp.sinusoid(f, faster) - dsp.sinusoid(f, faster, 2.0, -np.pi / 3))))
        > 0.5
    )


# --------------------------------------------------------------------------- the FIR filter


def test_impulse_response_is_the_coefficients():
    h = dsp.fir_filter(dsp.impulse(6), LECTURE_B)
    np.testing.assert_array_equal(h, [3, 5, 0, 0, 0, 0])
    np.testing.assert_array_equal(dsp.impulse(3), [1, 0, 0])


def test_lecture_filter_by_hand():
    x = jnp.array([1.0, 2.0, -1.0, 0.5])
    np.testing.assert_allclose(dsp.fir_filter(x, LECTURE_B), [3, 11, 7, -3.5])


@pytest.mark.parametrize("n_taps", [1, 2, 5])
def test_fir_filter_matches_scipy_lfilter(n_taps):
    rng = np.random.default_rng(n_taps)
    x = rng.normal(size=300).astype(np.float32)
    b = rng.normal(size=n_taps).astype(np.float32)
    expected = signal.lfilter(b, [1.0], x)
    np.testing.assert_allclose(dsp.fir_filter(jnp.asarray(x), jnp.asarray(b)), expected, atol=1e-5)
    jitted = jax.jit(dsp.fir_filter)(jnp.asarray(x), jnp.asarray(b))
    np.testing.assert_allclose(jitted, expected, atol=1e-5)


def test_vmapped_filter_matches_scipy_on_a_batch():
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(7, 128)).astype(np.float32)
    filtered = jax.jit(jax.vmap(dsp.fir_filter, in_axes=(0, None)))(jnp.asarray(batch), LECTURE_B)
    assert filtered.shape == batch.shape
    np.testing.assert_allclose(
        filtered, signal.lfilter([3.0, 5.0], [1.0], batch, axis=-1), atol=1e-5
    )


def test_frequency_response_matches_scipy_freqz():
    w = jnp.linspace(0, jnp.pi, 257)
    for b in ([3.0, 5.0], [1.0, -1.0], [0.25, 0.5, 0.25, -0.1]):
        ours = dsp.frequency_response(jnp.array(b), w)
        _, expected = signal.freqz(b, [1.0], worN=np.asarray(w, dtype=float))
        np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_lecture_response_runs_from_8_to_2():
    response = jnp.abs(dsp.frequency_response(LECTURE_B, jnp.array([0.0, jnp.pi])))
    np.testing.assert_allclose(response, [8.0, 2.0], rtol=1e-6)
    w = jnp.linspace(0, jnp.pi, 100)
    magnitude = jnp.abs(dsp.frequency_response(LECTURE_B, w))
    assert bool(jnp.all(jnp.diff(magnitude) < 0))  # falls monotonically: a gentle low-pass
    np.testing.assert_allclose(magnitude**2, 34 + 30 * jnp.cos(w), rtol=1e-5)


def test_fir_zeros():
    np.testing.assert_allclose(dsp.fir_zeros([3.0, 5.0]), [-5 / 3])
    zeros = dsp.fir_zeros([1.0, 0.0, -1.0])  # 1 - z⁻²: zeros at ±1
    np.testing.assert_allclose(np.sort(zeros.real), [-1, 1], atol=1e-12)
    # H vanishes at each zero: 3 + 5 / z.
    z = dsp.fir_zeros([3.0, 5.0])[0]
    assert abs(3 + 5 / z) < 1e-12


@pytest.mark.parametrize(
    ("b", "text"),
    [
        ([3, 5], "H(z) = 3 + 5z⁻¹"),
        ([1, -1], "H(z) = 1 - z⁻¹"),
        ([-0.5, 0, 2.5, 1], "H(z) = -0.5 + 2.5z⁻² + z⁻³"),
        ([0, 0], "H(z) = 0"),
        ([0, 12], "H(z) = 12z⁻¹"),
    ],
)
def test_transfer_function_text(b, text):
    assert dsp.transfer_function_text(b) == text


# --------------------------------------------------------------------------- learning the filter


def test_noisy_filter_data_is_reproducible():
    x, y = dsp.noisy_filter_data(jax.random.key(0), LECTURE_B, n=50)
    x2, y2 = dsp.noisy_filter_data(jax.random.key(0), LECTURE_B, n=50)
    assert x.shape == y.shape == (50,)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = dsp.noisy_filter_data(jax.random.key(1), LECTURE_B, n=50)
    assert not np.array_equal(x, x3)
    clean = dsp.fir_filter(x, LECTURE_B)
    assert 0.05 < float(jnp.std(y - clean)) < 0.2  # noise_std=0.1 by default


def test_delay_matrix_reproduces_the_filter():
    x = np.arange(1.0, 6.0)
    matrix = dsp.delay_matrix(x, 3)
    np.testing.assert_array_equal(matrix[:, 1], [0, 1, 2, 3, 4])
    np.testing.assert_allclose(
        matrix @ [3.0, 5.0, -1.0], dsp.fir_filter(jnp.asarray(x), jnp.array([3.0, 5.0, -1.0]))
    )


def test_squared_error_gradient_is_the_normal_equations():
    x, y = dsp.noisy_filter_data(jax.random.key(2), LECTURE_B, n=200)
    b = jnp.array([1.0, -2.0])
    matrix = dsp.delay_matrix(x, 2)
    expected = 2 / len(x) * matrix.T @ (matrix @ np.asarray(b) - np.asarray(y))
    np.testing.assert_allclose(jax.grad(dsp.squared_error)(b, x, y), expected, rtol=1e-4)


def test_gradient_descent_recovers_the_lecture_coefficients():
    x, y = dsp.noisy_filter_data(jax.random.key(0), LECTURE_B, n=500, noise_std=0.1)
    b, history = dsp.fit_fir(x, y, n_taps=2, steps=100)
    assert history.shape == (101, 2)
    np.testing.assert_array_equal(history[0], [0, 0])
    np.testing.assert_array_equal(history[-1], b)
    np.testing.assert_allclose(b, [3.0, 5.0], atol=0.05)
    np.testing.assert_allclose(b, dsp.least_squares_fir(x, y, 2), atol=1e-3)
    losses = jax.vmap(dsp.squared_error, in_axes=(0, None, None))(history, x, y)
    assert float(losses[-1]) < 0.02 < float(losses[0])


def test_fit_without_noise_is_exact_and_extra_taps_go_to_zero():
    x, y = dsp.noisy_filter_data(jax.random.key(3), LECTURE_B, n=400, noise_std=0.0)
    np.testing.assert_allclose(dsp.least_squares_fir(x, y, 2), [3, 5], atol=1e-5)
    b, _ = dsp.fit_fir(x, y, n_taps=3, steps=200)
    np.testing.assert_allclose(b, [3, 5, 0], atol=1e-3)


def test_too_few_steps_do_not_converge():
    x, y = dsp.noisy_filter_data(jax.random.key(0), LECTURE_B)
    b, _ = dsp.fit_fir(x, y, steps=3)
    assert float(jnp.max(jnp.abs(b - LECTURE_B))) > 1.0
