"""AppTest: meeting mode on the Prospects and Data & sources pages (#15 item 2).

In meeting mode neither page draws an input widget in its main area: the choices in force are one
readable line instead, the figures and tables stay, filtered by the session's or the link's values;
with meeting mode off the widgets are back with the same values."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from conftest import ROOT
from piggyback.analyses import peers as an

OTTAWA_GEO = "CA-CSD-3506008"
# every kind of input a page could draw (a download or a read-only table is not one)
INPUTS = ("number_input", "multiselect", "selectbox", "text_input", "text_area", "slider", "select_slider",
          "checkbox", "toggle", "radio", "date_input", "time_input", "color_picker", "button", "file_uploader")


def open_page(path: str, **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def main_inputs(at: AppTest) -> list[str]:
    return [f"{kind} {getattr(w, 'label', '')!r}" for kind in INPUTS for w in at.main.get(kind)]


def said(at: AppTest, start: str) -> str:
    """The main area's Markdown line that starts with ``start`` (Markdown escapes removed)."""
    lines = [m.value.replace("\\", "") for m in at.main.markdown if m.value.startswith(start)]
    assert len(lines) == 1, [m.value for m in at.main.markdown]
    return lines[0]


def param(at: AppTest, name: str):
    value = at.query_params.get(name)
    return value[-1] if isinstance(value, list) else value


def ranking(at: AppTest):
    return next(d.value for d in at.dataframe if "Legal framework" in d.value.columns)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


# -- Prospects ------------------------------------------------------------------------------------

def test_prospects_meeting_link_states_the_filters_and_ranks_by_them_without_widgets(store):
    """?ref=ottawa-on&pop_min=40000&regions=ON&meeting=1: no widget, one line naming the reference
    and the filters, and the ranking and its figures filtered by the link."""
    at = open_page("pages/prospect_list.py", ref="ottawa-on", pop_min="40000", regions="ON", meeting="1")
    assert main_inputs(at) == []
    line = said(at, "**Reference:**")
    assert "City of Ottawa (ON)" in line
    assert "population at least 40,000" in line and "Ontario" in line and "top 50" in line
    assert "meeting mode off" in line
    table = ranking(at)
    assert len(table) > 10 and set(table["Region"]) == {"ON"} and (table["Population"] >= 40_000).all()
    assert OTTAWA_GEO not in set(table["Census id"])
    expected = an.analyse_prospects(store, "ottawa-on", {"regions": ["ON"], "pop_min": 40_000, "pop_max": None,
                                                          "jtypes": [], "preset": "balanced"})
    everywhere = an.analyse_prospects(store, "ottawa-on", {})
    shown = metrics(at)
    assert int(shown["Jurisdictions ranked"].replace(",", "")) == len(expected.scored) < len(everywhere.scored)
    assert shown["Closest"] == expected.scored.iloc[0]["jurisdiction"]
    assert any(b.label.startswith("Download all") for b in at.get("download_button"))
    # the link keeps its values (and meeting mode) in meeting mode
    assert (param(at, "ref"), param(at, "pop_min"), param(at, "regions"), param(at, "meeting")) == \
        ("ottawa-on", "40000", "ON", "1")


def test_prospects_meeting_mode_from_the_toggle_keeps_the_choices_and_gives_the_widgets_back():
    """Filters chosen with widgets, meeting mode on: the same choices in words, the same ranking; off
    again: the widgets show the same values."""
    at = open_page("pages/prospect_list.py")
    at.selectbox(key="prospects.reference").set_value("ottawa-on").run()
    at.multiselect(key="prospects.regions").set_value(["ON", "QC"]).run()
    at.number_input(key="prospects.pop_min").set_value(50_000).run()
    at.number_input(key="prospects.pop_max").set_value(900_000).run()
    at.multiselect(key="prospects.jtypes").set_value(["City"]).run()
    at.selectbox(key="prospects.preset").set_value("size only").run()
    at.number_input(key="prospects.top").set_value(20).run()
    before = ranking(at)

    at.sidebar.toggle(key="meeting").set_value(True).run()
    assert not at.exception
    assert main_inputs(at) == []
    line = said(at, "**Reference:**")
    for part in ("City of Ottawa (ON)", "population 50,000 to 900,000", "Ontario, Quebec",
                 "kind of government City", "**Weights:** size only", "top 20"):
        assert part in line, (part, line)
    meeting_table = ranking(at)
    assert meeting_table.equals(before) and len(meeting_table) == 20
    assert set(meeting_table["Region"]) <= {"ON", "QC"} and meeting_table["Population"].between(50_000, 900_000).all()

    at.sidebar.toggle(key="meeting").set_value(False).run()
    assert not at.exception
    assert at.selectbox(key="prospects.reference").value == "ottawa-on"
    assert at.multiselect(key="prospects.regions").value == ["ON", "QC"]
    assert at.number_input(key="prospects.pop_min").value == 50_000
    assert at.number_input(key="prospects.pop_max").value == 900_000
    assert at.multiselect(key="prospects.jtypes").value == ["City"]
    assert at.selectbox(key="prospects.preset").value == "size only"
    assert at.number_input(key="prospects.top").value == 20
    assert not [m for m in at.main.markdown if m.value.startswith("**Reference:**")]
    assert len(main_inputs(at)) == 7  # reference, regions, two population bounds, kinds, preset, top
    assert ranking(at).equals(before)


def test_prospects_meeting_mode_without_a_reference_says_none_is_chosen():
    at = open_page("pages/prospect_list.py", meeting="1")
    assert main_inputs(at) == []
    assert "none chosen" in said(at, "**Reference:**")
    assert not at.dataframe


# -- Data & sources -------------------------------------------------------------------------------

def test_data_sources_meeting_link_names_the_peers_and_lists_only_their_facts(store):
    """?facts=ottawa-on,calgary-ab&meeting=1: no widget, the peers named, only their facts listed;
    meeting mode off: the 'Peers' list holds them."""
    at = open_page("pages/data_sources.py", facts="ottawa-on,calgary-ab", meeting="1")
    assert main_inputs(at) == []
    line = said(at, "**Peers:**")
    assert "City of Ottawa" in line and "City of Calgary" in line
    facts = at.dataframe[0].value
    on_file = store.facts("deployment")
    assert set(facts["entity_id"]) == {"ottawa-on", "calgary-ab"}
    assert len(facts) == int(on_file["entity_id"].isin(["ottawa-on", "calgary-ab"]).sum())
    assert len(at.dataframe) > 5  # the other tabs' tables are still there

    at.sidebar.toggle(key="meeting").set_value(False).run()
    assert not at.exception
    assert at.multiselect(key="data_sources.peers").value == ["ottawa-on", "calgary-ab"]
    assert main_inputs(at) == ["multiselect 'Peers'"]  # a data steward would also have the import
    assert set(at.dataframe[0].value["entity_id"]) == {"ottawa-on", "calgary-ab"}
    assert param(at, "facts") == "ottawa-on,calgary-ab"


def test_data_sources_peers_chosen_persist_in_the_link_and_in_meeting_mode():
    """Peers chosen with the widget go into the link (?facts=) and are said, not offered, in meeting mode."""
    at = open_page("pages/data_sources.py")
    assert not [m for m in at.main.markdown if m.value.startswith("**Peers:**")]
    at.multiselect(key="data_sources.peers").set_value(["fayetteville-ar"]).run()
    assert param(at, "facts") == "fayetteville-ar"
    at.sidebar.toggle(key="meeting").set_value(True).run()
    assert not at.exception and main_inputs(at) == []
    assert "Fayetteville" in said(at, "**Peers:**")
    assert set(at.dataframe[0].value["entity_id"]) == {"fayetteville-ar"}
    at.sidebar.toggle(key="meeting").set_value(False).run()
    at.multiselect(key="data_sources.peers").set_value([]).run()
    assert param(at, "facts") is None and len(at.dataframe[0].value) > 150


def test_data_sources_meeting_mode_with_every_peer_says_so(store):
    at = open_page("pages/data_sources.py", meeting="1")
    assert main_inputs(at) == []
    assert f"all {len(store.peers())}" in said(at, "**Peers:**")
    assert len(at.dataframe[0].value) == len(store.facts("deployment"))
