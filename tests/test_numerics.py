"""The numerics fingerprint and the numerics matrix's variants, without executing a page."""

import pytest

from booktools import numerics, numerics_matrix

AVX512_FLAGS = {"sse4_2", "avx", "avx2", "avx512f"}


def describe(**overrides):
    facts = dict(
        platform_name="cpu",
        device_kind="cpu",
        environ={},
        cpu_flags=AVX512_FLAGS,
        cpu_model="AMD EPYC",
        machine="x86_64",
        threads=2,
    )
    facts.update(overrides)
    return numerics.describe(**facts)


def test_a_cpu_fingerprint_names_the_instruction_set_threads_and_model():
    assert describe() == {"device": "cpu", "cpu": "AMD EPYC", "isa": "AVX512", "threads": 2}


@pytest.mark.parametrize(
    ("flags", "isa"),
    [
        ("--xla_cpu_max_isa=SSE4_2", "SSE4_2"),
        ("--xla_cpu_max_isa=avx2 --xla_force_host_platform_device_count=2", "AVX2"),
        ("--xla_cpu_max_isa=AVX512_BF16", "AVX512"),  # an extension: the same float code
        ("", "AVX512"),
    ],
)
def test_xla_flags_cap_the_instruction_set(flags, isa):
    assert describe(environ={"XLA_FLAGS": flags})["isa"] == isa


def test_a_cap_above_the_cpu_changes_nothing():
    fingerprint = describe(environ={"XLA_FLAGS": "--xla_cpu_max_isa=AVX512"}, cpu_flags={"avx2"})
    assert fingerprint["isa"] == "AVX2" and "host_isa" not in fingerprint


def test_capped_code_on_a_newer_cpu_is_not_that_older_cpu():
    # jaxlib's own kernels follow the CPU, not XLA_FLAGS: AVX2 code on an AVX-512 CPU and an
    # AVX2 CPU are different numerics, so trajectory values recorded on one are not checked on
    # the other.
    capped = describe(environ={"XLA_FLAGS": "--xla_cpu_max_isa=AVX2"})
    avx2_cpu = describe(cpu_flags={"avx2", "avx", "sse4_2"})
    assert capped["isa"] == avx2_cpu["isa"] == "AVX2"
    assert capped["host_isa"] == "AVX512" and capped != avx2_cpu
    assert numerics.label(capped) == "cpu AVX2 on an AVX512 CPU, 2 threads (AMD EPYC)"
    assert numerics.label(avx2_cpu) == "cpu AVX2, 2 threads (AMD EPYC)"


def test_an_unknown_instruction_set_is_an_error():
    with pytest.raises(ValueError, match="SSE9"):
        describe(environ={"XLA_FLAGS": "--xla_cpu_max_isa=SSE9"})


def test_arm_has_one_code_path():
    assert describe(machine="arm64", cpu_flags=set())["isa"] == "arm64"


def test_result_changing_jax_settings_are_part_of_it_but_not_the_platform_choice():
    fingerprint = describe(environ={"JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu"})
    assert fingerprint["jax_settings"] == {"JAX_ENABLE_X64": "1"}
    assert "JAX_ENABLE_X64=1" in numerics.label(fingerprint)


def test_a_gpu_fingerprint_names_the_model_and_picks_the_gpu_profile():
    fingerprint = describe(platform_name="cuda", device_kind="NVIDIA H200")
    assert fingerprint == {"device": "gpu", "model": "NVIDIA H200"}
    assert numerics.profile(fingerprint) == "gpu"
    assert numerics.label(fingerprint) == "gpu (NVIDIA H200)"
    assert numerics.profile(describe()) == "cpu"


def test_the_jax_and_jaxlib_versions_are_part_of_it():
    versions = {"jax": "0.11.2", "jaxlib": "0.11.2", "flax": "0.12.10"}
    fingerprint = describe(versions=versions)
    assert fingerprint["jax"] == fingerprint["jaxlib"] == "0.11.2"
    assert "flax" not in fingerprint  # only what decides the numbers
    assert fingerprint != describe(versions={**versions, "jax": "0.12.0"})
    assert numerics.label(fingerprint) == "cpu AVX512, 2 threads (AMD EPYC), JAX 0.11.2"
    other = describe(
        platform_name="cuda", device_kind="NVIDIA H200", versions={**versions, "jaxlib": "0.11.1"}
    )
    assert numerics.label(other) == "gpu (NVIDIA H200), JAX 0.11.2 (jaxlib 0.11.1)"


def test_label_of_a_one_thread_cpu():
    assert numerics.label(describe(threads=1)) == "cpu AVX512, 1 thread (AMD EPYC)"


def test_this_machine_has_a_fingerprint(tmp_path):
    flags, model = numerics.cpu_flags_and_model(tmp_path / "no-cpuinfo")
    assert flags == set() and model
    assert numerics.thread_count() >= 1


def test_variants_set_the_instruction_set_and_the_threads():
    sse = numerics_matrix.parse_variant("SSE4_2")
    env = sse.environment({"XLA_FLAGS": "--xla_cpu_max_isa=AVX2 --other=1"})
    assert env["XLA_FLAGS"] == "--other=1 --xla_cpu_max_isa=SSE4_2"
    native = numerics_matrix.parse_variant("native")
    assert "XLA_FLAGS" not in native.environment({"XLA_FLAGS": "--xla_cpu_max_isa=AVX2"})
    one = numerics_matrix.parse_variant("threads1")
    assert one.threads == 1 and len(one.affinity()) == 1
    with pytest.raises(SystemExit, match="unknown variant"):
        numerics_matrix.parse_variant("fast")
