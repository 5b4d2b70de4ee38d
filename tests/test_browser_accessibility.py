"""Accessibility in a real browser: an axe-core check of every page in normal and meeting mode,
and journey 1 (open a link, Peers, a weight, Compliance) done with the keyboard alone.

Ontario's AODA asks WCAG 2.0 AA of public-sector web content; committees include people who use a
keyboard or a screen reader. The check fails on any serious or critical violation of the WCAG 2.0/2.1
A and AA rules (and axe's best practices)."""

import ast

import pytest
from playwright.sync_api import expect

from conftest import ROOT, assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# Inactive controls (a widget shown disabled) are exempt from WCAG 1.4.3 contrast and hold nothing
# to focus: they are left out of the scan, every other element is checked.
INACTIVE = ["[data-testid='stWidgetLabel'][disabled]", "[data-testid='stDateInputField'][data-disabled='true']"]
LINK = "agency=CA-CSD-3523008&peer=fayetteville-ar&ref=ottawa-on"


def _pages() -> list[tuple[str, str]]:
    tree = ast.parse((ROOT / "app.py").read_text())
    pages = next(ast.literal_eval(n.value) for n in tree.body
                 if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PAGES")
    return [(url_path, title) for _path, title, url_path, *_ in pages]


def _serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context={"exclude": [[s] for s in INACTIVE]},
                        options={"resultTypes": ["violations"], "runOnly": {"type": "tag", "values": AXE_TAGS}})
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("meeting", ["0", "1"], ids=["normal", "meeting"])
def test_every_page_has_no_serious_accessibility_violation(page, app_url, meeting):
    problems = {}
    for url_path, title in _pages():
        page.goto(f"{app_url}/{url_path}?{LINK}&meeting={meeting}")
        wait_for_app(page)
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        assert_no_exception(page)
        found = _serious(page)
        if found:
            problems[title] = found
    assert not problems, problems


def _focused(page) -> str:
    """The focused element's name: its aria-label, else its text without the icon's ligature
    (a menu link reads 'groups\n\nPeers'), else its value."""
    return page.evaluate("() => { const e = document.activeElement;"
                         " const lines = (e.innerText || '').split('\\n').filter(l => l.trim());"
                         " return (e.getAttribute('aria-label') || lines[lines.length - 1]"
                         " || e.getAttribute('aria-valuetext') || e.value || '').trim(); }")


def _tab_to(page, wanted: str, limit: int = 120) -> None:
    """Press Tab until the focused element is named ``wanted`` (the keyboard is the only input)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if _focused(page).startswith(wanted):
            return
    raise AssertionError(f"{wanted!r} cannot be reached with the Tab key")


def test_journey_one_with_the_keyboard_alone(page, app_url):
    """Open a link, go to Peers, change a weight, go to Compliance: keys only, no mouse."""
    page.goto(f"{app_url}/?agency=Guelph,%20ON")  # a shared link, with the agency's name
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Guelph, ON")).to_be_visible()

    _tab_to(page, "Peers")
    page.keyboard.press("Enter")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Peers: who is like us?")).to_be_visible()

    _tab_to(page, "Adjust weights")
    page.keyboard.press("Enter")  # opens the expander
    slider = page.get_by_role("slider", name="Population")
    expect(slider).to_be_visible()
    before = slider.input_value()
    _tab_to(page, "Population")
    expect(slider).to_be_focused()
    page.keyboard.press("ArrowRight")
    wait_for_app(page)
    expect(slider).not_to_have_value(before)
    expect(page.get_by_text("Adjusted from the")).to_be_visible()
    assert "weights=%7B" in page.url or "weights={" in page.url

    _tab_to(page, "Compliance")
    page.keyboard.press("Enter")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Compliance", exact=True)).to_be_visible()
    assert "agency=CA-CSD-3523008" in page.url
    assert_no_exception(page)
    assert not page.errors
