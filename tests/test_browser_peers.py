"""Real-browser journey: the committee's "who is like us?" with two peers side by side (the vendor's
prospect list is walked in test_browser_journeys.py)."""

from __future__ import annotations

import pytest

from conftest import assert_no_exception, wait_for_app
from piggyback.data import peers as peer_data
from piggyback.data.profile import profile_for

pytestmark = pytest.mark.browser

GUELPH = "CA-CSD-3523008"


def grid_cell(frame, text: str):
    """A cell of a Streamlit dataframe (drawn on a canvas; its text lives in an a11y table)."""
    return frame.locator("[role='gridcell'], [role='columnheader']").filter(has_text=text).first


def pick(page, combobox: str, typed: str, option: str) -> None:
    """Choose an option of a Streamlit selectbox/multiselect the way a person does: type part of
    it, then click the option (Enter would take the fuzzy filter's first match, which may be
    another peer: 'Hamilton' also matches 'Washoe County … Health District')."""
    page.get_by_role("combobox", name=combobox).click()
    page.keyboard.type(typed)
    choice = page.get_by_role("option", name=option, exact=True)
    choice.wait_for()
    choice.click()
    wait_for_app(page)


def test_peers_ranked_then_two_compared_side_by_side(page, app_url, store):
    """Guelph's peers are ranked best first; choosing two peers shows both columns side by side."""
    best = peer_data.rank_peers(store, profile_for(store, GUELPH)).iloc[0]["jurisdiction"]
    page.goto(f"{app_url}/peers?agency={GUELPH}")
    wait_for_app(page)
    page.get_by_role("heading", name="Peers: who is like us?").wait_for()
    ranked = page.locator(".st-key-peers_ranking").get_by_test_id("stDataFrame")
    ranked.scroll_into_view_if_needed()
    grid_cell(ranked, best).wait_for(state="attached")
    assert page.get_by_test_id("stMetricValue").first.inner_text().endswith(f"of {len(store.peers())}")

    pick(page, "Peers to compare (two to four)", "Ottawa", "City of Ottawa")
    pick(page, "Peers to compare (two to four)", "Hamilton", "City of Hamilton")
    chosen = page.get_by_test_id("stMultiSelect").filter(has_text="Peers to compare").inner_text()
    assert "City of Ottawa" in chosen and "City of Hamilton" in chosen
    side_by_side = page.locator(".st-key-peers_side_by_side").get_by_test_id("stDataFrame")
    side_by_side.scroll_into_view_if_needed()
    grid_cell(side_by_side, "City of Hamilton").wait_for(state="attached")
    headers = side_by_side.locator("[role='columnheader']").all_inner_texts()
    assert any("City of Ottawa" in h for h in headers) and any("City of Hamilton" in h for h in headers)
    grid_cell(side_by_side, "Computronix").wait_for(state="attached")  # Ottawa's vendor
    assert_no_exception(page)
    assert not page.errors
