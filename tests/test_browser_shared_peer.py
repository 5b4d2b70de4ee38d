"""Real-browser journey: the peer contract chosen on one page is the one every page shows, after a
reload, in a new browser and in meeting mode (issue #11)."""

import re

import pytest
from playwright.sync_api import expect

from conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser


def _open(page, url: str, path: str) -> None:
    page.goto(url + path)
    wait_for_app(page)


def _sidebar_link(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    wait_for_app(page)


def test_peer_chosen_on_compliance_stays_on_every_page(page, browser, app_url):
    """Pick Ottawa on Compliance, walk Timeline, Cost and Business case by the menu: Ottawa on each,
    also after a reload, in a fresh browser context, and in meeting mode."""
    _open(page, app_url, "/compliance?agency=CA-CSD-3523008")
    page.get_by_role("combobox", name="Peer contract to adopt").click()
    page.keyboard.type("Ottawa")
    page.get_by_role("option", name=re.compile("City of Ottawa")).first.wait_for()
    page.keyboard.press("Enter")
    wait_for_app(page)
    assert "peer=ottawa-on" in page.url
    for title in ("Timeline", "Cost", "Business case", "Compliance"):
        _sidebar_link(page, title)
        assert "peer=ottawa-on" in page.url, f"{title} lost the peer: {page.url}"
        expect(page.get_by_test_id("stMain")).to_contain_text("Ottawa")
        assert_no_exception(page)
    page.reload()
    wait_for_app(page)
    assert "peer=ottawa-on" in page.url
    link = page.url
    other = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    try:
        _open(other, link, "")
        _sidebar_link(other, "Timeline")
        assert "peer=ottawa-on" in other.url
        other.get_by_test_id("stSidebar").get_by_text("Meeting mode").click()
        wait_for_app(other)
        _sidebar_link(other, "Business case")
        assert "peer=ottawa-on" in other.url and "meeting=1" in other.url
        expect(other.get_by_test_id("stMain")).to_contain_text("Ottawa")
        assert_no_exception(other)
    finally:
        other.context.close()
    assert not page.errors
