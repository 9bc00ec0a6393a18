"""Fixtures shared by the unit tests of more than one chapter or tool."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from jaxbook import flax_haiku as fh

FLAX_BATCH = 16


@pytest.fixture(scope="session")
def data():
    """The digits split the two Flax chapters train on (book/flax_haiku.md, book/flax_nnx.md)."""
    return fh.load_digits_split(seed=0)


@pytest.fixture(scope="session")
def batch(data):
    """The first training examples and labels of :func:`data`."""
    return data.x_train[:FLAX_BATCH], data.y_train[:FLAX_BATCH]


FAKE_GH = """#!{python}
import json, os, sys
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps({{"args": sys.argv[1:], "stdin": sys.stdin.read()}}) + "\\n")
if sys.argv[1:3] == ["issue", "list"]:
    print(os.environ["FAKE_GH_ISSUES"])
"""


@pytest.fixture
def fake_gh(tmp_path, monkeypatch):
    """A `gh` on the PATH that records its calls and lists the issues it is given: the tracking
    issues of the link check and the canary (booktools.tracking_issue) are tested through it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable), encoding="utf-8")
    gh.chmod(gh.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "gh.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GH_LOG", str(log))

    def calls(issues):
        monkeypatch.setenv("FAKE_GH_ISSUES", json.dumps(issues))
        return lambda: [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]

    return calls
