"""Re-execute exactly the pages a change affects, in parallel, before Sphinx runs.

Jupyter Book's execution cache (jupyter-cache) keys a page on its code cells and kernelspec
only: an edit to a ``jaxbook`` module that the page imports would leave its cached outputs
standing. This module keeps that cache and adds one thing to its key, a *fingerprint* of what
else the page's outputs depend on:

* the source of every ``jaxbook`` module the page imports, directly or through other
  ``jaxbook`` modules (found by parsing imports);
* the environment: ``requirements.txt`` and ``requirements.lock``, the Python version, the
  installed versions of the libraries the book teaches, and the numerics
  (:mod:`booktools.numerics`: the device, the CPU instruction set and thread count, ``XLA_FLAGS``
  and the ``JAX_*`` settings), so a build under other numerics never reuses another's executed
  notebooks.

The fingerprint of each cached notebook is kept beside the cache
(``jaxbook-fingerprints.json``). Before the build, :func:`prepare` removes every cached notebook
whose page changed its fingerprint, executes the pages that have no valid cached notebook —
in parallel, one kernel per process, except that pages which time code run alone — and caches
them. Sphinx then runs with
``execute_notebooks: cache`` and finds every page in the cache. Editing prose changes nothing
that is hashed, so the page is only re-rendered.

A cache that cannot be read (a build killed midway, a deleted or foreign folder) is deleted and
rebuilt; a cached notebook without a recorded fingerprint counts as stale.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jupytext
import nbformat

from booktools import BUILD, ROOT, kernel_errors, numerics, streams

CACHE = BUILD / ".jupyter_cache"
FINGERPRINTS = "jaxbook-fingerprints.json"
PACKAGE = "jaxbook"
# Bumped when what is cached changes (2: streams merged exactly, `merge_streams`), so that no
# notebook cached by an older build is reused.
CACHE_FORMAT = 2


# --------------------------------------------------------------------------- fingerprints


def imported_jaxbook_modules(source: str, package_dir: Path) -> set[str]:
    """Dotted names of the ``jaxbook`` modules ``source`` imports (``jaxbook`` itself included)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from jaxbook import timing` imports the submodule jaxbook.timing
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b too
                    prefix = ".".join(parts[:depth])
                    if module_file(prefix, package_dir):
                        modules.add(prefix)
    return modules


def module_file(name: str, package_dir: Path) -> Path | None:
    relative = Path(*name.split(".")[1:])
    for candidate in (package_dir / relative / "__init__.py", package_dir / f"{relative}.py"):
        if candidate.is_file():
            return candidate
    return None


def dependency_files(source: str, package_dir: Path) -> list[Path]:
    """Files of every ``jaxbook`` module ``source`` imports, directly or transitively."""
    seen: set[str] = set()
    todo = list(imported_jaxbook_modules(source, package_dir))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(name, package_dir)
        if path:
            todo += imported_jaxbook_modules(path.read_text(encoding="utf-8"), package_dir)
    return sorted(p for p in (module_file(n, package_dir) for n in seen) if p)


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


def environment_fingerprint(root: Path = ROOT) -> str:
    from jaxbook.provenance import library_versions

    digest = hashlib.sha256()
    digest.update((root / "requirements.txt").read_bytes())
    lock = root / "requirements.lock"  # every package's version, transitive ones included
    if lock.exists():
        digest.update(lock.read_bytes())
    digest.update(sys.version.encode())
    digest.update(json.dumps(library_versions(), sort_keys=True).encode())
    digest.update(json.dumps(numerics_settings(), sort_keys=True).encode())
    digest.update(json.dumps(build_numerics(), sort_keys=True).encode())
    digest.update(f"cache format {CACHE_FORMAT}".encode())
    digest.update(Path(kernel_errors.__file__).read_bytes())  # what a pitfall's traceback shows
    return digest.hexdigest()


def code_of(page: Path) -> str:
    """The page's code cells as one Python source (magics translated, so it parses)."""
    from booktools.imports import as_python

    notebook = jupytext.read(page)
    return "\n".join(as_python(c.source) for c in notebook.cells if c.cell_type == "code")


def code_digest(page: Path, root: Path = ROOT) -> str:
    """A digest of what the page's outputs come from: its code cells (sources and metadata)
    and the ``jaxbook`` modules they import."""
    notebook = jupytext.read(page)
    digest = hashlib.sha256(page_fingerprint(page, "", root).encode())
    for cell in notebook.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode())
            digest.update(json.dumps(cell.get("metadata", {}), sort_keys=True).encode())
    return digest.hexdigest()[:16]


def page_fingerprint(page: Path, environment: str, root: Path = ROOT) -> str:
    digest = hashlib.sha256(environment.encode())
    package_dir = root / "src" / PACKAGE
    for path in dependency_files(code_of(page), package_dir):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------- the cache


def open_cache(path: Path = CACHE):
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


def read_fingerprints(path: Path = CACHE) -> dict[str, str]:
    try:
        data = json.loads((path / FINGERPRINTS).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError):
        return {}  # every cached notebook then counts as stale


def write_fingerprints(fingerprints: dict[str, str], path: Path = CACHE) -> None:
    path.mkdir(parents=True, exist_ok=True)
    temporary = path / f"{FINGERPRINTS}.tmp"
    temporary.write_text(json.dumps(fingerprints, indent=1, sort_keys=True), encoding="utf-8")
    temporary.replace(path / FINGERPRINTS)  # atomic: a killed build leaves the old file


KERNEL_LOGS = BUILD / "kernel-logs"
# ipykernel logs this on every start; it says nothing about the page (the kernel listens on
# localhost only, for the build's own client).
KERNEL_NOISE = "Kernel is running over TCP without encryption"


def kernel_log(page: str) -> Path:
    return KERNEL_LOGS / (Path(page).relative_to(ROOT).as_posix().replace("/", "__") + ".log")


def execute_page(page: str, timeout: int) -> tuple[str, str | None, float, str | None]:
    """Execute one page in a fresh kernel, in the page's folder as myst-nb does. What the
    kernel process writes to its own stderr (not the cells' output, which goes into the
    notebook) goes to a log file, which a failure report includes.

    Returns (page, executed notebook as JSON or None, seconds, error report or None)."""
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = jupytext.read(page)
    log = kernel_log(page)
    log.parent.mkdir(parents=True, exist_ok=True)
    saved = os.dup(2)
    try:
        with log.open("w", encoding="utf-8") as sink:
            os.dup2(sink.fileno(), 2)  # the kernel, started below, inherits it
            result = single_nb_execution(
                notebook, cwd=str(Path(page).parent), timeout=timeout, allow_errors=False
            )
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    if result.err is not None:
        report = result.exc_string or repr(result.err)
        logged = [
            line
            for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
            if KERNEL_NOISE not in line
        ]
        if logged:
            report += f"\n(the kernel's own log, {log}:)\n" + "\n".join(logged[-40:])
        return page, None, result.time, report
    return page, nbformat.writes(notebook), result.time, None


def cached_pages(pages: list[Path]) -> set[Path]:
    """The pages whose cached notebook is valid (same code, same fingerprint); executes nothing."""
    cache = open_cache()
    fingerprints = read_fingerprints()
    environment = environment_fingerprint()
    valid = set()
    for page in pages:
        try:
            record = cache.match_cache_notebook(jupytext.read(page))
        except KeyError:
            continue
        if fingerprints.get(record.hashkey) == page_fingerprint(page, environment):
            valid.add(page)
    return valid


@dataclasses.dataclass
class Preparation:
    reused: list[str] = dataclasses.field(default_factory=list)
    executed: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def prepare(pages: list[Path], timeout: int, jobs: int | None = None) -> Preparation:
    """Make the cache hold a valid executed notebook for every page; see the module docstring."""
    jobs = jobs or int(os.environ.get("JAXBOOK_JOBS", 0)) or os.cpu_count() or 1
    cache = open_cache()
    fingerprints = read_fingerprints()
    environment = environment_fingerprint()
    report = Preparation()
    stale: dict[Path, str] = {}
    for page in pages:
        fingerprint = page_fingerprint(page, environment)
        notebook = jupytext.read(page)
        try:
            record = cache.match_cache_notebook(notebook)
        except KeyError:
            record = None
        if record is not None and fingerprints.get(record.hashkey) == fingerprint:
            report.reused.append(str(page.relative_to(ROOT)))
            print(f"cache: {page.relative_to(ROOT)} unchanged, outputs from the cache", flush=True)
            continue
        if record is not None:
            cache.remove_cache(record.pk)
            fingerprints.pop(record.hashkey, None)
        stale[page] = fingerprint
    write_fingerprints(fingerprints)
    if not stale:
        return report

    # Pages that time code (they import the timing harness) run one at a time, after the
    # others: a timing taken while another kernel computes would measure the contention.
    harness = ROOT / "src" / PACKAGE / "timing.py"
    timed = [p for p in stale if harness in dependency_files(code_of(p), harness.parent)]
    untimed = [p for p in stale if p not in timed]
    for group, workers in ((untimed, jobs), (timed, 1)):
        if group:
            _execute_and_cache(
                group, stale, min(workers, len(group)), timeout, report, cache, fingerprints
            )
    return report


def _execute_and_cache(pages, stale, workers, timeout, report, cache, fingerprints) -> None:
    from jupyter_cache.base import CacheBundleIn

    # Every kernel started from here on shows readable tracebacks (booktools.kernel_errors).
    os.environ["IPYTHONDIR"] = str(kernel_errors.write_startup_file(BUILD / "ipython"))
    print(f"cache: executing {len(pages)} page(s) with {workers} worker(s)", flush=True)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(execute_page, str(page), timeout) for page in pages]
        for future in futures:
            page_name, executed, seconds, error = future.result()
            page = Path(page_name)
            shown = str(page.relative_to(ROOT))
            if error is not None:
                report.failed.append((shown, error))
                print(f"cache: {shown} FAILED after {seconds:.1f} s", flush=True)
                continue
            record = cache.cache_notebook_bundle(
                CacheBundleIn(
                    merge_streams(nbformat.reads(executed, as_version=4)),
                    str(page),
                    data={"execution_seconds": seconds},
                ),
                check_validity=False,
                overwrite=True,
            )
            fingerprints[record.hashkey] = stale[page]
            write_fingerprints(fingerprints)
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


def export_executed(pages: list[Path], target: Path, glue: bool = True) -> list[Path]:
    """Write each page's executed notebook from the cache into ``target`` (mirroring ``book/``),
    with its glued values beside it (``<page>.glue.json``, as myst-nb writes them).

    In cache mode myst-nb renders the cached outputs but saves the notebook without them, so
    the output checker and the "Download .ipynb" button read these instead. Streams are merged
    (:func:`booktools.streams.as_rendered`) and hidden glue outputs dropped exactly as myst-nb
    does when it renders the page. Each notebook's metadata says under which numerics it ran
    (``jaxbook.numerics``): the cache only holds notebooks executed under this build's
    numerics, which its key covers.
    """
    from myst_nb.ext.glue import extract_glue_data_cell

    cache = open_cache()
    fingerprint = build_numerics()
    written = []
    for page in pages:
        try:
            _, notebook = cache.merge_match_into_notebook(jupytext.read(page))
        except KeyError:
            raise RuntimeError(
                f"{page.relative_to(ROOT)} has no executed notebook in the cache: was it edited "
                "during the build? Build again."
            ) from None
        glued = {}
        for cell in notebook.cells:
            if cell.cell_type == "code":
                glued.update(extract_glue_data_cell(cell))
                cell.outputs = streams.as_rendered(cell.outputs)
        stamp = notebook.metadata.setdefault("jaxbook", {})
        stamp["numerics"] = fingerprint
        stamp["code_digest"] = code_digest(page)  # `make golden` refuses a stale notebook
        path = target / page.relative_to(ROOT).with_suffix(".ipynb")
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
