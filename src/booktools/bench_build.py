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

from booktools.book import Paths

PAGE = "book/dsp.md"
MODULE = "src/jaxbook/dsp.py"


def build(paths: Paths) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "booktools.build"], cwd=paths.root, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-5000:] + result.stderr[-5000:])
        raise SystemExit(f"bench-build: the build failed after {elapsed:.0f} s")
    executed = re.findall(r"^cache: executed ", result.stdout, flags=re.MULTILINE)
    return elapsed, len(executed)


def with_edit(paths: Paths, relative: str, edit: Callable[[str], str]) -> tuple[float, int]:
    path = paths.root / relative
    original = path.read_text(encoding="utf-8")
    path.write_text(edit(original), encoding="utf-8")
    try:
        return build(paths)
    finally:
        path.write_text(original, encoding="utf-8")


def main() -> int:
    paths = Paths.from_environment()
    shutil.rmtree(paths.cache, ignore_errors=True)
    rows = [("clean build (empty cache)", *build(paths))]
    rows.append(("rebuild, nothing changed", *build(paths)))
    rows.append(
        (
            f"rebuild, prose of {PAGE} edited",
            *with_edit(paths, PAGE, lambda text: text.replace("\n# ", "\n# (edited) ", 1)),
        )
    )
    build(paths)  # back to the unedited page in the cache
    rows.append(
        (
            f"rebuild, code of {PAGE} edited",
            *with_edit(
                paths,
                PAGE,
                lambda text: text + "\n```{code-cell} ipython3\n# bench-build edit\n```\n",
            ),
        )
    )
    build(paths)
    rows.append(
        (
            f"rebuild, {MODULE} edited",
            *with_edit(paths, MODULE, lambda text: text + "\n# bench-build edit\n"),
        )
    )
    build(paths)  # leave the cache matching the working tree
    width = max(len(r[0]) for r in rows)
    print(f"\n{'case':<{width}}  seconds  pages executed")
    for name, seconds, executed in rows:
        print(f"{name:<{width}}  {seconds:7.0f}  {executed:>14}")
    print(f"\n(on {paths.build}; JAXBOOK_JOBS sets the number of parallel kernels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
