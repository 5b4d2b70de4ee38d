"""The peers analysis: who is like our agency, and who is like a peer (prospects).

One chain, used by the Peers page, ``python -m piggyback similar`` and the business case (PDF
and Excel): the weights (a preset, or the user's adjusted weights), every peer on file except the
agency's own deployment scored once (``piggyback.engines.similarity``), each peer's contract availability
on the decision date (``piggyback.engines.availability``), the filters (vendor by any of its names,
product, country, vehicle, availability), the ranked peers with reasons, and whether the top
three hold when any one weight moves ±20%.

``settings`` is the plain dict the Peers page keeps in ``widgets.scenario_section("peers")``:
``preset`` (a ``similarity.PRESETS`` name), ``weights`` (``{dimension: weight}``, e.g. whole
percentages; ``None`` means the preset's), ``vendor``/``product``/``country``/``vehicle``/
``availability`` (lists; empty keeps everyone), ``decision_date`` (ISO date; default ``today``).

``analyse_prospects`` ranks every census jurisdiction by how alike it is to a peer deployment's
jurisdiction: ``settings`` holds ``regions``, ``pop_min``, ``pop_max``, ``jtypes``, ``preset``
(or ``weights``), ``top`` and ``min_known``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from piggyback.engines import availability as avail_mod
from piggyback.data import peers as peer_data
from piggyback.core import fmt
from piggyback.data import vendors
from piggyback.core.errors import PiggybackError
from piggyback.core.models import VEHICLES
from piggyback.engines.similarity import (
    DIMENSION_LABELS, DIMENSIONS, PRESETS, SIMILARITY_ASSUMPTIONS, dims_scored, draft_introduction, explain,
    explain_sentence, robustness, score_candidates,
)

FILTERS = ("vendor", "product", "country", "vehicle", "availability")
DEFAULTS: dict[str, Any] = {"preset": "balanced", "weights": None, "vendor": [], "product": [],
                            "country": [], "vehicle": [], "availability": [], "decision_date": None}
ROBUST_TOP = 3
ROBUST_STEP = 0.2
# A reason in an introduction says how the two agencies are *alike*: only dimensions whose
# similarity is at least this (e.g. populations within about 2.4× of each other; growth within
# 5 points; same province or state; the same kind of government) are named there.
SIMILAR_ENOUGH = 0.75
PROSPECT_DEFAULTS: dict[str, Any] = {"regions": [], "pop_min": None, "pop_max": None, "jtypes": [],
                                     "preset": "balanced", "weights": None, "top": 50,
                                     "min_known": peer_data.MIN_KNOWN_DEFAULT}


class PeersSettingsError(PiggybackError):
    """The saved or entered peers settings cannot be used (the message says why)."""


def pct(weights: Mapping[str, float]) -> dict[str, int]:
    """Weights as whole percentages (the sliders' scale)."""
    total = sum(float(weights.get(d, 0.0) or 0.0) for d in DIMENSIONS) or 1.0
    return {d: int(round(100 * float(weights.get(d, 0.0) or 0.0) / total)) for d in DIMENSIONS}


def preset_name(text: Any) -> str | None:
    """'Procurement_fit' -> 'procurement fit' when it names a preset, else None."""
    key = " ".join(str(text or "").replace("_", " ").replace("-", " ").lower().split())
    return key if key in PRESETS else None


def resolve_weights(settings: Mapping[str, Any]) -> tuple[str, dict[str, float], bool]:
    """(preset, normalized weights, adjusted): adjusted when the weights differ from the preset's
    by more than the sliders' rounding (whole percentages)."""
    preset = preset_name(settings.get("preset")) or "balanced"
    given = settings.get("weights")
    if isinstance(given, str) and preset_name(given):
        preset, given = preset_name(given), None
    if given in (None, "", {}):
        return preset, peer_data.weights_from(PRESETS[preset]), False
    try:
        weights = peer_data.weights_from(given)
    except PiggybackError as exc:
        raise PeersSettingsError(f"The peer weights cannot be used: {str(exc).removeprefix('Bad weights: ')}") from None
    base = peer_data.weights_from(PRESETS[preset])
    adjusted = any(abs(base[d] - weights[d]) >= 0.006 for d in DIMENSIONS)
    return preset, weights, adjusted


def _date(value: Any, today: dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value else today
    except ValueError:
        raise PeersSettingsError(f"The decision date {str(value)[:40]!r} is not a date (YYYY-MM-DD).") from None


def _list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value if v not in (None, "")]


_OLD_FILTERS = {"vendors": "vendor", "products": "product", "countries": "country", "vehicles": "vehicle",
                "availability": "availability"}


def upgrade_section(section: dict) -> dict:
    """A scenario saved before the settings were flat (``filters: {vendors: …}``) read as today's."""
    old = section.pop("filters", None)
    if isinstance(old, Mapping):
        for name, new in _OLD_FILTERS.items():
            if old.get(name):
                section.setdefault(new, list(old[name]))
    return section


def weights_param(raw: Any):
    """The link's ``weights``: a preset's name, or whole-percentage weights as small JSON
    (size and depth checked before parsing). A ``params.Param`` whose value is the name or the dict."""
    from piggyback.core import params
    name = preset_name(raw)
    if raw is None or name:
        return params.Param(name, given=raw is not None)
    parsed = params.json_value(raw, "weights")
    if parsed.problem:
        return params.Param(None, parsed.problem + " The balanced preset is used.", given=True)
    try:
        return params.Param(pct(peer_data.weights_from(parsed.value)), given=True)
    except PiggybackError:
        return params.Param(None, "The link's 'weights' value was not understood. The balanced preset is used.",
                            given=True)


def similarities(agency: Any, row: Mapping[str, Any] | pd.Series, weights: Mapping[str, float],
                 top: int = 3) -> list[str]:
    """The reasons the two are alike (similarity ≥ ``SIMILAR_ENOUGH``), strongest first: what an
    introduction may say ('about our population'), never a difference ('7.1× our population')."""
    return explain(agency, row, weights, min_similarity=SIMILAR_ENOUGH)[:top]


@dataclass(frozen=True)
class PeersResult:
    """The ranked peers of one agency under one set of settings.

    ``scored_all``: every peer on file except the agency's own deployment, scored (best first);
    ``scored``: those that pass the filters; ``items``: ``scored`` as plain dicts (rank, score,
    score_high, dims_used, contributions, similarity, reasons, sentence, availability, vendor
    and its canonical name …), what ``similar --json`` prints."""

    agency: Any
    preset: str
    weights: dict[str, float]
    adjusted: bool
    dims_scored: tuple[str, ...]
    left_out: tuple[str, ...]
    decision_date: dt.date
    filters: dict[str, list[str]]
    on_file: int
    own: tuple[str, ...]
    scored_all: pd.DataFrame = field(repr=False)
    scored: pd.DataFrame = field(repr=False)
    availability: dict[str, dict[str, Any]] = field(repr=False)
    items: tuple[dict[str, Any], ...] = field(repr=False)
    robustness: dict[str, Any] = field(repr=False)
    options: dict[str, list[str]] = field(repr=False)
    unknown_vendors: tuple[str, ...] = ()
    vendor_index: Any = field(default=None, repr=False)

    @property
    def weights_pct(self) -> dict[str, int]:
        return pct(self.weights)

    @property
    def url_weights(self) -> str:
        """The weights as the link carries them: the preset's name, or whole percentages as JSON."""
        if not self.adjusted:
            return self.preset
        import json
        return json.dumps(self.weights_pct, separators=(",", ":"), sort_keys=True)

    @property
    def n_weighted(self) -> int:
        return len(self.dims_scored)

    @property
    def shares_text(self) -> str:
        return ", ".join(f"{DIMENSION_LABELS[d].lower()} {self.weights[d]:.0%}" for d in DIMENSIONS
                         if self.weights[d] > 0)

    @property
    def best(self) -> dict[str, Any] | None:
        return self.items[0] if self.items else None

    @property
    def top_names(self) -> list[str]:
        return list(self.robustness["baseline_top"])

    def item(self, deployment_id: str) -> dict[str, Any] | None:
        """A peer's item, filtered out or not (None for an unknown id or the agency's own)."""
        for it in self.items:
            if it["deployment_id"] == deployment_id:
                return it
        hit = self.scored_all[self.scored_all["deployment_id"] == deployment_id]
        return None if hit.empty else _items(self.agency, hit, self.weights, self.availability,
                                             self.n_weighted, self.vendor_index)[0]

    def row(self, deployment_id: str) -> pd.Series | None:
        hit = self.scored_all[self.scored_all["deployment_id"] == deployment_id]
        return None if hit.empty else hit.iloc[0]

    def rank_of(self, deployment_id: str) -> int | None:
        """1-based rank among every peer (filters ignored)."""
        ids = self.scored_all["deployment_id"].tolist()
        return ids.index(deployment_id) + 1 if deployment_id in ids else None

    def introduction(self, deployment_id: str, contact: Mapping[str, Any] | None = None) -> str:
        """The draft introduction to a peer: only similarities as reasons; the contact point is
        not written into the letter (the page shows it beside it)."""
        row = self.row(deployment_id)
        if row is None:
            raise PeersSettingsError(f"{deployment_id} is not among the ranked peers.")
        return draft_introduction(self.agency, row, similarities(self.agency, row, self.weights), contact,
                                  availability=self.availability.get(deployment_id))

    def to_json(self, top: int | None = None) -> list[dict[str, Any]]:
        return list(self.items if top is None else self.items[:top])


def _items(agency: Any, frame: pd.DataFrame, weights: Mapping[str, float], availability: Mapping[str, Any],
           n_scored: int, vendor_index: Any) -> list[dict[str, Any]]:
    out = peer_data.peer_items(agency, frame, weights)
    for item, row in zip(out, frame.to_dict("records")):  # plain dicts: a Series per row is slow
        item["vendor_canonical"] = vendors.canonical_vendor(item["vendor"], vendor_index)
        item["availability"] = availability[item["deployment_id"]]
        item["dims_scored"] = n_scored
        item["sentence"] = explain_sentence(agency, row, weights)
    return out


def analyse_peers(store, profile, settings: Mapping[str, Any] | None = None, *,
                  today: dt.date | None = None) -> PeersResult:
    """Rank the peers of ``profile`` under ``settings`` (see the module docstring)."""
    s = {**DEFAULTS, **dict(settings or {})}
    today = today or dt.date.today()
    preset, weights, adjusted = resolve_weights(s)
    decision = _date(s.get("decision_date"), today)
    everyone = peer_data.peer_candidates(store)
    geo = peer_data.own_geo_id(profile)
    own = everyone[everyone["geo_id"] == geo] if geo else everyone.iloc[0:0]
    others = everyone[everyone["geo_id"] != geo] if geo else everyone
    tables = store.tables()
    vendor_index = vendors.VendorIndex(store.table("vendors") if "vendors" in tables else None)
    contracts = store.table("contracts") if "contracts" in tables else []
    availability = avail_mod.assess_all(everyone, contracts, decision)
    options = {
        "vendor": vendors.vendor_choices(everyone["vendor"], vendor_index),
        "product": sorted(everyone["product"].dropna().unique()),
        "country": sorted(everyone["country"].dropna().unique()),
        "vehicle": [v for v in VEHICLES if v in set(everyone["vehicle"])],
        "availability": list(avail_mod.STATES),
    }
    filters = {name: _list(s.get(name)) for name in FILTERS}
    filters = {k: v for k, v in filters.items() if v}
    # Each peer's score depends only on the pair (agency, peer): score everyone once, then filter.
    scored_all = score_candidates(profile, others, weights)
    candidates = peer_data.filter_peers(others, products=filters.get("product"), countries=filters.get("country"),
                                        vehicles=filters.get("vehicle"))
    candidates = candidates[vendors.vendor_mask(candidates["vendor"], filters.get("vendor"), vendor_index)]
    if filters.get("availability"):
        candidates = candidates[[availability[d]["state"] in filters["availability"]
                                 for d in candidates["deployment_id"]]]
    scored = scored_all[scored_all["deployment_id"].isin(candidates["deployment_id"])]
    if candidates.empty:
        rob = {"stable": True, "baseline_top": [], "changes": [], "checked": 0}
    else:
        rob = robustness(profile, candidates, weights, top=ROBUST_TOP, step=ROBUST_STEP)
    used = dims_scored(profile, weights)
    items = _items(profile, scored, weights, availability, len(used), vendor_index)
    return PeersResult(
        agency=profile, preset=preset, weights=weights, adjusted=adjusted,
        dims_scored=tuple(d for d in DIMENSIONS if d in used),
        left_out=tuple(d for d in DIMENSIONS if weights[d] > 0 and d not in used),
        decision_date=decision, filters=filters, on_file=len(others),
        own=tuple(own["jurisdiction"]), scored_all=scored_all, scored=scored, availability=availability,
        items=tuple(items), robustness=rob, options=options,
        unknown_vendors=tuple(vendors.unknown_vendors(everyone["vendor"], vendor_index)),
        vendor_index=vendor_index)


# --------------------------------------------------------------------------------- prospects


@dataclass(frozen=True)
class ProspectsResult:
    """Census jurisdictions ranked by how alike they are to a peer deployment's jurisdiction."""

    reference_id: str
    reference: dict[str, Any]
    preset: str
    weights: dict[str, float]
    filters: dict[str, Any]
    top: int
    min_known: int
    scored: pd.DataFrame = field(repr=False)
    set_aside: int = 0

    @property
    def n_weighted(self) -> int:
        return len(dims_scored(self.reference, self.weights, peer_data.CENSUS_DIMENSIONS))

    @property
    def band_text(self) -> str:
        return peer_data.population_band_text(self.filters.get("pop_min"), self.filters.get("pop_max"))

    @property
    def where_text(self) -> str:
        return ", ".join(self.filters.get("regions") or []) or "anywhere"

    @property
    def shown(self) -> pd.DataFrame:
        return self.scored.head(self.top)

    def items(self, top: int | None = None) -> list[dict[str, Any]]:
        return peer_data.prospect_items(self.reference, self.scored, self.weights,
                                        top=self.top if top is None else top)

    def reasons(self, row: Mapping[str, Any]) -> list[str]:
        return peer_data.reference_reasons(self.reference, row, self.weights)

    def csv(self) -> bytes:
        return peer_data.prospects_csv(self.scored)

    def weights_table(self) -> pd.DataFrame:
        census = peer_data.CENSUS_DIMENSIONS
        total = sum(self.weights[d] for d in census)
        return pd.DataFrame({
            "dimension": [DIMENSION_LABELS[d] for d in DIMENSIONS],
            "weight in the preset": [f"{self.weights[d]:.0%}" for d in DIMENSIONS],
            "share here": [f"{self.weights[d] / total:.0%}" if d in census and total else fmt.BLANK for d in DIMENSIONS],
            "used here": ["yes" if d in census else "no (not in the census)" for d in DIMENSIONS]})


def _whole(value: Any, name: str) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PeersSettingsError(f"The {name} {str(value)[:40]!r} is not a whole number.") from None


def analyse_prospects(store, reference_id: str, settings: Mapping[str, Any] | None = None) -> ProspectsResult:
    """Rank the census jurisdictions like the jurisdiction of peer deployment ``reference_id``."""
    s = {**PROSPECT_DEFAULTS, **{k: v for k, v in dict(settings or {}).items() if v is not None}}
    preset, weights, _ = resolve_weights(s)
    regions = [r for part in _list(s.get("regions")) for r in part.split(",") if r.strip()]
    filters = {"regions": regions, "pop_min": _whole(s.get("pop_min"), "smallest population"),
               "pop_max": _whole(s.get("pop_max"), "largest population"), "jtypes": _list(s.get("jtypes"))}
    min_known = _whole(s.get("min_known"), "minimum of known dimensions") or peer_data.MIN_KNOWN_DEFAULT
    reference, scored, set_aside = peer_data.rank_prospects(
        store, reference_id, weights, min_known=min_known, region=regions or None, pop_min=filters["pop_min"],
        pop_max=filters["pop_max"], jtypes=filters["jtypes"] or None)
    return ProspectsResult(reference_id=reference_id, reference=reference, preset=preset, weights=weights,
                           filters=filters, top=_whole(s.get("top"), "number of rows") or 50,
                           min_known=peer_data.min_known_for(weights, min_known), scored=scored,
                           set_aside=set_aside)


# --------------------------------------------------------------------------------- tables and words
# What the page shows, built here so the page is layout only (and the CLI can print the same).


def robustness_text(result: PeersResult, escape=str) -> tuple[bool, str]:
    """(stable, the sentence): whether the top three hold when any one weight moves ±20%."""
    rob = result.robustness
    now = ", ".join(escape(t) for t in rob["baseline_top"])
    if rob["stable"]:
        return True, f"The top three are stable when any weight moves ±20% ({rob['checked']} moves checked): {now}."
    change, others = rob["changes"][0], len(rob["changes"]) - 1
    order_only = "" if change["set_changed"] else " (the same three, in a new order)"
    more = (f"; {others} other move{'s' if others != 1 else ''} of ±20% also change{'s' if others == 1 else ''} it."
            if others else ".")
    return False, (f"Fragile: moving {DIMENSION_LABELS[change['dimension']].lower()} {change['direction']} changes "
                   f"the top three to {', '.join(escape(t) for t in change['top'])}{order_only}{more} Now: {now}.")


# The ranked table's text columns: (label, help with {date} = the decision date, width).
RANKED_COLUMN_HELP: dict[str, tuple[str, str | None, str | None]] = {
    "Range": ("Range", "From the score (unknowns count 0) to the score if every unknown dimension matched fully", None),
    "Known": ("Dims known", "Dimensions known for both sides, of those scored", None),
    "Contract": ("Contract", "May another body use this peer's contract on {date}? Available, Expired, Not adoptable "
                 "or Unknown, from the facts on file", None),
    "Contract facts": ("Contract facts", None, "medium"),
    "Why": ("Why (strongest reasons)", None, "large"),
    "Modules": ("Modules", "Modules listed by the sources; live status not confirmed (the records do not say which "
                "are live)", None),
    "Go-live": ("Go-live", "As published: a year, a month or a day", None),
    "Vehicle": ("Contract vehicle", "As the sources describe it", None),
}


def ranked_table(result: PeersResult) -> pd.DataFrame:
    """The ranked peers as the page's table (one row per peer that passes the filters)."""
    from piggyback.core import fmt
    s, items = result.scored, result.items
    return pd.DataFrame({
        "Rank": [i["rank"] for i in items],
        "Peer": [i["jurisdiction"] for i in items],
        "Score": [i["score"] for i in items],
        # The reasons next to the score: on a 1280-px projector the grid shows its first columns only.
        "Why": [i["sentence"].removeprefix(f"{i['jurisdiction']} (score {i['score']:.2f}): ") for i in items],
        "Range": [f"{i['score']:.2f}–{i['score_high']:.2f}" for i in items],
        "Known": [f"{i['dims_used']} of {result.n_weighted}" for i in items],
        "Contract": [i["availability"]["label"] for i in items],
        "Contract facts": [avail_mod.reasons_text(i["availability"]) for i in items],
        "Vendor": [i["vendor_canonical"] or i["vendor"] or fmt.BLANK for i in items],
        "Product": [i["product"] or fmt.BLANK for i in items],
        "Modules": [", ".join(c) if len(c) else fmt.BLANK for c in s["module_codes"]],
        "Vehicle": [VEHICLES.get(i["vehicle"], i["vehicle"]) if i["vehicle"] else VEHICLES["unknown"] for i in items],
        "Go-live": [i["go_live"] or fmt.BLANK for i in items],
        "Confidence": [fmt.confidence(i["confidence"]) for i in items],
        "Source": [u[0] if len(u) else None for u in s["source_urls"]],
    })


def top_three_table(result: PeersResult) -> pd.DataFrame:
    """The top three with these weights, shown beside the sliders so a weight's effect is seen
    where the weight is moved: rank, peer, score and how high it could go."""
    return pd.DataFrame({"Rank": [i["rank"] for i in result.items[:3]],
                         "Peer": [i["jurisdiction"] for i in result.items[:3]],
                         "Score": [f"{i['score']:.2f}" for i in result.items[:3]],
                         "Could reach": [f"{i['score_high']:.2f}" for i in result.items[:3]]})


def weights_table(result: PeersResult) -> pd.DataFrame:
    return pd.DataFrame({"dimension": [DIMENSION_LABELS[d] for d in DIMENSIONS],
                         "weight": [f"{result.weights[d]:.0%}" for d in DIMENSIONS], "kind": "assumption"})


def contacts_table(contacts: pd.DataFrame) -> pd.DataFrame:
    from piggyback.core import fmt
    return pd.DataFrame({
        "Department or role": contacts["department"], "Channel": contacts["channel"],
        "Contact": [peer_data.contact_link(c, v) for c, v in zip(contacts["channel"], contacts["value"])],
        "Source": contacts["source_url"], "Confidence": contacts["confidence"].map(fmt.confidence),
        "As of": contacts["as_of"].map(lambda v: fmt.BLANK if fmt.missing(v) else v),
        "Kind": contacts["kind"].map(fmt.kind)})


def compare_evidence(store, deployment_ids: list[str], names: Mapping[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sources, vendor-stated claims) of the peers compared side by side, each row naming its peer."""
    from piggyback.core import fmt
    src = pd.concat([peer_data.peer_sources(store, d).assign(peer=names[d]) for d in deployment_ids], ignore_index=True)
    claims = pd.concat([peer_data.peer_claims(store, d).assign(peer=names[d]) for d in deployment_ids],
                       ignore_index=True)
    src = src.assign(kind=src["kind"].map(fmt.kind))[["peer", "url", "title", "kind"]]
    if not claims.empty:
        claims = claims.assign(kind=claims["kind"].map(fmt.kind))[["peer", "claim", "kind", "status", "research_note"]]
    return src, claims


def contact_note(contact: Mapping[str, Any] | None, peer_name: str) -> str:
    """Where to send the introduction: said beside the letter, never in it (#15)."""
    if contact and contact.get("value") not in (None, ""):
        return f"Send it to the public contact point on file ({contact.get('channel') or 'web'}): {contact['value']}."
    return f"No public contact point is on file for {peer_name}: find the department's address on its website."


def weights_caption(result: PeersResult) -> str:
    """The line beside the weights: the preset (or adjusted from it), each weight's share, and the
    dimensions left out because the agency's profile lacks them."""
    left_out = ", ".join(DIMENSION_LABELS[d].lower() for d in result.left_out)
    return (("Adjusted from the " if result.adjusted else "Preset ") + f"**{result.preset}**: {result.shares_text}."
            + (f" Not in your agency's profile, so left out for every peer: {left_out}." if left_out else ""))


def ranking_snapshot(result: PeersResult) -> dict[str, Any]:
    """What ``top_three_change`` compares between two runs: the weights, the filters, the top three."""
    return {"weights": result.weights_pct, "filters": result.filters, "top": result.top_names}


def top_three_change(last: Mapping[str, Any] | None, now: Mapping[str, Any], escape=str) -> tuple[bool, str] | None:
    """(changed, the sentence) after the weights alone changed since ``last`` (both from
    ``ranking_snapshot``); None when there is nothing to say (first run, same weights, other filters)."""
    if not last or last["weights"] == now["weights"] or last["filters"] != now["filters"]:
        return None
    if last["top"] != now["top"]:
        return True, f"With the new weights the top three changed: it was {', '.join(escape(t) for t in last['top'])}."
    return False, "With the new weights the top three did not change."


FILTER_LABELS = {"vendor": "Vendor", "product": "Product", "country": "Country", "vehicle": "Contract vehicle",
                 "availability": "Contract availability"}
_FILTER_VALUE_TEXT = {"country": {"CA": "Canada", "US": "United States"}, "vehicle": VEHICLES,
                      "availability": avail_mod.STATE_LABELS}


def filter_option_text(name: str, value: Any) -> str:
    """A filter choice as the list shows it: a country, vehicle or availability code in words; any
    other value (and a code without words) as spelled."""
    return _FILTER_VALUE_TEXT.get(name, {}).get(value, str(value))


def filters_title(active: int) -> str:
    return "Filter peers" + (f" ({active} filter{'s' if active != 1 else ''} on)" if active else "")


def filters_summary(result: PeersResult, escape=str) -> str | None:
    """The filters in force, in words (meeting mode shows them instead of the filter lists)."""
    if not result.filters:
        return None
    return "Filters on: " + "; ".join(
        f"{FILTER_LABELS[name].lower()} {', '.join(escape(filter_option_text(name, v)) for v in values)}"
        for name, values in result.filters.items()) + "."


def availability_help(decision: dt.date) -> str:
    """The availability filter's tooltip: the date judged on and what each state means."""
    return (f"Judged on {decision.isoformat()} (the Compliance page's decision date, else today). "
            + " ".join(f"{avail_mod.STATE_LABELS[k]}: {v}" for k, v in avail_mod.STATE_HELP.items()))


def unknown_vendors_note(result: PeersResult, escape=str) -> str | None:
    if not result.unknown_vendors:
        return None
    return ("Not in the vendor list, so shown as spelled and not merged with any other: "
            + ", ".join(escape(v) for v in result.unknown_vendors) + ".")


def own_deployment_note(result: PeersResult, escape=str) -> str | None:
    if not result.own:
        return None
    return f"Your own deployment on file ({', '.join(escape(j) for j in result.own)}) is not counted as a peer."


def map_caption(missing: int, shown: int) -> str:
    """Under the peer map: how many peers have no point (``missing`` of ``shown``) and where points come from."""
    return ((f"{missing} of {shown} peers have no map point on file and are not drawn. " if missing
             else "Every peer shown has a map point. ") + "Points: GNIS for US places, GeoNames for larger "
            "Canadian municipalities; a municipality without a point is left off rather than placed by guess.")


def scales_table() -> list[dict[str, Any]]:
    """The similarity engine's scales (default assumptions), as the Sources tab lists them."""
    return [{k: a[k] for k in ("name", "value", "unit", "kind", "note")} for a in SIMILARITY_ASSUMPTIONS]


def peer_names(result: PeersResult) -> dict[str, str]:
    """``{deployment_id: jurisdiction}`` of the ranked peers, best first."""
    return {i["deployment_id"]: i["jurisdiction"] for i in result.items}


def peer_line(item: Mapping[str, Any], escape=str) -> str:
    """One peer in a line (Markdown): its name in bold, score, vendor and whether its contract is available."""
    return (f"**{escape(item['jurisdiction'])}** — score {item['score']:.2f}, "
            f"{escape(item['vendor']) if item['vendor'] else 'vendor not known'}, "
            f"contract: {item['availability']['label'].lower()}")


def prospects_table(result: ProspectsResult) -> pd.DataFrame:
    """The rows the Prospects page shows (the top ``result.top``)."""
    shown = result.shown
    return pd.DataFrame({
        "Rank": range(1, len(shown) + 1),
        "Jurisdiction": shown["jurisdiction"].to_numpy(),
        "Score": shown["score"].to_numpy(),
        "Legal framework": shown["legal"].to_numpy(),
        "Population": shown["population"].to_numpy(),
        "Type": shown["jtype"].fillna(fmt.BLANK).to_numpy(),
        "Region": shown["region"].to_numpy(),
        "Range": [f"{lo:.2f}–{hi:.2f}" for lo, hi in zip(shown["score"], shown["score_high"])],
        "Known": [f"{int(u)} of {result.n_weighted}" for u in shown["dims_used"]],
        "Why": ["; ".join(result.reasons(row)) for _, row in shown.iterrows()],
        "Census id": shown["geo_id"].to_numpy(),
    })
