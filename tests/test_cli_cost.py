"""``python -m piggyback cost``: the keys it prints, its arithmetic, and its errors."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from piggyback import cli
AGENCY = ["--agency", "Guelph, ON", "--peer", "fayetteville-ar", "--start-year", "2026"]


def cost(capsys, built_db, *args: str) -> tuple[int, str, str]:
    code = cli.main(["--db", str(built_db), "cost", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def cost_json(capsys, built_db, *args: str) -> dict:
    code, out, err = cost(capsys, built_db, *AGENCY, "--json", *args)
    assert code == 0, err
    return json.loads(out)


def test_json_has_the_totals_routes_items_and_assumptions(capsys, built_db):
    d = cost_json(capsys, built_db)
    for key in ("total", "npv", "low", "high", "currency", "by_year", "items", "routes", "assumptions"):
        assert key in d
    assert d["currency"] == "CAD" and d["horizon_years"] == 10 and len(d["by_year"]) == 10
    assert d["low"] <= d["total"] <= d["high"] and d["npv"] < d["total"]
    assert d["total"] == pytest.approx(sum(row["total"] for row in d["by_year"]), abs=0.1)
    for item in d["items"]:
        assert {"formula", "source_url", "confidence", "kind"} <= set(item) and item["formula"]
    peer_lines = [i for i in d["items"] if i["deployment_id"] == "fayetteville-ar"]
    assert peer_lines and all(i["source_url"].startswith("https://") for i in peer_lines)
    # read from the source: primary; computed by an even split of a total: derived, from that source
    kinds = {i["item_id"]: (i["kind"], i["derived_from"]) for i in peer_lines}
    assert kinds["fayetteville-ar-software"] == ("primary", None)
    assert kinds["fayetteville-ar-maintenance"][0] == "derived"
    assert "fayetteville-ar.gov" in kinds["fayetteville-ar-maintenance"][1]
    routes = d["routes"]
    assert set(routes) == {"traditional", "piggyback"} and routes["piggyback"]["total"] == d["total"]
    # the routes differ by their procurement costs only (both in year 1, same lines)
    assert routes["traditional"]["total"] - routes["piggyback"]["total"] == pytest.approx(
        routes["traditional"]["procurement_cost"] - routes["piggyback"]["procurement_cost"], abs=0.05)
    assert "pricing.rfp_fixed_cost" in routes["traditional"]["procurement_source"]["assumption_id"]
    used = {a["assumption_id"]: a for a in d["assumptions"]}
    assert used["pricing.discount_rate"]["value"] == 5 and not used["pricing.discount_rate"]["edited"]


def test_options_are_applied_and_reported_as_edited(capsys, built_db):
    base = cost_json(capsys, built_db)
    d = cost_json(capsys, built_db, "--years", "15", "--discount", "7")
    assert d["horizon_years"] == 15 and len(d["by_year"]) == 15 and d["total"] > base["total"]
    used = {a["assumption_id"]: a for a in d["assumptions"]}
    assert used["pricing.discount_rate"]["value"] == 7 and used["pricing.discount_rate"]["edited"]
    assert d["npv"] < d["total"]


def test_currency_switch_converts_by_the_exchange_rate_both_ways(capsys, built_db):
    cad = cost_json(capsys, built_db, "--currency", "CAD", "--fx", "1.25")
    usd = cost_json(capsys, built_db, "--currency", "USD", "--fx", "1.25")
    assert usd["currency"] == "USD"
    assert cad["total"] == pytest.approx(usd["total"] * 1.25, abs=0.05)
    assert usd["total"] == pytest.approx(cad["total"] / 1.25, abs=0.05)
    assert cad["npv"] == pytest.approx(usd["npv"] * 1.25, abs=0.05)
    assert [r["total"] for r in cad["by_year"]] == pytest.approx([r["total"] * 1.25 for r in usd["by_year"]],
                                                                 abs=0.05)


def test_json_is_deterministic(capsys, built_db):
    first = cost(capsys, built_db, *AGENCY, "--json")[1]
    assert first == cost(capsys, built_db, *AGENCY, "--json")[1]


def test_text_output_names_routes_formulas_and_sources(capsys, built_db):
    code, out, _ = cost(capsys, built_db, *AGENCY)
    assert code == 0
    assert "Own RFP" in out and "Piggyback" in out and "NPV" in out
    assert "× (143,740 / 93,949)^0.5" in out and "source: https://documents.fayetteville-ar.gov" in out


def test_peer_without_schedule_fails_naming_the_peers_that_have_one(built_db):
    out = run_cli("cost", "--agency", "Guelph, ON", "--peer", "ottawa-on")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "No price schedule on file for ottawa-on" in out.stderr and "fayetteville-ar" in out.stderr


@pytest.mark.parametrize("args, needle", [
    (["--peer", "no-such-peer"], "No peer deployment matches"),
    (["--peer", "fayetteville-ar", "--fx", "9"], "--fx must be a number from 0.2 to 5 CAD per USD"),
])
def test_mistakes_exit_non_zero_with_a_message(capsys, built_db, args, needle):
    code, out, err = cost(capsys, built_db, "--agency", "Guelph, ON", *args)
    assert code == 2 and needle in err and not out
