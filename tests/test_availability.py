"""Contract availability (issue #12): available / expired / not adoptable / unknown, with the
facts behind each state and their sources."""

import datetime as dt

import pytest

from piggyback.engines.availability import STATES, assess, assess_all, date_span

DECISION = dt.date(2026, 11, 29)
SRC = "https://example.gov/council/report-1"


def dep(**kw):
    base = {"deployment_id": "peer-x", "vehicle": "unknown", "contract_award": None,
            "contract_term_years": None, "source_urls": "https://example.gov/peer"}
    return {**base, **kw}


def contract(**kw):
    return {"contract_id": "c-peer-x", "deployment_id": "peer-x", "source_urls": SRC, **kw}


def test_newport_beach_shape_expired_2023_06():
    """Stated expiry 2023-06 (latest possible day 2023-06-30) is before the decision date."""
    out = assess(dep(), [contract(vehicle="unknown", award_date="2019", term_years="3",
                                  expiry_date="2023-06", renewals="annual renewals after June 2023")],
                 DECISION)
    assert out["state"] == "expired" and out["label"] == "Expired" and out["expiry"] == "2023-06"
    assert "2023-06" in out["reasons"][0]["text"] and out["reasons"][0]["sources"] == [SRC]
    # The buyer's own renewals are named but do not reopen the contract to others.
    assert any("do not show the contract is open to others" in r["text"] for r in out["reasons"])


def test_newport_beach_in_the_store_is_expired(store):
    contracts = store.table("contracts")
    peers = store.peers()
    row = peers[peers["deployment_id"] == "newport-beach-ca"].iloc[0].to_dict()
    out = assess(row, contracts[contracts["deployment_id"] == "newport-beach-ca"].to_dict("records"),
                 DECISION)
    assert out["state"] == "expired"


def test_sole_source_is_not_adoptable_even_with_a_running_term():
    out = assess(dep(), [contract(vehicle="sole_source", award_date="2025-01-01", term_years="5")],
                 DECISION)
    assert out["state"] == "not_adoptable"
    assert "sole-source" in out["reasons"][0]["text"]


def test_sole_source_on_the_deployment_row_counts_when_the_contract_vehicle_is_unknown():
    out = assess(dep(vehicle="sole_source"), [contract(vehicle="unknown")], DECISION)
    assert out["state"] == "not_adoptable"
    assert out["reasons"][0]["sources"] == ["https://example.gov/peer"]


def test_no_contract_on_record_is_not_adoptable():
    """Documented choice: nothing on file to adopt -> not adoptable (issue #12's list)."""
    out = assess(dep(), [], DECISION)
    assert out["state"] == "not_adoptable" and out["contract_id"] is None
    assert "No contract is on record" in out["reasons"][0]["text"]


def test_deployment_facts_stand_in_when_there_is_no_contract_record():
    """Award and term on the deployment row are used (2021-12-14 + 1 year ended 2022-12-14)."""
    out = assess(dep(vehicle="interlocal", contract_award="2021-12-14", contract_term_years="1"),
                 [], DECISION)
    assert out["state"] == "expired"
    assert "awarded 2021-12-14 for 1 year, so the term ends 2022-12-14" in out["reasons"][0]["text"]


def test_available_needs_running_term_open_vehicle_and_competitive_original():
    out = assess(dep(), [contract(vehicle="cooperative", lead_agency="Sourcewell",
                                  solicitation_id="110515", award_date="2025-06-01",
                                  term_years="4")], DECISION)
    assert out["state"] == "available"
    texts = " ".join(r["text"] for r in out["reasons"])
    assert "Term running" in texts and "2029-06-01" in texts
    assert "cooperative vehicle led by Sourcewell" in texts and "solicitation 110515" in texts


@pytest.mark.parametrize("facts, missing", [
    ({"vehicle": "cooperative", "award_date": "2025-06-01", "term_years": "4"}, "competitive"),
    ({"vehicle": "own_rfp", "award_date": "2025-06-01", "term_years": "4"}, "other public bodies"),
    ({"vehicle": "cooperative", "solicitation_id": "1"}, "term is not recorded"),
])
def test_one_unsettled_test_gives_unknown_and_says_which(facts, missing):
    out = assess(dep(), [contract(**facts)], DECISION)
    assert out["state"] == "unknown"
    assert any(missing in r["text"] for r in out["reasons"])


def test_own_rfp_without_a_cooperative_clause_is_not_adoptable():
    out = assess(dep(), [contract(vehicle="own_rfp", coop_clause="false", award_date="2025",
                                  term_years="5")], DECISION)
    assert out["state"] == "not_adoptable"
    out = assess(dep(), [contract(vehicle="own_rfp", coop_clause=True, award_date="2025-01-01",
                                  term_years="5")], DECISION)
    assert out["state"] == "available"


def test_a_year_precision_term_straddling_the_decision_date_is_unknown():
    """Awarded '2021' + 5 years ends between 2026-01-01 and 2026-12-31: the decision date
    2026-11-29 falls inside, so it is not called expired nor running."""
    assert date_span("2021") == (dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    out = assess(dep(), [contract(vehicle="cooperative", solicitation_id="9", award_date="2021",
                                  term_years="5")], DECISION)
    assert out["state"] == "unknown"
    assert "may have ended" in out["reasons"][0]["text"]


def test_several_contracts_report_the_most_usable_and_name_the_others():
    out = assess(dep(), [contract(contract_id="old", vehicle="unknown", expiry_date="2020"),
                         contract(contract_id="new", vehicle="interlocal", publicly_advertised="true",
                                  award_date="2026-01", term_years="3")], DECISION)
    assert out["state"] == "available" and out["contract_id"] == "new"
    assert "old (expired)" in out["reasons"][-1]["text"]


def test_every_seeded_peer_gets_one_of_the_four_states(store):
    result = assess_all(store.peers(), store.table("contracts"), DECISION)
    assert set(result) == set(store.peers()["deployment_id"])
    assert {r["state"] for r in result.values()} <= set(STATES)
    assert all(r["reasons"] and all(x["text"] for x in r["reasons"]) for r in result.values())
    assert result["hamilton-on"]["state"] == "not_adoptable"  # no contract on record
