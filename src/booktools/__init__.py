"""Tools that build and check the book: the strict build, the output checker, page runs.

They are not imported by the pages; the pages import :mod:`jaxbook`.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "_build"
