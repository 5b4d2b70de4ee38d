"""Glue between the store and the similarity engine: peers, prospects, contacts, comparisons.

The engine (``piggyback.engines.similarity``) scores plain frames; this module builds those frames from
the store (peers with their census profile; every census jurisdiction as a prospect), filters
them, and turns results into the rows the Peers and Prospects pages, and the ``similar`` and
``prospects`` commands, show. It also holds the sister-municipality contact points: seeded
public department pages plus the ones a data steward adds (validated, audited).

No Streamlit here. Frames from the store are shared between sessions: they are copied before
anything is added to them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from piggyback.core import fmt
from piggyback.core.errors import PiggybackError, UnknownPeer
from piggyback.core.models import CA_PROVINCES, MODULES, US_STATES, VEHICLES, check_partial_date
from piggyback.engines.similarity import (
    DIMENSION_LABELS, DIMENSIONS, NWPTA_PROVINCES, WeightsError, explain, normalize_weights,
    score_candidates,
)
from piggyback.core.identity import User, actor, require
from piggyback.data.store import Store


class BadWeights(PiggybackError):
    """Weights that are neither a preset nor a usable JSON object."""


class BadFilter(PiggybackError):
    """A filter the data cannot satisfy as written (unknown province/state, min > max)."""


class ContactRejected(PiggybackError):
    """A contact point that is not a public, sourced department contact; nothing was saved."""


def weights_from(value: Mapping[str, Any] | str | None) -> dict[str, float]:
    """Normalized weights from a preset name, JSON text or a mapping; a user-facing error if not."""
    try:
        return normalize_weights(value)
    except WeightsError as exc:
        raise BadWeights(f"Bad weights: {exc}") from None


# --------------------------------------------------------------------------------------------
# Peers
# --------------------------------------------------------------------------------------------

# The columns the engine reads, plus what the pages show.
_PEER_COLUMNS = [
    "deployment_id", "jurisdiction", "geo_id", "country", "region", "jtype", "population",
    "population_year", "census_population_label", "growth_pct", "households", "density",
    "permit_volume", "module_codes", "replaced_system", "vendor", "product", "modules",
    "procurement_method", "vehicle", "rfp_issued", "contract_award", "go_live",
    "contract_value", "currency", "contract_term_years", "source_urls", "confidence", "lat",
    "lon",
]


def _derived(store: Store, name: str, source: pd.DataFrame, build) -> pd.DataFrame:
    """``build(source)`` cached by the store for its current version (see ``Store.derived``)."""
    return store.derived(f"peers:{name}", lambda: build(source))


def peer_candidates(store: Store) -> pd.DataFrame:
    """Every peer deployment in the engine's candidate format (population from the census
    when the deployment is linked to it, else as the sources published it).

    Shared between callers: copy it before changing it."""
    return _derived(store, "peers", store.peers(), _peer_frame)


def _peer_frame(peers: pd.DataFrame) -> pd.DataFrame:
    out = peers.reindex(columns=[c for c in _PEER_COLUMNS if c != "population"]).copy()
    out.insert(_PEER_COLUMNS.index("population"), "population", peers["peer_population"])
    # Households are a nullable Int64 in the store; the engine wants plain floats.
    for col in ("households", "growth_pct", "density", "permit_volume", "population"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    # DuckDB hands list columns over as numpy arrays; the engine (and JSON) want lists.
    for col in ("module_codes", "source_urls"):
        out[col] = out[col].map(_plain_list)
    return out.reset_index(drop=True)


def _plain_list(value: Any) -> list[str]:
    if value is None or isinstance(value, str) or not hasattr(value, "__iter__"):
        return [] if value is None or fmt.missing(value) else [str(value)]
    return [str(v) for v in value if v is not None]


def _as_list(values: Iterable[str] | str | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [v.strip() for v in values.split(",") if v.strip()]
    return [str(v) for v in values if v is not None and str(v) != ""]


def filter_peers(candidates: pd.DataFrame, *, vendors: Iterable[str] | None = None,
                 products: Iterable[str] | None = None, countries: Iterable[str] | None = None,
                 vehicles: Iterable[str] | None = None, exclude_geo_id: str | None = None) -> pd.DataFrame:
    """Keep the peers that match every filter given (an empty filter keeps everyone).

    ``exclude_geo_id``: the agency's own jurisdiction, whose own deployment is not its peer.
    """
    keep = pd.Series(True, index=candidates.index)
    if exclude_geo_id:
        keep &= candidates["geo_id"] != exclude_geo_id
    for column, wanted in (("vendor", vendors), ("product", products), ("country", countries),
                           ("vehicle", vehicles)):
        values = _as_list(wanted)
        if values:
            keep &= candidates[column].isin(values)
    return candidates[keep]


def own_geo_id(agency: Any) -> str | None:
    geo = agency.get("geo_id") if isinstance(agency, Mapping) else getattr(agency, "geo_id", None)
    return None if fmt.missing(geo) else str(geo)


def rank_peers(store: Store, agency: Any, weights: Mapping[str, Any] | str = "balanced",
               **filters) -> pd.DataFrame:
    """The peers that pass ``filters`` (see ``filter_peers``), scored and ranked best first.
    The agency's own deployment, when it has one on file, is not among its peers."""
    w = weights_from(weights)
    filters.setdefault("exclude_geo_id", own_geo_id(agency))
    return score_candidates(agency, filter_peers(peer_candidates(store), **filters), w)


# The dimensions a census jurisdiction can have (modules, legacy system and permit volume are
# known only for peer deployments).
CENSUS_DIMENSIONS: tuple[str, ...] = ("size", "growth", "households", "jtype", "legal")


def dims_weighted(weights: Mapping[str, float], dims: Sequence[str] = DIMENSIONS) -> int:
    """How many of ``dims`` carry weight (the 'of N' in '6 of 8 dimensions known')."""
    return sum(1 for d in dims if weights.get(d, 0) > 0)


# --------------------------------------------------------------------------------------------
# Prospects
# --------------------------------------------------------------------------------------------

_PROSPECT_COLUMNS = ["geo_id", "display_name", "name", "country", "region", "jtype", "population",
                     "population_label", "growth_pct", "households", "density", "lat", "lon"]


def _region_codes(regions: Iterable[str] | str | None) -> list[str]:
    codes = [r.strip().upper() for r in _as_list(regions)]
    unknown = [c for c in codes if c not in CA_PROVINCES and c not in US_STATES]
    if unknown:
        raise BadFilter(f"Unknown province or state code(s): {', '.join(unknown)}. Use two letters "
                        "such as ON, QC, BC, TX or CA (California).")
    return codes


def reference_row(store: Store, deployment_id: str) -> pd.Series:
    """The reference deployment's row of ``peer_candidates``."""
    peers = peer_candidates(store)
    hit = peers[peers["deployment_id"] == deployment_id]
    if hit.empty:
        raise UnknownPeer(f"No peer deployment has the id {deployment_id!r}. Known peers: "
                          + ", ".join(peers["deployment_id"].tolist()))
    return hit.iloc[0]


def reference_agency(store: Store, deployment_id: str) -> dict[str, Any]:
    """The reference deployment's jurisdiction as an 'agency' for the engine.

    Its census row when the deployment is linked to one, else the deployment's own published
    region and population. Modules, legacy system and permit volume are left out: census
    prospects do not have them, so they would drop out anyway.
    """
    ref = reference_row(store, deployment_id)
    agency: dict[str, Any] = {
        "geo_id": ref["geo_id"] if not fmt.missing(ref["geo_id"]) else None,
        "name": ref["jurisdiction"], "country": ref["country"], "region": ref["region"],
        "jtype": ref["jtype"], "population": ref["population"], "growth_pct": ref["growth_pct"],
        "households": ref["households"], "density": ref["density"], "permit_volume": None,
        "modules_needed": [], "current_system": None, "lat": ref["lat"], "lon": ref["lon"],
        "deployment_id": deployment_id,
    }
    return {k: (None if not isinstance(v, (list, str)) and fmt.missing(v) else v)
            for k, v in agency.items()}


def prospect_candidates(store: Store, reference_deployment_id: str, region=None, pop_min=None,
                        pop_max=None, jtypes=None) -> pd.DataFrame:
    """Every census jurisdiction except the reference's own, in the engine's candidate format.

    ``region``: a code or a list of codes (ON, TX…); ``pop_min``/``pop_max``: inclusive bounds
    (a jurisdiction whose population is unknown is left out once a bound is set, since it
    cannot be shown to be inside); ``jtypes``: census kinds of government as published
    ("City", "Town", "County"…).
    """
    ref = reference_row(store, reference_deployment_id)
    regions = _region_codes(region)
    lo = None if pop_min is None or fmt.missing(pop_min) else float(pop_min)
    hi = None if pop_max is None or fmt.missing(pop_max) else float(pop_max)
    if lo is not None and lo < 0 or hi is not None and hi < 0:
        raise BadFilter("Population bounds cannot be negative.")
    if lo is not None and hi is not None and lo > hi:
        raise BadFilter(f"The minimum population ({lo:,.0f}) is above the maximum ({hi:,.0f}).")
    jur = _derived(store, "prospects", store.jurisdictions(), _prospect_frame)
    keep = np.ones(len(jur), dtype=bool)
    if not fmt.missing(ref["geo_id"]):
        keep &= (jur["geo_id"] != ref["geo_id"]).to_numpy()
    if regions:
        keep &= jur["region"].isin(regions).to_numpy()
    pop = jur["population"].to_numpy()
    if lo is not None:
        keep &= pop >= lo
    if hi is not None:
        keep &= pop <= hi
    kinds = _as_list(jtypes)
    if kinds:
        keep &= jur["jtype"].isin(kinds).to_numpy()
    return jur[keep].reset_index(drop=True)


def _prospect_frame(jur: pd.DataFrame) -> pd.DataFrame:
    out = jur[_PROSPECT_COLUMNS].rename(columns={"display_name": "jurisdiction"})
    for col in ("population", "growth_pct", "households", "density"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    return out


# A jurisdiction known on fewer dimensions than this is set aside: with only its province
# known, a census subdivision without a population would otherwise "match" perfectly.
MIN_KNOWN_DEFAULT = 3


def min_known_for(weights: Mapping[str, float], wanted: int = MIN_KNOWN_DEFAULT) -> int:
    """The usable minimum: never more than the number of dimensions that carry weight."""
    return max(1, min(int(wanted), dims_weighted(weights, CENSUS_DIMENSIONS)))


def rank_prospects(store: Store, reference_deployment_id: str,
                   weights: Mapping[str, Any] | str = "balanced", *,
                   min_known: int = MIN_KNOWN_DEFAULT, **filters) -> tuple[dict, pd.DataFrame, int]:
    """(reference agency, the filtered jurisdictions scored best first with a ``legal`` label,
    how many were set aside for being known on fewer than ``min_known`` weighted dimensions).
    """
    w = weights_from(weights)
    agency = reference_agency(store, reference_deployment_id)
    scored = score_candidates(agency, prospect_candidates(store, reference_deployment_id, **filters), w,
                              dimensions=CENSUS_DIMENSIONS)
    enough = scored["dims_used"].to_numpy() >= min_known_for(w, min_known)
    set_aside = int((~enough).sum())
    scored = scored[enough]
    scored = scored.assign(legal=legal_match_labels(agency["country"], agency["region"], scored))
    return agency, scored, set_aside


def _short_name(name: str) -> str:
    """'City of Ottawa' -> 'Ottawa' (for 'Ottawa's population' in a reason)."""
    text = re.sub(r"^(city|town|township|municipality|county|village) of ", "", str(name).strip(),
                  flags=re.I)
    return re.sub(r"\s*\(.*\)$", "", text) or str(name)


def reference_reasons(reference: Mapping[str, Any], row: Mapping[str, Any] | pd.Series,
                      weights: Mapping[str, Any] | str, top: int = 3) -> list[str]:
    """The engine's reasons, worded about the reference ('Ottawa's population'), not 'your'."""
    owner = _short_name(str(reference.get("name") or "the reference")) + "'s"
    return [re.sub(r"\byour\b", owner, text) for text in explain(reference, row, weights)[:top]]


# --------------------------------------------------------------------------------------------
# Legal framework, in words
# --------------------------------------------------------------------------------------------


def legal_match_label(ref_country: str | None, ref_region: str | None, country: str | None,
                      region: str | None) -> str:
    """How a candidate's procurement-law setting relates to the reference's, in a few words.

    'same province (ON)', 'NWPTA + CFTA, other province (AB)', 'CFTA, other province (MB)',
    "Quebec's own law, other province (QC)" (Quebec is its own framework: rules QC-01, QC-12),
    'same state (TX)', 'other state (NY)', 'other country (US)'.
    """
    if fmt.missing(ref_country) or fmt.missing(country):
        return fmt.BLANK
    if ref_country != country:
        return f"other country ({country})"
    if fmt.missing(ref_region) or fmt.missing(region):
        return fmt.BLANK
    word = "province" if country == "CA" else "state"
    if ref_region == region:
        return f"same {word} ({region})"
    if country == "CA" and (ref_region == "QC") != (region == "QC"):
        return f"Quebec's own law, other province ({region})"
    if country == "CA":
        if ref_region in NWPTA_PROVINCES and region in NWPTA_PROVINCES:
            return f"NWPTA + CFTA, other province ({region})"
        return f"CFTA, other province ({region})"
    return f"other state ({region})"


def legal_match_labels(ref_country: str | None, ref_region: str | None,
                       frame: pd.DataFrame) -> pd.Series:
    """``legal_match_label`` for every row, worked out once per (country, region) pair."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    country, c_uniq = pd.factorize(frame["country"])
    region, r_uniq = pd.factorize(frame["region"])
    c_vals, r_vals = [*c_uniq, None], [*r_uniq, None]  # code -1 (blank) -> the last entry
    width = len(r_vals)
    pair = np.where(country < 0, len(c_uniq), country) * width + np.where(region < 0, len(r_uniq), region)
    pairs, inverse = np.unique(pair, return_inverse=True)
    labels = np.array([legal_match_label(ref_country, ref_region, c_vals[p // width], r_vals[p % width])
                       for p in pairs.tolist()], dtype=object)
    return pd.Series(labels[inverse.ravel()], index=frame.index, dtype=object)


# --------------------------------------------------------------------------------------------
# Rows for JSON and tables
# --------------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if value is None or (not isinstance(value, str) and fmt.missing(value)):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    return value


def _score_parts(row: Mapping[str, Any]) -> dict[str, Any]:
    score = row.get("score")
    contributions = {d: float(row.get(f"contrib_{d}", 0.0) or 0.0) for d in DIMENSIONS}
    similarity = {d: (None if fmt.missing(row.get(f"sim_{d}")) else float(row[f"sim_{d}"]))
                  for d in DIMENSIONS}
    return {
        "score": None if fmt.missing(score) else float(score),
        "score_high": None if fmt.missing(row.get("score_high")) else float(row["score_high"]),
        "dims_used": int(row.get("dims_used") or 0),
        "contributions": contributions,
        "similarity": similarity,
    }


def peer_items(agency: Any, scored: pd.DataFrame, weights: Mapping[str, Any] | str,
               top: int | None = None) -> list[dict[str, Any]]:
    """The ranked peers as plain dicts (best first): what ``similar --json`` prints."""
    w = weights_from(weights)
    n_weighted = dims_weighted(w)
    rows = scored if top is None else scored.head(top)
    items = []
    for rank, row in enumerate(rows.to_dict("records"), start=1):
        items.append({
            "rank": rank,
            "deployment_id": row["deployment_id"],
            "jurisdiction": row["jurisdiction"],
            "geo_id": _clean(row.get("geo_id")),
            "region": _clean(row.get("region")),
            "country": _clean(row.get("country")),
            "population": _clean(row.get("population")),
            "vendor": _clean(row.get("vendor")),
            "product": _clean(row.get("product")),
            "vehicle": _clean(row.get("vehicle")),
            "go_live": _clean(row.get("go_live")),
            "confidence": _clean(row.get("confidence")),
            **_score_parts(row),
            "dims_weighted": n_weighted,
            "reasons": explain(agency, row, w),
        })
    return items


def prospect_items(reference: Mapping[str, Any], scored: pd.DataFrame,
                   weights: Mapping[str, Any] | str, top: int | None = None,
                   reasons: bool = True) -> list[dict[str, Any]]:
    """The ranked prospects as plain dicts (best first): what ``prospects --json`` prints."""
    w = weights_from(weights)
    n_weighted = dims_weighted(w, CENSUS_DIMENSIONS)
    rows = scored if top is None else scored.head(top)
    items = []
    for rank, row in enumerate(rows.to_dict("records"), start=1):
        item = {
            "rank": rank,
            "jurisdiction": row["jurisdiction"],
            "id": row["geo_id"],
            "region": _clean(row.get("region")),
            "country": _clean(row.get("country")),
            "type": _clean(row.get("jtype")),
            "population": _clean(row.get("population")),
            "population_label": _clean(row.get("population_label")),
            **_score_parts(row),
            "dims_weighted": n_weighted,
            "legal": row.get("legal") or legal_match_label(
                reference.get("country"), reference.get("region"), row.get("country"),
                row.get("region")),
        }
        if reasons:
            item["reasons"] = reference_reasons(reference, row, w)
        items.append(item)
    return items


PROSPECT_CSV_COLUMNS = ["rank", "jurisdiction", "geo_id", "region", "country", "jtype",
                        "population", "population_label", "score", "dims_used", "legal"]


def prospects_csv_frame(scored: pd.DataFrame) -> pd.DataFrame:
    """Every scored prospect for download: plain columns, contributions per dimension."""
    out = scored.reindex(columns=PROSPECT_CSV_COLUMNS[1:]).copy()
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out = out.rename(columns={"jtype": "type"})
    out["population"] = out["population"].round().astype("Int64")
    out["score"] = out["score"].round(6)
    for dim in DIMENSIONS:
        sims = scored[f"sim_{dim}"].to_numpy(dtype=float)
        if np.isnan(sims).all():
            continue  # the dimension is unknown for every prospect: no column of blanks
        out[f"contribution: {DIMENSION_LABELS[dim].lower()}"] = np.where(
            np.isnan(sims), np.nan, np.round(scored[f"contrib_{dim}"].to_numpy(dtype=float), 6))
    return out.reset_index(drop=True)


def prospects_csv(scored: pd.DataFrame) -> bytes:
    """``prospects_csv_frame`` as UTF-8 CSV, text cells that a spreadsheet would run as a
    formula (= + - @) neutralized."""
    from piggyback.data.interchange import neutralize

    table = prospects_csv_frame(scored)
    for col in table.select_dtypes(["object", "string"]).columns:
        table[col] = table[col].map(neutralize)
    return table.to_csv(index=False).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Side-by-side comparison
# --------------------------------------------------------------------------------------------

COMPARE_FACTS = [
    "Jurisdiction", "Population", "Vendor", "Product", "Modules", "Replaced system",
    "Procurement method", "Contract vehicle", "RFP issued", "Contract award", "Go-live",
    "Contract value", "Contract term", "Confidence",
]


def _text(value: Any) -> str:
    return fmt.BLANK if fmt.missing(value) or str(value).strip() == "" else str(value).strip()


def _population_text(row: Mapping[str, Any]) -> str:
    pop = row.get("population")
    if fmt.missing(pop):
        return fmt.BLANK
    label = row.get("census_population_label")
    if fmt.missing(label):
        year = row.get("population_year")
        label = "as published" + ("" if fmt.missing(year) else f", {int(year)}")
    return f"{fmt.integer(pop)} ({label})"


def _modules_text(codes: Any) -> str:
    codes = [] if codes is None or (not isinstance(codes, (list, tuple, np.ndarray)) and fmt.missing(codes)) \
        else list(codes)
    return ", ".join(MODULES.get(c, c) for c in codes) if codes else fmt.BLANK


def compare_table(store: Store, deployment_ids: Sequence[str]) -> pd.DataFrame:
    """One column per peer, one row per fact (COMPARE_FACTS); unknown facts show fmt.BLANK."""
    peers = peer_candidates(store).set_index("deployment_id", drop=False)
    unknown = [d for d in deployment_ids if d not in peers.index]
    if unknown:
        raise UnknownPeer(f"No peer deployment has the id(s) {', '.join(unknown)}.")
    columns: dict[str, list[str]] = {}
    for dep_id in deployment_ids:
        row = peers.loc[dep_id].to_dict()
        name = str(row["jurisdiction"])
        header = name if name not in columns else f"{name} ({dep_id})"
        region = _text(row.get("region"))
        term = row.get("contract_term_years")
        vehicle = row.get("vehicle")
        columns[header] = [
            f"{name} ({region}, {_text(row.get('country'))})",
            _population_text(row),
            _text(row.get("vendor")),
            _text(row.get("product")),
            _modules_text(row.get("module_codes")),
            _text(row.get("replaced_system")),
            _text(row.get("procurement_method")),
            fmt.BLANK if fmt.missing(vehicle) or vehicle == "unknown" else VEHICLES.get(vehicle, vehicle),
            _text(row.get("rfp_issued")),
            _text(row.get("contract_award")),
            _text(row.get("go_live")),
            fmt.money(row.get("contract_value"), None if fmt.missing(row.get("currency")) else row["currency"]),
            fmt.BLANK if fmt.missing(term) else f"{fmt.number(term, 0 if float(term).is_integer() else 1)} years",
            fmt.confidence(row.get("confidence")),
        ]
    return pd.DataFrame(columns, index=pd.Index(COMPARE_FACTS, name="fact"))


def peer_sources(store: Store, deployment_id: str) -> pd.DataFrame:
    """The peer's sources (url, title, kind) in the order the record lists them."""
    peers = store.peers()
    hit = peers[peers["deployment_id"] == deployment_id]
    if hit.empty:
        raise UnknownPeer(f"No peer deployment has the id {deployment_id!r}.")
    urls = hit.iloc[0]["source_urls"]
    urls = [] if urls is None else [u for u in list(urls) if u]
    sources = store.sources().drop_duplicates("url").set_index("url")
    rows = []
    for url in urls:
        known = url in sources.index
        rows.append({
            "url": url,
            "title": next((sources.at[url, c] for c in ("title", "publisher")
                           if known and not fmt.missing(sources.at[url, c])), None),
            "kind": sources.at[url, "kind"] if known else "secondary",
        })
    return pd.DataFrame(rows, columns=["url", "title", "kind"])


def peer_claims(store: Store, deployment_id: str) -> pd.DataFrame:
    """Vendor claims about the peer (kind vendor-stated), with what research found."""
    claims = store.table("claims")
    return claims[claims["deployment_id"] == deployment_id].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Sister-municipality contact points
# --------------------------------------------------------------------------------------------

CONTACT_COLUMNS = ["department", "channel", "value", "source_url", "confidence", "as_of", "note",
                   "kind", "who", "added"]

# Words that name a public body, a department or a role (not a person).
_ROLE_WORDS = frozenset("""
    department dept division services service office branch desk centre center unit team
    section bureau agency authority commission board council clerk city town township county
    village municipality municipal regional region district borough parish state province
    building buildings permit permits permitting planning development licensing licence license
    licenses inspections inspection enforcement bylaw by-law code zoning land customer
    information info contact help helpdesk support public engagement communications
    procurement purchasing it technology digital engineering works hall administration
    general inquiries enquiries manager director chief official officer registrar secretary
    assessor treasurer coordinator supervisor liaison reception mail admin webmaster media
    press records eplan portal applications apply online
""".split())
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.I)
_PHONE = re.compile(r"^\+?[0-9 ().\-]{7,25}(\s*(x|ext\.?)\s*\d{1,6})?$", re.I)


class ContactPoint(BaseModel):
    """A public reference contact point of a peer: a department or role, never a person."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    deployment_id: str = Field(min_length=2, max_length=80)
    department: str = Field(min_length=3, max_length=200)
    channel: Literal["phone", "email", "web"]
    value: str = Field(min_length=3, max_length=300)
    source_url: str = Field(max_length=1000)
    confidence: Literal["high", "medium", "low"] = "medium"
    as_of: str | None = None
    note: str | None = Field(default=None, max_length=1000)

    @field_validator("department")
    @classmethod
    def _department_not_person(cls, value: str) -> str:
        words = set(re.findall(r"[a-z][a-z\-]*", value.lower()))
        if not words & _ROLE_WORDS:
            raise ValueError(
                "name a department or public role (e.g. 'City of Guelph, Building Services' or "
                "'Chief Building Official'), not a person")
        return value

    @field_validator("source_url")
    @classmethod
    def _source(cls, value: str) -> str:
        if not _URL.match(value):
            raise ValueError("give the web address (http:// or https://) where this contact is published")
        return value

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of(cls, value):
        return check_partial_date(value)

    @model_validator(mode="after")
    def _value_fits_channel(self):
        value = self.value
        if self.channel == "web":
            if not _URL.match(value):
                raise ValueError("a web contact must be a web address (http:// or https://)")
        elif self.channel == "email":
            if not _EMAIL.match(value):
                raise ValueError(f"{value!r} is not an email address")
            local = value.split("@", 1)[0].lower()
            parts = [p for p in re.split(r"[._\-+]+", local) if p]
            if len(parts) >= 2 and all(p.isalpha() for p in parts) and not set(parts) & _ROLE_WORDS:
                raise ValueError(
                    f"{value!r} looks like a person's address: give the department's shared "
                    "address (e.g. building@…, permits@…)")
        else:
            digits = re.sub(r"\D", "", re.sub(r"(x|ext\.?)\s*\d+$", "", value, flags=re.I))
            if not _PHONE.match(value) or not 7 <= len(digits) <= 15:
                raise ValueError(f"{value!r} is not a phone number (e.g. +1 519-837-5615 ext 2375)")
        return self


def add_contact(store: Store, deployment_id: str, department: str, channel: str, value: str,
                source_url: str, *, user: User | None = None, confidence: str = "medium",
                as_of: str | None = None, note: str | None = None) -> str:
    """Validate and save a public contact point for a peer as ``user`` (a steward: contacts are
    peer data), in the record's ``user_contacts``, audited in the same transaction. Returns the
    new contact id."""
    user = actor(user)
    require(user, "contact.add")
    store.require_writable()
    store.deployment(deployment_id)  # UnknownPeer when there is no such peer
    try:
        contact = ContactPoint(deployment_id=deployment_id, department=department, channel=channel,
                               value=value, source_url=source_url, confidence=confidence,
                               as_of=as_of or None, note=note or None)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ())) or "contact"
            problems.append(f"{where}: {err.get('msg', '').removeprefix('Value error, ')}")
        raise ContactRejected("The contact was not saved: " + "; ".join(problems)) from None
    contact_id = "uc-" + uuid.uuid4().hex[:12]
    record = contact.model_dump()

    def work(tx):
        tx.execute("INSERT INTO user_contacts (contact_id, deployment_id, record, who, ts) VALUES (?, ?, ?, ?, ?)",
                   [contact_id, deployment_id, json.dumps(record, sort_keys=True), user.id, dt.datetime.now()])
        return contact_id, {"contact_id": contact_id, **record}

    return store.record.write("add contact", work, user)


def contacts_for(store: Store, deployment_id: str) -> pd.DataFrame:
    """Public contact points on file for a peer: the seeded ones (research), then user-added.

    Columns: CONTACT_COLUMNS. ``kind`` is the source kind of the seeded contact's page, or
    ``user-entered``.
    """
    rows: list[dict[str, Any]] = []
    try:  # one query (the page asks for several peers on every rerun)
        seeded = store.query_df(
            "SELECT c.*, s.kind AS source_kind "
            "FROM (SELECT *, row_number() OVER () AS file_order FROM contacts) c "
            "LEFT JOIN (SELECT url, MIN(kind) AS kind FROM sources GROUP BY url) s ON s.url = c.source_url "
            "WHERE c.deployment_id = ? ORDER BY c.file_order", [deployment_id])
    except duckdb.CatalogException:  # a store built without contacts
        seeded = pd.DataFrame()
    for rec in seeded.to_dict("records"):
        value = rec.get("value")
        if fmt.missing(value) or not isinstance(value, str) or not value.strip():
            # A web contact's value is its page, which is also its source.
            value = rec.get("source_url") if rec.get("channel") == "web" else None
        rows.append({
            "department": rec.get("department"), "channel": rec.get("channel"),
            "value": value, "source_url": rec.get("source_url"),
            "confidence": rec.get("confidence"), "as_of": rec.get("as_of"),
            "note": rec.get("note"),
            "kind": rec.get("source_kind") if not fmt.missing(rec.get("source_kind")) else "secondary",
            "who": None, "added": None,
        })
    added = pd.DataFrame(store.record.rows(
        "SELECT contact_id, record, who, ts FROM user_contacts WHERE deployment_id = ? ORDER BY ts, contact_id",
        [deployment_id]), columns=["contact_id", "record", "who", "ts"])
    for rec in added.to_dict("records"):
        data = json.loads(rec["record"])
        rows.append({
            "department": data.get("department"), "channel": data.get("channel"),
            "value": data.get("value"), "source_url": data.get("source_url"),
            "confidence": data.get("confidence"), "as_of": data.get("as_of"),
            "note": data.get("note"), "kind": "user-entered", "who": rec["who"],
            "added": pd.Timestamp(rec["ts"]).date().isoformat() if not fmt.missing(rec["ts"]) else None,
        })
    frame = pd.DataFrame(rows, columns=CONTACT_COLUMNS)
    return frame.astype(object).where(frame.notna(), None)


def contact_link(channel: str | None, value: str | None) -> str | None:
    """A clickable address for a contact value (mailto:/tel:/the page)."""
    if fmt.missing(value):
        return None
    if channel == "email":
        return f"mailto:{value}"
    if channel == "phone":
        return "tel:" + re.sub(r"[^0-9+]", "", str(value).split("x")[0].split("ext")[0])
    return str(value)


def population_band_text(pop_min: float | None, pop_max: float | None) -> str:
    if pop_min is None and pop_max is None:
        return "any population"
    if pop_min is None:
        return f"up to {pop_max:,.0f} residents"
    if pop_max is None:
        return f"{pop_min:,.0f} residents or more"
    return f"{pop_min:,.0f}–{pop_max:,.0f} residents"
