"""The GPU path's setup: install CUDA JAX only where it is missing, and fail at once on a
machine whose JAX has CUDA but sees no GPU (forced here on a CPU machine)."""

import os
import subprocess
import sys
import time

from booktools import gpu_smoke
from booktools.book import Paths

ROOT = Paths.from_environment().root


def test_cuda_jax_present_installs_nothing():
    calls = []
    ready, said = gpu_smoke.setup(
        "0.10.2", plugins=lambda: ["jax-cuda13-plugin 0.10.2"], install=calls.append
    )
    assert ready and calls == []
    assert "installing nothing" in said and "jax-cuda13-plugin 0.10.2" in said


def test_cuda_jax_missing_installs_the_pinned_version():
    calls = []
    ready, said = gpu_smoke.setup("0.10.2", plugins=list, install=lambda c: calls.append(c) or 0)
    assert ready and calls[0][-1] == "jax[cuda13]==0.10.2"
    ready, said = gpu_smoke.setup("0.10.2", plugins=list, install=lambda c: 1)
    assert not ready and "GPU_PYTHON" in said


def test_make_gpu_without_a_gpu_fails_at_once_and_installs_nothing():
    env = dict(os.environ, JAXBOOK_ASSUME_CUDA_JAX="1", PIP_NO_INDEX="1")
    start = time.perf_counter()
    result = subprocess.run(
        ["make", "--no-print-directory", "gpu", f"GPU_PYTHON={sys.executable}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    said = result.stdout + result.stderr
    assert result.returncode != 0
    assert "installing nothing" in said and "sees no GPU" in said
    assert "booktools.build" not in said.split("sees no GPU")[-1]  # it stopped there
    assert seconds < 60
