"""A page's claims over its glued values (booktools.checks.claims)."""

import dataclasses

from checkers import page_with

from booktools.checks.claims import check_claims, claim_names


def test_claims_may_use_a_few_builtins():
    page = page_with(glue={"a": "1.05", "b": "1.0"}, claims=["abs(a - 1) < 0.1", "b > 2"])
    assert check_claims(page) == ["book/x.md: claim `b > 2` does not hold on this device: b=1.0"]


def test_a_claim_on_a_value_not_glued_or_not_python_is_a_problem_not_a_crash():
    page = page_with(glue={"a": "1"}, claims=["ghost > 1", "a >", "a > 'x'"])
    problems = check_claims(page)
    assert "claim `ghost > 1` names a value the page did not glue" in problems[0]
    assert problems[1] == "book/x.md: claim `a >` is not a Python expression"
    assert "claim `a > 'x'` cannot be evaluated (TypeError" in problems[2]


def test_claim_names_are_the_values_a_claim_reads():
    assert claim_names("abs(acc_a - acc_b) < 0.03 and n == 4") == {"acc_a", "acc_b", "n"}


def test_a_claim_scoped_to_a_device_kind_is_asserted_on_that_kind_only():
    claims = ["a > 0", {"cpu": "fwd_over_rev > 1"}, {"gpu": "fwd_over_rev < 5"}]
    glue = {"a": "1", "fwd_over_rev": "0.9"}
    on_cpu = page_with(glue=glue, claims=claims)
    assert on_cpu.claims == ["a > 0", "fwd_over_rev > 1"]
    assert check_claims(on_cpu) == [
        "book/x.md: claim `fwd_over_rev > 1` does not hold on this device: fwd_over_rev=0.9"
    ]
    on_gpu = dataclasses.replace(on_cpu, numerics={"device": "gpu", "model": "NVIDIA H200"})
    assert on_gpu.claims == ["a > 0", "fwd_over_rev < 5"]
    assert check_claims(on_gpu) == []


def test_a_claim_scoped_to_an_unknown_kind_is_a_problem_not_silently_dropped():
    page = page_with(glue={"a": "1"}, claims=[{"gpus": "a > 0"}, ["a > 0"]])
    assert check_claims(page) == [
        "book/x.md: claim {'gpus': 'a > 0'} is scoped to gpus, which is not a device kind "
        "(cpu, gpu)",
        "book/x.md: claim ['a > 0'] is not a Python expression",
    ]
