"""``make numerics-matrix``: execute the book under other numerics and check every build against
the same records, as a contributor's machine of another kind would.

Each *variant* changes what decides a float's last bits (:mod:`booktools.numerics`): the
instruction set XLA generates CPU code for (``XLA_FLAGS=--xla_cpu_max_isa=...``) or the number
of threads the build may use (its CPU affinity). Each variant executes every page from an empty
cache into ``_build/variants/<name>/`` (the lean path: no site is built) and runs the output
checker on it, with the rules of each kind of value: so an exact value that moves, or a numeric
one that moves beyond its tolerance, fails; a trajectory value may move, and its claims must
hold. The report (``_build/variants/report.md``) names every variant, whether it passed, and the
largest relative move of a numeric value on each page: the measurement behind the tolerances in
``pyproject.toml``.

``--record-verified`` writes ``tests/numerics/verified.yml`` when every variant passed: for each
page, the variants its records were verified under, with a digest of the record and of the
page's code, so the site claims a variant only while both are unchanged.

``--compare RECORDED FOUND`` executes nothing: it compares two sets of records (a folder, or
``REV:FOLDER`` in a commit) value by value with the checker's number comparison, and prints how
far each numeric value's floats moved, what no tolerance covers (text, integers) and the
versions that differ: the measurement behind a profile's tolerance where the two sets were made
on different machines (the GPU's, ``tests/golden/gpu``, against the CPU's).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from booktools import numerics
from booktools.book import Book, Paths, front_matter
from booktools.checks.numbers import number_moves, relative_move, same_form
from booktools.records import (
    BOOK_PREFIX,
    DEFAULT_KIND,
    ExecutedPage,
    GoldenRecords,
    load_pages,
)

# The variants `make numerics-matrix` runs by default; `make test` runs the first non-native one.
DEFAULT_VARIANTS = ("native", "SSE4_2", "AVX2", "threads1")


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    max_isa: str | None = None  # XLA's --xla_cpu_max_isa
    threads: int | None = None  # CPU affinity: the first N cores the process may use

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        env = dict(base)
        flags = [f for f in env.get("XLA_FLAGS", "").split() if "--xla_cpu_max_isa" not in f]
        if self.max_isa:
            flags.append(f"--xla_cpu_max_isa={self.max_isa}")
        if flags:
            env["XLA_FLAGS"] = " ".join(flags)
        else:
            env.pop("XLA_FLAGS", None)
        return env

    def affinity(self) -> set[int] | None:
        if not self.threads:
            return None
        cores = sorted(os.sched_getaffinity(0))
        return set(cores[: self.threads])


def parse_variant(name: str) -> Variant:
    """``native``, an instruction set (``SSE4_2``, ``AVX``, ``AVX2``, ``AVX512``) or
    ``threads<N>``."""
    if name == "native":
        return Variant(name)
    if name.startswith("threads") and name.removeprefix("threads").isdigit():
        return Variant(name, threads=int(name.removeprefix("threads")))
    if name.upper() in numerics.X86_ISAS:
        return Variant(name.upper(), max_isa=name.upper())
    raise SystemExit(
        f"numerics-matrix: unknown variant {name!r}: use native, threads<N> or one of "
        f"{', '.join(numerics.X86_ISAS)}"
    )


def _run(
    command: list[str], cwd: Path, env: dict[str, str], affinity: set[int] | None, log: Path
) -> int:
    def narrow() -> None:
        if affinity:
            os.sched_setaffinity(0, affinity)

    with log.open("w", encoding="utf-8") as out:
        return subprocess.run(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=narrow
        ).returncode


@dataclasses.dataclass
class VariantResult:
    variant: Variant
    fingerprint: dict[str, Any]
    built: bool
    passed: bool
    seconds: float
    log: Path
    report: str
    largest_moves: dict[str, tuple[float, str]]  # page -> (largest numeric move, where)


def numeric_moves(paths: Paths, executed: Path) -> dict[str, tuple[float, str]]:
    """For each page, the largest relative move of a numeric value against its record."""
    records = GoldenRecords(paths)
    largest: dict[str, tuple[float, str]] = {}
    for page in load_pages(executed, paths.root):
        path, _ = records.record_for(page, page.profile)
        if path is None:
            continue
        golden = records.load(path)
        recorded = {c["key"]: c for c in golden["cells"]}
        best = (0.0, "")
        for cell in page.cells:
            entry = recorded.get(cell.key)
            if cell.kind != "numeric" or entry is None:
                continue
            for e, a in zip(entry["outputs"], cell.outputs, strict=False):
                for field in ("text", "message"):
                    if same_form(e.get(field, ""), a.get(field, "")):
                        for old, new, move in number_moves(e.get(field, ""), a.get(field, "")):
                            if move > best[0]:
                                best = (move, f"cell {cell.index}: {old} → {new}")
        for name, value in page.glue.items():
            expected = str((golden.get("glue") or {}).get(name, ""))
            if page.glue_kind(name) == "numeric" and same_form(expected, value):
                for old, new, move in number_moves(expected, value):
                    if move > best[0]:
                        best = (move, f"`{name}`: {old} → {new}")
        largest[page.docname] = best
    return largest


# --------------------------------------------------------------------------- two sets of records

ATOL = 1e-6  # the CPU profile's: values near zero stayed within it under the matrix

# A number that is part of a dotted version (`0.10` of `JAX 0.10.2`) says which library ran, not
# what it computed: no tolerance is about it (the checker's pins check is).
VERSION = re.compile(r"(?<![\w.])\d+(?:\.\d+){2,}(?!\w|\.\d)")


@dataclasses.dataclass(frozen=True)
class Move:
    """A float of a numeric value that differs between two records."""

    page: str
    where: str  # `cell 3 [key] `first line``, or `glued value `name``
    recorded: str
    found: str

    @property
    def relative(self) -> float:
        return relative_move(self.recorded, self.found)

    @property
    def absolute(self) -> float:
        return abs(float(self.found) - float(self.recorded))

    def __str__(self) -> str:
        return f"{self.page}, {self.where}: {self.recorded} → {self.found}"


@dataclasses.dataclass
class RecordComparison:
    """Two sets of records (say a GPU's against a CPU's), value by value, by the checker's rules:
    the numeric values' floats that moved (what a tolerance is measured from), the differences
    no tolerance covers (text, integers), and the version numbers that differ."""

    pages: list[str] = dataclasses.field(default_factory=list)
    moves: list[Move] = dataclasses.field(default_factory=list)
    differences: list[str] = dataclasses.field(default_factory=list)  # text, integers, counts
    versions: list[str] = dataclasses.field(default_factory=list)
    left_out: dict[str, int] = dataclasses.field(default_factory=dict)  # values by kind

    def largest(self, atol: float = 0.0) -> Move | None:
        """The largest move relative to its value, of those that moved more than ``atol`` (a
        value near zero moves far relative to itself: ``atol`` is for those)."""
        beyond = [m for m in self.moves if m.absolute > atol]
        return max(beyond, key=lambda m: m.relative, default=None)

    def tolerances(self, margin: float = 25.0, atol: float = ATOL) -> dict[str, float]:
        """``rtol``: ``margin`` (at least 1) times the largest relative move of a value that
        moved more than ``atol``, up to one significant digit (the CPU profile keeps 25× over
        its measured 3.8e-6: 1e-4). Every move is then within ``atol + rtol * |value|``."""
        largest = self.largest(atol)
        rtol = _one_digit_up(max(margin, 1.0) * largest.relative) if largest else 0.0
        return {"rtol": rtol, "atol": atol}


def _one_digit_up(value: float) -> float:
    """``value`` rounded up to one significant digit: 9.5e-5 → 1e-4, 3.2e-3 → 4e-3."""
    exponent = math.floor(math.log10(value))
    digit = math.ceil(round(value / 10**exponent, 9))
    return float(f"{digit}e{exponent}")


def compare_texts(page: str, where: str, recorded: str, found: str, into: RecordComparison):
    """Add what differs between two texts of one numeric value to ``into``: versions (``JAX
    0.10.2``, compared as words), then text around the numbers, then integers and floats."""
    if recorded == found:
        return
    old_versions, new_versions = VERSION.findall(recorded), VERSION.findall(found)
    if len(old_versions) == len(new_versions):
        into.versions += [
            f"{page}, {where}: {e} → {a}"
            for e, a in zip(old_versions, new_versions, strict=True)
            if e != a
        ]
        recorded, found = VERSION.sub("<version>", recorded), VERSION.sub("<version>", found)
    if not same_form(recorded, found):
        into.differences.append(f"{page}, {where}: the text differs")
        return
    for e, a, _ in number_moves(recorded, found):
        if re.fullmatch(r"[-+]?\d+", e) and re.fullmatch(r"[-+]?\d+", a):
            into.differences.append(f"{page}, {where}: integer {e} → {a}")
        else:
            into.moves.append(Move(page, where, e, a))


def compare_records(
    recorded: dict[str, dict[str, Any]],
    found: dict[str, dict[str, Any]],
    front_matter: dict[str, dict[str, Any]],
) -> RecordComparison:
    """Every page both sets record (``{docname: record}``), value by value. Only numeric values
    are compared (a cell's kind is its record's; a glued value's, the page's ``front_matter``);
    exact, trajectory and volatile ones are counted in ``left_out``."""
    comparison = RecordComparison(pages=sorted(set(recorded) & set(found)))
    for docname in comparison.pages:
        source = f"{docname}.md"
        old, new = recorded[docname], found[docname]
        old_cells = {c["key"]: c for c in old.get("cells") or []}
        for index, cell in enumerate(new.get("cells") or [], start=1):
            entry = old_cells.get(cell["key"])
            kinds = {cell.get("kind", DEFAULT_KIND), (entry or {}).get("kind", DEFAULT_KIND)}
            if entry is None:
                comparison.differences.append(f"{source}, cell [{cell['key']}]: in one only")
                continue
            if kinds != {DEFAULT_KIND}:
                kind = next(iter(kinds - {DEFAULT_KIND}))
                comparison.left_out[kind] = comparison.left_out.get(kind, 0) + 1
                continue
            where = f"cell {index} [{cell['key']}] `{cell.get('source', '')}`"
            if len(entry["outputs"]) != len(cell["outputs"]):
                comparison.differences.append(f"{source}, {where}: other outputs")
                continue
            for e, a in zip(entry["outputs"], cell["outputs"], strict=True):
                for field in ("text", "message"):
                    compare_texts(
                        source, where, str(e.get(field, "")), str(a.get(field, "")), comparison
                    )
        page = ExecutedPage(docname, front_matter.get(docname) or {}, [], {}, {})
        old_glue, new_glue = old.get("glue") or {}, new.get("glue") or {}
        for name in sorted(set(old_glue) & set(new_glue)):
            kind = page.glue_kind(name)
            if kind != DEFAULT_KIND:
                comparison.left_out[kind] = comparison.left_out.get(kind, 0) + 1
                continue
            where = f"glued value `{name}`"
            compare_texts(source, where, str(old_glue[name]), str(new_glue[name]), comparison)
    return comparison


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def read_records(root: Path, where: str) -> dict[str, dict[str, Any]]:
    """The records in a folder (``tests/golden/gpu``) or, as ``REV:FOLDER``, in a commit
    (``3b9e331:tests/golden``), by docname."""
    revision, _, folder = where.rpartition(":") if ":" in where else ("", "", where)
    found = {}
    if revision:
        listing = _git(root, "ls-tree", "--name-only", f"{revision}:{folder}")
        for name in listing.split():
            if name.endswith(".yml"):
                text = _git(root, "show", f"{revision}:{folder}/{name}")
                found[BOOK_PREFIX + name.removesuffix(".yml")] = yaml.safe_load(text)
    else:
        for path in sorted((root / folder).glob("*.yml")):
            found[BOOK_PREFIX + path.stem] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return found


def front_matters(root: Path, docnames: list[str], revision: str | None) -> dict[str, Any]:
    """The pages' front matter, in the working tree or at ``revision``."""
    matters = {}
    for docname in docnames:
        if revision:
            text = _git(root, "show", f"{revision}:{docname}.md")
        else:
            text = (root / f"{docname}.md").read_text(encoding="utf-8")
        matters[docname] = front_matter(text)
    return matters


def comparison_report(comparison: RecordComparison, recorded: str, found: str) -> str:
    lines = [f"records {recorded} → {found}: {len(comparison.pages)} page(s) in both"]
    left_out = ", ".join(f"{n} {kind}" for kind, n in sorted(comparison.left_out.items()))
    lines.append(f"left out by kind: {left_out or 'nothing'}")
    for title, items in (
        (
            "version numbers that differ (the pins' business, not a tolerance's)",
            comparison.versions,
        ),
        ("differences no tolerance covers (text, integers)", comparison.differences),
    ):
        lines.append(f"{title}: {len(items)}")
        lines += [f"  {item}" for item in items]
    moves = sorted(comparison.moves, key=lambda m: m.relative, reverse=True)
    lines.append(f"floats of numeric values that moved: {len(moves)}")
    lines += [f"  {m} (relative {m.relative:.2g}, absolute {m.absolute:.2g})" for m in moves]
    largest = comparison.largest(ATOL)
    if largest:
        lines.append(
            f"largest relative move of a value that moved more than {ATOL:g}: "
            f"{largest.relative:.2g} ({largest})"
        )
        rtol, atol = comparison.tolerances().values()
        lines.append(f"with a 25x margin: rtol {rtol:g}, atol {atol:g} (every move within them)")
    else:
        lines.append(f"no float of a numeric value moved more than {ATOL:g}")
    return "\n".join(lines)


def run_variant(paths: Paths, variant: Variant, fresh: bool) -> VariantResult:
    build = paths.variants / variant.name
    if fresh:
        shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True, exist_ok=True)
    env = variant.environment(dict(os.environ))
    env["JAXBOOK_BUILD"] = str(build)
    affinity = variant.affinity()
    print(f"numerics-matrix: variant {variant.name}: executing every page ...", flush=True)
    start = time.perf_counter()
    log = build / "build.log"
    built = _run(
        [sys.executable, "-m", "booktools.build", "--execute-only"], paths.root, env, affinity, log
    )
    seconds = time.perf_counter() - start
    fingerprint: dict[str, Any] = {}
    if built != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-4000:]
        report = f"the build failed under variant {variant.name} (log: {log}):\n{tail}"
        return VariantResult(variant, fingerprint, False, False, seconds, log, report, {})
    check_log = build / "output-check.txt"
    executed = build / "jupyter_execute"
    checked = _run(
        [
            sys.executable,
            "-m",
            "booktools.outputs",
            "check",
            "--executed",
            str(executed),
            "--variant",
            variant.name,
        ],
        paths.root,
        env,
        affinity,
        check_log,
    )
    pages = load_pages(executed, paths.root)
    fingerprint = pages[0].numerics if pages else {}
    report = check_log.read_text(encoding="utf-8", errors="replace")
    moves = numeric_moves(paths, executed)
    passed = checked == 0
    return VariantResult(variant, fingerprint, True, passed, seconds, check_log, report, moves)


def markdown_report(results: list[VariantResult]) -> str:
    lines = [
        "# Numerics matrix",
        "",
        "| variant | numerics | executed in | result |",
        "| --- | --- | ---: | --- |",
    ]
    for r in results:
        state = "passed" if r.passed else ("FAILED" if r.built else "BUILD FAILED")
        label = numerics.label(r.fingerprint) if r.fingerprint else "?"
        lines.append(f"| {r.variant.name} | {label} | {r.seconds:.0f} s | {state} |")
    pages = sorted({p for r in results for p in r.largest_moves})
    if pages:
        lines += [
            "",
            "Largest relative move of a numeric value against its record, per page:",
            "",
            "| page | " + " | ".join(r.variant.name for r in results) + " |",
            "| --- |" + " ---: |" * len(results),
        ]
        for page in pages:
            cells = []
            for r in results:
                move, where = r.largest_moves.get(page, (0.0, ""))
                cells.append(f"{move:.1e} ({where})" if move else "0")
            lines.append(f"| {page} | " + " | ".join(cells) + " |")
    for r in results:
        lines += ["", f"## {r.variant.name}", "", "```", r.report.strip(), "```"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- verification


def verification_digest(book: Book, docname: str, record: Path) -> str:
    """What a verification vouches for: the page's record, its code, and the ``jaxbook``
    modules it imports (prose may change; any of these, and the claim lapses)."""
    page = book.page(docname)
    digest = hashlib.sha256(record.read_bytes())
    digest.update(page.code.encode())
    for path in page.dependency_files:
        digest.update(path.read_bytes())
    digest.update(book.paths.requirements.read_bytes())
    return digest.hexdigest()[:16]


def write_verified(paths: Paths, results: list[VariantResult]) -> None:
    book, records = Book(paths), GoldenRecords(paths)
    pages = sorted({p for r in results for p in r.largest_moves})
    data: dict[str, Any] = {}
    for docname in pages:
        record = records.file(docname)
        if not record.exists():
            continue
        data[docname] = {
            "digest": verification_digest(book, docname, record),
            "variants": [numerics.label(r.fingerprint) for r in results if r.passed],
        }
    paths.verified.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Where each page's records were verified: written by `make numerics-matrix` when every\n"
        "# variant passed. A page's entry counts only while its digest (record, code, imported\n"
        "# jaxbook modules, requirements) is unchanged; the site shows the variants then.\n"
    )
    text = header + yaml.safe_dump(data, sort_keys=True, allow_unicode=True)
    paths.verified.write_text(text, "utf-8")


def verified_variants(docname: str, paths: Paths | Path) -> list[str]:
    """The variants a page's current records were verified under (empty when none or stale).
    ``paths`` may be the book's root folder (what the Sphinx extension has)."""
    paths = paths if isinstance(paths, Paths) else Paths.at(paths)
    record = GoldenRecords(paths).file(docname)
    if not paths.verified.exists() or not record.exists():
        return []
    entry = (yaml.safe_load(paths.verified.read_text(encoding="utf-8")) or {}).get(docname) or {}
    if entry.get("digest") != verification_digest(Book(paths), docname, record):
        return []
    return [str(v) for v in entry.get("variants", [])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        help="comma-separated: native, threads<N>, SSE4_2, AVX, AVX2, AVX512 "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--keep-cache",
        action="store_true",
        help="reuse each variant's execution cache (default: start from an empty one)",
    )
    parser.add_argument(
        "--record-verified",
        action="store_true",
        help="when every variant passed, write tests/numerics/verified.yml",
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("RECORDED", "FOUND"),
        help="execute nothing: compare two sets of records, each a folder (tests/golden/gpu) or "
        "REV:FOLDER (3b9e331:tests/golden), and print how far each numeric value moved and the "
        "tolerances that follow",
    )
    parser.add_argument(
        "--pages-at",
        metavar="REV",
        help="with --compare: read the kinds of glued values from the pages at this commit "
        "(default: the working tree)",
    )
    args = parser.parse_args(argv)
    paths = Paths.from_environment()
    if args.compare:
        recorded, found = (read_records(paths.root, where) for where in args.compare)
        pages = sorted(set(recorded) & set(found))
        comparison = compare_records(
            recorded, found, front_matters(paths.root, pages, args.pages_at)
        )
        print(comparison_report(comparison, *args.compare))
        return 0
    variants = [parse_variant(v.strip()) for v in args.variants.split(",") if v.strip()]
    results = []
    for variant in variants:
        result = run_variant(paths, variant, fresh=not args.keep_cache)
        results.append(result)
        state = "passed" if result.passed else "FAILED"
        label = numerics.label(result.fingerprint) if result.fingerprint else "?"
        print(
            f"numerics-matrix: variant {variant.name} ({label}) {state} "
            f"after {result.seconds:.0f} s",
            flush=True,
        )
        if not result.passed:
            print(result.report, file=sys.stderr, flush=True)
    paths.variants.mkdir(parents=True, exist_ok=True)
    report = paths.variants / "report.md"
    report.write_text(markdown_report(results), encoding="utf-8")
    failed = [r.variant.name for r in results if not r.passed]
    if failed:
        print(
            f"numerics-matrix: FAILED under {', '.join(failed)} (the checker's messages are "
            f"above; the report is {report})",
            file=sys.stderr,
        )
        return 1
    if args.record_verified:
        write_verified(paths, results)
        print(f"numerics-matrix: wrote {paths.relative(paths.verified)}")
    print(f"numerics-matrix: every variant passed; report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
