"""Find a Chromium to drive (the browser tests, the PDF of the book): one rule for every tool."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

# Chromium options from ENVIRONMENT_NOTES.md: Debian's Chromium, no sandbox (root), no GPU, and
# no background traffic of its own (updates, sync), so that every request seen is the page's.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Where a system's own Chromium or Chrome usually is, after what is on the PATH.
SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MACOS_BROWSERS = (
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
)
NO_CHROMIUM = (
    "No Chromium found for the browser tests. Either set CHROMIUM=/path/to/chromium; or let "
    "Playwright download its own (`.venv/bin/python -m playwright install chromium`); or "
    "install your system's (Debian/Ubuntu and WSL: `sudo apt-get install chromium`; macOS: "
    "`brew install --cask chromium`). Without a browser, `make book check-outputs` runs the "
    "build and the output checker."
)


def playwright_chromium() -> str | None:
    """Playwright's own Chromium, if `playwright install chromium` put one on this machine."""
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            path = playwright.chromium.executable_path
    except Exception:  # noqa: BLE001 - no driver, no browser: not found
        return None
    return path if path and Path(path).is_file() else None


def find_chromium(
    environ: dict[str, str],
    playwright_path: Any = playwright_chromium,
    which: Any = shutil.which,
    exists: Any = os.path.isfile,
) -> tuple[str | None, str]:
    """``(executable or None when none was found, where it came from)``: ``$CHROMIUM``, then
    Playwright's own browser, then the system's."""
    if environ.get("CHROMIUM"):
        path = environ["CHROMIUM"]
        if not exists(path):
            return None, f"CHROMIUM={path} is not a file"
        return path, "CHROMIUM"
    own = playwright_path()
    if own:
        return own, "Playwright's own browser"
    for name in SYSTEM_BROWSERS:
        found = which(name)
        if found:
            return found, f"the system's `{name}`"
    for path in MACOS_BROWSERS:
        if exists(path):
            return path, "the system's"
    return None, "none found"
