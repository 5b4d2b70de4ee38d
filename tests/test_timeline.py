"""Timeline engine: new RFP vs piggyback, Monte Carlo, calibration from peers, figures."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from piggyback.core.errors import PiggybackError
from piggyback.engines.timeline import (
    load_phases,
    TIMELINE_CSV,
    Phase,
    TimelineError,
    add_months,
    apply_calibration,
    apply_overrides,
    calibrate_implementation,
    duration_claims,
    monthly_benefit,
    ordered_phases,
    overrides_from_table,
    peer_actuals,
    peer_durations,
    pert_quantile,
    pert_sample,
    phases_from_assumptions,
    simulate_timeline,
    simulate_timeline_loop,
    triangular_sample,
    value_per_month,
)
from piggyback.figures.timeline_figures import gantt_figure, savings_histogram

DEFAULT_PHASES = load_phases(TIMELINE_CSV)  # the seeded phases, read explicitly (the engine reads no file)

START = dt.date(2027, 1, 1)


def fixed(pid: str, route: str, months: float) -> Phase:
    return Phase(id=pid, route=route, name=pid, low=months, likely=months, high=months)


FIXED = [
    fixed("tl.rfp.a", "traditional", 4.5),
    fixed("tl.rfp.b", "traditional", 2.25),
    fixed("tl.rfp.c", "traditional", 1.0),
    fixed("tl.pb.a", "piggyback", 1.5),
    fixed("tl.pb.b", "piggyback", 0.75),
    fixed("tl.impl.golive", "implementation", 12.0),
]


# --------------------------------------------------------------------------- assumptions


def test_seeded_csv_has_every_phase_with_a_source_or_a_stated_assumption():
    """Each seeded phase row is sourced (URL) or marked an assumption with its reasoning."""
    raw = pd.read_csv(TIMELINE_CSV)
    assert list(raw.columns) == ["assumption_id", "group_name", "name", "value", "low", "high",
                                 "unit", "kind", "source_url", "note"]
    assert set(raw["group_name"]) == {"timeline"}
    phase_rows = raw[raw["assumption_id"].str.match(r"tl\.(rfp|pb|impl)\.")]
    assert (phase_rows["unit"] == "months").all()
    for row in raw.itertuples():
        if not (pd.isna(row.low) or pd.isna(row.high)):
            assert row.low <= row.value <= row.high, row.assumption_id
        assert isinstance(row.note, str) and len(row.note) > 30, row.assumption_id
        if row.kind != "assumption":
            assert str(row.source_url).startswith("http"), row.assumption_id
    # the pair-specific adjustments and the simulation setting are labelled assumptions
    others = raw[~raw["assumption_id"].isin(phase_rows["assumption_id"])]
    assert set(others["assumption_id"].str.slice(0, 7)) == {"tl.adj.", "tl.sim."}
    assert (others["kind"] == "assumption").all()
    routes = {p.route for p in DEFAULT_PHASES}
    assert routes == {"traditional", "piggyback", "implementation"}
    assert len([p for p in DEFAULT_PHASES if p.route == "traditional"]) == 6
    assert len([p for p in DEFAULT_PHASES if p.route == "piggyback"]) == 4
    assert len(DEFAULT_PHASES) == len(phase_rows)


def test_phases_from_assumptions_skips_other_groups_and_keeps_a_single_figure_as_is():
    rows = [
        {"assumption_id": "tl.rfp.x", "group_name": "timeline", "name": "RFP: x", "value": 3,
         "low": None, "high": "", "unit": "months", "kind": "secondary",
         "source_url": "https://example.org", "note": None},
        {"assumption_id": "tl.pb.y", "group_name": "timeline", "name": "PB: y", "value": 1,
         "low": 0.5, "high": 2, "unit": "months", "kind": "", "source_url": "", "note": ""},
        {"assumption_id": "cost.z", "group_name": "cost", "name": "z", "value": 9,
         "unit": "USD"},
    ]
    phases = phases_from_assumptions(pd.DataFrame(rows))
    assert [p.id for p in phases] == ["tl.rfp.x", "tl.pb.y"]
    assert (phases[0].low, phases[0].likely, phases[0].high) == (3.0, 3.0, 3.0)
    assert phases[1].kind == "assumption" and phases[1].source_url is None
    assert phases_from_assumptions(rows) == phases


@pytest.mark.parametrize("row, words", [
    ({"value": 3, "low": 4, "high": 5, "unit": "months"}, "low <= likely <= high"),
    ({"value": 3, "low": 1, "high": 5, "unit": "days"}, "in months"),
    ({"value": None, "low": 1, "high": 5, "unit": "months"}, "blank"),
])
def test_bad_assumption_rows_are_refused_with_an_actionable_message(row, words):
    rec = {"assumption_id": "tl.rfp.x", "group_name": "timeline", "name": "x", **row}
    with pytest.raises(TimelineError, match=words):
        phases_from_assumptions([rec])


def test_phase_refuses_unordered_or_negative_months():
    with pytest.raises(ValueError):
        Phase(id="a", route="piggyback", name="a", low=2, likely=1, high=3)
    with pytest.raises(ValueError):
        Phase(id="a", route="piggyback", name="a", low=-1, likely=1, high=3)


# --------------------------------------------------------------------------- simulation


@pytest.mark.parametrize("engine", [simulate_timeline, simulate_timeline_loop])
@pytest.mark.parametrize("method", ["pert", "triangular"])
def test_fixed_phases_give_exactly_the_sum(engine, method):
    """low == likely == high: every percentile is the plain sum, no NaN, for both methods."""
    res = engine(FIXED, START, draws=500, seed=3, method=method)
    trad, pb = 4.5 + 2.25 + 1.0 + 12.0, 1.5 + 0.75 + 12.0
    for key in ("p10", "p50", "p90", "mean"):
        assert res.routes["traditional"]["months"][key] == trad
        assert res.routes["piggyback"]["months"][key] == pb
        assert res.routes["traditional"]["award_months"][key] == 4.5 + 2.25 + 1.0
        assert res.months_saved[key] == trad - pb
    assert res.prob_piggyback_faster == 1.0
    assert [p["median"] for p in res.phases] == [4.5, 2.25, 1.0, 1.5, 0.75, 12.0]
    # 19.75 months x 30.4375 = 601.14 days -> 601 days after 2027-01-01:
    # 365 to 2028-01-01, then 31+29+31+30+31+30+31 = 213 to 2028-08-01, then 23 more
    assert res.routes["traditional"]["go_live"]["p50"] == "2028-08-24"


def test_add_months_uses_the_mean_gregorian_month():
    assert add_months(START, 12) == dt.date(2028, 1, 1)  # 365.25 days -> 365
    assert add_months(START, 0) == START


def test_percentiles_are_ordered_and_default_draws_are_at_least_10000():
    res = simulate_timeline(DEFAULT_PHASES, START)
    assert res.draws >= 10_000
    for block in (res.months_saved, res.implementation, *(
            res.routes[r][k] for r in ("traditional", "piggyback") for k in ("months", "award_months"))):
        assert block["p10"] <= block["p50"] <= block["p90"]
    for route in ("traditional", "piggyback"):
        go = res.routes[route]["go_live"]
        assert go["p10"] <= go["p50"] <= go["p90"]  # ISO strings sort as dates
    assert sum(res.histogram["counts"]) == res.draws
    assert len(res.saved_draws) == res.draws


def test_piggyback_is_faster_with_the_default_assumptions():
    res = simulate_timeline(DEFAULT_PHASES, START, draws=10_000, seed=1)
    assert res.prob_piggyback_faster > 0.95
    assert res.months_saved["p50"] > 0
    assert res.routes["piggyback"]["months"]["p50"] < res.routes["traditional"]["months"]["p50"]


def test_implementation_is_shared_so_months_saved_is_the_procurement_difference():
    """Common random numbers: months saved does not depend on the implementation range."""
    narrow = simulate_timeline(DEFAULT_PHASES, START, draws=5_000, seed=2)
    wide_impl = [p if p.route != "implementation" else
                 Phase(id=p.id, route=p.route, name=p.name, low=1, likely=30, high=90)
                 for p in DEFAULT_PHASES]
    wide = simulate_timeline(wide_impl, START, draws=5_000, seed=2)
    assert wide.months_saved == narrow.months_saved
    assert wide.routes["traditional"]["months"] != narrow.routes["traditional"]["months"]


def test_same_seed_gives_identical_json_and_another_seed_differs():
    kw = dict(draws=10_000, value_per_month=(5_000, 10_000, 20_000))
    a = simulate_timeline(DEFAULT_PHASES, START, seed=7, **kw).to_dict()
    b = simulate_timeline(DEFAULT_PHASES, START, seed=7, **kw).to_dict()
    c = simulate_timeline(DEFAULT_PHASES, START, seed=8, **kw).to_dict()
    dump = lambda d: json.dumps(d, sort_keys=True)  # noqa: E731
    assert dump(a) == dump(b)
    assert dump(a) != dump(c)
    assert json.loads(dump(a)) == a  # plain data only


@pytest.mark.parametrize("method", ["pert", "triangular"])
def test_loop_and_vectorised_engines_agree(method):
    vec = simulate_timeline(DEFAULT_PHASES, START, draws=20_000, seed=11, method=method)
    loop = simulate_timeline_loop(DEFAULT_PHASES, START, draws=20_000, seed=11, method=method)
    assert abs(vec.months_saved["p50"] - loop.months_saved["p50"]) < 0.3
    for route in ("traditional", "piggyback"):
        assert abs(vec.routes[route]["months"]["p50"] - loop.routes[route]["months"]["p50"]) < 0.4


def test_triangular_has_a_wider_spread_than_pert_for_the_same_ranges():
    pert = simulate_timeline(DEFAULT_PHASES, START, draws=20_000, seed=5)
    tri = simulate_timeline(DEFAULT_PHASES, START, draws=20_000, seed=5, method="triangular")
    spread = lambda r: r.months_saved["p90"] - r.months_saved["p10"]  # noqa: E731
    assert spread(tri) > spread(pert)


def test_value_of_time_is_months_saved_times_monthly_benefit():
    res = simulate_timeline(FIXED, START, draws=200, value_per_month=(1_000, 1_000, 1_000))
    saved = 4.5 + 2.25 + 1.0 - 1.5 - 0.75
    assert res.value_of_time["p50"] == saved * 1_000
    assert res.value_of_time["per_month"] == [1_000, 1_000, 1_000]
    ranged = simulate_timeline(DEFAULT_PHASES, START, draws=10_000,
                               value_per_month=(5_000, 10_000, 20_000))
    v = ranged.value_of_time
    assert v["p10"] <= v["p50"] <= v["p90"]
    assert simulate_timeline(DEFAULT_PHASES, START, draws=100).value_of_time is None


def test_monthly_benefit_hand_example():
    # 120 staff hours a month at $85 loaded, plus $2,000 a month of backlog cost
    assert monthly_benefit(120, 85, 2_000) == 12_200
    assert monthly_benefit(10, 50) == 500
    with pytest.raises(TimelineError, match="at least 0"):
        monthly_benefit(-1, 50)


@pytest.mark.parametrize("kwargs, words", [
    (dict(draws=0), "draws"),
    (dict(method="normal"), "method"),
    (dict(value_per_month=(3, 2, 1)), "value_per_month"),
])
def test_bad_simulation_arguments_are_refused(kwargs, words):
    with pytest.raises(TimelineError, match=words):
        simulate_timeline(DEFAULT_PHASES, START, **kwargs)


def test_a_route_without_phases_is_refused():
    only_rfp = [p for p in DEFAULT_PHASES if p.route != "piggyback"]
    with pytest.raises(TimelineError, match="Piggyback"):
        simulate_timeline(only_rfp, START)


# --------------------------------------------------------------------------- distributions

ranges = st.tuples(
    st.floats(0, 30, allow_nan=False), st.floats(0, 1), st.floats(0.01, 30, allow_nan=False),
).map(lambda t: (t[0], t[0] + t[1] * t[2], t[0] + t[2]))


@settings(max_examples=60, deadline=None)
@given(rng_range=ranges, seed=st.integers(0, 2**32 - 1))
def test_pert_samples_lie_in_range_with_the_pert_mean(rng_range, seed):
    low, likely, high = rng_range
    x = pert_sample(np.random.default_rng(seed), low, likely, high, 20_000)
    assert x.min() >= low and x.max() <= high
    expected = (low + 4 * likely + high) / 6
    # PERT sd <= (high - low) / (2 * sqrt 7); the mean of 20,000 draws is far tighter than 1%
    assert abs(x.mean() - expected) <= 0.01 * (high - low) + 1e-9


def test_pert_quantile_matches_closed_forms():
    """likely == low gives Beta(1, 5): quantile 1 - (1 - u)^(1/5); likely == high gives u^(1/5)."""
    u = np.arange(0, 16_384, 37) / 16_384  # table nodes, where the table is exact
    assert pert_quantile(u, 0, 0, 1) == pytest.approx(1 - (1 - u) ** 0.2, abs=1e-6)
    assert pert_quantile(u, 10, 20, 20) == pytest.approx(10 + 10 * u ** 0.2, abs=1e-5)
    assert pert_quantile(np.array([0.5]), 2, 5, 8)[0] == pytest.approx(5)  # symmetric: median
    # between nodes, the CDF of the draws stays within one cell (1/16,384) of the exact CDF
    draws = pert_quantile(np.random.default_rng(0).random(200_000), 0, 0, 1)
    for x in (0.01, 0.1, 0.3, 0.6):
        exact_cdf = 1 - (1 - x) ** 5
        assert (draws <= x).mean() == pytest.approx(exact_cdf, abs=0.004)  # sampling noise


@settings(max_examples=40, deadline=None)
@given(rng_range=ranges, seed=st.integers(0, 2**32 - 1))
def test_triangular_samples_lie_in_range_with_the_triangular_mean(rng_range, seed):
    low, likely, high = rng_range
    x = triangular_sample(np.random.default_rng(seed), low, likely, high, 20_000)
    assert x.min() >= low and x.max() <= high
    assert abs(x.mean() - (low + likely + high) / 3) <= 0.01 * (high - low) + 1e-9


@settings(max_examples=30, deadline=None)
@given(value=st.floats(0, 100, allow_nan=False))
def test_degenerate_ranges_return_the_value_itself(value):
    rng = np.random.default_rng(0)
    assert (pert_sample(rng, value, value, value, 50) == value).all()
    assert (triangular_sample(rng, value, value, value, 50) == value).all()


# --------------------------------------------------------------------------- calibration

PEERS = pd.DataFrame([
    # Washoe County / Reno / Sparks: RFP year only, award and go-live to the day
    {"deployment_id": "washoe-nv", "jurisdiction": "Washoe County", "rfp_issued": "2012",
     "contract_award": "2014-06-23", "go_live": "2016-10-31"},
    # Mecklenburg County: year-only award and go-live
    {"deployment_id": "mecklenburg-nc", "jurisdiction": "Mecklenburg County", "rfp_issued": None,
     "contract_award": 2002, "go_live": "2003"},
    # Visalia: the 2025 award is a renewal after the 2018 go-live -> negative, dropped
    {"deployment_id": "visalia-ca", "jurisdiction": "City of Visalia", "rfp_issued": None,
     "contract_award": "2025", "go_live": "2018"},
    {"deployment_id": "sample-on", "jurisdiction": "Sample Town", "rfp_issued": None,
     "contract_award": "2019-03", "go_live": "2020-03"},
    {"deployment_id": "nodates-on", "jurisdiction": "No Dates", "rfp_issued": None,
     "contract_award": None, "go_live": "2021"},
])

M = 30.4375
# Hand-counted days between mid-points (a year means 1 July, a month its 15th):
WASHOE_RFP_AWARD = 722 / M       # 2012-07-01 -> 2014-06-23: 730 - 8 days
WASHOE_AWARD_LIVE = 861 / M      # 2014-06-23 -> 2016-06-23 is 731 (leap), + 130 to 31 Oct
WASHOE_RFP_LIVE = (722 + 861) / M
MECK_AWARD_LIVE = 365 / M        # 2002-07-01 -> 2003-07-01
SAMPLE_AWARD_LIVE = 366 / M      # 2019-03-15 -> 2020-03-15 spans 29 Feb 2020


def test_peer_durations_hand_computed():
    d = peer_durations(PEERS).set_index("deployment_id")
    w = d.loc["washoe-nv"]
    assert w["rfp_to_award_months"] == pytest.approx(WASHOE_RFP_AWARD, abs=0.005)
    assert w["award_to_golive_months"] == pytest.approx(WASHOE_AWARD_LIVE, abs=0.005)
    assert w["rfp_to_golive_months"] == pytest.approx(WASHOE_RFP_LIVE, abs=0.005)
    assert w["rfp_to_award_precision"] == "year" and bool(w["rfp_to_award_approximate"])
    assert w["award_to_golive_precision"] == "day" and not bool(w["award_to_golive_approximate"])
    m = d.loc["mecklenburg-nc"]
    assert m["contract_award"] == "2002"  # an integer year read from a CSV is kept as a year
    assert m["award_to_golive_months"] == pytest.approx(MECK_AWARD_LIVE, abs=0.005)
    assert bool(m["award_to_golive_approximate"])
    assert pd.isna(m["rfp_to_award_months"])  # blank stays blank
    assert d.loc["sample-on", "award_to_golive_months"] == pytest.approx(SAMPLE_AWARD_LIVE, abs=0.005)
    assert d.loc["sample-on", "award_to_golive_precision"] == "month"
    v = d.loc["visalia-ca"]
    assert pd.isna(v["award_to_golive_months"])
    assert "renewal" in v["dropped"] and "2025" in v["dropped"]
    assert pd.isna(d.loc["washoe-nv", "dropped"])


def test_peer_durations_refuses_a_date_that_is_not_a_date():
    bad = PEERS.head(1).assign(go_live="31/10/2016")
    with pytest.raises(TimelineError, match="washoe-nv go_live"):
        peer_durations(bad)


def test_calibrate_implementation_from_all_and_from_chosen_peers():
    d = peer_durations(PEERS)
    all_peers = calibrate_implementation(d)
    assert all_peers["n_peers"] == 3
    assert set(all_peers["peer_ids"]) == {"washoe-nv", "mecklenburg-nc", "sample-on"}
    assert all_peers["low"] == pytest.approx(MECK_AWARD_LIVE, abs=0.01)
    assert all_peers["likely"] == pytest.approx(SAMPLE_AWARD_LIVE, abs=0.01)
    assert all_peers["high"] == pytest.approx(WASHOE_AWARD_LIVE, abs=0.01)
    assert all_peers["approximate"] is True
    chosen = calibrate_implementation(d, ["washoe-nv", "mecklenburg-nc", "visalia-ca"])
    assert chosen["n_peers"] == 2 and chosen["basis"] == "chosen peers"
    assert chosen["likely"] == pytest.approx((MECK_AWARD_LIVE + WASHOE_AWARD_LIVE) / 2, abs=0.01)
    assert "visalia-ca" not in chosen["peer_ids"]
    fallback = calibrate_implementation(d, ["visalia-ca"])
    assert fallback["basis"] == "all peers with data" and fallback["n_peers"] == 3
    assert "only 0 of the 1" in fallback["reason"]
    phases = apply_calibration(DEFAULT_PHASES, chosen)
    impl = [p for p in phases if p.route == "implementation"]
    assert len(impl) == 1 and impl[0].kind == "derived" and impl[0].likely == chosen["likely"]


def test_calibrate_implementation_without_peer_data_returns_no_figure_and_a_reason():
    d = peer_durations(PEERS[PEERS["deployment_id"].isin(["visalia-ca", "nodates-on"])])
    cal = calibrate_implementation(d)
    assert cal["low"] is None and cal["likely"] is None and cal["high"] is None
    assert cal["n_peers"] == 0 and "0 peer(s)" in cal["reason"]
    with pytest.raises(TimelineError):
        apply_calibration(DEFAULT_PHASES, cal)
    too_few = calibrate_implementation(peer_durations(PEERS), min_peers=5)
    assert too_few["likely"] is None and "at least 5" in too_few["reason"]


# --------------------------------------------------------------------------- figures


def test_gantt_shows_consecutive_median_phases_and_go_live_whiskers():
    res = simulate_timeline(DEFAULT_PHASES, START, draws=5_000)
    fig = gantt_figure(res)
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(bars) == 2
    rfp = bars[0]
    medians = [p["median"] for p in res.phases if p["route"] in ("traditional", "implementation")]
    assert list(rfp.x) == medians
    assert list(rfp.base) == pytest.approx(np.concatenate([[0], np.cumsum(medians)[:-1]]))
    assert all(t.endswith(" mo") for t in rfp.text)  # labelled in text, not colour only
    whiskers = [t for t in fig.data if t.type == "scatter"]
    months = res.routes["piggyback"]["months"]
    assert whiskers[1].x[0] == months["p50"]
    assert whiskers[1].error_x.array[0] == pytest.approx(months["p90"] - months["p50"])
    assert whiskers[1].error_x.arrayminus[0] == pytest.approx(months["p50"] - months["p10"])
    assert gantt_figure(res.to_dict()).to_json() == fig.to_json()


def test_savings_histogram_has_all_draws_and_percentile_lines():
    res = simulate_timeline(DEFAULT_PHASES, START, draws=5_000)
    fig = savings_histogram(res)
    assert sum(fig.data[0].y) == pytest.approx(100)
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert sorted(s.x0 for s in lines) == [res.months_saved[k] for k in ("p10", "p50", "p90")]
    texts = [a.text for a in fig.layout.annotations]
    assert any(t.startswith("P50") for t in texts)


# --------------------------------------------------------------------------- user edits


def test_timeline_errors_are_piggyback_errors_so_pages_and_cli_show_them():
    """A TimelineError is shown by pages (st.error) and makes the CLI exit 2, like every
    PiggybackError; it is still a ValueError for plain callers."""
    assert issubclass(TimelineError, PiggybackError) and issubclass(TimelineError, ValueError)


def test_ordered_phases_restores_the_seeded_order_from_the_stores_id_order():
    """The store sorts assumptions by id; ordering them back gives the seeded order, so the
    draws (and the numbers for a seed) are the same whichever way they were read."""
    by_id = sorted(DEFAULT_PHASES, key=lambda p: p.id)
    assert [p.id for p in by_id] != [p.id for p in DEFAULT_PHASES]
    assert ordered_phases(by_id) == list(DEFAULT_PHASES)
    extra = Phase(id="tl.pb.aaa", route="piggyback", name="extra", low=1, likely=1, high=1)
    ordered = ordered_phases([extra, *by_id])
    assert [p.route for p in ordered][-2:] == ["piggyback", "implementation"]
    assert ordered[-2] is extra  # an unknown phase goes after its route's seeded phases
    a = simulate_timeline(by_id, START, draws=2_000, seed=5).months_saved
    b = simulate_timeline(ordered_phases(by_id), START, draws=2_000, seed=5).months_saved
    c = simulate_timeline(DEFAULT_PHASES, START, draws=2_000, seed=5).months_saved
    assert b == c and a != c


def test_apply_overrides_marks_the_phase_user_entered_and_keeps_what_it_replaced():
    out = apply_overrides(FIXED, {"tl.rfp.a": {"low": 1, "likely": 2, "high": 3}})
    edited = out[0]
    assert (edited.low, edited.likely, edited.high) == (1.0, 2.0, 3.0)
    assert edited.kind == "user-entered"
    assert "was 4.5 / 4.5 / 4.5 months (assumption)" in edited.note
    assert out[1:] == FIXED[1:]
    # hand example: fixing phase a at 2 months makes the new-RFP route 2 + 2.25 + 1 + 12 =
    # 17.25 months against the piggyback's 1.5 + 0.75 + 12 = 14.25: 3 months saved
    fixed_two = apply_overrides(FIXED, {"tl.rfp.a": {"low": 2, "likely": 2, "high": 2}})
    res = simulate_timeline(fixed_two, START, draws=100)
    assert res.months_saved["p50"] == pytest.approx(17.25 - 14.25)
    # a partial edit keeps the phase's other values; an edit equal to the phase changes nothing
    partial = apply_overrides(FIXED, {"tl.pb.a": {"high": 2.5}})
    assert (partial[3].low, partial[3].likely, partial[3].high) == (1.5, 1.5, 2.5)
    assert apply_overrides(FIXED, {"tl.pb.a": {"low": 1.5, "likely": 1.5, "high": 1.5}}) == FIXED
    assert apply_overrides(FIXED, None) == FIXED


@pytest.mark.parametrize("edit, words", [
    ({"low": 5, "likely": 4, "high": 9}, "low ≤ most likely ≤ high"),
    ({"low": -1, "likely": 4, "high": 9}, "negative"),
    ({"low": None, "likely": 4, "high": 9}, "low is blank"),
    ({"low": "soon", "likely": 4, "high": 9}, "not a number"),
    ({"low": float("inf"), "likely": 4, "high": 9}, "finite"),
])
def test_apply_overrides_refuses_a_bad_range_with_the_phase_named(edit, words):
    with pytest.raises(TimelineError, match=words) as info:
        apply_overrides(FIXED, {"tl.rfp.b": edit})
    assert "tl.rfp.b" in str(info.value)


def test_apply_overrides_refuses_an_unknown_phase():
    with pytest.raises(TimelineError, match="no phase tl.rfp.zzz"):
        apply_overrides(FIXED, {"tl.rfp.zzz": {"low": 1, "likely": 2, "high": 3}})


def test_overrides_from_table_keeps_only_valid_changes_and_reports_the_rest():
    """Unchanged rows give no override, a changed valid row does, a bad row gives an error
    (and no override), so the caller can keep the typed row without losing anything."""
    rows = [{"id": p.id, "low": p.low, "likely": p.likely, "high": p.high} for p in FIXED]
    rows[0].update(low=1, likely=2, high=3)       # valid change
    rows[1].update(low=9)                         # 9 > likely 2.25: error
    rows[2].update(high=None)                     # blank: error
    overrides, errors = overrides_from_table(FIXED, rows)
    assert overrides == {"tl.rfp.a": {"low": 1.0, "likely": 2.0, "high": 3.0}}
    assert set(errors) == {"tl.rfp.b", "tl.rfp.c"}
    assert "low ≤ most likely ≤ high" in errors["tl.rfp.b"] and "blank" in errors["tl.rfp.c"]
    assert apply_overrides(FIXED, overrides)[0].kind == "user-entered"


def test_value_per_month_hand_example_and_blanks_stay_blank():
    # staff: 10/20/40 hours x 50/60/70 an hour = 500/1200/2800; plus backlog 100/200/300
    assert value_per_month((10, 20, 40), (50, 60, 70), (100, 200, 300)) == (600.0, 1400.0, 3100.0)
    assert value_per_month(None, None, (0, 1000, 2500)) == (0.0, 1000.0, 2500.0)
    assert value_per_month() is None
    assert value_per_month((None, None, None), (None, None, None), (None, None, None)) is None
    with pytest.raises(TimelineError, match="fill in low, most likely and high"):
        value_per_month(None, None, (100, None, 300))
    with pytest.raises(TimelineError, match="both the hours saved"):
        value_per_month((10, 20, 40), None, None)
    with pytest.raises(TimelineError, match="low ≤ most likely ≤ high"):
        value_per_month(None, None, (300, 200, 100))


def test_peer_actuals_gives_plain_values_and_blanks_as_none():
    d = peer_durations(PEERS)
    w = peer_actuals(d, "washoe-nv")
    assert w["award_to_golive_months"] == pytest.approx(WASHOE_AWARD_LIVE, abs=0.005)
    assert w["award_to_golive_approximate"] is False and w["rfp_issued"] == "2012"
    nodates = peer_actuals(d, "nodates-on")
    assert nodates["contract_award"] is None and nodates["award_to_golive_months"] is None
    json.dumps(w)  # plain values only
    with pytest.raises(TimelineError, match="no peer deployment"):
        peer_actuals(d, "atlantis")


def test_duration_claims_are_kept_vendor_stated_with_their_route():
    claims = pd.DataFrame([
        {"claim_id": "cx-rfp-duration", "claimed_value": "12-24", "claim": "says 12 to 24",
         "kind": "vendor-stated", "status": "unconfirmed", "research_note": None,
         "source_id": "src-x"},
        {"claim_id": "other", "claimed_value": "x", "claim": "y", "kind": "vendor-stated",
         "status": "s", "research_note": "n", "source_id": "src-x"},
    ])
    rows = duration_claims(claims)
    assert rows == [{"id": "cx-rfp-duration", "route": "traditional", "claimed_value": "12-24",
                     "claim": "says 12 to 24", "kind": "vendor-stated", "status": "unconfirmed",
                     "research_note": None, "source_id": "src-x"}]


def test_benchmark_run_reports_both_engines_on_the_same_draws():
    """benchmarks/bench_timeline.py keeps run() -> dict with both timings and their ratio
    (tiny sizes here: the timing itself is the benchmark's job, not the test's)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_timeline.py"
    spec = importlib.util.spec_from_file_location("bench_timeline", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    res = bench.run(draws=2_000, runs=1, loop_draws=200, loop_runs=1)
    assert res["draws"] == 2_000 and res["phases"] == len(DEFAULT_PHASES)
    assert res["target_ms"] == 100.0 and isinstance(res["meets_target"], bool)
    assert res["loop_ms_scaled"] == pytest.approx(res["loop_ms_measured"] * 10, rel=0.01)
    assert res["speedup"] == pytest.approx(res["loop_ms_scaled"] / res["vectorised_ms"], rel=0.05)
    json.dumps(res)


@pytest.mark.parametrize("method", ["pert", "triangular"])
def test_phase_medians_are_the_distributions_and_match_the_draws(method):
    """Each phase's reported median is its distribution's median: within sampling error of the
    median of the engine's own draws, exact for a symmetric range, the same in both engines."""
    from piggyback.engines.timeline import _draw_matrix

    res = simulate_timeline(DEFAULT_PHASES, START, draws=200_000, seed=2, method=method)
    draws = _draw_matrix(method, np.random.default_rng(2), DEFAULT_PHASES, 200_000)
    for phase, row, sample in zip(DEFAULT_PHASES, res.phases, np.median(draws, axis=1)):
        # the sample median's standard error is well under 1% of the range at 200,000 draws
        assert row["median"] == pytest.approx(sample, abs=0.005 * (phase.high - phase.low)), phase.id
    # symmetric hand example: the PERT and triangular medians of (2, 5, 8) are 5
    sym = [Phase(id="tl.rfp.s", route="traditional", name="s", low=2, likely=5, high=8),
           fixed("tl.pb.a", "piggyback", 1.0), fixed("tl.impl.golive", "implementation", 10.0)]
    assert simulate_timeline(sym, START, draws=100, method=method).phases[0]["median"] == \
        pytest.approx(5.0, abs=1e-3)
    loop = simulate_timeline_loop(DEFAULT_PHASES, START, draws=500, method=method)
    assert [p["median"] for p in loop.phases] == [p["median"] for p in res.phases]
