"""The cost analysis: what a peer's contract would cost the agency over the horizon, by route.

One chain, used by the Cost page, ``python -m piggyback cost`` and the business case (PDF and
Excel): the store's pricing assumptions with the user's settings → the peer's price schedule
(even splits labelled derived, lump sums spread by the labelled rule) scaled to the agency →
both routes, each with its own cost modelled from the contract → the tornado → the spread of
every peer's contract scaled alike, so a committee sees how much peers disagree.

``settings`` is the plain dict the Cost page keeps in its scenario section and a saved scenario
holds: ``{"assumptions": {assumption_id: value}, "currency": "CAD"|"USD"|None,
"staff_users": int|None}``. ``assumptions`` may also hold ``pricing.rfp_staff_cost`` /
``pricing.due_diligence_cost``: the user's own figure for a route's own cost, in the analysis
currency, which replaces the model and its range.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from piggyback.core import fmt
from piggyback.engines import pricing as pr
from piggyback.engines import pricing_routes as routes
from piggyback.core.errors import PiggybackError
from piggyback.core.models import AgencyProfile

#: How far apart peers' totals may be before the spread says they disagree widely.
WIDE_SPREAD = 3.0


class CostSettingsError(pr.PricingError):
    """The saved or entered cost settings cannot be used (the message says why)."""


def settings_from_dict(store, profile: AgencyProfile, settings: Mapping[str, Any] | None,
                       today: dt.date) -> routes.CostSettings:
    """The engine's settings from the scenario dict (the store's assumptions, the user's edits)."""
    from piggyback.data.quotes import pricing_assumptions

    settings = settings or {}
    edits = settings.get("assumptions") or {}
    if not isinstance(edits, Mapping):
        raise CostSettingsError("The saved pricing edits are not an {assumption id: value} table.")
    table = pricing_assumptions(store)
    known = set(table) | set(pr.ROUTE_ASSUMPTION.values())
    currency = settings.get("currency") or routes.default_currency(profile)
    return routes.cost_settings(table, {k: v for k, v in edits.items() if k in known}, currency,
                            price_year_target=today.year)


@dataclass(frozen=True)
class CostResult:
    """The cost of adopting one peer's contract, for the page, the CLI, the PDF and Excel."""

    status: str  # ok | no_peer | no_schedule | error
    message: str | None
    agency: AgencyProfile
    peer_id: str | None
    currency: str
    settings: routes.CostSettings | None = None
    analysis: routes.CostAnalysis | None = None  # the peer's lines (or the quote when the peer has none)
    basis: str | None = None  # "peer" or "quote"
    quote: routes.CostAnalysis | None = None  # the user's saved quote lines, not scaled
    quote_items: tuple[pr.PriceItem, ...] = ()
    population_note: str = "unknown"
    spread: dict[str, Any] | None = None
    #: Each priced peer's contract scaled to the agency (contract only): the spread's figures.
    peer_results: Mapping[str, pr.TCOResult] = field(default_factory=dict, repr=False)
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    # -- figures as shown everywhere (three significant figures) ---------------------------------

    def display(self) -> dict[str, Any]:
        """Every headline figure as text, the same words in page, CLI, PDF and Excel."""
        if not self.ok:
            return {}
        cur = self.currency
        out: dict[str, Any] = {}
        for name, rc in self.analysis.routes.items():
            t = rc.tco
            out[name] = {"total": fmt.cost(t.total, cur), "range": fmt.cost_range(t.low, t.high, cur),
                         "npv": fmt.cost(t.npv, cur), "npv_range": fmt.cost_range(t.npv_low, t.npv_high, cur),
                         "own_cost": fmt.cost(rc.procurement_cost, cur)}
        pig, trad = self.analysis.piggyback, self.analysis.traditional
        out["difference"] = fmt.cost(pig.total - trad.total, cur)
        out["per_resident"] = fmt.cost(pig.tco.per_resident, cur)
        if self.spread and self.spread.get("count", 0) >= 2:
            out["spread"] = fmt.cost_range(self.spread["min"], self.spread["max"], cur)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready and deterministic (money to cents; ``display`` has the shown figures)."""
        base = {"status": self.status, "message": self.message, "currency": self.currency, "peer": self.peer_id,
                "peer_population": self.population_note, "problems": list(self.problems),
                "spread": self.spread, "quote": None}
        if not self.ok:
            return base
        out = self.analysis.to_dict()
        out.update({k: v for k, v in base.items() if k not in out or k in ("status", "message", "spread")})
        out["peer_population"] = self.population_note
        out["basis"] = self.basis
        out["difference"] = round(self.analysis.piggyback.total - self.analysis.traditional.total, 2)
        out["warnings"] = list(self.warnings)
        if self.quote is not None and self.basis == "peer":
            out["quote"] = self.quote.contract.to_dict()
        out["display"] = self.display()
        return out


def _quote_items_from_store(store, profile: AgencyProfile, peer_id: str) -> list[pr.PriceItem]:
    from piggyback.data.quotes import list_quotes, scope_for

    return [q.item for q in list_quotes(store, scope_for(profile.geo_id or "entered", peer_id))]


def peer_spread(schedules: Mapping[str, pr.PriceSchedule], agency: AgencyProfile,
                settings: routes.CostSettings) -> tuple[dict[str, Any], dict[str, pr.TCOResult]]:
    """Every peer's contract scaled to the agency and costed alike (contract only, no route cost):
    the lowest, median and highest totals, and which peers are extrapolations; and the results."""
    results, problems = routes.compare_contracts(schedules, agency, settings)
    rows = []
    for dep_id, t in sorted(results.items(), key=lambda kv: kv[1].total):
        rows.append({"peer": dep_id, "total": round(t.total, 2), "low": round(t.low, 2), "high": round(t.high, 2),
                     "display": fmt.cost(t.total, t.currency),
                     "extrapolated": any(w.split(": ", 1)[-1].startswith(("Scaled beyond", "Price is from",
                                                                          "Lump sum")) for w in t.warnings)})
    # A peer whose lines add up to nothing paid no purchase price (Hood River: a state-funded
    # program): it says nothing about what this agency would pay, so it stays out of the spread.
    free = [r["peer"] for r in rows if r["total"] <= 0]
    rows = [r for r in rows if r["total"] > 0]
    totals = [r["total"] for r in rows]
    out: dict[str, Any] = {"count": len(rows), "peers": rows, "problems": dict(sorted(problems.items()))}
    if free:
        out["left_out"] = {dep: "its price lines add up to no purchase price (a program funded by others): "
                                "not a price this agency would pay" for dep in free}
    if totals:
        out.update({"min": min(totals), "median": statistics.median(totals), "max": max(totals)})
        positive = [t for t in totals if t > 0]
        out["ratio"] = round(max(positive) / min(positive), 2) if positive else None
        if len(rows) >= 2:
            wide = out["ratio"] is not None and out["ratio"] >= WIDE_SPREAD
            out["summary"] = (f"{len(rows)} peers' contracts scaled to {agency.name} cost "
                              f"{fmt.cost_range(out['min'], out['max'], settings.currency)} over "
                              f"{settings.horizon_years} years (median {fmt.cost(out['median'], settings.currency)})"
                              + ("; the peers disagree widely: read any one peer's figure as indicative."
                                 if wide else ".")
                              + (f" Left out: {', '.join(free)} (no purchase price on file: a program funded "
                                 "by others)." if free else ""))
    return out, results


def analyse_cost(store, profile: AgencyProfile, peer_id: str | None, settings: Mapping[str, Any] | None, *,
                 today: dt.date, quotes: Sequence[pr.PriceItem] | None = None,
                 with_spread: bool = True) -> CostResult:
    """The one cost chain. ``quotes`` are the user's quote lines for this agency and peer (read
    from the store's saved quotes when None). Never raises for a missing schedule or bad settings:
    the result's status and message say what to do."""
    from piggyback.data.quotes import peer_for_pricing, price_schedules

    settings = dict(settings or {})
    currency = settings.get("currency") or routes.default_currency(profile)
    base = dict(status="no_peer", message=None, agency=profile, peer_id=peer_id, currency=currency)
    try:
        cs = settings_from_dict(store, profile, settings, today)
    except PiggybackError as exc:
        return CostResult(**{**base, "status": "error", "message": f"The cost settings cannot be used: {exc}"})
    base["currency"] = cs.currency
    agency = profile
    if "staff_users" in settings:  # the Cost page can set the staff users of the new system
        agency = profile.model_copy(update={"staff_users": settings.get("staff_users")})
    schedules = price_schedules(store)
    spread, peer_results = peer_spread(schedules, agency, cs) if with_spread else (None, {})
    base.update(spread=spread, peer_results=peer_results, settings=cs)
    if not peer_id:
        return CostResult(**{**base, "message": "No peer contract chosen: choose one to cost it."})
    quote_items: tuple[pr.PriceItem, ...] = ()
    try:
        quote_items = tuple(i for i in (quotes if quotes is not None
                                        else _quote_items_from_store(store, profile, peer_id))
                            if i.deployment_id == peer_id)
        peer, note = peer_for_pricing(store, peer_id)
        quote = None
        if quote_items:
            quote = routes.analyse_cost(pr.PriceSchedule(deployment_id=peer_id, items=quote_items), agency, cs,
                                    scale_fixed=False, basis="quote")
        if peer_id in schedules:
            analysis, basis = routes.analyse_cost(schedules[peer_id], agency, cs, peer), "peer"
        elif quote is not None:
            analysis, basis = quote, "quote"
        else:
            with_prices = ", ".join(sorted(schedules)) or "none"
            return CostResult(**{**base, "status": "no_schedule", "population_note": note,
                                 "message": f"No price schedule on file for {peer_id}: the sources give no prices "
                                            "for its contract. Enter its price list or the quote received on the "
                                            f"Cost page to cost it. Peers with a price schedule: {with_prices}."},
                              quote_items=quote_items)
    except PiggybackError as exc:
        return CostResult(**{**base, "status": "error", "message": f"The cost could not be computed: {exc}"})
    warnings = list(analysis.piggyback.tco.warnings)
    if spread and spread.get("count", 0) >= 2 and (spread.get("ratio") or 0) >= WIDE_SPREAD:
        warnings.append(spread["summary"])
    return CostResult(**{**base, "status": "ok"}, analysis=analysis, basis=basis, quote=quote,
                      quote_items=quote_items, population_note=note, warnings=tuple(warnings))


def _routes_out(analysis: routes.CostAnalysis) -> dict[str, dict[str, Any]]:
    out = {}
    for route, rc in analysis.routes.items():
        d = rc.to_dict()
        t = d["tco"]
        out[route] = {"label": rc.label, "total": t["total"], "npv": t["npv"], "low": t["low"], "high": t["high"],
                      "npv_low": t["npv_low"], "npv_high": t["npv_high"], "procurement_cost": d["procurement_cost"],
                      "procurement_source": d["procurement_source"], "per_resident": t["per_resident"], "tco": t}
    return out


def case_section(result: CostResult) -> dict[str, Any]:
    """The result as the business case's ``cost`` section (the PDF and Excel read it)."""
    out: dict[str, Any] = {"currency": result.currency, "status": result.status, "message": result.message,
                           "routes": {}, "items": [], "problems": list(result.problems), "quote": None,
                           "spread": result.spread, "display": result.display(), "warnings": list(result.warnings)}
    if not result.ok:
        return out
    a = result.analysis
    routes = _routes_out(a)
    first = routes["piggyback"]["tco"]
    quote = None
    if result.quote is not None and result.basis == "peer":
        quote = {"basis": "quote", "items": [i.item_id for i in result.quote_items], "routes": _routes_out(result.quote)}
    out.update({
        "basis": result.basis, "routes": routes,
        "items": [ln for ln in first["items"] if ln["category"] != pr.PROCUREMENT], "quote": quote,
        "horizon_years": first["horizon_years"], "start_year": first["start_year"],
        "range_method": first["range_method"], "discount_rate": a.settings.assumptions["pricing.discount_rate"].value,
        "tornado": [dict(row) for row in a.tornado[:6]], "item_ids": [ln.item.item_id for ln in a.lines],
        "difference": round(a.piggyback.total - a.traditional.total, 2),
    })
    return out
