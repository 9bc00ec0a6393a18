"""A tiny book for booktools.provenance_ext and booktools.status_ext: one page myst-nb executes,
one it does not."""

project = "provenance"
extensions = ["myst_nb", "booktools.provenance_ext", "booktools.status_ext"]
exclude_patterns = ["_build", "tests"]
nb_execution_mode = "force"  # one print() in a fresh kernel: about a second
