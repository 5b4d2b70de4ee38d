"""Price schedules and ten-year total cost of ownership (TCO) of a permitting & licensing system.

Records, derived lines, scaling and the TCO; each route's own cost, the tornado and the
engine-level analysis are in :mod:`piggyback.engines.pricing_routes`.

A peer's price schedule (``data/pricing/price_items.csv``) is scaled to the prospective agency,
brought to today's prices and currency, and laid out year by year. Every line keeps its source,
confidence and kind, and carries the formula that produced it, so a committee can read the
arithmetic back.

Conventions, used everywhere in this module:

* **Rates are percentages.** ``discount_rate=5`` means 5 %/yr, as in the assumptions table.
* **Timing.** Year 1 is the analysis year (``price_year_target``). Every cash flow sits at the
  end of its year: one-time lines fall in year 1, recurring lines in each year 1..N. The NPV
  discounts year *t* by ``1 / (1 + r)^t``; so the NPV is below the total whenever ``r > 0``.
* **Price year.** A line priced in year *y* is brought to the analysis year by
  ``(1 + inflation)^(target - y)`` (one inflation rate for both currencies) before anything else.
* **Escalation.** A recurring line costs ``base × (1 + g)^(t - 1)`` in year *t*, where *g* is the
  line's own escalation or, when the source gives none, the default escalation assumption
  (the line says so).
* **Renewal.** A recurring line priced for fewer years than the horizon is assumed renewed at
  the escalated price for the remaining years (the line says so).
* **Scaling.** ``per_capita``, ``per_user`` and ``per_module`` amounts are prices per unit,
  multiplied by the agency's units. ``fixed`` and ``per_year`` amounts are the peer's own totals;
  they are scaled by ``(agency population / peer population) ^ elasticity`` with the size
  elasticity an assumption (0.5 by default: a town four times the size pays twice as much).
  Without both populations the peer's total is used unscaled, and the line says so.
* **Currency.** Converted last, at ``fx_cad_per_usd`` Canadian dollars per US dollar.
* **Range.** ``low``/``high`` are the total with every ranged assumption set, together, at the
  end of its range that lowers (raises) the total: a corner case, not a probability interval.
  The horizon and the legacy baseline are choices, not uncertainties, and are not ranged.
* **Legacy baseline.** ``legacy_annual`` (the running cost of the current system) is reported
  beside the total, escalated like a recurring line, never added to it.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from piggyback.core.errors import PiggybackError
from piggyback.core.models import MODULES, AgencyProfile, Assumption, Confidence, Currency, Deployment, SourceKind

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
PRICE_ITEMS_CSV = DATA_DIR / "pricing" / "price_items.csv"
ASSUMPTIONS_CSV = DATA_DIR / "assumptions" / "pricing.csv"

CATEGORIES: dict[str, str] = {
    "licence": "Licence",
    "subscription": "Subscription",
    "implementation": "Implementation",
    "data_migration": "Data migration",
    "training": "Training",
    "hosting": "Hosting",
    "maintenance": "Maintenance & support",
    "contingency": "Contingency",
}
#: Not a price-item category: the staff cost of the procurement route, added by ``cost_of_route``.
PROCUREMENT = "procurement"
COST_LINES: dict[str, str] = {**CATEGORIES, PROCUREMENT: "Procurement (staff)"}
BASES: dict[str, str] = {
    "fixed": "fixed amount",
    "per_user": "per staff user",
    "per_capita": "per resident",
    "per_module": "per module",
    "per_year": "per year",
}
RECURRENCES = ("one_time", "recurring")

Category = Literal["licence", "subscription", "implementation", "data_migration", "training", "hosting",
                   "maintenance", "contingency"]
Basis = Literal["fixed", "per_user", "per_capita", "per_module", "per_year"]
Recurrence = Literal["one_time", "recurring"]
Route = Literal["traditional", "piggyback"]

ROUTES: dict[str, str] = {"traditional": "Own RFP", "piggyback": "Piggyback on the peer's contract"}
#: Settings ids that replace a route's own cost (model and range) by the user's figure, in the
#: analysis currency. They are not rows of the assumptions table: the route's own cost is a model.
ROUTE_ASSUMPTION = {"traditional": "pricing.rfp_staff_cost", "piggyback": "pricing.due_diligence_cost"}
#: The route's own cost = fixed + per module × modules + share × contract value (see route_own_cost).
ROUTE_COMPONENTS: dict[str, tuple[str, str, str]] = {
    "traditional": ("pricing.rfp_fixed_cost", "pricing.rfp_cost_per_module", "pricing.rfp_share_of_value"),
    "piggyback": ("pricing.due_diligence_fixed", "pricing.due_diligence_per_module",
                  "pricing.due_diligence_share_of_value"),
}
#: The contract value a route's own cost depends on: the contract's cost over its first years.
CONTRACT_VALUE_YEARS = 5
LUMP_SHARE = "pricing.lump_sum_maintenance_share"
EXTRAPOLATION = "pricing.extrapolation_uncertainty"
#: A fixed peer total is scaled to an agency of 0.25× to 4× the peer's population without a
#: warning; beyond, the line is an extrapolation: warned, and its range widened by EXTRAPOLATION.
SCALE_LIMITS = (0.25, 4.0)
#: Notes that say a line was computed from a total (an even split), not read from the source.
_DERIVED_NOTE = re.compile(r"even split|split evenly|\d[\d,.]* ?/ ?\d+ ?=", re.I)

#: Which TCO keyword each assumption of the ``pricing`` group feeds.
ASSUMPTION_PARAMS: dict[str, str] = {
    "pricing.escalation_default": "escalation_default",
    "pricing.discount_rate": "discount_rate",
    "pricing.fx_cad_per_usd": "fx_cad_per_usd",
    "pricing.price_inflation": "inflation",
    "pricing.scale_elasticity": "elasticity",
    "pricing.staff_users_per_1000": "users_per_1000",
    "pricing.extrapolation_uncertainty": "extrapolation",
    "pricing.legacy_annual": "legacy_annual",
    "pricing.horizon_years": "horizon_years",
}
#: Keywords varied for low/high and the tornado (choices such as the horizon are not).
RANGED_PARAMS = ("fx_cad_per_usd", "escalation_default", "inflation", "elasticity", "users_per_1000",
                 "procurement_cost", "discount_rate", "extrapolation")
#: Assumptions with these ids feed the TCO only through ``cost_of_route``.
_ROUTE_ONLY = frozenset(ROUTE_ASSUMPTION.values())

SLUG = r"^[a-z0-9][a-z0-9-]{1,80}$"
OLD_PRICE_YEARS = 10


class PricingError(PiggybackError, ValueError):
    """A pricing input the user can fix (the message says how)."""


class NoPriceScheduleError(PricingError):
    """The peer has no price schedule on file."""


# ---------------------------------------------------------------------------------------------
# Records


def _blank_to_none(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and value.strip() == "":
        return None
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing markers
        return None
    return value


class PriceItem(BaseModel):
    """One priced line of a peer's contract, as its source gives it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True, allow_inf_nan=False)

    item_id: str = Field(pattern=SLUG)
    deployment_id: str = Field(pattern=SLUG)
    contract_ref: str | None = Field(default=None, max_length=300)
    category: Category
    description: str = Field(min_length=1, max_length=300)
    basis: Basis
    amount: float = Field(ge=0, le=10_000_000_000)
    currency: Currency
    price_year: int
    escalation_pct: float | None = Field(default=None, ge=-10, le=20)
    recurrence: Recurrence
    years: int | None = Field(default=None, ge=1, le=50)
    source_url: str | None = None
    confidence: Confidence
    kind: SourceKind
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("contract_ref", "escalation_pct", "years", "source_url", "note", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("price_year")
    @classmethod
    def _sensible_year(cls, value: int) -> int:
        latest = dt.date.today().year + 1
        if not 1970 <= value <= latest:
            raise ValueError(f"price_year {value} is not sensible: use the year of the source (1970-{latest})")
        return value

    @field_validator("source_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://\S+$", value):
            raise ValueError(f"{value!r} is not a web address (http:// or https://)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PriceItem:
        if self.recurrence == "one_time" and self.basis == "per_year":
            raise ValueError(f"{self.item_id}: basis per_year needs recurrence 'recurring'")
        if self.recurrence == "one_time" and self.years is not None:
            raise ValueError(f"{self.item_id}: 'years' is only for recurring items; leave it blank")
        if self.source_url is None and self.kind not in ("user-entered", "assumption"):
            raise ValueError(f"{self.item_id}: a {self.kind} item needs its source_url")
        return self


class PriceSchedule(BaseModel):
    """A peer's price items plus the peer facts they were priced for (the scaling base)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deployment_id: str = Field(pattern=SLUG)
    items: tuple[PriceItem, ...]
    peer_population: int | None = Field(default=None, gt=0)
    peer_population_year: int | None = Field(default=None, ge=1900, le=2100)
    peer_modules: tuple[str, ...] = ()
    peer_staff_users: int | None = Field(default=None, gt=0)
    #: item_id -> first year a recurring line is paid (1 unless a rule says otherwise).
    start_years: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> PriceSchedule:
        others = sorted({i.deployment_id for i in self.items} - {self.deployment_id})
        if others:
            raise ValueError(f"schedule {self.deployment_id} holds items of other deployments: {others}")
        ids = [i.item_id for i in self.items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate item_id(s) {dupes}")
        unknown = [m for m in self.peer_modules if m not in MODULES]
        if unknown:
            raise ValueError(f"unknown module code(s) {unknown}")
        return self

    @classmethod
    def for_peer(cls, items: Iterable[PriceItem], deployment_id: str,
                 peer: Deployment | None = None) -> PriceSchedule:
        """The items of ``deployment_id``, with the peer's population and modules as the base."""
        own = tuple(i for i in items if i.deployment_id == deployment_id)
        if peer is not None and peer.deployment_id != deployment_id:
            raise PricingError(f"peer {peer.deployment_id} is not deployment {deployment_id}")
        return cls(
            deployment_id=deployment_id,
            items=own,
            peer_population=peer.population if peer is not None and peer.population else None,
            peer_population_year=peer.population_year if peer is not None else None,
            peer_modules=tuple(peer.module_codes) if peer is not None else (),
        )


@dataclass(frozen=True)
class _ScaleContext:
    """What the scaling of one schedule to one agency depends on."""

    agency_name: str
    agency_population: int | None
    peer_id: str
    peer_population: int | None
    staff_users: int | None
    modules: tuple[str, ...]
    modules_from_peer: bool
    scale_fixed: bool


@dataclass(frozen=True)
class ScaledItem:
    """A price item scaled to the agency: still in the item's currency and price year."""

    item: PriceItem
    amount: float
    quantity: float
    formula: str
    elasticity: float
    users_per_1000: float
    flags: tuple[str, ...]
    context: _ScaleContext = field(repr=False)
    #: First year a recurring line is paid (2 for maintenance derived from a lump sum).
    first_year: int = 1
    #: Scaled beyond SCALE_LIMITS of the peer's size: its range is widened.
    extrapolated: bool = False

    @property
    def deployment_id(self) -> str:
        return self.item.deployment_id


# ---------------------------------------------------------------------------------------------
# Formatting (for formulas read aloud in a meeting)


def _num(value: float) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _pct(value: float) -> str:
    return f"{value:g}%"


# ---------------------------------------------------------------------------------------------
# Currency


def convert(amount: float, from_currency: str, to_currency: str, fx_cad_per_usd: float) -> float:
    """Convert between CAD and USD at ``fx_cad_per_usd`` Canadian dollars per US dollar."""
    for code in (from_currency, to_currency):
        if code not in ("CAD", "USD"):
            raise PricingError(f"unknown currency {code!r}: use CAD or USD")
    if not (isinstance(fx_cad_per_usd, (int, float)) and math.isfinite(fx_cad_per_usd) and fx_cad_per_usd > 0):
        raise PricingError(f"exchange rate {fx_cad_per_usd!r} must be a positive number of CAD per USD")
    if from_currency == to_currency:
        return float(amount)
    if from_currency == "USD":
        return float(amount) * fx_cad_per_usd
    return float(amount) / fx_cad_per_usd


# ---------------------------------------------------------------------------------------------
# Loading


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise PricingError(f"{path} is missing")
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def items_from_records(records: Iterable[Mapping[str, Any]]) -> list[PriceItem]:
    """Validate price items from rows (CSV dicts or a DataFrame's records); report every bad row."""
    items, problems = [], []
    for n, row in enumerate(records, start=1):
        clean = {k: _blank_to_none(v) for k, v in row.items() if k is not None}
        try:
            items.append(PriceItem.model_validate(clean))
        except ValidationError as exc:
            where = clean.get("item_id") or f"row {n}"
            reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors())
            problems.append(f"{where}: {reasons}")
    if problems:
        raise PricingError("invalid price item(s): " + " | ".join(problems))
    return items


def load_price_items(path: str | Path | None = None) -> list[PriceItem]:
    """Every price item of ``data/pricing/price_items.csv`` (or ``path``), validated."""
    return items_from_records(_read_csv(Path(path) if path else PRICE_ITEMS_CSV))


def load_price_schedules(path: str | Path | None = None,
                         peers: Mapping[str, Deployment] | None = None) -> dict[str, PriceSchedule]:
    """One schedule per deployment with items on file; ``peers`` supplies the scaling bases."""
    items = load_price_items(path)
    peers = peers or {}
    ids = list(dict.fromkeys(i.deployment_id for i in items))
    return {d: PriceSchedule.for_peer(items, d, peers.get(d)) for d in ids}


def schedule_for(deployment_id: str, schedules: Mapping[str, PriceSchedule]) -> PriceSchedule:
    """The peer's schedule, or :class:`NoPriceScheduleError` saying none is on file."""
    schedule = schedules.get(deployment_id)
    if schedule is None or not schedule.items:
        raise NoPriceScheduleError(
            f"No price schedule on file for {deployment_id}: the sources found give no prices for this "
            "contract. Enter the items from the peer's contract or council report to price it.")
    return schedule


def load_pricing_assumptions(path: str | Path | None = None) -> dict[str, Assumption]:
    """The ``pricing`` assumptions, validated, by assumption_id."""
    rows = _read_csv(Path(path) if path else ASSUMPTIONS_CSV)
    out: dict[str, Assumption] = {}
    for row in rows:
        clean = {k: _blank_to_none(v) for k, v in row.items()}
        try:
            out[clean["assumption_id"]] = Assumption.model_validate(clean)
        except ValidationError as exc:
            raise PricingError(f"assumption {clean.get('assumption_id')}: {exc.errors()[0]['msg']}") from None
    return out


@lru_cache(maxsize=1)
def _default_assumptions() -> dict[str, Assumption]:
    return load_pricing_assumptions()


def default_assumptions() -> dict[str, Assumption]:
    """The shipped ``pricing`` assumptions (a copy: edit freely)."""
    return dict(_default_assumptions())


def _assumption_for_param(param: str, assumptions: Mapping[str, Assumption]) -> Assumption | None:
    for aid, kwarg in ASSUMPTION_PARAMS.items():
        if kwarg == param and aid not in _ROUTE_ONLY and aid in assumptions:
            return assumptions[aid]
    return None


def _given(value: float | None, aid: str, assumptions: Mapping[str, Assumption] | None) -> float:
    """``value``, else the assumption's: the engine is given its data, it never reads a file."""
    if value is not None:
        return float(value)
    if assumptions is None or aid not in assumptions:
        raise PricingError(f"no value for {aid}: pass it, or the pricing assumptions from the store")
    return float(assumptions[aid].value)


def tco_kwargs_from_assumptions(assumptions: Mapping[str, Assumption] | Iterable[Assumption]) -> dict[str, Any]:
    """Keyword arguments for :func:`total_cost_of_ownership` from (edited) assumptions."""
    table = _as_table(assumptions)
    out: dict[str, Any] = {}
    for aid, a in table.items():
        kwarg = ASSUMPTION_PARAMS.get(aid)
        if kwarg is None or aid in _ROUTE_ONLY:
            continue
        if kwarg == "horizon_years":
            out[kwarg] = int(round(a.value))
        elif kwarg == "legacy_annual":
            out[kwarg] = a.value or None
        else:
            out[kwarg] = a.value
    out["ranges"] = {ASSUMPTION_PARAMS[aid]: (a.low, a.high) for aid, a in table.items()
                     if ASSUMPTION_PARAMS.get(aid) in RANGED_PARAMS and aid not in _ROUTE_ONLY
                     and a.low is not None and a.high is not None}
    return out


def _as_table(assumptions: Mapping[str, Assumption] | Iterable[Assumption | Mapping[str, Any]]) -> dict[str, Assumption]:
    if isinstance(assumptions, Mapping):
        values = assumptions.values()
    else:
        values = assumptions
    table = {}
    for a in values:
        a = a if isinstance(a, Assumption) else Assumption.model_validate({k: _blank_to_none(v) for k, v in a.items()})
        table[a.assumption_id] = a
    return table


# ---------------------------------------------------------------------------------------------
# Derived lines: even splits and lump sums


def derived_from(item: PriceItem) -> str | None:
    """What a derived line was computed from (its note says), or None for a line read from a source."""
    if item.kind != "derived":
        return None
    note = item.note or ""
    return note.split(": ", 1)[0].removeprefix("Derived from ") if note.startswith("Derived from ") else "its source"


_LOWER = {"high": "medium", "medium": "low", "low": "low"}


def label_derived(items: Iterable[PriceItem]) -> list[PriceItem]:
    """Lines whose note says they were computed from a total (e.g. 260,575 / 5 = 52,115 a year,
    an even split) are relabelled ``derived`` from their source, one confidence step lower: the
    source gives the total, not the line."""
    out = []
    for item in items:
        if item.kind in ("primary", "secondary", "vendor-stated") and _DERIVED_NOTE.search(item.note or ""):
            item = item.model_copy(update={
                "kind": "derived", "confidence": _LOWER[item.confidence],
                "note": f"Derived from a {item.kind} source ({item.source_url}) by an even split of its total: "
                        f"{item.note}"})
        out.append(item)
    return out


def spread_lump_sums(schedule: PriceSchedule, share_pct: float) -> PriceSchedule:
    """The lump-sum rule, explicit and labelled: a schedule whose source gives one-time licence or
    implementation amounts and no running cost at all is a lump sum for the system. The amount is
    paid once, in year 1 (licence and implementation); maintenance is added as a derived line of
    ``share_pct`` % of it a year, paid from year 2 (year 1 is under the purchase), escalated like
    any recurring line. Schedules with a recurring line are left as they are."""
    if any(i.recurrence == "recurring" for i in schedule.items):
        return schedule
    if not (math.isfinite(share_pct) and 0 <= share_pct <= 100):
        raise PricingError(f"lump-sum maintenance share {share_pct} % must be 0 to 100")
    lumps = [i for i in schedule.items if i.recurrence == "one_time" and i.category in ("licence", "implementation")
             and i.amount > 0]
    if not lumps or share_pct == 0:
        return schedule
    added, starts = [], dict(schedule.start_years)
    for i in lumps:
        basis = "per_year" if i.basis == "fixed" else i.basis
        d = PriceItem(
            item_id=f"{i.item_id[:70]}-upkeep", deployment_id=i.deployment_id, contract_ref=i.contract_ref,
            category="maintenance", description=f"Maintenance derived from: {i.description}"[:300], basis=basis,
            amount=round(i.amount * share_pct / 100, 2), currency=i.currency, price_year=i.price_year,
            recurrence="recurring", source_url=i.source_url, confidence="low", kind="derived",
            note=(f"Derived from {i.item_id} ({i.kind} source): Lump sum rule: the source gives one amount "
                  f"({_num(i.amount)} {i.currency}) and no running cost, so it is paid once in year 1 and "
                  f"maintenance is assumed at {share_pct:g}% of it a year from year 2 "
                  f"({LUMP_SHARE}, an assumption)."))
        added.append(d)
        starts[d.item_id] = 2
    return schedule.model_copy(update={"items": schedule.items + tuple(added), "start_years": starts})


def prepare_schedule(schedule: PriceSchedule, assumptions: Mapping[str, Assumption]) -> PriceSchedule:
    """A peer's schedule ready to cost: even splits labelled derived, lump sums spread."""
    items = tuple(label_derived(schedule.items))
    schedule = schedule.model_copy(update={"items": items})
    share = assumptions.get(LUMP_SHARE)
    return spread_lump_sums(schedule, share.value) if share is not None else schedule


# ---------------------------------------------------------------------------------------------
# Scaling


def _scale_one(item: PriceItem, ctx: _ScaleContext, elasticity: float, users_per_1000: float,
               first_year: int = 1) -> ScaledItem:
    unit = f"{_num(item.amount)} {item.currency}"
    flags: list[str] = []
    quantity = 1.0
    extrapolated = False
    if item.basis == "per_capita":
        if not ctx.agency_population:
            raise PricingError(f"{item.item_id} is priced per resident: enter the agency's population")
        quantity = float(ctx.agency_population)
        amount = item.amount * quantity
        formula = f"{unit}/resident × {_num(quantity)} residents = {_num(amount)} {item.currency}"
    elif item.basis == "per_user":
        if ctx.staff_users:
            quantity = float(ctx.staff_users)
            label = f"{_num(quantity)} staff users"
        elif ctx.agency_population:
            quantity = float(max(1, round(ctx.agency_population * users_per_1000 / 1000)))
            label = (f"{_num(quantity)} staff users (estimated: {users_per_1000:g} per 1,000 residents × "
                     f"{_num(ctx.agency_population)})")
            flags.append(f"Staff users not entered: estimated at {users_per_1000:g} per 1,000 residents (assumption).")
        else:
            raise PricingError(f"{item.item_id} is priced per staff user: enter the agency's staff users "
                               "or its population")
        amount = item.amount * quantity
        formula = f"{unit}/user × {label} = {_num(amount)} {item.currency}"
    elif item.basis == "per_module":
        if not ctx.modules:
            raise PricingError(f"{item.item_id} is priced per module: choose the modules the agency needs")
        quantity = float(len(ctx.modules))
        amount = item.amount * quantity
        formula = f"{unit}/module × {len(ctx.modules)} modules = {_num(amount)} {item.currency}"
        if ctx.modules_from_peer:
            flags.append(f"Agency modules not chosen: the peer's {len(ctx.modules)} modules are used.")
    else:
        per = "/yr" if item.basis == "per_year" else ""
        if not ctx.scale_fixed:
            amount = item.amount
            formula = f"{unit}{per} (priced for {ctx.agency_name}, not scaled)"
        elif elasticity == 0:
            amount = item.amount
            formula = f"{unit}{per} (peer's price, not scaled: size elasticity 0)"
        elif not ctx.agency_population or not ctx.peer_population:
            amount = item.amount
            missing = "agency" if not ctx.agency_population else f"peer ({ctx.peer_id})"
            formula = f"{unit}{per} (peer's price, not scaled: {missing} population unknown)"
            flags.append(f"Not scaled to the agency: the {missing} population is unknown.")
        else:
            ratio = ctx.agency_population / ctx.peer_population
            amount = item.amount * ratio ** elasticity
            formula = (f"{unit}{per} × ({_num(ctx.agency_population)} / {_num(ctx.peer_population)})^{elasticity:g}"
                       f" = {_num(amount)} {item.currency}{per}")
            flags.append(f"Peer's total scaled by population to the power {elasticity:g} (size elasticity, assumption).")
        if ctx.scale_fixed and ctx.agency_population and ctx.peer_population:
            ratio = ctx.agency_population / ctx.peer_population
            lo, hi = SCALE_LIMITS
            if not lo <= ratio <= hi:
                extrapolated = True
                flags.insert(0, f"Scaled beyond the {lo:g}×–{hi:g}× limit: {ctx.agency_name} is "
                                f"{f'{ratio:,.0f}' if ratio >= 10 else f'{ratio:.2g}'}× the "
                                f"population of {ctx.peer_id}; the peer's price is an extrapolation and its range "
                                "is widened (pricing.extrapolation_uncertainty).")
    return ScaledItem(item=item, amount=amount, quantity=quantity, formula=formula, elasticity=elasticity,
                      users_per_1000=users_per_1000, flags=tuple(flags), context=ctx, first_year=first_year,
                      extrapolated=extrapolated)


def scale_items(schedule: PriceSchedule, agency: AgencyProfile, peer: Deployment | None = None, *,
                elasticity: float | None = None, users_per_1000: float | None = None,
                scale_fixed: bool = True,
                assumptions: Mapping[str, Assumption] | None = None) -> list[ScaledItem]:
    """Scale a peer's schedule to the agency (see the module docstring for the rules).

    ``peer`` fills in the scaling base (population, modules) where the schedule has none.
    ``elasticity`` and ``users_per_1000`` left as None take the values of ``assumptions`` (the
    store's pricing assumptions); the engine reads no file.
    """
    if not schedule.items:
        raise NoPriceScheduleError(f"No price schedule on file for {schedule.deployment_id}.")
    if peer is not None and peer.deployment_id != schedule.deployment_id:
        raise PricingError(f"peer {peer.deployment_id} does not match schedule {schedule.deployment_id}")
    e = _given(elasticity, "pricing.scale_elasticity", assumptions)
    u = _given(users_per_1000, "pricing.staff_users_per_1000", assumptions)
    if not 0 <= e <= 1.5:
        raise PricingError(f"size elasticity {e} is out of range: use 0 (no scaling) to 1 (proportional)")
    if not 0 < u <= 100:
        raise PricingError(f"staff users per 1,000 residents {u} is out of range (0-100)")
    peer_pop = schedule.peer_population or (peer.population if peer is not None else None) or None
    peer_modules = schedule.peer_modules or (tuple(peer.module_codes) if peer is not None else ())
    ctx = _ScaleContext(
        agency_name=agency.name,
        agency_population=agency.population or None,
        peer_id=schedule.deployment_id,
        peer_population=peer_pop,
        staff_users=agency.staff_users or None,
        modules=tuple(agency.modules_needed) or tuple(peer_modules),
        modules_from_peer=not agency.modules_needed and bool(peer_modules),
        scale_fixed=scale_fixed,
    )
    return [_scale_one(item, ctx, e, u, schedule.start_years.get(item.item_id, 1)) for item in schedule.items]


def rescale(line: ScaledItem, *, elasticity: float | None = None, users_per_1000: float | None = None) -> ScaledItem:
    """The same line scaled with another elasticity or users-per-1,000 (for ranges)."""
    e = line.elasticity if elasticity is None else float(elasticity)
    u = line.users_per_1000 if users_per_1000 is None else float(users_per_1000)
    if e == line.elasticity and u == line.users_per_1000:
        return line
    return _scale_one(line.item, line.context, e, u, line.first_year)


# ---------------------------------------------------------------------------------------------
# Total cost of ownership


@dataclass(frozen=True)
class _Params:
    horizon_years: int
    currency: str
    fx_cad_per_usd: float
    discount_rate: float
    escalation_default: float
    price_year_target: int
    inflation: float
    procurement_cost: float
    elasticity: float | None
    users_per_1000: float | None
    extrapolation: float = 0.0


def _widened(line: ScaledItem, p: _Params) -> bool:
    """Is the line an extrapolation (beyond the size limits, older than OLD_PRICE_YEARS or derived
    from a lump sum)? Its range is widened by the extrapolation uncertainty."""
    return (line.extrapolated or p.price_year_target - line.item.price_year >= OLD_PRICE_YEARS
            or line.first_year > 1)


@dataclass
class TCOResult:
    """A total cost of ownership, year by year and line by line, with its range."""

    total: float
    npv: float
    low: float
    high: float
    npv_low: float
    npv_high: float
    currency: str
    horizon_years: int
    start_year: int
    by_year: list[dict[str, Any]]
    items: list[dict[str, Any]]
    per_resident: float | None
    population: int | None
    deployment_ids: list[str]
    assumptions_used: list[dict[str, Any]]
    range_method: str
    legacy_total: float | None = None
    legacy_npv: float | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def net_of_legacy(self) -> float | None:
        """The total less what keeping the legacy system would cost over the same horizon."""
        return None if self.legacy_total is None else self.total - self.legacy_total

    def by_category(self) -> dict[str, float]:
        """Horizon total per cost line (categories and procurement), zero lines left out."""
        sums = {k: sum(row[k] for row in self.by_year) for k in COST_LINES}
        return {k: v for k, v in sums.items() if v}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain types, money rounded to cents."""
        def money(x: float | None) -> float | None:
            return None if x is None else round(float(x), 2)
        return {
            "total": money(self.total), "npv": money(self.npv), "low": money(self.low), "high": money(self.high),
            "npv_low": money(self.npv_low), "npv_high": money(self.npv_high),
            "currency": self.currency, "horizon_years": self.horizon_years, "start_year": self.start_year,
            "per_resident": money(self.per_resident), "population": self.population,
            "deployment_ids": list(self.deployment_ids),
            "by_year": [{k: (money(v) if k in COST_LINES or k == "total" else v) for k, v in row.items()}
                        for row in self.by_year],
            "items": [{k: (money(v) if k in _MONEY_KEYS else v) for k, v in line.items()} for line in self.items],
            "assumptions_used": [dict(a) for a in self.assumptions_used],
            "range_method": self.range_method,
            "legacy_total": money(self.legacy_total), "legacy_npv": money(self.legacy_npv),
            "net_of_legacy": money(self.net_of_legacy),
            "warnings": list(self.warnings),
        }


#: Line flags that are also warnings of the whole result.
_WARNING_FLAGS = ("Not scaled", "Scaled beyond", "Price is from", "Lump sum")

_MONEY_KEYS = frozenset({"source_amount", "scaled_amount", "first_year", "total", "npv"})


def _line_cash_flows(line: ScaledItem, p: _Params) -> tuple[list[float], float, bool, float]:
    """Year-by-year amounts of one line in the target currency (index 0 = year 1)."""
    item = line.item
    infl = (1 + p.inflation / 100) ** (p.price_year_target - item.price_year)
    base = convert(line.amount * infl, item.currency, p.currency, p.fx_cad_per_usd)
    if p.extrapolation and _widened(line, p):
        base *= 1 + p.extrapolation / 100
    if item.recurrence == "one_time":
        return [base] + [0.0] * (p.horizon_years - 1), infl, False, 0.0
    esc_default = item.escalation_pct is None
    g = (p.escalation_default if esc_default else item.escalation_pct) / 100
    return ([0.0 if t + 1 < line.first_year else base * (1 + g) ** t for t in range(p.horizon_years)],
            infl, esc_default, g * 100)


def _discount(flows: Sequence[float], rate_pct: float) -> float:
    r = 1 + rate_pct / 100
    return sum(v / r ** (t + 1) for t, v in enumerate(flows))


def _evaluate(lines: Sequence[ScaledItem], p: _Params) -> tuple[float, float]:
    """Total and NPV only: the fast path used for ranges and the tornado."""
    if p.elasticity is not None or p.users_per_1000 is not None:
        lines = [rescale(ln, elasticity=p.elasticity, users_per_1000=p.users_per_1000) for ln in lines]
    flows = [0.0] * p.horizon_years
    for line in lines:
        for t, v in enumerate(_line_cash_flows(line, p)[0]):
            flows[t] += v
    flows[0] += p.procurement_cost
    return sum(flows), _discount(flows, p.discount_rate)


def _check_params(p: _Params) -> None:
    if p.currency not in ("CAD", "USD"):
        raise PricingError(f"unknown currency {p.currency!r}: use CAD or USD")
    if not 1 <= p.horizon_years <= 50:
        raise PricingError(f"horizon of {p.horizon_years} years is out of range: use 1 to 50 years")
    checks = [("discount rate", p.discount_rate, -5, 50), ("default escalation", p.escalation_default, -10, 20),
              ("inflation", p.inflation, -5, 30)]
    for name, value, lo, hi in checks:
        if not (math.isfinite(value) and lo <= value <= hi):
            raise PricingError(f"{name} {value} %/yr is out of range ({lo} to {hi}); rates are percentages")
    if not (math.isfinite(p.fx_cad_per_usd) and 0.2 <= p.fx_cad_per_usd <= 5):
        raise PricingError(f"exchange rate {p.fx_cad_per_usd} CAD per USD is not plausible (0.2 to 5)")
    if not (math.isfinite(p.procurement_cost) and p.procurement_cost >= 0):
        raise PricingError("procurement cost must be zero or more")
    if not 1970 <= p.price_year_target <= 2100:
        raise PricingError(f"analysis year {p.price_year_target} is not sensible")


def _range(lines: Sequence[ScaledItem], p: _Params, ranges: Mapping[str, tuple[float, float]],
           base: tuple[float, float]) -> tuple[float, float, float, float, list[str]]:
    """low/high of total and NPV: each ranged keyword at the end that lowers (raises) the metric, together."""
    evaluated = [base]
    ends: dict[str, tuple[tuple[float, float], tuple[float, float], float, float]] = {}
    for name, (lo, hi) in ranges.items():
        if name not in RANGED_PARAMS or lo is None or hi is None:
            continue
        at_lo = _evaluate(lines, replace(p, **{name: float(lo)}))
        at_hi = _evaluate(lines, replace(p, **{name: float(hi)}))
        evaluated += [at_lo, at_hi]
        ends[name] = (at_lo, at_hi, float(lo), float(hi))
    used = sorted(n for n, (a, b, _, _) in ends.items() if a != b)
    out = []
    for m in (0, 1):  # 0 = total, 1 = npv
        lows = {n: (lo if a[m] <= b[m] else hi) for n, (a, b, lo, hi) in ends.items()}
        highs = {n: (hi if a[m] <= b[m] else lo) for n, (a, b, lo, hi) in ends.items()}
        corners = [_evaluate(lines, replace(p, **lows)), _evaluate(lines, replace(p, **highs))]
        values = [v[m] for v in evaluated + corners]
        out += [min(values), max(values)]
    return out[0], out[1], out[2], out[3], used


def total_cost_of_ownership(
    items: Sequence[ScaledItem],
    horizon_years: int | None = None,
    currency: str = "CAD",
    fx_cad_per_usd: float | None = None,
    discount_rate: float | None = None,
    escalation_default: float | None = None,
    price_year_target: int | None = None,
    inflation: float | None = None,
    procurement_cost: float = 0.0,
    legacy_annual: float | None = None,
    *,
    elasticity: float | None = None,
    users_per_1000: float | None = None,
    extrapolation: float | None = None,
    population: int | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    procurement_source: Mapping[str, Any] | None = None,
    assumptions: Mapping[str, Assumption] | None = None,
) -> TCOResult:
    """Total cost of ownership of scaled price lines over ``horizon_years`` (see the module docstring).

    Keywords left as ``None`` take the named ``pricing`` assumption of ``assumptions`` (the store's;
    the engine reads no file) and the result says so in ``assumptions_used``. ``procurement_cost`` (target currency) is a year-1 line of its own;
    ``procurement_source`` describes it (name, source_url, kind, confidence). ``ranges`` maps
    keywords to (low, high); by default the ranges of the assumptions table. ``elasticity`` and
    ``users_per_1000`` re-scale the lines when given. ``legacy_annual`` (target currency per year)
    is a baseline reported beside the total.
    """
    if not items:
        raise NoPriceScheduleError("No price schedule on file: there are no price lines to cost.")
    defaults = _as_table(assumptions) if assumptions is not None else {}
    given = {"horizon_years": horizon_years, "fx_cad_per_usd": fx_cad_per_usd, "discount_rate": discount_rate,
             "escalation_default": escalation_default, "inflation": inflation}
    used: list[dict[str, Any]] = []
    values: dict[str, float] = {}
    for kwarg, value in given.items():
        a = _assumption_for_param(kwarg, defaults)
        if value is None:
            if a is None:
                raise PricingError(f"no value for {kwarg}: pass it, or the pricing assumptions from the store")
            value = a.value
        values[kwarg] = float(value)
        used.append({"param": kwarg, "assumption_id": a.assumption_id if a else None,
                     "name": a.name if a else kwarg, "value": float(value), "unit": a.unit if a else "",
                     "is_default": a is not None and float(value) == a.value, "kind": a.kind if a else "user-entered",
                     "applies": True})
    lines = list(items)
    if elasticity is not None or users_per_1000 is not None:
        lines = [rescale(ln, elasticity=elasticity, users_per_1000=users_per_1000) for ln in lines]
    e_used = sorted({ln.elasticity for ln in lines})
    u_used = sorted({ln.users_per_1000 for ln in lines})
    applies = {"elasticity": any("scaled by population" in f for ln in lines for f in ln.flags),
               "users_per_1000": any("Staff users not entered" in f for ln in lines for f in ln.flags)}
    for kwarg, aid, vals in (("elasticity", "pricing.scale_elasticity", e_used),
                             ("users_per_1000", "pricing.staff_users_per_1000", u_used)):
        a = defaults.get(aid)
        used.append({"param": kwarg, "assumption_id": aid, "name": a.name if a else kwarg,
                     "value": vals[0] if len(vals) == 1 else vals, "unit": a.unit if a else "",
                     "is_default": a is not None and vals == [a.value], "kind": a.kind if a else "assumption",
                     "applies": applies[kwarg]})
    p = _Params(
        horizon_years=int(values["horizon_years"]), currency=currency,
        fx_cad_per_usd=values["fx_cad_per_usd"], discount_rate=values["discount_rate"],
        escalation_default=values["escalation_default"],
        price_year_target=int(price_year_target or dt.date.today().year),
        inflation=values["inflation"], procurement_cost=float(procurement_cost or 0.0),
        elasticity=None, users_per_1000=None, extrapolation=float(extrapolation or 0.0),
    )
    if values["horizon_years"] != p.horizon_years:
        raise PricingError(f"horizon {values['horizon_years']} must be a whole number of years")
    _check_params(p)

    start = p.price_year_target
    by_year = [{"year": t + 1, "calendar_year": start + t, **{k: 0.0 for k in COST_LINES}, "total": 0.0}
               for t in range(p.horizon_years)]
    details: list[dict[str, Any]] = []
    warnings: list[str] = []
    for line in lines:
        item = line.item
        flows, infl, esc_default, g = _line_cash_flows(line, p)
        for t, v in enumerate(flows):
            by_year[t][item.category] += v
            by_year[t]["total"] += v
        flags = list(line.flags)
        if line.first_year > 1:
            flags.insert(0, f"Lump sum spread by rule: maintenance derived from {derived_from(item)}, paid from "
                            f"year {line.first_year}; an assumption, not a price in the source.")
        steps = [line.formula]
        amount_now = line.amount * infl
        if item.price_year != start:
            steps.append(f"× (1 + {_pct(p.inflation)})^({start} − {item.price_year}) = "
                         f"{_num(amount_now)} {item.currency} in {start} prices")
            if start - item.price_year >= OLD_PRICE_YEARS:
                flags.insert(0, f"Price is from {item.price_year} ({start - item.price_year} years old): "
                                "inflation-adjusted, indicative only; its range is widened "
                                "(pricing.extrapolation_uncertainty).")
        if item.currency != p.currency:
            rate = (f"× {p.fx_cad_per_usd:g} CAD/USD" if item.currency == "USD"
                    else f"÷ {p.fx_cad_per_usd:g} CAD/USD")
            steps.append(f"{rate} = {_num(flows[0])} {p.currency}")
        years_counted = 1
        renewal = False
        if item.recurrence == "recurring":
            years_counted = p.horizon_years
            steps.append(f"each year × (1 + {_pct(g)})^(year − 1), years {line.first_year}–{p.horizon_years}")
            if esc_default:
                flags.append(f"Escalation not in the source: default {_pct(g)}/yr assumed.")
            if item.years is not None and item.years < p.horizon_years:
                renewal = True
                flags.append(f"Source prices {item.years} year(s): renewal at the escalated price assumed "
                             f"for years {item.years + 1}–{p.horizon_years}.")
            elif item.years is None:
                flags.append("Source gives no term: assumed to recur over the whole horizon.")
        details.append({
            "item_id": item.item_id, "deployment_id": item.deployment_id, "category": item.category,
            "description": item.description, "basis": item.basis, "recurrence": item.recurrence,
            "source_amount": item.amount, "source_currency": item.currency, "price_year": item.price_year,
            "scaled_amount": line.amount, "first_year": flows[0], "years_priced": item.years,
            "years_counted": years_counted, "renewal_assumed": renewal,
            "escalation_pct": g if item.recurrence == "recurring" else None,
            "escalation_is_default": esc_default,
            "total": sum(flows), "npv": _discount(flows, p.discount_rate),
            "formula": "; ".join(steps), "flags": flags,
            "contract_ref": item.contract_ref, "source_url": item.source_url, "confidence": item.confidence,
            "kind": item.kind, "note": item.note, "derived_from": derived_from(item),
            "first_year_paid": line.first_year if item.recurrence == "recurring" else 1,
        })
        for f in flags:
            if f.startswith(_WARNING_FLAGS):
                warnings.append(f"{item.item_id}: {f}")
    if p.procurement_cost:
        by_year[0][PROCUREMENT] += p.procurement_cost
        by_year[0]["total"] += p.procurement_cost
        src = dict(procurement_source or {})
        details.append({
            "item_id": PROCUREMENT, "deployment_id": None, "category": PROCUREMENT,
            "description": src.get("name", "Procurement staff cost"), "basis": "fixed", "recurrence": "one_time",
            "source_amount": src.get("source_amount", p.procurement_cost),
            "source_currency": src.get("source_currency", p.currency), "price_year": start,
            "scaled_amount": p.procurement_cost, "first_year": p.procurement_cost, "years_priced": None,
            "years_counted": 1, "renewal_assumed": False, "escalation_pct": None, "escalation_is_default": False,
            "total": p.procurement_cost, "npv": p.procurement_cost / (1 + p.discount_rate / 100),
            "formula": src.get("formula", f"{_num(p.procurement_cost)} {p.currency} in year 1"),
            "flags": list(src.get("flags", [])), "contract_ref": None, "source_url": src.get("source_url"),
            "confidence": src.get("confidence", "low"), "kind": src.get("kind", "assumption"), "note": src.get("note"),
            "derived_from": None, "first_year_paid": 1,
        })
    flows = [row["total"] for row in by_year]
    total, npv = sum(flows), _discount(flows, p.discount_rate)

    if ranges is None:
        ranges = {ASSUMPTION_PARAMS[aid]: (a.low, a.high) for aid, a in defaults.items()
                  if ASSUMPTION_PARAMS.get(aid) in RANGED_PARAMS and aid not in _ROUTE_ONLY
                  and a.low is not None and a.high is not None}
    low, high, npv_low, npv_high, ranged = _range(lines, p, ranges, (total, npv))
    method = ("low/high: the total with " + (", ".join(ranged) or "no ranged assumption")
              + " set together at the end of each range that lowers (raises) it; a corner case, "
              "not a probability interval. Horizon and legacy baseline are not ranged.")

    pop = population or next((ln.context.agency_population for ln in lines if ln.context.agency_population), None)
    legacy_total = legacy_npv = None
    if legacy_annual:
        if legacy_annual < 0:
            raise PricingError("legacy running cost must be zero or more")
        legacy_flows = [legacy_annual * (1 + p.escalation_default / 100) ** t for t in range(p.horizon_years)]
        legacy_total, legacy_npv = sum(legacy_flows), _discount(legacy_flows, p.discount_rate)
    return TCOResult(
        total=total, npv=npv, low=low, high=high, npv_low=npv_low, npv_high=npv_high,
        currency=p.currency, horizon_years=p.horizon_years, start_year=start, by_year=by_year,
        items=details, per_resident=(total / pop) if pop else None, population=pop,
        deployment_ids=list(dict.fromkeys(ln.item.deployment_id for ln in lines)),
        assumptions_used=used, range_method=method, legacy_total=legacy_total, legacy_npv=legacy_npv,
        warnings=warnings,
    )
