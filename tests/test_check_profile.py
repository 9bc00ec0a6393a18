"""A profile's settings from pyproject.toml (booktools.checks.profile)."""

import pytest

from booktools.book import Paths
from booktools.checks.profile import Profile, read_profile
from booktools.records import CheckerError


def test_the_books_profiles():
    pyproject = Paths.from_environment().pyproject
    cpu, gpu = read_profile(pyproject, "cpu"), read_profile(pyproject, "gpu")
    assert cpu.ignore_streams == () and cpu.rtol == 1e-4
    # GPU runtimes log to stderr while compiling: not the page's output.
    assert gpu.ignore_streams == ("stderr",)


def write(tmp_path, table):
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[tool.jaxbook.checker.gpu]\n{table}\n", encoding="utf-8")
    return path


def test_ignored_streams_are_read_like_the_tolerances(tmp_path):
    path = write(tmp_path, 'rtol = 1e-2\natol = 0\nignore_streams = ["stdout", "stderr"]')
    assert read_profile(path, "gpu") == Profile("gpu", 1e-2, 0.0, ("stdout", "stderr"))
    assert read_profile(write(tmp_path, "rtol = 1e-2\natol = 0"), "gpu").ignore_streams == ()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('rtol = 1\natol = 0\nignore_streams = "stderr"', "ignore_streams must be a list"),
        ('rtol = 1\natol = 0\nignore_streams = ["logs"]', "stream names \\(stdout, stderr\\)"),
        ("rtol = 1", r"\[tool.jaxbook.checker.gpu\] sets no atol"),
        ('rtol = "tight"\natol = 0', "rtol and atol must be numbers"),
    ],
)
def test_a_malformed_setting_is_an_error_naming_the_table(tmp_path, table, message):
    with pytest.raises(CheckerError, match=message):
        read_profile(write(tmp_path, table), "gpu")


def test_a_missing_profile_is_an_error(tmp_path):
    with pytest.raises(CheckerError, match=r"no \[tool.jaxbook.checker.tpu\] table"):
        read_profile(write(tmp_path, "rtol = 1\natol = 0"), "tpu")


def test_page_and_profile_overrides():
    gpu = Profile("gpu", 2e-2, 1e-4)
    options = {"rtol": 1e-3, "gpu": {"rtol": 5e-2}, "cpu": {"atol": 0}}
    assert gpu.tolerances_for(options, gpu.tolerances) == {"rtol": 5e-2, "atol": 1e-4}
