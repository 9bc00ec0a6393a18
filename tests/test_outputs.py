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
