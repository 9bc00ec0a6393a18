"""What legitimately differs between runs and machines, taken out of every output the output
checker reads (:mod:`booktools.records`) before it is checked or recorded: the book's folder
(``<root>``) and the Python environment (``<env>``), the longest path first so the result does
not depend on ``PYTHONHASHSEED``; device names (``CpuDevice(id=0)``, and the form
:func:`jaxbook.provenance.device_description` prints, :mod:`jaxbook.device_names`); object
addresses; trailing spaces.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from jaxbook import device_names

_NORMALISERS: list[tuple[re.Pattern[str], str]] = [
    # Device names differ between machines, not between correct and wrong outputs.
    (re.compile(r"\b(?:Cpu|Cuda|Gpu|Rocm|Tpu)Device\(id=(\d+)\)"), r"Device(id=\1)"),
    (re.compile(r"\b(?:cpu|cuda|gpu|rocm|tpu)\(id=(\d+)\)"), r"device(id=\1)"),
    (re.compile(r"\bTFRT_CPU_(\d+)\b"), r"device_\1"),
    (device_names.PATTERN, "<device>"),  # jaxbook.provenance.device_description()
    # Object addresses change on every run.
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "0x…"),
]


def _path_replacements(root: Path) -> list[tuple[str, str]]:
    """Build paths and their placeholders, longest first: a virtual environment inside the
    repository is ``<env>``, not ``<root>/.venv``, whatever the order of a set would be."""
    paths = {str(Path(sys.prefix)): "<env>", str(root): "<root>"}
    return sorted(paths.items(), key=lambda item: len(item[0]), reverse=True)


def normalise(text: str, root: Path) -> str:
    """Remove what legitimately differs between runs and machines (the book's folder ``root``,
    the Python environment, device names, addresses); strip trailing spaces."""
    for path, placeholder in _path_replacements(root):
        text = text.replace(path, placeholder)
    for pattern, replacement in _NORMALISERS:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.splitlines())
