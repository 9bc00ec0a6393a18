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


def make_gpu(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        ["make", "--no-print-directory", "gpu", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_make_gpu_gives_an_absolute_src_after_the_pythonpath_and_keeps_a_cpu_device():
    # The kernels start in book/: a relative src does not reach them (H200 run, 2026-12-04).
    lines = make_gpu("-n", f"GPU_PYTHON={sys.executable}", "PYTHONPATH=/x").stdout
    runs = [line for line in lines.splitlines() if sys.executable in line]
    assert len(runs) == 3, lines  # the smoke test, the lean build, the check
    for line in runs:
        assert f'PYTHONPATH="/x:{ROOT}/src" {sys.executable} -m booktools.' in line
    assert "JAX_PLATFORMS=cuda,cpu " in runs[1] and "booktools.build --execute-only" in runs[1]
    assert "JAX_PLATFORMS=cuda,cpu " in runs[2] and "booktools.outputs check" in runs[2]
    alone = make_gpu("-n", f"GPU_PYTHON={sys.executable}").stdout
    assert f'PYTHONPATH="{ROOT}/src" {sys.executable}' in alone


FAKE_PYTHON = """#!/bin/sh
# Stands in for a GPU machine's Python: says what it was asked to run.
echo "ran: $*" >> "$FAKE_LOG"
case "$*" in
  *"booktools.book pin jax"*) echo 0.11.2 ;;
  *booktools.build*) exit "$FAKE_BUILD_STATUS" ;;
  *booktools.outputs*) exit 1 ;;
esac
"""


def test_make_gpu_checks_what_ran_when_a_page_failed_and_fails(tmp_path):
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    log = tmp_path / "log"
    for status, checked in (("3", True), ("1", False)):  # 3: the other pages were exported
        log.write_text("")
        env = dict(os.environ, FAKE_LOG=str(log), FAKE_BUILD_STATUS=status)
        result = make_gpu(f"GPU_PYTHON={fake}", env=env)
        assert result.returncode != 0
        ran = log.read_text()
        assert "booktools.build --execute-only" in ran
        assert ("booktools.outputs check --profile gpu" in ran) == checked, ran
