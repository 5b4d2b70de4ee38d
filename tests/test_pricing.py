"""Pricing engine: hand-computed totals, properties of the TCO, the seeded price schedules."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from piggyback.core.models import AgencyProfile, Deployment
from piggyback.engines import pricing as engine
from piggyback.engines import pricing_routes as routes
from piggyback.engines.pricing import (
    ASSUMPTIONS_CSV,
    CATEGORIES,
    PRICE_ITEMS_CSV,
    NoPriceScheduleError,
    PriceItem,
    PriceSchedule,
    PricingError,
    convert,
    default_assumptions,
    items_from_records,
    load_price_items,
    load_price_schedules,
    load_pricing_assumptions,
    schedule_for,
    tco_kwargs_from_assumptions,
)
from piggyback.engines.pricing_routes import analyse_cost, compare_contracts, contract_tco, tornado
from piggyback.figures.pricing_figures import cost_by_year_figure, peer_compare_figure, tornado_figure

SETTINGS = settings(max_examples=60, deadline=None)
#: The engine reads no file: these tests give it the shipped assumptions explicitly.
SHIPPED = default_assumptions()


def scale_items(*args, **kw):
    return engine.scale_items(*args, **{"assumptions": SHIPPED, **kw})


def total_cost_of_ownership(*args, **kw):
    return engine.total_cost_of_ownership(*args, **{"assumptions": SHIPPED, **kw})


def cost_of_route(*args, **kw):
    return routes.cost_of_route(*args, **{"assumptions": SHIPPED, **kw})


def compare_routes(*args, **kw):
    return routes.compare_routes(*args, **{"assumptions": SHIPPED, **kw})


def cost_settings(defaults=None, *args, **kw):
    return routes.cost_settings(defaults or SHIPPED, *args, **kw)
YEAR = 2026
FAYETTEVILLE_POP = 93_949  # 2020 census, per the peer research
PEERS_CSV = Path("/work/shared/research/peers.csv")


def item(**over) -> PriceItem:
    base = dict(item_id="tiny-licence", deployment_id="tiny-town", category="licence", description="Licence",
                basis="fixed", amount=100_000, currency="USD", price_year=YEAR, recurrence="one_time",
                source_url="https://example.org/contract", confidence="high", kind="primary")
    base.update(over)
    return PriceItem(**base)


def agency(population: int | None = 10_000, **over) -> AgencyProfile:
    return AgencyProfile(name="Testville", country="CA", region="ON", population=population, **over)


def tiny_schedule() -> PriceSchedule:
    return PriceSchedule(deployment_id="tiny-town", peer_population=10_000, items=(
        item(),
        item(item_id="tiny-maintenance", category="maintenance", description="Maintenance", basis="per_year",
             amount=10_000, recurrence="recurring", escalation_pct=10),
    ))


@pytest.fixture(scope="module")
def schedules():
    return load_price_schedules()


@pytest.fixture(scope="module")
def fayetteville(schedules):
    peer = Deployment(deployment_id="fayetteville-ar", jurisdiction="City of Fayetteville", region="AR",
                      country="US", population=FAYETTEVILLE_POP, population_year=2020, confidence="high",
                      module_codes=["enforcement", "building", "licensing", "inspections", "planning"])
    return PriceSchedule.for_peer(schedules["fayetteville-ar"].items, "fayetteville-ar", peer)


# --- hand-computed examples ----------------------------------------------------------------


def test_hand_computed_total_and_npv():
    # Agency and peer have the same population, so scaling changes nothing; prices are in the
    # analysis year (no inflation) and in USD (no conversion). Horizon 3 years, discount 10 %.
    #   year 1: licence 100,000 + maintenance 10,000          = 110,000
    #   year 2: maintenance 10,000 × 1.10                      =  11,000
    #   year 3: maintenance 10,000 × 1.10²                     =  12,100
    #   total                                                  = 133,100
    #   NPV = 110,000/1.1 + 11,000/1.1² + 12,100/1.1³ = 100,000 + 9,090.91 + 9,090.91 = 118,181.82
    lines = scale_items(tiny_schedule(), agency(10_000))
    r = total_cost_of_ownership(lines, horizon_years=3, currency="USD", discount_rate=10, price_year_target=YEAR)
    assert r.total == pytest.approx(133_100)
    assert r.npv == pytest.approx(100_000 + 2 * 10_000 / 1.1)
    assert [row["total"] for row in r.by_year] == pytest.approx([110_000, 11_000, 12_100])
    assert [row["licence"] for row in r.by_year] == pytest.approx([100_000, 0, 0])
    assert [row["calendar_year"] for row in r.by_year] == [YEAR, YEAR + 1, YEAR + 2]
    assert r.per_resident == pytest.approx(133_100 / 10_000)


def test_hand_computed_scaling_inflation_and_currency():
    # 1,000 USD fixed, priced in 2024, peer of 10,000 residents, agency of 40,000, elasticity 0.5:
    #   1,000 × (40,000 / 10,000)^0.5 = 2,000 USD; × 1.10² (10 % inflation, 2024→2026) = 2,420 USD;
    #   × 1.25 CAD/USD = 3,025 CAD.
    sched = PriceSchedule(deployment_id="tiny-town", peer_population=10_000,
                          items=(item(amount=1_000, price_year=2024),))
    [line] = scale_items(sched, agency(40_000), elasticity=0.5)
    assert line.amount == pytest.approx(2_000)
    assert line.formula == "1,000 USD × (40,000 / 10,000)^0.5 = 2,000 USD"
    r = total_cost_of_ownership([line], horizon_years=1, currency="CAD", fx_cad_per_usd=1.25, inflation=10,
                                price_year_target=YEAR)
    assert r.total == pytest.approx(3_025)
    assert "2,420 USD in 2026 prices" in r.items[0]["formula"]
    assert "3,025 CAD" in r.items[0]["formula"]


def test_per_user_estimated_from_population_is_flagged():
    # 100 USD per user; no staff users entered, 25,000 residents × 2 per 1,000 = 50 users → 5,000 USD.
    sched = PriceSchedule(deployment_id="tiny-town", items=(item(basis="per_user", amount=100),))
    [line] = scale_items(sched, agency(25_000), users_per_1000=2)
    assert line.quantity == 50 and line.amount == pytest.approx(5_000)
    assert any("Staff users not entered" in f for f in line.flags)
    [entered] = scale_items(sched, agency(25_000, staff_users=30), users_per_1000=2)
    assert entered.amount == pytest.approx(3_000) and not entered.flags


def test_per_module_uses_agency_modules():
    sched = PriceSchedule(deployment_id="tiny-town", items=(item(basis="per_module", amount=20_000),))
    [line] = scale_items(sched, agency(modules_needed=["building", "inspections", "licensing"]))
    assert line.amount == pytest.approx(60_000)
    with pytest.raises(PricingError, match="choose the modules"):
        scale_items(sched, agency())


def test_routes_add_their_procurement_cost():
    # Same lines; traditional adds 90,000 USD × 1.25 = 112,500 CAD, piggyback 10,000 USD × 1.25 = 12,500 CAD,
    # both in year 1 (NPV share = amount / 1.1).
    lines = scale_items(tiny_schedule(), agency())
    kw = dict(horizon_years=3, currency="CAD", fx_cad_per_usd=1.25, discount_rate=10, price_year_target=YEAR)
    bare = total_cost_of_ownership(lines, **kw)
    trad = cost_of_route(lines, "traditional", procurement_cost=90_000, cost_currency="USD", **kw)
    pig = cost_of_route(lines, "piggyback", procurement_cost=10_000, cost_currency="USD", **kw)
    assert trad.total - bare.total == pytest.approx(112_500)
    assert pig.total - bare.total == pytest.approx(12_500)
    assert trad.npv - bare.npv == pytest.approx(112_500 / 1.1)
    assert trad.tco.by_year[0]["procurement"] == pytest.approx(112_500)
    assert trad.procurement_source["kind"] == "user-entered"
    assert trad.procurement_source["low"] is None  # the user's figure replaces the model and its range
    both = compare_routes(lines, **kw)
    assert list(both) == ["traditional", "piggyback"]
    assert both["traditional"].total > both["piggyback"].total


def test_route_own_costs_are_modelled_from_the_contract_by_hand():
    # The tiny schedule in CAD at 1.25 CAD/USD, horizon 3: contract years 137,500 / 13,750 / 15,125 CAD
    # (110,000, 11,000, 12,100 USD × 1.25); contract value (first 5 years, here 3) = 166,375 CAD.
    # No modules known. Own RFP: 30,000 USD × 1.25 + 1% × 166,375 = 37,500 + 1,663.75 = 39,163.75 CAD.
    # Piggyback: 5,000 USD × 1.25 + 0.25% × 166,375 = 6,250 + 415.9375 = 6,665.9375 CAD.
    lines = scale_items(tiny_schedule(), agency())
    kw = dict(horizon_years=3, currency="CAD", fx_cad_per_usd=1.25, discount_rate=10, price_year_target=YEAR)
    both = compare_routes(lines, **kw)
    assert both["traditional"].procurement_cost == pytest.approx(39_163.75)
    assert both["piggyback"].procurement_cost == pytest.approx(6_665.9375)
    assert both["traditional"].procurement_source["contract_value"] == pytest.approx(166_375)
    assert "0 modules" in both["traditional"].procurement_source["formula"]
    # Three modules add 3 × 4,000 USD × 1.25 = 15,000 CAD to the RFP and 3 × 500 × 1.25 = 1,875 to the piggyback.
    lines3 = scale_items(tiny_schedule(), agency(modules_needed=["building", "inspections", "licensing"]))
    three = compare_routes(lines3, **kw)
    assert three["traditional"].procurement_cost == pytest.approx(39_163.75 + 15_000)
    assert three["piggyback"].procurement_cost == pytest.approx(6_665.9375 + 1_875)
    # Range of the RFP's own cost: every component at its low end: 20,000 × 1.25 + 0.5% × 166,375 = 25,831.875
    assert both["traditional"].procurement_source["low"] == pytest.approx(25_831.875)
    assert both["traditional"].procurement_source["high"] == pytest.approx(50_000 * 1.25 + 0.02 * 166_375)


def test_renewal_and_default_escalation_are_flagged(fayetteville):
    lines = scale_items(fayetteville, agency(143_740))
    r = total_cost_of_ownership(lines, horizon_years=10, price_year_target=YEAR)
    maint = next(i for i in r.items if i["item_id"] == "fayetteville-ar-maintenance")
    assert maint["renewal_assumed"] and maint["escalation_is_default"]
    assert any("renewal" in f for f in maint["flags"]) and any("default 3%" in f for f in maint["flags"])
    assert any(a["param"] == "escalation_default" and a["is_default"] for a in r.assumptions_used)


def test_legacy_baseline_is_beside_not_in_the_total():
    lines = scale_items(tiny_schedule(), agency())
    kw = dict(horizon_years=3, currency="USD", discount_rate=10, escalation_default=0, price_year_target=YEAR)
    without = total_cost_of_ownership(lines, **kw)
    withit = total_cost_of_ownership(lines, legacy_annual=50_000, **kw)
    assert withit.total == pytest.approx(without.total)
    assert withit.legacy_total == pytest.approx(150_000)
    assert withit.net_of_legacy == pytest.approx(without.total - 150_000)


def test_unknown_population_leaves_fixed_prices_unscaled_and_says_so(fayetteville):
    lines = scale_items(fayetteville, agency(None))
    assert [ln.amount for ln in lines] == [i.amount for i in fayetteville.items]
    r = total_cost_of_ownership(lines, price_year_target=YEAR)
    assert r.per_resident is None and r.warnings


def test_no_price_schedule_on_file(schedules):
    with pytest.raises(NoPriceScheduleError, match="No price schedule on file for ottawa-on"):
        schedule_for("ottawa-on", schedules)
    with pytest.raises(NoPriceScheduleError):
        total_cost_of_ownership([])


# --- properties ------------------------------------------------------------------------------

amounts = st.floats(min_value=1, max_value=5_000_000, allow_nan=False)


@SETTINGS
@given(licence=amounts, annual=amounts, rate=st.floats(min_value=0.1, max_value=20),
       horizon=st.integers(min_value=1, max_value=20), esc=st.floats(min_value=-5, max_value=10))
def test_npv_below_total_for_positive_discount_rate(licence, annual, rate, horizon, esc):
    sched = PriceSchedule(deployment_id="tiny-town", peer_population=10_000, items=(
        item(amount=licence),
        item(item_id="tiny-maint", basis="per_year", amount=annual, recurrence="recurring", escalation_pct=esc)))
    r = total_cost_of_ownership(scale_items(sched, agency()), horizon_years=horizon, discount_rate=rate,
                                price_year_target=YEAR)
    assert 0 < r.npv < r.total


@SETTINGS
@given(per_head=st.floats(min_value=0.01, max_value=100), pop=st.integers(min_value=1, max_value=3_000_000),
       k=st.integers(min_value=2, max_value=10))
def test_per_capita_scales_linearly_with_population(per_head, pop, k):
    sched = PriceSchedule(deployment_id="tiny-town", items=(item(basis="per_capita", amount=per_head),))
    kw = dict(horizon_years=1, currency="USD", price_year_target=YEAR)
    one = total_cost_of_ownership(scale_items(sched, agency(pop)), **kw).total
    many = total_cost_of_ownership(scale_items(sched, agency(pop * k)), **kw).total
    assert one == pytest.approx(per_head * pop)
    assert many == pytest.approx(k * one)


@SETTINGS
@given(amount=st.floats(min_value=0, max_value=1e10, allow_nan=False), fx=st.floats(min_value=0.5, max_value=3),
       cur=st.sampled_from(["CAD", "USD"]))
def test_currency_round_trip(amount, fx, cur):
    other = "USD" if cur == "CAD" else "CAD"
    assert convert(convert(amount, cur, other, fx), other, cur, fx) == pytest.approx(amount, rel=1e-12, abs=1e-9)
    assert convert(amount, cur, cur, fx) == amount


@SETTINGS
@given(small=st.integers(min_value=1_000, max_value=1_000_000), extra=st.integers(min_value=1, max_value=2_000_000))
def test_bigger_agency_costs_more_on_the_same_schedule(fayetteville, small, extra):
    kw = dict(price_year_target=YEAR)
    a = total_cost_of_ownership(scale_items(fayetteville, agency(small)), **kw)
    b = total_cost_of_ownership(scale_items(fayetteville, agency(small + extra)), **kw)
    assert b.total > a.total and b.npv > a.npv


@SETTINGS
@given(pop=st.integers(min_value=1_000, max_value=3_000_000), horizon=st.integers(min_value=1, max_value=15),
       currency=st.sampled_from(["CAD", "USD"]), esc=st.floats(min_value=0, max_value=5),
       route=st.sampled_from([None, "traditional", "piggyback"]))
def test_low_total_high_are_ordered(fayetteville, pop, horizon, currency, esc, route):
    lines = scale_items(fayetteville, agency(pop))
    kw = dict(horizon_years=horizon, currency=currency, escalation_default=esc, price_year_target=YEAR)
    r = total_cost_of_ownership(lines, **kw) if route is None else cost_of_route(lines, route, **kw).tco
    assert r.low <= r.total <= r.high
    assert r.npv_low <= r.npv <= r.npv_high
    assert r.low < r.high  # elasticity, inflation, fx or escalation always move this schedule


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize("over, message", [
    ({"amount": -1}, "greater than or equal to 0"),
    ({"category": "snacks"}, "category"),
    ({"basis": "per_moon"}, "basis"),
    ({"recurrence": "sometimes"}, "recurrence"),
    ({"currency": "EUR"}, "currency"),
    ({"price_year": 1900}, "not sensible"),
    ({"price_year": 2300}, "not sensible"),
    ({"escalation_pct": 80}, "less than or equal to 20"),
    ({"basis": "per_year"}, "needs recurrence 'recurring'"),
    ({"years": 5}, "only for recurring"),
    ({"source_url": None}, "needs its source_url"),
    ({"source_url": "council minutes"}, "not a web address"),
    ({"amount": float("nan")}, "amount"),
    ({"item_id": "Bad Id!"}, "item_id"),
])
def test_bad_items_are_rejected(over, message):
    with pytest.raises(ValidationError, match=message):
        item(**over)


def test_user_entered_items_need_no_url_and_blanks_become_none():
    entered = item(kind="user-entered", source_url="", escalation_pct="", years=None, note=" ")
    assert entered.source_url is None and entered.escalation_pct is None and entered.note is None


def test_bad_tco_inputs_are_rejected():
    lines = scale_items(tiny_schedule(), agency())
    with pytest.raises(PricingError, match="horizon"):
        total_cost_of_ownership(lines, horizon_years=0)
    with pytest.raises(PricingError, match="exchange rate"):
        convert(1, "USD", "CAD", 0)
    with pytest.raises(PricingError, match="currency"):
        convert(1, "USD", "EUR", 1.3)
    with pytest.raises(PricingError, match="population"):
        scale_items(PriceSchedule(deployment_id="tiny-town", items=(item(basis="per_capita", amount=1),)), agency(None))
    with pytest.raises(ValidationError, match="other deployments"):
        PriceSchedule(deployment_id="other-town", items=(item(),))


# --- seeded data ---------------------------------------------------------------------------------


def test_every_seeded_item_validates_and_has_a_source():
    with PRICE_ITEMS_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    items = load_price_items()
    assert len(items) == len(rows) > 0
    for i in items:
        assert i.source_url and i.source_url.startswith("http")
        assert i.kind in ("primary", "secondary", "vendor-stated") and i.confidence
        assert 1990 <= i.price_year <= YEAR
        assert i.note, f"{i.item_id} should say how the figure was read"


def test_seeded_items_match_the_research():
    by_id = {i.item_id: i for i in load_price_items()}
    fay = [i for i in by_id.values() if i.deployment_id == "fayetteville-ar"]
    assert {i.category for i in fay} == {"licence", "maintenance", "contingency"}
    assert by_id["fayetteville-ar-software"].amount == 619_048
    maint = by_id["fayetteville-ar-maintenance"]
    assert maint.amount * maint.years == pytest.approx(260_575)
    # peers.csv contract values, re-added from the stored lines
    with PEERS_CSV.open(newline="") as handle:
        value = {r["jurisdiction"]: float(r["contract_value"]) for r in csv.DictReader(handle) if r["contract_value"]}
    visalia = by_id["visalia-ca-migration"].amount + 7 * by_id["visalia-ca-maintenance"].amount
    assert visalia == pytest.approx(value["City of Visalia"])
    assert 7 * by_id["sonoma-ca-saas"].amount == pytest.approx(value["Sonoma County (Permit Sonoma)"], abs=1)
    assert by_id["prescott-az-centralsquare"].amount == value["City of Prescott"]
    assert by_id["dallas-tx-posse"].amount == value["City of Dallas"]


def test_items_read_like_the_store_reads_them_validate_the_same():
    import pandas as pd

    frame = pd.read_csv(PRICE_ITEMS_CSV, dtype=str, keep_default_na=False).replace("", None)
    for col in ("amount", "escalation_pct", "price_year", "years"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    assert items_from_records(frame.to_dict("records")) == load_price_items()


def test_every_seeded_deployment_becomes_a_schedule(schedules):
    ids = {i.deployment_id for i in load_price_items()}
    assert set(schedules) == ids and "ottawa-on" not in schedules
    assert all(s.items for s in schedules.values())


def test_every_priced_deployment_is_a_known_peer():
    deployments = Path(__file__).resolve().parent.parent / "data" / "peers" / "deployments.csv"
    if not deployments.exists():
        pytest.skip("data/peers/deployments.csv not written yet")
    with deployments.open(newline="") as handle:
        known = {r["deployment_id"] for r in csv.DictReader(handle)}
    assert {i.deployment_id for i in load_price_items()} <= known


def test_assumptions_file_is_complete_and_sourced():
    with ASSUMPTIONS_CSV.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["assumption_id", "group_name", "name", "value", "low", "high", "unit", "kind",
                                     "source_url", "note"]
        rows = list(reader)
    table = load_pricing_assumptions()
    assert len(table) == len(rows)
    for a in table.values():
        assert a.group_name == "pricing" and a.note
        assert a.kind == "assumption" or a.source_url
    rfp = table["pricing.rfp_fixed_cost"]
    assert rfp.kind == "assumption" and "orange-county" in rfp.source_url and "80,000" in rfp.note
    assert "pricing.rfp_staff_cost" not in table  # no constant route cost: the route's own cost is a model
    ranged = [a for a in table.values() if a.assumption_id != "pricing.legacy_annual"]
    assert all(a.low is not None and a.low <= a.value <= a.high for a in ranged)


# --- tornado, serialisation, figures ------------------------------------------------------------


def test_tornado_is_sorted_and_consistent(fayetteville):
    lines = scale_items(fayetteville, agency(143_740))
    base = dict(price_year_target=YEAR)
    rows = tornado(lines, base, default_assumptions(), route="traditional")
    swings = [r["swing"] for r in rows]
    assert swings == sorted(swings, reverse=True)
    assert all(r["swing"] == pytest.approx(abs(r["at_high"] - r["at_low"])) for r in rows)
    by_id = {r["assumption_id"]: r for r in rows}
    assert "pricing.horizon_years" not in by_id
    assert not any("due_diligence" in aid for aid in by_id)  # the traditional route's tornado
    assert by_id["pricing.discount_rate"]["swing"] == 0  # the total is undiscounted
    npv_rows = {r["assumption_id"]: r for r in tornado(lines, base, default_assumptions(), metric="npv")}
    assert npv_rows["pricing.discount_rate"]["swing"] > 0
    # the base of every row is the route's cost at the base keywords, inside the RFP row's swing
    assert rows[0]["base"] == pytest.approx(cost_of_route(lines, "traditional", **base).total)
    rfp = next(r for r in rows if r["param"] == "procurement_cost")
    assert rfp["assumption_id"].startswith("pricing.rfp_fixed_cost")
    assert rfp["at_low"] < rfp["base"] < rfp["at_high"]


def test_edited_assumptions_flow_into_the_tco(fayetteville):
    table = default_assumptions()
    table["pricing.fx_cad_per_usd"] = table["pricing.fx_cad_per_usd"].model_copy(update={"value": 1.40})
    kw = tco_kwargs_from_assumptions(table)
    lines = scale_items(fayetteville, agency(143_740))
    usd = total_cost_of_ownership(lines, price_year_target=YEAR, **{**kw, "currency": "USD"})
    cad = total_cost_of_ownership(lines, price_year_target=YEAR, **kw)
    assert cad.total == pytest.approx(usd.total * 1.40)


def test_result_is_json_ready(fayetteville):
    lines = scale_items(fayetteville, agency(143_740))
    d = json.loads(json.dumps(cost_of_route(lines, "piggyback", price_year_target=YEAR).to_dict()))
    tco = d["tco"]
    for key in ("total", "npv", "low", "high", "currency", "by_year", "items"):
        assert key in tco
    assert tco["total"] == pytest.approx(sum(row["total"] for row in tco["by_year"]), abs=0.05)
    assert all(line["formula"] and "source_url" in line for line in tco["items"])


def test_cost_by_year_figure_stacks_the_categories(fayetteville):
    r = total_cost_of_ownership(scale_items(fayetteville, agency(143_740)), price_year_target=YEAR)
    fig = cost_by_year_figure(r)
    assert isinstance(fig, go.Figure) and fig.layout.barmode == "stack"
    assert {t.name for t in fig.data} == {CATEGORIES[c] for c in ("licence", "maintenance", "contingency")}
    stacked = [sum(t.y[i] for t in fig.data) for i in range(r.horizon_years)]
    assert stacked == pytest.approx([row["total"] for row in r.by_year])


def test_tornado_figure_draws_both_ends(fayetteville):
    lines = scale_items(fayetteville, agency(143_740))
    rows = tornado(lines, dict(price_year_target=YEAR), default_assumptions())
    fig = tornado_figure(rows)
    moving = [r for r in rows if r["swing"] > 0]
    assert len(fig.data) == 2 and len(fig.data[0].y) == len(moving)
    # largest swing drawn on top (last category)
    assert fig.data[0].y[-1].startswith(moving[0]["name"])
    assert "No assumption" in tornado_figure([]).layout.annotations[0].text


def test_peer_compare_figure_shows_missing_schedules(schedules):
    ag = agency(143_740)
    results = {d: total_cost_of_ownership(scale_items(schedules[d], ag), price_year_target=YEAR)
               for d in ("fayetteville-ar", "prescott-az")}
    results["ottawa-on"] = None
    fig = peer_compare_figure(results, labels={"ottawa-on": "Ottawa"})
    totals = next(t for t in fig.data if t.name and t.name.startswith("Total"))
    assert list(totals.y) == pytest.approx(sorted(r.total for r in results.values() if r))
    assert any("no price schedule" in a.text for a in fig.layout.annotations)
    assert "Ottawa" in fig.layout.xaxis.categoryarray


def test_math_is_finite_for_every_seeded_schedule(schedules):
    ag = agency(143_740, modules_needed=["building", "inspections"])
    for sched in schedules.values():
        r = total_cost_of_ownership(scale_items(sched, ag), price_year_target=YEAR)
        assert math.isfinite(r.total) and r.low <= r.total <= r.high


# --- one analysis for the page and the CLI ---------------------------------------------------------


def test_edited_assumptions_are_user_entered_and_replace_their_range():
    s = cost_settings(overrides={"pricing.discount_rate": 12, "pricing.price_inflation": 2.5}, currency="USD",
                      price_year_target=YEAR)
    assert s.edited == {"pricing.discount_rate": 12}  # the default value given back is not an edit
    rate = s.assumptions["pricing.discount_rate"]
    assert rate.kind == "user-entered" and rate.source_url is None and (rate.low, rate.high) == (None, None)
    assert "discount_rate" not in s.tco_kwargs()["ranges"]  # the user's value is not varied
    with pytest.raises(PricingError, match="unknown assumption"):
        cost_settings(overrides={"pricing.nonsense": 1})
    with pytest.raises(PricingError, match="whole number"):
        cost_settings(overrides={"pricing.horizon_years": 7.5})
    with pytest.raises(PricingError, match="exchange rate"):
        cost_settings(overrides={"pricing.fx_cad_per_usd": 0})
    with pytest.raises(PricingError, match="currency"):
        cost_settings(currency="EUR")


def test_analysis_prices_both_routes_on_the_same_lines(fayetteville):
    # due diligence entered by the user as 20,000 CAD (the analysis currency); the RFP's own cost is the
    # model: (30,000 + 5 modules × 4,000) USD × 1.25 + 1% of the contract's first five years, all in year 1.
    s = cost_settings(overrides={"pricing.due_diligence_cost": 20_000, "pricing.fx_cad_per_usd": 1.25},
                      currency="CAD", price_year_target=YEAR)
    a = analyse_cost(fayetteville, agency(143_740), s)
    first_five = sum(row["total"] for row in a.contract.by_year[:5])
    assert a.piggyback.total - a.contract.total == pytest.approx(20_000)
    assert a.traditional.total - a.contract.total == pytest.approx(50_000 * 1.25 + 0.01 * first_five)
    assert a.piggyback.procurement_source["kind"] == "user-entered"
    assert a.traditional.procurement_source["kind"] == "assumption"
    assert a.tornado[0]["base"] == pytest.approx(a.piggyback.total)
    d = json.loads(json.dumps(a.to_dict()))
    assert d["total"] == pytest.approx(a.piggyback.total, abs=0.01) and d["route"] == "piggyback"
    assert s.route_overrides == {"piggyback": 20_000}
    assert {r["assumption_id"]: r["edited"] for r in d["assumptions"]}["pricing.fx_cad_per_usd"] is True


def test_a_quote_is_costed_as_priced_for_the_agency():
    sched = PriceSchedule(deployment_id="tiny-town", peer_population=10_000,
                          items=(item(kind="user-entered", source_url=None, currency="CAD"),))
    s = cost_settings(overrides={"pricing.horizon_years": 1}, currency="CAD", price_year_target=YEAR)
    [line], tco = contract_tco(sched, agency(40_000), s, scale_fixed=False)
    assert tco.total == pytest.approx(100_000)  # not × (40,000 / 10,000)^0.5
    assert "priced for Testville, not scaled" in line.formula


def test_contracts_that_cannot_be_costed_are_set_apart_not_zero():
    per_head = PriceSchedule(deployment_id="per-head-town", items=(
        item(item_id="per-head", deployment_id="per-head-town", basis="per_capita", amount=2),))
    results, problems = compare_contracts({"tiny-town": tiny_schedule(), "per-head-town": per_head},
                                          agency(None), cost_settings(price_year_target=YEAR))
    assert set(results) == {"tiny-town"} and "population" in problems["per-head-town"]
