"""The timeline analysis (issue #13 timeline half, issue #11's one chain): pair-specific phases,
each change traced to a named input; correlated phases; the track record beside the model; the
same figures on the page, in `timeline --json`, in the PDF and in the workbook.

Expected values are worked out by hand from data/assumptions/timeline.csv, the census
populations and the peer / contract / threshold / delegated-authority rows (see each test)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, run_cli
from piggyback.core import fmt
from piggyback.analyses.timeline import (
    analyse_timeline,
    calibration_from_track_record,
    track_record,
)
from piggyback.data.profile import profile_for
from piggyback.engines.timeline import Phase, simulate_timeline

TODAY = dt.date(2026, 11, 29)
START = "2027-01-01"  # thresholds in force: CFTA municipal services 139,000 CAD (2026-2027); CETA blank
PAIRS = {
    "guelph-ottawa": ("Guelph, ON", "ottawa-on"),
    "toronto-ottawa": ("Toronto, ON", "ottawa-on"),
    "gatineau-cambridge": ("Gatineau, QC", "cambridge-on"),
    "travis-killeen": ("Travis County, TX", "killeen-tx"),
    "boise-fayetteville": ("Boise City, ID", "fayetteville-ar"),
    "cobalt-northmiddlesex": ("Cobalt, ON", "north-middlesex-on"),
}


@pytest.fixture(scope="module")
def results(store):
    return {k: analyse_timeline(store, profile_for(store, a), p, {"start": START}, today=TODAY)
            for k, (a, p) in PAIRS.items()}


def _adj(res, key: str, phase: str):
    hits = [a for a in res.adjustments if a.key == key and a.phase_id == phase]
    assert len(hits) == 1, (key, phase, [a.to_dict() for a in res.adjustments])
    return hits[0]


def _phase(res, pid: str) -> tuple[float, float, float]:
    p = next(p for p in res.phases if p.id == pid)
    return (p.low, p.likely, p.high)


def _keys(res) -> set[tuple[str, str]]:
    return {(a.key, a.phase_id) for a in res.adjustments if a.before != a.after}


# --------------------------------------------------------------------------- the six pairs


def test_months_saved_differs_between_the_six_pairs_and_each_difference_has_named_inputs(results):
    """At least four distinct medians among the six pairs; any two pairs whose months saved differ
    also differ in the procurement phases their named adjustments produced."""
    medians = {k: round(r.months_saved["p50"], 1) for k, r in results.items()}
    assert len(set(medians.values())) >= 4, medians
    for a, ra in results.items():
        for b, rb in results.items():
            if a < b and medians[a] != medians[b]:
                pa = {p.id: (p.low, p.likely, p.high) for p in ra.phases if p.route != "implementation"}
                pb = {p.id: (p.low, p.likely, p.high) for p in rb.phases if p.route != "implementation"}
                changed = {pid for pid in pa if pa[pid] != pb[pid]}
                assert changed, (a, b)
                # every changed phase is explained by an adjustment in at least one of the two pairs
                explained = {pid for _, pid in _keys(ra) | _keys(rb)}
                assert changed <= explained, (a, b, changed - explained)


def test_guelph_on_ottawa_by_hand(results):
    """Guelph: 143,740 residents × 5 = 718,700 CAD (≥ the 25,000 floor), mid-sized; Guelph's delegated
    authority is on file but not confirmed → both council cycles kept; 718,700 ≥ CFTA's 139,000 → the
    posting is at least 0.82 months and legal adds 0.25/0.5/1; Ottawa's vehicle is unknown → due
    diligence adds 0.5/1/2 and, with no clause on record, legal adds 0.25/0.5/1.5; 5 modules needed,
    one more than 4 → evaluation +0.1/0.25/0.5, implementation +0.5/1/2; Ottawa covers all five."""
    r = results["guelph-ottawa"]
    assert r.inputs["contract_value"] == pytest.approx(718_700)
    for pid in ("tl.rfp.award", "tl.pb.council"):
        adj = _adj(r, "approval_path", pid)
        assert adj.before == adj.after == (0.5, 1.0, 2.0) and "not confirmed" in adj.reason
    assert _phase(r, "tl.rfp.posting") == (0.82, 0.82, 2.0)
    assert "CFTA" in _adj(r, "trade_agreement", "tl.rfp.posting").reason
    assert _phase(r, "tl.pb.legal") == (1.0, 2.0, 5.5)  # 0.5/1/3 + 0.25/0.5/1 + 0.25/0.5/1.5
    assert _phase(r, "tl.pb.due_diligence") == (1.0, 2.0, 5.0)
    assert _phase(r, "tl.rfp.evaluation") == (1.1, 2.75, 6.5)
    assert _phase(r, "tl.impl.golive") == (9.5, 19.0, 32.0)
    assert _phase(r, "tl.rfp.negotiation") == (1.0, 2.0, 8.0)  # mid-sized: not scaled
    assert not [a for a in r.adjustments if a.key in ("contract_size", "peer_region", "peer_scope")]


def test_toronto_on_ottawa_by_hand(results):
    """Toronto: 2,794,356 × 5 = 13,971,780 CAD; staff may award competitive solicitations up to
    30,000,000 → the RFP award is a staff award (0.1/0.25/0.5), but no non-competitive limit is on
    file → the piggyback keeps its council cycle; above 5,000,000 → × 1.3 on evaluation,
    negotiation, scope and implementation."""
    r = results["toronto-ottawa"]
    assert r.inputs["contract_value"] == pytest.approx(13_971_780)
    assert _phase(r, "tl.rfp.award") == (0.1, 0.25, 0.5)
    assert "30,000,000 CAD" in _adj(r, "approval_path", "tl.rfp.award").reason
    assert _phase(r, "tl.pb.council") == (0.5, 1.0, 2.0)
    assert "no limit for a purchase without its own competition" in _adj(r, "approval_path", "tl.pb.council").reason
    assert _phase(r, "tl.rfp.negotiation") == (1.3, 2.6, 10.4)
    assert _phase(r, "tl.rfp.evaluation") == (1.4, 3.5, 8.3)  # (1, 2.5, 6) × 1.3 + (0.1, 0.25, 0.5)
    assert _phase(r, "tl.pb.scope_price") == (0.65, 1.95, 5.2)


def test_gatineau_qc_on_cambridge_by_hand(results):
    """Gatineau (QC) on Cambridge (ON): another province → legal +0.5/1/2 on top of CFTA and the
    missing clause; Cambridge covers building and enforcement only → 3 modules × 0.25/0.5/1 on
    scope; no contract on record → the piggyback route is flagged."""
    r = results["gatineau-cambridge"]
    assert r.inputs["contract_value"] == pytest.approx(291_041 * 5)
    assert _phase(r, "tl.pb.legal") == (1.5, 3.0, 7.5)
    assert "ON, CA" in _adj(r, "peer_region", "tl.pb.legal").reason
    assert _phase(r, "tl.pb.scope_price") == (1.25, 3.0, 7.0)
    assert r.inputs["missing_modules"] == ["inspections", "planning", "licensing"]
    assert any(f["topic"] == "contract" and "flagged" in f["text"] for f in r.flags)


def test_travis_county_tx_on_killeen_by_hand(results):
    """Travis County: 1,305,154 × 5 = 6,525,770 USD → large (× 1.3); no trade agreement (US);
    Killeen's vehicle is interlocal → no due-diligence or clause additions, same state; Killeen covers
    building, enforcement and planning → 2 missing modules; its 1-year term from 2021-12-14 has ended
    → flagged with the renewal question."""
    r = results["travis-killeen"]
    assert r.inputs["trade_agreements"] == []
    assert _phase(r, "tl.pb.scope_price") == (1.15, 2.95, 7.2)  # (0.5,1.5,4)×1.3 + 2×(0.25,0.5,1)
    assert _phase(r, "tl.pb.due_diligence") == (0.5, 1.0, 3.0)
    assert _phase(r, "tl.pb.legal") == (0.5, 1.0, 3.0)
    flag = next(f for f in r.flags if f["topic"] == "contract")
    assert "expired" in flag["text"] and "2022-12-14" in flag["text"]


def test_boise_on_fayetteville_and_cobalt_on_north_middlesex_by_hand(results):
    """Boise (ID) on Fayetteville (AR): another state → legal +0.5/1/2, cooperative vehicle → nothing
    else on legal. Cobalt: 989 × 5 = 4,945 → the 25,000 floor → small (× 0.75) and below CFTA's
    139,000 → no posting minimum and no trade-agreement legal check; North Middlesex covers building
    only → 4 missing modules."""
    b = results["boise-fayetteville"]
    assert _phase(b, "tl.pb.legal") == (1.0, 2.0, 5.0)
    c = results["cobalt-northmiddlesex"]
    assert c.inputs["contract_value"] == 25_000
    assert [t["covered"] for t in c.inputs["trade_agreements"]] == [False, None]  # CETA 2026: blank
    assert "CETA: no threshold for the decision date is on file" in _adj(
        c, "trade_agreement_unknown", "tl.rfp.posting").reason
    assert _phase(c, "tl.rfp.posting") == (0.5, 0.7, 2.0)
    assert _phase(c, "tl.rfp.negotiation") == (0.75, 1.5, 6.0)
    assert _phase(c, "tl.pb.scope_price") == (1.375, 3.125, 7.0)  # (0.5,1.5,4)×0.75 + 4×(0.25,0.5,1)


def test_user_inputs_replace_the_estimates(store):
    """An entered contract value and delegated authority drive the approval path (both routes)."""
    prof = profile_for(store, "Guelph, ON")
    r = analyse_timeline(store, prof, "ottawa-on", {"start": START, "contract_value": 100_000,
                                                     "delegated_authority": 150_000}, today=TODAY)
    assert _phase(r, "tl.rfp.award") == _phase(r, "tl.pb.council") == (0.1, 0.25, 0.5)
    assert r.inputs["contract_value_basis"] == "entered by user"
    assert _phase(r, "tl.rfp.posting") == (0.5, 0.7, 2.0)  # 100,000 < 139,000: not covered
    assert _phase(r, "tl.rfp.negotiation") == (0.75, 1.5, 6.0)  # small


# --------------------------------------------------------------------------- correlation


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(widths=st.lists(st.tuples(st.floats(0.2, 3), st.floats(1, 6)), min_size=4, max_size=6),
       rho=st.floats(0.3, 0.9), seed=st.integers(0, 1000))
def test_correlation_widens_the_band_of_months_saved(widths, rho, seed):
    """Phases of one route that move together give a wider P10–P90 of months saved than independent
    phases (each route has at least two phases with some spread)."""
    phases = []
    for i, (low, span) in enumerate(widths):
        route = "traditional" if i % 2 == 0 else "piggyback"
        phases.append(Phase(id=f"p{i}", route=route, name=f"p{i}", low=low, likely=low + span / 3,
                            high=low + span))
    start = dt.date(2027, 1, 1)
    indep = simulate_timeline(phases, start, draws=20_000, seed=seed).months_saved
    corr = simulate_timeline(phases, start, draws=20_000, seed=seed, correlation=rho).months_saved
    assert corr["p90"] - corr["p10"] > 1.02 * (indep["p90"] - indep["p10"])


def test_the_default_correlation_is_the_labelled_assumption_and_widens_the_real_band(store):
    prof = profile_for(store, "Guelph, ON")
    default = analyse_timeline(store, prof, "ottawa-on", {"start": START}, today=TODAY)
    indep = analyse_timeline(store, prof, "ottawa-on", {"start": START, "correlation": 0}, today=TODAY)
    row = store.assumptions("timeline").set_index("assumption_id").loc["tl.sim.correlation"]
    assert default.settings["correlation"] == row["value"] == 0.5 and row["kind"] == "assumption"
    width = lambda r: r.months_saved["p90"] - r.months_saved["p10"]  # noqa: E731
    assert width(default) > width(indep)


# --------------------------------------------------------------------------- track record


def test_track_record_counts_by_hand(store):
    """From data/peers/durations.csv: three go-lives with a start (Killeen 2021-12-14 → 2023-10-02,
    21.6 months; Stockton 2014 → 2015-10, ≈15.5; Cypress 2020-06 → 2020, ≈0.5) and three projects
    whose latest revised plan is all that is recorded (San Diego 2015-09 → 2020-02, 53.0; Sioux Falls
    2012-04 → 2014-09-22, 29.2; Portland 2013-06 → 2018-11, 65.0), each slipping from its first plan
    (20.0, 17.0, 23.0 months)."""
    track = track_record(store.table("durations"))
    got = {o["agency"].split(" (")[0]: (o["status"], o["months"], o["approximate"]) for o in track["implementation"]}
    assert got == {"City of Killeen": ("go-live", 21.6, False), "City of Stockton": ("go-live", 15.5, True),
                   "City of Cypress": ("go-live", 0.5, True), "City of San Diego": ("revised plan", 53.0, False),
                   "City of Sioux Falls": ("revised plan", 29.2, False),
                   "City of Portland": ("revised plan", 65.0, False)}
    assert all(o["sources"] and all(u.startswith("http") for u in o["sources"]) for o in track["implementation"])
    slip = {o["agency"].split(" (")[0]: (o["planned_months"], o["actual_months"]) for o in track["slippage"]}
    assert slip == {"City of San Diego": (20.0, 53.0), "City of Sioux Falls": (17.0, 29.2),
                    "City of Portland": (23.0, 65.0)}
    cal = calibration_from_track_record(track)  # year-only spans (Stockton, Cypress) left out
    assert (cal["low"], cal["likely"], cal["high"], cal["n_peers"]) == (21.6, 41.1, 65.0, 4)
    assert "n = 4 observations" in cal["reason"]


def test_comparison_sentence_counts_go_lives_beyond_the_models_p90(results):
    r = results["guelph-ottawa"]
    p90 = r.simulation["implementation"]["p90"]
    c = r.comparison
    assert (c["golives"], c["revised_plans"]) == (3, 3)
    assert c["longer_than_p90"] == sum(m > p90 for m in (21.6, 15.5, 0.5))
    assert c["revised_longer_than_p90"] == sum(m > p90 for m in (53.0, 29.2, 65.0))
    assert c["text"].startswith(f"Of 3 recorded go-lives with a start date, {c['longer_than_p90']} took longer")
    assert "(n = 3 observations)" in c["text"]
    assert any(f["topic"] == "slippage" and "n = 3 observations" in f["text"] for f in r.flags)


def test_track_record_calibration_sets_implementation(store):
    prof = profile_for(store, "Guelph, ON")
    r = analyse_timeline(store, prof, None, {"start": START, "calibrate": "track_record"}, today=TODAY)
    assert _phase(r, "tl.impl.golive") == (21.6, 41.1, 65.0)
    assert next(p for p in r.phases if p.id == "tl.impl.golive").kind == "derived"


# --------------------------------------------------------------------------- one figure everywhere


def _page(agency_id: str, peer: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["agency"] = agency_id
    at.query_params["peer"] = peer
    at.session_state["scenario"] = {"timeline": {"start": START}}
    at.run()
    at.switch_page("pages/timeline_savings.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_page_shows_the_recorded_durations_with_their_sources(store):
    at = _page(profile_for(store, "Guelph, ON").geo_id, "ottawa-on")
    table = next(df.value for df in at.dataframe if "ends_at" in df.value.columns)
    assert len(table) == 6 and table["source"].str.startswith("http").all()
    assert {"go-live", "revised plan"} == set(table["ends_at"])
    killeen = table[table["agency"] == "City of Killeen"].iloc[0]
    assert killeen["months"] == "21.6" and killeen["precision"] == "day"
    text = " ".join(m.value for m in at.markdown)
    assert fmt.md_escape("Of 3 recorded go-lives with a start date") in text


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


@pytest.mark.parametrize("agency, peer", [("Guelph, ON", "ottawa-on"), ("Travis County, TX", "killeen-tx")])
def test_page_cli_pdf_and_excel_show_the_same_figures(store, agency, peer):
    """The same months saved, range, chance and go-lives on the page, in `timeline --json`, in the
    PDF text and in the workbook's cells (the analysis worded them once)."""
    import openpyxl

    from piggyback.analyses.business_case import build_business_case
    from piggyback.reports.report_pdf import render_pdf
    from piggyback.reports.report_xlsx import render_xlsx

    prof = profile_for(store, agency)
    proc = run_cli("timeline", "--agency", prof.geo_id, "--peer", peer, "--start", START, "--json")
    assert proc.returncode == 0, proc.stderr
    cli = json.loads(proc.stdout)["display"]

    at = _page(prof.geo_id, peer)
    page = {m.label: m for m in at.metric}
    assert page["Months saved (median)"].value == cli["months_saved"]
    assert page["Chance piggyback is sooner"].value == cli["prob_faster"]
    assert page["New RFP go-live (median)"].value == cli["golive_traditional"]
    assert page["Piggyback go-live (median)"].value == cli["golive_piggyback"]

    case = build_business_case(store, prof, peer, {"timeline": {"start": START}}, today=dt.date.today())
    assert case.to_dict()["timeline"]["display"] == cli
    text = _pdf_text(render_pdf(case, charts=False))
    assert (f"Piggybacking saves {cli['months_saved']} at the median ({cli['months_saved_range']}); it is sooner "
            f"in {cli['prob_faster']} of") in text
    assert cli["golive_piggyback"] in text and "100%" not in text
    assert "Track record beside the model: Of 3 recorded go-lives" in text

    ws = openpyxl.load_workbook(io.BytesIO(render_xlsx(case)))["Timeline"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["Chance piggybacking is sooner"][3] == cli["prob_faster"]
    assert f"{rows['Months saved'][3]:.1f} months" == cli["months_saved"]
    assert rows["Piggyback"][6] == cli["golive_piggyback"] and rows["New RFP"][6] == cli["golive_traditional"]
    assert any(str(k).startswith("Recorded: City of Killeen") for k in rows)


def test_a_partial_edit_keeps_the_phases_other_values_and_a_bad_one_is_left_out_with_why(store):
    prof = profile_for(store, "Guelph, ON")
    r = analyse_timeline(store, prof, None, {"start": START, "overrides": {
        "tl.rfp.needs": {"low": 3}, "tl.rfp.drafting": {"low": 9, "likely": 4, "high": 2}}}, today=TODAY)
    assert _phase(r, "tl.rfp.needs") == (3.0, 4.0, 9.0)
    assert _phase(r, "tl.rfp.drafting") == (1.0, 2.5, 4.0)
    assert list(r.override_errors) == ["tl.rfp.drafting"] and "low ≤ most likely ≤ high" in r.override_errors[
        "tl.rfp.drafting"]


def test_a_contract_ending_before_the_planned_go_live_flags_the_route_with_its_renewal_risk(store):
    """Alameda's contract record ends 2027-06-18 (availability: unknown, so not flagged as expired):
    from a 2027-01-01 decision the piggyback cannot even be approved before then."""
    r = analyse_timeline(store, profile_for(store, "Travis County, TX"), "alameda-ca", {"start": START}, today=TODAY)
    flag = next(f for f in r.flags if f["topic"] == "contract")
    assert flag["severity"] == "high"
    assert "ends 2027-06-18, before the planned piggyback go-live" in flag["text"]
    assert "Renewal risk" in flag["text"] and "even before the purchase is approved" in flag["text"]


@pytest.mark.parametrize("text, end", [("2027", dt.date(2027, 12, 31)), ("2027-02", dt.date(2027, 2, 28)),
                                       ("2027-06-18", dt.date(2027, 6, 18)),
                                       ("between 2032-01-01 and 2032-12-31", dt.date(2032, 12, 31)),
                                       ("unknown", None)])
def test_expiry_end_is_the_last_day_the_text_can_mean(text, end):
    from piggyback.analyses.timeline import _expiry_end

    assert _expiry_end(text) == end


def test_business_case_lists_slippage_and_contract_expiry_as_risks(store):
    """The track record's planned-vs-actual slippage and the expired peer contract are risks of the
    business case, with their basis, in the analysis's words."""
    from piggyback.analyses.business_case import build_business_case

    prof = profile_for(store, "Travis County, TX")
    case = build_business_case(store, prof, "killeen-tx", {"timeline": {"start": START}}, today=TODAY).to_dict()
    risks = {r["text"]: r for r in case["risks"]}
    slip = next(r for t, r in risks.items() if t.startswith("Planned against actual"))
    assert slip["topic"] == "timeline" and "n = 3 observations" in slip["text"]
    assert "durations.csv" in slip["basis"]
    expired = next(r for t, r in risks.items() if "piggyback route is flagged" in t)
    assert expired["severity"] == "high" and "Killeen" in expired["text"]
    ids = {a["assumption_id"] for a in case["assumptions"]}
    assert {"tl.adj.size_large_factor", "tl.adj.missing_module", "tl.sim.correlation"} <= ids


def test_cli_calibrates_implementation_from_the_track_record():
    proc = run_cli("timeline", "--agency", "Guelph, ON", "--start", START, "--calibrate", "track-record", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    impl = next(a for a in out["assumptions"] if a["id"] == "tl.impl.golive")
    assert (impl["low"], impl["likely"], impl["high"], impl["kind"]) == (21.6, 41.1, 65.0, "derived")
    assert out["calibration"]["basis"] == "track record" and out["calibration"]["n_peers"] == 4
