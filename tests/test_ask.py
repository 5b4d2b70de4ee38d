"""What to ask for (issue #14): the missing facts for an agency and a peer, ranked, with the
request texts; recording a fact (through a steward import) removes it and moves the verdict."""

from __future__ import annotations

import csv
import io
import json

from piggyback.analyses.ask import ask_for, missing_facts
from piggyback.cli import main
from piggyback.data.interchange import deployments_table, import_bytes
from piggyback.data.profile import profile_for


def _import_ottawa(store, **changes):
    row = deployments_table(store).set_index("deployment_id").loc["ottawa-on"].to_dict()
    row = {"deployment_id": "ottawa-on", **row, **changes}
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(row), lineterminator="\n")
    w.writeheader()
    w.writerow(row)
    import_bytes(store, buf.getvalue().encode(), "ottawa-answer.csv")


def test_guelph_and_ottawa_lists_the_contract_facts_and_the_request_texts(store):
    agency = profile_for(store, "Guelph, ON")
    result = ask_for(store, agency, "ottawa-on")
    facts = [m["fact"] for m in result["missing"]]
    assert {"award", "value", "term_expiry", "vehicle", "coop_clause", "price_lines"} <= set(facts)
    assert [m["rank"] for m in result["missing"]] == list(range(1, len(facts) + 1))
    blocking = [m for m in result["missing"] if m["rules"]]
    assert blocking and result["missing"][:len(blocking)] == blocking  # what blocks the verdict comes first
    assert all(m["why"] for m in result["missing"])
    body = result["request"]["body"]
    assert "City of Ottawa" in result["request"]["to"] and "Guelph" in body
    assert "cooperative-use or piggyback clause" in body and "price schedule" in body.lower()
    records = result["records_request"]
    assert "MFIPPA" in records["law"] and records["kind"] == "access-to-information request"
    for word in ("signed contract", "other public bodies buy", "advertisement", "price schedule", "go-live"):
        assert word in records["body"], word


def test_recording_the_clause_removes_it_and_changes_the_verdict(writable_store):
    agency = profile_for(writable_store, "Guelph, ON")
    before = ask_for(writable_store, agency, "ottawa-on")
    assert "coop_clause" in [m["fact"] for m in before["missing"]]
    assert before["verdict"]["state"] != "blocked"
    _import_ottawa(writable_store, coop_clause="no")  # the answer came back: no cooperative-use clause
    after = ask_for(writable_store, agency, "ottawa-on")
    assert "coop_clause" not in [m["fact"] for m in after["missing"]]
    assert after["verdict"]["state"] == "blocked" and "ALL-03" in after["verdict"]["text"]
    _import_ottawa(writable_store, contract_award="2021-06-09", contract_value="31000000", currency="CAD",
                   contract_term_years="10")
    again = [m["fact"] for m in ask_for(writable_store, agency, "ottawa-on")["missing"]]
    assert not {"award", "value", "term_expiry", "coop_clause"} & set(again)


def test_ranking_puts_rule_blockers_first_then_range_weights():
    states = {"vendor": "known", "product": "known", "modules": "known", "vehicle": "missing",
              "lead_agency": "known", "coop_clause": "partial", "advertised": "known", "award": "missing",
              "term_expiry": "missing", "value": "missing", "price_lines": "missing", "go_live": "missing"}
    blockers = [{"rule_id": "R-1", "missing": ["whether the contract lets other public bodies buy under it"]}]
    items = missing_facts(states, blockers)
    assert items[0]["fact"] == "coop_clause" and items[0]["rules"] == ["R-1"]
    assert "does not settle it" in items[0]["why"]
    assert [i["fact"] for i in items[1:3]] == ["price_lines", "value"]


def test_cli_ask_json_and_words(capsys, built_db):
    code = main(["--db", str(built_db), "ask", "--agency", "Guelph, ON", "--peer", "ottawa-on", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["peer"]["deployment_id"] == "ottawa-on"
    assert {"award", "coop_clause", "price_lines"} <= {m["fact"] for m in data["missing"]}
    code = main(["--db", str(built_db), "ask", "--agency", "Guelph, ON", "--peer", "ottawa-on"])
    out = capsys.readouterr().out
    assert code == 0 and "What to ask City of Ottawa for" in out and "MFIPPA" in out
    code = main(["--db", str(built_db), "ask", "--agency", "Guelph, ON", "--peer", "nowhere-xx"])
    assert code != 0 and "No peer deployment matches" in capsys.readouterr().err


def test_compliance_page_lists_what_to_ask_with_editable_texts_kept_in_the_scenario():
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["agency"] = "CA-CSD-3523008"
    at.query_params["peer"] = "ottawa-on"
    at.run()
    at.switch_page("pages/compliance_checklist.py")
    at.run()
    at.session_state["cmp_tab"] = "What to ask for"  # only the open tab is drawn
    at.run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "Why it matters" in d.value.columns or "why it matters" in d.value.columns)
    facts = set(table["fact"])
    assert {"Award date", "Contract value", "Term and expiry date", "Contract vehicle", "Cooperative-use clause",
            "Price schedule"} <= facts
    request = at.text_area(key="cmp_ask_request")
    assert "City of Ottawa" in request.value and "Guelph" in request.value
    assert "MFIPPA" in at.text_area(key="cmp_ask_records").value
    labels = [b.label for b in at.get("download_button")]
    assert "Download the request (text)" in labels
    assert any(label.startswith("Download the access-to-information request") for label in labels)
    request.set_value("Dear clerk, please send the contract.").run()
    assert not at.exception
    saved = at.session_state["scenario"]["compliance"]["ask"]
    assert saved == {**saved, "peer": "ottawa-on", "request": "Dear clerk, please send the contract."}
    at.run()  # the edit survives a rerun
    assert at.text_area(key="cmp_ask_request").value == "Dear clerk, please send the contract."
