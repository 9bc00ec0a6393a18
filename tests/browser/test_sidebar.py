"""The sidebar toggles a reader sees open and close the sidebars, at a phone's width and a
laptop's, by mouse and by keyboard (pydata-sphinx-theme#2451: the themes bound only a hidden
toggle; book/_static/sidebar-toggles.js forwards the visible ones)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

PAGE = "book/jit"


@pytest.fixture
def page_at(browser, base_url):
    contexts = []

    def open_at(width: int, height: int):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{base_url}{PAGE}.html", wait_until="load")
        return page

    yield open_at
    for context in contexts:
        context.close()


def visible_toggle(page, kind: str):
    toggles = page.locator(f".{kind}-toggle")
    visible = [toggles.nth(i) for i in range(toggles.count()) if toggles.nth(i).is_visible()]
    assert visible, f"{PAGE}: no visible .{kind}-toggle"
    return visible[0]


def activate(page, toggle, how: str) -> None:
    """Press the toggle as a reader would: a click, or Enter on the focused button."""
    if how == "click":
        toggle.click()
    else:
        toggle.focus()
        page.keyboard.press("Enter")
    page.wait_for_timeout(300)


def dialog_open(page, kind: str) -> bool:
    return page.evaluate(f"document.getElementById('pst-{kind}-sidebar-modal').open")


@pytest.mark.parametrize("kind", ["primary", "secondary"])
@pytest.mark.parametrize("how", ["click", "keyboard"])
def test_on_a_phone_the_visible_toggle_opens_the_sidebar(page_at, kind, how):
    page = page_at(390, 844)
    toggle = visible_toggle(page, kind)
    assert not dialog_open(page, kind)
    activate(page, toggle, how)
    assert dialog_open(page, kind), f"{PAGE} at 390 px: the {kind} toggle did not open its sidebar"
    if kind == "primary":  # the chapter list is there to tap
        assert page.locator("#pst-primary-sidebar-modal a[href$='vmap.html']").first.is_visible()
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert not dialog_open(page, kind), f"{PAGE}: Escape did not close the {kind} sidebar"


@pytest.mark.parametrize("how", ["click", "keyboard"])
def test_on_a_laptop_the_visible_toggle_hides_and_shows_the_chapter_list(page_at, how):
    page = page_at(1366, 900)
    sidebar = page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    toggle = visible_toggle(page, "primary")
    for shown_after in (False, True):
        activate(page, toggle, how)
        assert sidebar.is_visible() == shown_after, (
            f"{PAGE} at 1366 px: the primary toggle did not {'show' if shown_after else 'hide'} "
            "the chapter list"
        )
