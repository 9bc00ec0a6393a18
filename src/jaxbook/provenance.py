"""Where the code ran: the device and the versions of the libraries the book teaches."""

from __future__ import annotations

import importlib.metadata
import platform
from functools import cache

import jax

LIBRARIES = ("jax", "jaxlib", "flax", "dm-haiku", "optax", "numpy")


@cache
def cpu_model() -> str:
    """The CPU's marketing name, e.g. ``AMD EPYC 7B13``; ``platform.processor()`` as a fallback."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_description(device: jax.Device | None = None) -> str:
    """A human name for a device: the GPU's model, or ``cpu (<model>)``."""
    # The form is jaxbook.device_names's: the output checker recognises it by the same module.
    from jaxbook.device_names import describe

    device = device or jax.devices()[0]
    kind = cpu_model() if device.platform == "cpu" else device.device_kind
    return describe(device.platform, kind)


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries the book teaches (``"not installed"`` if missing)."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
