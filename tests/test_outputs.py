"""The output checker's comparisons, on their own (the fault suite drives it end to end)."""

import pytest

from booktools import outputs


def test_numbers_within_tolerance_match():
    assert outputs.compare_text("loss 1.0000", "loss 1.00001", rtol=1e-4, atol=0) is None


def test_a_number_beyond_tolerance_is_marked():
    why = outputs.compare_text("a 1.0 b 2.0", "a 1.0 b 2.1", rtol=1e-4, atol=1e-6)
    assert why is not None
    assert ">>>2.0<<<" in why and ">>>2.1<<<" in why and "number 2" in why


def test_realigned_arrays_match_but_changed_words_do_not():
    assert outputs.compare_text("[ 6. 10.]", "[6. 10.]", rtol=0, atol=0) is None
    assert (
        outputs.compare_text(
            "Array([1.], dtype=float32)", "Array([1.], dtype=float64)", rtol=1, atol=1
        )
        is not None
    )


def test_nan_equals_nan_only():
    assert outputs.compare_text("nan", "nan", rtol=0, atol=0) is None
    assert outputs.compare_text("nan", "1.0", rtol=0, atol=0) is not None


def test_digits_inside_names_are_not_numbers():
    assert outputs.compare_text("float32", "float16", rtol=1, atol=1) is not None


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("{CpuDevice(id=0)}", "{Device(id=0)}"),
        ("{CudaDevice(id=0)}", "{Device(id=0)}"),
        ("<Foo at 0x7f32c06c33d0>", "<Foo at 0x…>"),
        ("JAX on cpu (AMD EPYC 7B13)", "JAX on <device>"),
        ("ran on cuda (NVIDIA H100 80GB HBM3)", "ran on <device>"),
    ],
)
def test_normalise(raw, normal):
    assert outputs.normalise(raw) == normal


def test_only_the_first_stream_of_a_name_counts():
    # myst-nb merges a cell's streams into the first one, in place, and leaves the others.
    cell_outputs = [
        {"output_type": "stream", "name": "stdout", "text": "a\nb\n"},
        {"output_type": "stream", "name": "stdout", "text": "b\n"},
        {"output_type": "error", "ename": "ValueError", "evalue": "bad\nmore", "traceback": []},
    ]
    assert outputs.summarise_outputs(cell_outputs) == [
        {"stream": "stdout", "text": "a\nb"},
        {"error": "ValueError", "message": "bad"},
    ]


def test_volatile_records_mask_numbers_units_and_spacing():
    masked = outputs._mask("selu:   1.23 ms ± 45 µs over 7 runs")
    assert masked == "selu: #s ± #s over # runs"


def test_claims_may_use_a_few_builtins():
    page = outputs.Page(
        "book/x", {"claims": ["abs(a - 1) < 0.1", "b > 2"]}, [], {"a": "1.05", "b": "1.0"}
    )
    assert outputs.check_claims(page) == ["claim `b > 2` does not hold on this device: b=1.0"]


def test_normalisation_is_the_same_under_every_hash_seed(tmp_path):
    # A virtual environment inside the repository: the longer path must be replaced first.
    import subprocess
    import sys

    from booktools import ROOT

    code = (
        "import sys; from booktools import outputs; "
        f"print(outputs.normalise({str(sys.prefix)!r} + '/lib/x.py ' + {str(ROOT)!r} + '/src'))"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": str(seed), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in range(8)
    }
    assert seen == {"<env>/lib/x.py <root>/src"}


def test_integers_are_compared_exactly_floats_within_tolerance():
    assert outputs.compare_text("n = 1000", "n = 1001", rtol=1e-2, atol=1) is not None
    assert outputs.compare_text("x = 1000.0", "x = 1001.0", rtol=1e-2, atol=0) is None


def numeric_cell(text, kind="numeric", covered_by=None):
    options = {"kind": kind, **({"covered_by": covered_by} if covered_by else {})}
    return outputs.Cell(
        "k", 1, "print(x)", [{"stream": "stdout", "text": text}], kind, options, False
    )


RECORDED = [{"stream": "stdout", "text": "accuracy 97.8%"}]


def test_exact_values_allow_no_move_at_all():
    problems, _ = outputs.compare_cell(
        RECORDED, numeric_cell("accuracy 97.80001%", "exact"), {"rtol": 1, "atol": 1}, "cpu"
    )
    assert problems and "number 1 differs" in problems[0]


def test_a_trajectory_value_is_checked_under_its_own_numerics_and_reported_elsewhere():
    tight = {"rtol": 1e-4, "atol": 1e-6}
    cell = numeric_cell("accuracy 97.6%", "trajectory", ["acc"])
    problems, moves = outputs.compare_cell(RECORDED, cell, tight, "cpu", same_numerics=True)
    assert problems and not moves
    problems, moves = outputs.compare_cell(RECORDED, cell, tight, "cpu", same_numerics=False)
    assert not problems and moves == [("97.8", "97.6", pytest.approx(0.2 / 97.8))]
    # Elsewhere its form is still checked: other words are a failure, not a move.
    changed = numeric_cell("loss 97.6%", "trajectory", ["acc"])
    problems, _ = outputs.compare_cell(RECORDED, changed, tight, "cpu", same_numerics=False)
    assert problems and "text differs" in problems[0]


def page_with(cells=(), glue=None, claims=(), **options):
    metadata = {"output_check": options, "claims": list(claims)}
    return outputs.Page("book/x", metadata, list(cells), glue or {}, {"device": "cpu"})


def test_kinds_that_name_nothing_or_lack_a_claim_are_errors():
    page = page_with(
        glue={"acc": "0.97", "loss": "0.1"},
        claims=["acc > 0.9"],
        trajectory=["acc", "loss", "ghost"],
        speed=["acc"],
    )
    problems = "\n".join(outputs.kind_problems(page))
    assert "unknown entries ['speed']" in problems
    assert "`ghost` as trajectory, but the page glued no value" in problems
    assert "`loss` is a trajectory value, but no claim covers it" in problems
    assert "`acc`" not in problems.replace("claimed: ['acc']", "")


def test_a_trajectory_cell_must_name_claimed_values_and_kinds_must_be_known():
    covered = numeric_cell("acc 1", "trajectory", ["acc"])
    bare = numeric_cell("acc 1", "trajectory")
    odd = numeric_cell("acc 1", "fuzzy")
    page = page_with([covered], glue={"acc": "1"}, claims=["acc > 0"])
    assert outputs.kind_problems(page) == []
    page = page_with([bare, odd], glue={"acc": "1"}, claims=["acc > 0"])
    problems = outputs.kind_problems(page)
    assert "needs `covered_by" in problems[0] and "claimed: ['acc']" in problems[0]
    assert "unknown output kind `fuzzy`" in problems[1]


def test_a_record_of_an_unknown_kind_is_malformed(tmp_path):
    path = tmp_path / "x.yml"
    path.write_text("cells: [{key: a, kind: fuzzy, outputs: []}]\n", encoding="utf-8")
    with pytest.raises(outputs.CheckerError, match="unknown kind `fuzzy`.*make golden"):
        outputs.load_golden(path)


def test_claim_names_are_the_values_a_claim_reads():
    assert outputs.claim_names("abs(acc_a - acc_b) < 0.03 and n == 4") == {"acc_a", "acc_b", "n"}


def test_every_number_that_moved_is_marked_in_both_texts():
    assert outputs.mark_moves("a 1.0 b 2.0 c 3", "a 1.5 b 2.0 c 4") == (
        "a >>>1.0<<< b 2.0 c >>>3<<<",
        "a >>>1.5<<< b 2.0 c >>>4<<<",
    )
