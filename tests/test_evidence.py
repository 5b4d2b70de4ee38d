"""Evidence records (validation, audit, read-only refusal, removal), the contract record as the
engine reads it, and the checklist that the page and the CLI share."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from piggyback.engines import compliance
from piggyback.data import evidence as ev
from piggyback.analyses import compliance as ac
from piggyback.analyses.compliance import analyse_compliance
from piggyback.core.errors import ReadOnlyStore, UnknownPeer
from piggyback.data.profile import profile_for

from conftest import ROOT, person, record_count

GUELPH = "CA-CSD-3523008"
SCOPE = f"agency:{GUELPH}|peer:ottawa-on"
TODAY = dt.date(2026, 11, 29)


def count(store, table: str, where: str = "", params=()) -> int:
    return record_count(store, table, where, params)


CLERK = person("clerk")


def contracts_csv() -> dict[str, dict]:
    with (ROOT / "data" / "peers" / "contracts.csv").open(newline="", encoding="utf-8") as handle:
        return {r["deployment_id"]: r for r in csv.DictReader(handle)}


# ---------------------------------------------------------------- contract record

def test_contract_for_keeps_blanks_blank_and_parses_lists(store):
    """Ottawa's unknown facts come back as None; modules and sources become lists as in the CSV."""
    row = contracts_csv()["ottawa-on"]
    contract = ev.contract_for(store, "ottawa-on")
    for field in ("award_date", "expiry_date", "solicitation_id", "value", "publicly_advertised", "coop_clause",
                  "lead_is_public", "term_years"):
        assert contract[field] is None, field
    assert contract["scope_modules"] == row["scope_modules"].split(";")
    assert contract["source_urls"] == [u.strip() for u in row["source_urls"].split(" ; ")]
    assert contract["lead_agency"] == row["lead_agency"]


def test_contract_for_reads_booleans_dates_numbers_as_recorded(store):
    rows = contracts_csv()
    columbia = ev.contract_for(store, "columbia-sc")
    assert columbia["publicly_advertised"] is (rows["columbia-sc"]["publicly_advertised"] == "true") is False
    assert columbia["vehicle"] == "sole_source"
    assert columbia["value"] == float(rows["columbia-sc"]["value"])
    newport = ev.contract_for(store, "newport-beach-ca")
    assert newport["expiry_date"] == rows["newport-beach-ca"]["expiry_date"] == "2023-06"
    fay = ev.contract_for(store, "fayetteville-ar")
    assert fay["solicitation_id"] == "110515" and isinstance(fay["solicitation_id"], str)


def test_peer_without_contract_record_gives_none_and_checklist_treats_facts_as_unknown(store):
    assert "hamilton-on" not in contracts_csv()
    assert ev.contract_for(store, "hamilton-on") is None
    profile = profile_for(store, GUELPH)
    result = analyse_compliance(store, profile, "hamilton-on", {"decision_date": "2026-03-01"}, today=dt.date(2026, 3, 1))
    assert result.contract == {"deployment_id": "hamilton-on", "on_record": False}
    by_id = {r.rule_id: r for r in result.results}
    assert by_id["ALL-03"].status == "needs_evidence" and "not recorded" in by_id["ALL-03"].reason
    assert "no peer contract is selected" not in by_id["ALL-03"].reason


def test_contract_facts_table_shows_unknown_as_none(store):
    table = ev.contract_facts_table(ev.contract_for(store, "newport-beach-ca"))
    facts = dict(zip(table["fact"], table["value"]))
    assert facts["Expiry date"] == "2023-06"
    assert facts["Contract vehicle"] is None  # 'unknown' vehicle is a blank, not a value
    assert facts["Cooperative-use clause"] is None
    assert list(table["fact"]) == list(ev.CONTRACT_FACTS.values())


# ---------------------------------------------------------------- recording

def test_record_then_read_back_and_audit(writable_store):
    """A saved piece of evidence is read back for its scope only, stripped, and written to the audit log."""
    audits = count(writable_store, "audit_log", "WHERE action = 'evidence.record'")
    saved = ev.record_evidence(writable_store, SCOPE, "ALL-01", note="  City of Ottawa is a municipality  ",
                               link="https://ottawa.ca/en/city-hall", user=CLERK)
    assert saved["note"] == "City of Ottawa is a municipality" and saved["document"] is None
    found = ev.evidence_for(writable_store, SCOPE)
    assert set(found) == {"ALL-01"}
    entry = found["ALL-01"]
    assert (entry["note"], entry["link"], entry["who"]) == ("City of Ottawa is a municipality",
                                                          "https://ottawa.ca/en/city-hall", "clerk")
    assert [i["evidence_id"] for i in entry["items"]] == [saved["evidence_id"]]
    assert ev.evidence_for(writable_store, f"agency:{GUELPH}|peer:fayetteville-ar") == {}
    assert count(writable_store, "audit_log", "WHERE action = 'evidence.record'") == audits + 1
    detail = json.loads(writable_store.record.rows(
        "SELECT detail FROM audit_log WHERE action = 'evidence.record' ORDER BY ts DESC LIMIT 1")[0][0])
    assert detail["evidence_id"] == saved["evidence_id"] and detail["scope"] == SCOPE


def test_who_defaults_to_the_machines_operator(writable_store, monkeypatch):
    """Called from Python or the CLI with no user, the operator of this machine is the author."""
    monkeypatch.setenv("PIGGYBACK_USER", "night-clerk")
    saved = ev.record_evidence(writable_store, SCOPE, "ALL-11", document="Procurement By-law s.18")
    assert (saved["who"], saved["who_label"]) == ("local:night-clerk", "night-clerk")


def test_several_pieces_for_one_rule_are_joined_in_order(writable_store):
    first = ev.record_evidence(writable_store, SCOPE, "ALL-12", note="council report drafted")
    second = ev.record_evidence(writable_store, SCOPE, "ALL-12", note="council approved", document="Report 24-17")
    entry = ev.evidence_for(writable_store, SCOPE)["ALL-12"]
    assert entry["note"] == f"{first['note']} | {second['note']}"
    assert entry["document"] == "Report 24-17"
    assert len(entry["items"]) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"note": None, "document": "  ", "link": ""}, "at least a note"),
    ({"link": "ftp://example.org/file"}, "not a web address"),
    ({"link": "javascript:alert(1)"}, "not a web address"),
    ({"link": "https://example.org/a b"}, "not a web address"),
    ({"link": "https://example.org/x>](javascript:alert(1))"}, "not a web address"),
    ({"note": "x" * (ev.NOTE_MAX + 1)}, "keep it to"),
    ({"document": "d" * (ev.DOCUMENT_MAX + 1)}, "keep it to"),
    ({"note": "tab\x00null"}, "control characters"),
    ({"note": 12}, "must be text"),
])
def test_invalid_evidence_is_refused_and_nothing_is_written(writable_store, kwargs, message):
    before = count(writable_store, "evidence"), count(writable_store, "audit_log")
    with pytest.raises(ev.EvidenceError, match=message):
        ev.record_evidence(writable_store, SCOPE, "ALL-01", **kwargs)
    assert (count(writable_store, "evidence"), count(writable_store, "audit_log")) == before


@pytest.mark.parametrize("scope, rule_id, message", [
    ("agency:CA-CSD-3523008", "ALL-01", "not an evidence scope"),
    ("peer:ottawa-on|agency:CA-CSD-3523008", "ALL-01", "not an evidence scope"),
    ("agency:CA-CSD-3523008|peer:Ottawa ON", "ALL-01", "not an evidence scope"),
    ("agency:CA-CSD-3523008|peer:nowhere-zz", "ALL-01", "no peer deployment"),
    (SCOPE, "ALL-99", "not a rule"),
])
def test_bad_scope_unknown_peer_or_rule_is_refused(writable_store, scope, rule_id, message):
    with pytest.raises(ev.EvidenceError, match=message):
        ev.record_evidence(writable_store, scope, rule_id, note="checked")
    assert count(writable_store, "evidence") == 0


def test_read_only_store_refuses_to_record_or_remove(store):
    """The shared read-only store raises ReadOnlyStore before any validation or write."""
    before = count(store, "evidence")
    with pytest.raises(ReadOnlyStore):
        ev.record_evidence(store, SCOPE, "ALL-01", note="checked")
    with pytest.raises(ReadOnlyStore):
        ev.delete_evidence(store, "whatever")
    assert count(store, "evidence") == before


def test_delete_removes_only_in_its_scope_and_is_audited(writable_store):
    saved = ev.record_evidence(writable_store, SCOPE, "ALL-01", note="checked")
    other_scope = f"agency:{GUELPH}|peer:fayetteville-ar"
    with pytest.raises(ev.EvidenceError, match="no evidence"):
        ev.delete_evidence(writable_store, saved["evidence_id"], scope=other_scope)
    removed = ev.delete_evidence(writable_store, saved["evidence_id"], scope=SCOPE, user=person("steward", "steward"))
    assert removed["rule_id"] == "ALL-01" and removed["note"] == "checked"
    assert ev.evidence_for(writable_store, SCOPE) == {}
    row = writable_store.record.rows("SELECT who, detail FROM audit_log WHERE action = 'evidence.delete'")
    assert [r[0] for r in row] == ["local:steward"] and saved["evidence_id"] in row[0][1]
    with pytest.raises(ev.EvidenceError, match="removed already"):
        ev.delete_evidence(writable_store, saved["evidence_id"])


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(note=_text)
def test_any_note_is_saved_exactly_or_refused_with_a_reason(writable_store, note):
    """A note is stored as typed (stripped), or refused with EvidenceError; never stored altered or half-way."""
    before = count(writable_store, "evidence")
    stripped = note.strip()
    acceptable = bool(stripped) and not ev._CONTROL.search(stripped)
    try:
        saved = ev.record_evidence(writable_store, SCOPE, "ALL-02", note=note)
    except ev.EvidenceError:
        assert not acceptable
        assert count(writable_store, "evidence") == before
        return
    assert acceptable
    stored = writable_store.record.rows("SELECT note FROM evidence WHERE evidence_id = ?",
                                        [saved["evidence_id"]])[0][0]
    assert stored == stripped


# ---------------------------------------------------------------- checklist

def test_recorded_evidence_turns_the_rule_to_pass_in_the_checklist(writable_store):
    profile = profile_for(writable_store, GUELPH)
    before = analyse_compliance(writable_store, profile, "ottawa-on", {"decision_date": "2026-03-01"}, today=TODAY)
    assert {r.rule_id: r.status for r in before.results}["ALL-11"] == "needs_evidence"
    ev.record_evidence(writable_store, SCOPE, "ALL-11", document="Purchasing By-law 2021-11 s.7")
    after = analyse_compliance(writable_store, profile, "ottawa-on", {"decision_date": "2026-03-01"}, today=TODAY)
    rule = {r.rule_id: r for r in after.results}["ALL-11"]
    assert rule.status == "pass" and "Purchasing By-law 2021-11 s.7" in rule.reason
    assert after.verdict["blockers_open"] == before.verdict["blockers_open"] - 1
    assert after.scope == SCOPE
    rows = {r["rule_id"]: r for r in csv.DictReader(io.StringIO(compliance.checklist_csv(after.results)))}
    assert rows["ALL-11"]["status"] == "pass" and rows["ALL-11"]["evidence"] == "document: Purchasing By-law 2021-11 s.7"


def test_checklist_defaults_golive_to_an_assumption_and_rejects_unknown_peer(store):
    """The go-live assumption is the stored compliance.golive_months (a labelled assumption)."""
    row = store.assumptions("compliance").set_index("assumption_id").loc[ac.GOLIVE_ASSUMPTION_ID]
    assert row["kind"] == "assumption" and row["unit"] == "months"
    assert ac.golive_months(store) == int(row["value"]) == 18
    profile = profile_for(store, GUELPH)
    result = analyse_compliance(store, profile, "ottawa-on", {"decision_date": "2026-08-31"}, today=TODAY)
    assert result.golive_assumed and result.golive_months == 18
    assert result.planned_golive == dt.date(2028, 2, 29)
    own = analyse_compliance(store, profile, "ottawa-on", {"decision_date": "2026-08-31", "golive": "2027-01-01"},
                             today=TODAY)
    assert not own.golive_assumed and own.planned_golive == dt.date(2027, 1, 1)
    with pytest.raises(UnknownPeer):
        analyse_compliance(store, profile, "nowhere-zz", {}, today=TODAY)


def test_checklist_input_mistakes_are_user_errors(store):
    profile = profile_for(store, GUELPH)
    with pytest.raises(ac.ChecklistInputError, match="before the decision date"):
        analyse_compliance(store, profile, "ottawa-on", {"decision_date": "2026-03-01", "golive": "2025-01-01"},
                           today=TODAY)
    with pytest.raises(ac.ChecklistInputError, match="currency"):
        analyse_compliance(store, profile, "ottawa-on", {"value": 100_000, "currency": "EUR"}, today=TODAY)
    with pytest.raises(ac.ChecklistInputError, match="YYYY-MM-DD"):
        analyse_compliance(store, profile, "ottawa-on", {"decision_date": "next spring"}, today=TODAY)
    with pytest.raises(ac.ChecklistInputError, match="between 0 and"):
        analyse_compliance(store, profile, "ottawa-on", {"value": -5}, today=TODAY)
    # a value without a currency takes the agency's national one, and says so
    given = analyse_compliance(store, profile, "ottawa-on", {"value": 100_000}, today=TODAY)
    assert (given.currency, given.currency_assumed) == ("CAD", True)


@pytest.mark.parametrize("day, expected", [
    (dt.date(2026, 1, 15), dt.date(2027, 7, 15)),
    (dt.date(2026, 8, 31), dt.date(2028, 2, 29)),  # leap February: clipped to the month's end
    (dt.date(2025, 8, 31), dt.date(2027, 2, 28)),
    (dt.date(2026, 7, 1), dt.date(2028, 1, 1)),
])
def test_default_golive_is_eighteen_months_later(day, expected):
    assert ac.default_golive(day) == expected


def test_thresholds_for_lists_rows_in_force_and_marks_the_one_compared():
    rules = compliance.applicable_rules(compliance.load_rules(ROOT / "data" / "compliance"), "CA", "ON", False)
    thresholds = compliance.load_thresholds(ROOT / "data" / "compliance")
    in_2017 = compliance.thresholds_for(rules, thresholds, dt.date(2017, 9, 1))
    mash = [t for t in in_2017 if t["threshold_key"] == "cfta_mash_goods_services"]
    assert {(t["category"], t["amount"]) for t in mash} == {("goods", 100000.0), ("services", 100000.0)}
    assert sum(1 for t in mash if t["used"]) == 1 and mash[0]["rules"] == ["CA-01", "CA-02"]
    in_2026 = compliance.thresholds_for(rules, thresholds, dt.date(2026, 3, 1))
    # CETA municipal goods/services for 2026-27 is not confirmed: blank, nothing compared, "verify"
    ceta_2026 = [t for t in in_2026 if t["threshold_key"] == "ceta_municipal_goods_services"]
    assert ceta_2026 and all(t["amount"] is None and t["used"] is None for t in ceta_2026)
    assert all("verify the current threshold" in t["note"] for t in ceta_2026)
    in_2020 = compliance.thresholds_for(rules, thresholds, dt.date(2020, 6, 1))
    ceta = [t for t in in_2020 if t["threshold_key"] == "ceta_municipal_goods_services"]
    assert len(ceta) == 1 and ceta[0]["amount"] is None and ceta[0]["period"] == "none on record for 2020-06-01"
    # every threshold key that an Ontario rule names is listed
    assert {t["threshold_key"] for t in in_2026} == {r.threshold_key for r in rules if r.threshold_key}
