"""Where each page was verified on a GPU (booktools.gpu_verification): an entry holds while its
digest does, and lapses when the page's code or claims, a module it imports, a pin of the
libraries it runs on or its record changes; the entries written from a check and from a log."""

from __future__ import annotations

import json
import shutil
import subprocess

import nbformat
import pytest
import yaml

from booktools import gpu_verification as gv
from booktools.book import Book, Paths
from booktools.cache import code_digest
from booktools.records import CheckerError, GoldenRecords, load_pages

PAGE = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
claims:
  - acc > 0.9
  - fast > 1
---

# A page

Prose a verification does not vouch for.

```{code-cell} ipython3
from jaxbook import tiny

print(tiny.accuracy())
```
"""
PINS = {
    "jax": "0.11.2",
    "jaxlib": "0.11.2",
    "flax": "0.12.10",
    "dm-haiku": "0.0.17",
    "optax": "0.2.8",
    "orbax-checkpoint": "0.12.8",
    "numpy": "2.5.2",
}
GPU = {"device": "gpu", "model": "NVIDIA H200", "jax": "0.11.2", "jaxlib": "0.11.2"}
H200 = gv.GpuVerification(
    device="NVIDIA H200",
    date="2026-12-04",
    versions=PINS,
    cells={"matched": 1, "moved": 0, "failed": 0},
    glued={"matched": 2, "moved": 0, "failed": 0},
    failed_claims=["fast > 1"],
)


@pytest.fixture
def paths(tmp_path):
    """A one-page book with a jaxbook module, pins, and the page's CPU and GPU records."""
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\nchapters:\n  - file: book/x\n"
    )
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "index.md").write_text("# Index\n")
    (tmp_path / "book" / "x.md").write_text(PAGE)
    package = tmp_path / "src" / "jaxbook"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "tiny.py").write_text("def accuracy():\n    return 0.97\n")
    pins = "".join(f"{name}=={version}\n" for name, version in PINS.items())
    (tmp_path / "requirements.txt").write_text(pins + "pytest==9.2.0  # a test tool\n")
    shutil.copy(Paths.from_environment().pyproject, tmp_path / "pyproject.toml")
    paths = Paths.at(tmp_path)
    for folder in (paths.golden, paths.golden / "gpu"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "x.yml").write_text(f"# a record of book/x.md in {folder.name}\ncells: []\n")
    return paths


def write_entry(paths, verification=H200, profiles=("gpu",)):
    book = Book(paths)
    records = gv.record_files(paths, "book/x", list(profiles))
    digest = gv.gpu_digest(book, "book/x", verification.versions, records)
    gv.write_entries(paths, {"book/x": verification.entry(digest)})


def test_an_entry_shows_while_its_digest_matches(paths):
    assert gv.verified_on_gpu("book/x", paths) is None
    write_entry(paths)
    assert gv.verified_on_gpu("book/x", paths) == H200
    assert gv.verified_on_gpu("book/x", paths.root) == H200  # as the Sphinx extension asks


@pytest.mark.parametrize(
    ("what", "path", "old", "new"),
    [
        ("the page's code", "book/x.md", "print(tiny.accuracy())", "print(tiny.accuracy() + 1)"),
        ("a claim", "book/x.md", "fast > 1", "fast > 2"),
        ("a module it imports", "src/jaxbook/tiny.py", "0.97", "0.98"),
        ("a pin of a library it runs on", "requirements.txt", "optax==0.2.8", "optax==0.2.9"),
        ("its GPU record", "tests/golden/gpu/x.yml", "record", "new record"),
    ],
)
def test_an_entry_lapses_when_what_it_vouches_for_changes(paths, what, path, old, new):
    write_entry(paths)
    changed = paths.root / path
    changed.write_text(changed.read_text().replace(old, new))
    assert gv.verified_on_gpu("book/x", paths) is None, what


@pytest.mark.parametrize(
    ("what", "path", "old", "new"),
    [
        ("the prose", "book/x.md", "Prose a verification", "Prose that a verification"),
        ("the pin of a test tool", "requirements.txt", "pytest==9.2.0", "pytest==9.3.0"),
        ("the CPU record, which it was not checked against", "tests/golden/x.yml", "a", "b"),
    ],
)
def test_an_entry_holds_when_nothing_it_vouches_for_changes(paths, what, path, old, new):
    write_entry(paths)
    changed = paths.root / path
    changed.write_text(changed.read_text().replace(old, new, 1))
    assert gv.verified_on_gpu("book/x", paths) == H200, what


def test_an_entry_checked_partly_against_the_cpu_record_lapses_with_it(paths):
    borrowed = gv.GpuVerification(**{**H200.__dict__, "records": ["gpu", "cpu"]})
    write_entry(paths, borrowed, ("gpu", "cpu"))
    assert gv.verified_on_gpu("book/x", paths) == borrowed
    (paths.golden / "x.yml").write_text("# re-recorded\n")
    assert gv.verified_on_gpu("book/x", paths) is None


def test_an_entry_run_under_other_versions_than_the_pins_never_shows(paths):
    write_entry(paths, gv.GpuVerification(**{**H200.__dict__, "versions": {**PINS, "jax": "0.12"}}))
    assert gv.verified_on_gpu("book/x", paths) is None


def test_a_malformed_entry_or_a_missing_record_vouches_for_nothing(paths):
    write_entry(paths)
    (paths.golden / "gpu" / "x.yml").unlink()
    assert gv.verified_on_gpu("book/x", paths) is None
    paths.gpu_verified.write_text(yaml.safe_dump({"book/x": {"digest": "0", "cells": "many"}}))
    assert gv.verified_on_gpu("book/x", paths) is None


def test_writing_entries_keeps_the_other_pages(paths):
    gv.write_entries(paths, {"book/y": {"digest": "1"}})
    write_entry(paths)
    data = yaml.safe_load(paths.gpu_verified.read_text())
    assert sorted(data) == ["book/x", "book/y"]
    assert paths.gpu_verified.read_text().startswith("# Where each page was verified on a GPU")
    gv.write_entries(paths, {"book/y": None})
    assert sorted(yaml.safe_load(paths.gpu_verified.read_text())) == ["book/x"]


# --------------------------------------------------------------------------- from a check


def executed(paths, numerics=GPU, accuracy="0.97", fast="1.5"):
    """The page as a GPU build leaves it: executed, stamped, with its glued values."""
    notebook = nbformat.v4.new_notebook()
    page = Book(paths).page("book/x")
    notebook.metadata.update(page.front_matter)
    notebook.metadata["jaxbook"] = {
        "numerics": numerics,
        "code_digest": code_digest(page, paths),
    }
    cell = nbformat.v4.new_code_cell(page.code_cells[0].source)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{accuracy}\n")]
    notebook.cells = [cell]
    path = paths.executed / "book" / "x.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    glue = {
        "acc": {"data": {"text/plain": accuracy}},
        "fast": {"data": {"text/plain": fast}},
    }
    path.with_suffix(".glue.json").write_text(json.dumps(glue))


def test_a_gpu_check_is_tallied_per_cell_glued_value_and_claim(paths):
    executed(paths)
    records = GoldenRecords(paths)
    (page,) = load_pages(paths.executed, paths.root)
    records.write(page)  # `make golden` on the GPU
    executed(paths, accuracy="0.5", fast="0.8")  # a later run: the cell and a claim fail
    entries, lines = gv.verify(paths, None, "2026-12-05", "a run", PINS)
    entry = entries["book/x"]
    assert entry["cells"] == {"matched": 0, "moved": 0, "failed": 1}
    assert entry["glued"] == {"matched": 0, "moved": 0, "failed": 2}
    assert entry["failed_claims"] == ["acc > 0.9", "fast > 1"]
    assert entry["device"] == "NVIDIA H200" and entry["date"] == "2026-12-05"
    assert entry["versions"] == PINS and entry["records"] == ["gpu"]
    assert lines[0].startswith("book/x.md: 0 cells matched, 0 moved, 1 failed")
    gv.write_entries(paths, entries)
    assert gv.verified_on_gpu("book/x", paths).failed_claims == ["acc > 0.9", "fast > 1"]


def test_a_cell_checked_against_the_cpu_record_makes_the_cpu_record_part_of_the_digest(paths):
    executed(paths, numerics={"device": "cpu", "isa": "AVX512", "threads": 2})
    (page,) = load_pages(paths.executed, paths.root)
    GoldenRecords(paths).write(page)  # the CPU record has the cell; the GPU record is older
    (paths.golden / "gpu" / "x.yml").write_text(
        yaml.safe_dump({"numerics": GPU, "cells": [], "glue": {"acc": "0.97", "fast": "1.5"}})
    )
    executed(paths)
    entries, _ = gv.verify(paths, None, "2026-12-05", "", PINS)
    assert entries["book/x"]["records"] == ["gpu", "cpu"]
    assert entries["book/x"]["cells"] == {"matched": 1, "moved": 0, "failed": 0}


def test_a_page_the_build_did_not_execute_keeps_no_verification(paths):
    executed(paths)
    GoldenRecords(paths).write(load_pages(paths.executed, paths.root)[0])
    (paths.root / "book" / "y.md").write_text(PAGE)  # failed on the GPU: not exported
    (paths.root / "_toc.yml").write_text(
        (paths.root / "_toc.yml").read_text() + "  - file: book/y\n"
    )
    gv.write_entries(paths, {"book/y": {"digest": "from an earlier run"}})
    entries, lines = gv.verify(paths, None, "2026-12-05", "", PINS)
    assert entries["book/y"] is None and entries["book/x"]["cells"]["matched"] == 1
    assert "book/y.md: not executed by this build; no verification of it stands" in lines
    gv.write_entries(paths, entries)
    assert sorted(yaml.safe_load(paths.gpu_verified.read_text())) == ["book/x"]


def test_only_a_gpu_build_of_the_pinned_libraries_is_recorded(paths):
    executed(paths)
    GoldenRecords(paths).write(load_pages(paths.executed, paths.root)[0])
    with pytest.raises(CheckerError, match=r"pinned libraries, and here jax 0.12.0 \(pinned"):
        gv.verify(paths, None, "2026-12-05", "", {**PINS, "jax": "0.12.0"})
    executed(paths, numerics={"device": "cpu", "isa": "AVX512", "threads": 2})
    with pytest.raises(CheckerError, match="book/x.md did not run on a GPU"):
        gv.verify(paths, None, "2026-12-05", "", PINS)


# --------------------------------------------------------------------------- from a log

LOG = """output check (gpu): ran under gpu (NVIDIA H200); records made under gpu (NVIDIA H200)
1 trajectory value(s) moved under these numerics (reported, not failures: their claims are checked):
  moved: book/x.md: glued value `acc`: 0.97 → 0.96 (largest relative move 0.01)
output check (gpu): 2 problem(s)

FAIL book/x.md: claim `fast > 1` does not hold on this device: fast=0.9

FAIL book/x.md, cell 1 [cell-abc] `from jaxbook import tiny`: output 1 (stream stdout): ...
    expected: 0.97
"""


def test_entries_from_a_gpu_runs_log(paths):
    record = yaml.safe_dump(
        {
            "numerics": GPU,
            "cells": [{"key": "cell-abc", "outputs": []}, {"key": "cell-def", "outputs": []}],
            "glue": {"acc": "0.97", "fast": "1.5"},
        }
    )
    (paths.golden / "gpu" / "x.yml").write_text(record)
    book = Book(paths)
    entries, lines = gv.from_log(paths, LOG, book, "NVIDIA H200", "2026-12-04", PINS, "run 3")
    entry = entries["book/x"]
    assert entry["cells"] == {"matched": 1, "moved": 0, "failed": 1}
    assert entry["glued"] == {"matched": 1, "moved": 1, "failed": 0}
    assert entry["failed_claims"] == ["fast > 1"] and entry["run"] == "run 3"
    gv.write_entries(paths, entries)
    assert gv.verified_on_gpu("book/x", paths) is not None
    assert lines == [
        "book/x.md: 1 cells matched, 0 moved, 1 failed; 1 glued values matched, 1 moved, "
        "0 failed; claims that failed: `fast > 1`"
    ]


def test_the_book_as_a_commit_had_it(paths, tmp_path_factory):
    def git(*args):
        subprocess.run(["git", *args], cwd=paths.root, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "run here")
    (paths.root / "src" / "jaxbook" / "tiny.py").write_text("def accuracy():\n    return 1\n")
    then = gv.book_at(paths, "HEAD", tmp_path_factory.mktemp("then"))
    page = then.page("book/x")
    assert (page.dependencies["jaxbook.tiny"]).read_text().endswith("0.97\n")
    records = gv.record_files(paths, "book/x", ["gpu"])
    assert gv.gpu_digest(then, "book/x", PINS, records) != gv.gpu_digest(
        Book(paths), "book/x", PINS, records
    )
