"""Every figure a reader sees has alt text.

The rule, :func:`lacks_alt_text`, is shared by the two places that apply it: here, to the
figures that code cells show (their alt text is the cell's ``mystnb: {image: {alt: ...}}``
metadata, checked after every build), and ``tests/browser/sitecheck.py``, to every ``<img>`` of
the rendered site (its ``alt`` attribute; an image marked decorative is exempt there).
"""

from __future__ import annotations

from typing import Any

from booktools.records import ExecutedPage

IMAGE_TYPES = "image/"  # the MIME types of a figure: image/png, image/svg+xml


def lacks_alt_text(alt: str | None) -> bool:
    """Alt text that is absent or blank describes nothing."""
    return not (alt or "").strip()


def shows_figure(output: dict[str, Any]) -> bool:
    """An output (as recorded, :func:`booktools.records.summarise_outputs`) that is a figure."""
    return "display" in output and any(m.startswith(IMAGE_TYPES) for m in output["display"])


def check_alt_text(page: ExecutedPage) -> list[str]:
    """Cells that show a figure without alt text."""
    return [
        f"{page.source}, cell {cell.index} [{cell.key}] `{cell.first_line}`: a figure without "
        "alt text; add `mystnb: {image: {alt: ...}}` to the cell's metadata"
        for cell in page.cells
        if any(shows_figure(o) for o in cell.outputs) and lacks_alt_text(cell.alt_text)
    ]
