"""The business case: figures from the engines with their basis, edits and records applied, and its page."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from streamlit.testing.v1 import AppTest

from piggyback.analyses.business_case import build_business_case, business_case_from_scenario, compare_cases, summary_rows
from piggyback.data.profile import profile_for
from piggyback.data.scenarios import open_scenario_store, payload_from_profile, snapshot_for

GUELPH = "CA-CSD-3523008"
TODAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def guelph_case(store):
    return build_business_case(store, profile_for(store, GUELPH), "fayetteville-ar", {}, today=TODAY)


def test_decision_figures_come_with_their_ranges_and_basis(guelph_case):
    """Months saved and each route's cost and NPV are given with a range and what they rest on."""
    case = guelph_case.to_dict()
    ms = case["timeline"]["months_saved"]
    assert ms["p10"] <= ms["p50"] <= ms["p90"] and ms["p50"] > 0
    figs = {f["key"]: f for f in case["key_figures"]}
    assert figs["months_saved"]["display"] == f"{ms['p50']:.1f} months"
    for route in ("traditional", "piggyback"):
        r = case["cost"]["routes"][route]
        assert r["low"] <= r["total"] <= r["high"]
        assert r["npv_low"] <= r["npv"] <= r["npv_high"]
        assert r["npv"] < r["total"]  # positive discount rate
        assert figs[f"cost_{route}"]["value"] == r["total"]
    # Both routes price the same lines: only the procurement cost differs.
    routes = case["cost"]["routes"]
    assert routes["traditional"]["total"] - routes["piggyback"]["total"] == pytest.approx(
        routes["traditional"]["procurement_cost"] - routes["piggyback"]["procurement_cost"], abs=0.05)
    for f in case["key_figures"]:
        assert f["basis"], f"{f['key']} has no basis"
    json.dumps(case)  # plain JSON all the way down


def test_every_cost_figure_traces_to_sourced_items_and_assumptions(guelph_case):
    """The cost figures' references are the priced items (each with its source listed) and named assumptions."""
    case = guelph_case.to_dict()
    refs = next(f for f in case["key_figures"] if f["key"] == "cost_piggyback")["refs"]
    item_ids = {ln["item_id"] for ln in case["cost"]["items"]}
    assumption_ids = {a["assumption_id"] for a in case["assumptions"]}
    assert item_ids and item_ids <= set(refs)
    assert set(refs) - item_ids <= assumption_ids
    cited = {s["url"] for s in case["sources"]}
    for ln in case["cost"]["items"]:
        assert ln["source_url"] in cited
    timeline_refs = next(f for f in case["key_figures"] if f["key"] == "months_saved")["refs"]
    assert set(timeline_refs) <= assumption_ids and len(timeline_refs) == len(case["timeline"]["result"]["phases"])


def test_closest_peers_are_ranked_with_reasons_and_exclude_the_agency(store):
    """Ottawa's own deployment is not its own peer; the top five come best first, each with reasons."""
    case = build_business_case(store, profile_for(store, "CA-CSD-3506008"), None, {}, today=TODAY).to_dict()
    top = case["peers"]["top"]
    assert len(top) == 5 and "ottawa-on" not in [p["deployment_id"] for p in top]
    scores = [p["score"] for p in top]
    assert scores == sorted(scores, reverse=True)
    assert all(p["reasons"] for p in top)
    assert case["cost"]["status"] == "no_peer"
    assert any("No peer contract" in r["text"] for r in case["risks"])


def test_no_price_schedule_stays_blank_and_is_a_risk(store):
    """A peer without prices on file gives no cost (not zero), and the risks say so first among cost risks."""
    case = build_business_case(store, profile_for(store, GUELPH), "ottawa-on", {}, today=TODAY).to_dict()
    assert case["cost"]["status"] == "no_schedule" and case["cost"]["routes"] == {}
    figs = {f["key"]: f for f in case["key_figures"]}
    assert figs["cost"]["display"] == "—" and "No price schedule on file" in figs["cost"]["basis"]
    assert any(r["severity"] == "high" and "No price schedule" in r["text"] for r in case["risks"])


def test_vendor_claims_and_sources_are_marked(store):
    """Vendor claims about Ottawa are listed as vendor-stated and counted among the risks."""
    case = build_business_case(store, profile_for(store, GUELPH), "ottawa-on", {}, today=TODAY).to_dict()
    ottawa = [c for c in case["claims"] if c["deployment_id"] == "ottawa-on"]
    assert ottawa and all(c["kind"] == "vendor-stated" for c in ottawa)
    assert any(r["topic"] == "vendor-stated" and "City of Ottawa" in r["text"] for r in case["risks"])
    assert any(s["kind"] == "vendor-stated" for s in case["sources"])
    kinds = {s["kind"] for s in case["sources"]}
    assert "primary" in kinds
    for s in case["sources"]:
        assert s["url"] or s["title"], s
    # Every source listed has a confidence; a recorded duration's is the weaker of its two events'.
    assert all(s["confidence"] in ("low", "medium", "high") for s in case["sources"]), \
        [s["url"] for s in case["sources"] if not s["confidence"]]
    assert any(u.startswith("recorded duration") for s in case["sources"] for u in s["used_for"])


def test_weakest_confidence_is_the_less_sure_of_the_facts():
    from piggyback.core.models import weakest_confidence
    assert weakest_confidence("high", "medium") == "medium"
    assert weakest_confidence("low", "high") == "low"
    assert weakest_confidence("high", None, "") == "high"
    assert weakest_confidence(None, "unknown") is None


def test_page_settings_change_the_figures_and_are_marked_edited(store):
    """A longer needs phase saves more months; a higher discount lowers the NPV but not the total."""
    profile = profile_for(store, GUELPH)
    base = build_business_case(store, profile, "fayetteville-ar", {}, today=TODAY).to_dict()
    edited = build_business_case(store, profile, "fayetteville-ar", {
        "timeline": {"overrides": {"tl.rfp.needs": {"low": 8, "likely": 12, "high": 20}}},
        "pricing": {"assumptions": {"pricing.discount_rate": 8.0}},
    }, today=TODAY).to_dict()
    assert edited["timeline"]["months_saved"]["p50"] > base["timeline"]["months_saved"]["p50"] + 5
    b, e = base["cost"]["routes"]["piggyback"], edited["cost"]["routes"]["piggyback"]
    assert e["total"] == pytest.approx(b["total"]) and e["npv"] < b["npv"]
    rows = {a["assumption_id"]: a for a in edited["assumptions"]}
    assert rows["tl.rfp.needs"]["edited"] and rows["tl.rfp.needs"]["kind"] == "user-entered"
    assert rows["pricing.discount_rate"]["edited"] and rows["pricing.discount_rate"]["value"] == 8.0
    assert not rows["pricing.fx_cad_per_usd"]["edited"]


def test_recorded_evidence_turns_a_rule_to_pass(store):
    """Evidence in the scenario's snapshot passes the rule it was recorded for (and nothing else changes)."""
    profile = profile_for(store, GUELPH)
    empty = build_business_case(store, profile, "fayetteville-ar", {}, today=TODAY,
                                snapshot={"evidence": [], "price_items": []}).to_dict()
    status = {r["rule_id"]: r["status"] for r in empty["compliance"]["results"]}
    assert status["ALL-03"] == "needs_evidence"
    snap = {"price_items": [], "evidence": [{"rule_id": "ALL-03", "note": "Clause 9 of the NJPA contract",
                                             "document": None, "link": None}]}
    with_ev = build_business_case(store, profile, "fayetteville-ar", {}, today=TODAY, snapshot=snap).to_dict()
    after = {r["rule_id"]: r["status"] for r in with_ev["compliance"]["results"]}
    assert after["ALL-03"] == "pass"
    assert {k for k in status if status[k] != after[k]} == {"ALL-03"}


def test_a_quote_costs_a_peer_without_a_price_schedule(store):
    """A quote entered for Ottawa's contract (no seeded prices) gives a cost, based on the quote."""
    record = {"item_id": "quote-saas", "deployment_id": "ottawa-on", "category": "subscription",
              "description": "POSSE SaaS quote", "basis": "per_year", "amount": 150000, "currency": "CAD",
              "price_year": 2026, "recurrence": "recurring", "confidence": "medium", "kind": "user-entered"}
    snap = {"evidence": [], "price_items": [{"item_id": "quote-saas", "record": record}]}
    case = build_business_case(store, profile_for(store, GUELPH), "ottawa-on", {}, today=TODAY,
                               snapshot=snap).to_dict()
    assert case["cost"]["status"] == "ok" and case["cost"]["basis"] == "quote"
    lines = case["cost"]["items"]
    assert [ln["item_id"] for ln in lines] == ["quote-saas"] and lines[0]["kind"] == "user-entered"
    # 150,000 a year, not rescaled, escalated by the default 3 %/yr over 10 years.
    expected = sum(150000 * 1.03 ** t for t in range(10))
    assert lines[0]["total"] == pytest.approx(expected, rel=1e-6)


def test_same_inputs_same_case_and_scenarios_compare(store, writable_store):
    """Building twice gives the same case; a saved scenario rebuilds it; two scenarios compare by figure."""
    profile = profile_for(store, GUELPH)
    a = build_business_case(store, profile, "fayetteville-ar", {}, today=TODAY).to_dict()
    assert build_business_case(store, profile, "fayetteville-ar", {}, today=TODAY).to_dict() == a
    ss = open_scenario_store(writable_store)
    wp = profile_for(writable_store, GUELPH)
    s1 = ss.save("base", payload_from_profile(wp, peer="fayetteville-ar",
                                             snapshot=snapshot_for(writable_store, GUELPH, "fayetteville-ar")))
    s2 = ss.save("dearer money", payload_from_profile(wp, peer="fayetteville-ar", settings={
        "pricing": {"assumptions": {"pricing.discount_rate": 8.0}}}))
    c1 = business_case_from_scenario(writable_store, s1, today=TODAY).to_dict()
    c2 = business_case_from_scenario(writable_store, s2, today=TODAY).to_dict()
    assert c1["key_figures"] == a["key_figures"]
    rows = {r["key"]: r for r in compare_cases(c1, c2)}
    assert rows["cost_piggyback"]["a"] == rows["cost_piggyback"]["b"]
    assert rows["npv_piggyback"]["a"] != rows["npv_piggyback"]["b"]
    labels = [r["label"] for r in summary_rows(c1)]
    assert labels[0] == "Months saved (median)" and "Compliance verdict" in labels


# -- the page ----------------------------------------------------------------------------------

@pytest.fixture()
def page_db(db_copy, monkeypatch):
    """The page runs on a private copy of the database (it saves scenarios)."""
    monkeypatch.setenv("PIGGYBACK_DB", str(db_copy))
    return db_copy


def _open(params: dict) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/business_case.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_shows_the_decision_figures_of_the_case(page_db, store):
    """With an agency and a peer, the metrics are the case's own figures."""
    at = _open({"agency": GUELPH, "peer": "fayetteville-ar"})
    metrics = {m.label: m.value for m in at.metric}
    case = build_business_case(store, profile_for(store, GUELPH), "fayetteville-ar", {}).to_dict()
    figs = {f["key"]: f for f in case["key_figures"]}
    assert metrics["Months saved (median)"] == figs["months_saved"]["display"]
    assert metrics["10-year cost, piggyback"] == figs["cost_piggyback"]["display"]
    assert metrics["10-year cost, new RFP"] == figs["cost_traditional"]["display"]
    # Fayetteville's award 2018-06-19 + its 5-year term ended 2023-06-19: the active-term blocker fails
    assert metrics["Compliance"] == case["compliance"]["verdict"]["headline"] == "Blocked"
    assert at.button(key="bc_pdf_build") is not None


def test_details_are_drawn_only_once_their_expander_is_opened(page_db, store):
    """#15: the assumptions, sources and checklist expanders start closed and send no table; opening
    one (a click reruns the page) draws its table with the case's rows, the others stay empty."""
    at = _open({"agency": GUELPH, "peer": "fayetteville-ar"})
    case = build_business_case(store, profile_for(store, GUELPH), "fayetteville-ar", {}).to_dict()

    def details():
        return {e.label.split(" (")[0]: e for e in at.expander
                if e.label.startswith(("Assumptions (", "Sources (", "Compliance checklist ("))}

    assert list(details()) == ["Assumptions", "Sources", "Compliance checklist"]
    assert all(not e.proto.expanded and not e.children for e in details().values())
    at.session_state["bc_sources_open"] = True
    at.session_state["bc_checklist_open"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = details()
    assert not shown["Assumptions"].children
    addresses = [a if isinstance(a, str) else None for a in shown["Sources"].dataframe[0].value["Address"]]
    assert addresses == [s.get("url") for s in case["sources"]]
    assert list(shown["Compliance checklist"].dataframe[0].value["Rule"]) == [
        r["rule_id"] for r in case["compliance"]["results"]]
    at.session_state["bc_assumptions_open"] = True
    at.run()
    assert list(details()["Assumptions"].dataframe[0].value["Id"]) == [a["assumption_id"] for a in case["assumptions"]]


def test_save_scenario_appears_in_the_list_with_its_link(page_db):
    """Saving under a name lists the scenario, shows its link and stores the agency and peer."""
    at = _open({"agency": GUELPH, "peer": "fayetteville-ar"})
    at.text_input(key="bc_name").set_value("Committee, March")
    at.button(key="bc_save").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Saved 'Committee, March' (version 1)." in [s.value for s in at.success]
    picks = at.selectbox(key="bc_pick")
    assert any(o.startswith("Committee, March — Guelph, ON · fayetteville-ar") for o in picks.options)
    links = [c.value for c in at.code]
    assert len(links) == 1 and "?scenario=" in links[0]
    from piggyback.data.store import Store

    s = Store.open(page_db)  # same settings as the app's connection in this process
    try:
        saved = open_scenario_store(s).get_by_name("Committee, March")
    finally:
        s.close()
    assert links[0].endswith(saved.id)
    assert saved.payload["agency"]["geo_id"] == GUELPH and saved.peer == "fayetteville-ar"


def test_scenario_link_restores_agency_peer_and_settings(page_db):
    """Opening ?scenario=<id> (no agency in the URL) restores the agency, the peer and the settings."""
    from piggyback.data.store import Store

    s = Store.open(page_db)
    try:
        profile = profile_for(s, "US-CO-48453", permit_volume=9000)
        saved = open_scenario_store(s).save("Travis", payload_from_profile(profile, peer="fayetteville-ar", settings={
            "pricing": {"assumptions": {"pricing.discount_rate": 7.5}}}))
    finally:
        s.close()
    at = _open({"scenario": saved.id})
    assert at.session_state["agency_geo"] == "US-CO-48453"
    assert at.session_state["peer"] == "fayetteville-ar"
    assert at.session_state["in_permits"] == 9000
    assert at.session_state["scenario"]["pricing"]["assumptions"] == {"pricing.discount_rate": 7.5}
    assert at.text_input(key="bc_name").value == "Travis"
    assert {m.label for m in at.metric} >= {"Months saved (median)", "10-year cost, piggyback"}


def test_a_deleted_scenario_link_says_so(page_db):
    """A link to a scenario that is not on file shows a clear error, not a traceback."""
    at = _open({"agency": GUELPH, "scenario": "0123456789abcdef"})
    assert any("could not be opened" in e.value and "0123456789abcdef" in e.value for e in at.error)


def test_meeting_mode_hides_controls_and_keeps_the_figures(page_db):
    """In meeting mode the page shows the decision figures and charts, and no editing or export controls."""
    at = _open({"agency": GUELPH, "peer": "fayetteville-ar", "meeting": "1"})
    assert {m.label for m in at.metric} == {"Months saved (median)", "10-year cost, piggyback",
                                            "10-year cost, new RFP", "Compliance"}
    keys = {w.key for w in list(at.text_input) + list(at.button) + list(at.selectbox)}
    assert not {"bc_name", "bc_save", "bc_pdf_build", "bc_pick", "peer"} & keys
    assert len(at.get("plotly_chart")) == 2
    assert {m.label: m.value for m in at.metric}["10-year cost, piggyback"].endswith("CAD")  # the link's peer


def test_open_button_switches_to_another_saved_scenario_and_compare_shows_both(page_db):
    """The list holds this agency's scenarios only (another agency's opens by its link); choosing one
    and pressing Open loads its peer; the compare table shows both."""
    from piggyback.data.store import Store

    s = Store.open(page_db)
    try:
        ss = open_scenario_store(s)
        ss.save("Travis plan", payload_from_profile(profile_for(s, "US-CO-48453"), peer="fayetteville-ar"))
        ss.save("Guelph plan", payload_from_profile(profile_for(s, GUELPH), peer="fayetteville-ar"))
        other = ss.save("Guelph on Ottawa", payload_from_profile(profile_for(s, GUELPH), peer="ottawa-on"))
    finally:
        s.close()
    at = _open({"agency": GUELPH})
    options = at.selectbox(key="bc_pick").options
    assert not any(o.startswith("Travis plan") for o in options)
    at.selectbox(key="bc_pick").set_value(other.id)
    at.run()
    at.button(key="bc_open").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["agency_geo"] == GUELPH and at.session_state["peer"] == "ottawa-on"
    assert at.session_state["_scenario"]["name"] == "Guelph on Ottawa"
    assert at.query_params["scenario"] == [other.id] or at.query_params["scenario"] == other.id
    table = at.dataframe[-1].value
    assert sorted(list(table.columns)[1:]) in (["A: Guelph on Ottawa", "B: Guelph plan"],
                                               ["A: Guelph plan", "B: Guelph on Ottawa"])
    peer_row = table[table["Figure"] == "Peer contract"].iloc[0].tolist()[1:]
    assert len(set(peer_row)) == 2



@pytest.mark.parametrize("steward", [False, True])
def test_only_the_owner_or_a_steward_sees_rename_and_delete_enabled(page_db, monkeypatch, steward):
    """A member who opens someone else's scenario by its link sees it listed, may duplicate it, but
    finds Rename disabled and no Delete; a steward gets both (the scenario store checks again)."""
    from conftest import person

    from piggyback.data.store import Store

    s = Store.open(page_db)
    try:
        alices = open_scenario_store(s).save("Alice's plan", payload_from_profile(
            profile_for(s, GUELPH), peer="fayetteville-ar"), user=person("alice", "member", "oidc"))
    finally:
        s.close()
    if steward:
        monkeypatch.setenv("PIGGYBACK_ALLOW_EDITS", "1")
    at = _open({"scenario": alices.id})
    assert at.selectbox(key="bc_pick").value == alices.id
    assert at.button(key="bc_rename").disabled is not steward
    assert not at.button(key="bc_duplicate").disabled
    assert ("bc_delete" in {b.key for b in at.button}) is steward
    if not steward:
        assert any("only its owner or a steward may change or delete it" in c.value for c in at.caption)


def test_decision_figures_as_shown_keep_the_case_wording_and_say_why_a_cost_is_blank(store, guelph_case):
    """tables.decision_figures (what the page shows): months saved, both ten-year costs with their
    NPV, the verdict; a peer without prices gives a blank cost that says why, never a number."""
    from piggyback.figures import tables
    case = guelph_case.to_dict()
    figs = {f["key"]: f for f in case["key_figures"]}
    shown = {f["label"]: f for f in tables.decision_figures(case)}
    assert list(shown) == ["Months saved (median)", "10-year cost, piggyback", "10-year cost, new RFP", "Compliance"]
    assert shown["10-year cost, piggyback"]["value"] == figs["cost_piggyback"]["display"]
    assert shown["10-year cost, new RFP"]["caption"].startswith(f"NPV {figs['npv_traditional']['display']} · ")
    assert shown["Compliance"]["value"] == case["compliance"]["verdict"]["headline"]
    blank = build_business_case(store, profile_for(store, GUELPH), "ottawa-on", {}, today=TODAY).to_dict()
    cost = {f["label"]: f for f in tables.decision_figures(blank)}["10-year cost, piggyback"]
    assert cost["value"] == "—" and cost["caption"] == "No price schedule on file"
