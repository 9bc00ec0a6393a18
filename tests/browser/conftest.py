"""Fixtures of the browser tests: the built site, served on localhost, and one Chromium.

The site is ``$BOOK_HTML`` (default ``_build/html``). Each page of ``_toc.yml`` is loaded once,
in a fresh browser context (a cold cache, so its weight is what a first visit transfers); the
tests then assert on what that visit recorded (``sitecheck.PageReport``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from sitecheck import CHROMIUM_ARGS, NO_CHROMIUM, ROOT, PageReport, find_chromium, serve, visit

SITE = Path(os.environ.get("BOOK_HTML") or ROOT / "_build" / "html").resolve()
REPORTS = pytest.StashKey[dict[str, PageReport]]()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options with the Chromium :func:`find_chromium` finds
    (``$CHROMIUM``, Playwright's own, or the system's; CI uses Debian's)."""
    path, source = find_chromium(dict(os.environ))
    if path is None:
        pytest.exit(f"{NO_CHROMIUM} ({source})", returncode=1)
    print(f"\nbrowser tests: Chromium from {source}: {path}")
    return {**browser_type_launch_args, "executable_path": path, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def site_dir() -> Path:
    if not (SITE / "index.html").is_file():
        # One clear message and a failed run, not one error per test.
        pytest.exit(
            f"No built site at {SITE}: run `make book` first "
            "(or point BOOK_HTML at a built site's html folder).",
            returncode=1,
        )
    return SITE


@pytest.fixture(scope="session")
def base_url(site_dir: Path) -> Iterator[str]:
    """The site on http://127.0.0.1:<free port>/, for the whole session."""
    with serve(site_dir) as url:
        yield url


class Reports:
    """Visit each page at most once per session, on first request."""

    def __init__(self, browser: Browser, base_url: str, store: dict[str, PageReport]):
        self.browser, self.base_url, self.store = browser, base_url, store

    def __getitem__(self, name: str) -> PageReport:
        if name not in self.store:
            self.store[name] = visit(self.browser, self.base_url, name, f"{name}.html")
        return self.store[name]


@pytest.fixture(scope="session")
def reports(browser: Browser, base_url: str, request: pytest.FixtureRequest) -> Reports:
    store = request.config.stash.setdefault(REPORTS, {})
    return Reports(browser, base_url, store)


# Under pytest-xdist (`make browser` runs on every core) the pages are visited in worker
# processes: each leaves its pages' weights here, and the controller prints them all.
WORKER_WEIGHTS = ROOT / "_build" / "browser-weights"


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller, or a run without xdist
        for stale in WORKER_WEIGHTS.glob("*.json"):
            stale.unlink()


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker = getattr(session.config, "workerinput", None)
    store = session.config.stash.get(REPORTS, {})
    if worker is None or not store:
        return
    WORKER_WEIGHTS.mkdir(parents=True, exist_ok=True)
    weights = {name: report.weight for name, report in store.items()}
    (WORKER_WEIGHTS / f"{worker['workerid']}.json").write_text(json.dumps(weights), "utf-8")


def page_weights(config: pytest.Config) -> dict[str, dict[str, int]]:
    """Each visited page's bytes by kind, from this process and from every xdist worker."""
    weights = {name: report.weight for name, report in config.stash.get(REPORTS, {}).items()}
    for path in sorted(WORKER_WEIGHTS.glob("*.json")):
        weights.update(json.loads(path.read_text("utf-8")))
    return weights


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The page-weight table: what each visited page transferred, by kind."""
    from expectations import PAGE_WEIGHT_BUDGET

    weights = page_weights(config)
    if not weights:
        return
    kinds = ["html", "scripts", "styles", "images", "fonts", "other"]
    write = terminalreporter.write_line
    terminalreporter.section(f"page weight (kB; budget {PAGE_WEIGHT_BUDGET / 1000:.0f} kB)")
    write(f"{'page':<24}" + "".join(f"{k:>9}" for k in kinds) + f"{'total':>9}")
    for name, weight in sorted(weights.items(), key=lambda item: -sum(item[1].values())):
        cells = "".join(f"{weight.get(k, 0) / 1000:>9.0f}" for k in kinds)
        write(f"{name:<24}{cells}{sum(weight.values()) / 1000:>9.0f}")
