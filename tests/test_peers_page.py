"""AppTest for the Peers and Prospects pages, and the store glue behind them (piggyback.data.peers)."""

from __future__ import annotations

import ast
import json
from dataclasses import replace as dataclass_replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, person
from piggyback.core import fmt
from piggyback.data import peers as peer_data
from piggyback.core.errors import ReadOnlyStore, UnknownPeer
from piggyback.engines.similarity import DIMENSIONS

GUELPH = "CA-CSD-3523008"
OTTAWA_GEO = "CA-CSD-3506008"


def page_file(url_path: str) -> str:
    """The file app.py serves at ``url_path`` (read from its PAGES list, so a rename is followed)."""
    tree = ast.parse((ROOT / "app.py").read_text())
    pages = next(ast.literal_eval(n.value) for n in tree.body
                 if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PAGES")
    return next(path for path, _title, url, *_ in pages if url == url_path)


def page(url_path: str, **params) -> AppTest:
    """The app with the given URL parameters, switched to the page at ``url_path`` and run."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page_file(url_path))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ranked(at: AppTest):
    return next(d.value for d in at.dataframe if "Why" in d.value.columns and "Peer" in d.value.columns)


def open_filters(at: AppTest) -> AppTest:
    """Open 'Filter peers' (its lists are drawn only while it is open)."""
    at.session_state["peers_filters_open"] = True
    return at.run()


def messages(at: AppTest) -> list[str]:
    return [m.value for m in (*at.success, *at.warning, *at.info)]


# -- Peers page -------------------------------------------------------------------------------


def test_peers_page_needs_an_agency():
    """Without an agency the page asks for one and shows no ranking."""
    at = page("peers")
    assert any("Pick your agency" in i.value for i in at.info)
    assert not at.dataframe


def test_peers_page_ranks_every_peer_with_reasons(store):
    """With Guelph, every peer is ranked best first with a 0–1 score, dims known and a reason."""
    at = page("peers", agency=GUELPH)
    table = ranked(at)
    assert len(table) == len(store.peers())
    assert table["Score"].between(0, 1).all()
    assert table["Score"].is_monotonic_decreasing
    # Guelph's profile has no legacy system and no permit volume: 6 of the 8 weighted
    # dimensions are scored, for every peer alike.
    assert table["Known"].str.fullmatch(r"\d of 6").all()
    lows = table["Range"].str.split("–").str[0].astype(float)
    highs = table["Range"].str.split("–").str[1].astype(float)
    assert (lows == table["Score"].round(2)).all() and (highs >= lows).all() and (highs <= 1).all()
    assert table["Why"].str.len().gt(0).all()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Peers compared"] == f"{len(table)} of {len(table)}"
    assert metrics["Its score"] == f"{table['Score'].iloc[0]:.2f}"
    # The robustness statement is one of the two forms, and the charts are drawn.
    assert any(m.startswith(("The top three are stable", "Fragile: moving")) for m in messages(at))
    # The open tab gives the reasons as numbers; no chart is drawn until its tab is opened.
    assert not at.get("plotly_chart")
    why = next(d.value for d in at.dataframe if "dimensions known" in d.value.columns)
    assert why["peer"].tolist() == table["Peer"].head(10).tolist()
    assert why["score"].round(2).tolist() == table["Score"].head(10).round(2).tolist()
    # The default preset reaches the URL so a shared link keeps it.
    assert at.query_params["weights"] in (["balanced"], "balanced")


def test_own_deployment_is_not_its_own_peer():
    """For Fayetteville, AR (a deployment on file) the page ranks the other peers and says why."""
    at = page("peers", agency="US-PL-05-143-23290")
    table = ranked(at)
    assert "City of Fayetteville" not in set(table["Peer"])
    assert {m.label: m.value for m in at.metric}["Peers compared"] == f"{len(table)} of {len(table)}"
    assert any("Your own deployment on file (City of Fayetteville)" in c.value for c in at.caption)


def test_chart_tab_draws_the_bars_and_says_they_are_the_numbers_of_the_first_tab():
    at = page("peers", agency=GUELPH)
    at.session_state["peers_tab"] = "Chart"
    at.run()
    assert not at.exception
    assert [c.key for c in at.get("plotly_chart")] == ["peers_bars"]
    assert any(c.value.startswith("The same numbers as 'Why these scores'") for c in at.caption)


def test_map_tab_draws_the_agency_and_peers_and_says_what_is_missing():
    """Opening the Map tab draws the map (no other chart) with a caption about missing points."""
    at = page("peers", agency=GUELPH)
    at.session_state["peers_tab"] = "Map"
    at.run()
    assert not at.exception
    assert [c.key for c in at.get("plotly_chart")] == ["peers_map"]
    assert any(c.value.endswith("placed by guess.") and "map point" in c.value for c in at.caption)


def test_changing_the_preset_changes_the_ranking_and_says_so():
    """'Size only' instead of 'balanced' reorders the peers and the page says the top three changed."""
    at = page("peers", agency=GUELPH)
    before = ranked(at)["Peer"].tolist()
    robust_before = [m for m in messages(at) if m.startswith(("The top three", "Fragile"))]
    at.selectbox(key="peers.preset").set_value("size only").run()
    assert not at.exception
    after = ranked(at)
    robust_after = [m for m in messages(at) if m.startswith(("The top three", "Fragile"))]
    assert after["Peer"].tolist() != before or robust_after != robust_before
    assert (after["Known"] == "1 of 1").all()  # only population carries weight
    assert any(m.startswith("With the new weights the top three changed") for m in messages(at))
    # The sliders follow the preset, and the URL names it.
    assert at.slider(key="peers.w_size").value == 100 and at.slider(key="peers.w_legal").value == 0
    assert at.query_params["weights"] in (["size only"], "size only")


def test_weights_from_a_link_and_slider_adjustment():
    """?weights=procurement fit opens that preset; moving a slider marks the weights as adjusted."""
    at = page("peers", agency=GUELPH, weights="procurement fit")
    assert at.selectbox(key="peers.preset").value == "procurement fit"
    assert at.slider(key="peers.w_legal").value == 35
    at.slider(key="peers.w_size").set_value(60).run()
    assert not at.exception
    assert any(c.value.startswith("Adjusted from the **procurement fit**") for c in at.caption)
    url = at.query_params["weights"]
    weights = json.loads(url[0] if isinstance(url, list) else url)
    assert weights["size"] > 10 and sum(weights.values()) in range(98, 103)


def test_preset_callbacks_draw_nothing_of_their_own():
    """Choosing a preset (from a link, the list or the reset button) shows no stray value: the
    callbacks once sat in the page script, where Streamlit's magic drew their result as '`None` `None`'."""
    def stray(at):
        return [m.value for m in at.markdown if "`None`" in m.value]

    at = page("peers", agency=GUELPH, weights="procurement fit")
    assert not stray(at)
    at.selectbox(key="peers.preset").set_value("size only").run()
    assert not stray(at)
    at.slider(key="peers.w_size").set_value(60).run()
    next(b for b in at.button if b.label == "Reset to the preset").click().run()
    assert not at.exception and not stray(at)
    assert at.slider(key="peers.w_size").value == 100  # back to size only


def test_meeting_mode_shows_no_editing_widget_only_the_choices_in_words(monkeypatch):
    """Issue #15: on the projector the page holds no editing widget (no preset, sliders, filters,
    compare list, peer picker, contact form or draft letter); the weights, the filters, the compared
    peers and the chosen peer made before are shown in words and tables."""
    monkeypatch.setenv("PIGGYBACK_ALLOW_EDITS", "1")
    at = open_filters(page("peers", agency=GUELPH, weights="size only"))
    at.multiselect(key="peers.country").set_value(["CA"]).run()
    at.multiselect(key="peers.compare").set_value(["ottawa-on", "cambridge-on"]).run()
    at.session_state["meeting"] = True
    at.session_state["peer"] = "ottawa-on"
    at.run()
    assert not at.exception
    main_inputs = [w for kind in ("selectbox", "multiselect", "slider", "text_area", "text_input", "button")
                   for w in at.main.get(kind)]
    assert main_inputs == [], [(type(w).__name__, getattr(w, "label", "")) for w in main_inputs]
    captions = " ".join(c.value for c in at.caption)
    assert "Weights: Preset **size only**" in captions
    assert "Filters on: country Canada." in captions
    assert [h.value for h in at.subheader][:1] == ["Compare peers side by side"]
    assert "Peer contract: **City of Ottawa**" in " ".join(m.value for m in at.markdown)
    assert not [e for e in at.expander if e.label.startswith("Ask for an introduction")]


def test_filters_summary_names_each_filter_in_words(store):
    from piggyback.analyses.peers import filters_summary
    assert filters_summary(_guelph_result(store)) is None
    both = filters_summary(_guelph_result(store, country=["CA"], vehicle=["cooperative", "own_rfp"]))
    assert both.startswith("Filters on: ") and "country Canada" in both and both.endswith(".")
    assert both.count(";") == 1


def test_peers_page_explains_the_lower_bound_method():
    at = page("peers", agency=GUELPH)
    text = " ".join(c.value for c in at.caption)
    assert "a dimension unknown for a peer counts 0" in text and "never ranks it higher" in text
    assert "Not in your agency's profile, so left out for every peer: legacy system, permit volume" in text


def test_peers_filter_by_contract_availability(store):
    """Issue #12: the Contract column shows each peer's availability; filtering on Expired keeps
    only expired contracts (Newport Beach's ended 2023-06), Not adoptable only those."""
    at = page("peers", agency=GUELPH)
    table = ranked(at)
    assert set(table["Contract"]) <= {"Available", "Expired", "Not adoptable", "Unknown"}
    assert table["Contract facts"].str.len().gt(0).all()
    open_filters(at)
    at.multiselect(key="peers.availability").set_value(["expired"]).run()
    assert not at.exception, [e.value for e in at.exception]
    expired = ranked(at)
    assert len(expired) < len(table) and set(expired["Contract"]) == {"Expired"}
    assert "City of Newport Beach" in set(expired["Peer"])
    at.multiselect(key="peers.availability").set_value(["not_adoptable"]).run()
    blocked = ranked(at)
    assert set(blocked["Contract"]) == {"Not adoptable"}
    assert {"City of Hamilton", "City of Edmonton"} <= set(blocked["Peer"])
    assert at.session_state["scenario"]["peers"]["availability"] == ["not_adoptable"]


def test_peers_vendor_filter_matches_aliases(store):
    """Choosing the canonical AMANDA vendor keeps every AMANDA peer, whatever its spelling."""
    at = open_filters(page("peers", agency=GUELPH))
    options = at.multiselect(key="peers.vendor").options
    assert "Granicus (AMANDA, formerly CSDC)" in options and "CSDC (now Granicus)" not in options
    at.multiselect(key="peers.vendor").set_value(["Granicus (AMANDA, formerly CSDC)"]).run()
    table = ranked(at)
    peers = store.peers()
    amanda = set(peers.loc[peers["product"].fillna("").str.contains("AMANDA"), "jurisdiction"])
    assert set(table["Peer"]) == amanda
    assert set(table["Vendor"]) == {"Granicus (AMANDA, formerly CSDC)"}


def test_filters_narrow_the_ranking():
    """Filtering on one vendor ranks only that vendor's peers."""
    at = page("peers", agency=GUELPH)
    assert not at.main.get("multiselect") or all(m.key == "peers.compare" for m in at.main.get("multiselect"))
    open_filters(at).multiselect(key="peers.vendor").set_value(["Computronix"]).run()
    assert not at.exception
    table = ranked(at)
    assert len(table) >= 2 and set(table["Vendor"]) == {"Computronix"}
    assert {m.label: m.value for m in at.metric}["Peers compared"].startswith(f"{len(table)} of ")
    # Closed again, the lists are not drawn and the filter still holds; the title says it is on.
    at.session_state["peers_filters_open"] = False
    at.run()
    assert [m.key for m in at.main.get("multiselect")] == ["peers.compare"]
    assert set(ranked(at)["Vendor"]) == {"Computronix"}
    assert any(e.label == "Filter peers (1 filter on)" for e in at.expander)


def test_compare_two_peers_side_by_side_with_sources_and_claims():
    """Choosing Ottawa and Hamilton shows one column each, blanks as dashes, sources and vendor claims."""
    at = page("peers", agency=GUELPH)
    at.multiselect(key="peers.compare").set_value(["ottawa-on", "hamilton-on"]).run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if list(d.value.columns) == ["City of Ottawa", "City of Hamilton"])
    assert list(table.index) == peer_data.COMPARE_FACTS
    assert table.loc["Vendor", "City of Ottawa"] == "Computronix"
    assert table.loc["Vendor", "City of Hamilton"] == fmt.BLANK  # unknown stays blank
    assert "Census" in table.loc["Population", "City of Ottawa"]
    sources = next(d.value for d in at.dataframe if "url" in d.value.columns and "peer" in d.value.columns)
    assert set(sources["peer"]) == {"City of Ottawa", "City of Hamilton"}
    claims = next(d.value for d in at.dataframe if "claim" in d.value.columns)
    assert set(claims["kind"]) == {fmt.kind("vendor-stated")}


def test_contact_form_absent_when_edits_are_off(monkeypatch):
    """With editing switched off, peers without a contact say so and offer no form."""
    monkeypatch.delenv("PIGGYBACK_ALLOW_EDITS", raising=False)
    at = page("peers", agency=GUELPH)
    assert any(i.value.startswith("No public contact on file") for i in at.info)
    assert not [t for t in at.text_input if t.label == "Department or public role"]


def test_contact_form_present_for_a_steward_and_contacts_shown(monkeypatch):
    """With edits on, a peer without a contact offers the form; Ottawa's public pages are listed."""
    monkeypatch.setenv("PIGGYBACK_ALLOW_EDITS", "1")
    at = page("peers", agency=GUELPH)
    assert [t for t in at.text_input if t.label == "Department or public role"]
    at.selectbox(key="peer_pick").set_value("ottawa-on").run()
    assert not at.exception
    contacts = next(d.value for d in at.dataframe if "Department or role" in d.value.columns)
    assert len(contacts) == 3 and contacts["Contact"].str.startswith("https://").all()
    assert not [t for t in at.text_input if t.label == "Department or public role"]  # Ottawa has some
    # Choosing a peer opens its introduction, drafted then (a closed one is not drawn).
    assert next(e for e in at.expander if e.label.startswith("Ask for an introduction")).proto.expanded
    draft = at.text_area(key="peers_intro_ottawa-on").value
    assert "City of Ottawa" in draft and "Guelph" in draft and "[Your name]" in draft
    # Ottawa's contract record has no term, vehicle or clause: availability unknown, so the note asks.
    assert "We could not tell from the public record whether your contract is still in force" in draft
    assert any(b.label.startswith("Download the message") for b in at.get("download_button"))


def test_steward_adds_a_contact_through_the_form(monkeypatch, db_copy):
    """The form refuses an unconfirmed entry, then saves a department contact that the page lists."""
    monkeypatch.setenv("PIGGYBACK_ALLOW_EDITS", "1")
    monkeypatch.setenv("PIGGYBACK_DB", str(db_copy))  # this test writes: its own copy

    def fill(at, confirm: bool):
        field = {t.label: t for t in at.text_input}
        field["Department or public role"].input("City of Cambridge, Building Services")
        next(s for s in at.selectbox if s.label == "Channel").set_value("email")
        field["Address, number or page"].input("building@cambridge.ca")
        field["Where it is published (web address)"].input("https://www.cambridge.ca/en/build-invest-grow/")
        if confirm:
            next(c for c in at.checkbox if c.label.startswith("This is a department")).check()
        next(b for b in at.button if b.label == "Save contact point").click().run()

    at = page("peers", agency=GUELPH, peer="cambridge-on")
    fill(at, confirm=False)
    assert any("Confirm that this is a public" in e.value for e in at.error)
    assert any(i.value == "No public contact on file for City of Cambridge." for i in at.info)

    # A contact a steward saved (add_contact, tested above) is listed on the page as user-entered.
    from piggyback.data.store import Store

    steward = Store.open(db_copy)
    peer_data.add_contact(steward, "cambridge-on", "City of Cambridge, Building Services", "email",
                          "building@cambridge.ca", "https://www.cambridge.ca/en/build-invest-grow/", user=person("steward", "steward"))
    steward.close()
    from piggyback.ui import widgets
    widgets._open_store.clear()
    at = page("peers", agency=GUELPH, peer="cambridge-on")
    contacts = next(d.value for d in at.dataframe if "Department or role" in d.value.columns)
    assert contacts["Contact"].tolist() == ["mailto:building@cambridge.ca"]
    assert set(contacts["Kind"]) == {fmt.kind("user-entered")}


def test_own_deployment_chosen_as_the_peer_elsewhere_is_not_offered_here():
    """Fayetteville with its own deployment as the shared peer (chosen on another page): the page says
    the choice is not in its list, keeps it for the other pages and shows the three closest peers."""
    at = page("peers", agency="US-PL-05-143-23290", peer="fayetteville-ar")
    assert "fayetteville-ar" not in at.selectbox(key="peer_pick").options
    assert any("is not in this page's list; it stays chosen for the other pages" in c.value for c in at.caption)
    closest = ranked(at)["Peer"].head(3).tolist()
    lines = [m.value for m in at.markdown if " — score " in m.value]
    assert len(lines) == 3 and all(line.startswith(f"**{fmt.md_escape(n)}**") for line, n in zip(lines, closest))
    assert at.session_state["peer"] == "fayetteville-ar"


# -- The page's words, built in piggyback.analyses.peers ----------------------------------------


def _guelph_result(store, **settings):
    import datetime as dt

    from piggyback.analyses.peers import analyse_peers
    from piggyback.data.profile import profile_for
    return analyse_peers(store, profile_for(store, GUELPH), settings, today=dt.date(2026, 1, 15))


def test_weights_caption_says_preset_or_adjusted_and_what_is_left_out(store):
    """Guelph's profile lacks a legacy system and a permit volume: with the balanced preset both are
    named as left out; size only leaves nothing out; weights moved by hand say 'Adjusted from'."""
    from piggyback.analyses.peers import weights_caption
    balanced = weights_caption(_guelph_result(store))
    assert balanced.startswith("Preset **balanced**: ")
    assert balanced.endswith("Not in your agency's profile, so left out for every peer: legacy system, permit volume.")
    size = weights_caption(_guelph_result(store, preset="size only"))
    assert size == "Preset **size only**: population 100%."
    moved = weights_caption(_guelph_result(store, preset="size only", weights={"size": 50, "legal": 50}))
    assert moved.startswith("Adjusted from the **size only**: ") and "population 50%" in moved


def test_top_three_change_speaks_only_when_the_weights_alone_changed():
    from piggyback.analyses.peers import top_three_change
    last = {"weights": {"size": 100}, "filters": {}, "top": ["A", "B", "C"]}
    assert top_three_change(None, last) is None  # first run
    assert top_three_change(last, dict(last)) is None  # nothing moved
    assert top_three_change(last, {**last, "weights": {"size": 50}, "filters": {"vendor": ["X"]}}) is None
    same = top_three_change(last, {**last, "weights": {"size": 50}})
    assert same == (False, "With the new weights the top three did not change.")
    changed, text = top_three_change({**last, "top": ["[x](http://e)", "B", "C"]},
                                     {**last, "weights": {"size": 50}, "top": ["B", "A", "C"]}, fmt.md_escape)
    assert changed and text.startswith("With the new weights the top three changed: it was ")
    assert "[x](http://e)" not in text and fmt.md_escape("[x](http://e)") in text


def test_filter_words():
    """Codes in words, anything else as spelled; the title counts the filters on; the availability
    help names the date and every state."""
    import datetime as dt

    from piggyback.analyses import peers as an
    from piggyback.core.models import VEHICLES
    from piggyback.engines import availability as avail_mod
    assert an.filter_option_text("country", "CA") == "Canada"
    assert an.filter_option_text("country", "MX") == "MX"  # no words on file: as spelled, never 'None'
    assert an.filter_option_text("vehicle", "cooperative") == VEHICLES["cooperative"]
    assert an.filter_option_text("vendor", "Computronix") == "Computronix"
    assert [an.filters_title(n) for n in (0, 1, 2)] == ["Filter peers", "Filter peers (1 filter on)",
                                                        "Filter peers (2 filters on)"]
    tip = an.availability_help(dt.date(2026, 3, 1))
    assert tip.startswith("Judged on 2026-03-01 ") and all(avail_mod.STATE_LABELS[s] in tip for s in avail_mod.STATES)
    assert set(an.FILTER_LABELS) == set(an.FILTERS)


def test_notes_escape_names_and_stay_silent_when_empty(store):
    from piggyback.analyses import peers as an
    from piggyback.engines.similarity import SIMILARITY_ASSUMPTIONS
    result = _guelph_result(store)
    assert an.own_deployment_note(result) is None
    hostile = dataclass_replace(result, own=("City of <b>X</b>",), unknown_vendors=("[V](http://e)",))
    assert "&lt;b&gt;" in an.own_deployment_note(hostile, fmt.md_escape)
    assert an.unknown_vendors_note(hostile, fmt.md_escape).endswith(fmt.md_escape("[V](http://e)") + ".")
    assert an.map_caption(0, 12).startswith("Every peer shown has a map point.")
    assert an.map_caption(2, 12).startswith("2 of 12 peers have no map point on file")
    assert len(an.scales_table()) == len(SIMILARITY_ASSUMPTIONS)
    assert set(an.scales_table()[0]) == {"name", "value", "unit", "kind", "note"}
    names = an.peer_names(result)
    assert list(names) == [i["deployment_id"] for i in result.items] and names["ottawa-on"] == "City of Ottawa"
    line = an.peer_line({**result.item("ottawa-on"), "vendor": None}, fmt.md_escape)
    assert line.startswith("**City of Ottawa** — score ") and "vendor not known" in line


# -- Prospects page ---------------------------------------------------------------------------


def test_prospects_page_asks_for_a_reference_first():
    """Until a reference deployment is chosen, the page explains what to do and ranks nothing."""
    at = page("prospects")
    assert any("Choose the reference deployment" in i.value for i in at.info)
    assert not at.dataframe


def test_prospects_region_filter_lists_only_that_region_without_the_reference():
    """Ottawa as reference, Ontario only, 50k–200k: only Ontario, inside the band, Ottawa excluded."""
    at = page("prospects")
    at.selectbox(key="prospects.reference").set_value("ottawa-on")
    at.multiselect(key="prospects.regions").set_value(["ON"])
    at.number_input(key="prospects.pop_min").set_value(50_000)
    at.number_input(key="prospects.pop_max").set_value(200_000)
    at.run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "Legal framework" in d.value.columns)
    assert len(table) > 10
    assert set(table["Region"]) == {"ON"}
    assert table["Population"].between(50_000, 200_000).all()
    assert OTTAWA_GEO not in set(table["Census id"])
    assert set(table["Legal framework"]) == {"same province (ON)"}
    assert table["Score"].is_monotonic_decreasing
    download = [b for b in at.get("download_button") if b.label.startswith("Download all")]
    assert download
    assert at.query_params["ref"] in (["ottawa-on"], "ottawa-on")


def test_prospects_from_a_link_with_the_shared_peer():
    """A link with ?peer= opens Prospects on that reference, across the whole census by default."""
    at = page("prospects", peer="ottawa-on")
    table = next(d.value for d in at.dataframe if "Legal framework" in d.value.columns)
    assert len(table) == 50  # the default top N
    ranked_all = int({m.label: m.value for m in at.metric}["Jurisdictions ranked"].replace(",", ""))
    assert ranked_all > 30_000


# -- The glue: piggyback.data.peers ----------------------------------------------------------------


def test_peer_candidates_prefer_census_population_and_plain_lists(store):
    """Peers take the census population when linked, and module codes come as lists."""
    cands = peer_data.peer_candidates(store)
    ottawa = cands.set_index("deployment_id").loc["ottawa-on"]
    assert ottawa["population"] == 1_017_449
    assert isinstance(ottawa["module_codes"], list) and "building" in ottawa["module_codes"]
    again = peer_data.peer_candidates(store)  # built once per store frame (a shallow copy each call)
    assert again is not cands and np.shares_memory(again["population"].to_numpy(), cands["population"].to_numpy())


def test_prospect_candidates_filters(store):
    """Region, population band and kind filters apply together; the reference's own row is gone."""
    cands = peer_data.prospect_candidates(store, "ottawa-on", region=["ON", "QC"], pop_min=10_000,
                                          pop_max=20_000, jtypes=["Town"])
    assert len(cands) > 0 and set(cands["region"]) <= {"ON", "QC"}
    assert cands["population"].between(10_000, 20_000).all() and set(cands["jtype"]) == {"Town"}
    every = peer_data.prospect_candidates(store, "ottawa-on")
    assert OTTAWA_GEO not in set(every["geo_id"])
    assert len(every) == len(store.jurisdictions()) - 1
    with pytest.raises(UnknownPeer):
        peer_data.prospect_candidates(store, "atlantis")


@pytest.mark.parametrize("ref, other, expected", [
    (("CA", "ON"), ("CA", "ON"), "same province (ON)"),
    (("CA", "ON"), ("CA", "QC"), "Quebec's own law, other province (QC)"),
    (("CA", "QC"), ("CA", "ON"), "Quebec's own law, other province (ON)"),
    (("CA", "ON"), ("CA", "MB"), "CFTA, other province (MB)"),
    (("CA", "AB"), ("CA", "BC"), "NWPTA + CFTA, other province (BC)"),
    (("CA", "ON"), ("US", "NY"), "other country (US)"),
    (("US", "TX"), ("US", "TX"), "same state (TX)"),
    (("US", "TX"), ("US", "CA"), "other state (CA)"),
    (("US", "TX"), (None, None), fmt.BLANK),
])
def test_legal_match_label(ref, other, expected):
    """The legal-framework words match the engine's legal scale (same, NWPTA, CFTA, Quebec's
    own framework, other)."""
    assert peer_data.legal_match_label(*ref, *other) == expected


def test_prospects_csv_has_every_row_and_contributions(store):
    """The download frame lists every filtered jurisdiction with per-dimension contributions."""
    _, scored, _ = peer_data.rank_prospects(store, "ottawa-on", region="ON")
    frame = peer_data.prospects_csv_frame(scored)
    assert len(frame) == len(scored) and frame["rank"].tolist() == list(range(1, len(frame) + 1))
    contrib = [c for c in frame.columns if c.startswith("contribution: ")]
    assert len(contrib) == 5  # the census dimensions only
    assert (frame[contrib].fillna(0).sum(axis=1) - frame["score"]).abs().max() < 1e-5


def test_prospects_csv_neutralizes_formula_text(store):
    """A downloaded cell that starts like a formula (=, +, -, @) is written as text."""
    _, scored, _ = peer_data.rank_prospects(store, "ottawa-on", region="PE")
    scored = scored.head(3).copy()
    scored["jurisdiction"] = ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "Plain, PE"]
    text = peer_data.prospects_csv(scored).decode("utf-8").splitlines()
    assert text[1].startswith("1,\"'=HYPERLINK") and text[2].startswith("2,'@SUM(A1)")
    assert text[3].startswith('3,"Plain, PE"')


def test_add_contact_is_validated_saved_and_audited(writable_store):
    """A department contact is saved to user_contacts, audited, and listed after the seeded ones."""
    contact_id = peer_data.add_contact(
        writable_store, "cambridge-on", "City of Cambridge, Building Services", "email",
        "building@cambridge.ca", "https://www.cambridge.ca/en/build-invest-grow/building-permits.aspx",
        user=person("steward-a", "steward"), as_of="2025-03")
    contacts = peer_data.contacts_for(writable_store, "cambridge-on")
    assert len(contacts) == 1
    row = contacts.iloc[0]
    assert row["kind"] == "user-entered" and row["who"] == "local:steward-a" and row["as_of"] == "2025-03"
    audit = writable_store.audit_log()
    entry = audit[audit["action"] == "add contact"].iloc[0]
    assert entry["who"] == "local:steward-a" and contact_id in entry["detail"]


@pytest.mark.parametrize("department, channel, value, words", [
    ("Jane Smith", "email", "building@cambridge.ca", "department or public role"),
    ("Building Services", "email", "jane.smith@cambridge.ca", "looks like a person"),
    ("Building Services", "email", "not-an-address", "not an email address"),
    ("Building Services", "phone", "call me", "not a phone number"),
    ("Building Services", "web", "cambridge.ca/building", "web address"),
    ("Building Services", "fax", "519-000-0000", "channel"),
])
def test_add_contact_rejects_people_and_bad_values(writable_store, department, channel, value, words):
    """A person's name or address, a malformed value or an unknown channel is refused; nothing saved."""
    with pytest.raises(peer_data.ContactRejected, match=words):
        peer_data.add_contact(writable_store, "cambridge-on", department, channel, value,
                              "https://www.cambridge.ca/", user=person("steward-a", "steward"))
    assert peer_data.contacts_for(writable_store, "cambridge-on").empty
    assert not (writable_store.audit_log()["action"] == "add contact").any()


def test_add_contact_needs_a_known_peer_and_a_writable_store(store, writable_store):
    """An unknown peer is refused; a read-only store refuses to write."""
    with pytest.raises(UnknownPeer):
        peer_data.add_contact(writable_store, "atlantis", "Building Services", "web",
                              "https://example.org/", "https://example.org/")
    with pytest.raises(ReadOnlyStore):
        peer_data.add_contact(store, "cambridge-on", "Building Services", "web",
                              "https://example.org/", "https://example.org/")


def test_seeded_web_contacts_link_to_their_page(store):
    """Seeded contacts are department pages: the link is the page, the source is the same page."""
    contacts = peer_data.contacts_for(store, "ottawa-on")
    assert len(contacts) == 3
    assert (contacts["value"] == contacts["source_url"]).all()
    assert set(contacts["channel"]) == {"web"}


def test_peer_items_contributions_add_up(store):
    """The rows `similar --json` prints: contributions per dimension add up to the score."""
    from piggyback.data.profile import profile_for

    agency = profile_for(store, GUELPH)
    scored = peer_data.rank_peers(store, agency, "operational fit")
    items = peer_data.peer_items(agency, scored, "operational fit", top=5)
    assert len(items) == 5
    for item in items:
        assert set(item["contributions"]) == set(DIMENSIONS)
        assert sum(item["contributions"].values()) == pytest.approx(item["score"], abs=1e-12)
    json.dumps(items)  # plain values only


def test_peers_page_reports_a_vendor_missing_from_the_vendor_list(monkeypatch, db_copy):
    """A vendor spelling the vendor list does not know is shown as spelled and reported, never
    merged by guess (here the Clariti rows are removed from a private copy of the store)."""
    import duckdb

    con = duckdb.connect(str(db_copy))
    con.execute("DELETE FROM vendors WHERE vendor_id = ?", ["clariti"])
    con.close()
    monkeypatch.setenv("PIGGYBACK_DB", str(db_copy))
    at = open_filters(page("peers", agency=GUELPH))  # said beside the vendor list
    text = " ".join(c.value for c in at.caption)
    assert "Not in the vendor list, so shown as spelled and not merged with any other: Clariti Cloud Inc." in text
    assert "Clariti Cloud Inc." in at.multiselect(key="peers.vendor").options


def test_the_top_three_and_what_a_weight_changed_are_shown_beside_the_sliders():
    """Issue #15: the answer is where the eye is. 'Adjust weights' holds the top three with the
    weights in use (a plain table, the ranking's first three) and, after a slider moved, whether
    the top three changed; after a preset change that sentence is under the preset instead."""
    at = page("peers", agency=GUELPH)
    box = next(e for e in at.expander if e.label == "Adjust weights")
    assert box.table[0].value["Peer"].tolist() == ranked(at)["Peer"].head(3).tolist()
    at.slider(key="peers.w_size").set_value(0).run()
    box = next(e for e in at.expander if e.label == "Adjust weights")
    said = [m.value for m in box.info] + [c.value for c in box.caption]
    assert any(t.startswith("With the new weights the top three") for t in said), said
    assert box.table[0].value["Peer"].tolist() == ranked(at)["Peer"].head(3).tolist()
    at.selectbox(key="peers.preset").set_value("size only").run()
    box = next(e for e in at.expander if e.label == "Adjust weights")
    assert not [t for t in [m.value for m in box.info] + [c.value for c in box.caption] if t.startswith("With the new")]
    assert any(t.startswith("With the new weights the top three") for t in [*messages(at), *(c.value for c in at.caption)])
