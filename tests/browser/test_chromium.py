"""Which Chromium the browser tests use, on a contributor's machine (no browser is started)."""

from sitecheck import NO_CHROMIUM, find_chromium


def nothing(*_):
    return None


def test_chromium_from_the_environment_comes_first():
    found = find_chromium(
        {"CHROMIUM": "/opt/c/chrome"}, playwright_path=lambda: "/pw/chrome", exists=bool
    )
    assert found == ("/opt/c/chrome", "CHROMIUM")
    missing = find_chromium({"CHROMIUM": "/nope"}, exists=lambda p: False)
    assert missing == (None, "CHROMIUM=/nope is not a file")


def test_then_playwrights_own_then_the_systems():
    assert find_chromium({}, playwright_path=lambda: "/pw/chrome")[0] == "/pw/chrome"
    system = find_chromium(
        {},
        playwright_path=nothing,
        which=lambda n: "/usr/bin/chromium" if n == "chromium" else None,
    )
    assert system == ("/usr/bin/chromium", "the system's `chromium`")
    mac = "/Applications/Chromium.app/Contents/MacOS/Chromium"
    assert find_chromium({}, playwright_path=nothing, which=nothing, exists=lambda p: p == mac)[0]


def test_none_found_says_what_to_do():
    assert find_chromium({}, playwright_path=nothing, which=nothing, exists=lambda p: False) == (
        None,
        "none found",
    )
    assert "CHROMIUM=" in NO_CHROMIUM and "apt-get install chromium" in NO_CHROMIUM
    assert "make book check-outputs" in NO_CHROMIUM
