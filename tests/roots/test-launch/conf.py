"""A tiny book for booktools.launch_ext: the theme's launch buttons on a notebook page."""

project = "launch"
extensions = ["myst_nb", "booktools.launch_ext"]
exclude_patterns = ["_build"]
nb_execution_mode = "off"  # the buttons need a notebook page, not its outputs
html_theme = "sphinx_book_theme"
# What Jupyter Book writes from _config.yml's repository: and launch_buttons:.
html_theme_options = {
    "repository_url": "https://github.com/jaxbook/jaxbook",
    "repository_branch": "main",
    "path_to_docs": "",
    "launch_buttons": {
        "notebook_interface": "jupyterlab",
        "binderhub_url": "https://mybinder.org",
        "colab_url": "https://colab.research.google.com",
    },
}
# _config.yml says "notebooks", the default; another name shows that the setting is read.
jaxbook_colab_branch = "colab-notebooks"
