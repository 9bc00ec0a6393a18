"""tools/find-python: how `make` chooses the Python that makes .venv (3.12 or newer)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIND = ROOT / "tools" / "find-python"


def interpreter(command: str) -> str:
    """The interpreter itself behind ``command`` (pyenv's shims are scripts that need PATH)."""
    try:
        result = subprocess.run(
            [command, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True
        )
    except OSError:
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


OLD_PYTHON = interpreter("python3.11")


@pytest.fixture
def bin_dir(tmp_path):
    """A PATH with nothing on it but the tools the script prints with (no pyenv, no uv)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("cat", "head"):
        (folder / tool).symlink_to(shutil.which(tool))
    return folder


def find(bin_dir, *args):
    env = {"PATH": str(bin_dir), "HOME": str(bin_dir)}
    return subprocess.run(["/bin/bash", str(FIND), *args], env=env, capture_output=True, text=True)


def test_a_python_312_or_newer_on_path_is_found(bin_dir):
    (bin_dir / "python3.12").symlink_to(sys.executable)  # the tests run on the book's Python
    result = find(bin_dir)
    assert result.returncode == 0, result.stderr
    found = result.stdout.strip()
    assert os.path.samefile(found, sys.executable) or found.endswith("python3.12")


@pytest.mark.skipif(not OLD_PYTHON, reason="no Python 3.11 on this machine")
def test_an_older_python_is_passed_over_and_the_message_says_how_to_get_one(bin_dir):
    (bin_dir / "python3").symlink_to(OLD_PYTHON)
    result = find(bin_dir)
    assert result.returncode == 1 and result.stdout == ""
    assert "No Python 3.12 or newer was found" in result.stderr
    assert "uv python install 3.12" in result.stderr and "PYTHON=" in result.stderr


@pytest.mark.skipif(not OLD_PYTHON, reason="no Python 3.11 on this machine")
def test_a_named_python_is_checked(bin_dir):
    ok = find(bin_dir, sys.executable)
    assert ok.returncode == 0 and os.path.samefile(ok.stdout.strip(), sys.executable)
    old = find(bin_dir, OLD_PYTHON)
    assert old.returncode == 1
    assert "cannot build the book (Python 3.11" in old.stderr
    missing = find(bin_dir, "/nowhere/python")
    assert missing.returncode == 1 and "it does not run" in missing.stderr
