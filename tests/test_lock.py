"""The locks say what requirements.txt says, every package pinned and hashed; Binder's is a
subset of the book's at the same versions. Fast, no network: `booktools.lock` only reads files."""

import re
import shutil
import subprocess
import sys

import pytest

from booktools import lock
from booktools.book import Paths

ROOT = Paths.from_environment().root

FILES = (
    "requirements.txt",
    "requirements-installer.in",
    "requirements-reader.in",
    "requirements.lock",
    ".binder/requirements.txt",
    "pyproject.toml",
)


@pytest.fixture
def book(tmp_path):
    """A copy of the files the locks are checked against, to break one at a time."""
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_locks_agree_with_requirements():
    assert lock.problems(ROOT) == []


def test_every_pin_is_in_the_lock_at_its_version():
    entries = lock.by_name(lock.read_lock(ROOT / lock.LOCK))
    pins, other = lock.read_pins(ROOT / "requirements.txt")
    assert other == [] and len(pins) > 20
    for name, version in pins.items():
        assert {e.version for e in entries[name]} == {version}, name


def test_every_lock_entry_is_pinned_and_hashed():
    for path in (lock.LOCK, lock.READER_LOCK):
        entries = lock.read_lock(ROOT / path)
        assert len(entries) > 50
        for entry in entries:
            assert entry.specifier.startswith("==") and entry.version, (path, entry)
            assert entry.hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in entry.hashes)
        text = (ROOT / path).read_text(encoding="utf-8")
        assert "-e " not in text and "jaxbook==" not in text  # the local package has no hash


def test_binder_gets_the_reader_packages_at_the_locked_versions_only():
    full = {(e.name, e.specifier, e.marker) for e in lock.read_lock(ROOT / lock.LOCK)}
    reader = lock.read_lock(ROOT / lock.READER_LOCK)
    assert {(e.name, e.specifier, e.marker) for e in reader} <= full
    names = {e.name for e in reader}
    for needed in ("jax", "jaxlib", "optax", "flax", "dm-haiku", "scikit-learn", "jupytext"):
        assert needed in names
    for tool in ("pytest", "playwright", "ruff", "zizmor", "jupyter-book", "sphinx", "uv"):
        assert tool not in names, f"Binder installs {tool}, which only the book's build needs"


def test_binder_runs_the_python_the_pins_need():
    assert (ROOT / ".binder" / "runtime.txt").read_text(encoding="utf-8").strip() == "python-3.12"


def test_a_pin_changed_without_relocking_fails(book):
    edit(book / "requirements.txt", "jax==0.11.2", "jax==0.11.1")
    found = lock.problems(book)
    assert any("pins jax==0.11.1" in p and "has jax==0.11.2" in p for p in found), found


def test_a_new_pin_without_relocking_fails(book):
    edit(book / "requirements.txt", "pyyaml==6.0.3\n", "pyyaml==6.0.3\ntabulate==0.9.0\n")
    assert any("tabulate" in p and "make lock" in p for p in lock.problems(book))


def test_a_removed_pin_without_relocking_fails(book):
    edit(book / "requirements.txt", "zizmor==1.32.0\n", "")
    assert any("zizmor" in p and "no longer pins" in p for p in lock.problems(book))


def test_an_unpinned_requirement_fails(book):
    edit(book / "requirements.txt", "pyyaml==6.0.3", "pyyaml>=6")
    assert any("'pyyaml>=6' is not pinned" in p for p in lock.problems(book))


def test_a_lock_entry_without_a_hash_or_a_pin_fails(book):
    path = book / "requirements.lock"
    text = path.read_text(encoding="utf-8")
    start = text.index("\nabsl-py==")
    end = text.index("\n", text.index("# via", start))
    path.write_text(text[:start] + "\nabsl-py>=2" + text[end:], encoding="utf-8")
    found = lock.problems(book)
    assert any("absl-py>=2 is not pinned" in p for p in found), found
    assert any("absl-py has no --hash" in p for p in found), found


def test_a_binder_version_that_drifts_from_the_lock_fails(book):
    edit(book / ".binder/requirements.txt", "optax==0.2.8", "optax==0.2.7")
    assert any("optax==0.2.7" in p and "optax==0.2.8" in p for p in lock.problems(book))


def test_binder_hashes_must_be_the_locks(book):
    path = book / ".binder/requirements.txt"
    text = path.read_text(encoding="utf-8")
    first = re.search(r"(?s)\noptax==.*?--hash=sha256:([0-9a-f]{64})", text).group(1)
    path.write_text(text.replace(first, "0" * 64), encoding="utf-8")
    assert any("hashes of optax differ" in p for p in lock.problems(book))


def test_a_reader_package_missing_from_binder_fails(book):
    edit(book / "requirements-reader.in", "ipykernel\n", "ipykernel\nsympy\n")
    assert any("lacks sympy" in p for p in lock.problems(book))


def test_the_check_command_fails_on_a_stale_lock(book):
    """What `make venv` runs first, with the system's Python and no environment."""
    edit(book / "requirements.txt", "flax==0.12.10", "flax==0.12.11")
    command = [sys.executable, "-m", "booktools.lock", "check"]
    env = {"PYTHONPATH": str(ROOT / "src"), "JAXBOOK_ROOT": str(book), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert "pins flax==0.12.11" in result.stderr and "make lock" in result.stderr
    env["JAXBOOK_ROOT"] = str(ROOT)
    assert subprocess.run(command, env=env, capture_output=True).returncode == 0


def test_the_installer_is_extracted_with_its_hashes():
    line = lock.extract("uv", ROOT)
    pins, _ = lock.read_pins(ROOT / "requirements-installer.in")
    assert line.startswith(f"uv=={pins['uv']} --hash=sha256:")
