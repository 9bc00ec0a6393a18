"""A tiny book for booktools.html_fixes_ext: the book's theme and the extensions it fixes."""

project = "html-fixes"
extensions = [
    "sphinx_exercise",
    "sphinx_togglebutton",  # adds an inline script after the builder started (listed twice)
    "booktools.html_fixes_ext",
    "sphinx-mathjax-offline",
]
html_theme = "sphinx_book_theme"
exclude_patterns = ["_build"]
