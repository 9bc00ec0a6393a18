"""No emoji in the rendered pages: without an emoji font (many Linux systems) they are empty
boxes. Prose uses words or sphinx-design's octicons (inline SVG) instead."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sitecheck import CHECKED, fail_on

pytestmark = pytest.mark.browser

# Emoji and pictographs, dingbats and miscellaneous symbols drawn as emoji, variation selector 16.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")


def test_no_page_shows_an_emoji(site_dir):
    problems = []
    for name in CHECKED:
        html = (site_dir / f"{name}.html").read_text(encoding="utf-8")
        body = html[html.find("<body") :]
        body = re.sub(r"<script.*?</script>", "", body, flags=re.S)
        visible = unescape(re.sub(r"<[^>]+>", " ", body))
        for match in EMOJI.finditer(visible):
            around = " ".join(visible[max(0, match.start() - 40) : match.end() + 40].split())
            problems.append(f"{name}: {match.group()!r} (U+{ord(match.group()):04X}) in {around!r}")
    fail_on(problems)
