"""The ways readers run a page outside the book, each in a fresh venv: Colab's notebook, Binder's
environment with its notebook (both from the `notebooks` branch), and the notebook that the
site's ".ipynb" button downloads. Each is a reader notebook (booktools.reader_notebooks), made
from the executed page: the last build's where it is current, else one built here.

Slow (each builds a virtual environment): run by `make portability`, part of `make test`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest

from booktools.book import Book
from booktools.lock import read_lock
from booktools.notebooks import INSTALL_TAG, generate, write_binder_environment
from booktools.reader_notebooks import CHECK_TAG, NOTICE_TAG, stale

BOOK = Book()
ROOT = BOOK.paths.root

pytestmark = pytest.mark.portability

# Representative pages: the timing harness and plots; Flax, Haiku, Optax and scikit-learn.
COLAB_PAGES = ("book/why_jax", "book/flax_haiku")
BINDER_PAGE = "book/why_jax"
DOWNLOAD_PAGE = "book/why_jax.md"

# Runs every cell (the collapsed solutions too), then prints what the version check printed.
EXECUTE = """
import sys, nbformat, nbclient
notebook = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[2]}}).execute()
print("executed", len(notebook.cells), "cells")
for cell in notebook.cells:
    if "version-check" in cell.metadata.get("tags", []):
        print("".join(output.get("text", "") for output in cell.outputs), end="")
"""


# What the reader's environment starts with is installed by the book's own uv (`make venv` puts
# it beside this Python), which is faster than pip and shares its cache between the tests; what
# the notebooks install themselves, their install cells do with the reader's pip.
UV = Path(sys.executable).with_name("uv")


def make_venv(path: Path, *requirements: str, cwd: Path | None = None) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    python = path / "bin" / "python"
    if UV.exists():
        command = [UV, "pip", "install", "--quiet", "--python", python, *requirements]
    else:
        command = [python, "-m", "pip", "install", "--quiet", *requirements]
    subprocess.run(command, check=True, cwd=cwd)
    return python


def local_package(tmp_path: Path) -> str:
    """The install cell installs the package from a copy of this checkout instead of GitHub
    (a copy, so that pip's build folder does not land in the working tree)."""
    package = tmp_path / "package"
    shutil.copytree(ROOT / "src", package / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, package / name)
    return f"jaxbook @ {package.as_uri()}"


def executed_pages(tmp_path: Path, docnames: tuple[str, ...]) -> Path:
    """A folder with the executed notebooks (and glued values) of ``docnames``: the last
    build's where they are current, else each page built here (`booktools.build --page`)."""
    folder = tmp_path / "executed"
    for docname in docnames:
        source = BOOK.paths.executed / f"{docname}.ipynb"
        current = source.is_file() and not stale(
            nbformat.read(source, as_version=4), BOOK.page(docname).notebook()
        )
        if not current:
            build = tmp_path / "page-builds"
            command = [sys.executable, "-m", "booktools.build", "--page", f"{docname}.md"]
            env = {**os.environ, "JAXBOOK_BUILD": str(build)}
            built = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
            assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
            name = Path(docname).name
            source = build / f"page-{name}" / "_build" / "jupyter_execute" / f"{docname}.ipynb"
        target = folder / f"{docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        glue = source.with_name(source.stem + ".glue.json")
        if glue.is_file():
            shutil.copy(glue, target.with_name(glue.name))
    return folder


def installed(python: Path, cwd: Path) -> dict[str, str]:
    freeze = run(python, "-m", "pip", "list", "--format=freeze", cwd=cwd).stdout.splitlines()
    pairs = (line.split("==", 1) for line in freeze if "==" in line)
    return {name.lower().replace("_", "-"): version for name, version in pairs}


def run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([python, *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, f"{args}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def test_colab_notebooks_run_through_their_install_cell_beside_another_jax(tmp_path):
    """A Colab runtime has its own JAX, NumPy, Matplotlib and a kernel, and its JAX is rarely the
    book's: here a release other than the pin, and no Flax, Optax or Haiku. The install cell
    keeps that JAX and brings libraries that import beside it (the book's Flax 0.12.8 did not
    import under JAX 0.11), and the pages run. The pinned path (no JAX at all) is the download
    test's below."""
    pins = BOOK.pins
    other = "0.12.0.1" if pins["jax"] != "0.12.0.1" else "0.11.2"
    python = make_venv(
        tmp_path / "colab",
        f"jax=={other}",
        f"jaxlib=={other}",
        "numpy",
        "matplotlib",
        "ipykernel",
        "nbclient",
    )
    missing = run(
        python, "-c", "import importlib.util as u; print(u.find_spec('jaxbook'))", cwd=tmp_path
    )
    assert missing.stdout.strip() == "None", "the fresh environment must not see jaxbook yet"
    assert "flax" not in installed(python, tmp_path)
    notebooks = tmp_path / "notebooks"
    executed = executed_pages(tmp_path, COLAB_PAGES)
    pages = [BOOK.page(page) for page in COLAB_PAGES]
    generate(BOOK, notebooks, package=local_package(tmp_path), executed=executed, pages=pages)
    for page in COLAB_PAGES:
        notebook = notebooks / f"{page}.ipynb"
        result = run(python, "-c", EXECUTE, str(notebook), str(tmp_path), cwd=tmp_path)
        assert "executed" in result.stdout
        assert "does not import" not in result.stdout, result.stdout
        # the version notice's check: one line, naming the reader's JAX
        assert f"you have JAX {other} and Flax" in result.stdout, result.stdout
    versions = installed(python, tmp_path)
    assert versions["jax"] == other and versions["jaxlib"] == other, "the cell replaced the JAX"
    assert {"jaxbook", "flax", "dm-haiku", "optax", "orbax-checkpoint"} <= set(versions)
    imports = run(
        python,
        "-c",
        "import flax, flax.nnx, optax, haiku, orbax.checkpoint, jax; print(jax.__version__)",
        cwd=tmp_path,
    )
    assert imports.stdout.strip() == other


def test_binder_builds_the_notebooks_branch_and_runs_its_notebook(tmp_path):
    """The site's Binder button opens the `notebooks` branch, which the publish workflow writes
    with `booktools.notebooks --binder`: the reader notebooks with Binder's environment."""
    # repo2docker builds from .binder/ when it exists: the Python of runtime.txt, then exactly
    # requirements.txt (the reader's lock, hashes checked), then postBuild.
    runtime = (ROOT / ".binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}", (
        f"Binder runs {runtime}; this test runs Python {sys.version.split()[0]}"
    )
    branch = tmp_path / "branch"
    executed = executed_pages(tmp_path, (BINDER_PAGE,))
    generate(BOOK, branch, "jaxbook", executed=executed, pages=[BOOK.page(BINDER_PAGE)])
    write_binder_environment(BOOK, branch)
    python = make_venv(tmp_path / "binder", "-r", ".binder/requirements.txt", cwd=branch)
    home = tmp_path / "home"
    home.mkdir()
    post_build = subprocess.run(
        ["bash", str(branch / ".binder" / "postBuild")],
        cwd=tmp_path,  # postBuild finds the repository itself
        env={**os.environ, "HOME": str(home), "PATH": f"{python.parent}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
    )
    assert post_build.returncode == 0, post_build.stderr
    versions = installed(python, tmp_path)
    locked: dict[str, set[str]] = {}  # a package may have one version per Python (markers)
    for entry in read_lock(ROOT / ".binder" / "requirements.txt"):
        locked.setdefault(entry.name, set()).add(entry.version)
    for name, version in versions.items():
        if name not in {"jaxbook", "pip", "setuptools", "wheel"}:
            assert version in locked.get(name, ()), (
                f"Binder installed {name}=={version}, not locked"
            )
    assert "jaxbook" in versions
    for tool in ("pytest", "playwright", "ruff", "zizmor", "jupyter-book", "sphinx"):
        assert tool not in versions, f"Binder installed {tool}, which readers do not need"
    # The notebook runs as JupyterLab would run it; repo2docker's JupyterLab brings nbclient,
    # the test installs it beside the locked packages (after checking them). The install cell
    # does nothing (jaxbook is installed) and the versions are the book's: the check is silent.
    run(python, "-m", "pip", "install", "--quiet", "nbclient", cwd=tmp_path)
    notebook = branch / f"{BINDER_PAGE}.ipynb"
    result = run(python, "-c", EXECUTE, str(notebook), str(notebook.parent), cwd=tmp_path)
    assert "executed" in result.stdout and "you have" not in result.stdout, result.stdout


def test_downloaded_notebook_runs_in_a_bare_jupyter(tmp_path):
    """The ".ipynb" button's notebook, from a build of one page, in a Jupyter that has nothing
    of the book: its install cell brings jaxbook and the pinned libraries, then it runs."""
    build = tmp_path / "build"
    env = {
        **os.environ,
        "JAXBOOK_BUILD": str(build),
        "JAXBOOK_NOTEBOOK_PACKAGE": local_package(tmp_path),
    }
    command = [sys.executable, "-m", "booktools.build", "--page", DOWNLOAD_PAGE]
    built = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    page = Path(DOWNLOAD_PAGE).stem
    download = build / f"page-{page}" / "_build" / "html" / "_sources" / "book" / f"{page}.ipynb"
    html = (download.parents[2] / "book" / f"{page}.html").read_text(encoding="utf-8")
    assert f"_sources/book/{page}.ipynb" in html, "the page offers no .ipynb download"
    notebook = json.loads(download.read_text(encoding="utf-8"))
    notice, install, check, *rest = notebook["cells"]
    assert NOTICE_TAG in notice["metadata"]["tags"] and CHECK_TAG in check["metadata"]["tags"]
    assert INSTALL_TAG in install["metadata"]["tags"] and "jaxbook @ file:" in "".join(
        install["source"]
    )
    assert any(cell.get("outputs") for cell in rest), "the download has the build's outputs"
    # A reader's own Jupyter: a kernel and nothing else, neither JAX nor the book's package.
    python = make_venv(tmp_path / "reader", "ipykernel", "nbclient")
    missing = run(
        python, "-c", "import importlib.util as u; print(u.find_spec('jax'))", cwd=tmp_path
    )
    assert missing.stdout.strip() == "None"
    result = run(python, "-c", EXECUTE, str(download), str(tmp_path), cwd=tmp_path)
    assert "executed" in result.stdout
    assert "you have" not in result.stdout, "the pins were installed: the check stays silent"
    versions, pins = installed(python, tmp_path), BOOK.pins
    assert "jaxbook" in versions
    for name in ("jax", "jaxlib", "numpy", "matplotlib", "flax", "dm-haiku", "optax"):
        assert versions[name] == pins[name], f"the install cell brought {name} {versions[name]}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))
