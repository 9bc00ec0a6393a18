"""The one list of axe-core findings the browser tests accept, each with its reason.

The rule is to fix what axe finds (in ``book/_static/custom.css`` or ``_config.yml``), not to
list it here. An entry matches a violation of ``rule`` on an element whose axe selector
contains ``selector``; it is for what the site cannot fix itself.
"""

EXCEPTIONS: list[dict[str, str]] = []
