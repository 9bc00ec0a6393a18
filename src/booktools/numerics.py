"""The numerics a build ran with: what, besides the code, decides a float's last bits.

Two machines that run the same code print the same integers, shapes and PRNG draws, but a
float that comes out of a long reduction (a loss after 300 Adam steps) may differ in its last
bits, and a chaotic computation amplifies that. What decides those bits is

* the device: a CPU, or a GPU of a given model;
* on a CPU, the instruction set XLA generates code for (the machine's own, or an older one
  chosen with ``XLA_FLAGS=--xla_cpu_max_isa=...``), the CPU model (the compiler tunes vector
  widths to it) and the number of threads the process may use;
* JAX settings given in the environment (``JAX_ENABLE_X64``, ``JAX_DEFAULT_MATMUL_PRECISION``,
  ...);
* the versions of JAX and jaxlib: a new release may fuse, reorder or lower an operation
  differently (JAX 0.11 moved an ``ml_basics`` training value that 0.10 had recorded).

:func:`describe` turns those facts into a *fingerprint*, a small mapping that the output
checker stores with every record and compares with every build's: trajectory values are checked
against the record only under the numerics they were recorded with. ``python -m
booktools.numerics`` prints the fingerprint of the current environment as JSON; it imports JAX,
so the build runs it in a subprocess, as the kernels will see the device.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# XLA's CPU instruction sets, oldest first (--xla_cpu_max_isa accepts these names and a few
# AVX-512 extensions, which generate the same float code as AVX512 for this book).
X86_ISAS = ("SSE4_2", "AVX", "AVX2", "AVX512")
_CPUINFO_FLAG_OF_ISA = {"AVX512": "avx512f", "AVX2": "avx2", "AVX": "avx", "SSE4_2": "sse4_2"}
MAX_ISA_FLAG = re.compile(r"--xla_cpu_max_isa=([A-Za-z0-9_]+)")
# The libraries whose version is part of the fingerprint (XLA is in jaxlib, JAX lowers to it).
VERSIONED = ("jax", "jaxlib")
# Environment settings that change results; JAX_PLATFORMS only picks the device (seen above).
IGNORED_JAX_SETTINGS = {"JAX_PLATFORMS", "JAX_PLATFORM_NAME"}


def native_isa(cpu_flags: set[str], machine: str) -> str:
    """The newest instruction set this CPU offers XLA, e.g. ``AVX512``, or the architecture."""
    if machine.lower() in ("x86_64", "amd64", "i686", "i386"):
        for isa in reversed(X86_ISAS):
            if _CPUINFO_FLAG_OF_ISA[isa] in cpu_flags:
                return isa
        return "x86"
    return machine.lower() or "unknown"  # arm64/aarch64: XLA has one code path


def effective_isa(native: str, xla_flags: str) -> str:
    """What XLA generates code for: the native set, capped by ``--xla_cpu_max_isa``."""
    match = MAX_ISA_FLAG.search(xla_flags or "")
    if not match or native not in X86_ISAS:
        return native
    wanted = match.group(1).upper()
    if wanted.startswith("AVX512") or wanted.startswith("AMX"):
        wanted = "AVX512"
    if wanted not in X86_ISAS:
        raise ValueError(
            f"XLA_FLAGS asks for --xla_cpu_max_isa={match.group(1)}, which is not one of "
            f"{', '.join(X86_ISAS)} (or an AVX-512 extension)"
        )
    return min(native, wanted, key=X86_ISAS.index)


def jax_settings(environ: Mapping[str, str]) -> dict[str, str]:
    return {
        name: value
        for name, value in sorted(environ.items())
        if name.startswith("JAX_") and name not in IGNORED_JAX_SETTINGS
    }


def describe(
    platform_name: str,
    device_kind: str,
    environ: Mapping[str, str],
    cpu_flags: set[str],
    cpu_model: str,
    machine: str,
    threads: int,
    versions: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The fingerprint: ``{"device": "cpu", "cpu": ..., "isa": ..., "threads": ...}`` for a
    CPU, ``{"device": "gpu", "model": ...}`` for a GPU, plus the ``jax`` and ``jaxlib``
    versions (from ``versions``, by distribution) and any result-changing JAX setting."""
    if platform_name == "cpu":
        native = native_isa(cpu_flags, machine)
        isa = effective_isa(native, environ.get("XLA_FLAGS", ""))
        fingerprint: dict[str, object] = {
            "device": "cpu",
            "cpu": cpu_model,
            "isa": isa,
            "threads": threads,
        }
        if isa != native:
            # XLA_FLAGS caps only the code XLA generates: jaxlib's own kernels still choose
            # theirs by the CPU, so AVX2 code on an AVX-512 CPU is not what an AVX2 CPU
            # computes (flax_nnx's accuracy moved on one and not the other, 2026-12-06).
            fingerprint["host_isa"] = native
    else:
        fingerprint = {"device": "gpu" if platform_name in ("cuda", "rocm") else platform_name}
        fingerprint["model"] = device_kind
    for library in VERSIONED:
        if versions and library in versions:
            fingerprint[library] = versions[library]
    settings = jax_settings(environ)
    if settings:
        fingerprint["jax_settings"] = settings
    return fingerprint


def label(fingerprint: Mapping[str, object]) -> str:
    """A short human name: ``cpu AVX512, 2 threads (AMD EPYC)``, ``cpu AVX2 on an AVX512 CPU,
    2 threads (AMD EPYC)`` (XLA capped) or ``gpu (NVIDIA H200)``."""
    if fingerprint.get("device") == "cpu":
        host = f" on an {fingerprint['host_isa']} CPU" if fingerprint.get("host_isa") else ""
        text = (
            f"cpu {fingerprint.get('isa')}{host}, {fingerprint.get('threads')} thread"
            f"{'s' if fingerprint.get('threads') != 1 else ''} ({fingerprint.get('cpu')})"
        )
    else:
        text = f"{fingerprint.get('device')} ({fingerprint.get('model')})"
    if fingerprint.get("jax"):
        text += f", JAX {fingerprint['jax']}"
        if fingerprint.get("jaxlib") not in (None, fingerprint["jax"]):
            text += f" (jaxlib {fingerprint['jaxlib']})"
    settings = fingerprint.get("jax_settings") or {}
    if settings:
        text += " with " + ", ".join(f"{k}={v}" for k, v in settings.items())
    return text


def profile(fingerprint: Mapping[str, object]) -> str:
    """The checker profile of a fingerprint: ``cpu`` (also when unknown) or ``gpu``."""
    return "cpu" if fingerprint.get("device", "cpu") == "cpu" else "gpu"


# --------------------------------------------------------------------------- this machine


def cpu_flags_and_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[set[str], str]:
    flags: set[str] = set()
    model = ""
    try:
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            elif line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return flags, model or platform.processor() or platform.machine()


def thread_count() -> int:
    """The cores this process may run on (``taskset`` narrows it), as XLA's thread pool sees."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def current() -> dict[str, object]:
    """This process's fingerprint (imports JAX: use :func:`probe` from the build)."""
    import jax

    from jaxbook.provenance import library_versions

    device = jax.devices()[0]
    flags, model = cpu_flags_and_model()
    return describe(
        device.platform,
        device.device_kind,
        os.environ,
        flags,
        model,
        platform.machine(),
        thread_count(),
        library_versions(),
    )


def probe(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The fingerprint the kernels of a build will have, measured in a subprocess with the
    build's Python and environment (so the build process never initialises a GPU)."""
    result = subprocess.run(
        [sys.executable, "-m", "booktools.numerics"],
        env=dict(os.environ if environ is None else environ),
        capture_output=True,
        text=True,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or not lines:
        raise RuntimeError(
            "could not measure the numerics of this environment "
            f"(`python -m booktools.numerics` exited with {result.returncode}):\n"
            f"{result.stderr.strip()[-3000:]}"
        )
    return json.loads(lines[-1])


def main() -> int:
    try:
        print(json.dumps(current(), sort_keys=True))
    except ValueError as error:
        print(f"numerics: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
