"""Where the code ran: the device and the versions of the libraries the book teaches.

:data:`LIBRARIES` is the one list of those libraries: the build's "Where this page ran" note
(``booktools.provenance_ext``: :data:`TAUGHT`) and ``make canary`` (:data:`NEWEST_IN_CANARY`)
read it too. So that they can without loading JAX (most of a second), this module imports JAX
only to describe a device.
"""

from __future__ import annotations

import importlib.metadata
import platform
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jax


@dataclass(frozen=True)
class Library:
    """A library whose version says what a page ran with."""

    distribution: str  # the name pip installs and importlib.metadata knows
    label: str  # how a page names it
    taught: bool = True  # False: recorded, never named on a page
    canary: bool = True  # `make canary` tries its newest release (booktools.canary)


# In the order the note names them. Orbax (Flax's checkpoints) is recorded and tried at its
# newest by the canary, not named; NumPy comes with JAX: its version is recorded, not named.
LIBRARIES = (
    Library("jax", "JAX"),
    Library("jaxlib", "jaxlib"),
    Library("flax", "Flax"),
    Library("dm-haiku", "Haiku"),
    Library("optax", "Optax"),
    Library("orbax-checkpoint", "Orbax", taught=False),
    Library("numpy", "NumPy", taught=False, canary=False),
)
TAUGHT = tuple(library for library in LIBRARIES if library.taught)
NEWEST_IN_CANARY = tuple(library for library in LIBRARIES if library.canary)


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
    import jax

    # The form is jaxbook.device_names's: the output checker recognises it by the same module.
    from jaxbook.device_names import describe

    device = device or jax.devices()[0]
    kind = cpu_model() if device.platform == "cpu" else device.device_kind
    return describe(device.platform, kind)


def library_versions() -> dict[str, str]:
    """Installed versions of :data:`LIBRARIES` by distribution (``"not installed"`` if missing)."""
    versions = {}
    for library in LIBRARIES:
        try:
            versions[library.distribution] = importlib.metadata.version(library.distribution)
        except importlib.metadata.PackageNotFoundError:
            versions[library.distribution] = "not installed"
    return versions
