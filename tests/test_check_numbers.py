"""Printed text compared number by number (booktools.checks.numbers)."""

from booktools.checks import numbers
from booktools.checks.numbers import compare_text, number_moves, same_form


def test_numbers_within_tolerance_match():
    assert compare_text("loss 1.0000", "loss 1.00001", rtol=1e-4, atol=0) is None


def test_a_number_beyond_tolerance_is_marked():
    why = compare_text("a 1.0 b 2.0", "a 1.0 b 2.1", rtol=1e-4, atol=1e-6)
    assert why is not None
    assert ">>>2.0<<<" in why and ">>>2.1<<<" in why and "number 2" in why


def test_realigned_arrays_match_but_changed_words_do_not():
    assert compare_text("[ 6. 10.]", "[6. 10.]", rtol=0, atol=0) is None
    assert (
        compare_text("Array([1.], dtype=float32)", "Array([1.], dtype=float64)", rtol=1, atol=1)
        is not None
    )


def test_nan_equals_nan_only():
    assert compare_text("nan", "nan", rtol=0, atol=0) is None
    assert compare_text("nan", "1.0", rtol=0, atol=0) is not None


def test_digits_inside_names_are_not_numbers():
    assert compare_text("float32", "float16", rtol=1, atol=1) is not None


def test_integers_are_compared_exactly_floats_within_tolerance():
    assert compare_text("n = 1000", "n = 1001", rtol=1e-2, atol=1) is not None
    assert compare_text("x = 1000.0", "x = 1001.0", rtol=1e-2, atol=0) is None


def test_moves_are_relative_to_the_record():
    assert same_form("acc 0.5 loss 2.0", "acc 0.6 loss 2.0")
    assert number_moves("acc 0.5 loss 2.0", "acc 0.6 loss 2.0") == [
        ("0.5", "0.6", 0.19999999999999996)
    ]


def test_every_number_that_moved_is_marked_in_both_texts():
    assert numbers.mark_moves("a 1.0 b 2.0 c 3", "a 1.5 b 2.0 c 4") == (
        "a >>>1.0<<< b 2.0 c >>>3<<<",
        "a >>>1.5<<< b 2.0 c >>>4<<<",
    )
