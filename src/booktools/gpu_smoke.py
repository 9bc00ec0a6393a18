"""Before the GPU build: make sure JAX sees a GPU, or fail at once and say why.

``python -m booktools.gpu_smoke`` checks that JAX sees a GPU and computes on it.
``--setup --jax-version V`` first decides whether to install anything:

* JAX with CUDA already installed (a ``jax-cuda*`` plugin, as on a GPU machine that has no
  network): install nothing, say which JAX it is, and fail at once if it sees no GPU;
* otherwise install ``jax[cuda13]==V`` (the pinned version) with pip, then check.

``JAXBOOK_ASSUME_CUDA_JAX=1`` makes the setup believe CUDA JAX is installed: on a CPU machine
that tests the "no GPU visible" failure without installing anything.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import subprocess
import sys
from collections.abc import Callable


def cuda_plugins() -> list[str]:
    """Installed distributions that give JAX CUDA, e.g. ``jax-cuda13-plugin 0.10.2``."""
    found = []
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("jax-cuda") and "plugin" in name:
            found.append(f"{name} {dist.version}")
    if os.environ.get("JAXBOOK_ASSUME_CUDA_JAX") == "1" and not found:
        found.append("assumed by JAXBOOK_ASSUME_CUDA_JAX=1")
    return sorted(found)


def jax_description() -> str:
    try:
        import jax
    except ImportError:
        return "no JAX"
    return f"JAX {jax.__version__} from {os.path.dirname(jax.__file__)}"


def setup(
    jax_version: str,
    plugins: Callable[[], list[str]] = cuda_plugins,
    install: Callable[[list[str]], int] | None = None,
) -> tuple[bool, str]:
    """``(ready to check, what was done)``: installs CUDA JAX only where it is missing."""
    present = plugins()
    if present:
        return True, (
            f"CUDA JAX is installed ({', '.join(present)}): installing nothing; using "
            f"{jax_description()} with {sys.executable}"
        )
    command = [sys.executable, "-m", "pip", "install", "--quiet", f"jax[cuda13]=={jax_version}"]
    install = install or (lambda cmd: subprocess.run(cmd).returncode)
    code = install(command)
    if code != 0:
        return False, (
            f"could not install CUDA JAX (`{' '.join(command[2:])}` exited with {code}). On a "
            "machine without network, use a Python that has CUDA JAX: `make gpu GPU_PYTHON=...`"
        )
    return True, f"installed jax[cuda13]=={jax_version} into {sys.executable}'s environment"


def smoke() -> int:
    import jax
    import jax.numpy as jnp

    try:
        gpus = jax.devices("gpu")
    except RuntimeError as error:
        print(
            f"GPU smoke test FAILED: JAX {jax.__version__} sees no GPU ({error}).\n"
            "Run the GPU build on a machine with an NVIDIA GPU whose driver supports the CUDA "
            "of the installed JAX (`nvidia-smi` shows it); `make gpu` installs "
            "`jax[cuda13]` at the pinned version where JAX has no CUDA yet.",
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true", help="install CUDA JAX if it is missing")
    parser.add_argument("--jax-version", help="the pinned JAX version (with --setup)")
    args = parser.parse_args(argv)
    if args.setup:
        if not args.jax_version:
            parser.error("--setup needs --jax-version")
        ready, said = setup(args.jax_version)
        print(f"gpu setup: {said}", file=sys.stderr if not ready else sys.stdout, flush=True)
        if not ready:
            return 1
        # A fresh interpreter: the one that ran pip has the old JAX imported, or none.
        return subprocess.run([sys.executable, "-m", "booktools.gpu_smoke"]).returncode
    return smoke()


if __name__ == "__main__":
    sys.exit(main())
