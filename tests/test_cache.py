"""What the execution cache stores: a cell's streams merged exactly as they were printed; the
environment of the kernels on a GPU; and the export's list of the pages that failed."""

import json
import os
from unittest import mock

import nbformat

from booktools.cache import (
    FAILED_PAGES,
    error_line,
    failed_pages,
    kernel_environment,
    merge_streams,
    write_failed_pages,
)


def stream(name, text):
    return nbformat.v4.new_output("stream", name=name, text=text)


def test_a_line_split_between_chunks_stays_one_line():
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(a, b, shape)")
    cell.outputs = [
        stream("stdout", "-2.4424558"),
        stream("stderr", "a warning\n"),
        stream("stdout", " -1.2574776 (4,)\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1),
    ]
    notebook.cells.append(cell)
    outputs = merge_streams(notebook).cells[0].outputs
    assert [o["output_type"] for o in outputs] == ["stream", "stream", "execute_result"]
    assert outputs[0]["text"] == "-2.4424558 -1.2574776 (4,)\n"
    assert outputs[1]["text"] == "a warning\n"


# --------------------------------------------------------------------------- kernels on a GPU

GPU = {"device": "gpu", "model": "NVIDIA H200"}
CPU = {"device": "cpu", "isa": "AVX512", "threads": 2}


def test_kernels_on_a_gpu_do_not_preallocate_and_keep_a_cpu_device():
    # H200, 2026-12-04: 10 kernels preallocating 75% each, 9 died; JAX_PLATFORMS=cuda left
    # jax.debug.print no CPU device.
    assert kernel_environment(GPU, {"JAX_PLATFORMS": "cuda"}) == {
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        "JAX_PLATFORMS": "cuda,cpu",
    }
    assert kernel_environment(GPU, {}) == {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    assert kernel_environment(GPU, {"JAX_PLATFORMS": "cuda,cpu"}) == {
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false"
    }
    assert kernel_environment(GPU, {"JAX_PLATFORMS": "rocm"})["JAX_PLATFORMS"] == "rocm,cpu"


def test_a_memory_setting_of_the_user_is_respected():
    for setting in (
        {"XLA_PYTHON_CLIENT_PREALLOCATE": "true"},
        {"XLA_PYTHON_CLIENT_MEM_FRACTION": ".08"},
    ):
        assert kernel_environment(GPU, setting) == {}


def test_kernels_on_a_cpu_keep_their_environment():
    assert kernel_environment(CPU, {}) == {}
    assert kernel_environment(CPU, {"JAX_PLATFORMS": "cpu"}) == {}


def test_prepare_gives_the_kernels_that_environment(tmp_path, monkeypatch):
    from booktools import cache
    from booktools.book import Book, Paths

    monkeypatch.setattr(cache, "build_numerics", lambda: GPU)
    monkeypatch.setattr(cache, "open_cache", lambda path: None)
    seen = {}
    monkeypatch.setattr(
        cache, "environment_fingerprint", lambda paths: seen.update(os.environ) or "key"
    )
    with mock.patch.dict(os.environ, {"JAX_PLATFORMS": "cuda"}):
        for name in cache.GPU_MEMORY_SETTINGS:
            os.environ.pop(name, None)
        cache.prepare(Book(Paths.at(tmp_path)), [])
    # set before the cache key reads the environment, so the kernels and the key agree
    assert seen["JAX_PLATFORMS"] == "cuda,cpu"
    assert seen["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"


# --------------------------------------------------------------------------- failed pages

PURITY_REPORT = """Traceback (most recent call last):
  File "nbclient/client.py", line 918, in _check_raise_for_error
nbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:
------------------
jax.effects_barrier()
------------------

\x1b[31mJaxRuntimeError\x1b[39m: INTERNAL: CpuCallback error calling callback: Traceback
  File "jax/_src/debugging.py", line 91, in debug_callback_impl
RuntimeError: jax.debug.callback failed to find a local CPU device to place the inputs on.

(the kernel's own log, _build/kernels/book__purity.md.log:)
E0000 some XLA log line: Error: not this one
"""


def test_the_line_naming_the_error_of_a_failed_page():
    assert error_line(PURITY_REPORT) == (
        "RuntimeError: jax.debug.callback failed to find a local CPU device to place the inputs on."
    )
    assert error_line("...\nnbclient.exceptions.DeadKernelError: Kernel died\n") == (
        "nbclient.exceptions.DeadKernelError: Kernel died"
    )
    assert error_line("something odd") == "something odd"


def test_failed_pages_are_written_into_the_export_and_read_back(tmp_path):
    export = tmp_path / "jupyter_execute"
    manifest = write_failed_pages(export, [("book/purity.md", PURITY_REPORT)])
    assert manifest == export / FAILED_PAGES
    written = json.loads(manifest.read_text())["failed"][0]
    assert written["page"] == "book/purity.md" and written["report"] == PURITY_REPORT
    assert failed_pages(export) == {"book/purity": error_line(PURITY_REPORT)}
    write_failed_pages(export, [])  # a build where every page ran leaves no list behind
    assert not manifest.exists() and failed_pages(export) == {}
