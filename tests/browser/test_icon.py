"""Every page names the site's icon, and it loads: no 404 for /favicon.ico on every visit."""

from __future__ import annotations

import urllib.request

import pytest
from sitecheck import CHECKED, fail_on

pytestmark = pytest.mark.browser


def test_every_page_has_an_icon_that_loads(site_dir, base_url):
    problems = []
    for name in CHECKED:
        html = (site_dir / f"{name}.html").read_text(encoding="utf-8")
        if 'rel="icon"' not in html:
            problems.append(f'{name}: no <link rel="icon">, so the browser asks for /favicon.ico')
    with urllib.request.urlopen(f"{base_url}_static/favicon.svg") as response:
        assert response.status == 200 and b"<svg" in response.read()
    fail_on(problems)
