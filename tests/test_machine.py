"""Timed cells take the machine alone; other cells share it (booktools.machine)."""

import threading
from types import SimpleNamespace

from booktools.book import Paths
from booktools.cells import CLOCKS, is_timed, names_in, timing_names
from booktools.machine import LOCK_ENV, NAMES_ENV, MachineLock, environment, install


def test_timing_functions_are_found_through_the_calls_between_them(tmp_path):
    (tmp_path / "timing.py").write_text(
        "import time\n\ndef clock():\n    return time.perf_counter()\n\n"
        "def bench(f):\n    start = clock()\n    f()\n    return clock() - start\n"
    )
    (tmp_path / "chapter.py").write_text(
        "from . import timing\n\ndef train_and_time(f):\n    return timing.bench(f)\n\n"
        "def train(f):\n    return f()\n"
    )
    names = timing_names(tmp_path)
    assert {"clock", "bench", "train_and_time"} <= names and "train" not in names
    assert CLOCKS <= names


def test_a_cell_is_timed_when_it_names_a_clock_or_a_timing_function():
    names = frozenset({"benchmark"}) | CLOCKS
    assert is_timed("t = timing.benchmark(f, x)", names)
    assert is_timed("start = time.perf_counter()\nf()", names)
    assert is_timed("%timeit f(x)", names)
    assert is_timed("%%time\nf(x)", names)
    assert not is_timed("import time\ny = f(x)\nprint(y)", names)
    assert not is_timed("print('benchmark')", names)  # a string is not a call
    assert names_in("this is not python (") == set()


def test_the_real_timing_harness_is_timed():
    names = timing_names(Paths.from_environment().package_dir)
    assert {"benchmark", "time_first_call"} <= names


def test_an_exclusive_hold_keeps_others_out_until_released(tmp_path):
    timed, plain = MachineLock(tmp_path), MachineLock(tmp_path)
    timed.acquire(exclusive=True)
    entered = threading.Event()

    def share():
        plain.acquire(exclusive=False)
        entered.set()

    waiter = threading.Thread(target=share, daemon=True)
    waiter.start()
    assert not entered.wait(0.3), "a plain cell started during a timed one"
    timed.release()
    assert entered.wait(5), "the plain cell never started"
    plain.release()


def test_plain_cells_share_the_machine(tmp_path):
    first, second = MachineLock(tmp_path), MachineLock(tmp_path)
    first.acquire(exclusive=False)
    done = threading.Event()
    threading.Thread(
        target=lambda: (second.acquire(exclusive=False), done.set()), daemon=True
    ).start()
    assert done.wait(5), "two plain cells could not run together"
    first.release()
    second.release()


def test_a_waiting_timed_cell_goes_before_new_plain_cells(tmp_path):
    running, timed, late = MachineLock(tmp_path), MachineLock(tmp_path), MachineLock(tmp_path)
    running.acquire(exclusive=False)
    order = []
    timed_thread = threading.Thread(
        target=lambda: (timed.acquire(exclusive=True), order.append("timed"), timed.release()),
        daemon=True,
    )
    timed_thread.start()
    threading.Event().wait(0.2)  # the timed cell now waits for the running one
    late_thread = threading.Thread(
        target=lambda: (late.acquire(exclusive=False), order.append("late"), late.release()),
        daemon=True,
    )
    late_thread.start()
    threading.Event().wait(0.2)
    assert order == [], "someone ran beside a running cell exclusively"
    running.release()
    timed_thread.join(5)
    late_thread.join(5)
    assert order == ["timed", "late"]


def test_the_kernel_hooks_take_and_give_back_the_lock(tmp_path):
    registered = {}
    shell = SimpleNamespace(
        events=SimpleNamespace(register=lambda name, hook: registered.setdefault(name, hook))
    )
    assert install(shell, environ={}) is None and registered == {}
    env = environment(Paths(Paths.from_environment().root, tmp_path))
    assert env[LOCK_ENV] and "benchmark" in env[NAMES_ENV]
    lock = install(shell, environ=env)
    registered["pre_run_cell"](SimpleNamespace(raw_cell="timing.benchmark(f)"))
    assert lock.exclusive is True
    registered["post_run_cell"](None)
    assert lock.exclusive is None
    registered["pre_run_cell"](SimpleNamespace(raw_cell="x = 1"))
    assert lock.exclusive is False
    registered["post_run_cell"](None)


def test_the_builds_own_share_waits_for_a_timed_cell_and_is_idle_outside_the_build(tmp_path):
    from booktools.machine import Share

    Share(environ={}).hold()  # outside the build: nothing to take, nothing raised
    timed = MachineLock(tmp_path)
    timed.acquire(exclusive=True)
    share, entered = Share(environ={LOCK_ENV: str(tmp_path)}), threading.Event()
    threading.Thread(target=lambda: (share.hold(), entered.set()), daemon=True).start()
    assert not entered.wait(0.3), "a kernel started during a timed cell"
    timed.release()
    assert entered.wait(5)
    share.hold()  # held already: taking it again does not block
    share.release()
