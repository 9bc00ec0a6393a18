"""A tiny book for booktools.bookkeeping_ext: a page whose first cell imports what hidden cells
use, as the book's pages do."""

project = "bookkeeping"
extensions = ["myst_nb", "booktools.bookkeeping_ext"]
exclude_patterns = ["_build"]
nb_execution_mode = "off"  # what the page shows of its code, not its outputs
