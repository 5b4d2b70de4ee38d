"""Timeline page through AppTest: key figures, edits kept in the scenario, reset, calibration,
value of time, vendor claims, meeting mode."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from piggyback.core import fmt
from piggyback.analyses.timeline import analyse_timeline
from piggyback.data.profile import profile_for
from piggyback.engines.timeline import (
    calibrate_implementation,
    first_of_next_month,
    peer_durations,
)

GUELPH = "CA-CSD-3523008"
PAGE = "pages/timeline_savings.py"
METRICS = ["Months saved (median)", "New RFP go-live (median)", "Piggyback go-live (median)",
           "Chance piggyback is sooner"]


def open_page(scenario: dict | None = None, meeting: bool = False, agency: str | None = GUELPH):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if agency:
        at.query_params["agency"] = agency
    if meeting:
        at.query_params["meeting"] = "1"
    if scenario is not None:
        at.session_state["scenario"] = scenario
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at, label: str):
    return next(m for m in at.metric if m.label == label)


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def section(at) -> dict:
    return at.session_state["scenario"]["timeline"]


def expected(store, *, overrides=None, calibration=None, seed=0, draws=10_000, method="pert", vot=None,
             peer=None):
    """What the page should show: the one timeline analysis for the same settings."""
    settings = {"start": first_of_next_month(dt.date.today()).isoformat(), "seed": seed, "draws": draws,
                "method": method, "overrides": overrides or {}, "calibration": calibration,
                "value_of_time": vot or {}}
    return analyse_timeline(store, profile_for(store, GUELPH), peer, settings, today=dt.date.today())


def table_with(at, column: str):
    """The first table on the page that has ``column`` (the page's order may change)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_key_figures_are_the_engines_numbers_with_their_ranges(store):
    """The four metrics show the engine's median months saved, go-live months and probability
    for the default start, seed 0 and 10,000 PERT draws, with P10-P90 and what they rest on."""
    at = open_page()
    assert [m.label for m in at.metric][:4] == METRICS
    res = expected(store)
    saved = metric(at, "Months saved (median)")
    assert saved.value == fmt.months(res.months_saved["p50"])
    assert saved.proto.delta == (f"P10–P90: {res.months_saved['p10']:.1f} to "
                                 f"{res.months_saved['p90']:.1f}")
    assert "10,000 draws" in saved.proto.help and "seed 0" in saved.proto.help
    go_live = res.simulation["routes"]["piggyback"]["go_live"]["p50"]
    pb = metric(at, "Piggyback go-live (median)")
    assert pb.value == dt.date.fromisoformat(go_live).strftime("%b %Y")
    assert go_live in pb.proto.help  # the exact day is one hover away
    assert metric(at, "Chance piggyback is sooner").value == fmt.probability(res.prob_piggyback_faster)
    assert len(at.get("plotly_chart")) == 2  # Gantt and histogram
    assert section(at)["seed"] == 0 and section(at)["draws"] == 10_000
    assert section(at)["start"] == first_of_next_month(dt.date.today()).isoformat()


def test_same_seed_same_numbers_and_a_new_seed_is_kept(store):
    """Rerunning gives identical figures; a new seed changes the draws and is kept in the
    scenario."""
    at = open_page()
    first = [(m.value, m.proto.delta) for m in at.metric]
    at.run()
    assert [(m.value, m.proto.delta) for m in at.metric] == first
    at.number_input(key="timeline.seed").set_value(7).run()
    assert not at.exception
    assert section(at)["seed"] == 7
    res = expected(store, seed=7)
    assert metric(at, "Months saved (median)").proto.delta == (
        f"P10–P90: {res.months_saved['p10']:.1f} to {res.months_saved['p90']:.1f}")
    assert "seed 7" in metric(at, "Months saved (median)").proto.help


def test_a_loaded_scenario_replaces_the_settings_on_screen(store):
    """When a scenario written elsewhere changes the section, the widgets follow it."""
    at = open_page()
    at.number_input(key="timeline.seed").set_value(3).run()
    scenario = at.session_state["scenario"]
    scenario["timeline"] = {**scenario["timeline"], "seed": 11, "start": "2028-03-01",
                            "value_of_time": {"backlog_cost": [10.0, 20.0, 30.0]}}
    at.session_state["scenario"] = scenario
    at.run()
    assert not at.exception
    assert at.number_input(key="timeline.seed").value == 11
    assert at.date_input(key="timeline.start").value == dt.date(2028, 3, 1)
    assert at.number_input(key="timeline.value_of_time.backlog_cost.2").value == 30.0
    assert "seed 11" in metric(at, "Months saved (median)").proto.help
    assert any(m.label.startswith("Value of the months saved") for m in at.metric)


def test_triangular_option_changes_the_spread(store):
    """Choosing the triangular distribution reruns with it (and says why it is there)."""
    at = open_page()
    at.radio(key="timeline.method").set_value("triangular").run()
    res = expected(store, method="triangular")
    assert metric(at, "Months saved (median)").value == fmt.months(res.months_saved["p50"])
    assert section(at)["method"] == "triangular"
    assert "pessimistic" in at.radio(key="timeline.method").help  # why it is there, in the Advanced expander


def test_overrides_in_the_scenario_drive_the_figures_and_are_marked_edited(store):
    """Edits kept in the scenario section are applied and shown as 'edited by user'."""
    edit = {"tl.rfp.needs": {"low": 6, "likely": 8, "high": 12}}
    at = open_page({"timeline": {"overrides": edit}})
    res = expected(store, overrides=edit)
    assert res.months_saved["p50"] != expected(store).months_saved["p50"]
    assert metric(at, "Months saved (median)").value == fmt.months(res.months_saved["p50"])
    table = table_with(at, "note").set_index("id")
    assert table.loc["tl.rfp.needs", "kind"] == "edited by user"
    assert (table.loc["tl.rfp.needs", ["low", "likely", "high"]].tolist()) == [6, 8, 12]
    assert table.loc["tl.rfp.drafting", "kind"] == fmt.kind("secondary")
    assert "was 2 / 4 / 9 months" in table.loc["tl.rfp.needs", "note"]
    assert section(at)["overrides"] == edit


def test_an_invalid_override_is_reported_and_not_used(store):
    """An out-of-order range in the scenario is shown with st.error; the figures use the defaults
    and the edit is not thrown away."""
    bad = {"tl.rfp.needs": {"low": 9, "likely": 4, "high": 2}}
    at = open_page({"timeline": {"overrides": bad}})
    assert any("low ≤ most likely ≤ high" in e.value for e in at.error)
    assert metric(at, "Months saved (median)").value == fmt.months(
        expected(store).months_saved["p50"])
    assert section(at)["overrides"] == bad


def test_reset_to_defaults_drops_edits_and_calibration(store):
    """'Reset to defaults' empties the overrides and calibration and restores the seeded table."""
    edit = {"tl.pb.legal": {"low": 3, "likely": 6, "high": 9}}
    at = open_page({"timeline": {"overrides": edit}})
    assert metric(at, "Months saved (median)").value == fmt.months(
        expected(store, overrides=edit).months_saved["p50"])
    button(at, "Reset to defaults").click().run()
    assert not at.exception
    assert section(at)["overrides"] == {} and "calibration" not in section(at)
    assert metric(at, "Months saved (median)").value == fmt.months(
        expected(store).months_saved["p50"])
    table = table_with(at, "note").set_index("id")
    assert "edited by user" not in set(table["kind"])
    assert table.loc["tl.pb.legal", "likely"] == 1.0


def test_calibration_button_sets_implementation_from_peers_and_records_it(store):
    """The calibration button records the peers' range in the scenario, shows it as derived,
    says how many peers informed it, and the figures use it."""
    at = open_page()
    button(at, "Set implementation from the most similar peers").click().run()
    assert not at.exception
    cal = section(at)["calibration"]
    assert len(cal["similar_ids"]) == 5 and cal["n_peers"] >= 1
    want = calibrate_implementation(peer_durations(store.peers()), cal["similar_ids"])
    assert {k: cal[k] for k in ("low", "likely", "high", "n_peers", "peer_ids", "basis")} == {
        k: want[k] for k in ("low", "likely", "high", "n_peers", "peer_ids", "basis")}
    table = table_with(at, "note").set_index("id")
    assert table.loc["tl.impl.golive", "kind"] == fmt.kind("derived")
    assert table.loc["tl.impl.golive", "likely"] == want["likely"]
    assert any(f"same {want['n_peers']} peer(s)" in s.value for s in at.success)
    res = expected(store, calibration=cal)
    assert res.simulation["routes"]["piggyback"]["go_live"]["p50"] in metric(
        at, "Piggyback go-live (median)").proto.help
    button(at, "Remove the calibration").click().run()
    assert "calibration" not in section(at)
    assert table_with(at, "note").set_index("id").loc["tl.impl.golive", "kind"] == fmt.kind(
        "assumption")


def test_peers_durations_table_shows_spans_and_precision():
    """The calibration table lists the peers with dates, their spans with precision, and Washoe's
    28.3-month award to go-live."""
    at = open_page()
    table = table_with(at, "award_to_golive")
    washoe = table[table["peer"].str.startswith("Washoe")].iloc[0]
    assert washoe["award_to_golive"] == "28.3 mo (day)"
    assert washoe["rfp_to_award"].startswith("≈")  # the RFP date is year-only
    assert (table["contract_award"] == fmt.BLANK).any()  # a blank stays blank


def test_value_of_time_is_blank_until_entered_then_a_money_range(store):
    """No value is computed by default; entering a backlog cost range gives the money range of
    the months saved; a half-filled range is an error, not a guess."""
    at = open_page()
    assert not any(m.label.startswith("Value of the months saved") for m in at.metric)
    assert any("Not computed" in c.value for c in at.caption)
    for i, v in enumerate((1000.0, 2000.0, 4000.0)):
        at.number_input(key=f"timeline.value_of_time.backlog_cost.{i}").set_value(v)
    at.run()
    value = metric(at, "Value of the months saved (median, CAD)")
    res = expected(store, vot={"backlog_cost": [1000.0, 2000.0, 4000.0]})
    assert value.value == fmt.money(res.simulation["value_of_time"]["p50"], "CAD")
    assert section(at)["value_of_time"]["backlog_cost"] == [1000.0, 2000.0, 4000.0]
    # the months figures do not move when a value of time is added
    assert metric(at, "Months saved (median)").value == fmt.months(res.months_saved["p50"])
    half = open_page()
    half.number_input(key="timeline.value_of_time.backlog_cost.0").set_value(500.0).run()
    assert any("fill in low, most likely and high" in e.value for e in half.error)
    assert not any(m.label.startswith("Value of the months saved") for m in half.metric)


def test_vendor_claims_are_shown_beside_the_model_as_vendor_stated(store):
    """The vendor's 12-24 months and 'a matter of months' appear, labelled vendor-stated, next to
    the model's decision-to-contract months."""
    at = open_page()
    text = " ".join(m.value for m in at.markdown)
    assert "**Vendor-stated** (New RFP)" in text and "12" in text and "24" in text
    assert "a matter of months" in text
    award = expected(store).simulation["routes"]["traditional"]["award_months"]
    assert f"median {award['p50']:.1f} months" in text


def test_candidate_peer_shows_its_actual_durations():
    """With ?peer=washoe-nv the page states the peer's published dates and award-to-go-live time."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["agency"] = GUELPH
    at.query_params["peer"] = "washoe-nv"
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    text = " ".join(c.value for c in at.caption)
    assert fmt.md_escape("Its contract award to go-live took 28.3 months (day precision)") in text


INPUTS = ("number_input", "date_input", "radio", "slider")


def test_meeting_mode_shows_no_inputs_only_the_settings_in_use(store):
    """Meeting mode (#15) draws no input on the page (not even disabled ones), no data editor and
    no Advanced expander; one caption states the peer, start date, contract value with its basis
    and the authority, above the four key figures, which are the analysis's for those settings."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(agency=GUELPH, peer="washoe-nv", meeting="1")
    at.session_state["scenario"] = {"timeline": {"start": "2027-04-01", "contract_value": 2_500_000.0}}
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    assert {kind: len(at.get(kind)) for kind in INPUTS} == {kind: 0 for kind in INPUTS}
    assert "peer_pick" not in {s.key for s in at.selectbox}
    assert all(df.proto.editing_mode == df.proto.EditingMode.READ_ONLY for df in at.dataframe)
    assert not {"Advanced: simulation settings", "Value of time (optional)"} & {e.label for e in at.expander}
    labels = [b.label for b in at.button]
    assert "Reset to defaults" not in labels
    assert "Set implementation from the most similar peers" not in labels
    main = [e for e in at.main if type(e).__name__ in ("Caption", "Metric")]
    summary = main[0].value
    assert "Peer contract\\: Washoe County" in summary and "Start date 2027\\-04\\-01" in summary
    assert fmt.md_escape("contract value 2.50 M CAD (entered by user)") in summary
    assert fmt.md_escape("delegated authority:") in summary
    assert [e.label for e in main[1:5]] == METRICS  # the figures right under it, before the page's caption
    res = analyse_timeline(store, profile_for(store, GUELPH), "washoe-nv",
                           {"start": "2027-04-01", "contract_value": 2_500_000.0}, today=dt.date.today())
    assert metric(at, "Months saved (median)").value == fmt.months(res.months_saved["p50"])
    assert fmt.md_escape(res.inputs["contract_value_basis"]) in summary


def test_settings_survive_meeting_mode_and_another_page():
    """Values typed on the page are kept in the scenario section: leaving meeting mode, or going to
    another page and back, draws the widgets with them again and the figures still use them."""
    at = open_page()
    at.number_input(key="timeline.seed").set_value(5)
    at.number_input(key="timeline.contract_value").set_value(3_000_000.0)
    at.date_input(key="timeline.start").set_value(dt.date(2027, 6, 1))
    at.number_input(key="timeline.value_of_time.backlog_cost.1").set_value(40.0).run()
    kept = {k: section(at)[k] for k in ("seed", "contract_value", "start")}
    assert kept == {"seed": 5, "contract_value": 3_000_000.0, "start": "2027-06-01"}
    at.toggle(key="meeting").set_value(True).run()
    assert not at.get("number_input") and "seed 5" in metric(at, "Months saved (median)").proto.help
    at.toggle(key="meeting").set_value(False).run()
    at.switch_page("pages/compliance_checklist.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.number_input(key="timeline.seed").value == 5
    assert at.number_input(key="timeline.contract_value").value == 3_000_000.0
    assert at.date_input(key="timeline.start").value == dt.date(2027, 6, 1)
    assert at.number_input(key="timeline.value_of_time.backlog_cost.1").value == 40.0
    assert {k: section(at)[k] for k in kept} == kept
    assert section(at)["value_of_time"]["backlog_cost"] == [None, 40.0, None]
    assert "seed 5" in metric(at, "Months saved (median)").proto.help


def test_opening_a_saved_scenario_restores_its_timeline_settings(db_copy, monkeypatch, store):
    """A scenario opened over the page's own values puts its settings in the widgets, even numbers
    of the other type (draws 20000.0) or out of a widget's range (a negative value: blank)."""
    from piggyback.data.scenarios import open_scenario_store, payload_from_profile
    from piggyback.data.store import Store

    monkeypatch.setenv("PIGGYBACK_DB", str(db_copy))
    saved_settings = {"start": "2028-05-01", "seed": 9, "draws": 20000.0, "method": "triangular",
                      "contract_value": -5, "delegated_authority": 750_000,
                      "value_of_time": {"backlog_cost": [1000, 2000, 4000], "currency": "CAD"}}
    s = Store.open(db_copy)
    try:
        saved = open_scenario_store(s).save("Timeline settings", payload_from_profile(
            profile_for(s, GUELPH), peer=None, settings={"timeline": saved_settings}))
    finally:
        s.close()
    at = open_page()
    at.number_input(key="timeline.seed").set_value(4).run()
    at.query_params["scenario"] = saved.id
    at.run()
    assert not at.exception, at.exception
    assert at.date_input(key="timeline.start").value == dt.date(2028, 5, 1)
    assert at.number_input(key="timeline.seed").value == 9
    assert at.number_input(key="timeline.draws").value == 20_000
    assert at.radio(key="timeline.method").value == "triangular"
    assert at.number_input(key="timeline.contract_value").value is None
    assert at.number_input(key="timeline.delegated_authority").value == 750_000.0
    assert at.number_input(key="timeline.value_of_time.backlog_cost.2").value == 4000.0
    res = analyse_timeline(store, profile_for(store, GUELPH), None, saved_settings, today=dt.date.today())
    assert metric(at, "Months saved (median)").proto.delta == (
        f"P10–P90: {res.months_saved['p10']:.1f} to {res.months_saved['p90']:.1f}")


def test_table_edits_become_overrides_and_a_bad_row_keeps_its_last_valid_range(store):
    """The editor's changes: a valid row becomes an override; a row in error is kept as typed
    (pending) with its message, and its last valid override stays in force."""
    from piggyback.analyses.timeline import apply_table_edits
    from piggyback.figures.timeline_figures import assumption_rows

    old = {"tl.rfp.drafting": {"low": 1.0, "likely": 3.0, "high": 5.0}}
    res = expected(store, overrides=old)
    rows = assumption_rows(res, {})
    needs = next(i for i, r in enumerate(rows) if r["id"] == "tl.rfp.needs")
    drafting = next(i for i, r in enumerate(rows) if r["id"] == "tl.rfp.drafting")
    new, pending, errors = apply_table_edits(res.base_phases, rows, {
        str(needs): {"low": 3.0}, drafting: {"low": 9.0, "high": 2.0}}, old)
    assert new["tl.rfp.needs"]["low"] == 3.0
    assert new["tl.rfp.drafting"] == old["tl.rfp.drafting"]
    assert pending == {"tl.rfp.drafting": {"low": 9.0, "likely": 3.0, "high": 2.0}}
    assert set(errors) == {"tl.rfp.drafting"}
    shown = {r["id"]: r for r in assumption_rows(res, pending)}
    assert shown["tl.rfp.drafting"]["kind"] == "edited by user (not valid yet)"
    assert (shown["tl.rfp.drafting"]["low"], shown["tl.rfp.drafting"]["high"]) == (9.0, 2.0)


def test_settings_summary_names_the_authority_and_where_it_comes_from(store):
    """The meeting caption's words: an entered authority says so; none on file says a council
    cycle is assumed; no peer says none chosen."""
    from piggyback.figures.timeline_figures import settings_summary

    entered = settings_summary(expected_with(store, delegated_authority=100_000.0))
    assert "staff may award up to 100,000 CAD (entered by user)" in entered
    assert "Peer contract: none chosen." in entered
    missing = settings_summary(expected_with(store))
    assert "not on file, so a council cycle is assumed" in missing
    vancouver = analyse_timeline(store, profile_for(store, "Vancouver, BC"), None, {}, today=dt.date.today())
    assert "staff may award up to 2.00 M CAD (on file: Procurement Policy ADMIN-008)" in settings_summary(vancouver)


def expected_with(store, **settings):
    return analyse_timeline(store, profile_for(store, GUELPH), None, settings, today=dt.date.today())


@pytest.mark.parametrize("agency", ["US-CO-48453"])
def test_a_us_agency_gets_usd_for_the_value_of_time(agency):
    """The money inputs follow the agency's currency."""
    at = open_page(agency=agency)
    assert any("(USD)" in n.label for n in at.number_input)
