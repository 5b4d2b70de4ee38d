"""Real-browser journey on the Cost page: "what does it cost us over ten years?"."""

import re

import pytest

from conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser


def test_choosing_the_peer_then_a_longer_horizon_updates_the_total_and_the_link(page, app_url):
    """Typing the peer fills in its cost; a 15-year horizon relabels and raises the total and goes in the URL."""
    page.goto(app_url + "/cost?agency=CA-CSD-3523008")
    wait_for_app(page)
    picker = page.get_by_role("combobox", name="Peer contract to adopt")
    picker.click()
    page.keyboard.type("Fayetteville")
    page.get_by_role("option", name=re.compile("Fayetteville")).first.wait_for()
    page.keyboard.press("Enter")
    wait_for_app(page)
    label = page.get_by_test_id("stMetric").filter(has_text="10-year cost: piggyback")
    label.wait_for()
    ten = label.get_by_test_id("stMetricValue").inner_text()
    assert "peer=fayetteville-ar" in page.url

    page.get_by_text("Settings and assumptions").click()
    horizon = page.get_by_role("spinbutton", name="Horizon (years) — assumption")
    horizon.fill("15")
    horizon.press("Enter")
    wait_for_app(page)
    fifteen = page.get_by_test_id("stMetric").filter(has_text="15-year cost: piggyback")
    fifteen.wait_for()

    def amount(text: str) -> float:
        m = re.match(r"([\d,.]+)( M)?", text)
        return float(m[1].replace(",", "")) * (1e6 if m[2] else 1)

    assert amount(fifteen.get_by_test_id("stMetricValue").inner_text()) > amount(ten)
    page.wait_for_function("() => location.search.includes('years=15')")
    assert_no_exception(page)
    assert not page.errors
