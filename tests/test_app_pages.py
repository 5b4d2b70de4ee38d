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


# -- the agency finder (#15) -------------------------------------------------------------------

def test_finder_sends_only_the_best_matches_and_picks_the_agency():
    """Typing in 'Find your agency' lists at most ten matches (never the 33,616 places), Ottawa, ON
    first for 'ottawa'; picking one sets the agency for the whole page and the link."""
    at = app()
    at.run()
    assert at.sidebar.selectbox(key="agency_geo").options == []  # nothing is sent before a query
    at.sidebar.text_input(key="agency_query").input("ottawa").run()
    picker = at.sidebar.selectbox(key="agency_geo")
    assert 1 < len(picker.options) <= 10
    assert picker.options[0].startswith("Ottawa, ON · City · population 1,017,449")
    picker.select("CA-CSD-3506008").run()
    assert not at.exception
    assert at.session_state["profile"].geo_id == "CA-CSD-3506008"
    assert [h.value for h in at.header] == ["Ottawa, ON"]
    assert at.query_params["agency"] in ("CA-CSD-3506008", ["CA-CSD-3506008"])
    assert at.sidebar.text_input(key="agency_query").value == ""  # the search is done
    # The chosen agency stays shown (and chosen) once the query is cleared.
    assert at.sidebar.selectbox(key="agency_geo").value == "CA-CSD-3506008"


def test_finder_ignores_accents_and_prefers_exact_names():
    at = app()
    at.run()
    at.sidebar.text_input(key="agency_query").input("Saint-Elzear").run()
    options = at.sidebar.selectbox(key="agency_geo").options
    assert options[0].startswith("Saint-Elzéar (Municipality, La Nouvelle-Beauce), QC")
    assert options[2].startswith("Saint-Elzéar-de-Témiscouata, QC")


def test_finder_says_when_nothing_matches():
    at = app()
    at.run()
    at.sidebar.text_input(key="agency_query").input("qqqqzzzz").run()
    assert at.sidebar.selectbox(key="agency_geo").options == []
    assert any("No place matches" in c.value for c in at.sidebar.caption)


def test_link_takes_an_agency_name():
    at = app(agency="Guelph, ON")
    at.run()
    assert not at.exception
    assert at.session_state["agency_geo"] == "CA-CSD-3523008"
    assert at.query_params["agency"] in ("CA-CSD-3523008", ["CA-CSD-3523008"])  # the link now names the id
    assert not at.sidebar.warning


def test_link_with_an_ambiguous_name_opens_the_largest_and_says_so():
    at = app(agency="Springfield")
    at.run()
    assert not at.exception
    assert at.session_state["profile"].name == "Springfield, MO"
    assert any("matches" in w.value and "Pick another" in w.value for w in at.sidebar.warning)


def test_link_with_an_unknown_name_is_not_echoed():
    at = app(agency="Nowhere Special")
    at.run()
    assert not at.exception
    assert at.session_state["profile"] is None
    warnings = [w.value for w in at.sidebar.warning]
    assert any("names no place" in w for w in warnings) and not any("Nowhere" in w for w in warnings)
    at = app(agency="[click here](http://evil.example)")
    at.run()
    assert at.session_state["profile"] is None
    warnings = [w.value for w in at.sidebar.warning]
    assert any("not a valid census id or place name" in w for w in warnings)
    assert not any("evil" in w for w in warnings)


def test_overview_tables_show_blanks_not_none():
    """Unknown cells are blank, as the caption promises: never the text 'None' or a null."""
    at = app(agency="CA-CSD-3523008")
    at.run()
    assert not at.exception
    for frame in (d.value for d in at.dataframe):
        assert not frame.isna().any().any()
        assert not frame.astype(str).isin(["None", "nan", "NaN"]).any().any()
    peers = at.dataframe[-1].value
    assert (peers["vendor"] == "").any() or (peers["product"] == "").any()  # some are unknown


def test_data_sources_shows_populations_as_whole_numbers():
    at = app(agency="CA-CSD-3506008")
    at.run()
    at.switch_page("pages/data_sources.py")
    at.run()
    facts = at.dataframe[0].value
    pops = facts[facts["field"] == "population"]["value"]
    assert len(pops) > 10
    assert "1,017,449" in set(pops) and not pops.str.endswith(".0").any()


def _prospects(**params) -> AppTest:
    at = app(**params)
    at.run()
    at.switch_page("pages/prospect_list.py")
    at.run()
    assert not at.exception
    return at


def _param(at, name):
    value = at.query_params.get(name)
    return value[-1] if isinstance(value, list) else value


def test_prospects_filters_go_into_the_link():
    at = _prospects(ref="ottawa-on")
    at.multiselect(key="prospects.regions").select("ON").run()
    at.number_input(key="prospects.pop_min").set_value(50_000).run()
    at.multiselect(key="prospects.jtypes").select("City").run()
    assert not at.exception
    assert _param(at, "ref") == "ottawa-on"
    assert _param(at, "regions") == "ON"
    assert _param(at, "pop_min") == "50000"
    assert _param(at, "types") == "City"
    assert _param(at, "pop_max") is None and _param(at, "top") is None  # defaults stay out of the link


def test_prospects_link_reopens_the_filters():
    at = _prospects(ref="ottawa-on", regions="ON,QC", pop_min="50000", pop_max="900000", types="City", top="20")
    assert at.multiselect(key="prospects.regions").value == ["ON", "QC"]
    assert at.number_input(key="prospects.pop_min").value == 50_000
    assert at.number_input(key="prospects.pop_max").value == 900_000
    assert at.multiselect(key="prospects.jtypes").value == ["City"]
    assert at.number_input(key="prospects.top").value == 20
    table = at.dataframe[0].value
    assert len(table) <= 20 and set(table["Region"]) <= {"ON", "QC"}
    assert table["Population"].between(50_000, 900_000).all()


def test_prospects_link_with_bad_filters_says_so_and_keeps_defaults():
    at = _prospects(ref="ottawa-on", pop_min="lots", types="Castle", top="1000000")
    warnings = " ".join(w.value for w in at.warning)
    assert "'pop_min'" in warnings and "'types'" in warnings and "'top'" in warnings
    assert at.number_input(key="prospects.pop_min").value is None
    assert at.multiselect(key="prospects.jtypes").value == []
    assert at.number_input(key="prospects.top").value == 50


def test_first_start_progress_box_goes_away_once_built(tmp_path, monkeypatch):
    """The first start builds the database with a progress box; the page then shows no trace of it."""
    monkeypatch.setenv("PIGGYBACK_DB", str(tmp_path / "first.duckdb"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    assert not at.exception
    assert (tmp_path / "first.duckdb").exists()
    labels = [getattr(e, "label", "") or "" for kind in ("status", "expandable") for e in at.get(kind)]
    assert not any("Database built" in label or "building the database" in label for label in labels), labels
    assert [m.value for m in at.metric][0] == "50"


def test_overview_charts_have_a_sentence_in_words(store):
    """A screen reader cannot read a chart: each one on Overview has a caption saying what it shows."""
    at = app(agency="CA-CSD-3523008")
    at.run()
    assert not at.get("plotly_chart")  # drawn once their expander is opened (#15: the first page's time)
    at.session_state["home_charts"] = True
    at.run()
    words = [c.value for c in at.caption if "in words" in c.value]
    assert len(words) == len(at.get("plotly_chart")) == 2
    peers = store.peers()
    top_vendor = peers["vendor"].value_counts()
    assert f"{len(peers)} peer deployments" in words[0]
    assert f"most common is {top_vendor.index[0]} ({top_vendor.iloc[0]})" in words[0]
    located = int(peers[["lat", "lon"]].notna().all(axis=1).sum())
    assert f"{located} of the {len(peers)} peer deployments" in words[1] and "Guelph, ON" in words[1]
