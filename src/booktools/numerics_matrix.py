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
versions that differ (:mod:`booktools.record_comparison`): the measurement behind a profile's
tolerance where the two sets were made on different machines (the GPU's, ``tests/golden/gpu``,
against the CPU's).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from booktools import numerics
from booktools.book import Book, Paths
from booktools.checks.numbers import number_moves, same_form
from booktools.record_comparison import (
    compare_records,
    comparison_report,
    front_matters,
    read_records,
)
from booktools.records import GoldenRecords, load_pages

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
