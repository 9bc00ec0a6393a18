"""The environment against the pins: the records were made with the versions of
``requirements.txt``, so the checker checks, and the recorder records, only where the libraries
the pages run on (``requirements-reader.in``: JAX, the libraries the chapters teach, NumPy,
SciPy, ...) are installed at those versions.

Under other versions every version banner would fail on its own and a trajectory value would be
held to a record made with other code; instead the check stops with one error that lists each
difference. Checking the book against other versions is the canary's job (``make canary``,
:mod:`booktools.canary`), which sets :data:`OTHER_VERSIONS` to say so.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable, Mapping

from booktools.book import Paths, read_pins
from booktools.records import CheckerError

# Set (to the name of the tool) by a tool that checks the book under other versions on purpose.
OTHER_VERSIONS = "JAXBOOK_OTHER_VERSIONS"
NOT_INSTALLED = "not installed"


def installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return NOT_INSTALLED


def checked_distributions(paths: Paths) -> list[str]:
    """The distributions whose installed version must be the pinned one: those of
    ``requirements-reader.in``, normalised as pip does."""
    from packaging.utils import canonicalize_name

    source = paths.reader_requirements
    if not source.is_file():
        raise CheckerError(
            f"{source.name} is missing: it lists the libraries whose versions the records depend on"
        )
    names = []
    for line in source.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(canonicalize_name(line))
    return names


def pin_differences(paths: Paths, version_of: Callable[[str], str] | None = None) -> list[str]:
    """``name installed (pinned version)`` for each checked library installed at another
    version than ``requirements.txt`` pins (or not installed); empty when all match."""
    version_of = version_of or installed_version
    pins = read_pins(paths.requirements)
    differences = []
    for name in checked_distributions(paths):
        if name not in pins:
            continue  # requirements.txt pins it not: `booktools.lock check` reports that
        installed = version_of(name)
        if installed != pins[name]:
            differences.append(f"{name} {installed} (requirements.txt pins {pins[name]})")
    return differences


def require_pinned_environment(
    paths: Paths,
    doing: str,
    environ: Mapping[str, str] | None = None,
    version_of: Callable[[str], str] | None = None,
) -> str | None:
    """Raise a :class:`CheckerError` listing every difference between the installed libraries
    and the pins, unless :data:`OTHER_VERSIONS` names the tool that checks other versions on
    purpose; then return a note that says so (``None`` when the versions are the pinned ones).
    ``doing`` says what stops: ``nothing checked`` or ``nothing recorded``."""
    differences = pin_differences(paths, version_of)
    if not differences:
        return None
    environ = os.environ if environ is None else environ
    listed = "\n".join(f"  {difference}" for difference in differences)
    if environ.get(OTHER_VERSIONS) and doing == "nothing checked":
        return (
            f"{environ[OTHER_VERSIONS]}: checking under other versions than the records were "
            f"made with, on purpose:\n{listed}"
        )
    raise CheckerError(
        f"{doing}: the installed libraries are not the ones the records were made with "
        f"(requirements.txt):\n{listed}\n"
        "Install the pinned environment (`make venv`) and build again. To see what other "
        "versions change, run `make canary`: checking other versions is the canary's job."
    )
