"""``make bench-build``: how long the build takes, and how many pages it executes, when

1. the cache is empty (a clean build, the environment already installed);
2. nothing changed;
3. one page's prose changed, and one page's code changed;
4. one ``src/jaxbook`` module changed.

Edits are made to the working tree and undone afterwards, even if a build fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from booktools import BUILD, ROOT
from booktools.cache import CACHE

PAGE = ROOT / "book" / "dsp.md"
MODULE = ROOT / "src" / "jaxbook" / "dsp.py"


def build() -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "booktools.build"], cwd=ROOT, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-5000:] + result.stderr[-5000:])
        raise SystemExit(f"bench-build: the build failed after {elapsed:.0f} s")
    executed = re.findall(r"^cache: executed ", result.stdout, flags=re.MULTILINE)
    return elapsed, len(executed)


def with_edit(path: Path, edit: Callable[[str], str]) -> tuple[float, int]:
    original = path.read_text(encoding="utf-8")
    path.write_text(edit(original), encoding="utf-8")
    try:
        return build()
    finally:
        path.write_text(original, encoding="utf-8")


def main() -> int:
    shutil.rmtree(CACHE, ignore_errors=True)
    rows = [("clean build (empty cache)", *build())]
    rows.append(("rebuild, nothing changed", *build()))
    rows.append(
        (
            f"rebuild, prose of {PAGE.relative_to(ROOT)} edited",
            *with_edit(PAGE, lambda text: text.replace("\n# ", "\n# (edited) ", 1)),
        )
    )
    build()  # back to the unedited page in the cache
    rows.append(
        (
            f"rebuild, code of {PAGE.relative_to(ROOT)} edited",
            *with_edit(
                PAGE, lambda text: text + "\n```{code-cell} ipython3\n# bench-build edit\n```\n"
            ),
        )
    )
    build()
    rows.append(
        (
            f"rebuild, {MODULE.relative_to(ROOT)} edited",
            *with_edit(MODULE, lambda text: text + "\n# bench-build edit\n"),
        )
    )
    build()  # leave the cache matching the working tree
    width = max(len(r[0]) for r in rows)
    print(f"\n{'case':<{width}}  seconds  pages executed")
    for name, seconds, executed in rows:
        print(f"{name:<{width}}  {seconds:7.0f}  {executed:>14}")
    print(f"\n(on {BUILD}; JAXBOOK_JOBS sets the number of parallel kernels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
