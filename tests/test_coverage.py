"""What we know (issue #14): per-peer decision facts and the counts over all peers."""

from __future__ import annotations

import json

import pandas as pd

from piggyback.cli import main
from piggyback.analyses.coverage import FACTS, coverage


def _run(capsys, db, *argv):
    code = main(["--db", str(db), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_known_partial_and_missing_from_the_frames():
    deployments = pd.DataFrame([
        {"deployment_id": "a-on", "jurisdiction": "A", "region": "ON", "vendor": "V", "product": None,
         "module_codes": ["building"], "vehicle": "unknown", "contract_award": "2020", "go_live": None,
         "contract_value": None, "contract_term_years": None},
        {"deployment_id": "b-on", "jurisdiction": "B", "region": "ON", "vendor": None, "product": None,
         "module_codes": [], "vehicle": "unknown", "contract_award": None, "go_live": None,
         "contract_value": None, "contract_term_years": None},
    ])
    contracts = pd.DataFrame([{"deployment_id": "a-on", "vehicle": "cooperative", "lead_agency": "L",
                               "coop_clause": None, "publicly_advertised": False, "award_date": None,
                               "expiry_date": "2030", "term_years": None, "value": 10.0}])
    prices = pd.DataFrame([{"deployment_id": "a-on", "item_id": "x"}])
    facts = pd.DataFrame([{"fact_id": "f1", "deployment_id": "a-on", "fact": "coop_clause", "value": "delegation",
                           "fact_date": None, "conflicts_with": None, "source_url": "https://a.example"},
                          {"fact_id": "f2", "deployment_id": "b-on", "fact": "award", "value": "2019",
                           "fact_date": "2019", "conflicts_with": "deployments.contract_award = 2018",
                           "source_url": "https://b.example"}])
    result = coverage(deployments, contracts, prices, facts)
    a, b = result["peers"]
    assert a["facts"]["vehicle"] == "known"  # from the contract when the deployment says unknown
    assert a["facts"]["advertised"] == "known"  # False is a known answer, not a blank
    assert a["facts"]["coop_clause"] == "partial" and a["facts"]["product"] == "missing"
    assert a["facts"]["term_expiry"] == "known" and a["facts"]["value"] == "known"
    assert a["facts"]["price_lines"] == "known" and a["facts"]["go_live"] == "missing"
    assert b["facts"]["award"] == "partial" and b["known"] == 0
    assert result["totals"]["award"] == {"known": 1, "partial": 1, "missing": 0}
    assert [c["fact_id"] for c in result["conflicts"]] == ["f2"]


def test_cli_json_counts_every_peer_and_totals_add_up(capsys, built_db):
    code, out, _ = _run(capsys, built_db, "coverage", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["n_peers"] == len(data["peers"]) >= 48
    for key in FACTS:
        counted = sum(1 for p in data["peers"] if p["facts"][key] == "known")
        assert data["totals"][key]["known"] == counted
        assert sum(data["totals"][key].values()) == data["n_peers"]
    fay = next(p for p in data["peers"] if p["deployment_id"] == "fayetteville-ar")
    assert fay["facts"]["vehicle"] == "known" and fay["facts"]["coop_clause"] == "missing"
    assert {c["fact_id"] for c in data["conflicts"]} >= {"r2-humboldt-ca-award-1"}


def test_cli_one_peer_in_words(capsys, built_db):
    code, out, _ = _run(capsys, built_db, "coverage", "--peer", "ottawa-on")
    assert code == 0
    assert "City of Ottawa, ON" in out and "Known across all peers" not in out
    code, _, err = _run(capsys, built_db, "coverage", "--peer", "no-such-peer")
    assert code != 0 and "No peer deployment matches" in err


def test_an_imported_fact_moves_from_missing_to_known(writable_store):
    from piggyback.analyses.coverage import coverage_of_store
    from piggyback.data.interchange import deployments_table, import_bytes

    before = coverage_of_store(writable_store, "ottawa-on")["peers"][0]["facts"]
    assert before["coop_clause"] == "missing" and before["award"] == "missing"
    row = deployments_table(writable_store).set_index("deployment_id").loc["ottawa-on"].to_dict()
    row = {"deployment_id": "ottawa-on", **row, "contract_award": "2021-06-09", "coop_clause": "no"}
    header = list(row)
    import csv
    import io
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    w.writeheader()
    w.writerow(row)
    import_bytes(writable_store, buf.getvalue().encode(), "ottawa.csv")
    after = coverage_of_store(writable_store, "ottawa-on")["peers"][0]["facts"]
    assert after["coop_clause"] == "known" and after["award"] == "known"


def test_data_and_sources_page_shows_the_what_we_know_panel():
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/data_sources.py")
    at.run()
    assert not at.exception
    frames = [d.value for d in at.dataframe]
    totals = next(f for f in frames if list(f.columns[:4]) == ["Fact", "Known", "Partly", "Missing"])
    assert list(totals["Fact"]) == list(FACTS.values())
    per_peer = next(f for f in frames if "Peer" in f.columns and "Cooperative-use clause" in f.columns)
    assert len(per_peer) >= 48
    # the panel's totals are the per-peer marks counted
    for label in FACTS.values():
        assert int(totals.set_index("Fact").loc[label, "Known"]) == int((per_peer[label] == "✓").sum())
