"""The two ways readers run a page outside the book: Colab and Binder, each in a fresh venv.

Slow (each builds a virtual environment): run by `make portability`, part of `make test`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from booktools import ROOT
from booktools.notebooks import generate, pinned_versions

pytestmark = pytest.mark.portability

# Representative pages: the timing harness and plots; Flax, Haiku, Optax and scikit-learn.
COLAB_PAGES = ("book/why_jax", "book/flax_haiku")
BINDER_PAGE = "book/why_jax.md"

EXECUTE = """
import sys, nbformat, nbclient
notebook = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[2]}}).execute()
print("executed", len(notebook.cells), "cells")
"""


def make_venv(path: Path, *requirements: str, cwd: Path | None = None) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    python = path / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", *requirements], check=True, cwd=cwd)
    return python


def run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([python, *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, f"{args}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def test_colab_notebooks_run_through_their_install_cell(tmp_path):
    pins = pinned_versions()
    # What a Colab runtime has for this purpose: JAX, NumPy, Matplotlib and a Jupyter kernel.
    python = make_venv(
        tmp_path / "colab",
        f"jax=={pins['jax']}",
        f"jaxlib=={pins['jaxlib']}",
        "numpy",
        "matplotlib",
        "ipykernel",
        "nbclient",
    )
    missing = run(
        python, "-c", "import importlib.util as u; print(u.find_spec('jaxbook'))", cwd=tmp_path
    )
    assert missing.stdout.strip() == "None", "the fresh environment must not see jaxbook yet"
    # The install cell installs the package from a copy of this checkout instead of GitHub
    # (a copy, so that pip's build folder does not land in the working tree).
    package = tmp_path / "package"
    shutil.copytree(ROOT / "src", package / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, package / name)
    notebooks = tmp_path / "notebooks"
    generate(notebooks, package=f"jaxbook @ {package.as_uri()}")
    for page in COLAB_PAGES:
        notebook = notebooks / f"{page}.ipynb"
        result = run(python, "-c", EXECUTE, str(notebook), str(tmp_path), cwd=tmp_path)
        assert "executed" in result.stdout
    installed = run(python, "-m", "pip", "list", "--format=freeze", cwd=tmp_path).stdout
    assert f"dm-haiku=={pins['dm-haiku']}" in installed
    assert "jaxbook==" in installed


def test_binder_configuration_runs_a_page_through_jupytext(tmp_path):
    # repo2docker builds from .binder/ when it exists: install exactly that, then run its
    # postBuild (which makes JupyterLab open MyST pages as notebooks).
    python = make_venv(tmp_path / "binder", "-r", ".binder/requirements.txt", cwd=ROOT)
    home = tmp_path / "home"
    home.mkdir()
    post_build = subprocess.run(
        ["bash", str(ROOT / ".binder" / "postBuild")],
        env={**os.environ, "HOME": str(home), "PATH": f"{python.parent}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
    )
    assert post_build.returncode == 0, post_build.stderr
    settings = (home / ".jupyter" / "labconfig" / "default_setting_overrides.json").read_text()
    assert "Jupytext Notebook" in settings
    script = (
        "import sys, jupytext, nbclient\n"
        "notebook = jupytext.read(sys.argv[1])\n"
        "nbclient.NotebookClient(notebook, timeout=300, kernel_name='python3',"
        " resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
        "print('executed', sum(c.cell_type == 'code' for c in notebook.cells), 'code cells')\n"
    )
    result = run(python, "-c", script, str(ROOT / BINDER_PAGE), str(ROOT / "book"), cwd=tmp_path)
    assert "executed" in result.stdout


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))
