"""`python -m piggyback timeline`: the page's numbers, headless and reproducible."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import run_cli
from piggyback.analyses.timeline import analyse_timeline
from piggyback.data.profile import profile_for
from piggyback.engines.timeline import (
    first_of_next_month,
    peer_actuals,
    peer_durations,
)

BASE = ("timeline", "--agency", "Guelph, ON", "--start", "2027-01-01")


@pytest.fixture(scope="module")
def seeded_run(built_db):
    """One JSON run with seed 7 (shared: each run starts a Python process)."""
    proc = run_cli(*BASE, "--seed", "7", "--json")
    assert proc.returncode == 0, proc.stderr
    return proc


def test_json_has_both_routes_with_months_and_dates_in_order(seeded_run):
    """Each route has p10 <= p50 <= p90 in months and in go-live dates; months saved has its
    percentiles and mean; the settings and assumptions used are echoed."""
    out = json.loads(seeded_run.stdout)
    for key in ("traditional", "piggyback", "months_saved", "prob_piggyback_faster", "start",
                "seed", "draws", "method", "assumptions"):
        assert key in out, key
    assert (out["start"], out["seed"], out["draws"], out["method"]) == (
        "2027-01-01", 7, 10_000, "pert")
    for route in ("traditional", "piggyback"):
        r = out[route]
        months = [r[k]["months"] for k in ("p10", "p50", "p90")]
        dates = [dt.date.fromisoformat(r[k]["go_live"]) for k in ("p10", "p50", "p90")]
        assert months == sorted(months) and dates == sorted(dates)
        assert dates[0] > dt.date(2027, 1, 1)
    saved = out["months_saved"]
    assert saved["p10"] <= saved["p50"] <= saved["p90"] and "mean" in saved
    assert 0.0 <= out["prob_piggyback_faster"] <= 1.0
    for a in out["assumptions"]:
        assert set(a) >= {"id", "low", "likely", "high", "kind", "source"}
        assert 0 <= a["low"] <= a["likely"] <= a["high"]
    assert [c["kind"] for c in out["vendor_claims"]] == ["vendor-stated", "vendor-stated"]
    assert out["peer"] is None and out["calibration"] is None


def test_json_numbers_are_the_timeline_analysis(seeded_run, store):
    """The command prints the one timeline analysis for the same settings (no chain of its own)."""
    out = json.loads(seeded_run.stdout)
    res = analyse_timeline(store, profile_for(store, "Guelph, ON"), None,
                           {"start": "2027-01-01", "seed": 7}, today=dt.date.today())
    assert out["months_saved"] == res.months_saved
    assert out["piggyback"]["p50"] == {"months": res.simulation["routes"]["piggyback"]["months"]["p50"],
                                       "go_live": res.simulation["routes"]["piggyback"]["go_live"]["p50"]}
    assert [a["id"] for a in out["assumptions"]] == [p.id for p in res.phases]
    assert out["display"] == res.display()
    assert out["correlation"] == 0.5  # the labelled default, tl.sim.correlation


def test_same_seed_gives_byte_identical_output_and_another_seed_differs(seeded_run):
    """Two runs with the same seed print the same bytes; a different seed changes the draws."""
    again = run_cli(*BASE, "--seed", "7", "--json")
    assert again.returncode == 0 and again.stdout == seeded_run.stdout
    other = run_cli(*BASE, "--seed", "8", "--json")
    assert json.loads(other.stdout)["months_saved"] != json.loads(seeded_run.stdout)["months_saved"]


def test_peer_set_and_calibrate_are_echoed(store):
    """--peer echoes the peer's actual dates, --set marks the phase user-entered, --calibrate
    records the derived implementation range and whether the peer informed it."""
    proc = run_cli(*BASE, "--peer", "washoe", "--set", "tl.rfp.needs=3,5,10", "--calibrate",
                   "--method", "triangular", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    want = peer_actuals(peer_durations(store.peers()), "washoe-nv")
    assert out["peer"]["deployment_id"] == "washoe-nv"
    assert out["peer"]["award_to_golive_months"] == want["award_to_golive_months"]
    assert out["peer"]["used_in_calibration"] is ("washoe-nv" in out["calibration"]["peer_ids"])
    by_id = {a["id"]: a for a in out["assumptions"]}
    assert by_id["tl.rfp.needs"]["kind"] == "user-entered"
    assert (by_id["tl.rfp.needs"]["low"], by_id["tl.rfp.needs"]["likely"],
            by_id["tl.rfp.needs"]["high"]) == (3.0, 5.0, 10.0)
    impl = by_id["tl.impl.golive"]
    assert impl["kind"] == "derived"
    assert (impl["low"], impl["likely"], impl["high"]) == tuple(
        out["calibration"][k] for k in ("low", "likely", "high"))
    assert out["method"] == "triangular"


@pytest.mark.parametrize("args, words", [
    (("--start", "2027-02-30"), "not a date: use YYYY-MM-DD"),
    (("--set", "tl.rfp.needs=9,4,2"), "low ≤ most likely ≤ high"),
    (("--set", "tl.nope=1,2,3"), "no phase tl.nope"),
    (("--draws", "500"), "--draws must be a whole number of draws from 10,000"),
    (("--peer", "atlantis"), "No peer deployment matches"),
])
def test_bad_input_exits_non_zero_with_a_clear_message(args, words):
    """Bad dates, ranges, phases, draws or peers print what to fix and exit non-zero."""
    proc = run_cli("timeline", "--agency", "Guelph, ON", *args, "--json")
    assert proc.returncode != 0
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_text_output_names_routes_and_marks_vendor_claims():
    """Without --json a short summary names both routes and labels the vendor's claims."""
    proc = run_cli(*BASE)
    assert proc.returncode == 0, proc.stderr
    assert "New RFP" in proc.stdout and "Piggyback" in proc.stdout
    assert "Vendor-stated (New RFP): 12-24" in proc.stdout
    assert "Track record: Of " in proc.stdout and "100%" not in proc.stdout


@pytest.mark.parametrize("args, words", [
    (("--correlation", "1.5"), "give 0 (independent) to 0.9"),
    (("--value", "-3"), "give an amount above 0"),
])
def test_new_options_reject_bad_values(args, words):
    proc = run_cli("timeline", "--agency", "Guelph, ON", *args, "--json")
    assert proc.returncode == 2 and words in proc.stderr


def test_value_and_authority_options_change_the_approval_path():
    """--authority above --value: both council phases become a staff award (tl.adj.staff_approval)."""
    proc = run_cli(*BASE, "--value", "500000", "--authority", "1000000", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    by_id = {a["id"]: a for a in out["assumptions"]}
    assert (by_id["tl.rfp.award"]["low"], by_id["tl.rfp.award"]["likely"], by_id["tl.rfp.award"]["high"]) == (0.1, 0.25, 0.5)
    assert (by_id["tl.pb.council"]["likely"]) == 0.25
    reasons = [a["reason"] for a in out["adjustments"] if a["key"] == "approval_path"]
    assert all("entered by user" in r and "staff award" in r for r in reasons) and len(reasons) == 2


@pytest.mark.parametrize("today, first", [
    (dt.date(2026, 11, 27), dt.date(2026, 12, 1)),
    (dt.date(2026, 12, 1), dt.date(2027, 1, 1)),
    (dt.date(2027, 1, 31), dt.date(2027, 2, 1)),
])
def test_default_start_is_the_first_of_next_month(today, first):
    assert first_of_next_month(today) == first
