"""How the book names the device a page ran on: ``cpu (AMD EPYC 7B13)``, ``cuda (NVIDIA H100)``.

:func:`jaxbook.provenance.device_description` writes names in this form and the output checker
(``booktools.records``) replaces them with ``<device>``, since they differ between machines, not
between correct and wrong outputs; both take the form from here. This module imports nothing
heavy (no JAX), so the checker can read it cheaply.
"""

from __future__ import annotations

import re

# JAX's platform names (`jax.Device.platform`) that a page may run on.
PLATFORMS = ("cpu", "cuda", "gpu", "rocm", "tpu")

# What `describe` writes, whatever the device's kind: the platform, a space, the kind in
# parentheses (a kind with parentheses or a newline in it would not match; none has them).
PATTERN = re.compile(rf"\b(?:{'|'.join(PLATFORMS)}) \([^()\n]*\)")


def describe(platform: str, kind: str) -> str:
    """A device's name in the book's form: its platform and its kind (the GPU's or CPU's model)."""
    return f"{platform} ({kind})"
