"""Peer similarity: how comparable is each candidate agency to the prospective agency?

Each *dimension* (size, growth, households, jurisdiction type, legal framework, modules,
legacy system, permit volume) gives a similarity in [0, 1] for one pair, or NaN when either
side does not know the value.

Ranking score: the **lower bound** (issue #12, so that missing data is never rewarded). The
weights are scaled to sum to 1 over the dimensions the agency itself can be compared on (a
dimension the agency does not know, or that no candidate of this kind can know, such as
modules for a census prospect, is left out for everyone alike). A dimension the candidate does
not know then contributes 0:

    score      = sum_{d known} w_d * s_d                      (lower bound, used to rank)
    score_high = score + sum_{d unknown} w_d                  (upper bound: unknowns at 1)

so a peer known on 3 of 8 dimensions can no longer outrank one known on 7 with the same
known values, and adding a fact can only raise the score (or leave it). Per-dimension
contributions ``c_d = w_d * s_d`` (0 for an unknown) add up to the score exactly, which is
what the bar chart shows; ``score_high - score`` is the part the unknowns could still add.
A candidate known on none of the weighted dimensions has no score (NaN): nothing is known in
common.

Every scale below is a default assumption, not a sourced fact; ``SIMILARITY_ASSUMPTIONS``
lists them in the shape of the store's ``assumptions`` table so pages can label them.

Pure functions, no Streamlit. ``score_candidates`` is vectorized with numpy (the prospects
list has ~33,600 rows); ``score_candidates_rowwise`` is the plain per-row formula kept as a
cross-check and as the benchmark baseline.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from piggyback.core.models import CA_PROVINCES, MODULES, US_STATES, COUNTRY_ALIASES

# --------------------------------------------------------------------------------------------
# Dimensions and their scales (assumptions)
# --------------------------------------------------------------------------------------------

DIMENSIONS: tuple[str, ...] = (
    "size", "growth", "households", "jtype", "legal", "modules", "legacy", "permits",
)

DIMENSION_LABELS: dict[str, str] = {
    "size": "Population",
    "growth": "Growth",
    "households": "Households / density",
    "jtype": "Kind of government",
    "legal": "Legal framework",
    "modules": "Modules",
    "legacy": "Legacy system",
    "permits": "Permit volume",
}

# Assumption: two values that differ by this many orders of magnitude (x100) are not
# comparable at all; similarity falls linearly in log10 distance up to that point.
LOG_RANGE_ORDERS: float = 2.0
# Assumption: growth rates 20 percentage points apart are not comparable at all.
GROWTH_RANGE_PP: float = 20.0

# Assumption: how close two legal frameworks are for borrowing a contract.
LEGAL_SAME_REGION: float = 1.0
LEGAL_NWPTA: float = 0.8        # both in AB/BC/SK/MB: NWPTA on top of CFTA
LEGAL_CFTA: float = 0.6         # both in Canada, different provinces: CFTA only
LEGAL_US_OTHER_STATE: float = 0.3  # same federal framework, different state law
# Quebec is its own legal framework: rule QC-01 (a Quebec municipality cannot simply adopt
# another body's contract) and QC-12 (no provision allows adopting another province's or a US
# body's contract). Quebec versus any other province is therefore compared like two countries.
LEGAL_QUEBEC_OTHER: float = 0.0
LEGAL_OTHER_COUNTRY: float = 0.0
NWPTA_PROVINCES: frozenset[str] = frozenset({"AB", "BC", "SK", "MB"})

# Assumption: two different *municipal* kinds (e.g. city vs town) are half alike; a county,
# state or regional government versus a municipality is not alike.
JTYPE_SAME: float = 1.0
JTYPE_BOTH_MUNICIPAL: float = 0.5
JTYPE_DIFFERENT: float = 0.0

# Canonical kinds of government and the words (and common StatCan CSD type codes) that map
# onto them. Anything not listed is compared as its own lower-cased text.
JTYPE_ALIASES: dict[str, str] = {
    "city": "city", "cy": "city", "c": "city", "cv": "city", "cité": "city", "cite": "city",
    "city and borough": "city", "consolidated city-county": "city",
    "unified government": "city", "consolidated government": "city",
    "metropolitan government": "city",
    "town": "town", "t": "town", "tv": "town", "ville": "town", "v": "town",
    "town (ville)": "town",
    "village": "village", "vl": "village", "summer village": "village", "sv": "village",
    "village nordique": "village", "northern village": "village", "vn": "village",
    "resort village": "village", "rv": "village",
    "township": "township", "tp": "township", "canton": "township", "ct": "township",
    "township (canton)": "township", "cantons unis": "township", "united townships": "township",
    "cu": "township", "charter township": "township",
    "municipality": "municipality", "mu": "municipality", "m": "municipality",
    "municipalité": "municipality", "mé": "municipality",
    "district municipality": "municipality", "dm": "municipality",
    "rural municipality": "municipality", "rm": "municipality",
    "municipal district": "municipality", "md": "municipality",
    "island municipality": "municipality", "specialized municipality": "municipality",
    "sm": "municipality", "rural community": "municipality",
    # At census-subdivision level a regional municipality (Halifax, Cape Breton) is single-tier.
    "regional municipality": "municipality", "rgm": "municipality",
    "regional district": "regional", "region": "regional",
    "borough": "borough", "hamlet": "hamlet", "ham": "hamlet", "northern hamlet": "hamlet",
    "plantation": "plantation",
    # "Parish" is a county equivalent in Louisiana but a municipality in Quebec and New
    # Brunswick: kept as its own kind, alike only to another parish.
    "parish": "parish", "paroisse": "parish", "p": "parish", "pe": "parish",
    "county": "county", "cty": "county", "united counties": "county",
    "county equivalent": "county", "urban county": "county",
    "state": "state", "province": "province",
}
# Local (lower- or single-tier) municipal kinds: different members are half alike.
MUNICIPAL_KINDS: frozenset[str] = frozenset(
    {"city", "town", "village", "township", "municipality", "borough", "hamlet", "plantation"}
)
_JTYPE_PLURALS = {"city": "cities", "county": "counties", "municipality": "municipalities",
                  "parish": "parishes", "borough": "boroughs",
                  "regional": "regional governments"}

# Words that say nothing about *which* product a legacy system is.
LEGACY_STOPWORDS: frozenset[str] = frozenset({
    "the", "and", "of", "a", "an", "system", "systems", "software", "suite", "version",
    "legacy", "old", "our", "in", "house", "in-house", "permitting", "permit", "permits",
})

# Presets are assumptions too: a starting point the committee can move.
PRESETS: dict[str, dict[str, float]] = {
    "balanced": {"size": 0.20, "growth": 0.05, "households": 0.10, "jtype": 0.10,
                 "legal": 0.20, "modules": 0.15, "legacy": 0.10, "permits": 0.10},
    "procurement fit": {"legal": 0.35, "modules": 0.25, "legacy": 0.20, "size": 0.10,
                        "jtype": 0.10},
    "operational fit": {"size": 0.25, "households": 0.15, "permits": 0.20, "modules": 0.25,
                        "growth": 0.15},
    "size only": {"size": 1.0},
}

SIMILARITY_ASSUMPTIONS: list[dict[str, Any]] = [
    {"assumption_id": "similarity-log-range", "group_name": "similarity",
     "name": ("Orders of magnitude at which population, households or permit volume "
              "stop being comparable"),
     "value": LOG_RANGE_ORDERS, "low": 1.0, "high": 3.0, "unit": "orders of magnitude (log10)",
     "kind": "assumption", "source_url": None,
     "note": "Similarity falls linearly with |log10(a) - log10(b)|; 2 means a 100x difference scores 0."},
    {"assumption_id": "similarity-growth-range", "group_name": "similarity",
     "name": "Growth difference at which two agencies stop being comparable",
     "value": GROWTH_RANGE_PP, "low": 10.0, "high": 40.0, "unit": "percentage points",
     "kind": "assumption", "source_url": None, "note": None},
    {"assumption_id": "similarity-legal-nwpta", "group_name": "similarity",
     "name": "Legal-framework similarity, two NWPTA provinces (AB, BC, SK, MB)",
     "value": LEGAL_NWPTA, "low": None, "high": None, "unit": "share (0-1)",
     "kind": "assumption", "source_url": None, "note": "NWPTA applies on top of CFTA in the western provinces."},
    {"assumption_id": "similarity-legal-cfta", "group_name": "similarity",
     "name": "Legal-framework similarity, two Canadian provinces (CFTA only)",
     "value": LEGAL_CFTA, "low": None, "high": None, "unit": "share (0-1)",
     "kind": "assumption", "source_url": None, "note": None},
    {"assumption_id": "similarity-legal-quebec", "group_name": "similarity",
     "name": "Legal-framework similarity, Quebec and another province",
     "value": LEGAL_QUEBEC_OTHER, "low": None, "high": None, "unit": "share (0-1)",
     "kind": "assumption", "source_url": None,
     "note": ("Quebec's own procurement law: rules QC-01 and QC-12 find no route for a Quebec "
              "municipality to adopt another province's contract, so CFTA membership is not "
              "counted as a shared framework.")},
    {"assumption_id": "similarity-legal-us", "group_name": "similarity",
     "name": "Legal-framework similarity, two different US states",
     "value": LEGAL_US_OTHER_STATE, "low": None, "high": None, "unit": "share (0-1)",
     "kind": "assumption", "source_url": None,
     "note": "Same federal framework; piggyback authority is state law and differs."},
    {"assumption_id": "similarity-jtype-municipal", "group_name": "similarity",
     "name": "Kind-of-government similarity, two different municipal kinds (e.g. city vs town)",
     "value": JTYPE_BOTH_MUNICIPAL, "low": None, "high": None, "unit": "share (0-1)",
     "kind": "assumption", "source_url": None, "note": None},
]

_AGENCY_KEYS = ("geo_id", "name", "country", "region", "jtype", "population", "growth_pct",
                "households", "density", "permit_volume", "modules_needed", "current_system")
# Scores equal to 12 decimals are ties (broken by name): the two implementations may
# differ in the last bit of a float sum.
_RANK_DECIMALS = 12
_MODULE_BITS = {code: 1 << i for i, code in enumerate(MODULES)}
_POPCOUNT = np.array([bin(i).count("1") for i in range(1 << len(MODULES))], dtype=np.int64)
_SPLIT_MODULES = re.compile(r"[;,|\s]+")
_TOKEN = re.compile(r"[a-z0-9]+")


class WeightsError(ValueError):
    """Weights the engine cannot use (unknown dimension, negative, all zero, bad JSON)."""


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and value.strip() == "":
        return True
    try:
        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False


def _num(value: Any) -> float:
    """A number, or NaN when missing."""
    if _missing(value):
        return math.nan
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def _agency_dict(agency: Any) -> dict[str, Any]:
    if hasattr(agency, "model_dump"):
        data = agency.model_dump()
    elif isinstance(agency, Mapping):
        data = dict(agency)
    else:
        raise ValueError("agency must be a dict or an AgencyProfile")
    return {key: data.get(key) for key in _AGENCY_KEYS} | {
        k: v for k, v in data.items() if k not in _AGENCY_KEYS
    }


def normalize_country(value: Any) -> str | None:
    if _missing(value):
        return None
    return COUNTRY_ALIASES.get(str(value).strip().upper())


def normalize_region(value: Any) -> str | None:
    if _missing(value):
        return None
    return str(value).strip().upper() or None


def normalize_jtype(value: Any) -> str | None:
    """Canonical kind of government ('city', 'town', 'county', ...), or None when unknown."""
    if _missing(value):
        return None
    text = re.sub(r"\s+", " ", str(value).strip().lower())
    if not text:
        return None
    return JTYPE_ALIASES.get(text, text)


def module_set(value: Any) -> frozenset[str]:
    """Module codes from a list or a 'building;inspections' string (unknown codes ignored)."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        items = [p for p in _SPLIT_MODULES.split(value.strip()) if p]
    elif isinstance(value, float) and math.isnan(value):
        return frozenset()
    else:
        items = [str(p).strip() for p in value if not _missing(p)]
    return frozenset(m for m in items if m in MODULES)


def legacy_tokens(system: Any) -> tuple[str, ...]:
    """The words that name a legacy system ('Hansen 8' -> ('hansen',))."""
    if _missing(system):
        return ()
    raw = _TOKEN.findall(str(system).lower())
    kept = [t for t in raw if t not in LEGACY_STOPWORDS and not t.isdigit()]
    return tuple(dict.fromkeys(kept or raw))


def _legacy_match(tokens: Sequence[str], text: Any) -> float:
    if not tokens or _missing(text):
        return math.nan
    words = set(_TOKEN.findall(str(text).lower()))
    return 1.0 if all(t in words for t in tokens) else 0.0


def _log_sim(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b) or a < 0 or b < 0:
        return math.nan
    # Known zeros (e.g. a census place with no residents) compare like 1, not like blanks.
    d = abs(math.log10(max(a, 1.0)) - math.log10(max(b, 1.0)))
    return 1.0 - min(1.0, d / LOG_RANGE_ORDERS)


def _legal_sim(ca: str | None, ra: str | None, cb: str | None, rb: str | None) -> float:
    if ca is None or cb is None:
        return math.nan
    if ca != cb:
        return LEGAL_OTHER_COUNTRY
    if ra is None or rb is None:
        return math.nan
    if ra == rb:
        return LEGAL_SAME_REGION
    if ca == "CA" and (ra == "QC") != (rb == "QC"):
        return LEGAL_QUEBEC_OTHER
    if ca == "CA":
        return LEGAL_NWPTA if (ra in NWPTA_PROVINCES and rb in NWPTA_PROVINCES) else LEGAL_CFTA
    return LEGAL_US_OTHER_STATE


def _jtype_sim(a: str | None, b: str | None) -> float:
    if a is None or b is None:
        return math.nan
    if a == b:
        return JTYPE_SAME
    if a in MUNICIPAL_KINDS and b in MUNICIPAL_KINDS:
        return JTYPE_BOTH_MUNICIPAL
    return JTYPE_DIFFERENT


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------


def normalize_weights(weights: Mapping[str, Any] | str | None) -> dict[str, float]:
    """Validate weights and scale them to sum to 1 (all dimensions present, absent ones 0)."""
    if weights is None:
        weights = "balanced"
    if isinstance(weights, str):
        return parse_weights(weights)
    if not isinstance(weights, Mapping):
        raise WeightsError("weights must be a preset name or a mapping dimension -> number")
    unknown = sorted(str(k) for k in weights if k not in DIMENSIONS)
    if unknown:
        raise WeightsError(f"unknown dimension(s) {unknown}; use {list(DIMENSIONS)}")
    out: dict[str, float] = {}
    for dim in DIMENSIONS:
        raw = weights.get(dim, 0.0)
        if isinstance(raw, bool):
            raise WeightsError(f"weight for {dim!r} must be a number, not {raw!r}")
        try:
            value = float(raw if raw is not None else 0.0)
        except (TypeError, ValueError):
            raise WeightsError(f"weight for {dim!r} must be a number, not {raw!r}") from None
        if not math.isfinite(value):
            raise WeightsError(f"weight for {dim!r} must be a finite number")
        if value < 0:
            raise WeightsError(f"weight for {dim!r} is negative ({value}); use 0 to ignore it")
        out[dim] = value
    total = sum(out.values())
    if total <= 0:
        raise WeightsError("all weights are zero: give at least one dimension a positive weight")
    return {dim: value / total for dim, value in out.items()}


def parse_weights(text: str) -> dict[str, float]:
    """A preset name ('balanced', 'procurement fit', ...) or a JSON object of weights."""
    if not isinstance(text, str) or not text.strip():
        raise WeightsError(f"weights are empty: use a preset ({', '.join(PRESETS)}) or JSON")
    key = re.sub(r"[\s_\-]+", " ", text.strip().lower())
    if key in PRESETS:
        return normalize_weights(PRESETS[key])
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise WeightsError(
            f"{text.strip()!r} is neither a preset ({', '.join(PRESETS)}) nor a JSON object "
            'such as {"size": 2, "legal": 1}'
        ) from None
    if not isinstance(data, dict):
        raise WeightsError('weights JSON must be an object such as {"size": 2, "legal": 1}')
    return normalize_weights(data)


# --------------------------------------------------------------------------------------------
# Vectorized similarity matrix
# --------------------------------------------------------------------------------------------


def _col(candidates: pd.DataFrame, name: str) -> pd.Series | None:
    return candidates[name] if name in candidates.columns else None


def _num_array(candidates: pd.DataFrame, name: str) -> np.ndarray:
    col = _col(candidates, name)
    if col is None:
        return np.full(len(candidates), np.nan)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _log_sim_vec(a: float, b: np.ndarray) -> np.ndarray:
    if math.isnan(a) or a < 0:
        return np.full(b.shape, np.nan)
    with np.errstate(invalid="ignore"):
        bad = ~(b >= 0)  # NaN or negative
        lb = np.log10(np.maximum(np.where(bad, 1.0, b), 1.0))
    d = np.abs(math.log10(max(a, 1.0)) - lb)
    sim = 1.0 - np.minimum(1.0, d / LOG_RANGE_ORDERS)
    sim[bad] = np.nan
    return sim


def _mapped_codes(col: pd.Series | None, n: int, fn) -> tuple[np.ndarray, list]:
    """Factorize a text column and map each distinct value once through ``fn``."""
    if col is None:
        return np.full(n, -1, dtype=np.int64), []
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    return codes.astype(np.int64), [fn(u) for u in uniques]


def _lookup(codes: np.ndarray, values: Sequence[float]) -> np.ndarray:
    table = np.append(np.asarray(values, dtype=float), np.nan)  # code -1 -> NaN
    return table[codes]


def _module_masks(col: pd.Series | None, n: int) -> np.ndarray:
    """Bit mask of each row's module codes; 0 means none known."""
    masks = np.zeros(n, dtype=np.int64)
    if col is None or n == 0:
        return masks
    values = col.to_numpy(dtype=object)
    # Truthiness in C: empty lists, None and "" are False. Only the (few) rows left, peers
    # rather than census prospects, are exploded into codes.
    filled = np.flatnonzero(values.astype(bool))
    if filled.size == 0:
        return masks
    flat = pd.Series(values[filled], index=filled).explode()
    flat = flat[flat.notna()]
    if flat.empty:
        return masks
    text = flat.astype(str)
    if text.str.contains(r"[;,|\s]", regex=True).any():
        text = text.str.split(r"[;,|\s]+", regex=True).explode()
    bits = text.str.strip().map(_MODULE_BITS).dropna()
    if bits.empty:
        return masks
    grouped = bits.astype(np.int64).groupby(level=0).agg(np.bitwise_or.reduce)
    masks[grouped.index.to_numpy()] = grouped.to_numpy()
    return masks


def similarity_matrix(agency: Any, candidates: pd.DataFrame) -> np.ndarray:
    """n x len(DIMENSIONS) similarities in [0, 1], NaN where a dimension is missing."""
    ag = _agency_dict(agency)
    n = len(candidates)
    out = np.full((n, len(DIMENSIONS)), np.nan)
    idx = {d: i for i, d in enumerate(DIMENSIONS)}

    out[:, idx["size"]] = _log_sim_vec(_num(ag["population"]), _num_array(candidates, "population"))

    g_a = _num(ag["growth_pct"])
    if not math.isnan(g_a):
        g_b = _num_array(candidates, "growth_pct")
        out[:, idx["growth"]] = 1.0 - np.minimum(1.0, np.abs(g_a - g_b) / GROWTH_RANGE_PP)

    hh = _log_sim_vec(_num(ag["households"]), _num_array(candidates, "households"))
    dens = _log_sim_vec(_num(ag["density"]), _num_array(candidates, "density"))
    out[:, idx["households"]] = np.where(np.isnan(hh), dens, hh)

    jt_a = normalize_jtype(ag["jtype"])
    codes, uniq = _mapped_codes(_col(candidates, "jtype"), n, normalize_jtype)
    out[:, idx["jtype"]] = _lookup(codes, [_jtype_sim(jt_a, u) for u in uniq])

    c_a, r_a = normalize_country(ag["country"]), normalize_region(ag["region"])
    c_codes, c_uniq = _mapped_codes(_col(candidates, "country"), n, normalize_country)
    r_codes, r_uniq = _mapped_codes(_col(candidates, "region"), n, normalize_region)
    c_vals = np.array([{None: 0, "CA": 1, "US": 2}.get(u, 0) for u in c_uniq] + [0], dtype=np.int64)
    r_vals = np.array([u or "" for u in r_uniq] + [""], dtype=object)
    # Distinct (country, region) pairs are few (~70): score each pair once, then broadcast.
    pair = c_vals[c_codes] * (len(r_uniq) + 1) + np.where(r_codes < 0, len(r_uniq), r_codes)
    pairs, inverse = np.unique(pair, return_inverse=True)
    rev_country = {0: None, 1: "CA", 2: "US"}
    pair_sims = []
    for p in pairs:
        country = rev_country[int(p) // (len(r_uniq) + 1)]
        r_code = int(p) % (len(r_uniq) + 1)
        region = r_vals[r_code] or None
        pair_sims.append(_legal_sim(c_a, r_a, country, region))
    out[:, idx["legal"]] = np.asarray(pair_sims, dtype=float)[inverse.ravel()] if n else np.nan

    needed = 0
    for m in module_set(ag["modules_needed"]):
        needed |= _MODULE_BITS[m]
    if needed:
        masks = _module_masks(_col(candidates, "module_codes"), n)
        share = _POPCOUNT[masks & needed] / _POPCOUNT[needed]
        out[:, idx["modules"]] = np.where(masks == 0, np.nan, share)

    tokens = legacy_tokens(ag["current_system"])
    replaced = _col(candidates, "replaced_system")
    if tokens and replaced is not None:
        sims = np.full(n, np.nan)
        known = np.array(replaced.notna().to_numpy(dtype=bool, na_value=False))
        text = replaced[known].astype(str).str.strip()
        known[np.flatnonzero(known)[(text == "").to_numpy(dtype=bool, na_value=True)]] = False
        if known.any():
            words = replaced[known].astype(str).str.lower()
            hit = np.ones(int(known.sum()), dtype=bool)
            for tok in tokens:
                pattern = r"(?<![a-z0-9])" + re.escape(tok) + r"(?![a-z0-9])"
                hit &= words.str.contains(pattern, regex=True).to_numpy(dtype=bool)
            sims[known] = hit.astype(float)
        out[:, idx["legacy"]] = sims

    out[:, idx["permits"]] = _log_sim_vec(_num(ag["permit_volume"]),
                                          _num_array(candidates, "permit_volume"))
    return out


def agency_dimensions(agency: Any) -> frozenset[str]:
    """The dimensions the agency's own profile can be compared on (its value is known)."""
    ag = _agency_dict(agency)
    known = {
        "size": not math.isnan(_num(ag["population"])),
        "growth": not math.isnan(_num(ag["growth_pct"])),
        "households": not (math.isnan(_num(ag["households"])) and math.isnan(_num(ag["density"]))),
        "jtype": normalize_jtype(ag["jtype"]) is not None,
        "legal": normalize_country(ag["country"]) is not None,
        "modules": bool(module_set(ag["modules_needed"])),
        "legacy": bool(legacy_tokens(ag["current_system"])),
        "permits": not math.isnan(_num(ag["permit_volume"])),
    }
    return frozenset(d for d in DIMENSIONS if known[d])


def scoring_weights(weights: Mapping[str, float],
                    scorable: Sequence[str] | frozenset[str] | None = None) -> dict[str, float]:
    """Weights scaled to sum to 1 over the weighted dimensions in ``scorable`` (all when None).

    All zero when no weighted dimension is scorable (then nothing can be scored).
    """
    keep = set(DIMENSIONS if scorable is None else scorable)
    raw = {d: (float(weights.get(d, 0.0)) if d in keep else 0.0) for d in DIMENSIONS}
    total = sum(raw.values())
    return {d: (v / total if total > 0 else 0.0) for d, v in raw.items()}


def combine(sims: np.ndarray, weights: Mapping[str, float],
            scorable: Sequence[str] | frozenset[str] | None = None,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(score, dims_used, contributions, score_high) from a similarity matrix and weights.

    ``score`` is the lower bound (an unknown dimension contributes 0), ``score_high`` the upper
    bound (unknowns at 1); weights are rescaled over ``scorable`` (see ``scoring_weights``).
    A row where no weighted dimension is known has score and score_high NaN, dims_used 0.
    """
    sw = scoring_weights(weights, scorable)
    w = np.array([sw[d] for d in DIMENSIONS], dtype=float)
    present = ~np.isnan(sims)
    present &= w > 0
    contrib = np.where(present, sims, 0.0)
    contrib *= w
    score = contrib.sum(axis=1)
    high = score + (w.sum() - present @ w)
    used = present.sum(axis=1)
    score[used == 0] = np.nan
    high[used == 0] = np.nan
    return score, used, contrib, high


def _name_column(candidates: pd.DataFrame) -> pd.Series:
    for name in ("jurisdiction", "name", "display_name"):
        if name in candidates.columns:
            return candidates[name].astype(str)
    return pd.Series(candidates.index.astype(str), index=candidates.index)


def _ranking(score: np.ndarray, names: pd.Series, used: np.ndarray | None = None) -> np.ndarray:
    """Row positions by score (desc, blanks last); ties go to the peer known on more
    dimensions (knowing more is never ranked below knowing less), then by name, then position."""
    key = np.where(np.isnan(score), np.inf, -np.round(score, _RANK_DECIMALS))
    order = np.argsort(key)  # quicksort: ties are settled below, so stability is not needed
    sorted_key = key[order]
    same = sorted_key[1:] == sorted_key[:-1]
    if not same.any():
        return order
    # Tied rows sit in contiguous runs of the sorted order; re-sort only them by
    # (score, -known, name) (sorting every name is the slow part) and put them back in place.
    tied = np.zeros(len(order), dtype=bool)
    tied[1:] |= same
    tied[:-1] |= same
    tied_rows = np.sort(order[tied])  # by position, so equal names keep the input order
    name_rank = names.iloc[tied_rows].rank(method="first").to_numpy()
    known = np.zeros(len(tied_rows)) if used is None else -np.asarray(used)[tied_rows]
    order[tied] = tied_rows[np.lexsort((name_rank, known, key[tied_rows]))]
    return order


_ADDED = ["score", "score_high", "dims_used"] + [f"contrib_{d}" for d in DIMENSIONS] + \
    [f"sim_{d}" for d in DIMENSIONS]


def _assemble(candidates: pd.DataFrame, sims: np.ndarray, score: np.ndarray,
              used: np.ndarray, contrib: np.ndarray, order: np.ndarray,
              high: np.ndarray) -> pd.DataFrame:
    base = candidates.drop(columns=[c for c in _ADDED if c in candidates.columns]).take(order)
    # Fill a (columns x rows) block so the frame can take it without another copy.
    unordered = np.empty((2 + 2 * len(DIMENSIONS), len(order)))
    unordered[0] = score
    unordered[1] = high
    unordered[2:2 + len(DIMENSIONS)] = contrib.T
    unordered[2 + len(DIMENSIONS):] = sims.T
    block = np.take(unordered, order, axis=1)
    extra = pd.DataFrame(block.T, index=base.index, copy=False,
                         columns=[c for c in _ADDED if c != "dims_used"])
    extra.insert(2, "dims_used", used[order])
    return pd.concat([base, extra], axis=1)


def scorable_dimensions(agency: Any, dimensions: Sequence[str] | None = None) -> frozenset[str]:
    """The dimensions the weights are spread over: known for the agency, and (when given)
    among ``dimensions``."""
    known = agency_dimensions(agency)
    return known if dimensions is None else known & frozenset(dimensions)


def dims_scored(agency: Any, weights: Mapping[str, Any] | str,
                dimensions: Sequence[str] | None = None) -> tuple[str, ...]:
    """The weighted dimensions scores are spread over for this agency (the 'of N' in
    'known on 6 of N'); the weighted ones the agency does not know are left out."""
    w = normalize_weights(weights)
    keep = scorable_dimensions(agency, dimensions)
    return tuple(d for d in DIMENSIONS if w[d] > 0 and d in keep)


def score_candidates(agency: Any, candidates: pd.DataFrame,
                     weights: Mapping[str, Any] | str = "balanced",
                     dimensions: Sequence[str] | None = None) -> pd.DataFrame:
    """Score every candidate against the agency (vectorized).

    Returns the candidates with ``score`` (the lower bound, see the module docstring),
    ``score_high`` (the upper bound the unknowns allow), ``dims_used``, ``contrib_<dim>`` and
    ``sim_<dim>`` added, sorted by score (highest first; ties to the candidate known on more
    dimensions, then by name; unscorable rows last).

    ``dimensions``: the dimensions candidates of this kind can be known on (e.g. census
    prospects have no modules); the others are left out of the weights for every row alike,
    as are the dimensions the agency itself does not know.
    """
    if not isinstance(candidates, pd.DataFrame):
        raise ValueError("candidates must be a pandas DataFrame")
    w = normalize_weights(weights)
    sims = similarity_matrix(agency, candidates)
    scorable = scorable_dimensions(agency, dimensions)
    score, used, contrib, high = combine(sims, w, scorable)
    return _assemble(candidates, sims, score, used, contrib,
                     _ranking(score, _name_column(candidates), used), high)


def _row_sims(ag: dict[str, Any], row: Mapping[str, Any]) -> list[float]:
    hh = _log_sim(_num(ag["households"]), _num(row.get("households")))
    if math.isnan(hh):
        hh = _log_sim(_num(ag["density"]), _num(row.get("density")))
    g_a, g_b = _num(ag["growth_pct"]), _num(row.get("growth_pct"))
    growth = math.nan if (math.isnan(g_a) or math.isnan(g_b)) else \
        1.0 - min(1.0, abs(g_a - g_b) / GROWTH_RANGE_PP)
    needed, peer = module_set(ag["modules_needed"]), module_set(row.get("module_codes"))
    modules = len(needed & peer) / len(needed) if needed and peer else math.nan
    return [
        _log_sim(_num(ag["population"]), _num(row.get("population"))),
        growth,
        hh,
        _jtype_sim(normalize_jtype(ag["jtype"]), normalize_jtype(row.get("jtype"))),
        _legal_sim(normalize_country(ag["country"]), normalize_region(ag["region"]),
                   normalize_country(row.get("country")), normalize_region(row.get("region"))),
        modules,
        _legacy_match(legacy_tokens(ag["current_system"]), row.get("replaced_system")),
        _log_sim(_num(ag["permit_volume"]), _num(row.get("permit_volume"))),
    ]


def score_candidates_rowwise(agency: Any, candidates: pd.DataFrame,
                             weights: Mapping[str, Any] | str = "balanced",
                             dimensions: Sequence[str] | None = None) -> pd.DataFrame:
    """The same formula as ``score_candidates``, one row at a time in plain Python."""
    ag = _agency_dict(agency)
    w = scoring_weights(normalize_weights(weights), scorable_dimensions(ag, dimensions))
    sims_rows, scores, highs, used_rows, contrib_rows = [], [], [], [], []
    for _, row in candidates.iterrows():
        sims = _row_sims(ag, row)
        present = [d for d, s in zip(DIMENSIONS, sims) if not math.isnan(s) and w[d] > 0]
        contrib = [w[d] * s if d in present else 0.0 for d, s in zip(DIMENSIONS, sims)]
        unknown = sum(w[d] for d in DIMENSIONS if d not in present)
        sims_rows.append(sims)
        scores.append(sum(contrib) if present else math.nan)
        highs.append(sum(contrib) + unknown if present else math.nan)
        used_rows.append(len(present))
        contrib_rows.append(contrib)
    n = len(candidates)
    sims_arr = np.array(sims_rows, dtype=float).reshape(n, len(DIMENSIONS))
    score = np.array(scores, dtype=float)
    contrib = np.array(contrib_rows, dtype=float).reshape(n, len(DIMENSIONS))
    used = np.array(used_rows, dtype=np.int64)
    names = _name_column(candidates).tolist()
    order = sorted(range(n), key=lambda i: (
        math.isnan(score[i]),
        -round(float(score[i]), _RANK_DECIMALS) if not math.isnan(score[i]) else 0.0,
        -used_rows[i], names[i], i))
    return _assemble(candidates, sims_arr, score, used, contrib, np.array(order, dtype=np.int64),
                     np.array(highs, dtype=float))


# --------------------------------------------------------------------------------------------
# Plain-words reasons
# --------------------------------------------------------------------------------------------


def _ratio_phrase(peer: float, ours: float, what: str) -> str:
    if ours <= 0 or peer <= 0:
        return f"{what}: {peer:,.0f} vs your {ours:,.0f}"
    ratio = peer / ours
    if 0.95 <= ratio <= 1.05:
        return f"about your {what} ({peer:,.0f} vs {ours:,.0f})"
    return f"{ratio:.2g}× your {what} ({peer:,.0f} vs {ours:,.0f})"


def _plural(kind: str) -> str:
    return _JTYPE_PLURALS.get(kind, kind + "s")


def _region_word(country: str | None) -> str:
    return "province" if country == "CA" else "state"


def modules_phrase(needed: Any, listed: Any, live: Any = None) -> str:
    """'runs N of your M modules' counting only modules confirmed live.

    ``live`` is the deployment's modules confirmed live (codes), when the data records it;
    the listed modules that are not confirmed live are named as planned or unconfirmed. When
    live status is not recorded (the seeded deployments do not record it), nothing is
    claimed as running: the sources only list the modules.
    """
    want, have = module_set(needed), module_set(listed)
    if live is None or (not isinstance(live, (list, tuple, set, frozenset, np.ndarray))
                        and _missing(live)):
        return (f"sources list {len(want & have)} of your {len(want)} modules (modules listed "
                "by the sources; live status not confirmed)")
    running = want & module_set(live)
    rest = (want & have) - running
    text = f"runs {len(running)} of your {len(want)} modules live"
    if running:
        text += f" ({', '.join(sorted(running))})"
    if rest:
        text += f"; planned or unconfirmed: {', '.join(sorted(rest))}"
    return text


def _reason(dim: str, sim: float, ag: dict[str, Any], row: Mapping[str, Any]) -> str:
    if dim == "size":
        return _ratio_phrase(_num(row.get("population")), _num(ag["population"]), "population")
    if dim == "growth":
        a, b = _num(ag["growth_pct"]), _num(row.get("growth_pct"))
        word = "similar growth" if sim >= 0.75 else "different growth"
        return f"{word} ({b:+.1f}% vs your {a:+.1f}%)"
    if dim == "households":
        hb, ha = _num(row.get("households")), _num(ag["households"])
        if not (math.isnan(ha) or math.isnan(hb)):
            return _ratio_phrase(hb, ha, "households")
        return _ratio_phrase(_num(row.get("density")), _num(ag["density"]), "population density")
    if dim == "jtype":
        a, b = normalize_jtype(ag["jtype"]), normalize_jtype(row.get("jtype"))
        if sim >= 1.0:
            return f"both {_plural(a)}"
        if sim > 0:
            return f"both local municipalities ({b} vs your {a})"
        return f"different kind of government ({b} vs your {a})"
    if dim == "legal":
        ca, ra = normalize_country(ag["country"]), normalize_region(ag["region"])
        cb, rb = normalize_country(row.get("country")), normalize_region(row.get("region"))
        if sim >= LEGAL_SAME_REGION:
            return f"same {_region_word(ca)} ({ra})"
        if ca != cb:
            return f"different country ({cb} vs your {ca})"
        if ca == "CA" and (ra == "QC") != (rb == "QC"):
            return f"different legal framework: Quebec has its own procurement law ({rb} vs your {ra})"
        if ca == "CA" and sim >= LEGAL_NWPTA:
            return f"both New West Partnership provinces ({rb} and {ra}: NWPTA and CFTA)"
        if ca == "CA":
            return f"both in Canada under the CFTA ({rb} vs your {ra})"
        return f"both in the US, different state law ({rb} vs your {ra})"
    if dim == "modules":
        return modules_phrase(ag["modules_needed"], row.get("module_codes"), row.get("modules_live"))
    if dim == "legacy":
        system = str(ag["current_system"]).strip()
        if sim >= 1.0:
            return f"replaced the same system ({system})"
        return f"replaced a different system ({str(row.get('replaced_system')).strip()})"
    if dim == "permits":
        return _ratio_phrase(_num(row.get("permit_volume")), _num(ag["permit_volume"]),
                             "permit volume")
    raise ValueError(f"unknown dimension {dim!r}")


def explain(agency: Any, row: Mapping[str, Any] | pd.Series,
            weights: Mapping[str, Any] | str = "balanced",
            include_differences: bool = False, min_similarity: float = 0.0) -> list[str]:
    """Plain-words reasons a candidate is comparable, strongest contribution first.

    ``min_similarity``: name only dimensions at least this alike (an introduction says how the
    two are alike, never '7.1× our population').

    ``row`` is a row of ``score_candidates`` output (its ``contrib_``/``sim_`` columns are
    used) or a raw candidate row (scored here with ``weights``). Dimensions that are missing
    are never given as reasons; with ``include_differences`` the known-but-different ones
    (contribution 0) are listed after the reasons.
    """
    ag = _agency_dict(agency)
    row = dict(row)
    if not all(f"sim_{d}" in row and f"contrib_{d}" in row for d in DIMENSIONS):
        scored = score_candidates(ag, pd.DataFrame([row]), weights).iloc[0]
        row = {**row, **{k: scored[k] for k in scored.index if k.startswith(("sim_", "contrib_"))}}
    items = []
    for order, dim in enumerate(DIMENSIONS):
        sim, contrib = _num(row.get(f"sim_{dim}")), _num(row.get(f"contrib_{dim}"))
        if math.isnan(sim):
            continue
        contrib = 0.0 if math.isnan(contrib) else contrib
        if (contrib > 0 and sim >= min_similarity) or (include_differences and sim <= 0):
            items.append((-contrib, order, _reason(dim, sim, ag, row)))
    items.sort()
    return [text for _, _, text in items]


def _join_words(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def explain_sentence(agency: Any, row: Mapping[str, Any] | pd.Series,
                     weights: Mapping[str, Any] | str = "balanced", top: int = 3) -> str:
    """One sentence: '<peer> (score 0.82): same province (ON), ... and both cities.'"""
    reasons = explain(agency, row, weights)[:top]
    name = str(dict(row).get("jurisdiction") or dict(row).get("name") or "This peer")
    score = _num(dict(row).get("score"))
    head = name if math.isnan(score) else f"{name} (score {score:.2f})"
    if not reasons:
        return f"{head}: nothing known in common with your agency."
    return f"{head}: {_join_words(reasons)}."


# --------------------------------------------------------------------------------------------
# Robustness of the top of the ranking
# --------------------------------------------------------------------------------------------


def robustness(agency: Any, candidates: pd.DataFrame,
               weights: Mapping[str, Any] | str = "balanced",
               top: int = 3, step: float = 0.2) -> dict[str, Any]:
    """Move each weight up and down by ``step`` (one at a time, renormalized) and report
    whether the top ``top`` (set or order) changes.

    Returns ``{"stable", "baseline_top", "changes": [{"dimension", "direction", "top",
    "set_changed"}], "checked"}``. Dimensions with weight 0 are not moved (a share of 0 is 0).
    """
    if top < 1:
        raise ValueError("top must be at least 1")
    if not 0 < step < 1:
        raise ValueError("step must be between 0 and 1 (0.2 means ±20%)")
    w = normalize_weights(weights)
    sims = similarity_matrix(agency, candidates)
    scorable = agency_dimensions(agency)
    names = _name_column(candidates)
    name_list = names.tolist()

    def top_names(weights_now: Mapping[str, float]) -> list[str]:
        score, used, _, _ = combine(sims, weights_now, scorable)
        order = _ranking(score, names, used)
        order = [i for i in order if not np.isnan(score[i])][:top]
        return [name_list[i] for i in order]

    baseline = top_names(w)
    changes, checked = [], 0
    for dim in DIMENSIONS:
        if w[dim] <= 0:
            continue
        for sign, label in ((1.0, f"+{step:.0%}"), (-1.0, f"-{step:.0%}")):
            moved = dict(w)
            moved[dim] = w[dim] * (1.0 + sign * step)
            total = sum(moved.values())
            moved = {k: v / total for k, v in moved.items()}
            checked += 1
            now = top_names(moved)
            if now != baseline:
                changes.append({"dimension": dim, "direction": label, "top": now,
                                "set_changed": set(now) != set(baseline)})
    return {"stable": not changes, "baseline_top": baseline, "changes": changes,
            "checked": checked}


# --------------------------------------------------------------------------------------------
# Introduction message
# --------------------------------------------------------------------------------------------

_ARTICLE_KINDS = {"city": "a city", "town": "a town", "township": "a township",
                  "village": "a village", "municipality": "a municipality",
                  "county": "a county", "borough": "a borough", "regional": "a regional government"}


_AVAILABILITY_ASK = {
    "available": ("From the public record, your contract appears to be in force{until} and open to "
                  "other public bodies. Could you confirm this, and who administers it?"),
    "expired": ("From the public record, the contract we found appears to have ended{ended}. Is "
                "there a current agreement, and may other public bodies buy under it?"),
    "not_adoptable": ("From the public record, we understand your contract cannot be adopted by "
                      "another public body ({why}). We would value your experience all the same."),
    "unknown": ("We could not tell from the public record whether your contract is still in force "
                "or open to other public bodies. Could you tell us?"),
}


def _availability_sentence(availability: Mapping[str, Any] | None) -> str | None:
    if not availability or availability.get("state") not in _AVAILABILITY_ASK:
        return None
    state, expiry = availability["state"], availability.get("expiry")
    first = (availability.get("reasons") or [{}])[0].get("text", "")
    why = ("a sole-source award" if "sole-source" in first
           else "no contract is on record" if first.startswith("No contract")
           else "it is not open to other public bodies")
    return _AVAILABILITY_ASK[state].format(
        until=f" until {expiry}" if expiry and state == "available" else "",
        ended=f" ({expiry})" if expiry and state == "expired" else "", why=why)


def draft_introduction(agency: Any, peer_row: Mapping[str, Any] | pd.Series,
                       reasons: Sequence[str], contact: Mapping[str, Any] | None = None,
                       availability: Mapping[str, Any] | None = None) -> str:
    """A short, polite note from the agency to the peer's public contact point.

    Uses only facts passed in (no names of people are invented: the signature is a
    placeholder the sender fills in). The top three reasons say why the two are comparable;
    ``availability`` (``piggyback.engines.availability.assess``) adds what the record says about the
    peer's contract and asks the peer to confirm it.
    """
    ag = _agency_dict(agency)
    peer = dict(peer_row)
    name = str(ag.get("name") or "").strip()
    if not name:
        raise ValueError("the agency needs a name to write an introduction")
    peer_name = str(peer.get("jurisdiction") or peer.get("name") or "").strip() or "your agency"
    country, region = normalize_country(ag.get("country")), normalize_region(ag.get("region"))
    table = CA_PROVINCES if country == "CA" else US_STATES
    where = table.get(region or "", region or "")
    kind = _ARTICLE_KINDS.get(normalize_jtype(ag.get("jtype")) or "", "a public agency")
    pop = _num(ag.get("population"))

    intro = f"I am writing on behalf of {name}, {kind}"
    if where:
        intro += f" in {where}"
    if not math.isnan(pop):
        intro += f" with a population of {pop:,.0f}"
    intro += "."

    product = peer.get("product") if not _missing(peer.get("product")) else None
    system = f" ({product})" if product else ""
    lines = []
    if contact and not _missing(contact.get("department")):
        lines.append(f"To: {str(contact['department']).strip()}")
    else:
        lines.append(f"To: {peer_name}")
    lines += [
        f"Subject: {name}: a question about your permitting and licensing system",
        "",
        "Hello,",
        "",
        intro + " We are reviewing how to modernize our permitting and licensing system, "
        f"and {peer_name} stands out as one of the agencies most comparable to ours:",
    ]
    # Reasons are worded for the agency's own reader ("your population"); in a note *to*
    # the peer, "your" becomes "our".
    top_reasons = [re.sub(r"\byour\b", "our", str(r)) for r in reasons if r][:3]
    lines += [f"- {r}" for r in top_reasons] or ["- (no reasons given)"]
    ask = _availability_sentence(availability)
    if ask:
        lines += ["", ask]
    lines += [
        "",
        f"Would someone on your team be willing to share how your system{system} was "
        "procured and implemented, and what you would do differently? A short call at a "
        "time that suits you would help us greatly.",
        "",
        "Thank you for considering this.",
        "",
        "[Your name], [your title]",
        name,
    ]
    # Where to send it (or that no contact point is on file) is said beside the letter, never in it.
    return "\n".join(lines)
