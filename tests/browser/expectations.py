"""What the browser tests expect of the site: the numbers and URLs to edit in one place."""

# The most bytes one page may transfer on a cold load (HTML, scripts, styles, images, fonts).
# About 1.5x the heaviest page measured when it was set; README.md ("Browser tests") states it.
PAGE_WEIGHT_BUDGET = 7_000_000

# The launch buttons of an executable page, by their label; ``{page}`` is e.g. ``book/jit``.
LAUNCH_URLS = {
    "Binder": "https://mybinder.org/v2/gh/jaxbook/jaxbook/main?urlpath=lab/tree/{page}.md",
    "Colab": "https://colab.research.google.com/github/jaxbook/jaxbook/blob/notebooks/{page}.ipynb",
}

# The download buttons of an executable page, relative to the site's root.
DOWNLOAD_URLS = {
    ".ipynb": "_sources/{page}.ipynb",
    ".md": "_sources/{page}.md",
}

# search.html?q=<word> must list this page among its results.
SEARCHES = {
    "vmap": "book/vmap",
    "split": "book/prng",
}
