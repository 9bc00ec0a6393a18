"""jaxbook: the code that the pages of the book import, show and run.

Each chapter ``book/<chapter>.md`` pairs with a module ``jaxbook.<chapter>``; the shared pieces
are the timing harness (:mod:`jaxbook.timing`), the plot style (:mod:`jaxbook.plotting`) and the
description of the machine a page ran on (:mod:`jaxbook.provenance`).
"""

__version__ = "0.1.0"
