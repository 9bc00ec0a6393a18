"""The canary (booktools.canary, its report in booktools.canary_report): what it upgrades, how it
reads a failed page and the checker's findings, the per-page report, and its tracking issue."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

from booktools import canary, canary_report
from booktools.book import Paths
from booktools.canary_report import Execution, Failure, Outcome, Step, Version
from jaxbook.provenance import NEWEST_IN_CANARY, TAUGHT

ROOT = Path(__file__).resolve().parents[1]


def test_the_canary_lists_the_libraries_the_book_teaches_and_orbax(capsys):
    assert canary.main(["--list"]) == 0
    listed = capsys.readouterr().out.split()
    assert listed == [library.distribution for library in NEWEST_IN_CANARY]
    assert set(listed) == {library.distribution for library in TAUGHT} | {"orbax-checkpoint"}


def test_make_canary_upgrades_what_the_canary_lists():
    recipe = subprocess.run(
        ["make", "--dry-run", "canary"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "-m booktools.canary --list" in recipe
    upgrade = recipe[recipe.index("--upgrade") :].split("\n")[0]
    assert not [x for x in NEWEST_IN_CANARY if x.distribution in upgrade.split()]
    assert "tools/find-python" in recipe  # a Python >= 3.12 makes .venv-canary


def test_the_versions_tried_are_the_upgraded_ones_then_the_other_pinned_ones():
    pins = {"jax": "0.11.2", "jaxlib": "0.11.2", "numpy": "2.5.2", "scipy": "1.18.1"}
    installed = {"jax": "0.12.0.1", "jaxlib": "0.12.0.1", "numpy": "2.5.2", "scipy": "1.19.0"}
    rows = canary.versions(pins, ["jax", "numpy", "scipy", "jupytext"], installed.get)
    assert rows[0] == Version("jax", "0.12.0.1", "0.11.2", True)
    assert [r.distribution for r in rows if not r.upgraded] == ["numpy", "scipy"]
    assert [r.distribution for r in rows if r.upgraded] == list(canary.UPGRADED)


# A failed page, as booktools.cache reports it: jupyter-cache's traceback of nbclient's error,
# then the kernel's own log.
FAILED_REPORT = """Traceback (most recent call last):
  File "/x/jupyter_cache/executors/utils.py", line 58, in single_nb_execution
    executenb(nb, **kwargs)
nbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:
------------------
x = jnp.ones(3)
print(jax.grad(f)(x))
------------------

----- stdout -----
partial output

\x1b[0;31mTypeError\x1b[0m: Gradient only defined for scalar-output functions.

(the kernel's own log, /x/kernel-logs/book__grad.md.log:)
W1205 07:00:00.123 a log line with a time in it
"""
TIMEOUT_REPORT = """Traceback (most recent call last):
nbclient.exceptions.CellTimeoutError: A cell timed out while it was being executed, after 120 \
seconds.
The message was: Cell execution timed out.
Here is a preview of the cell contents:
-------------------
train(steps=10**9)
-------------------
"""
PAGE = SimpleNamespace(
    code_cells=[
        SimpleNamespace(source="import jax"),
        SimpleNamespace(source="x = jnp.ones(3)\nprint(jax.grad(f)(x))"),
        SimpleNamespace(source="train(steps=10**9)"),
    ]
)


def test_a_failed_page_names_its_cell_and_error_without_the_kernels_log():
    failure = canary.parse_failure(FAILED_REPORT, PAGE)
    assert failure.cell == 2
    assert failure.source == "x = jnp.ones(3)\nprint(jax.grad(f)(x))"
    assert failure.error == "TypeError: Gradient only defined for scalar-output functions."
    assert "\x1b[" not in failure.report and "07:00:00" not in failure.report  # stable text


def test_a_timed_out_cell_is_named_too():
    failure = canary.parse_failure(TIMEOUT_REPORT, PAGE)
    assert failure.cell == 3 and failure.source == "train(steps=10**9)"
    assert failure.error == "A cell timed out while it was being executed, after 120 seconds."


# What `python -m booktools.outputs check` prints (stdout, stderr), as the canary runs it: the
# first run's lines under JAX 0.12.0.1 against records of JAX 0.11.2 (2026-12-05), shortened.
CHECK_OUT = """\
note: canary: checking under other versions than the records were made with, on purpose:
  jax 0.12.0.1 (requirements.txt pins 0.11.2)
output check (cpu): ran under cpu AVX2, 2 threads (AMD EPYC), JAX 0.12.0.1; records made under \
cpu AVX2, 2 threads (AMD EPYC), JAX 0.11.2
2 trajectory value(s) moved under these numerics (reported, not failures: their claims are checked):
  moved: book/ml_basics.md: glued value `acc`: 0.97 → 0.96 (largest relative move 0.01)
  moved: book/vmap.md, cell 3 [cell-1] `print(loss)`: 1.0 → 1.1 (largest relative move 0.1)
"""
BANNERS = """\
FAIL book/flax_nnx.md, cell 30 [cell-12e7c01ecc] `versions = library_versions()`: output 1 \
(stream stdout): the text differs:
    expected: {'jax': '0.11.2', 'flax': '0.12.10', 'dm-haiku': '0.0.17', 'optax': '0.2.8'}
    actual: {'jax': '0.12.0.1', 'flax': '0.12.12', 'dm-haiku': '0.0.17', 'optax': '0.2.8'}

FAIL book/vmap.md, cell 2 [cell-676940b12a] `import jax`: output 1 (stream stdout): the text \
differs:
    expected: JAX 0.11.2 on <device>
              CPU devices: 8
    actual: JAX 0.12.0.1 on <device>
            CPU devices: 8
"""
CHANGED = """\
FAIL book/grad.md, cell 54 [cell-032fd283ca] `def where_rms_error(x, y):`: output 1 (stream \
stdout): the text differs:
    expected: value at the target: 0.0
    actual: value at the target: 0.0
            Invalid nan value encountered in the backward pass of a jax.jit function. Calling \
the de-optimized backward pass.

FAIL book/grad.md: glued value `tall_rev_over_fwd`: 1.2 != 0.9
"""
ORPHAN = """\
FAIL tests/golden/old.yml: recorded outputs of book/old.md, which was not built. Run `make golden`.
"""


def checker_err(*findings: str) -> str:
    count = sum(f.count("FAIL ") for f in findings)
    return f"output check (cpu): {count} problem(s)\n\n" + "\n".join(findings)


CHECK_ERR = checker_err(BANNERS, CHANGED, ORPHAN)


def test_the_checkers_findings_are_grouped_by_page():
    findings = canary_report.parse_checker(Step(1, CHECK_OUT, CHECK_ERR))
    assert list(findings.failures) == ["book/flax_nnx", "book/vmap", "book/grad"]
    first, second = findings.failures["book/grad"]
    assert first.startswith("book/grad.md, cell 54") and first.endswith("backward pass.")
    assert second == "book/grad.md: glued value `tall_rev_over_fwd`: 1.2 != 0.9"
    assert findings.other == [
        "tests/golden/old.yml: recorded outputs of book/old.md, which was not built. "
        "Run `make golden`."
    ]
    assert set(findings.moves) == {"book/ml_basics", "book/vmap"}
    assert findings.summary == "output check (cpu): 5 problem(s)"
    assert findings.header[0].startswith("note: canary: checking under other versions")
    assert findings.header[1] == "  jax 0.12.0.1 (requirements.txt pins 0.11.2)"
    assert not findings.error


def test_a_checker_that_stopped_is_an_error_not_a_finding():
    findings = canary_report.parse_checker(
        Step(2, "", "output check: ERROR: no executed notebooks\n")
    )
    assert findings.error == "output check: ERROR: no executed notebooks"
    assert not findings.failures


VERSIONS = [
    Version("jax", "0.12.0.1", "0.11.2", True),
    Version("flax", "0.12.10", "0.12.10", True),
    Version("numpy", "2.5.5", "2.5.2", False),
]
PAGES = ["book/why_jax", "book/grad", "book/vmap", "book/ml_basics"]


def outcome_with_a_failed_page() -> Outcome:
    failure = canary.parse_failure(FAILED_REPORT, PAGE)
    execution = Execution(PAGES, ["book/why_jax", "book/vmap"], {"book/grad": failure}, [])
    checker = Step(1, CHECK_OUT, CHECK_ERR)
    return Outcome(VERSIONS, execution, None, checker, canary_report.parse_checker(checker))


def test_the_report_has_the_versions_then_every_page_then_the_findings_by_page():
    outcome = outcome_with_a_failed_page()
    text = canary_report.report(outcome)
    assert not outcome.passed
    assert "checking the book under other versions than its pins is the canary's job" in (
        " ".join(text.split()).lower()
    )
    assert f"`{canary_report.OTHER_VERSIONS}=canary`" in text
    assert "| jax | 0.12.0.1 (differs) | 0.11.2 | newest release |" in text
    assert "| flax | 0.12.10 | 0.12.10 | newest release |" in text
    assert "| numpy | 2.5.5 (differs) | 2.5.2 | as resolved beside them |" in text
    assert "| `book/why_jax.md` | executed | unchanged |" in text
    assert "| `book/grad.md` | **FAILED** (cell 2) | not checked |" in text
    assert (
        "| `book/vmap.md` | executed | 1 prints the versions, 1 trajectory value(s) moved |"
    ) in text
    grad = text[text.index("### `book/grad.md`") :]
    assert grad.startswith(
        "### `book/grad.md`\n\nCell 2 failed to execute: "
        "`TypeError: Gradient only defined for scalar-output functions.`\n\n```python\n"
        "x = jnp.ones(3)\n"
    )
    assert "Not built: a page failed to execute." in text
    assert "tests/golden/old.yml" in text  # a finding that names no page
    assert "UTC" not in text  # no time: the same findings give the same report (the issue)
    assert text == canary_report.report(outcome_with_a_failed_page())


TRIED = {"0.12.0.1": "0.11.2", "0.12.12": "0.12.10"}  # jax, jaxlib; flax


def test_an_output_that_prints_the_versions_it_ran_with_is_told_apart():
    banners = canary_report.parse_checker(Step(1, "", checker_err(BANNERS))).failures
    for finding in banners["book/flax_nnx"] + banners["book/vmap"]:
        assert canary_report.version_only(finding, TRIED), finding
    changed = canary_report.parse_checker(Step(1, "", checker_err(CHANGED))).failures["book/grad"]
    assert not [f for f in changed if canary_report.version_only(f, TRIED)]
    # a number beyond tolerance is marked >>> <<<; a version inside a longer one is not a version
    marked = (
        "x: number 2 differs:\n    expected: Flax 0.12.>>>10<<<\n    actual: Flax 0.12.>>>12<<<"
    )
    assert canary_report.version_only(marked, TRIED)
    assert not canary_report.version_only(
        marked.replace("Flax 0.12.>>>12", "Flax 0.12.>>>120"), TRIED
    )
    assert not canary_report.version_only(marked, {})  # nothing differs from the pins


def test_changed_outputs_are_listed_under_their_page_apart_from_version_prints():
    execution = Execution(PAGES, PAGES, {}, [])
    checker = Step(1, CHECK_OUT, CHECK_ERR)
    site = Step(0, "", "")
    versions = [*VERSIONS, Version("flax", "0.12.12", "0.12.10", True)]
    outcome = Outcome(versions, execution, site, checker, canary_report.parse_checker(checker))
    text = canary_report.report(outcome)
    assert "**Result: FAILED: 2 output(s) changed; the checker found more (below).**" in text
    assert "| `book/grad.md` | executed | **2 changed** |" in text
    grad = text[text.index("### `book/grad.md`") :]
    assert "Outputs that changed against the records (2):" in grad
    assert "- cell 54 [cell-032fd283ca] `def where_rms_error(x, y):`: output 1 (stream " in grad
    assert "Invalid nan value encountered in the backward pass" in grad
    assert "- glued value `tall_rev_over_fwd`: 1.2 != 0.9" in grad
    vmap = text[text.index("### `book/vmap.md`") :]
    assert vmap.startswith(
        "### `book/vmap.md`\n\nOutputs that differ only by the versions they print (1):\n\n"
        "- cell 2 [cell-676940b12a] `import jax`: output 1 (stream stdout): "
        "`JAX 0.11.2 on <device>` → `JAX 0.12.0.1 on <device>`\n"
    )
    ml = text[text.index("### `book/ml_basics.md`") :]
    assert "- glued value `acc`: 0.97 → 0.96 (largest relative move 0.01)" in ml


def test_outputs_that_print_the_versions_and_moved_trajectories_fail_nothing():
    execution = Execution(PAGES, PAGES, {}, [])
    versions = [*VERSIONS, Version("flax", "0.12.12", "0.12.10", True)]
    checker = Step(1, CHECK_OUT, checker_err(BANNERS))
    outcome = Outcome(
        versions, execution, Step(0, "", ""), checker, canary_report.parse_checker(checker)
    )
    assert outcome.passed
    assert "**Result: everything passed.**" in canary_report.report(outcome)
    # a finding the canary could not read (the count disagrees) fails, as does an orphan
    unread = Step(1, CHECK_OUT, checker_err(BANNERS).replace("2 problem(s)", "3 problem(s)"))
    assert not Outcome(
        versions, execution, Step(0, "", ""), unread, canary_report.parse_checker(unread)
    ).passed
    orphan = Step(1, CHECK_OUT, checker_err(BANNERS, ORPHAN))
    assert not Outcome(
        versions, execution, Step(0, "", ""), orphan, canary_report.parse_checker(orphan)
    ).passed


def test_everything_passing_says_so():
    execution = Execution(PAGES, PAGES, {}, [])
    checker = Step(0, "output check (cpu): 99 cells match their recorded outputs\n", "")
    outcome = Outcome(
        VERSIONS, execution, Step(0, "", ""), checker, canary_report.parse_checker(checker)
    )
    assert outcome.passed
    text = canary_report.report(outcome)
    assert "**Result: everything passed.**" in text and "###" not in text


def test_the_checker_runs_allowed_other_versions_and_names_the_pages_that_executed(
    tmp_path, monkeypatch
):
    from booktools.checks import environment

    assert canary.OTHER_VERSIONS == environment.OTHER_VERSIONS  # the name the checker reads
    seen = {}

    def run(command, **kwargs):
        seen.update(command=command, env=kwargs["env"])
        return SimpleNamespace(returncode=0, stdout="", stderr="")

    monkeypatch.setattr(canary.subprocess, "run", run)
    paths = Paths.at(ROOT, tmp_path / "canary")
    canary.run_checker(paths, ["book/why_jax", "book/vmap"], every_page=False)
    assert seen["env"][canary.OTHER_VERSIONS] == "canary"
    assert seen["env"]["JAXBOOK_BUILD"] == str(paths.build)
    assert seen["command"][1:5] == ["-m", "booktools.outputs", "check", "--executed"]
    assert seen["command"][-4:] == ["--page", "book/why_jax", "--page", "book/vmap"]
    canary.run_checker(paths, PAGES, every_page=True)
    assert "--page" not in seen["command"]


def test_the_issue_follows_the_last_report(tmp_path, monkeypatch):
    paths = Paths.at(ROOT, tmp_path)
    synced = []
    monkeypatch.setattr(canary.tracking_issue, "sync", lambda *a: synced.append(a) or 0)
    assert canary.update_issue(paths, "https://run/1") == 1  # no report: left alone
    assert synced == []
    canary.report_file(paths).write_text("# the report\n", encoding="utf-8")
    canary.result_file(paths).write_text(json.dumps({"passed": False}), encoding="utf-8")
    assert canary.update_issue(paths, "https://run/1") == 0
    assert synced[-1] == (canary.ISSUE, "# the report\n", True, "https://run/1")
    canary.result_file(paths).write_text(json.dumps({"passed": True}), encoding="utf-8")
    canary.update_issue(paths, "")
    assert synced[-1][2] is False  # everything passed: the issue is closed
    assert canary.ISSUE.title == "Canary: the book against the newest JAX"


def test_a_failure_dataclass_is_what_the_report_reads():
    failure = Failure(None, "", "RuntimeError: x", "report")
    execution = Execution(["book/a"], [], {"book/a": failure}, [])
    text = canary_report.report(Outcome(VERSIONS, execution, None, None, None))
    assert "| `book/a.md` | **FAILED** (a cell) | not checked |" in text
    assert "A cell failed to execute: `RuntimeError: x`" in text
    assert "Not run: no page executed." in text


def test_a_failed_page_leaves_the_others_exported_for_the_checker(tmp_path, monkeypatch):
    from booktools import build, cache

    pages = [
        SimpleNamespace(docname=name, path=ROOT / f"{name}.md", code_cells=PAGE.code_cells)
        for name in ("book/why_jax", "book/grad", "book/vmap")
    ]
    book = SimpleNamespace(executable_pages=pages, paths=Paths.at(ROOT, tmp_path / "canary"))
    stale = book.paths.executed / "book" / "old.ipynb"  # from an earlier canary run
    stale.parent.mkdir(parents=True)
    stale.write_text("{}", encoding="utf-8")
    exported = []
    monkeypatch.setattr(build, "configuration_problems", lambda book: [])
    monkeypatch.setattr(
        cache,
        "prepare",
        lambda book, pages: cache.Preparation(failed=[("book/grad.md", FAILED_REPORT)]),
    )
    monkeypatch.setattr(
        cache, "export_executed", lambda book, pages, target: exported.append((pages, target))
    )
    execution = canary.execute(book)
    assert execution.pages == ["book/why_jax", "book/grad", "book/vmap"]
    assert execution.executed == ["book/why_jax", "book/vmap"]
    assert execution.failed["book/grad"].cell == 2
    assert exported == [([pages[0], pages[2]], book.paths.executed)]
    assert not stale.exists()
