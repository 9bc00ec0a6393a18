"""Timed cells have the machine to themselves; every other cell runs in parallel.

The build executes pages in parallel kernels. A cell that measures time needs the machine
alone: a timing taken while another kernel computes measures the contention, and the claims
on the pages (``dispatch_fraction < 0.5``, ``naive_over_jit_vmap > 1``) would not hold. Whole
pages need not wait, only those cells. So, in every kernel the build starts, each cell takes a
lock on the machine before it runs and gives it back after it ran (and after the work it
dispatched to XLA is done): a *timed* cell takes it exclusively, any other cell shares it.

A cell is timed when its code names a clock (``perf_counter``, ``%timeit``, ...) or a function
of ``jaxbook`` that reads one, directly or through other functions
(:func:`booktools.cells.timing_names`; a name is enough, so this errs towards timed, which costs
only parallelism).

The lock is two files under the build folder, locked with ``flock``: ``machine.lock``, shared
or exclusive, and ``machine.turnstile``, which a timed cell holds from the moment it asks, and
which every other cell passes through before it takes its share: once a timed cell waits, no
new cell starts, so it cannot be starved.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from booktools.cells import CLOCKS, is_timed, timing_names

if TYPE_CHECKING:
    from booktools.book import Paths

LOCK_ENV = "JAXBOOK_MACHINE_LOCK"  # the folder of the lock files; unset: no locking
NAMES_ENV = "JAXBOOK_TIMED_NAMES"  # JSON list of the names that make a cell timed


def environment(paths: Paths) -> dict[str, str]:
    """The environment variables that make the build's kernels take the lock."""
    folder = paths.build / "machine"
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(timing_names(paths.package_dir))
    return {LOCK_ENV: str(folder), NAMES_ENV: json.dumps(names)}


STARTUP = "from booktools.machine import install\n\ninstall()\n"


def write_startup_file(ipython_dir: Path) -> Path:
    """An IPython startup file that installs the lock in every kernel started with
    ``IPYTHONDIR=ipython_dir`` (it does nothing unless :data:`LOCK_ENV` is set)."""
    startup = ipython_dir / "profile_default" / "startup" / "01-machine-lock.py"
    startup.parent.mkdir(parents=True, exist_ok=True)
    startup.write_text(STARTUP, encoding="utf-8")
    return startup


class MachineLock:
    """One kernel's hold on the machine: shared for a plain cell, exclusive for a timed one."""

    def __init__(self, folder: Path):
        self._lock = os.open(folder / "machine.lock", os.O_RDWR | os.O_CREAT, 0o644)
        self._turnstile = os.open(folder / "machine.turnstile", os.O_RDWR | os.O_CREAT, 0o644)
        self.exclusive: bool | None = None  # None: not held

    def acquire(self, exclusive: bool) -> None:
        fcntl.flock(self._turnstile, fcntl.LOCK_EX)
        if exclusive:
            fcntl.flock(self._lock, fcntl.LOCK_EX)  # the turnstile stays shut until release
        else:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_SH)
            finally:
                fcntl.flock(self._turnstile, fcntl.LOCK_UN)
        self.exclusive = exclusive

    def release(self) -> None:
        if self.exclusive is None:
            return
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        if self.exclusive:
            fcntl.flock(self._turnstile, fcntl.LOCK_UN)
        self.exclusive = None


class Share:
    """A share of the machine held outside any cell by the build's own processes: while a
    kernel starts and shuts down (nbclient's ``on_notebook_start``/``on_notebook_complete``
    hooks end and begin it), and while the build writes what a kernel returned. A timed cell
    waits for these as for any cell; without them a kernel starting (a second or two of
    imports) would run beside a timing. Does nothing outside the build."""

    def __init__(self, environ: dict[str, str] | None = None):
        environ = os.environ if environ is None else environ
        folder = environ.get(LOCK_ENV)
        self._lock = MachineLock(Path(folder)) if folder else None

    def hold(self, **_: Any) -> None:
        if self._lock is not None and self._lock.exclusive is None:
            self._lock.acquire(exclusive=False)

    def release(self, **_: Any) -> None:
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> Share:
        self.hold()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def settle_jax() -> None:
    """Wait for the work this kernel dispatched: JAX returns before XLA has computed, and a
    cell that has returned must not go on computing under another's timing."""
    jax = sys.modules.get("jax")
    if jax is None:
        return
    for array in jax.live_arrays():
        try:
            array.block_until_ready()
        except RuntimeError:  # deleted or donated meanwhile
            pass


def install(shell: Any = None, environ: dict[str, str] | None = None) -> MachineLock | None:
    """In a kernel the build started: take the lock around every cell (IPython's
    ``pre_run_cell``/``post_run_cell`` events). Does nothing outside the build."""
    environ = os.environ if environ is None else environ
    if not environ.get(LOCK_ENV):
        return None
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        return None
    lock = MachineLock(Path(environ[LOCK_ENV]))
    names = frozenset(json.loads(environ.get(NAMES_ENV, "[]"))) | CLOCKS

    def before(info: Any) -> None:
        lock.acquire(exclusive=is_timed(info.raw_cell or "", names))

    def after(result: Any) -> None:
        try:
            settle_jax()
        finally:
            lock.release()

    shell.events.register("pre_run_cell", before)
    shell.events.register("post_run_cell", after)
    return lock
