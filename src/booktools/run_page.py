"""Execute pages on their own, fast, without Sphinx: ``python -m booktools.run_page book/jit.md``.

For writing a page: it runs the page as the build does (jupytext reads the MyST file, nbclient
executes it; a cell may raise only if tagged ``raises-exception``), writes the executed notebook
and its glued values under ``_build/pages/``, and prints the execution time. Check or record its
outputs with ``python -m booktools.outputs check --executed _build/pages --page book/jit``
(``make page PAGE=book/jit.md`` does both steps).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jupytext
import nbclient
import nbformat
from myst_nb.ext.glue import extract_glue_data_cell

from booktools import BUILD, ROOT

PAGES = BUILD / "pages"
CELL_TIMEOUT = 120  # seconds, as in _config.yml


def run_page(source: Path, out_root: Path = PAGES) -> tuple[Path, float]:
    source = source.resolve()
    notebook = jupytext.read(source)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(source.parent)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        elapsed = time.perf_counter() - start
    glue = {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            glue.update(dict(extract_glue_data_cell(cell)))
    target = out_root / source.relative_to(ROOT).with_suffix(".ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    target.with_suffix(".glue.json").write_text(json.dumps(glue), encoding="utf-8")
    return target, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for page in args.pages:
        try:
            target, elapsed = run_page(page)
        except nbclient.exceptions.CellExecutionError as error:
            print(f"{page}: a cell failed:\n{error}", file=sys.stderr)
            return 1
        print(f"{page}: executed in {elapsed:.1f} s -> {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
