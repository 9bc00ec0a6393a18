"""The environment against the pins: one error listing every difference, never a failure per
version banner; the recorder refuses; the canary checks other versions on purpose."""

import pytest

from booktools import outputs
from booktools.book import Paths
from booktools.checks.environment import (
    OTHER_VERSIONS,
    pin_differences,
    require_pinned_environment,
)
from booktools.records import CheckerError

PINS = "jax==0.11.2\njaxlib==0.11.2\nflax==0.12.10  # a comment\npytest==9.2.0\n"
READER = "# the reader's packages\njax\njaxlib\nflax\nscipy  # pinned nowhere: lock check's job\n"
PINNED = {"jax": "0.11.2", "jaxlib": "0.11.2", "flax": "0.12.10", "pytest": "1.0"}


@pytest.fixture
def paths(tmp_path):
    (tmp_path / "requirements.txt").write_text(PINS, encoding="utf-8")
    (tmp_path / "requirements-reader.in").write_text(READER, encoding="utf-8")
    return Paths.at(tmp_path)


def versions(**changed):
    table = {**PINNED, **{k.replace("_", "-"): v for k, v in changed.items()}}
    return lambda name: table.get(name, "not installed")


def test_the_pinned_environment_has_no_difference(paths):
    assert pin_differences(paths, versions()) == []
    assert require_pinned_environment(paths, "nothing checked", {}, versions()) is None


def test_only_the_libraries_the_pages_run_on_are_compared(paths):
    # pytest is pinned but not a reader's library: another version of it changes no output
    assert pin_differences(paths, versions(pytest="8.0")) == []


def test_each_difference_is_listed_once_in_one_error(paths):
    other = versions(jax="0.12.0.1", jaxlib="0.12.0.1", flax="not installed")
    assert pin_differences(paths, other) == [
        "jax 0.12.0.1 (requirements.txt pins 0.11.2)",
        "jaxlib 0.12.0.1 (requirements.txt pins 0.11.2)",
        "flax not installed (requirements.txt pins 0.12.10)",
    ]
    with pytest.raises(CheckerError) as error:
        require_pinned_environment(paths, "nothing checked", {}, other)
    message = str(error.value)
    assert message.startswith("nothing checked: the installed libraries are not")
    assert message.count("requirements.txt pins") == 3
    assert "make canary" in message


def test_the_canary_checks_other_versions_on_purpose_but_never_records(paths):
    other = versions(jax="0.12.0.1")
    note = require_pinned_environment(paths, "nothing checked", {OTHER_VERSIONS: "canary"}, other)
    assert note.startswith("canary: checking under other versions")
    assert "jax 0.12.0.1" in note
    with pytest.raises(CheckerError, match="nothing recorded"):
        require_pinned_environment(paths, "nothing recorded", {OTHER_VERSIONS: "canary"}, other)


def test_without_the_readers_list_the_check_says_what_is_missing(tmp_path):
    (tmp_path / "requirements.txt").write_text(PINS, encoding="utf-8")
    with pytest.raises(CheckerError, match="requirements-reader.in is missing"):
        pin_differences(Paths.at(tmp_path), versions())


def test_the_command_stops_before_checking_or_recording(paths, monkeypatch, capsys):
    monkeypatch.setenv("JAXBOOK_ROOT", str(paths.root))
    monkeypatch.delenv(OTHER_VERSIONS, raising=False)
    monkeypatch.setattr("booktools.checks.environment.installed_version", versions(jax="0.12.0.1"))
    for command in ("check", "record"):
        assert outputs.main([command]) == 2
        err = capsys.readouterr().err
        assert "jax 0.12.0.1 (requirements.txt pins 0.11.2)" in err
        assert err.count("output check: ERROR") == 1
