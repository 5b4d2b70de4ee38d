"""AppTest for the frame and the foundation pages: they render, read the agency from the URL, and
keep user text as text."""

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT


def app(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for k, v in params.items():
        at.query_params[k] = v
    return at


def test_overview_without_agency_invites_a_pick():
    at = app()
    at.run()
    assert not at.exception
    assert any("Pick your agency" in i.value for i in at.info)
    # 50 = the 31 seed peers plus the 19 of research round 2 (data/peers/deployments.csv)
    assert [m.value for m in at.metric][0] == "50"


def test_overview_reads_agency_from_link_and_shows_census_profile():
    at = app(agency="CA-CSD-3523008", modules="building,inspections", permits="1200")
    at.run()
    assert not at.exception
    assert [h.value for h in at.header] == ["Guelph, ON"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Population"] == "143,740" and metrics["Growth"] == "+9.1%"
    assert at.session_state["profile"].modules_needed == ["building", "inspections"]
    assert at.session_state["profile"].permit_volume == 1200
    assert at.query_params["agency"] == ["CA-CSD-3523008"] or at.query_params["agency"] == "CA-CSD-3523008"


def test_unknown_agency_in_link_is_dropped_not_guessed():
    at = app(agency="CA-CSD-0000000")
    at.run()
    assert not at.exception
    assert at.session_state["profile"] is None


def test_data_and_sources_page_lists_facts_with_sources():
    at = app(agency="CA-CSD-3506008")
    at.run()
    at.switch_page("pages/data_sources.py")
    at.run()
    assert not at.exception
    assert at.title[0].value == "Data & sources"
    facts = at.dataframe[0].value
    assert len(facts) > 150 and facts["source"].notna().all()
    assert any(b.label.startswith("Download facts") for b in at.get("download_button"))


def test_meeting_mode_flag_in_link_is_read():
    at = app(agency="CA-CSD-3523008", meeting="1")
    at.run()
    assert not at.exception
    assert at.session_state["meeting"] is True
