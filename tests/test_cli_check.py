"""``python -m piggyback check``: rules by jurisdiction, exit codes, thresholds by date, evidence applied.

JSON shape (documented here and asserted in test_json_shape_is_an_object_with_a_rules_list):
``{"agency": {...}, "peer": {...}, "inputs": {...}, "verdict": {...}, "rules": [{"rule_id",
"severity", "status": pass|fail|needs_evidence, "reason", "citation", "source_url", ...}],
"thresholds": [...], "evidence_scope": "agency:<geo_id>|peer:<deployment_id>"}``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest

from piggyback.data import evidence as ev
from piggyback.analyses.compliance import analyse_compliance
from piggyback.engines.compliance import verdict as compute_verdict
from piggyback.engines.compliance import RuleResult

from conftest import BUILT_DB, ROOT, run_cli

GUELPH = "CA-CSD-3523008"
TRAVIS = "US-CO-48453"
DATE = ["--date", "2026-03-02"]


def rule_ids_in_data(prefix: str) -> set[str]:
    with (ROOT / "data" / "compliance" / "rules.csv").open(newline="", encoding="utf-8") as handle:
        return {r["rule_id"] for r in csv.DictReader(handle) if r["rule_id"].startswith(prefix)}


def check_json(*args, db=None) -> tuple[int, dict]:
    proc = run_cli("check", *args, "--json", db=db)
    assert proc.returncode in (0, 1, 4), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def ontario_run():
    return run_cli("check", "--agency", GUELPH, "--peer", "ottawa-on", *DATE, "--json")


@pytest.fixture(scope="module")
def ontario(ontario_run):
    assert ontario_run.returncode in (0, 1, 4), ontario_run.stderr
    return ontario_run.returncode, json.loads(ontario_run.stdout)


def test_json_shape_is_an_object_with_a_rules_list(ontario):
    """The JSON is an object with agency, peer, verdict and a list of rules each carrying id, severity,
    status, reason and citation; the verdict agrees with the rules it summarizes."""
    code, data = ontario
    assert {"agency", "peer", "inputs", "verdict", "rules", "thresholds", "evidence_scope"} <= set(data)
    assert data["agency"]["geo_id"] == GUELPH and data["peer"]["deployment_id"] == "ottawa-on"
    assert data["evidence_scope"] == f"agency:{GUELPH}|peer:ottawa-on"
    assert isinstance(data["rules"], list) and data["rules"]
    for rule in data["rules"]:
        assert {"rule_id", "severity", "status", "reason", "citation", "source_url"} <= set(rule)
        assert rule["status"] in ("pass", "fail", "needs_evidence")
        assert rule["severity"] in ("blocker", "warning", "info")
        assert rule["reason"] and rule["citation"] and rule["source_url"].startswith("http")
    assert data["verdict"] == compute_verdict((RuleResult(**r) for r in data["rules"]),
                                              country=data["agency"]["country"], region=data["agency"]["region"])
    assert code == data["verdict"]["exit_code"] == {"blocked": 1, "not_shown": 4}.get(data["verdict"]["state"], 0)


def test_ontario_agency_gets_canadian_and_ontario_rules_only(ontario):
    _, data = ontario
    ids = {r["rule_id"] for r in data["rules"]}
    assert rule_ids_in_data("CA-") <= ids and rule_ids_in_data("ON-") <= ids
    assert not {i for i in ids if i.startswith(("TX-", "US-FED-", "US-CA-", "NY-", "AB-"))}
    # Ottawa's contract: nothing on record breaks a blocker, but blockers lack facts: not shown, exit 4
    assert ontario[0] == 4 and data["verdict"]["blockers_failed"] == 0
    assert data["verdict"]["state"] == "not_shown" and data["verdict"]["blockers_open"] > 0
    assert data["inputs"]["planned_golive"] == "2027-09-02" and data["inputs"]["planned_golive_assumed"]


def test_texas_agency_gets_texas_rules_and_federal_funds_add_the_us_fed_rules():
    _, plain = check_json("--agency", TRAVIS, "--peer", "fayetteville-ar", *DATE)
    _, federal = check_json("--agency", TRAVIS, "--peer", "fayetteville-ar", "--federal-funds", *DATE)
    plain_ids = {r["rule_id"] for r in plain["rules"]}
    federal_ids = {r["rule_id"] for r in federal["rules"]}
    assert rule_ids_in_data("TX-") <= plain_ids
    assert not {i for i in plain_ids if i.startswith(("CA-", "ON-", "US-FED-"))}
    assert federal_ids - plain_ids == rule_ids_in_data("US-FED-")
    assert federal["inputs"]["federal_funds"] is True


def test_expired_contract_fails_and_exits_1():
    """Newport Beach's agreement expired in June 2023 (contracts.csv): the active-term blocker fails."""
    proc = run_cli("check", "--agency", TRAVIS, "--peer", "newport-beach-ca", *DATE, "--json")
    assert proc.returncode == 1, proc.stderr
    rules = {r["rule_id"]: r for r in json.loads(proc.stdout)["rules"]}
    assert rules["ALL-04"]["status"] == "fail" and "2023-06" in rules["ALL-04"]["reason"]
    text = run_cli("check", "--agency", TRAVIS, "--peer", "newport-beach-ca", *DATE)
    assert text.returncode == 1
    assert "[FAIL] ALL-04 (Contract terms)" in text.stdout
    assert "VERDICT: Blocked: 1 blocker fails (ALL-04)" in text.stdout


def test_decision_date_picks_the_threshold_in_force():
    """CFTA's 2017 MASH threshold (CAD 100,000) applies on 2017-09-01; for 2026 only an approximate
    figure (CAD 139,000, low confidence) is on file, so a value under it is not a pass."""
    args = ["--agency", GUELPH, "--peer", "ottawa-on", "--value", "50000", "--currency", "CAD"]
    _, in_2017 = check_json(*args, "--date", "2017-09-01")
    _, in_2026 = check_json(*args, "--date", "2026-03-02")
    cfta_2017 = {r["rule_id"]: r for r in in_2017["rules"]}["CA-01"]
    cfta_2026 = {r["rule_id"]: r for r in in_2026["rules"]}["CA-01"]
    assert (cfta_2017["status"], cfta_2017["threshold_amount"]) == ("pass", 100000.0)
    assert "2017-07-01 to 2017-12-31" in cfta_2017["threshold"]
    assert cfta_2026["status"] == "needs_evidence" and cfta_2026["threshold_amount"] == 139000.0
    assert "low confidence: verify" in cfta_2026["threshold"] and "approximate" in cfta_2026["reason"]
    assert in_2017["inputs"]["planned_golive"] == "2019-03-01"


def test_recorded_evidence_turns_that_rule_to_pass(db_copy):
    from piggyback.data.store import Store

    args = ["--agency", GUELPH, "--peer", "ottawa-on", *DATE]
    _, before = check_json(*args, db=db_copy)
    assert {r["rule_id"]: r for r in before["rules"]}["ON-01"]["status"] == "needs_evidence"
    store = Store.open(db_copy)
    try:
        ev.record_evidence(store, f"agency:{GUELPH}|peer:ottawa-on", "ON-01",
                           note="Procurement By-law allows co-operative purchasing", document="By-law (2023)-20",
                           label="clerk")
    finally:
        store.close()
    _, after = check_json(*args, db=db_copy)
    rule = {r["rule_id"]: r for r in after["rules"]}["ON-01"]
    assert rule["status"] == "pass" and "By-law (2023)-20" in rule["evidence"]
    assert after["verdict"]["blockers_open"] == before["verdict"]["blockers_open"] - 1
    # evidence for another peer does not leak into this one
    _, other = check_json("--agency", GUELPH, "--peer", "fayetteville-ar", *DATE, db=db_copy)
    assert {r["rule_id"]: r for r in other["rules"]}["ON-01"]["status"] == "needs_evidence"


def test_value_without_currency_takes_the_agencys_and_says_so():
    _, data = check_json("--agency", TRAVIS, "--peer", "fayetteville-ar", "--value", "300,000", *DATE)
    assert data["inputs"] == {**data["inputs"], "value": 300000.0, "currency": "USD", "currency_assumed": True}


@pytest.mark.parametrize("args, message", [
    (["--value", "lots"], "--value must be a number from 0"),
    (["--date", "2026-02-30"], "is not a date"),
    (["--golive", "2025-01-01"], "before the decision date"),
])
def test_input_mistakes_exit_2_with_a_message(args, message):
    proc = run_cli("check", "--agency", GUELPH, "--peer", "ottawa-on", *DATE, *args)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_peer_exits_2_and_lists_the_known_ones():
    proc = run_cli("check", "--agency", GUELPH, "--peer", "atlantis")
    assert proc.returncode == 2 and "ottawa-on" in proc.stderr


def test_same_inputs_print_the_same_json(ontario_run):
    again = run_cli("check", "--agency", "Guelph, ON", "--peer", "Ottawa", *DATE, "--json")
    assert again.stdout == ontario_run.stdout  # byte for byte; names resolve to the same agency and peer


# ---------------------------------------------------------------- issue #12: verdicts, in process

TODAY = ["--date", "2026-11-29"]  # the commands, on a fixed decision date


def check_in_process(capsys, monkeypatch, *args) -> tuple[int, str]:
    """``python -m piggyback check …`` through ``piggyback.cli.main`` in this process."""
    from piggyback import cli
    monkeypatch.setenv("PIGGYBACK_DB", str(BUILT_DB))
    code = cli.main(["check", *args])
    return code, capsys.readouterr().out


def test_gatineau_adopting_ottawa_is_blocked_by_the_quebec_rule(built_db, capsys, monkeypatch):
    code, out = check_in_process(capsys, monkeypatch, "--agency", "Gatineau, QC", "--peer", "ottawa-on",
                                 "--value", "900000", *TODAY)
    assert code == 1
    assert "VERDICT: Blocked: 1 blocker fails (QC-12)" in out
    assert "fails: QC-12: the contract was let outside Quebec (City of Ottawa, Ontario)" in out
    assert "legisquebec.gouv.qc.ca" in out.split("fails: QC-12")[1].splitlines()[0]
    instead = next(line for line in out.splitlines() if line.startswith("  instead:"))
    assert "UMQ" in instead and "Centre d'acquisitions gouvernementales" in instead and "3 years" in instead
    code, out = check_in_process(capsys, monkeypatch, "--agency", "Gatineau, QC", "--peer", "ottawa-on",
                                 "--value", "900000", *TODAY, "--json")
    verdict = json.loads(out)["verdict"]
    assert (code, verdict["state"], verdict["failing"][0]["rule_id"]) == (1, "blocked", "QC-12")
    assert [s["code"] for s in verdict["rule_sets"]] == ["ALL", "CA", "QC"]


def test_guelph_adopting_hamilton_is_not_shown_and_lists_the_missing_facts(built_db, capsys, monkeypatch):
    code, out = check_in_process(capsys, monkeypatch, "--agency", "Guelph, ON", "--peer", "hamilton-on", *TODAY)
    assert code == 4
    assert "VERDICT: Not shown to be allowed: no blocker fails, but" in out and "no blockers" not in out.lower()
    missing = out.split("blockers lacking facts or evidence:")[1].split("\n\n")[0]
    for line in ("ALL-01: missing whether the lead agency is a public body",
                 "ALL-02: missing whether the original solicitation was publicly advertised",
                 "ALL-04: missing the contract's expiry date (or its award date and term)",
                 "ALL-05: missing the contract's scope of work or price list",
                 "CA-01: missing the estimated purchase value"):
        assert line in missing, line


def test_irvine_adopting_newport_beach_is_blocked_because_it_expired(built_db, capsys, monkeypatch):
    code, out = check_in_process(capsys, monkeypatch, "--agency", "Irvine, CA", "--peer", "newport-beach-ca", *TODAY)
    assert code == 1 and "VERDICT: Blocked: 1 blocker fails (ALL-04)" in out
    assert "the contract expired (2023-06) before the decision date 2026-11-29" in out


def test_springfield_missouri_says_no_missouri_rules_are_on_file(built_db, capsys, monkeypatch):
    code, out = check_in_process(capsys, monkeypatch, "--agency", "Springfield, MO", "--peer", "ottawa-on", *TODAY)
    assert code == 4
    assert ("Missouri: no state rules on file; this verdict covers general rules only." in out)
    assert "Rules applied: general due-diligence rules." in out


def test_blockers_come_first_in_the_json_and_the_text(built_db, capsys, monkeypatch):
    code, out = check_in_process(capsys, monkeypatch, "--agency", "Guelph, ON", "--peer", "ottawa-on", *TODAY, "--json")
    severities = [r["severity"] for r in json.loads(out)["rules"]]
    assert severities == sorted(severities, key=["blocker", "warning", "info"].index)
    code, out = check_in_process(capsys, monkeypatch, "--agency", "Guelph, ON", "--peer", "ottawa-on", *TODAY)
    headings = [line for line in out.splitlines() if line.startswith("== ") and "Thresholds" not in line]
    assert headings == ["== Blockers ==", "== Warnings ==", "== For information =="]


def test_help_documents_the_verdict_exit_codes(capsys):
    from piggyback import cli
    assert cli.main(["check", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "1: blocked (a blocker fails)" in text and "4: not shown to be allowed" in text
    assert "0: allowed" in text


def test_seeded_and_imported_rows_with_award_and_term_get_an_expiry(store, writable_store):
    """Visalia's seeded contract (award 2025, 7-year term) ends in 2032; a steward-imported row
    (award 2025-03-17, 7 years) ends 2032-03-17 (hand-computed), after the assumed go-live, so the
    active-term rule passes instead of "expiry date is not recorded" (issue #12)."""
    from piggyback.data.interchange import import_bytes
    from piggyback.data.profile import profile_for

    from test_interchange import CONTRACT_ROW, csv_bytes

    day = dt.date(2026, 11, 29)
    seeded = analyse_compliance(store, profile_for(store, TRAVIS), "visalia-ca", {}, today=day)
    rule = {r.rule_id: r for r in seeded.results}["ALL-04"]
    assert rule.status == "pass" and rule.reason.startswith("in force until 2032: award 2025 + 7-year term")

    import_bytes(writable_store, csv_bytes([CONTRACT_ROW]), "contract.csv")
    imported = analyse_compliance(writable_store, profile_for(writable_store, TRAVIS), "city-of-guelph-on", {},
                                  today=day)
    by_id = {r.rule_id: r for r in imported.results}
    assert by_id["ALL-04"].status == "pass"
    assert "2032-03-17: award 2025-03-17 + 7-year term" in by_id["ALL-04"].reason
    assert by_id["ALL-01"].status == "pass"  # "City of Guelph" is a government by its name


def test_toronto_check_names_its_delegated_limit(built_db, capsys, monkeypatch):
    code, out = check_in_process(capsys, monkeypatch, "--agency", "Toronto, ON", "--peer", "ottawa-on",
                                 "--value", "900000", *TODAY)
    line = next(l for l in out.splitlines() if l.startswith("[NEEDS EVIDENCE] ALL-12"))
    assert "on file for Toronto" in line and "CAD 30,000,000" in line and code == 4
