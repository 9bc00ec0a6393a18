"""Every page of _toc.yml, as a reader's browser sees it on a first visit."""

from __future__ import annotations

import pytest
from expectations import DOWNLOAD_URLS, LAUNCH_URLS, PAGE_WEIGHT_BUDGET
from sitecheck import (
    CHECKED,
    CHECKED_EXECUTABLE,
    EXECUTABLE,
    fail_on,
    problems_axe,
    problems_console,
    problems_external,
    problems_images,
    problems_links,
    problems_mathjax,
)

pytestmark = pytest.mark.browser
PROVENANCE_FACTS = (
    "Executed in",
    " s on ",
    "JAX ",
    "jaxlib ",
    "Flax ",
    "Haiku ",
    "Optax ",
    "built ",
)


@pytest.mark.parametrize("name", CHECKED)
def test_loads_without_console_errors_or_failed_requests(reports, name):
    fail_on(problems_console(reports[name]))


@pytest.mark.parametrize("name", CHECKED)
def test_requests_no_other_host(reports, name):
    """The site is self-contained: a reader offline (and CI) gets every page whole."""
    fail_on(problems_external(reports[name]))


@pytest.mark.parametrize("name", CHECKED)
def test_every_image_loads_and_has_alt_text(reports, name):
    fail_on(problems_images(reports[name]))


@pytest.mark.parametrize("name", CHECKED)
def test_internal_links_and_anchors_resolve(reports, site_dir, base_url, name):
    fail_on(problems_links(reports[name], site_dir, base_url))


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("name", CHECKED)
def test_no_serious_accessibility_violations(reports, name, theme):
    """axe-core finds nothing critical or serious (exceptions: axe_exceptions.py)."""
    fail_on(problems_axe(reports[name], theme))


@pytest.mark.parametrize("name", CHECKED)
def test_page_weight_within_budget(reports, name):
    report = reports[name]
    if report.total_weight > PAGE_WEIGHT_BUDGET:
        fail_on(
            [
                f"{name} transfers {report.total_weight:,} bytes, over the budget of "
                f"{PAGE_WEIGHT_BUDGET:,} (expectations.py): {report.weight}"
            ]
        )


@pytest.mark.parametrize("name", CHECKED)
def test_mathjax_loads_only_where_there_is_math(reports, name):
    fail_on(problems_mathjax(reports[name]))


@pytest.mark.parametrize("name", CHECKED)
def test_code_blocks_have_a_copy_button(reports, name):
    report = reports[name]
    if report.copy_buttons != report.code_blocks:
        fail_on([f"{name}: {report.code_blocks} code blocks, {report.copy_buttons} copy buttons"])


@pytest.mark.parametrize("name", CHECKED)
def test_executed_pages_say_where_they_ran(reports, name):
    note = reports[name].provenance
    if name not in EXECUTABLE:
        if note is not None:
            fail_on([f"{name} is not executed, yet carries a provenance note: {note}"])
        return
    if not note:
        fail_on([f"{name}: no visible 'Where this page ran' note"])
    missing = [fact.strip() for fact in PROVENANCE_FACTS if fact not in note]
    if missing:
        fail_on([f"{name}: the provenance note lacks {missing}: {note}"])


@pytest.mark.parametrize("name", CHECKED_EXECUTABLE)
def test_launch_and_download_buttons(reports, base_url, name):
    buttons = reports[name].buttons
    expected = {label: url.format(page=name) for label, url in LAUNCH_URLS.items()}
    expected |= {label: base_url + url.format(page=name) for label, url in DOWNLOAD_URLS.items()}
    fail_on(
        [
            f"{name}: the {label} button links to {buttons.get(label)!r}, expected {url!r}"
            for label, url in expected.items()
            if buttons.get(label) != url
        ]
    )
