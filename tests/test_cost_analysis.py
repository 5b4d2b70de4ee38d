"""The one cost analysis (issue #13's cost half, #11): route costs that depend on the agency and the
contract, lump sums spread by a labelled rule, extrapolations warned and widened, derived lines
labelled, the user's values replacing their ranges, and the same figures in page, CLI, PDF and Excel."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from piggyback import cli
from piggyback.core import fmt
from piggyback.analyses.cost import analyse_cost
from piggyback.core.models import AgencyProfile
from piggyback.engines import pricing as engine
from piggyback.engines.pricing import PriceItem, PriceSchedule, default_assumptions, label_derived, prepare_schedule, spread_lump_sums
from piggyback.data.profile import profile_for

TODAY = dt.date.today()
YEAR = 2026
SHIPPED = default_assumptions()  # the engine reads no file: given explicitly


def scale_items(*args, **kw):
    return engine.scale_items(*args, **{"assumptions": SHIPPED, **kw})


def total_cost_of_ownership(*args, **kw):
    return engine.total_cost_of_ownership(*args, **{"assumptions": SHIPPED, **kw})


def item(**over) -> PriceItem:
    base = dict(item_id="lump-licence", deployment_id="lump-town", category="licence", description="Whole system",
                basis="fixed", amount=100_000, currency="USD", price_year=YEAR, recurrence="one_time",
                source_url="https://example.org/article", confidence="medium", kind="secondary")
    base.update(over)
    return PriceItem(**base)


def agency(population: int | None = 10_000, **over) -> AgencyProfile:
    return AgencyProfile(name="Testville", country="US", region="TX", population=population, **over)


def cost(store, place: str, peer: str, settings: dict | None = None):
    return analyse_cost(store, profile_for(store, place), peer, settings or {}, today=TODAY)


# --- hand-computed: the lump-sum rule, scale limits, old prices ------------------------------------


def test_lump_sum_is_paid_once_and_maintenance_is_derived_from_year_2_by_hand():
    # One lump sum of 100,000 USD (no running cost in the source), peer and agency of the same size,
    # share 18 %/yr, escalation 10 %/yr, horizon 3, no inflation (priced this year):
    #   year 1: 100,000 (licence, paid once)       maintenance 0 (under the purchase)
    #   year 2: 18,000 × 1.10   = 19,800
    #   year 3: 18,000 × 1.10²  = 21,780             total 141,580
    sched = spread_lump_sums(PriceSchedule(deployment_id="lump-town", peer_population=10_000, items=(item(),)), 18)
    derived = sched.items[-1]
    assert derived.kind == "derived" and derived.amount == 18_000 and derived.recurrence == "recurring"
    assert "lump-licence" in derived.note and "pricing.lump_sum_maintenance_share" in derived.note
    lines = scale_items(sched, agency(10_000))
    r = total_cost_of_ownership(lines, horizon_years=3, currency="USD", escalation_default=10, price_year_target=YEAR)
    assert [row["total"] for row in r.by_year] == pytest.approx([100_000, 19_800, 21_780])
    assert r.total == pytest.approx(141_580)
    line = next(i for i in r.items if i["item_id"] == derived.item_id)
    assert line["derived_from"] == "lump-licence (secondary source)" and line["first_year_paid"] == 2
    assert any(w.startswith(f"{derived.item_id}: Lump sum spread by rule") for w in r.warnings)


def test_a_schedule_with_a_running_cost_is_not_spread():
    sched = PriceSchedule(deployment_id="lump-town", items=(
        item(), item(item_id="lump-support", category="maintenance", basis="per_year", amount=5_000,
                     recurrence="recurring")))
    assert spread_lump_sums(sched, 18) == sched


def test_scaling_beyond_four_times_the_peer_warns_and_widens_the_range_by_hand():
    # 100,000 USD fixed, peer of 10,000; elasticity 0.5; only the extrapolation range (-30 % to +50 %) is varied.
    sched = PriceSchedule(deployment_id="lump-town", peer_population=10_000,
                          items=(item(category="implementation"),))
    kw = dict(horizon_years=1, currency="USD", price_year_target=YEAR, ranges={"extrapolation": (-30, 50)})
    [inside] = scale_items(sched, agency(40_000), elasticity=0.5)  # exactly 4×: within the limit
    r_in = total_cost_of_ownership([inside], **kw)
    assert not inside.extrapolated and r_in.low == r_in.high == pytest.approx(200_000) and not r_in.warnings
    [beyond] = scale_items(sched, agency(50_000), elasticity=0.5)  # 5×: 100,000 × √5 = 223,606.80
    r = total_cost_of_ownership([beyond], **kw)
    assert beyond.extrapolated and r.total == pytest.approx(223_606.80, abs=0.01)
    assert (r.low, r.high) == pytest.approx((223_606.80 * 0.7, 223_606.80 * 1.5), abs=0.01)
    assert any("Scaled beyond the 0.25×–4× limit" in w and "5×" in w for w in r.warnings)
    [small] = scale_items(sched, agency(2_000), elasticity=0.5)  # 0.2× the peer
    assert small.extrapolated


def test_a_price_older_than_ten_years_warns_and_widens():
    kw = dict(horizon_years=1, currency="USD", inflation=0, price_year_target=YEAR,
              ranges={"extrapolation": (-30, 50)})
    sched = PriceSchedule(deployment_id="lump-town", peer_population=10_000,
                          items=(item(category="implementation", price_year=YEAR - 10),))
    r = total_cost_of_ownership(scale_items(sched, agency(10_000)), **kw)
    assert r.low == pytest.approx(70_000) and r.high == pytest.approx(150_000)
    assert any("Price is from 2016 (10 years old)" in w for w in r.warnings)
    recent = sched.model_copy(update={"items": (item(category="implementation", price_year=YEAR - 9),)})
    r9 = total_cost_of_ownership(scale_items(recent, agency(10_000)), **kw)
    assert r9.low == r9.high == pytest.approx(100_000) and not r9.warnings


def test_even_splits_are_labelled_derived_from_their_source():
    split = item(item_id="split", category="maintenance", basis="per_year", recurrence="recurring", years=5,
                 amount=52_115, kind="primary", confidence="high",
                 note="The source gives USD 260,575 for 5 years; 260,575 / 5 = 52,115 a year, an even split.")
    [labelled, kept] = label_derived([split, item()])
    assert labelled.kind == "derived" and labelled.confidence == "medium"
    assert labelled.note.startswith("Derived from a primary source (https://example.org/article)")
    assert kept == item()


def test_prepare_schedule_uses_the_assumed_share():
    table = default_assumptions()
    sched = prepare_schedule(PriceSchedule(deployment_id="lump-town", items=(item(),)), table)
    assert sched.items[-1].amount == pytest.approx(100_000 * table["pricing.lump_sum_maintenance_share"].value / 100)


# --- the cases, in the store ----------------------------------------------------------------


def test_route_difference_depends_on_the_agency_on_the_same_peer(store):
    cobalt = cost(store, "Cobalt, ON", "niagara-on-the-lake-on")
    toronto = cost(store, "Toronto, ON", "niagara-on-the-lake-on")
    assert cobalt.ok and toronto.ok
    diff = {n: r.analysis.piggyback.total - r.analysis.traditional.total for n, r in
            (("cobalt", cobalt), ("toronto", toronto))}
    assert diff["cobalt"] != pytest.approx(diff["toronto"], abs=100)
    # traced to the named input: the contract's value scaled to each agency (the share-of-value part)
    cv = {n: r.analysis.traditional.procurement_source["contract_value"] for n, r in
          (("cobalt", cobalt), ("toronto", toronto))}
    assert cv["toronto"] > 10 * cv["cobalt"]
    share_rfp, share_dd = 0.01, 0.0025  # pricing.rfp_share_of_value, pricing.due_diligence_share_of_value
    assert diff["toronto"] - diff["cobalt"] == pytest.approx(-(share_rfp - share_dd) * (cv["toronto"] - cv["cobalt"]),
                                                             rel=1e-6)


def test_toronto_on_niagara_on_the_lakes_contract_warns(store):
    r = cost(store, "Toronto, ON", "niagara-on-the-lake-on")
    assert any("Scaled beyond the 0.25×–4× limit" in w and "Toronto" in w for w in r.warnings)
    assert "Scaled beyond" in " ".join(r.to_dict()["warnings"])


def test_travis_county_on_dallas_has_recurring_years_from_the_lump_sum_rule(store):
    r = cost(store, "Travis County, TX", "dallas-tx")
    by_year = r.analysis.piggyback.tco.by_year
    assert all(row["maintenance"] > 0 for row in by_year[1:]) and by_year[0]["maintenance"] == 0
    derived = next(i for i in r.analysis.piggyback.tco.items if i["kind"] == "derived")
    assert derived["derived_from"].startswith("dallas-tx-posse")
    assert any("Price is from 2006" in w for w in r.warnings)
    assert any("Lump sum spread by rule" in w for w in r.warnings)


def test_elasticity_zero_collapses_the_elasticity_range(capsys, built_db):
    def run(*extra):
        assert cli.main(["--db", str(built_db), "cost", "--agency", "Guelph, ON", "--peer", "fayetteville-ar",
                         "--json", *extra]) == 0
        return json.loads(capsys.readouterr().out)

    base, zero = run(), run("--elasticity", "0")
    assert "elasticity" in base["range_method"] and "elasticity" not in zero["range_method"]
    row = {a["assumption_id"]: a for a in zero["assumptions"]}["pricing.scale_elasticity"]
    assert row["value"] == 0 and row["low"] is None and row["high"] is None and row["edited"]
    assert "pricing.scale_elasticity" not in {t["assumption_id"] for t in zero["tornado"] if t["swing"] > 0}


def test_spread_across_peers_is_shown_when_two_or_more_peers_have_prices(store):
    r = cost(store, "Guelph, ON", "fayetteville-ar")
    s = r.spread
    assert s["count"] >= 2 and s["min"] <= s["median"] <= s["max"]
    assert [p["total"] for p in s["peers"]] == sorted(p["total"] for p in s["peers"])
    assert "peers' contracts scaled to Guelph" in s["summary"] and r.display()["spread"]


def test_costs_show_three_significant_figures_and_no_cents():
    assert fmt.cost(19.04, "CAD") == "19 CAD"
    assert fmt.cost(481_234, "CAD") == "481,000 CAD"
    assert fmt.cost(8_213_456, "USD") == "8.21 M USD"
    assert fmt.cost(12_345_678, "USD") == "12.3 M USD"
    assert fmt.cost(-96_649, "CAD") == "-96,600 CAD"
    assert fmt.cost(0.98765, "USD") == "0.99 USD"  # never finer than a cent
    assert fmt.cost(0.001, "USD") == "0 USD"
    assert fmt.cost(None) == fmt.BLANK


# --- the same figures in page, CLI, PDF and Excel ----------------------------------------------------


def _page(geo_id: str, peer: str) -> dict[str, str]:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["agency"] = geo_id
    at.query_params["peer"] = peer
    at.run()
    at.switch_page("pages/pricing.py")
    at.run()
    assert not at.exception, at.exception
    return {m.label: m.value for m in at.metric} | {"_warnings": " ".join(w.value for w in at.warning)}


def _cli(capsys, built_db, place: str, peer: str) -> tuple[int, dict | str]:
    code = cli.main(["--db", str(built_db), "cost", "--agency", place, "--peer", peer, "--json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else out.err)


def _exports(store, geo_id: str, peer: str):
    from piggyback.analyses.business_case import build_business_case
    from piggyback.reports.report_pdf import render_pdf
    from piggyback.reports.report_xlsx import render_xlsx

    case = build_business_case(store, profile_for(store, geo_id), peer, {}, today=TODAY).to_dict()
    text = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in
                                          PdfReader(io.BytesIO(render_pdf(case, charts=False))).pages))
    sheet = load_workbook(io.BytesIO(render_xlsx(case)))["Cost"]
    cells = {row[0]: (row[2] if len(row) > 2 else None) for row in sheet.iter_rows(min_row=2, values_only=True)}
    return case["cost"], text, cells


def test_page_cli_pdf_and_excel_agree_travis_county_on_killeen(store, capsys, built_db):
    geo_id = profile_for(store, "Travis County, TX").geo_id
    code, d = _cli(capsys, built_db, "Travis County, TX", "killeen-tx")
    assert code == 0
    shown = d["display"]
    page = _page(geo_id, "killeen-tx")
    section, text, cells = _exports(store, geo_id, "killeen-tx")
    for route, label in (("traditional", "own RFP"), ("piggyback", "piggyback")):
        total = shown[route]["total"]
        assert page[f"10-year cost: {label}"] == total
        assert section["display"][route]["total"] == total
        assert total in text
        assert fmt.cost(cells[section["routes"][route]["label"]], d["currency"]) == total
        assert page[f"NPV: {label}"] == shown[route]["npv"] and shown[route]["npv"] in text
    assert page["Cost per resident (piggyback)"] == shown["per_resident"] and shown["per_resident"] in text
    assert fmt.cost(cells["Piggyback minus own RFP"], d["currency"]) == shown["difference"] in text
    assert page["Range (piggyback)"] == shown["piggyback"]["range"] and shown["piggyback"]["range"] in text


def test_page_cli_pdf_and_excel_agree_guelph_on_ottawa_no_prices(store, capsys, built_db):
    code, err = _cli(capsys, built_db, "Guelph, ON", "ottawa-on")
    assert code != 0 and "No price schedule on file for ottawa-on" in err
    page = _page("CA-CSD-3523008", "ottawa-on")
    assert "No price schedule on file for Ottawa" in page["_warnings"]
    assert not [k for k in page if "year cost" in k]
    section, text, cells = _exports(store, "CA-CSD-3523008", "ottawa-on")
    assert section["status"] == "no_schedule" and "No price schedule on file for ottawa-on" in text
    assert [k for k in cells if "No price schedule on file for ottawa-on" in str(k)]


def test_the_engine_reads_no_file_it_is_given_the_assumptions(store, monkeypatch):
    sched = PriceSchedule(deployment_id="lump-town", peer_population=10_000, items=(item(),))
    with pytest.raises(engine.PricingError, match="no value for pricing.scale_elasticity"):
        engine.scale_items(sched, agency())
    lines = engine.scale_items(sched, agency(), elasticity=0.5, users_per_1000=1)
    with pytest.raises(engine.PricingError, match="no value for"):
        engine.total_cost_of_ownership(lines, price_year_target=YEAR)
    # the whole analysis runs from the store's assumptions even when the shipped file is gone
    monkeypatch.setattr(engine, "ASSUMPTIONS_CSV", engine.DATA_DIR / "no-such-file.csv")
    engine._default_assumptions.cache_clear()
    try:
        assert cost(store, "Guelph, ON", "fayetteville-ar").ok
    finally:
        monkeypatch.undo()
        engine._default_assumptions.cache_clear()


def test_a_peer_that_paid_nothing_is_left_out_of_the_spread_and_says_why(store):
    """Hood River's statewide ePermitting is funded by a state surcharge (price line 0 USD): a
    spread whose low end is 0 would tell Guelph nothing, so the peer is named as left out instead."""
    result = analyse_cost(store, profile_for(store, "Guelph, ON"), "fayetteville-ar", {}, today=TODAY)
    spread = result.spread
    assert spread["min"] > 0 and all(r["peer"] != "hood-river-or" for r in spread["peers"])
    assert "hood-river-or" in spread["left_out"] and "no purchase price" in spread["left_out"]["hood-river-or"]
