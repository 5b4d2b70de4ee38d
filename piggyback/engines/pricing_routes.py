"""Routes over the priced lines: each route's own cost, the tornado, and the engine-level analysis.

Split from :mod:`piggyback.engines.pricing` (records, derived lines, scaling and the TCO, which this module
builds on). Like it, this module takes data and never reads files: the assumptions are passed in
(the store's, by :mod:`piggyback.analyses.cost`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from piggyback.core.models import CURRENCY_OF_COUNTRY, AgencyProfile, Assumption, Deployment
from piggyback.engines.pricing import (
    ASSUMPTION_PARAMS,
    CONTRACT_VALUE_YEARS,
    EXTRAPOLATION,
    LUMP_SHARE,
    RANGED_PARAMS,
    ROUTE_ASSUMPTION,
    ROUTE_COMPONENTS,
    ROUTES,
    PriceSchedule,
    PricingError,
    Route,
    ScaledItem,
    TCOResult,
    _as_table,
    _check_params,
    _given,
    _num,
    _Params,
    convert,
    prepare_schedule,
    scale_items,
    tco_kwargs_from_assumptions,
    total_cost_of_ownership,
)


# ---------------------------------------------------------------------------------------------
# Tornado


def tornado(items: Sequence[ScaledItem], base_kwargs: Mapping[str, Any] | None,
            assumptions: Mapping[str, Assumption] | Iterable[Assumption | Mapping[str, Any]],
            metric: Literal["total", "npv"] = "total", route: Route | None = None,
            procurement: RouteCost | None = None) -> list[dict[str, Any]]:
    """Swing of the total (or NPV) as each ranged assumption goes from its low to its high end.

    Other keywords stay at ``base_kwargs``. Assumptions without a range, and choices (horizon,
    legacy baseline), are left out. ``route`` adds the procurement cost of that route. Rows are
    sorted by swing, largest first; a swing of 0 means the assumption does not touch these lines.
    """
    if metric not in ("total", "npv"):
        raise PricingError("metric must be 'total' or 'npv'")
    table = _as_table(assumptions)
    base_kwargs = dict(base_kwargs or {})
    base_kwargs.pop("ranges", None)
    currency = base_kwargs.get("currency", "CAD")
    m = 0 if metric == "total" else 1
    if route is not None and procurement is None and "procurement_cost" not in base_kwargs:
        procurement = cost_of_route(items, route, assumptions=table, **base_kwargs)
    if procurement is not None:
        base_kwargs["procurement_cost"] = procurement.procurement_cost

    def run(kwargs: Mapping[str, Any]) -> float:
        r = total_cost_of_ownership(items, **kwargs, ranges={}, assumptions=table)
        return r.total if m == 0 else r.npv

    base = run(base_kwargs)
    rows = []
    for aid, a in table.items():
        kwarg = ASSUMPTION_PARAMS.get(aid)
        if kwarg not in RANGED_PARAMS or a.low is None or a.high is None:
            continue
        lo, hi = a.low, a.high
        at_lo = run({**base_kwargs, kwarg: lo})
        at_hi = run({**base_kwargs, kwarg: hi})
        rows.append({"assumption_id": aid, "name": a.name, "param": kwarg, "unit": a.unit, "kind": a.kind,
                     "value": a.value, "low": a.low, "high": a.high, "base": base,
                     "at_low": at_lo, "at_high": at_hi, "swing": abs(at_hi - at_lo),
                     "metric": metric, "currency": currency})
    src = procurement.procurement_source if procurement is not None else {}
    if src.get("low") is not None and src.get("high") is not None:
        at_lo = run({**base_kwargs, "procurement_cost": src["low"]})
        at_hi = run({**base_kwargs, "procurement_cost": src["high"]})
        rows.append({"assumption_id": src["assumption_id"], "name": src["name"], "param": "procurement_cost",
                     "unit": currency, "kind": src["kind"], "value": procurement.procurement_cost, "low": src["low"],
                     "high": src["high"], "base": base, "at_low": at_lo, "at_high": at_hi,
                     "swing": abs(at_hi - at_lo), "metric": metric, "currency": currency})
    rows.sort(key=lambda r: (-r["swing"], r["assumption_id"]))
    return rows


# ---------------------------------------------------------------------------------------------
# Routes


def route_own_cost(route: Route, *, modules: int, contract_value: float, currency: str, fx_cad_per_usd: float,
                   assumptions: Mapping[str, Assumption]) -> dict[str, Any]:
    """The route's own cost (staff, legal), from the agency's contract, never a constant:

    ``fixed + per module × modules + share % × contract value``, with the three named assumptions
    of :data:`ROUTE_COMPONENTS` (fixed and per-module amounts in their unit's currency, converted
    at ``fx_cad_per_usd``). ``contract_value`` is the contract's cost over its first
    :data:`CONTRACT_VALUE_YEARS` years, in ``currency``. ``low``/``high`` take every component at
    the low (high) end of its range.
    """
    if route not in ROUTES:
        raise PricingError(f"unknown route {route!r}: use 'traditional' or 'piggyback'")
    ids = ROUTE_COMPONENTS[route]
    missing = [aid for aid in ids if aid not in assumptions]
    if missing:
        raise PricingError(f"pricing assumption(s) missing from the store: {', '.join(missing)}; rebuild it")
    fixed, per_module, share = (assumptions[aid] for aid in ids)

    def money_cur(a: Assumption) -> str:
        return a.unit if a.unit in ("CAD", "USD") else currency

    def at(end: str) -> float:
        def pick(a: Assumption) -> float:
            v = getattr(a, end)
            return a.value if v is None else v
        return (convert(pick(fixed), money_cur(fixed), currency, fx_cad_per_usd)
                + convert(pick(per_module), money_cur(per_module), currency, fx_cad_per_usd) * modules
                + pick(share) / 100 * contract_value)

    value = at("value")
    ranged = any(a.low is not None and a.high is not None for a in (fixed, per_module, share))
    formula = (f"{_num(fixed.value)} {money_cur(fixed)} + {_num(per_module.value)} {money_cur(per_module)}/module × "
               f"{modules} modules")
    if money_cur(fixed) != currency:
        rate = f"× {fx_cad_per_usd:g}" if money_cur(fixed) == "USD" else f"÷ {fx_cad_per_usd:g}"
        formula = f"({formula}) {rate} CAD/USD"
    formula += (f" + {share.value:g}% × {_num(contract_value)} {currency} (the contract's first "
                f"{CONTRACT_VALUE_YEARS} years) = {_num(value)} {currency} in year 1")
    return {"value": value, "low": at("low") if ranged else None, "high": at("high") if ranged else None,
            "formula": formula, "modules": modules, "contract_value": contract_value,
            "assumption_ids": list(ids), "kinds": sorted({a.kind for a in (fixed, per_module, share)})}


@dataclass
class RouteCost:
    """The cost of one procurement route: the same price lines plus the route's own cost."""

    route: str
    label: str
    procurement_cost: float
    procurement_source: dict[str, Any]
    tco: TCOResult

    @property
    def total(self) -> float:
        return self.tco.total

    @property
    def npv(self) -> float:
        return self.tco.npv

    def to_dict(self) -> dict[str, Any]:
        return {"route": self.route, "label": self.label, "procurement_cost": round(self.procurement_cost, 2),
                "procurement_source": dict(self.procurement_source), "tco": self.tco.to_dict()}


def cost_of_route(items: Sequence[ScaledItem], route: Route, *, procurement_cost: float | None = None,
                  cost_currency: str | None = None,
                  assumptions: Mapping[str, Assumption] | None = None, **tco_kwargs: Any) -> RouteCost:
    """The price lines plus the route's own cost (own RFP: staff cost of running it; piggyback: the
    due diligence of adopting the contract), from :func:`route_own_cost`: it depends on the
    modules and the contract's value, so the difference between routes depends on the agency
    and the contract.

    ``procurement_cost`` in ``cost_currency`` is the user's own figure: it replaces the model and
    its range. Both routes are priced on the same lines (an own RFP could win another price: not
    modelled).
    """
    if route not in ROUTES:
        raise PricingError(f"unknown route {route!r}: use 'traditional' or 'piggyback'")
    table = _as_table(assumptions) if assumptions is not None else {}
    tco_kwargs = {**tco_kwargs_from_assumptions(table), **tco_kwargs, "assumptions": table}
    currency = tco_kwargs.get("currency", "CAD")
    fx = tco_kwargs.get("fx_cad_per_usd") or _given(None, "pricing.fx_cad_per_usd", table)
    ranges = tco_kwargs.pop("ranges", None)
    ranges = dict(tco_kwargs_from_assumptions(table)["ranges"] if ranges is None else ranges)
    if procurement_cost is not None:
        value = float(procurement_cost)
        if not math.isfinite(value) or value < 0:
            raise PricingError("procurement cost must be zero or more")
        src_cur = cost_currency or currency
        converted = convert(value, src_cur, currency, fx)
        formula = f"{_num(value)} {src_cur}"
        if src_cur != currency:
            formula += f" {'×' if src_cur == 'USD' else '÷'} {fx:g} CAD/USD = {_num(converted)} {currency}"
        formula += " in year 1 (entered by the user)"
        ranges.pop("procurement_cost", None)
        source = {"name": f"{ROUTES[route]}: own cost entered by the user", "assumption_id": ROUTE_ASSUMPTION[route],
                  "source_amount": value, "source_currency": src_cur, "formula": formula, "source_url": None,
                  "kind": "user-entered", "confidence": "low", "note": None, "low": None, "high": None,
                  "flags": ["Entered by the user: replaces the model and its range."]}
    else:
        contract = total_cost_of_ownership(items, ranges={}, **tco_kwargs)
        value_now = sum(row["total"] for row in contract.by_year[:CONTRACT_VALUE_YEARS])
        modules = len(items[0].context.modules) if items else 0
        m = route_own_cost(route, modules=modules, contract_value=value_now, currency=currency,
                           fx_cad_per_usd=fx, assumptions=table)
        converted = m["value"]
        if m["low"] is not None:
            ranges["procurement_cost"] = (m["low"], m["high"])
        else:
            ranges.pop("procurement_cost", None)
        what = "staff cost of running an own RFP" if route == "traditional" else "due diligence of the piggyback"
        flags = [f"Model of the {what}: fixed + per module + share of the contract's value "
                 f"({', '.join(m['assumption_ids'])}); edit them to the agency's own figures."]
        if modules == 0:
            flags.append("No modules known (the agency's or the peer's): the per-module part is zero.")
        source = {"name": f"{ROUTES[route]}: {what}", "assumption_id": ",".join(m["assumption_ids"]),
                  "source_amount": converted, "source_currency": currency, "formula": m["formula"],
                  "source_url": None, "kind": "assumption" if "assumption" in m["kinds"] else "derived",
                  "confidence": "low", "note": None, "low": m["low"], "high": m["high"],
                  "modules": modules, "contract_value": value_now, "flags": flags}
    tco = total_cost_of_ownership(items, procurement_cost=converted, procurement_source=source, ranges=ranges,
                                  **tco_kwargs)
    return RouteCost(route=route, label=ROUTES[route], procurement_cost=converted, procurement_source=source, tco=tco)


def compare_routes(items: Sequence[ScaledItem], **kwargs: Any) -> dict[str, RouteCost]:
    """Both routes on the same lines, traditional first."""
    return {route: cost_of_route(items, route, **kwargs) for route in ROUTES}


# ---------------------------------------------------------------------------------------------
# One analysis for the Cost page, the CLI and the business case

#: The assumptions a user may edit, in the order the page shows them.
EDITABLE: tuple[str, ...] = (
    "pricing.horizon_years", "pricing.discount_rate", "pricing.escalation_default", "pricing.price_inflation",
    "pricing.fx_cad_per_usd", "pricing.scale_elasticity", "pricing.staff_users_per_1000",
    *ROUTE_COMPONENTS["traditional"], *ROUTE_COMPONENTS["piggyback"], LUMP_SHARE, EXTRAPOLATION,
)
COUNTRY_CURRENCY = CURRENCY_OF_COUNTRY  # one map, in piggyback.core.models


def default_currency(agency: AgencyProfile) -> str:
    """The agency's own currency (CAD in Canada, USD in the US)."""
    return COUNTRY_CURRENCY.get(agency.country, "CAD")


def assumptions_from_records(records: Iterable[Mapping[str, Any]]) -> dict[str, Assumption]:
    """Validate ``pricing`` assumptions read from the store (a DataFrame's records), by id."""
    try:
        return _as_table(list(records))
    except ValidationError as exc:
        raise PricingError(f"invalid pricing assumption: {exc.errors()[0]['msg']}") from None


def with_overrides(assumptions: Mapping[str, Assumption],
                   overrides: Mapping[str, float] | None) -> dict[str, Assumption]:
    """The assumptions with the user's values: an edited one becomes ``user-entered``, keeps no
    source, says what it replaced, and has no range: the user's value is not varied."""
    table = dict(assumptions)
    for aid, value in (overrides or {}).items():
        if aid not in table:
            raise PricingError(f"unknown assumption {aid!r}: editable ones are {', '.join(EDITABLE)}")
        a = table[aid]
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise PricingError(f"{a.name}: {value!r} is not a number") from None
        if not math.isfinite(value):
            raise PricingError(f"{a.name}: {value!r} is not a number")
        if value == a.value:
            continue
        table[aid] = Assumption(
            assumption_id=aid, group_name=a.group_name, name=a.name, value=value, low=None, high=None,
            unit=a.unit, kind="user-entered", source_url=None,
            note=f"Edited by the user (default {a.value:g} {a.unit}): the user's value replaces the range.")
    return table


@dataclass(frozen=True)
class CostSettings:
    """Everything a TCO depends on besides the price lines: the (edited) assumptions, the
    currency and the analysis year."""

    defaults: dict[str, Assumption]
    assumptions: dict[str, Assumption]
    edited: dict[str, float]
    currency: str
    price_year_target: int
    #: route -> the user's own figure for the route's own cost, in ``currency`` (replaces the model).
    route_overrides: dict[str, float] = field(default_factory=dict)

    @property
    def horizon_years(self) -> int:
        return int(round(self.assumptions["pricing.horizon_years"].value))

    def tco_kwargs(self) -> dict[str, Any]:
        """Keywords for :func:`total_cost_of_ownership` (``ranges`` included)."""
        kw = tco_kwargs_from_assumptions(self.assumptions)
        kw["currency"] = self.currency
        kw["price_year_target"] = self.price_year_target
        return kw

    def route_table(self) -> dict[str, Assumption]:
        """The assumptions the route costs are modelled from."""
        return dict(self.assumptions)


def cost_settings(defaults: Mapping[str, Assumption] | None = None, overrides: Mapping[str, float] | None = None,
                  currency: str = "CAD", price_year_target: int | None = None) -> CostSettings:
    """Validated settings: ``overrides`` maps assumption ids to the user's values; the ids of
    :data:`ROUTE_ASSUMPTION` give the user's own figure for a route's own cost, in ``currency``."""
    if currency not in ("CAD", "USD"):
        raise PricingError(f"unknown currency {currency!r}: use CAD or USD")
    if not defaults:
        raise PricingError("no pricing assumptions given: pass the store's (quotes.pricing_assumptions)")
    base = dict(defaults)
    missing = [aid for aid in EDITABLE if aid not in base]
    if missing:
        raise PricingError(f"pricing assumption(s) missing from the store: {', '.join(missing)}; rebuild it")
    overrides = dict(overrides or {})
    route_overrides = {}
    for route, aid in ROUTE_ASSUMPTION.items():
        if aid in overrides and aid not in base:
            try:
                value = float(overrides.pop(aid))
            except (TypeError, ValueError):
                raise PricingError(f"the own cost of the route '{ROUTES[route]}' is not a number") from None
            if not math.isfinite(value) or value < 0:
                raise PricingError(f"the own cost of the route '{ROUTES[route]}' must be zero or more")
            route_overrides[route] = value
    table = with_overrides(base, overrides)
    edited = {aid: table[aid].value for aid in table if table[aid] is not base[aid]}
    horizon = table["pricing.horizon_years"].value
    if not float(horizon).is_integer():
        raise PricingError(f"horizon {horizon:g} must be a whole number of years")
    settings = CostSettings(defaults=base, assumptions=table, edited=edited, currency=currency,
                            price_year_target=int(price_year_target or dt.date.today().year),
                            route_overrides=route_overrides)
    p = settings.tco_kwargs()
    _check_params(_Params(horizon_years=int(horizon), currency=currency, fx_cad_per_usd=p["fx_cad_per_usd"],
                          discount_rate=p["discount_rate"], escalation_default=p["escalation_default"],
                          price_year_target=settings.price_year_target, inflation=p["inflation"],
                          procurement_cost=0.0, elasticity=None, users_per_1000=None))
    for aid in (*ROUTE_COMPONENTS["traditional"], *ROUTE_COMPONENTS["piggyback"], LUMP_SHARE):
        if aid in table and table[aid].value < 0:
            raise PricingError(f"{table[aid].name} must be zero or more")
    return settings


def contract_tco(schedule: PriceSchedule, agency: AgencyProfile, settings: CostSettings,
                 peer: Deployment | None = None, *, scale_fixed: bool = True) -> tuple[list[ScaledItem], TCOResult]:
    """A schedule scaled to the agency and costed over the horizon, without any procurement cost.

    ``scale_fixed=False`` is for a quote made to the agency itself: its totals are not rescaled.
    """
    kw = settings.tco_kwargs()
    if scale_fixed:
        schedule = prepare_schedule(schedule, settings.assumptions)
    lines = scale_items(schedule, agency, peer, elasticity=kw["elasticity"], users_per_1000=kw["users_per_1000"],
                        scale_fixed=scale_fixed, assumptions=settings.assumptions)
    return lines, total_cost_of_ownership(lines, **kw, assumptions=settings.assumptions)


@dataclass
class CostAnalysis:
    """The cost of adopting one peer's contract: its lines, both routes and what moves the total."""

    agency: AgencyProfile
    deployment_id: str
    basis: str
    settings: CostSettings
    lines: list[ScaledItem]
    contract: TCOResult
    routes: dict[str, RouteCost]
    tornado: list[dict[str, Any]]
    tornado_route: str

    @property
    def piggyback(self) -> RouteCost:
        return self.routes["piggyback"]

    @property
    def traditional(self) -> RouteCost:
        return self.routes["traditional"]

    def assumption_rows(self) -> list[dict[str, Any]]:
        """Every pricing assumption with the value used, its default, range and source."""
        rows = []
        for aid, a in sorted(self.settings.assumptions.items()):
            d = self.settings.defaults.get(aid, a)
            rows.append({"assumption_id": aid, "name": a.name, "value": a.value, "default": d.value,
                         "low": a.low, "high": a.high, "unit": a.unit, "kind": a.kind,
                         "edited": aid in self.settings.edited, "source_url": d.source_url, "note": d.note})
        return rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready and deterministic: the piggyback route's TCO at the top level, both routes,
        the contract alone, the assumptions and the tornado."""
        def money(x: float | None) -> float | None:
            return None if x is None else round(float(x), 2)

        def summary(r: TCOResult) -> dict[str, Any]:
            return {k: money(getattr(r, k)) for k in ("total", "npv", "low", "high", "npv_low", "npv_high")}

        out = self.piggyback.tco.to_dict()
        out.update({
            "agency": {"name": self.agency.name, "geo_id": self.agency.geo_id, "country": self.agency.country,
                       "population": self.agency.population, "staff_users": self.agency.staff_users,
                       "modules": list(self.agency.modules_needed)},
            "peer": self.deployment_id, "basis": self.basis, "route": "piggyback",
            "routes": {name: {"label": rc.label, "procurement_cost": money(rc.procurement_cost),
                              "procurement_source": dict(rc.procurement_source), **summary(rc.tco)}
                       for name, rc in self.routes.items()},
            "contract": summary(self.contract),
            "assumptions": self.assumption_rows(),
            "tornado": [{k: (money(v) if k in ("base", "at_low", "at_high", "swing") else v) for k, v in row.items()}
                        for row in self.tornado],
            "tornado_route": self.tornado_route,
        })
        return out


def analyse_cost(schedule: PriceSchedule, agency: AgencyProfile, settings: CostSettings,
                 peer: Deployment | None = None, *, scale_fixed: bool = True, basis: str = "peer",
                 tornado_route: Route = "piggyback") -> CostAnalysis:
    """Both routes on the schedule scaled to the agency, plus the tornado of ``tornado_route``.

    A route's own cost is modelled from the contract (:func:`route_own_cost`) unless the user
    gave their own figure (``settings.route_overrides``, in the analysis currency), which replaces
    the model and its range and is labelled as entered by the user.
    """
    lines, contract = contract_tco(schedule, agency, settings, peer, scale_fixed=scale_fixed)
    kw = settings.tco_kwargs()
    routes = {}
    for route in ROUTES:
        extra: dict[str, Any] = {}
        if route in settings.route_overrides:
            extra = {"procurement_cost": settings.route_overrides[route], "cost_currency": settings.currency}
        routes[route] = cost_of_route(lines, route, assumptions=settings.assumptions, **kw, **extra)
    base = {k: v for k, v in kw.items() if k != "ranges"}
    rows = tornado(lines, base, settings.assumptions, route=tornado_route, procurement=routes[tornado_route])
    return CostAnalysis(agency=agency, deployment_id=schedule.deployment_id, basis=basis, settings=settings,
                        lines=lines, contract=contract, routes=routes, tornado=rows, tornado_route=tornado_route)


def compare_contracts(schedules: Mapping[str, PriceSchedule], agency: AgencyProfile, settings: CostSettings,
                      peers: Mapping[str, Deployment] | None = None) -> tuple[dict[str, TCOResult], dict[str, str]]:
    """Every schedule scaled to the agency and costed alike; schedules that cannot be costed for
    this agency are returned apart with the reason (never as zero)."""
    peers = peers or {}
    results: dict[str, TCOResult] = {}
    problems: dict[str, str] = {}
    for dep_id, schedule in schedules.items():
        if not schedule.items:
            continue
        try:
            results[dep_id] = contract_tco(schedule, agency, settings, peers.get(dep_id))[1]
        except PricingError as exc:
            problems[dep_id] = str(exc)
    return results, problems
