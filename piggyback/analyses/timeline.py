"""The timeline analysis: how much sooner a piggyback on one peer's contract reaches go-live.

One chain, used by the Timeline page, ``python -m piggyback timeline`` and the business case
(PDF and Excel):

1. the phases from the store's timeline assumptions (``store.assumptions("timeline")``);
2. pair-specific adjustments, each a named assumption row (``tl.adj.*``) and a plain reason:
   the approval path (contract value against the agency's delegated authority → a council cycle
   or a staff award), trade-agreement coverage above the thresholds in force (posting minimum,
   legal check), the size of the contract and the modules (evaluation, negotiation, scope,
   implementation), and the peer contract's known facts (vehicle, cooperative clause, another
   province or state);
3. the calibration the user chose (implementation from peers or from the track record);
4. the user's own ranges (overrides);
5. the simulation, with the phases of a route moving together (``tl.sim.correlation``).

Beside the model: the track record (the store's ``durations`` table), the peer contract's
availability and expiry against the planned go-live, and the vendor's duration claims.

``settings`` is the plain dict the page keeps in ``widgets.scenario_section("timeline")``:
``start`` (ISO date), ``seed``, ``draws``, ``method``, ``correlation``, ``overrides``
``{phase_id: {low, likely, high}}``, ``calibration`` (a calibration dict), ``contract_value``
(the user's estimate, in the agency's currency), ``delegated_authority`` (the user's figure: the
largest award staff may sign without council), ``value_of_time``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from piggyback.core import fmt
from piggyback.engines import timeline as tl
from piggyback.core.models import number_or_none, AgencyProfile, is_blank, partial_date_mid, weakest_confidence

CALIBRATIONS = ("peers", "track_record")  # settings["calibrate"]: implementation from … (or None)
DEFAULT_CORRELATION = 0.5  # used only if the store has no tl.sim.correlation row
FEW = 5  # fewer observations than this: say how many
COUNCIL_PHASES = {"traditional": "tl.rfp.award", "piggyback": "tl.pb.council"}
SIZE_PHASES = ("tl.rfp.evaluation", "tl.rfp.negotiation", "tl.pb.scope_price", "tl.impl.golive")
START_EVENTS = ("contract_signed", "council_approval", "council_award_item", "council_approval_item",
                "board_approval", "implementation_start")
PROCUREMENT_START = ("rfp_issued", "needs_approved", "needs_assessment", "route_proposed",
                     "proposals_due", "needs_referral")
AWARD_EVENTS = ("council_approval", "council_award_item", "council_approval_item", "board_approval",
                "contract_signed")
REQUIRED = ("tl.adj.value_per_resident", "tl.adj.value_floor", "tl.adj.size_small_below",
            "tl.adj.size_small_factor", "tl.adj.size_large_above", "tl.adj.size_large_factor",
            "tl.adj.base_modules", "tl.adj.eval_per_module", "tl.adj.impl_per_module", "tl.adj.missing_module",
            "tl.adj.staff_approval", "tl.adj.dd_unknown_vehicle", "tl.adj.legal_unknown_clause",
            "tl.adj.legal_cross_region", "tl.adj.trade_legal", "tl.adj.cfta_min_posting",
            "tl.adj.ceta_min_posting")
ROUTE_OF_VEHICLE = {"own_rfp": "traditional", "cooperative": "piggyback", "interlocal": "piggyback"}


class TimelineSettingsError(tl.TimelineError):
    """The saved or entered timeline settings cannot be used (the message says why)."""


# --------------------------------------------------------------------------- settings



def _assumption_values(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    out = {}
    for rec in frame.to_dict("records"):
        out[str(rec["assumption_id"])] = {
            "value": number_or_none(rec.get("value")), "low": number_or_none(rec.get("low")), "high": number_or_none(rec.get("high")),
            "name": rec.get("name"), "kind": rec.get("kind") or "assumption",
            "source_url": None if is_blank(rec.get("source_url")) else rec.get("source_url"),
            "unit": rec.get("unit"), "note": None if is_blank(rec.get("note")) else rec.get("note")}
    return out


def normalise_settings(settings: Mapping[str, Any] | None, today: dt.date,
                       correlation_default: float = DEFAULT_CORRELATION) -> dict[str, Any]:
    """The settings with every default filled in (plain JSON-able values)."""
    s = dict(settings or {})
    start = s.get("start")
    if isinstance(start, dt.date):
        start = start.isoformat()
    if start:
        try:
            dt.date.fromisoformat(str(start))
        except ValueError:
            raise TimelineSettingsError(f"The timeline start date {start!r} is not a date (YYYY-MM-DD).") from None
    overrides = s.get("overrides") or {}
    if not isinstance(overrides, Mapping):
        raise TimelineSettingsError("The saved timeline edits are not a {phase id: {low, likely, high}} table.")
    method = s.get("method") or "pert"
    if method not in tl.METHODS:
        raise TimelineSettingsError(f"The method must be one of {', '.join(tl.METHODS)}, not {method!r}.")
    corr = number_or_none(s.get("correlation"))
    return {
        "start": str(start) if start else tl.first_of_next_month(today).isoformat(),
        "seed": int(s.get("seed") or 0),
        "draws": max(tl.MIN_DRAWS, int(s.get("draws") or tl.MIN_DRAWS)),
        "method": method,
        "correlation": correlation_default if corr is None else corr,
        "overrides": {k: dict(v) for k, v in overrides.items()},
        "calibration": s.get("calibration") if isinstance(s.get("calibration"), Mapping) else None,
        "calibrate": s.get("calibrate") if s.get("calibrate") in CALIBRATIONS else None,
        "contract_value": number_or_none(s.get("contract_value")),
        "delegated_authority": number_or_none(s.get("delegated_authority")),
        "value_of_time": dict(s.get("value_of_time") or {}),
    }


def apply_table_edits(base_phases: Sequence[tl.Phase], rows: Sequence[Mapping[str, Any]],
                      edited_rows: Mapping[Any, Mapping[str, Any]], overrides: Mapping[str, Any],
                      ) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, str]]:
    """The assumptions table's edits (``edited_rows``: row index -> changed cells, as the editor
    reports them) applied to the rows shown: the new overrides, the rows still in error as typed
    (phase id -> {low, likely, high}) and why each is in error. A row in error keeps its last
    valid override, so the model uses its last valid range until it is fixed."""
    rows = [dict(r) for r in rows]
    for i, change in edited_rows.items():
        rows[int(i)].update(change)
    new, errors = tl.overrides_from_table(base_phases, rows)
    new.update({pid: overrides[pid] for pid in errors if pid in overrides})
    pending = {r["id"]: {k: r.get(k) for k in tl.RANGE_KEYS} for r in rows if r["id"] in errors}
    return new, pending, errors


# --------------------------------------------------------------------------- adjustments


@dataclass(frozen=True)
class Adjustment:
    """One pair-specific change to one phase, traced to its named input and assumption."""

    key: str                 # stable name of the input, e.g. "approval_path"
    phase_id: str
    assumption_id: str | None
    before: tuple[float, float, float]
    after: tuple[float, float, float]
    reason: str

    @property
    def delta_likely(self) -> float:
        return self.after[1] - self.before[1]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "phase_id": self.phase_id, "assumption_id": self.assumption_id,
                "before": [round(v, 4) for v in self.before], "after": [round(v, 4) for v in self.after],
                "delta_likely": round(self.delta_likely, 4), "reason": self.reason}


class _Phases:
    """Mutable working copy of the phases' ranges while adjustments are applied."""

    def __init__(self, phases: Sequence[tl.Phase]):
        self.by_id = {p.id: p for p in phases}
        self.order = [p.id for p in phases]
        self.log: list[Adjustment] = []

    def rng(self, pid: str) -> tuple[float, float, float]:
        p = self.by_id[pid]
        return (p.low, p.likely, p.high)

    def set(self, key: str, pid: str, new: tuple[float, float, float], aid: str | None, reason: str,
            name: str | None = None, explain: bool = False) -> None:
        """Change a phase's range (logged); ``explain`` logs the decision even when nothing moves."""
        if pid not in self.by_id:
            return
        old = self.rng(pid)
        new = tuple(round(max(0.0, v), 4) for v in new)
        new = (new[0], max(new[0], new[1]), max(new[0], new[1], new[2]))
        if new == old and name is None and not explain:
            return
        p = self.by_id[pid]
        note = (p.note + " " if p.note else "") + f"Adjusted: {reason}"
        self.by_id[pid] = p.model_copy(update={"low": new[0], "likely": new[1], "high": new[2],
                                               "name": name or p.name, "note": note})
        self.log.append(Adjustment(key, pid, aid, old, new, reason))

    def add(self, key: str, pid: str, amount: tuple[float, float, float], aid: str, reason: str) -> None:
        old = self.rng(pid) if pid in self.by_id else None
        if old is None:
            return
        self.set(key, pid, tuple(o + a for o, a in zip(old, amount)), aid, reason)

    def scale(self, key: str, pid: str, factor: float, aid: str, reason: str) -> None:
        if pid in self.by_id:
            self.set(key, pid, tuple(v * factor for v in self.rng(pid)), aid, reason)

    def phases(self) -> list[tl.Phase]:
        return [self.by_id[i] for i in self.order]


def _triple(a: Mapping[str, Any]) -> tuple[float, float, float]:
    v = a["value"]
    return (a["low"] if a["low"] is not None else v, v, a["high"] if a["high"] is not None else v)


def _in_force(row: Mapping[str, Any], day: dt.date) -> bool:
    frm, to = row.get("effective_from"), row.get("effective_to")
    if not is_blank(frm) and dt.date.fromisoformat(str(frm)[:10]) > day:
        return False
    if not is_blank(to) and dt.date.fromisoformat(str(to)[:10]) < day:
        return False
    return True


def threshold_in_force(thresholds: pd.DataFrame, key: str, category: str, day: dt.date) -> dict[str, Any] | None:
    """The ``thresholds`` row for ``key``/``category`` in force on ``day`` (amount may be None:
    blank in the data, never guessed), or None when no row covers the day."""
    rows = [r for r in thresholds.to_dict("records")
            if r["threshold_key"] == key and r["category"] == category and _in_force(r, day)]
    if not rows:
        return None
    # the narrowest dated row wins over an undated one
    rows.sort(key=lambda r: (is_blank(r.get("effective_from")), str(r.get("effective_from"))), reverse=False)
    r = rows[0]
    return {"key": key, "agreement": r["agreement"], "amount": number_or_none(r.get("amount")),
            "currency": r.get("currency"), "effective_from": None if is_blank(r.get("effective_from"))
            else str(r["effective_from"]), "effective_to": None if is_blank(r.get("effective_to"))
            else str(r["effective_to"]), "source_url": r.get("source_url")}


def delegated_authority(table: pd.DataFrame, profile: AgencyProfile) -> dict[str, Any] | None:
    """The agency's row of the ``delegated_authority`` table (by municipality and province)."""
    name = profile.name.split(",")[0].strip().lower()
    for r in table.to_dict("records"):
        if str(r.get("municipality", "")).strip().lower() == name and \
                str(r.get("province", "")).strip().upper() == profile.region.upper():
            return {"municipality": r["municipality"], "council_above": number_or_none(r.get("council_approval_above")),
                    "non_competitive_limit": number_or_none(r.get("non_competitive_limit")),
                    "currency": r.get("currency"), "bylaw": r.get("bylaw"), "source_url": r.get("source_url"),
                    "quote": r.get("quote")}
    return None


def _money(x: float | None, cur: str) -> str:
    return fmt.BLANK if x is None else f"{fmt.sig(x):,.0f} {cur}"


def _modules(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [m.strip() for m in value.replace(";", ",").split(",") if m.strip()]
    return [str(m) for m in list(value)]


def pair_inputs(store, profile: AgencyProfile, peer: Mapping[str, Any] | None, contract: Mapping[str, Any] | None,
                s: Mapping[str, Any], a: Mapping[str, Mapping[str, Any]], start: dt.date) -> dict[str, Any]:
    """What differs between this agency and this peer, each input with where it came from."""
    cur = "CAD" if profile.country == "CA" else "USD"
    if s["contract_value"] is not None:
        value, basis = s["contract_value"], "entered by user"
    else:
        per = a["tl.adj.value_per_resident"]["value"]
        floor = a["tl.adj.value_floor"]["value"]
        pop = profile.population or 0
        value = max(floor, pop * per)
        basis = (f"estimated: {pop:,} residents × {per:g} {cur} (tl.adj.value_per_resident), at least "
                 f"{floor:,.0f} (tl.adj.value_floor); enter the contract value to replace it")
    authority = delegated_authority(store.table("delegated_authority"), profile) \
        if "delegated_authority" in store.tables() else None
    if s["delegated_authority"] is not None:
        authority = {"municipality": profile.name, "council_above": s["delegated_authority"],
                     "non_competitive_limit": s["delegated_authority"], "currency": cur, "bylaw": None,
                     "source_url": None, "quote": None, "entered_by_user": True}
    trade = []
    if profile.country == "CA":
        thresholds = store.table("thresholds")
        for key, agreement in (("cfta_mash_goods_services", "CFTA"), ("ceta_municipal_goods_services", "CETA")):
            row = threshold_in_force(thresholds, key, "services", start)
            trade.append({"agreement": agreement, "key": key, "row": row,
                          "amount": None if row is None else row["amount"],
                          "covered": None if row is None or row["amount"] is None else value >= row["amount"]})
    needed = list(profile.modules_needed)
    peer_modules = _modules(peer.get("module_codes")) if peer is not None else []
    missing = [m for m in needed if peer_modules and m not in peer_modules]
    vehicle = None
    clause = None
    if peer is not None:
        vehicle = (contract or {}).get("vehicle") or peer.get("vehicle") or "unknown"
        clause = None if contract is None or is_blank(contract.get("coop_clause")) else contract.get("coop_clause")
    return {"currency": cur, "contract_value": value, "contract_value_basis": basis,
            "delegated_authority": authority, "trade_agreements": trade, "modules_needed": needed,
            "peer_modules": peer_modules, "missing_modules": missing, "vehicle": vehicle, "coop_clause": clause,
            "peer_region": None if peer is None else f"{peer.get('region')}, {peer.get('country')}",
            "cross_region": None if peer is None else (peer.get("region"), peer.get("country"))
            != (profile.region, profile.country)}


def adjust_phases(phases: Sequence[tl.Phase], inputs: Mapping[str, Any], a: Mapping[str, Mapping[str, Any]],
                  has_peer: bool) -> tuple[list[tl.Phase], list[Adjustment]]:
    """Apply the pair-specific adjustments; every change is logged with its input and reason."""
    w = _Phases(phases)
    cur = inputs["currency"]
    value = inputs["contract_value"]
    # approval path -------------------------------------------------------------------------
    auth = inputs["delegated_authority"]
    staff = _triple(a["tl.adj.staff_approval"])
    where = "entered by user" if auth and auth.get("entered_by_user") else "data/compliance/delegated_authority.csv"
    if auth is None or auth["council_above"] is None:
        why = ("no delegated authority on file for this agency" if auth is None else
               f"the delegated authority of {auth['municipality']} is not confirmed ({where})")
        for route, pid in COUNCIL_PHASES.items():
            if pid in w.by_id:
                w.set("approval_path", pid, w.rng(pid), None,
                      f"council cycle kept: {why}; enter the authority to change it", explain=True)
    else:
        limit = auth["council_above"]
        nc = auth.get("non_competitive_limit")
        for route, pid in COUNCIL_PHASES.items():
            route_limit = limit if route == "traditional" else nc
            if route_limit is None:
                w.set("approval_path", pid, w.rng(pid), None,
                      f"council cycle kept: staff may award competitive solicitations up to {_money(limit, cur)} "
                      f"({where}), but no limit for a purchase without its own competition (piggyback) is "
                      "on file", explain=True)
            elif value <= route_limit:
                w.set("approval_path", pid, staff, "tl.adj.staff_approval",
                      f"staff award, no council cycle: the contract value {_money(value, cur)} is within the "
                      f"delegated authority of {_money(route_limit, cur)} ({where})",
                      name=("New RFP: award by staff (delegated authority)" if route == "traditional"
                            else "Piggyback: approval by staff (delegated authority)"))
            else:
                w.set("approval_path", pid, w.rng(pid), None,
                      f"council cycle: the contract value {_money(value, cur)} is above the delegated "
                      f"authority of {_money(route_limit, cur)} ({where})", explain=True)
    # trade agreements ----------------------------------------------------------------------
    for t in inputs["trade_agreements"]:
        if t["covered"] is None and "tl.rfp.posting" in w.by_id:
            w.set("trade_agreement_unknown", "tl.rfp.posting", w.rng("tl.rfp.posting"), None,
                  f"{t['agreement']}: no threshold for the decision date is on file (blank in "
                  "data/compliance/thresholds.csv, never guessed), so its coverage is not applied", explain=True)
    covered = [t for t in inputs["trade_agreements"] if t["covered"]]
    for t in covered:
        aid = "tl.adj.cfta_min_posting" if t["agreement"] == "CFTA" else "tl.adj.ceta_min_posting"
        floor = a[aid]["value"]
        low, likely, high = w.rng("tl.rfp.posting") if "tl.rfp.posting" in w.by_id else (0, 0, 0)
        w.set("trade_agreement", "tl.rfp.posting", (max(low, floor), max(likely, floor), max(high, floor)), aid,
              f"{t['agreement']} covers the purchase: {_money(value, cur)} is at or above its threshold of "
              f"{_money(t['amount'], cur)} in force, so the RFP stays open at least {floor:g} months")
    if covered and has_peer:
        names = " and ".join(t["agreement"] for t in covered)
        w.add("trade_agreement", "tl.pb.legal", _triple(a["tl.adj.trade_legal"]), "tl.adj.trade_legal",
              f"{names} covers the purchase: legal confirms the lead agency's solicitation met its rules")
    # size ----------------------------------------------------------------------------------
    small, large = a["tl.adj.size_small_below"]["value"], a["tl.adj.size_large_above"]["value"]
    if value < small or value > large:
        aid = "tl.adj.size_small_factor" if value < small else "tl.adj.size_large_factor"
        factor = a[aid]["value"]
        band = (f"small contract: {_money(value, cur)} is below {_money(small, cur)}" if value < small else
                f"large contract: {_money(value, cur)} is above {_money(large, cur)}")
        for pid in SIZE_PHASES:
            w.scale("contract_size", pid, factor, aid, f"{band}, so × {factor:g}")
    # modules -------------------------------------------------------------------------------
    base = int(a["tl.adj.base_modules"]["value"])
    extra = len(inputs["modules_needed"]) - base
    if extra > 0:
        w.add("modules", "tl.rfp.evaluation", tuple(extra * v for v in _triple(a["tl.adj.eval_per_module"])),
              "tl.adj.eval_per_module", f"{len(inputs['modules_needed'])} modules needed, {extra} more than the "
              f"{base} the seeded ranges assume")
        w.add("modules", "tl.impl.golive", tuple(extra * v for v in _triple(a["tl.adj.impl_per_module"])),
              "tl.adj.impl_per_module", f"{len(inputs['modules_needed'])} modules needed, {extra} more than {base}")
    # the peer contract's facts -------------------------------------------------------------
    if has_peer:
        missing = inputs["missing_modules"]
        if missing:
            w.add("peer_scope", "tl.pb.scope_price",
                  tuple(len(missing) * v for v in _triple(a["tl.adj.missing_module"])), "tl.adj.missing_module",
                  f"{len(missing)} module(s) needed that the peer's contract does not cover: "
                  + ", ".join(missing))
        if inputs["vehicle"] in (None, "unknown"):
            w.add("peer_vehicle", "tl.pb.due_diligence", _triple(a["tl.adj.dd_unknown_vehicle"]),
                  "tl.adj.dd_unknown_vehicle", "how the peer's contract was procured (its vehicle) is unknown")
        if inputs["coop_clause"] is None and inputs["vehicle"] not in ("cooperative", "interlocal"):
            w.add("peer_clause", "tl.pb.legal", _triple(a["tl.adj.legal_unknown_clause"]),
                  "tl.adj.legal_unknown_clause", "no cooperative-use clause is on record for the peer's contract")
        if inputs["cross_region"]:
            w.add("peer_region", "tl.pb.legal", _triple(a["tl.adj.legal_cross_region"]),
                  "tl.adj.legal_cross_region", f"the peer is in {inputs['peer_region']}, not the agency's own province or state")
    return w.phases(), w.log


# --------------------------------------------------------------------------- track record


def _mid(text: str) -> dt.date:
    return partial_date_mid(text)


def _span(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    months = (_mid(str(b["date"])) - _mid(str(a["date"]))).days / tl.DAYS_PER_MONTH
    precision = max(str(a["date_precision"]), str(b["date_precision"]),
                    key=lambda p: {"day": 0, "month": 1, "year": 2}.get(p, 2))
    return {"months": round(months, 1), "precision": precision, "approximate": precision == "year"}


def track_record(durations: pd.DataFrame) -> dict[str, Any]:
    """Observed durations from the ``durations`` table, per agency, with route, source and precision.

    * ``implementation``: from the agency's first award / contract event to its last go-live
      (``status = "go-live"``) or, when no go-live is recorded, to its latest revised plan
      (``status = "revised plan"``: not a confirmed go-live, so the project took at least that long).
    * ``slippage``: the first planned go-live against the last go-live or revised plan.
    * ``procurement``: from the first start event (RFP issued, needs approved, route proposed…)
      to the first award event; the start event is named because it is not the same everywhere.
    """
    rows = durations.to_dict("records")
    by_agency: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if is_blank(r.get("date")):
            continue
        r = dict(r)
        r["date"] = str(r["date"])
        by_agency.setdefault(str(r["agency"]), []).append(r)
    impl, slip, proc = [], [], []
    for agency, evs in sorted(by_agency.items()):
        evs.sort(key=lambda r: _mid(r["date"]))
        starts = [e for e in evs if e["event_type"] in START_EVENTS]
        golives = [e for e in evs if e["event_type"] == "go_live"]
        plans = [e for e in evs if e["event_type"] == "planned_go_live"]
        base = {"agency": agency, "deployment_id": None if is_blank(evs[0].get("deployment_id"))
                else evs[0]["deployment_id"], "route": evs[0].get("route")}
        if starts:
            s0 = starts[0]
            end, status = None, None
            if golives:
                end, status = golives[-1], "go-live"
            elif len(plans) >= 2:
                end, status = plans[-1], "revised plan"
            if end is not None and _mid(end["date"]) > _mid(s0["date"]):
                sp = _span(s0, end)
                impl.append({**base, **sp, "status": status, "from_event": s0["event"], "from": s0["date"],
                             "to_event": end["event"], "to": end["date"],
                             "sources": sorted({s0["source_url"], end["source_url"]}),
                             "source_kind": end["source_kind"],
                             "confidence": weakest_confidence(s0.get("confidence"), end.get("confidence"))})
            if plans and end is not None and end is not plans[0] and _mid(end["date"]) > _mid(plans[0]["date"]):
                planned = _span(s0, plans[0])
                actual = _span(s0, end)
                if planned["months"] > 0:
                    slip.append({**base, "planned_months": planned["months"], "actual_months": actual["months"],
                                 "ratio": round(actual["months"] / planned["months"], 2), "status": status,
                                 "from": s0["date"], "planned": plans[0]["date"], "to": end["date"],
                                 "sources": sorted({s0["source_url"], plans[0]["source_url"], end["source_url"]})})
        pstarts = [e for e in evs if e["event_type"] in PROCUREMENT_START]
        if pstarts:
            awards = [e for e in evs if e["event_type"] in AWARD_EVENTS and _mid(e["date"]) > _mid(pstarts[0]["date"])]
            if awards:
                sp = _span(pstarts[0], awards[0])
                proc.append({**base, **sp, "model_route": ROUTE_OF_VEHICLE.get(base["route"]),
                             "from_event": pstarts[0]["event"], "from": pstarts[0]["date"],
                             "to_event": awards[0]["event"], "to": awards[0]["date"],
                             "sources": sorted({pstarts[0]["source_url"], awards[0]["source_url"]})})
    return {"implementation": impl, "slippage": slip, "procurement": proc,
            "agencies": len(by_agency), "rows": len(rows)}


def calibration_from_track_record(track: Mapping[str, Any]) -> dict[str, Any]:
    """Implementation low / likely / high = min / median / max of the recorded contract-to-go-live
    spans with month or day precision (go-lives and the latest revised plans, which are lower
    bounds); year-only spans are too coarse and are left out. Shape of
    :func:`piggyback.engines.timeline.calibrate_implementation` so :func:`apply_calibration` takes it."""
    used = [o for o in track["implementation"] if not o["approximate"]]
    if not used:
        return {"low": None, "likely": None, "high": None, "n_peers": 0, "peer_ids": [], "approximate": None,
                "basis": "track record", "reason": "no recorded contract-to-go-live span has month precision"}
    months = [o["months"] for o in used]
    reasons = []
    if len(used) < FEW:
        reasons.append(f"n = {len(used)} observations")
    if any(o["status"] != "go-live" for o in used):
        reasons.append("a revised plan counts as the shortest the project took (its go-live is not recorded)")
    return {"low": round(min(months), 2), "likely": round(statistics.median(months), 2),
            "high": round(max(months), 2), "n_peers": len(used), "peer_ids": [o["agency"] for o in used],
            "approximate": False, "basis": "track record", "reason": "; ".join(reasons) or None}


def n_note(n: int) -> str:
    """'(n = 2 observations)' where fewer than five observations inform a number, else ''."""
    return f" (n = {n} observation{'s' if n != 1 else ''})" if n < FEW else ""


def compare_track_record(track: Mapping[str, Any], sim: Mapping[str, Any]) -> dict[str, Any]:
    """The observations against the model's ranges, as counts and one sentence each."""
    p90 = sim["implementation"]["p90"]
    golives = [o for o in track["implementation"] if o["status"] == "go-live"]
    revised = [o for o in track["implementation"] if o["status"] == "revised plan"]
    longer = [o for o in golives if o["months"] > p90]
    revised_longer = [o for o in revised if o["months"] > p90]
    text = (f"Of {len(golives)} recorded go-lives with a start date, {len(longer)} took longer than this model's "
            f"implementation P90 of {fmt.months(p90)}{n_note(len(golives))}.")
    if revised:
        text += (f" {len(revised)} more projects have no recorded go-live; their latest revised plans alone ran to "
                 + ", ".join(fmt.months(o["months"]) for o in revised)
                 + f" ({len(revised_longer)} beyond the P90).")
    slip = track["slippage"]
    slip_text = None
    if slip:
        ratios = [o["ratio"] for o in slip]
        slip_text = ("Planned against actual (or latest revised) go-live: "
                     + "; ".join(f"{o['agency']} planned {fmt.months(o['planned_months'])}, took "
                                 f"{'at least ' if o['status'] != 'go-live' else ''}{fmt.months(o['actual_months'])}"
                                 for o in slip)
                     + f". Median slippage × {statistics.median(ratios):.1f}{n_note(len(slip))}.")
    proc_rows = []
    for o in track["procurement"]:
        route = o.get("model_route")
        model = None if route is None else sim["routes"][route]["award_months"]
        proc_rows.append({**o, "model_p10": None if model is None else model["p10"],
                          "model_p90": None if model is None else model["p90"]})
    return {"golives": len(golives), "longer_than_p90": len(longer), "revised_plans": len(revised),
            "revised_longer_than_p90": len(revised_longer), "implementation_p90": p90, "text": text,
            "slippage_text": slip_text, "procurement": proc_rows}


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class TimelineResult:
    """The timeline of one agency and one candidate peer (or none), for every renderer."""

    agency: dict[str, Any]
    peer: dict[str, Any] | None
    settings: dict[str, Any]
    inputs: dict[str, Any]
    seeded: list[dict[str, Any]]
    phases: list[tl.Phase]
    base_phases: list[tl.Phase]          # after adjustments and calibration, before the user's edits
    override_errors: dict[str, str]      # edits left out, with why (kept in the settings as typed)
    adjustments: list[Adjustment]
    calibration: dict[str, Any] | None
    overrides: dict[str, dict[str, float]]
    simulation: dict[str, Any]
    track: dict[str, Any]
    comparison: dict[str, Any]
    flags: list[dict[str, Any]]
    vendor_claims: list[dict[str, Any]]
    assumptions: list[dict[str, Any]]
    judgement_share: float
    engine: tl.TimelineResult | None = field(default=None, repr=False, compare=False)

    # ---- the figures, worded once --------------------------------------------------------
    @property
    def months_saved(self) -> dict[str, float]:
        return self.simulation["months_saved"]

    @property
    def prob_piggyback_faster(self) -> float:
        return self.simulation["prob_piggyback_faster"]

    def display(self) -> dict[str, str]:
        """Every headline figure as the words page, CLI, PDF and Excel show (one place)."""
        ms = self.months_saved
        out = {"months_saved": fmt.months(ms["p50"]),
               "months_saved_range": fmt.months_range(ms["p10"], ms["p90"]),
               "prob_faster": fmt.probability(self.prob_piggyback_faster),
               "implementation_p90": fmt.months(self.simulation["implementation"]["p90"]),
               "track_record": self.comparison["text"]}
        for route in tl.ROUTES:
            gl = self.simulation["routes"][route]["go_live"]
            out[f"golive_{route}"] = fmt.month_date(gl["p50"])
            out[f"golive_{route}_range"] = f"P10–P90 {fmt.month_date(gl['p10'])} – {fmt.month_date(gl['p90'])}"
        return out

    def rests_on(self) -> str:
        """What the figures rest on, in one sentence (the metrics' help)."""
        sim = self.simulation
        return (f"{sim['draws']:,} draws, {'PERT' if sim['method'] == 'pert' else 'Triangular'}, seed {sim['seed']}, "
                f"phases correlated {self.settings['correlation']:g}, from {sim['start']}; "
                f"{round(100 * self.judgement_share)}% of the procurement months rest on judgement. "
                "See the assumptions below.")

    def peer_sentence(self) -> str | None:
        """The candidate peer's published dates and award-to-go-live time (plain text)."""
        p = self.peer
        if p is None:
            return None
        facts = "; ".join(f"{label} {p[c]}" for c, label in (
            ("rfp_issued", "RFP issued"), ("contract_award", "contract award"), ("go_live", "go-live"))
            if p.get(c)) or "no dates published"
        span = p.get("award_to_golive_months")
        took = (f"{span:.1f} months ({p['award_to_golive_precision']} precision"
                + (", approximate)" if p.get("award_to_golive_approximate") else ")")
                if span is not None else "an unknown time (a date is not published)")
        return f"Candidate peer {p['jurisdiction']}: {facts}. Its contract award to go-live took {took}."

    def claim_lines(self) -> list[tuple[str, str, str]]:
        """Each vendor duration claim beside the model: (route label, the claim, the model's months)."""
        out = []
        for c in self.vendor_claims:
            award = self.simulation["routes"][c["route"]]["award_months"]
            out.append((tl.ROUTE_LABELS[c["route"]], str(c["claimed_value"]),
                        f"median {award['p50']:.1f} months (P10–P90 {award['p10']:.1f} to {award['p90']:.1f})"))
        return out

    def how_computed(self) -> str:
        """The method in five bullets (Markdown without user text), with the CLI line that repeats it."""
        sim = self.simulation
        return (
            "- The seeded phases are adjusted to this agency and contract (the table above), then any calibration "
            "and your edits apply.\n- Each phase is drawn from its low / most likely / high range ("
            + ("PERT" if sim["method"] == "pert" else "triangular") + "); the phases of a route move together "
            f"through a Gaussian copula with correlation {self.settings['correlation']:g}.\n- Implementation is "
            "drawn once per draw and added to both routes, so the months saved is the procurement difference "
            f"alone.\n- A go-live date is the start plus months × {tl.DAYS_PER_MONTH} days; P10 / P90: one draw in "
            "ten is sooner / later.\n- Same settings, same numbers (also `python -m piggyback timeline --agency "
            f"{self.agency['id']} --start {sim['start']} --seed {sim['seed']} --draws {sim['draws']} "
            f"--method {sim['method']} --correlation {self.settings['correlation']:g}`).")

    def adjustment_summary(self) -> list[str]:
        """One sentence per input that moved a phase ('approval_path: tl.rfp.award 1.0 → 0.3 …')."""
        return [f"{a.phase_id}: {fmt.months(a.before[1])} → {fmt.months(a.after[1])} most likely ({a.reason})"
                for a in self.adjustments if a.before != a.after]

    def to_dict(self) -> dict[str, Any]:
        sim = self.simulation
        return {
            "agency": self.agency, "peer": self.peer, "settings": self.settings, "inputs": self.inputs,
            "start": sim["start"], "seed": sim["seed"], "draws": sim["draws"], "method": sim["method"],
            "correlation": self.settings["correlation"], "days_per_month": sim["days_per_month"],
            **{route: {"label": tl.ROUTE_LABELS[route],
                       **{k: {"months": sim["routes"][route]["months"][k],
                              "go_live": sim["routes"][route]["go_live"][k]} for k in ("p10", "p50", "p90")},
                       "mean_months": sim["routes"][route]["months"]["mean"],
                       "award_months": sim["routes"][route]["award_months"]} for route in tl.ROUTES},
            "implementation_months": sim["implementation"], "months_saved": sim["months_saved"],
            "prob_piggyback_faster": sim["prob_piggyback_faster"], "value_of_time": sim["value_of_time"],
            "display": self.display(),
            "adjustments": [a.to_dict() for a in self.adjustments],
            "assumptions": [{"id": p.id, "route": p.route, "name": p.name, "low": p.low, "likely": p.likely,
                             "high": p.high, "kind": p.kind, "source": p.source_url} for p in self.phases],
            "seeded": self.seeded, "overrides": self.overrides, "override_errors": self.override_errors,
            "calibration": self.calibration,
            "track_record": {**self.track, "comparison": self.comparison},
            "flags": self.flags, "vendor_claims": self.vendor_claims, "judgement_share": self.judgement_share,
            "adjustment_assumptions": self.assumptions,
        }


def _contract(store, peer_id: str) -> dict[str, Any] | None:
    c = store.table("contracts")
    hit = c[c["deployment_id"] == peer_id]
    return None if hit.empty else {k: (None if is_blank(v) else v) for k, v in hit.iloc[0].to_dict().items()}


def analyse_timeline(store, profile: AgencyProfile, peer_id: str | None, settings: Mapping[str, Any] | None,
                     *, today: dt.date) -> TimelineResult:
    """The one timeline chain (see the module docstring). Raises TimelineError with a plain message."""
    from piggyback.engines import availability as avail
    frame = store.assumptions("timeline")
    a = _assumption_values(frame)
    lacking = [i for i in REQUIRED if i not in a or a[i]["value"] is None]
    if lacking:
        raise tl.TimelineError("The timeline assumptions lack " + ", ".join(lacking) + ": rebuild the database "
                               "from data/ (python -m piggyback build --force).")
    corr_default = (a.get("tl.sim.correlation") or {}).get("value")
    s = normalise_settings(settings, today, DEFAULT_CORRELATION if corr_default is None else corr_default)
    start = dt.date.fromisoformat(s["start"])
    seeded = tl.ordered_phases(tl.phases_from_assumptions(frame))
    peers = store.peers()
    peer = None
    contract = None
    if peer_id:
        hit = peers[peers["deployment_id"] == peer_id]
        if hit.empty:
            raise tl.TimelineError(f"No peer deployment {peer_id!r} is on record; choose one of the listed peers.")
        peer = hit.iloc[0].to_dict()
        contract = _contract(store, peer_id)
    inputs = pair_inputs(store, profile, peer, contract, s, a, start)
    phases, log = adjust_phases(seeded, inputs, a, peer is not None)
    calibration = s["calibration"]
    track = track_record(store.table("durations")) if "durations" in store.tables() else \
        {"implementation": [], "slippage": [], "procurement": [], "agencies": 0, "rows": 0}
    if calibration is None and s["calibrate"] == "track_record":
        calibration = calibration_from_track_record(track)
    elif calibration is None and s["calibrate"] == "peers":
        similar = tl.most_similar_peer_ids(profile, peers, tl.SIMILAR_PEERS)
        calibration = {**tl.calibrate_implementation(tl.peer_durations(peers), similar), "similar_ids": similar}
    if calibration and calibration.get("likely") is None and s["calibrate"]:
        raise tl.TimelineError(calibration.get("reason") or "the calibration has no suggestion")
    if calibration and calibration.get("likely") is not None:
        phases = tl.apply_calibration(phases, calibration)
    base_phases = tl.ordered_phases(phases)
    known = {p.id for p in phases}
    overrides, override_errors = {}, {}
    for k, v in s["overrides"].items():
        if k not in known:
            override_errors[k] = f"{k}: no such phase any more; the edit is left out"
            continue
        try:  # a key left out keeps the phase's own value (as apply_overrides does)
            tl.apply_overrides(phases, {k: v})
            overrides[k] = dict(v)
        except (tl.TimelineError, AttributeError, TypeError) as exc:
            override_errors[k] = str(exc)
    phases = tl.ordered_phases(tl.apply_overrides(phases, overrides))
    vot = s["value_of_time"]
    vpm = tl.value_per_month(**{k: vot.get(k) for k in ("staff_hours", "loaded_rate", "backlog_cost")})
    engine = tl.simulate_timeline(phases, start, draws=s["draws"], seed=s["seed"], method=s["method"],
                                  value_per_month=vpm, correlation=s["correlation"])
    sim = engine.to_dict()
    comparison = compare_track_record(track, sim)
    flags: list[dict[str, Any]] = []
    peer_out = None
    if peer is not None:
        con_rows = [] if contract is None else [contract]
        availability = avail.assess(peer, con_rows, start)
        pb_golive = dt.date.fromisoformat(sim["routes"]["piggyback"]["go_live"]["p50"])
        award_by = tl.add_months(start, sim["routes"]["piggyback"]["award_months"]["p50"])
        expiry = availability.get("expiry")
        peer_out = {"deployment_id": peer_id, "jurisdiction": peer.get("jurisdiction"),
                    "region": peer.get("region"), "country": peer.get("country"),
                    "vehicle": inputs["vehicle"], "modules": inputs["peer_modules"],
                    **tl.peer_actuals(tl.peer_durations(peers), peer_id),
                    "used_in_calibration": bool(calibration and peer_id in (calibration.get("peer_ids") or [])),
                    "availability": {"state": availability["state"], "label": availability["label"],
                                     "expiry": expiry, "reasons": [r["text"] for r in availability["reasons"]]}}
        if availability["state"] in ("expired", "not_adoptable"):
            flags.append({"severity": "high", "topic": "contract",
                          "text": f"The piggyback route is flagged: {peer.get('jurisdiction')}'s contract is "
                                  f"{availability['label'].lower()} on the decision date {start.isoformat()} "
                                  f"({avail.reasons_text(availability)}). Ask the lead agency whether it was "
                                  "renewed or re-tendered before counting on these months."})
        elif expiry:
            end = _expiry_end(expiry)
            if end is not None and end < pb_golive:
                before_award = end < award_by
                flags.append({"severity": "high" if before_award else "medium", "topic": "contract",
                              "text": f"The piggyback route is flagged: {peer.get('jurisdiction')}'s contract "
                                      f"ends {expiry}, before the planned piggyback go-live "
                                      f"({fmt.month_date(pb_golive.isoformat())})"
                                      + (" and even before the purchase is approved" if before_award else "")
                                      + ". Renewal risk: the lead agency must renew or extend it, or the "
                                      "agency's own term must be agreed before it ends."})
    if comparison["slippage_text"]:
        flags.append({"severity": "medium", "topic": "slippage", "text": comparison["slippage_text"]})
    used_ids = sorted({x.assumption_id for x in log if x.assumption_id}
                      | ({"tl.sim.correlation"} if "tl.sim.correlation" in a else set()))
    assumptions = [{"assumption_id": i, "name": a[i]["name"], "value": a[i]["value"], "low": a[i]["low"],
                    "high": a[i]["high"], "unit": a[i]["unit"], "kind": a[i]["kind"],
                    "source_url": a[i]["source_url"], "note": a[i]["note"]} for i in used_ids if i in a]
    proc = [p for p in phases if p.route != "implementation"]
    total = sum(p.likely for p in proc) or 1.0
    judgement = sum(p.likely for p in proc if p.kind in ("assumption", "user-entered"))
    return TimelineResult(
        agency={"id": profile.geo_id, "name": profile.name, "region": profile.region,
                "country": profile.country, "population": profile.population},
        peer=peer_out, settings=s, inputs={k: v for k, v in inputs.items()},
        seeded=tl.phase_rows(seeded), phases=phases, base_phases=base_phases, override_errors=override_errors,
        adjustments=log, calibration=calibration,
        overrides=overrides, simulation=sim, track=track, comparison=comparison, flags=flags,
        vendor_claims=tl.duration_claims(store.table("claims")), assumptions=assumptions,
        judgement_share=round(judgement / total, 3), engine=engine)


def _expiry_end(expiry: Any) -> dt.date | None:
    """The last day an expiry could mean: a partial ISO date ('2027', '2027-06', '2027-06-18') or
    a span ('between 2032-01-01 and 2032-12-31', its later end)."""
    found = re.findall(r"\d{4}(?:-\d{2}(?:-\d{2})?)?", str(expiry))
    if not found:
        return None
    parts = [int(p) for p in found[-1].split("-")]
    if len(parts) == 1:
        return dt.date(parts[0], 12, 31)
    if len(parts) == 2:
        nxt = dt.date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)
    return dt.date(*parts)
