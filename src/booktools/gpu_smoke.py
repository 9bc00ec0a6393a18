"""Fail at once, and say why, when JAX does not see a GPU: run before the GPU build."""

from __future__ import annotations

import sys


def main() -> int:
    import jax
    import jax.numpy as jnp

    try:
        gpus = jax.devices("gpu")
    except RuntimeError as error:
        print(
            f"GPU smoke test FAILED: JAX {jax.__version__} sees no GPU ({error}).\n"
            'Install CUDA JAX (`pip install "jax[cuda13]==<pinned version>"`) on a machine '
            "whose NVIDIA driver supports CUDA 13.",
            file=sys.stderr,
        )
        return 1
    x = jnp.arange(1_000_000, dtype=jnp.float32)
    total = float(jax.jit(jnp.sum)(jax.device_put(x, gpus[0])))
    expected = 999_999 * 1_000_000 / 2
    if abs(total - expected) > 1e-3 * expected:
        print(f"GPU smoke test FAILED: sum was {total}, expected {expected}", file=sys.stderr)
        return 1
    print(f"GPU smoke test passed: JAX {jax.__version__} on {[d.device_kind for d in gpus]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
