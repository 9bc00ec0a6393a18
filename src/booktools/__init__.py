"""Tools that build and check the book: the strict build, the output checker, page runs.

They are not imported by the pages; the pages import :mod:`jaxbook`.

``JAXBOOK_ROOT`` points them at another book (the fault-injection tests build scratch copies),
``JAXBOOK_BUILD`` at another build folder (the canary builds beside the normal build).
"""

import os
from pathlib import Path

ROOT = Path(os.environ.get("JAXBOOK_ROOT", Path(__file__).resolve().parents[2])).resolve()
BUILD = Path(os.environ.get("JAXBOOK_BUILD", ROOT / "_build")).resolve()
