"""The locks: what the book's environment and Binder's install, every package pinned and hashed.

``requirements.txt`` is the list people edit (the book's direct dependencies, each ``==``);
``make lock`` resolves it with uv into ``requirements.lock`` (every package, transitive ones
included, with the sha256 of each of its files) and resolves ``requirements-reader.in`` (what a
reader needs) against that lock into ``.binder/requirements.txt``. ``make venv`` installs the
lock with hashes enforced, then the ``jaxbook`` package itself (``-e .``, which has no hash).

``python -m booktools.lock check`` says whether the locks still agree with the lists they come
from; ``make venv`` runs it before installing anything, so a pin changed without ``make lock``
fails at once. Standard library only: it runs before the environment exists.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from booktools.book import Paths  # stdlib only at import: this runs before any venv

REQUIREMENTS = "requirements.txt"
INSTALLER_IN = "requirements-installer.in"  # uv, which `make venv` installs the lock with
LOCK = "requirements.lock"
READER_IN = "requirements-reader.in"
READER_LOCK = ".binder/requirements.txt"
RELOCK = "run `make lock` and commit the lock with the change"


def normalise(name: str) -> str:
    """A distribution name as the package index compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Entry:
    """One requirement of a lock: ``name==version ; marker``, its hashes and who needs it."""

    name: str
    specifier: str  # "==1.2.3", or whatever else the line said
    marker: str
    hashes: list[str]
    via: list[str] = field(default_factory=list)

    @property
    def version(self) -> str | None:
        return self.specifier[2:] if re.fullmatch(r"==[^=*,<>!~\s]+", self.specifier) else None


REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*([^;]*?)\s*(?:;(.*))?$")


def read_lock(path: Path) -> list[Entry]:
    """The entries of a lock as ``pip-compile`` and ``uv pip compile`` write it."""
    entries: list[Entry] = []
    logical = ""
    in_via = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#"):
            comment = line.lstrip("#").strip()
            if entries and comment.startswith("via"):
                in_via = True
                rest = comment.removeprefix("via").strip()
                if rest:
                    entries[-1].via += [part.strip() for part in rest.split(",")]
            elif entries and in_via and raw.startswith("    #   "):
                entries[-1].via.append(comment)
            else:
                in_via = False
            continue
        in_via = False
        if not line and not logical:
            continue
        logical += " " + line.removesuffix("\\")
        if line.endswith("\\"):
            continue
        text, logical = logical.strip(), ""
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", text)
        text = re.sub(r"\s*--hash=\S+", "", text).strip()
        match = REQUIREMENT.match(text)
        if not match:
            entries.append(Entry(text, "", "", hashes))
            continue
        name, specifier, marker = match.groups()
        entries.append(Entry(normalise(name), specifier, (marker or "").strip(), hashes))
    return entries


def read_pins(path: Path) -> tuple[dict[str, str], list[str]]:
    """The ``name==version`` lines of a hand-written requirements file, and its other lines
    that are requirements (anything but comments, blank lines and ``-e .``).

    The tools read pins with :attr:`booktools.book.Book.pins` (``packaging``); this reader is
    the stdlib-only one that ``make venv`` needs before any environment exists, and
    tests/test_book.py checks that both read requirements.txt alike."""
    pins: dict[str, str] = {}
    other: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or line == "-e .":
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;]+)", line)
        if match:
            pins[normalise(match.group(1))] = match.group(2)
        else:
            other.append(line)
    return pins, other


def read_names(path: Path) -> list[str]:
    names = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            names.append(normalise(re.split(r"[\s\[=<>!~;]", line, maxsplit=1)[0]))
    return names


def entry_problems(entries: list[Entry], lock: str) -> list[str]:
    """Every entry pinned to one version with ``==`` and carrying at least one sha256 hash."""
    problems = []
    for entry in entries:
        if entry.version is None:
            problems.append(f"{lock}: {entry.name}{entry.specifier} is not pinned with ==")
        if not entry.hashes:
            problems.append(f"{lock}: {entry.name} has no --hash=sha256")
    return problems


def by_name(entries: list[Entry]) -> dict[str, list[Entry]]:
    found: dict[str, list[Entry]] = {}
    for entry in entries:
        found.setdefault(entry.name, []).append(entry)
    return found


def direct_names(entries: list[Entry], source: str) -> set[str]:
    """The entries that the lock says were asked for by ``source`` (``# via -r source``)."""
    return {e.name for e in entries if f"-r {source}" in e.via}


def problems(root: Path) -> list[str]:
    """Why the locks do not match the lists they are generated from (empty when they do)."""
    found: list[str] = []
    pins: dict[str, str] = {}
    sources: dict[str, str] = {}
    for source in (REQUIREMENTS, INSTALLER_IN):
        pinned, unpinned = read_pins(root / source)
        found += [f"{source}: {line!r} is not pinned with ==" for line in unpinned]
        pins.update(pinned)
        sources.update(dict.fromkeys(pinned, source))
    lock_path = root / LOCK
    if not lock_path.exists():
        return [*found, f"{LOCK} is missing: {RELOCK}"]
    lock = read_lock(lock_path)
    found += entry_problems(lock, LOCK)
    locked = by_name(lock)
    for name, version in pins.items():
        versions = sorted({e.specifier for e in locked.get(name, [])})
        if not versions:
            found.append(f"{sources[name]} pins {name}=={version}, which {LOCK} lacks: {RELOCK}")
        elif versions != [f"=={version}"]:
            found.append(
                f"{sources[name]} pins {name}=={version}, {LOCK} has {name}{', '.join(versions)}"
                f": {RELOCK}"
            )
    for source in (REQUIREMENTS, INSTALLER_IN):
        for name in sorted(direct_names(lock, source) - set(pins)):
            found.append(f"{LOCK} has {name} from {source}, which no longer pins it: {RELOCK}")

    reader_path = root / READER_LOCK
    if not reader_path.exists():
        return [*found, f"{READER_LOCK} is missing: {RELOCK}"]
    reader = read_lock(reader_path)
    found += entry_problems(reader, READER_LOCK)
    full = {(e.name, e.specifier, e.marker): sorted(e.hashes) for e in lock}
    for entry in reader:
        key = (entry.name, entry.specifier, entry.marker)
        if key not in full:
            versions = ", ".join(e.name + e.specifier for e in locked.get(entry.name, []))
            found.append(
                f"{READER_LOCK} has {entry.name}{entry.specifier}"
                f"{' ; ' + entry.marker if entry.marker else ''}, {LOCK} has {versions or 'none'}"
                f": {RELOCK}"
            )
        elif sorted(entry.hashes) != full[key]:
            found.append(f"{READER_LOCK}: the hashes of {entry.name} differ from {LOCK}: {RELOCK}")
    wanted = set(read_names(root / READER_IN))
    # The jaxbook package (installed by postBuild without its dependencies) needs these too.
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted |= set(read_names_from(project.get("dependencies", [])))
    missing = sorted(wanted - {e.name for e in reader})
    found += [
        f"{READER_LOCK} lacks {name} ({READER_IN}, pyproject.toml): {RELOCK}" for name in missing
    ]
    stale = sorted(direct_names(reader, READER_IN) - set(read_names(root / READER_IN)))
    found += [
        f"{READER_LOCK} has {name} from {READER_IN}, which no longer lists it" for name in stale
    ]
    return found


def read_names_from(requirements: list[str]) -> list[str]:
    return [normalise(re.split(r"[\s\[=<>!~;]", r.strip(), maxsplit=1)[0]) for r in requirements]


def extract(name: str, root: Path) -> str:
    """One package's entry of the lock as a requirements line with its hashes (for bootstrapping
    the installer with ``pip --require-hashes``)."""
    for entry in read_lock(root / LOCK):
        if entry.name == normalise(name):
            hashes = " ".join(f"--hash=sha256:{h}" for h in entry.hashes)
            return f"{entry.name}{entry.specifier} {hashes}\n"
    raise SystemExit(f"{LOCK} has no {name}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Paths.from_environment().root
    if args[:1] == ["check"]:
        found = problems(root)
        for problem in found:
            print(problem, file=sys.stderr)
        return 1 if found else 0
    if args[:1] == ["extract"] and len(args) == 2:
        sys.stdout.write(extract(args[1], root))
        return 0
    print("usage: python -m booktools.lock check | extract NAME", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
