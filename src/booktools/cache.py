"""Re-execute exactly the pages a change affects, in parallel, before Sphinx runs.

Jupyter Book's execution cache (jupyter-cache) keys a page on its code cells and kernelspec
only: an edit to a ``jaxbook`` module that the page imports would leave its cached outputs
standing. This module keeps that cache and adds one thing to its key, a *fingerprint* of what
else the page's outputs depend on:

* the source of every ``jaxbook`` module the page imports, directly or through other
  ``jaxbook`` modules (:attr:`booktools.book.Page.dependencies`);
* the environment: ``requirements.txt`` and ``requirements.lock``, the Python version, the
  installed versions of the libraries the book teaches, and the numerics
  (:mod:`booktools.numerics`: the device, the CPU instruction set and thread count, ``XLA_FLAGS``
  and the ``JAX_*`` settings), so a build under other numerics never reuses another's executed
  notebooks.

Each cached notebook's fingerprint is kept in its jupyter-cache record (the record's ``data``,
beside its execution time). Before the build, :func:`prepare` removes every cached notebook
whose page changed its fingerprint, executes the pages that have no valid cached notebook —
in parallel, one kernel per process, the cells that time code alone
(:mod:`booktools.machine`) — and caches them. Sphinx then runs with
``execute_notebooks: cache`` and finds every page in the cache. Editing prose changes nothing
that is hashed, so the page is only re-rendered. On a GPU the kernels start without
preallocating its memory and keep a CPU device (:func:`kernel_environment`).

A cache that cannot be read (a build killed midway, a deleted or foreign folder) is deleted and
rebuilt; a cached notebook without a recorded fingerprint counts as stale.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import sys
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from booktools import kernel_errors, machine, numerics, streams
from booktools.book import Book, Page, Paths

# Bumped when what is cached changes (2: streams merged exactly, `merge_streams`; 3: the
# fingerprint kept in the record's data), so that no notebook cached by an older build is reused.
CACHE_FORMAT = 3
FINGERPRINT = "jaxbook_fingerprint"  # the key of a page's fingerprint in its record's data
TIMED_PAGES_ALONE = "JAXBOOK_TIMED_PAGES_ALONE"  # "1": pages that time code run alone
# In an export of executed notebooks (the lean path): the pages that failed to execute, and why
FAILED_PAGES = "failed-pages.json"
# Kernels on a GPU (seen on an H200, ../shared/gpu-runs/2026-12-04-h200): each JAX process
# preallocates 75% of the GPU's memory, so of 10 kernels started at once 9 died; and
# JAX_PLATFORMS=cuda leaves no CPU device for host callbacks (jax.debug.print fails).
GPU_PLATFORMS = frozenset({"cuda", "rocm", "gpu"})
GPU_MEMORY_SETTINGS = ("XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_PYTHON_CLIENT_MEM_FRACTION")


# --------------------------------------------------------------------------- fingerprints


def numerics_settings(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment variables that change what XLA computes."""
    environ = dict(os.environ if environ is None else environ)
    return {k: v for k, v in sorted(environ.items()) if k == "XLA_FLAGS" or k.startswith("JAX_")}


_NUMERICS: dict[str, dict[str, object]] = {}


def build_numerics() -> dict[str, object]:
    """The fingerprint of this build's numerics, probed once per process and environment."""
    key = json.dumps([numerics_settings(), numerics.thread_count()])
    if key not in _NUMERICS:
        _NUMERICS[key] = numerics.probe()
    return _NUMERICS[key]


def environment_fingerprint(paths: Paths) -> str:
    from jaxbook.provenance import library_versions

    digest = hashlib.sha256()
    digest.update(paths.requirements.read_bytes())
    if paths.lock.exists():  # every package's version, transitive ones included
        digest.update(paths.lock.read_bytes())
    digest.update(sys.version.encode())
    digest.update(json.dumps(library_versions(), sort_keys=True).encode())
    digest.update(json.dumps(numerics_settings(), sort_keys=True).encode())
    digest.update(json.dumps(build_numerics(), sort_keys=True).encode())
    digest.update(f"cache format {CACHE_FORMAT}".encode())
    digest.update(Path(kernel_errors.__file__).read_bytes())  # what a pitfall's traceback shows
    return digest.hexdigest()


def page_fingerprint(page: Page, environment: str, paths: Paths) -> str:
    digest = hashlib.sha256(environment.encode())
    for path in page.dependency_files:
        digest.update(paths.relative(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_digest(page: Page, paths: Paths) -> str:
    """A digest of what the page's outputs come from: its code cells (sources and metadata)
    and the ``jaxbook`` modules they import."""
    digest = hashlib.sha256(page_fingerprint(page, "", paths).encode())
    for cell in page.code_cells:
        digest.update(cell.source.encode())
        digest.update(json.dumps(cell.get("metadata", {}), sort_keys=True).encode())
    return digest.hexdigest()[:16]


def kernel_environment(
    fingerprint: dict[str, object], environ: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment variables the build sets for its kernels, given the numerics probe's
    ``fingerprint``: on a GPU no preallocation (``XLA_PYTHON_CLIENT_PREALLOCATE=false``) unless
    ``environ`` already says how to use the GPU's memory (that setting, or a
    ``XLA_PYTHON_CLIENT_MEM_FRACTION``), and a ``JAX_PLATFORMS`` that names a GPU platform
    also names ``cpu`` (``cuda`` becomes ``cuda,cpu``). Empty where nothing changes."""
    environ = dict(os.environ if environ is None else environ)
    settings = {}
    if fingerprint.get("device") == "gpu" and not any(k in environ for k in GPU_MEMORY_SETTINGS):
        settings["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    platforms = [p.strip() for p in environ.get("JAX_PLATFORMS", "").split(",") if p.strip()]
    named = {p.lower() for p in platforms}
    if named & GPU_PLATFORMS and "cpu" not in named:
        settings["JAX_PLATFORMS"] = ",".join([*platforms, "cpu"])
    return settings


# --------------------------------------------------------------------------- the cache


def open_cache(path: Path):
    """The jupyter-cache at ``path``; deleted and recreated if it cannot be read."""
    from jupyter_cache import get_cache

    try:
        cache = get_cache(str(path))
        cache.list_cache_records()
        return cache
    except Exception as error:  # noqa: BLE001 - any unreadable cache is rebuilt, never trusted
        print(f"cache: {path} cannot be read ({error!r}); starting a new one", flush=True)
        shutil.rmtree(path, ignore_errors=True)
        return get_cache(str(path))


def cached_record(cache, page: Page):
    """The cache's record of ``page``'s notebook (same code cells), or None."""
    try:
        return cache.match_cache_notebook(page.notebook())
    except KeyError:
        return None


def recorded_fingerprint(record) -> str | None:
    data = record.data if isinstance(record.data, dict) else {}
    return data.get(FINGERPRINT)


# ipykernel logs this on every start; it says nothing about the page (the kernel listens on
# localhost only, for the build's own client).
KERNEL_NOISE = "Kernel is running over TCP without encryption"


def kernel_log(paths: Paths, page: Page) -> Path:
    return paths.kernel_logs / (page.docname.replace("/", "__") + ".md.log")


@dataclasses.dataclass(frozen=True)
class Execution:
    """What a worker process needs to execute one page (picklable)."""

    source: Path
    log: Path
    timeout: int
    allow_errors: bool


def execute_page(job: Execution) -> tuple[str | None, float, str | None]:
    """Execute one page in a fresh kernel, in the page's folder as myst-nb does. What the
    kernel process writes to its own stderr (not the cells' output, which goes into the
    notebook) goes to a log file, which a failure report includes.

    Returns (executed notebook as JSON or None, seconds, error report or None)."""
    import jupytext
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = jupytext.read(job.source)
    job.log.parent.mkdir(parents=True, exist_ok=True)
    share = machine.Share()  # held while the kernel starts and stops, not while cells run
    saved = os.dup(2)
    started = time.perf_counter()
    try:
        with job.log.open("w", encoding="utf-8") as sink:
            os.dup2(sink.fileno(), 2)  # the kernel, started below, inherits it
            share.hold()
            try:
                result = single_nb_execution(
                    notebook,
                    cwd=str(job.source.parent),
                    timeout=job.timeout,
                    allow_errors=job.allow_errors,
                    on_notebook_start=share.release,
                    on_notebook_complete=share.hold,
                )
                seconds = result.time
                report = None if result.err is None else result.exc_string or repr(result.err)
            except Exception:  # noqa: BLE001 - a kernel that died fails its page, not the build
                seconds, report = time.perf_counter() - started, traceback.format_exc()
            executed = nbformat.writes(notebook)
    finally:
        share.release()
        os.dup2(saved, 2)
        os.close(saved)
    if report is not None:
        logged = [
            line
            for line in job.log.read_text(encoding="utf-8", errors="replace").splitlines()
            if KERNEL_NOISE not in line
        ]
        if logged:
            report += f"\n(the kernel's own log, {job.log}:)\n" + "\n".join(logged[-40:])
        return None, seconds, report
    return executed, seconds, None


def cached_pages(book: Book, pages: list[Page]) -> list[Page]:
    """The pages whose cached notebook is valid (same code, same fingerprint); executes nothing."""
    cache = open_cache(book.paths.cache)
    environment = environment_fingerprint(book.paths)
    valid = []
    for page in pages:
        record = cached_record(cache, page)
        if record and recorded_fingerprint(record) == page_fingerprint(
            page, environment, book.paths
        ):
            valid.append(page)
    return valid


@dataclasses.dataclass
class Preparation:
    reused: list[str] = dataclasses.field(default_factory=list)
    executed: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def execution_settings(book: Book) -> tuple[int, bool]:
    """(seconds per cell, whether a cell may raise untagged) from ``_config.yml``'s
    ``execute:``, as myst-nb reads them."""
    execute = book.config.get("execute") or {}
    return int(execute.get("timeout", 30)), bool(execute.get("allow_errors", False))


def prepare(book: Book, pages: list[Page], jobs: int | None = None) -> Preparation:
    """Make the cache hold a valid executed notebook for every page; see the module docstring."""
    paths = book.paths
    jobs = jobs or int(os.environ.get("JAXBOOK_JOBS", 0)) or os.cpu_count() or 1
    # Set before the cache key reads the environment, so that every later key sees the same.
    kernels = kernel_environment(build_numerics())
    if kernels:
        shown = " ".join(f"{k}={v}" for k, v in kernels.items())
        print(f"cache: kernels run with {shown}", flush=True)
        os.environ.update(kernels)
    cache = open_cache(paths.cache)
    environment = environment_fingerprint(paths)
    report = Preparation()
    stale: dict[Page, str] = {}
    for page in pages:
        fingerprint = page_fingerprint(page, environment, paths)
        record = cached_record(cache, page)
        if record is not None and recorded_fingerprint(record) == fingerprint:
            report.reused.append(paths.relative(page.path))
            print(
                f"cache: {paths.relative(page.path)} unchanged, outputs from the cache", flush=True
            )
            continue
        if record is not None:
            cache.remove_cache(record.pk)
        stale[page] = fingerprint
    if not stale:
        return report

    # Every page runs in parallel; the cells that time code take the machine to themselves
    # (booktools.machine), and every kernel shows readable tracebacks (kernel_errors).
    timeout, allow_errors = execution_settings(book)
    ipython_dir = paths.build / "ipython"
    kernel_errors.write_startup_file(ipython_dir)
    machine.write_startup_file(ipython_dir)
    os.environ.update(IPYTHONDIR=str(ipython_dir), **machine.environment(paths))
    groups = [(list(stale), jobs)]
    if os.environ.get(TIMED_PAGES_ALONE) == "1":
        # The published site's build: pages with timed cells run one at a time after the
        # others, with no other kernel alive (README, "What the build executes").
        groups = [
            ([p for p in stale if not p.times_code], jobs),
            ([p for p in stale if p.times_code], 1),
        ]
    for pending, most in groups:
        if pending:
            _execute_and_cache(
                pending, min(most, len(pending)), stale, timeout, allow_errors, cache, report, paths
            )
    return report


def _execute_and_cache(pending, workers, stale, timeout, allow_errors, cache, report, paths):
    executions = [
        Execution(page.path, kernel_log(paths, page), timeout, allow_errors) for page in pending
    ]
    print(f"cache: executing {len(pending)} page(s) with {workers} worker(s)", flush=True)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = pool.map(execute_page, executions)
        for page, result in zip(pending, results, strict=True):
            with machine.Share():  # writing the cache is work beside the kernels too
                _cache_result(cache, page, stale[page], result, report, paths)


def _cache_result(cache, page: Page, fingerprint: str, result, report, paths: Paths) -> None:
    from jupyter_cache.base import CacheBundleIn

    executed, seconds, error = result
    shown = paths.relative(page.path)
    if error is not None:
        report.failed.append((shown, error))
        print(f"cache: {shown} FAILED after {seconds:.1f} s", flush=True)
        return
    cache.cache_notebook_bundle(
        CacheBundleIn(
            merge_streams(nbformat.reads(executed, as_version=4)),
            str(page.path),
            data={"execution_seconds": seconds, FINGERPRINT: fingerprint},
        ),
        check_validity=False,
        overwrite=True,
    )
    report.executed.append((shown, seconds))
    print(f"cache: executed {shown} in {seconds:.1f} s", flush=True)


def merge_streams(notebook):
    """Each code cell's stream chunks joined exactly (:func:`booktools.streams.join_chunks`):
    what the cache stores, so that the text myst-nb and the output checker see is the text
    that was printed."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = streams.join_chunks(cell.get("outputs", []))
    return notebook


ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b.*$")


def error_line(report: str) -> str:
    """The line of a page's error report that names the error (``RuntimeError: ...``,
    ``nbclient.exceptions.DeadKernelError: Kernel died``): its last such line, before the
    kernel's own log."""
    report = ANSI_COLOUR.sub("", report).split("\n(the kernel's own log")[0]
    lines = [line.strip() for line in report.splitlines() if line.strip()]
    named = [line for line in lines if ERROR_LINE.match(line)]
    line = (named or lines or ["(no error report)"])[-1]
    return line if len(line) <= 300 else line[:297] + "..."


def write_failed_pages(target: Path, failed: Sequence[tuple[str, str]]) -> Path | None:
    """Write :data:`FAILED_PAGES` into ``target``: each page that failed to execute (as the book
    names it, ``book/purity.md``), the line naming its error and its whole report. Without
    failures, remove it."""
    manifest = target / FAILED_PAGES
    if not failed:
        manifest.unlink(missing_ok=True)
        return None
    target.mkdir(parents=True, exist_ok=True)
    entries = [
        {"page": page, "error": error_line(report), "report": report} for page, report in failed
    ]
    manifest.write_text(json.dumps({"failed": entries}, indent=1) + "\n", encoding="utf-8")
    return manifest


def failed_pages(executed: Path) -> dict[str, str]:
    """The pages that failed to execute in the export ``executed``: ``{docname: error line}``
    (``{"book/purity": "RuntimeError: ..."}``); empty when none did."""
    manifest = executed / FAILED_PAGES
    if not manifest.is_file():
        return {}
    entries = json.loads(manifest.read_text(encoding="utf-8")).get("failed", [])
    return {Path(e["page"]).with_suffix("").as_posix(): e["error"] for e in entries}


def export_executed(
    book: Book,
    pages: list[Page],
    target: Path,
    glue: bool = True,
    failed: Sequence[tuple[str, str]] = (),
) -> list[Path]:
    """Write each page's executed notebook from the cache into ``target`` (mirroring ``book/``),
    with its glued values beside it (``<page>.glue.json``, as myst-nb writes them). The pages
    of ``failed`` (``(page, error report)``, as :func:`prepare` reports them) have no executed
    notebook: they are named, with their error, in ``target``'s :data:`FAILED_PAGES`, and the
    others are exported.

    In cache mode myst-nb renders the cached outputs but saves the notebook without them, so
    the output checker and the "Download .ipynb" button read these instead. Streams are merged
    (:func:`booktools.streams.as_rendered`) and hidden glue outputs dropped exactly as myst-nb
    does when it renders the page. Each notebook's metadata says under which numerics it ran
    (``jaxbook.numerics``): the cache only holds notebooks executed under this build's
    numerics, which its key covers.
    """
    from myst_nb.ext.glue import extract_glue_data_cell

    paths = book.paths
    cache = open_cache(paths.cache)
    fingerprint = build_numerics()
    written = []
    write_failed_pages(target, failed)
    skipped = {name for name, _ in failed}
    for page in pages:
        if paths.relative(page.path) in skipped:
            continue
        try:
            _, notebook = cache.merge_match_into_notebook(page.notebook())
        except KeyError:
            raise RuntimeError(
                f"{paths.relative(page.path)} has no executed notebook in the cache: was it "
                "edited during the build? Build again."
            ) from None
        glued = {}
        for cell in notebook.cells:
            if cell.cell_type == "code":
                glued.update(extract_glue_data_cell(cell))
                cell.outputs = streams.as_rendered(cell.outputs)
        stamp = notebook.metadata.setdefault("jaxbook", {})
        stamp["numerics"] = fingerprint
        stamp["code_digest"] = code_digest(page, paths)  # `make golden` refuses a stale notebook
        path = target / page.path.relative_to(paths.root).with_suffix(".ipynb")
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, path)
        if glue:
            glue_path = path.with_name(path.stem + ".glue.json")
            if glued:
                glue_path.write_text(json.dumps(glued, default=str), encoding="utf-8")
            else:
                glue_path.unlink(missing_ok=True)
        written.append(path)
    return written
