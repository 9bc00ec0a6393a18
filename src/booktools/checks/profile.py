"""A profile's settings (``cpu``, ``gpu``): the tolerances of numeric values and the streams the
checker ignores, read from ``pyproject.toml`` (``[tool.jaxbook.checker.<profile>]``), the one
place they are set; a page overrides the tolerances in its front matter, a cell in its
metadata (``output_check: {rtol: 1e-3, gpu: {rtol: 5e-2}}``)."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from booktools.records import CheckerError

STREAMS = ("stdout", "stderr")
TOLERANCES = ("rtol", "atol")


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    rtol: float
    atol: float
    ignore_streams: tuple[str, ...] = ()  # not compared, in the record or the build

    @property
    def tolerances(self) -> dict[str, float]:
        return {"rtol": self.rtol, "atol": self.atol}

    def tolerances_for(self, options: dict[str, Any], base: dict[str, float]) -> dict[str, float]:
        """``base`` with the overrides of a page's or a cell's ``output_check`` options: their
        own ``rtol``/``atol``, then those under this profile's name."""
        merged = dict(base)
        for source in (options, options.get(self.name, {}) or {}):
            for name in TOLERANCES:
                if name in source:
                    merged[name] = float(source[name])
        return merged


def read_profile(pyproject: Path, name: str) -> Profile:
    """The settings of profile ``name``; a missing or malformed setting is a
    :class:`~booktools.records.CheckerError` naming the table."""
    table = f"[tool.jaxbook.checker.{name}]"
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    try:
        values = config["tool"]["jaxbook"]["checker"][name]
    except KeyError as missing:
        raise CheckerError(f"pyproject.toml has no {table} table ({missing})") from None
    absent = [setting for setting in TOLERANCES if setting not in values]
    if absent:
        raise CheckerError(f"pyproject.toml: {table} sets no {' and no '.join(absent)}")
    try:
        rtol, atol = float(values["rtol"]), float(values["atol"])
    except (TypeError, ValueError):
        raise CheckerError(f"pyproject.toml: {table} rtol and atol must be numbers") from None
    ignored = values.get("ignore_streams", [])
    if not isinstance(ignored, list) or not set(ignored) <= set(STREAMS):
        raise CheckerError(
            f"pyproject.toml: {table} ignore_streams must be a list of stream names "
            f"({', '.join(STREAMS)}), not {ignored!r}"
        )
    return Profile(name, rtol, atol, tuple(ignored))
