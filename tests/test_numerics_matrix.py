"""Two sets of records compared by the checker's rules (booktools.record_comparison, which
`python -m booktools.numerics_matrix --compare` runs): the measurement behind a profile's
tolerance."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from booktools import numerics_matrix
from booktools import record_comparison as rc


def record(cells, glue=None):
    return {
        "numerics": {},
        "cells": [
            {"key": key, "source": f"print({key})", "outputs": [{"stream": "stdout", "text": text}]}
            | ({"kind": kind} if kind != "numeric" else {})
            for key, text, kind in cells
        ],
        "glue": glue or {},
    }


CPU = record(
    [
        ("banner", "JAX 0.10.2 on <device> | NumPy 2.4.6", "numeric"),
        ("loss", "loss 2.5528343 after 3 steps", "numeric"),
        ("tiny", "residual 1e-08", "numeric"),
        ("error", "Gradient only defined for scalar-output functions.", "numeric"),
        ("count", "operations traced: 31", "numeric"),
        ("acc", "accuracy 97.8%", "trajectory"),
        ("draw", "0.12345678", "exact"),
    ],
    {"initial_loss": "2.5528342723846436", "acc": "0.978", "step_us": "#"},
)
GPU = record(
    [
        ("banner", "JAX 0.11.2 on <device> | NumPy 2.5.2", "numeric"),
        ("loss", "loss 2.5528574 after 3 steps", "numeric"),
        ("tiny", "residual 3e-08", "numeric"),
        ("error", "Gradient only defined for scalar-output functions. To get it...", "numeric"),
        ("count", "operations traced: 12", "numeric"),
        ("acc", "accuracy 97.6%", "trajectory"),
        ("draw", "0.12345679", "exact"),
    ],
    {"initial_loss": "2.5528573989868164", "acc": "0.976", "step_us": "#"},
)
FRONT_MATTER = {"book/x": {"output_check": {"trajectory": ["acc"], "volatile": ["step_us"]}}}


def test_only_numeric_floats_are_measured_and_the_rest_is_named():
    comparison = rc.compare_records({"book/x": CPU}, {"book/x": GPU}, FRONT_MATTER)
    assert comparison.pages == ["book/x"]
    assert comparison.left_out == {"trajectory": 2, "exact": 1, "volatile": 1}
    assert comparison.versions == [
        "book/x.md, cell 1 [banner] `print(banner)`: 0.10.2 → 0.11.2",
        "book/x.md, cell 1 [banner] `print(banner)`: 2.4.6 → 2.5.2",
    ]
    assert comparison.differences == [
        "book/x.md, cell 4 [error] `print(error)`: the text differs",
        "book/x.md, cell 5 [count] `print(count)`: integer 31 → 12",
    ]
    assert [str(m) for m in comparison.moves] == [
        "book/x.md, cell 2 [loss] `print(loss)`: 2.5528343 → 2.5528574",
        "book/x.md, cell 3 [tiny] `print(tiny)`: 1e-08 → 3e-08",
        "book/x.md, glued value `initial_loss`: 2.5528342723846436 → 2.5528573989868164",
    ]


def test_the_tolerances_keep_a_margin_over_the_largest_move_and_cover_values_near_zero():
    loss = rc.Move("book/x.md", "cell 2", "2.5528342723846436", "2.5528573989868164")
    residual = rc.Move("book/x.md", "cell 3", "1e-08", "3e-08")  # near zero: atol's business
    comparison = rc.RecordComparison(moves=[loss, residual])
    assert comparison.largest() == residual and comparison.largest(atol=1e-6) == loss
    assert loss.relative == pytest.approx(9.06e-6, rel=1e-2)
    # 25 x 9.06e-6 = 2.3e-4, up to one digit: 3e-4; the residual stays within atol 1e-6.
    assert comparison.tolerances() == {"rtol": 3e-4, "atol": 1e-6}
    # A small value that moved more than atol sets rtol like any other.
    jump = rc.Move("book/x.md", "cell 4", "0.001", "0.0011")
    assert rc.RecordComparison(moves=[loss, jump]).tolerances() == {"rtol": 3.0, "atol": 1e-6}
    assert rc._one_digit_up(9.5e-5) == 1e-4 and rc._one_digit_up(3.2e-3) == 4e-3


def test_records_are_read_from_a_folder_or_a_commit(tmp_path, capsys, monkeypatch):
    for folder, data in (("tests/golden", CPU), ("tests/golden/gpu", GPU)):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "x.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "x.md").write_text(
        "---\n" + yaml.safe_dump(FRONT_MATTER["book/x"]) + "---\n# x\n", encoding="utf-8"
    )

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "records")
    (tmp_path / "tests" / "golden" / "x.yml").write_text(yaml.safe_dump(GPU), encoding="utf-8")
    assert rc.read_records(tmp_path, "HEAD:tests/golden") == {"book/x": CPU}
    assert rc.read_records(tmp_path, "tests/golden") == {"book/x": GPU}
    monkeypatch.setenv("JAXBOOK_ROOT", str(tmp_path))
    assert (
        numerics_matrix.main(
            ["--compare", "HEAD:tests/golden", "tests/golden/gpu", "--pages-at", "HEAD"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("records HEAD:tests/golden → tests/golden/gpu: 1 page(s) in both\n")
    assert "left out by kind: 1 exact, 2 trajectory, 1 volatile" in out
    assert (
        "largest relative move of a value that moved more than 1e-06: 9.1e-06 (book/x.md, glued "
        "value `initial_loss`: 2.5528342723846436 → 2.5528573989868164)" in out
    )
    assert "with a 25x margin: rtol 0.0003, atol 1e-06" in out
