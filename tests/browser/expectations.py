"""What the browser tests expect of the site: the numbers and URLs to edit in one place."""

# The most bytes one page may transfer on a cold load (HTML, scripts, styles, images, fonts).
# Issue #19 set it; README.md ("Browser tests") states it with each page's weight.
PAGE_WEIGHT_BUDGET = 2_500_000

# The most bytes of the theme's icons (Font Awesome: script and fonts) one page may load.
ICON_BUDGET = 40_000

# The launch buttons of an executable page, by their label; ``{page}`` is e.g. ``book/jit``.
LAUNCH_URLS = {
    "Binder": "https://mybinder.org/v2/gh/jaxbook/jaxbook/notebooks?urlpath=lab/tree/{page}.ipynb",
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
