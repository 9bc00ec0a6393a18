"""Chapter "DSP exercises": aliasing, Nyquist sampling and an FIR filter, in JAX.

Everything here is a plain function of arrays, so the page can ``jax.jit``, ``jax.vmap`` and
``jax.grad`` it. Frequencies are in hertz, sampling rates in samples per second, angular
frequencies ``w`` in radians per sample.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

# --------------------------------------------------------------------------- sampling


@jax.jit
def alias_frequency(f, fs):
    """The frequency at which a sinusoid of frequency ``f`` appears when sampled at ``fs``:
    ``|f - fs * round(f / fs)|``, always between 0 and ``fs / 2``. Works on arrays."""
    f = jnp.asarray(f, dtype=float)
    return jnp.abs(f - fs * jnp.round(f / fs))


def sample_times(fs: float, n: int) -> jax.Array:
    """The instants ``0, 1/fs, ..., (n-1)/fs`` in seconds."""
    return jnp.arange(n) / fs


@jax.jit
def sinusoid(f, t, amplitude=1.0, phase=0.0):
    """``amplitude * cos(2π f t + phase)``; ``t`` in seconds (samples or a fine grid)."""
    return amplitude * jnp.cos(2 * jnp.pi * f * t + phase)


@jax.jit
def spectrum(x: jax.Array, fs: float) -> tuple[jax.Array, jax.Array]:
    """Frequencies (Hz) and amplitudes of a real signal's one-sided spectrum (``rfft``).

    Scaled so that a cosine of amplitude ``A`` on an FFT bin shows a peak of height ``A``.
    """
    n = x.shape[-1]
    # k * (fs / n) rather than rfftfreq's k / (n / fs): exact whenever fs / n is.
    freqs = jnp.arange(n // 2 + 1) * (fs / n)
    amplitude = jnp.abs(jnp.fft.rfft(x)) * 2 / n
    return freqs, amplitude


@jax.jit
def peak_frequency(x: jax.Array, fs: float) -> jax.Array:
    """The frequency (Hz) of the largest peak of ``x``'s spectrum."""
    freqs, amplitude = spectrum(x, fs)
    return freqs[jnp.argmax(amplitude)]


# --------------------------------------------------------------------------- the FIR filter


def impulse(n: int) -> jax.Array:
    """The unit impulse δ[n] on ``n`` samples: 1 at n = 0, 0 elsewhere."""
    return jnp.zeros(n).at[0].set(1.0)


def fir_filter(x: jax.Array, b: jax.Array) -> jax.Array:
    """``y[n] = b[0] x[n] + b[1] x[n-1] + ...`` with ``x[n] = 0`` before the signal starts.

    That is the convolution ``y = x * b`` cut to the length of ``x``, and what
    ``scipy.signal.lfilter(b, [1.0], x)`` computes. ``x`` is one signal: ``jax.vmap`` it for a
    batch.
    """
    # HIGHEST: on GPUs, float32 convolutions may otherwise run in TF32, with 3 digits.
    return jnp.convolve(x, b, mode="full", precision=jax.lax.Precision.HIGHEST)[: x.shape[0]]


@jax.jit
def frequency_response(b: jax.Array, w: jax.Array) -> jax.Array:
    """``H(e^{jw}) = Σ_k b[k] e^{-jwk}`` at the angular frequencies ``w`` (rad/sample)."""
    k = jnp.arange(b.shape[0])
    phasors = jnp.exp(-1j * jnp.outer(w, k))
    return jnp.matmul(phasors, b.astype(phasors.dtype), precision=jax.lax.Precision.HIGHEST)


def fir_zeros(b) -> np.ndarray:
    """The zeros of ``H(z) = b[0] + b[1] z⁻¹ + ...`` in the z-plane.

    Multiplying by ``z^(M-1)`` gives the polynomial ``b[0] z^(M-1) + ... + b[M-1]``, whose roots
    are the zeros (the ``M - 1`` poles all sit at ``z = 0``).
    """
    return np.roots(np.asarray(b, dtype=float))


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def transfer_function_text(b) -> str:
    """``[3, 5]`` → ``'H(z) = 3 + 5z⁻¹'``; zero coefficients are left out."""
    terms = []
    for k, coefficient in enumerate(np.asarray(b, dtype=float)):
        if coefficient == 0:
            continue
        magnitude = f"{abs(coefficient):g}"
        power = "" if k == 0 else "z" + str(-k).translate(_SUPERSCRIPT)
        if power and magnitude == "1":
            magnitude = ""
        sign = "-" if coefficient < 0 else "+"
        terms.append((sign, magnitude + power))
    if not terms:
        return "H(z) = 0"
    first_sign, first = terms[0]
    text = ("-" if first_sign == "-" else "") + first
    for sign, term in terms[1:]:
        text += f" {sign} {term}"
    return f"H(z) = {text}"


# --------------------------------------------------------------------------- learning the filter


def noisy_filter_data(
    key: jax.Array, b: jax.Array, n: int = 500, noise_std: float = 0.1
) -> tuple[jax.Array, jax.Array]:
    """A white-noise input ``x`` and the filter's output ``y``, plus Gaussian noise."""
    key_x, key_noise = jax.random.split(key)
    x = jax.random.normal(key_x, (n,))
    y = fir_filter(x, b) + noise_std * jax.random.normal(key_noise, (n,))
    return x, y


def squared_error(b: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean squared difference between the filter ``b`` applied to ``x`` and the target ``y``."""
    return jnp.mean((fir_filter(x, b) - y) ** 2)


@partial(jax.jit, static_argnames=("n_taps", "steps"))
def fit_fir(
    x: jax.Array,
    y: jax.Array,
    n_taps: int = 2,
    steps: int = 100,
    learning_rate: float = 0.1,
) -> tuple[jax.Array, jax.Array]:
    """Fit ``n_taps`` coefficients by gradient descent on :func:`squared_error`, from zeros.

    Returns the final coefficients and their history, shape ``(steps + 1, n_taps)`` (the start
    included). The loop is a ``lax.scan``, so the whole fit compiles to one program.
    """
    grad = jax.grad(squared_error)

    def step(b, _):
        b = b - learning_rate * grad(b, x, y)
        return b, b

    start = jnp.zeros(n_taps)
    b, history = jax.lax.scan(step, start, length=steps)
    return b, jnp.concatenate([start[None], history])


def delay_matrix(x, n_taps: int) -> np.ndarray:
    """The matrix whose column ``k`` is ``x`` delayed by ``k`` samples: ``fir_filter(x, b)`` is
    ``delay_matrix(x, len(b)) @ b``."""
    x = np.asarray(x, dtype=float)
    columns = [np.concatenate([np.zeros(k), x[: len(x) - k]]) for k in range(n_taps)]
    return np.stack(columns, axis=1)


def least_squares_fir(x, y, n_taps: int = 2) -> np.ndarray:
    """The closed-form answer the gradient descent approaches: ``argmin_b |X b - y|²``."""
    coefficients, *_ = np.linalg.lstsq(delay_matrix(x, n_taps), np.asarray(y, float), rcond=None)
    return coefficients
