"""Peer similarity: hand-computed scores, invariants (hypothesis), reasons, figures, contacts."""

from __future__ import annotations

import importlib.util
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from piggyback.engines import similarity as sim
from piggyback.figures import similarity_figures as figs
from piggyback.core.models import MODULES, AgencyProfile

ROOT = Path(__file__).resolve().parents[1]
PROPS = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

AGENCY = {
    "geo_id": "CA-CSD-0000001", "name": "Town of Example", "country": "CA", "region": "ON",
    "jtype": "City", "population": 100_000, "growth_pct": 5.0, "households": 40_000,
    "density": None, "permit_volume": 1_000,
    "modules_needed": ["building", "inspections", "planning", "licensing"],
    "current_system": "Hansen",
}


def fixture_candidates() -> pd.DataFrame:
    return pd.DataFrame([
        {"jurisdiction": "Peer Three", "country": "US", "region": "TX", "jtype": "County",
         "population": 100, "growth_pct": 25.0, "households": None, "density": None,
         "permit_volume": None, "module_codes": ["licensing", "portal"],
         "replaced_system": None, "vendor": "V3"},
        {"jurisdiction": "Peer One", "country": "CA", "region": "ON", "jtype": "City",
         "population": 1_000_000, "growth_pct": 9.0, "households": 40_000, "density": 900.0,
         "permit_volume": 10_000, "module_codes": ["building", "inspections", "planning"],
         "replaced_system": "Hansen 7.x (in-house hosted)", "vendor": "V1"},
        {"jurisdiction": "Peer Two", "country": "Canada", "region": "AB", "jtype": "Town",
         "population": 10_000, "growth_pct": None, "households": None, "density": 500.0,
         "permit_volume": None, "module_codes": [], "replaced_system": "Accela",
         "vendor": "V2"},
    ])


# ------------------------------------------------------------------------------------------
# Hand-computed examples (balanced weights: size .20, growth .05, households .10, jtype .10,
# legal .20, modules .15, legacy .10, permits .10)
# ------------------------------------------------------------------------------------------


def test_hand_computed_scores_and_order():
    """The fixture's scores match the arithmetic written out below, best first.

    Lower-bound scoring: the agency knows all 8 dimensions, so the weights stay as given
    (sum 1); a dimension the peer does not know contributes 0 and adds its weight to the
    upper bound only."""
    out = sim.score_candidates(AGENCY, fixture_candidates(), "balanced")
    # Peer One, all 8 dimensions known:
    #   size  |log10 1e6 - log10 1e5| = 1 -> 1 - 1/2 = 0.5     x .20 = .1000
    #   growth |9 - 5| = 4 -> 1 - 4/20 = 0.8                    x .05 = .0400
    #   households 40,000 vs 40,000 -> 1                        x .10 = .1000
    #   jtype city = city -> 1                                  x .10 = .1000
    #   legal ON = ON -> 1                                      x .20 = .2000
    #   modules 3 of 4 -> 0.75                                  x .15 = .1125
    #   legacy "hansen" in "Hansen 7.x ..." -> 1                x .10 = .1000
    #   permits |log10 1e4 - log10 1e3| = 1 -> 0.5              x .10 = .0500
    #   score = .8025, nothing unknown: upper bound .8025
    # Peer Two, known: size (1e4 vs 1e5 -> .5), jtype (town vs city -> .5),
    #   legal (ON vs AB, CFTA only -> .6), legacy (Accela != Hansen -> 0).
    #   score = .2*.5 + .1*.5 + .2*.6 + .1*0 = .10 + .05 + .12 = .27
    #   unknown: growth .05, households .10 (theirs missing, our density missing),
    #   modules .15 ([] is unknown), permits .10 = .40 -> upper bound .67
    # Peer Three, known: size (100 vs 1e5: 3 orders -> 0), growth (|25-5| = 20 -> 0),
    #   jtype (county vs city -> 0), legal (US vs CA -> 0), modules (licensing: 1 of 4 -> .25)
    #   score = .15 * .25 = .0375
    #   unknown: households .10, legacy .10, permits .10 = .30 -> upper bound .3375
    assert out["jurisdiction"].tolist() == ["Peer One", "Peer Two", "Peer Three"]
    assert out["score"].tolist() == pytest.approx([0.8025, 0.27, 0.0375], abs=1e-12)
    assert out["score_high"].tolist() == pytest.approx([0.8025, 0.67, 0.3375], abs=1e-12)
    assert out["dims_used"].tolist() == [8, 4, 5]
    two = out.set_index("jurisdiction").loc["Peer Two"]
    assert two["contrib_legal"] == pytest.approx(0.2 * 0.6)
    assert two["contrib_size"] == pytest.approx(0.2 * 0.5)
    assert two["contrib_modules"] == 0.0 and math.isnan(two["sim_modules"])
    assert math.isnan(two["sim_households"]) and two["sim_legacy"] == 0.0
    # Other columns pass through untouched.
    assert out.set_index("jurisdiction").loc["Peer One", "vendor"] == "V1"


def test_rowwise_matches_hand_computed_fixture():
    """The per-row baseline gives the same table as the vectorized engine."""
    fast = sim.score_candidates(AGENCY, fixture_candidates())
    slow = sim.score_candidates_rowwise(AGENCY, fixture_candidates())
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("ours", "theirs", "expected"), [
    (("CA", "ON"), ("CA", "ON"), 1.0),
    (("CA", "AB"), ("Canada", "bc"), 0.8),   # both NWPTA
    (("CA", "MB"), ("CA", "SK"), 0.8),
    (("CA", "ON"), ("CA", "AB"), 0.6),       # CFTA only
    (("US", "TX"), ("USA", "CA"), 0.3),      # California, different state
    (("CA", "ON"), ("US", "NY"), 0.0),
    (("CA", "ON"), ("CA", None), math.nan),  # same country, province unknown
    ((None, "ON"), ("CA", "ON"), math.nan),
])
def test_legal_framework(ours, theirs, expected):
    """Same region 1, NWPTA .8, CFTA .6, other US state .3, other country 0, unknown blank."""
    agency = {"name": "A", "country": ours[0], "region": ours[1]}
    frame = pd.DataFrame([{"jurisdiction": "B", "country": theirs[0], "region": theirs[1]}])
    got = sim.score_candidates(agency, frame, {"legal": 1})["sim_legal"].iloc[0]
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("City", "CY", 1.0), ("Town", "town ", 1.0), ("City", "Town", 0.5),
    ("Township", "Village", 0.5), ("County", "City", 0.0), ("State", "County", 0.0),
    ("City", None, math.nan),
])
def test_jurisdiction_type(a, b, expected):
    got = sim.score_candidates({"name": "A", "jtype": a},
                               pd.DataFrame([{"jurisdiction": "B", "jtype": b}]),
                               {"jtype": 1})["sim_jtype"].iloc[0]
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


def test_households_fall_back_to_density_row_by_row():
    """Households compare when both sides know them; otherwise density does."""
    agency = {"name": "A", "households": 1_000, "density": 100.0}
    frame = pd.DataFrame([
        {"jurisdiction": "hh", "households": 10_000, "density": 100.0},   # 1 order -> .5
        {"jurisdiction": "dens", "households": None, "density": 1_000.0},  # 1 order -> .5
        {"jurisdiction": "dens2", "households": None, "density": 100.0},   # same -> 1
        {"jurisdiction": "none", "households": None, "density": None},
    ])
    out = sim.score_candidates(agency, frame, {"households": 1}).set_index("jurisdiction")
    assert out.loc["hh", "sim_households"] == pytest.approx(0.5)
    assert out.loc["dens", "sim_households"] == pytest.approx(0.5)
    assert out.loc["dens2", "sim_households"] == pytest.approx(1.0)
    assert math.isnan(out.loc["none", "sim_households"]) and math.isnan(out.loc["none", "score"])
    assert out.index[-1] == "none"  # unscorable rows go last


def test_modules_and_legacy_rules():
    agency = {"name": "A", "modules_needed": ["building", "eplan"], "current_system": "AMANDA 7"}
    frame = pd.DataFrame([
        {"jurisdiction": "str", "module_codes": "building; portal", "replaced_system": "amanda"},
        {"jurisdiction": "list", "module_codes": ["eplan", "building", "trades"],
         "replaced_system": "Paper files"},
        {"jurisdiction": "unknown", "module_codes": [], "replaced_system": None},
        {"jurisdiction": "wordpart", "module_codes": ["nonsense"],
         "replaced_system": "AMANDAS suite"},
    ])
    out = sim.score_candidates(agency, frame, {"modules": 1, "legacy": 1}).set_index("jurisdiction")
    assert out.loc["str", "sim_modules"] == 0.5 and out.loc["str", "sim_legacy"] == 1.0
    assert out.loc["list", "sim_modules"] == 1.0 and out.loc["list", "sim_legacy"] == 0.0
    assert math.isnan(out.loc["unknown", "sim_modules"]) and math.isnan(out.loc["unknown", "sim_legacy"])
    assert math.isnan(out.loc["wordpart", "sim_modules"])  # no known code = unknown
    assert out.loc["wordpart", "sim_legacy"] == 0.0        # whole words only
    # An agency with no modules listed makes the dimension unknown for everyone.
    none_needed = sim.score_candidates({**agency, "modules_needed": []}, frame, {"modules": 1, "legacy": 1})
    assert none_needed["sim_modules"].isna().all()


def test_log_scale_bounds_and_zero():
    agency = {"name": "A", "population": 1_000}
    frame = pd.DataFrame({"jurisdiction": list("abcd"), "population": [1_000, 10_000, 0, 10**7]})
    out = sim.score_candidates(agency, frame, "size only").set_index("jurisdiction")
    assert out["sim_size"].to_dict() == pytest.approx({"a": 1.0, "b": 0.5, "c": 0.0, "d": 0.0})
    assert sim.LOG_RANGE_ORDERS == 2.0


def test_accepts_agency_profile_and_missing_columns():
    """An AgencyProfile works; a prospects frame without module/permit columns just drops them."""
    profile = AgencyProfile(name="Town of Example", country="CA", region="ON", jtype="City",
                            population=100_000, modules_needed=["building"],
                            current_system="Hansen")
    prospects = pd.DataFrame({"jurisdiction": ["X", "Y"], "country": ["CA", "CA"],
                              "region": ["ON", "QC"], "population": [100_000, 50_000]})
    out = sim.score_candidates(profile, prospects)
    assert out["jurisdiction"].tolist() == ["X", "Y"]
    assert out["sim_modules"].isna().all() and out["sim_permits"].isna().all()
    assert out["dims_used"].tolist() == [2, 2]
    empty = sim.score_candidates(profile, prospects.iloc[0:0])
    assert empty.empty and "score" in empty.columns


def test_ties_are_broken_by_name():
    frame = pd.DataFrame({"jurisdiction": ["Zeta", "Alpha", "Mid"], "population": [10, 10, 10]})
    out = sim.score_candidates({"name": "A", "population": 10}, frame, "size only")
    assert out["jurisdiction"].tolist() == ["Alpha", "Mid", "Zeta"]


# ------------------------------------------------------------------------------------------
# Weights
# ------------------------------------------------------------------------------------------


def test_presets_normalize_and_parse():
    for name in sim.PRESETS:
        w = sim.parse_weights(name)
        assert set(w) == set(sim.DIMENSIONS) and sum(w.values()) == pytest.approx(1.0)
    assert sim.parse_weights(" Procurement_Fit ") == sim.parse_weights("procurement fit")
    assert sim.parse_weights('{"size": 3, "legal": 1}') == pytest.approx(
        {**{d: 0.0 for d in sim.DIMENSIONS}, "size": 0.75, "legal": 0.25})
    proc = sim.parse_weights("procurement fit")
    assert proc["legal"] + proc["modules"] + proc["legacy"] > 0.5


@pytest.mark.parametrize(("text", "message"), [
    ('{"colour": 1}', "unknown dimension"),
    ('{"size": -1, "legal": 2}', "negative"),
    ('{"size": 0, "legal": 0}', "all weights are zero"),
    ("{}", "all weights are zero"),
    ("not a preset", "neither a preset"),
    ("[1, 2]", "must be an object"),
    ('{"size": "heavy"}', "must be a number"),
    ('{"size": NaN}', "finite"),
    ("", "empty"),
])
def test_weights_errors(text, message):
    with pytest.raises(ValueError, match=message):
        sim.parse_weights(text)


def test_score_rejects_bad_weights_dict():
    with pytest.raises(sim.WeightsError):
        sim.score_candidates(AGENCY, fixture_candidates(), {"size": -0.5})


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------

_maybe = lambda strat: st.one_of(st.none(), strat)  # noqa: E731
_jtypes = ["City", "Town", "CY", "Township", "County", "Village", "Municipality", "State", "odd"]
_regions = [("CA", "ON"), ("CA", "AB"), ("CA", "BC"), ("Canada", "QC"), ("US", "TX"),
            ("USA", "CA"), ("US", "NY"), (None, None), ("CA", None)]
_systems = ["Hansen", "AMANDA 7", "Accela Permits Plus", "Municipal Application Partnership (MAP)",
            "paper files", "hansen 8.2"]
_module_lists = st.lists(st.sampled_from(sorted(MODULES)), max_size=5, unique=True)


@st.composite
def profiles(draw):
    country, region = draw(st.sampled_from(_regions))
    return {
        "name": draw(st.text(alphabet="ABCDEFGHIJ abc", min_size=1, max_size=8)),
        "country": country, "region": region,
        "jtype": draw(_maybe(st.sampled_from(_jtypes))),
        "population": draw(_maybe(st.integers(0, 10**7))),
        "growth_pct": draw(_maybe(st.floats(-40, 60, allow_nan=False))),
        "households": draw(_maybe(st.integers(0, 5 * 10**6))),
        "density": draw(_maybe(st.floats(0, 20_000, allow_nan=False))),
        "permit_volume": draw(_maybe(st.integers(0, 200_000))),
        "modules_needed": draw(_module_lists),
        "current_system": draw(_maybe(st.sampled_from(_systems))),
    }


def as_candidate(profile: dict) -> dict:
    return {"jurisdiction": profile["name"], "country": profile["country"],
            "region": profile["region"], "jtype": profile["jtype"],
            "population": profile["population"], "growth_pct": profile["growth_pct"],
            "households": profile["households"], "density": profile["density"],
            "permit_volume": profile["permit_volume"], "module_codes": profile["modules_needed"],
            "replaced_system": profile["current_system"]}


frames = st.lists(profiles(), min_size=1, max_size=12).map(
    lambda ps: pd.DataFrame([as_candidate(p) for p in ps]))
weight_dicts = st.dictionaries(st.sampled_from(sim.DIMENSIONS),
                               st.floats(0, 10, allow_nan=False), min_size=1).filter(
    lambda w: sum(w.values()) > 0.01)


@PROPS
@given(profiles(), frames, weight_dicts)
def test_scores_bounded_contributions_add_up_and_match_rowwise(agency, frame, weights):
    """Scores lie in [0, 1], contributions add up to the score, and both engines agree."""
    fast = sim.score_candidates(agency, frame, weights)
    scored = fast["score"].dropna()
    assert ((scored >= -1e-12) & (scored <= 1 + 1e-12)).all()
    contrib = fast[[f"contrib_{d}" for d in sim.DIMENSIONS]].sum(axis=1)
    known = fast["score"].notna()
    assert np.allclose(contrib[known], fast.loc[known, "score"], atol=1e-9, rtol=0)
    assert (fast.loc[~known, "dims_used"] == 0).all()
    slow = sim.score_candidates_rowwise(agency, frame, weights)
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=0, atol=1e-12)


@PROPS
@given(profiles(), st.sampled_from(list(sim.PRESETS)))
def test_identical_agency_scores_one(agency, preset):
    """A candidate that is the agency itself matches fully on whatever is known: its lower
    bound is the weight share of the known dimensions and its upper bound is 1."""
    out = sim.score_candidates(agency, pd.DataFrame([as_candidate(agency)]), preset)
    row = out.iloc[0]
    w = sim.scoring_weights(sim.normalize_weights(preset), sim.agency_dimensions(agency))
    if row["dims_used"] > 0:
        known = sum(w[d] for d in sim.DIMENSIONS if not math.isnan(row[f"sim_{d}"]))
        assert row["score"] == pytest.approx(known, abs=1e-12)
        assert row["score_high"] == pytest.approx(1.0, abs=1e-12)
    else:
        assert math.isnan(row["score"]) and math.isnan(row["score_high"])


_INPUTS = {"size": ["population"], "growth": ["growth_pct"], "households": ["households", "density"],
           "jtype": ["jtype"], "legal": ["country"], "modules": ["module_codes"],
           "legacy": ["replaced_system"], "permits": ["permit_volume"]}


@PROPS
@given(profiles(), profiles(), st.sampled_from(sim.DIMENSIONS), weight_dicts)
def test_missing_dimension_counts_zero_and_widens_the_range(agency, peer, dim, weights):
    """Blanking one dimension: dims_used falls by one, its contribution is 0, the score (lower
    bound) falls by exactly what the dimension contributed, and the new range [score,
    score_high] still contains the score known before: knowing less never ranks higher."""
    w = sim.normalize_weights(weights)
    sw = sim.scoring_weights(w, sim.agency_dimensions(agency))
    before = sim.score_candidates(agency, pd.DataFrame([as_candidate(peer)]), w).iloc[0]
    blank = as_candidate(peer)
    for col in _INPUTS[dim]:
        blank[col] = [] if col == "module_codes" else None
    after = sim.score_candidates(agency, pd.DataFrame([blank]), w).iloc[0]
    assert math.isnan(after[f"sim_{dim}"]) and after[f"contrib_{dim}"] == 0.0
    was_used = not math.isnan(before[f"sim_{dim}"]) and sw[dim] > 0
    assert after["dims_used"] == before["dims_used"] - (1 if was_used else 0)
    others = [d for d in sim.DIMENSIONS if d != dim and not math.isnan(after[f"sim_{d}"]) and sw[d] > 0]
    if not others:
        assert math.isnan(after["score"])
        return
    assert after["score"] == pytest.approx(sum(sw[d] * after[f"sim_{d}"] for d in others), abs=1e-12)
    lost = sw[dim] * before[f"sim_{dim}"] if was_used else 0.0
    assert after["score"] == pytest.approx(before["score"] - lost, abs=1e-12)
    assert after["score"] - 1e-12 <= before["score"] <= after["score_high"] + 1e-12
    unknown = sum(sw[d] for d in sim.DIMENSIONS if d not in others)
    assert after["score_high"] == pytest.approx(after["score"] + unknown, abs=1e-12)


@PROPS
@given(profiles(), profiles(), st.sets(st.sampled_from(sim.DIMENSIONS), min_size=1), weight_dicts)
def test_more_known_dimensions_never_rank_below_a_sparser_copy(agency, peer, blanked, weights):
    """Issue #12: a peer with the same known values but more known dimensions ranks at or
    above a sparser copy of itself (the copy has some dimensions blanked)."""
    full = {**as_candidate(peer), "jurisdiction": "Zz full"}  # loses a tie on name alone
    sparse = {**as_candidate(peer), "jurisdiction": "Aa sparse"}
    for dim in blanked:
        for col in _INPUTS[dim]:
            sparse[col] = [] if col == "module_codes" else None
    for fast in (True, False):
        engine = sim.score_candidates if fast else sim.score_candidates_rowwise
        out = engine(agency, pd.DataFrame([sparse, full]), weights).reset_index(drop=True)
        pos = {name: i for i, name in enumerate(out["jurisdiction"])}
        rows = out.set_index("jurisdiction")
        assert rows.loc["Zz full", "dims_used"] >= rows.loc["Aa sparse", "dims_used"]
        if not math.isnan(rows.loc["Aa sparse", "score"]):
            assert rows.loc["Zz full", "score"] >= rows.loc["Aa sparse", "score"] - 1e-12
        if rows.loc["Zz full", "dims_used"] > rows.loc["Aa sparse", "dims_used"]:
            assert pos["Zz full"] < pos["Aa sparse"]


def test_sparse_peer_no_longer_outranks_a_well_known_one():
    """The Irvine / Newport Beach shape: a peer known on 3 dimensions, all matching, against
    one known on all 8 with a few differences. Hand-computed, balanced weights:

    sparse: size 1 x .20 + jtype 1 x .10 + legal 1 x .20 = .50, unknown .50 -> [.50, 1.00]
      (the old renormalized score was .50 / .50 = 1.00, ranked first)
    known:  size: 2x population -> 1 - log10(2)/2 = .849485 x .20 = .169897
            growth 5 vs 5 -> 1 x .05 = .05; households same -> .10; jtype .10; legal .20;
            modules 2 of 4 -> .5 x .15 = .075; legacy Hansen -> .10; permits same -> .10
            = .894897, nothing unknown -> [.894897, .894897]
    """
    known = {"jurisdiction": "Known", "country": "CA", "region": "ON", "jtype": "City",
             "population": 200_000, "growth_pct": 5.0, "households": 40_000,
             "permit_volume": 1_000, "module_codes": ["building", "planning"],
             "replaced_system": "Hansen 8"}
    sparse = {"jurisdiction": "Sparse", "country": "CA", "region": "ON", "jtype": "City",
              "population": 100_000}
    out = sim.score_candidates(AGENCY, pd.DataFrame([sparse, known]), "balanced")
    assert out["jurisdiction"].tolist() == ["Known", "Sparse"]
    size = 1 - math.log10(2) / 2
    assert out["score"].tolist() == pytest.approx([0.2 * size + 0.725, 0.5], abs=1e-12)
    assert out["score_high"].tolist() == pytest.approx([0.2 * size + 0.725, 1.0], abs=1e-12)
    assert out["dims_used"].tolist() == [8, 3]


def test_agency_unknown_dimensions_and_candidate_kinds_are_left_out_for_everyone():
    """A dimension the agency does not know (here permit volume and legacy system) or that the
    candidates cannot know (``dimensions=``) is dropped from the weights for every row, so a
    perfect match on the rest still scores 1. Balanced: .20+.05+.10+.10+.20+.15 = .80 kept."""
    agency = {**AGENCY, "permit_volume": None, "current_system": None}
    twin = {"jurisdiction": "Twin", "country": "CA", "region": "ON", "jtype": "City",
            "population": 100_000, "growth_pct": 5.0, "households": 40_000,
            "module_codes": ["building", "inspections", "planning", "licensing"]}
    out = sim.score_candidates(agency, pd.DataFrame([twin]), "balanced").iloc[0]
    assert out["score"] == pytest.approx(1.0) and out["score_high"] == pytest.approx(1.0)
    assert out["contrib_size"] == pytest.approx(0.20 / 0.80)
    census = {k: v for k, v in twin.items() if k != "module_codes"}
    out = sim.score_candidates(agency, pd.DataFrame([census]), "balanced",
                               dimensions=("size", "growth", "households", "jtype", "legal")).iloc[0]
    # .20+.05+.10+.10+.20 = .65 of weight, all matching -> 1.
    assert out["score"] == pytest.approx(1.0) and out["contrib_legal"] == pytest.approx(0.20 / 0.65)


def test_quebec_is_its_own_legal_framework():
    """Quebec against any other province is compared like another country (rules QC-01,
    QC-12), not as 60% compatible under the CFTA; the reason says so."""
    qc = {**AGENCY, "region": "QC"}
    ottawa = {"jurisdiction": "Ottawa", "country": "CA", "region": "ON"}
    gatineau = {"jurisdiction": "Lévis", "country": "CA", "region": "QC"}
    out = sim.score_candidates(qc, pd.DataFrame([ottawa, gatineau]), {"legal": 1}).set_index("jurisdiction")
    assert out.loc["Ottawa", "sim_legal"] == 0.0 and out.loc["Lévis", "sim_legal"] == 1.0
    back = sim.score_candidates(AGENCY, pd.DataFrame([gatineau]), {"legal": 1}).iloc[0]
    assert back["sim_legal"] == 0.0
    reasons = sim.explain(qc, out.reset_index().iloc[1].to_dict(), {"legal": 1},
                          include_differences=True)
    assert any("Quebec has its own procurement law" in r for r in reasons)


# ------------------------------------------------------------------------------------------
# Robustness
# ------------------------------------------------------------------------------------------


def _tradeoff_frame() -> pd.DataFrame:
    return pd.DataFrame([
        {"jurisdiction": "A same province, 10x bigger", "country": "CA", "region": "ON",
         "population": 1_000_000},
        {"jurisdiction": "B other province, same size", "country": "CA", "region": "AB",
         "population": 100_000},
        {"jurisdiction": "C far away", "country": "US", "region": "TX", "population": 100},
        {"jurisdiction": "D same province, huge", "country": "CA", "region": "ON",
         "population": 10**7},
    ])


def test_robustness_flags_a_fragile_ranking():
    """Weights size 1 : legal 1.3 put A (.5 size, 1 legal) just ahead of B (1 size, .6 legal):
    A = (.5 + 1.3)/2.3 = .783 > B = (1 + .78)/2.3 = .774; +20% on size swaps them."""
    agency = {"name": "Me", "country": "CA", "region": "ON", "population": 100_000}
    report = sim.robustness(agency, _tradeoff_frame(), {"size": 1, "legal": 1.3})
    assert report["baseline_top"] == ["A same province, 10x bigger",
                                      "B other province, same size", "D same province, huge"]
    assert report["stable"] is False and report["checked"] == 4
    swap = [c for c in report["changes"] if c["dimension"] == "size" and c["direction"] == "+20%"]
    assert swap and swap[0]["top"][:2] == ["B other province, same size",
                                            "A same province, 10x bigger"]
    assert swap[0]["set_changed"] is False


def test_robustness_reports_stable_on_a_clear_ranking():
    agency = {"name": "Me", "country": "CA", "region": "ON", "population": 100_000}
    frame = pd.DataFrame([
        {"jurisdiction": "Twin", "country": "CA", "region": "ON", "population": 100_000},
        {"jurisdiction": "Near", "country": "CA", "region": "AB", "population": 300_000},
        {"jurisdiction": "Far", "country": "US", "region": "TX", "population": 20_000_000},
        {"jurisdiction": "Farther", "country": "US", "region": "NY", "population": 10},
    ])
    report = sim.robustness(agency, frame, {"size": 1, "legal": 1})
    assert report == {"stable": True, "baseline_top": ["Twin", "Near", "Far"], "changes": [],
                      "checked": 4}
    with pytest.raises(ValueError, match="step"):
        sim.robustness(agency, frame, "balanced", step=1.5)


# ------------------------------------------------------------------------------------------
# Reasons and the introduction
# ------------------------------------------------------------------------------------------


def test_explain_reasons_in_contribution_order():
    out = sim.score_candidates(AGENCY, fixture_candidates()).set_index("jurisdiction", drop=False)
    reasons = sim.explain(AGENCY, out.loc["Peer One"])
    # Contributions: legal .2, modules .1125, then size/households/jtype/legacy .1 each
    # (dimension order), permits .05, growth .04.
    assert reasons[0] == "same province (ON)"
    # No live status in the fixture: the modules are the sources' list, not claimed as running.
    assert reasons[1] == ("sources list 3 of your 4 modules (modules listed by the sources; "
                          "live status not confirmed)")
    assert reasons[2].startswith("10× your population")
    assert "both cities" in reasons and "replaced the same system (Hansen)" in reasons
    assert len(reasons) == 8
    two = sim.explain(AGENCY, out.loc["Peer Two"])
    assert not any("modules" in r for r in two)  # unknown modules are never a reason
    assert not any("replaced" in r for r in two)  # a mismatch adds nothing
    assert any("replaced a different system" in r
               for r in sim.explain(AGENCY, out.loc["Peer Two"], include_differences=True))
    assert "both in Canada under the CFTA (AB vs your ON)" in two


def test_explain_on_a_raw_row_and_us_state():
    agency = {"name": "A", "country": "US", "region": "TX", "jtype": "City", "population": 50_000}
    row = {"jurisdiction": "B", "country": "US", "region": "TX", "jtype": "city",
           "population": 90_000}
    reasons = sim.explain(agency, row)
    assert reasons[0] == "same state (TX)" and "both cities" in reasons
    assert "1.8× your population (90,000 vs 50,000)" in reasons
    sentence = sim.explain_sentence(agency, row, top=2)
    assert sentence == "B: same state (TX) and 1.8× your population (90,000 vs 50,000)."


def test_draft_introduction_uses_only_given_facts():
    out = sim.score_candidates(AGENCY, fixture_candidates())
    peer = out.iloc[0]
    reasons = sim.explain(AGENCY, peer)
    contact = {"department": "Building Department", "channel": "web",
               "value": "https://example.org/building"}
    text = sim.draft_introduction(AGENCY, peer, reasons, contact)
    assert "Town of Example" in text and "Ontario" in text and "100,000" in text
    assert "Peer One" in text and "To: Building Department" in text
    # Issue #15: the contact point is shown beside the letter, never written into it.
    assert "https://example.org/building" not in text and "contact point" not in text
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert bullets == ["- same province (ON)",
                       "- sources list 3 of our 4 modules (modules listed by the sources; "
                       "live status not confirmed)",
                       "- 10× our population (1,000,000 vs 100,000)"]
    assert "@" not in text and "[Your name]" in text
    no_contact = sim.draft_introduction({**AGENCY, "population": None}, peer, reasons, None)
    assert "contact point" not in no_contact
    assert "population of" not in no_contact
    with pytest.raises(ValueError, match="name"):
        sim.draft_introduction({**AGENCY, "name": ""}, peer, reasons, None)


# ------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------


def test_score_bar_figure_stacks_contributions():
    out = sim.score_candidates(AGENCY, fixture_candidates())
    fig = figs.score_bar_figure(out, top=2)
    bars = [t for t in fig.data if isinstance(t, go.Bar)]
    assert {t.name for t in bars} <= set(sim.DIMENSION_LABELS.values())
    assert list(bars[0].y) == ["Peer Two", "Peer One"]  # rank 1 drawn on top
    totals = np.sum([np.asarray(t.x, dtype=float) for t in bars], axis=0)
    assert totals == pytest.approx([0.27, 0.8025])
    # Labels give the range the unknowns allow (Peer Two: .27 up to .67, hand-computed above).
    labels = next(t for t in fig.data if isinstance(t, go.Scatter)).text
    assert labels[0].strip() == "0.27 (up to 0.67) (4 dimensions known)"
    assert labels[1].strip() == "0.80 (8 dimensions known)"
    assert fig.layout.barmode == "stack" and fig.layout.font.size >= 14
    with pytest.raises(ValueError, match="score_candidates"):
        figs.score_bar_figure(fixture_candidates())


def test_peer_map_skips_and_counts_missing_coordinates():
    out = sim.score_candidates(AGENCY, fixture_candidates())
    out["lat"] = [45.4, None, 32.8]
    out["lon"] = [-75.7, -80.0, None]
    fig = figs.peer_map_figure({**AGENCY, "lat": 43.5, "lon": -80.2}, out)
    geo = [t for t in fig.data if isinstance(t, go.Scattergeo)]
    assert len(geo) == 2 and len(geo[0].lat) == 1
    assert "2 of 3 peers have no coordinates" in fig.layout.title.text
    assert fig.layout.meta["missing_coordinates"] == 2
    assert fig.layout.geo.showland is False  # offline-safe by default
    no_coords = figs.peer_map_figure(AGENCY, fixture_candidates())
    assert "3 of 3 peers have no coordinates" in no_coords.layout.title.text
    assert "your agency has no coordinates" in no_coords.layout.title.text


def test_contributions_table_keeps_blanks_blank():
    out = sim.score_candidates(AGENCY, fixture_candidates())
    table = figs.contributions_table(out)
    two = table.set_index("peer").loc["Peer Two"]
    assert math.isnan(two["Modules"]) and two["Legacy system"] == 0.0
    assert two["score"] == pytest.approx(0.27)


# ------------------------------------------------------------------------------------------
# Contacts file and benchmark
# ------------------------------------------------------------------------------------------

DEPLOYMENT_IDS = set(
    "ottawa-on hamilton-on edmonton-ab calgary-ab mecklenburg-nc dallas-tx broward-fl "
    "fort-lauderdale-fl vancouver-bc clarington-on pickering-on london-on cambridge-on "
    "puslinch-on niagara-on-the-lake-on north-middlesex-on greater-sudbury-on toronto-on "
    "washoe-nv sonoma-ca humboldt-ca visalia-ca prescott-az fayetteville-ar columbia-sc "
    "newport-beach-ca carlsbad-ca south-san-francisco-ca killeen-tx tukwila-wa detroit-mi".split()
)


def test_contacts_are_public_sourced_department_pages():
    contacts = pd.read_csv(ROOT / "data" / "peers" / "contacts.csv", dtype=str)
    assert contacts.columns.tolist() == ["deployment_id", "department", "channel", "value",
                                         "source_url", "confidence", "as_of", "note"]
    assert len(contacts) > 0
    assert set(contacts["deployment_id"]) <= DEPLOYMENT_IDS
    assert set(contacts["channel"]) <= {"phone", "email", "web"}
    assert set(contacts["confidence"]) <= {"high", "medium", "low"}
    assert contacts["source_url"].str.match(r"^https?://\S+$").all()
    web = contacts[contacts["channel"] == "web"]
    assert (web["value"] == web["source_url"]).all()
    research = ROOT.parent / "shared" / "research"
    if research.is_dir():  # every page must come from the research notes
        text = "".join(p.read_text(encoding="utf-8") for p in research.glob("*.*"))
        assert all(url in text for url in contacts["source_url"])


def test_benchmark_run_reports_agreeing_results():
    spec = importlib.util.spec_from_file_location("bench_similarity",
                                                  ROOT / "benchmarks" / "bench_similarity.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.run(rows=400, fast_runs=3, slow_runs=1)
    assert result["rows"] == 400 and result["results_agree"] is True
    assert result["vectorized_median_ms"] > 0 and result["rowwise_median_ms"] > 0
    json.dumps(result)  # serializable for the combined benchmark
    assert re.fullmatch(r"\d+\.\d+|\d+", str(result["speedup"]))


def test_scales_are_labelled_assumptions():
    """Every default scale is published as an assumption the store's table can hold."""
    from piggyback.core.models import Assumption

    rows = [Assumption(**row) for row in sim.SIMILARITY_ASSUMPTIONS]
    assert all(r.kind == "assumption" and r.source_url is None for r in rows)
    values = {r.assumption_id: r.value for r in rows}
    assert values["similarity-log-range"] == sim.LOG_RANGE_ORDERS
    assert values["similarity-legal-nwpta"] == sim.LEGAL_NWPTA


@pytest.mark.parametrize("availability, words", [
    ({"state": "expired", "expiry": "2023-06", "reasons": [{"text": "Expired: ..."}]},
     "appears to have ended (2023-06). Is there a current agreement"),
    ({"state": "available", "expiry": "2029-06-01", "reasons": [{"text": "Term running"}]},
     "in force until 2029-06-01 and open to other public bodies"),
    ({"state": "not_adoptable", "expiry": None,
      "reasons": [{"text": "The contract was a sole-source award: ..."}]}, "(a sole-source award)"),
    ({"state": "unknown", "expiry": None, "reasons": [{"text": "The term is not recorded"}]},
     "We could not tell from the public record"),
])
def test_draft_introduction_says_what_the_record_shows_about_the_contract(availability, words):
    peer = {"jurisdiction": "City of Peer", "product": "POSSE"}
    text = sim.draft_introduction(AGENCY, peer, ["same province (ON)"], None, availability=availability)
    assert words in text
    assert "public record" not in sim.draft_introduction(AGENCY, peer, ["same province (ON)"], None)


@pytest.mark.parametrize("live, words", [
    (None, "sources list 3 of your 4 modules (modules listed by the sources; live status not confirmed)"),
    (["building"], "runs 1 of your 4 modules live (building); planned or unconfirmed: inspections, planning"),
    ([], "runs 0 of your 4 modules live; planned or unconfirmed: building, inspections, planning"),
])
def test_modules_reason_counts_only_modules_confirmed_live(live, words):
    row = {"jurisdiction": "Peer", "module_codes": ["building", "inspections", "planning"],
           "modules_live": live}
    assert words in sim.explain(AGENCY, row, {"modules": 1})
