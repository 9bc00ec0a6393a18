"""Tracebacks a reader can read, in every kernel the build starts.

A pitfall cell (tagged ``raises-exception``) shows its error on the page. IPython's own
traceback shows every frame between the cell and the ``raise``: the kernel's (runpy, ipykernel,
asyncio, tornado) when an error surfaces through a callback, JAX's internals, and the build's
paths (the virtual environment, the interpreter, the kernel's temporary cell files). A reader
needs the error type, the message, and the frames of their own code and of ``jaxbook``, the
book's package: :func:`handler` keeps just those, with ``jaxbook``'s files named by their
import path, and drops chained exceptions (the error the reader must act on is the last one).

The build installs it with an IPython startup file (:func:`write_startup_file`), so a page
needs no code of its own for it; on Colab or Binder a reader sees IPython's usual tracebacks.
"""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "jaxbook"
STARTUP = "from booktools.kernel_errors import install\n\ninstall()\n"


def is_cell_file(filename: str) -> bool:
    """A notebook cell's code: ipykernel keeps it in a temporary file ``ipykernel_<pid>/``."""
    return "ipykernel_" in filename or filename.startswith("<ipython-input")


def is_reader_frame(filename: str, package_dir: Path = PACKAGE_DIR) -> bool:
    if is_cell_file(filename):
        return True
    try:
        return Path(filename).resolve().is_relative_to(package_dir)
    except (OSError, ValueError):
        return False


def reader_traceback(
    tb: types.TracebackType | None, package_dir: Path = PACKAGE_DIR
) -> types.TracebackType | None:
    """The traceback ``tb`` with only the frames of cells and of ``jaxbook``, in order."""
    kept = []
    while tb is not None:
        if is_reader_frame(tb.tb_frame.f_code.co_filename, package_dir):
            kept.append(tb)
        tb = tb.tb_next
    chain = None
    for entry in reversed(kept):
        chain = types.TracebackType(chain, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return chain


CELL_FILE = re.compile(r"(?:/[^\s:]*)?/ipykernel_\d+/\d+\.py(?::(\d+))?")
INSTALLED = re.compile(r"(?:/[^\s:]*)?/site-packages/")


def scrub(text: str, cells: dict[str, int] | None = None, package_dir: Path = PACKAGE_DIR) -> str:
    """No build path on the page: ``/…/src/jaxbook/x.py`` becomes ``jaxbook/x.py``, a file of
    an installed library its import path (``jax/_src/…``), and a cell's temporary file (which
    JAX's messages name) ``Cell In[n], line k`` as IPython names cells."""
    text = text.replace(str(package_dir.parent) + "/", "")
    text = INSTALLED.sub("", text)

    def cell(match: re.Match[str]) -> str:
        number = (cells or {}).get(match.group(0).split(":")[0])
        name = f"Cell In[{number}]" if number is not None else "a cell"
        return f"{name}, line {match.group(1)}" if match.group(1) else name

    return CELL_FILE.sub(cell, text)


def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None):
    """IPython's custom exception handler: shows and returns the reader's traceback."""
    value.__cause__ = None
    value.__suppress_context__ = True
    # An error with no frame of the reader's (a syntax error, say) keeps its own traceback.
    kept = reader_traceback(tb) or tb
    stb = shell.InteractiveTB.structured_traceback(etype, value, kept)
    cells = getattr(getattr(shell, "compile", None), "_filename_map", {})
    stb = [scrub(line, cells) for line in stb]
    shell._showtraceback(etype, value, stb)
    return stb


def install(shell: Any = None) -> None:
    """Use :func:`handler` for every ``Exception`` in this IPython kernel."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((Exception,), handler)


def write_startup_file(ipython_dir: Path) -> Path:
    """An IPython directory whose default profile installs the handler at kernel start."""
    startup = ipython_dir / "profile_default" / "startup" / "00-readable-errors.py"
    startup.parent.mkdir(parents=True, exist_ok=True)
    startup.write_text(STARTUP, encoding="utf-8")
    return ipython_dir
