"""The canary upgrades exactly the libraries that jaxbook.provenance says the book teaches."""

from __future__ import annotations

import subprocess
from pathlib import Path

from booktools import canary
from jaxbook.provenance import TAUGHT

ROOT = Path(__file__).resolve().parents[1]


def test_the_canary_lists_the_libraries_the_book_teaches(capsys):
    assert canary.main(["--list"]) == 0
    assert capsys.readouterr().out.split() == [library.distribution for library in TAUGHT]


def test_make_canary_upgrades_what_the_canary_lists():
    recipe = subprocess.run(
        ["make", "--dry-run", "canary"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "-m booktools.canary --list" in recipe
    upgrade = recipe[recipe.index("--upgrade") :].split("\n")[0]
    assert not [library for library in TAUGHT if library.distribution in upgrade.split()]
