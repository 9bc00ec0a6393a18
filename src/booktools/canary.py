"""The canary: build the book against the newest JAX, jaxlib, Flax, Optax and Haiku.

``make canary`` installs the pins of ``requirements.txt`` into ``.venv-canary``, upgrades the
libraries the book teaches (:data:`UPGRADED`, from :mod:`jaxbook.provenance`; ``--list`` prints
them) to their newest releases, builds into ``_build/canary`` and runs the output checker. It
writes ``_build/canary/report.md``: the versions, whether the build passed, and every output
that changed. It exits non-zero when anything changed, so the scheduled workflow shows it; it
never runs on pull requests.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime

from booktools.book import Paths
from jaxbook.provenance import TAUGHT, library_versions

UPGRADED = tuple(library.distribution for library in TAUGHT)


def run(paths: Paths, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, JAXBOOK_BUILD=str(paths.build))
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--list",
        action="store_true",
        help="print the distributions the canary upgrades (for `make canary`) and exit",
    )
    if parser.parse_args(argv).list:
        print(" ".join(UPGRADED))
        return 0
    paths = Paths.from_environment()
    paths.build.mkdir(parents=True, exist_ok=True)
    build = run(paths, "-m", "booktools.build")
    check = run(paths, "-m", "booktools.outputs", "check", "--executed", str(paths.executed))
    versions = library_versions()
    lines = [
        f"# Canary report, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "Newest releases tried: "
        + ", ".join(f"{name} {versions.get(name, '?')}" for name in UPGRADED),
        "",
        f"## Build: {'passed' if build.returncode == 0 else 'FAILED'}",
        "",
    ]
    if build.returncode != 0:
        lines += ["```", build.stderr[-20_000:], "```", ""]
    lines += [f"## Outputs: {'unchanged' if check.returncode == 0 else 'CHANGED'}", ""]
    lines += ["```", (check.stdout + check.stderr)[-60_000:], "```"]
    report = paths.build / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(
        f"canary: build {'passed' if build.returncode == 0 else 'FAILED'}, outputs "
        f"{'unchanged' if check.returncode == 0 else 'CHANGED'}; report: {report}"
    )
    return 0 if build.returncode == 0 and check.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
