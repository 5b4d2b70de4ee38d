"""The business case: one agency, one candidate peer contract, every figure with its basis.

:func:`build_business_case` runs the four engines (similarity, timeline, pricing, compliance)
on the store's data and the scenario's settings, and gathers what an executive needs: the
closest peers and why, months saved and go-live per route, ten-year cost and NPV per route,
the compliance verdict and the open blockers, the main risks, every assumption used and every
source cited. Pages, the PDF, the workbook and the CLI all render the same
:class:`BusinessCase` (or its ``to_dict()``).

Settings are the per-page dicts a scenario saves. The keys read here (anything else is kept
and ignored):

* ``peers``: ``preset`` and ``weights`` (``{dimension: weight}``, e.g. whole percentages).
* ``timeline``: ``overrides`` ``{phase_id: {"low", "likely", "high"}}``, ``calibration`` (a
  :func:`piggyback.engines.timeline.calibrate_implementation` result), ``start`` (ISO date), ``seed``,
  ``draws``, ``method``, ``value_of_time`` (``staff_hours``, ``loaded_rate``, ``backlog_cost``:
  each low / likely / high).
* ``pricing``: ``assumptions`` ``{assumption_id: value}``, ``currency``, ``staff_users``.
* ``compliance``: ``value`` (estimated purchase value), ``currency``, ``federal_funds``,
  ``decision_date``, ``golive``.

Each is read the way its page reads it (the same engine functions and defaults), so the business
case shows the figures the pages show. Blank stays blank: without a price schedule (or a quote)
there is no cost, and the case says so; without an estimated purchase value the threshold rules
stay open. Default inputs (the timeline's start, the compliance page's go-live assumption) are
listed among the assumptions as such.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from piggyback.core import fmt
from piggyback.engines import compliance as comp
from piggyback.engines import pricing as pr
from piggyback.engines import similarity as sim
from piggyback.engines import timeline as tl
from piggyback.core.errors import PiggybackError
from piggyback.core.models import (number_or_none, MODULES, VEHICLES, AgencyProfile, Assumption, is_blank,
                                   weakest_confidence)
from piggyback.data.scenarios import snapshot_for

TOP_PEERS = 5
KIND_ORDER = {"primary": 0, "secondary": 1, "user-entered": 2, "derived": 3, "assumption": 4, "vendor-stated": 5}
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
CONTRACT_FACTS = {
    "publicly_advertised": "whether the original solicitation was publicly advertised",
    "coop_clause": "whether it has a cooperative-use clause",
    "expiry_date": "its expiry date",
    "value": "its value",
    "award_date": "its award date",
    "solicitation_id": "its solicitation number",
}


class BusinessCaseError(PiggybackError):
    pass


@dataclasses.dataclass
class BusinessCase:
    """Everything the business case shows; ``to_dict()`` is plain JSON."""

    agency: dict[str, Any]
    peer: dict[str, Any] | None
    contract: dict[str, Any] | None
    generated: str
    settings: dict[str, Any]
    key_figures: list[dict[str, Any]]
    peers: dict[str, Any]
    timeline: dict[str, Any]
    cost: dict[str, Any]
    compliance: dict[str, Any]
    risks: list[dict[str, Any]]
    assumptions: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    snapshot_used: bool = False

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))

    def figure(self, key: str) -> dict[str, Any] | None:
        return next((f for f in self.key_figures if f["key"] == key), None)


# --------------------------------------------------------------------------------- helpers

def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        return _plain(value.item())
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if hasattr(value, "model_dump"):
        return _plain(value.model_dump())
    return str(value)




def _clean(value: Any) -> Any:
    return None if is_blank(value) else value


def _section(settings: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    value = (settings or {}).get(name)
    return dict(value) if isinstance(value, Mapping) else {}


def _date(value: Any, what: str) -> dt.date | None:
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise BusinessCaseError(f"The saved {what} {value!r} is not a date (YYYY-MM-DD).") from None


def _split_urls(value: Any) -> list[str]:
    if is_blank(value):
        return []
    if isinstance(value, (list, tuple)):
        items = value
    elif hasattr(value, "tolist"):
        items = value.tolist()
    else:
        items = re.split(r"\s*;\s*", str(value))
    return [str(u).strip() for u in items if str(u).strip().startswith(("http://", "https://"))]



class _SourceBook:
    """Every source cited, once, with what it was used for and the lowest confidence it backs."""

    def __init__(self, sources: pd.DataFrame):
        self.meta = {}
        self.by_id = {}
        for rec in sources.to_dict("records"):
            url = _clean(rec.get("url"))
            entry = {k: _clean(rec.get(k)) for k in ("source_id", "url", "title", "publisher", "published", "kind", "note")}
            if url:
                self.meta[url] = entry
            if entry["source_id"]:
                self.by_id[entry["source_id"]] = entry
        self.cited: dict[str, dict[str, Any]] = {}

    def add(self, url: Any, used_for: str, *, kind: str | None = None, confidence: str | None = None) -> None:
        for u in _split_urls(url):
            meta = self.meta.get(u, {})
            entry = self.cited.setdefault(u, {
                "url": u, "title": meta.get("title"), "publisher": meta.get("publisher") or _domain(u),
                "published": meta.get("published"), "kind": meta.get("kind") or kind, "confidence": None,
                "used_for": []})
            if entry["kind"] is None and kind:
                entry["kind"] = kind
            entry["confidence"] = weakest_confidence(entry["confidence"], confidence)  # the least sure use counts
            if used_for not in entry["used_for"]:
                entry["used_for"].append(used_for)

    def add_unaddressed(self, source_id: Any, used_for: str, *, confidence: str | None = None) -> None:
        """A source on file without a web address (e.g. a vendor article known by title only)."""
        meta = self.by_id.get(str(source_id)) if not is_blank(source_id) else None
        if meta is None:
            return
        key = f"source:{source_id}"
        entry = self.cited.setdefault(key, {
            "url": None, "title": meta.get("title"), "publisher": meta.get("publisher"),
            "published": meta.get("published"), "kind": meta.get("kind"), "confidence": None, "used_for": []})
        entry["confidence"] = weakest_confidence(entry["confidence"], confidence)
        if used_for not in entry["used_for"]:
            entry["used_for"].append(used_for)

    def title_of(self, source_id: Any) -> str | None:
        entry = self.by_id.get(str(source_id)) if not is_blank(source_id) else None
        return (entry.get("title") or entry.get("publisher")) if entry else None

    def url_of(self, source_id: Any) -> str | None:
        entry = self.by_id.get(str(source_id)) if not is_blank(source_id) else None
        return entry["url"] if entry else None

    def rows(self) -> list[dict[str, Any]]:
        rows = list(self.cited.values())
        rows.sort(key=lambda r: (KIND_ORDER.get(r["kind"] or "", 9), (r["title"] or r["publisher"] or "").lower(),
                                 r["url"] or ""))
        return rows


def _domain(url: str) -> str:
    match = re.match(r"https?://(?:www\.)?([^/]+)", url)
    return match.group(1) if match else url


# --------------------------------------------------------------------------------- peers

def _peers_section(store, profile: AgencyProfile, peer_id: str | None, settings: Mapping[str, Any],
                   book: _SourceBook, today: dt.date | None = None) -> dict[str, Any]:
    ps = _section(settings, "peers")
    # Contract availability of each closest peer, on the Compliance decision date (else today).
    decision = _date(_section(settings, "compliance").get("decision_date"), "decision date") or today \
        or dt.date.today()
    from piggyback.analyses.peers import analyse_peers

    # One ranking (piggyback.analyses.peers), as on the Peers page and in `similar`; the page's
    # filters narrow what the page lists, not the closest peers of the business case.
    try:
        result = analyse_peers(store, profile, {"preset": ps.get("preset"), "weights": ps.get("weights"),
                                                "decision_date": decision.isoformat()}, today=today)
    except PiggybackError as exc:
        raise BusinessCaseError(f"The saved peer settings cannot be used: {exc}") from None
    top = []
    for item in result.items[:TOP_PEERS]:
        urls = _split_urls(result.row(item["deployment_id"]).get("source_urls"))
        book.add(urls, f"peer record: {item['jurisdiction']}", confidence=item["confidence"])
        availability = item["availability"]
        top.append({
            "rank": item["rank"], "deployment_id": item["deployment_id"], "jurisdiction": item["jurisdiction"],
            "region": item["region"], "country": item["country"], "score": round(float(item["score"]), 4),
            "dims_used": item["dims_used"], "reasons": list(item["reasons"][:4]), "sentence": item["sentence"],
            "vendor": item["vendor"], "product": item["product"],
            "vehicle": VEHICLES.get(item["vehicle"] or "unknown", "Not known"),
            "go_live": item["go_live"], "confidence": item["confidence"], "source_urls": urls,
            "score_high": round(float(item["score_high"]), 4), "availability": availability,
        })
        # Shown wherever the reasons are (page, PDF, Excel): whether its contract can be used.
        top[-1]["reasons"].append(f"contract {availability['label'].lower()} on "
                                  f"{decision.isoformat()}: {availability['reasons'][0]['text']}")
    chosen = None
    rank = result.rank_of(peer_id) if peer_id else None
    if rank:
        chosen = {"deployment_id": peer_id, "rank": rank, "score": round(float(result.row(peer_id)["score"]), 4),
                  "of": len(result.scored_all)}
    robust = result.robustness
    return {"weights": result.weights, "preset": None if result.adjusted else result.preset, "top": top,
            "chosen": chosen,
            "robustness": {"stable": robust["stable"], "baseline_top": robust["baseline_top"],
                           "changes": len(robust["changes"]), "checked": robust["checked"],
                           "examples": robust["changes"][:3]},
            "candidates": len(result.scored_all)}


# --------------------------------------------------------------------------------- timeline

def _timeline_section(store, profile: AgencyProfile, peer_id: str | None, settings: Mapping[str, Any],
                      book: _SourceBook, today: dt.date) -> tuple[dict, list]:
    """The timeline analysis (the one chain the Timeline page and the CLI run) and its assumption rows."""
    from piggyback.analyses.timeline import analyse_timeline

    ts = _section(settings, "timeline")
    try:
        res = analyse_timeline(store, profile, peer_id, ts, today=today)
    except (PiggybackError, ValueError, TypeError) as exc:
        return {"status": "error", "message": f"The timeline could not be simulated: {exc}"}, []
    seeded = {r["id"]: r for r in res.seeded}
    rows = []
    for p in res.phases:
        book.add(p.source_url, f"timeline assumption {p.id}", kind=p.kind,
                 confidence="medium" if p.kind == "secondary" else "low")
        d = seeded.get(p.id)
        rows.append({"assumption_id": p.id, "group": "timeline", "name": p.name, "value": p.likely, "low": p.low,
                     "high": p.high, "unit": "months", "kind": p.kind, "source_url": p.source_url, "note": p.note,
                     "edited": p.kind in ("user-entered", "derived"),
                     "default": None if d is None else f"{d['low']:g} / {d['likely']:g} / {d['high']:g}"})
    for a in res.assumptions:
        book.add(a["source_url"], f"timeline assumption {a['assumption_id']}", kind=a["kind"], confidence="low")
        rows.append({"assumption_id": a["assumption_id"], "group": "timeline", "name": a["name"], "value": a["value"],
                     "low": a["low"], "high": a["high"], "unit": a["unit"], "kind": a["kind"],
                     "source_url": a["source_url"], "note": a["note"], "edited": False, "default": None})
    for o in res.track["implementation"]:
        book.add(o["sources"], f"recorded duration: {o['agency']}", kind=o.get("source_kind"),
                 confidence=o.get("confidence"))
    data = res.to_dict()
    sim = res.simulation
    vot = res.settings["value_of_time"]
    return {"status": "ok", "message": None, "result": sim, "start": sim["start"], "draws": sim["draws"],
            "seed": sim["seed"], "method": sim["method"], "correlation": res.settings["correlation"],
            "months_saved": sim["months_saved"], "prob_piggyback_faster": sim["prob_piggyback_faster"],
            "routes": sim["routes"], "value_of_time": sim["value_of_time"], "value_currency": vot.get("currency"),
            "phase_ids": [p.id for p in res.phases], "display": data["display"],
            "adjustments": data["adjustments"], "track_record": data["track_record"], "flags": res.flags,
            "judgement_share": res.judgement_share}, rows


# --------------------------------------------------------------------------------- pricing

def _assumption_table(store, group: str) -> dict[str, Assumption]:
    frame = store.assumptions(group)
    out = {}
    for rec in frame.to_dict("records"):
        clean = {k: _clean(v) for k, v in rec.items() if k in Assumption.model_fields}
        out[clean["assumption_id"]] = Assumption.model_validate(clean)
    return out


def _user_price_items(rows: list[Mapping[str, Any]], peer_id: str) -> tuple[list[pr.PriceItem], list[str]]:
    items, problems = [], []
    for row in rows:
        record = row.get("record")
        if isinstance(record, str):
            try:
                record = json.loads(record)
            except json.JSONDecodeError:
                record = None
        if not isinstance(record, Mapping):
            problems.append(f"{row.get('item_id')}: unreadable record")
            continue
        rec = {k: v for k, v in record.items() if k in pr.PriceItem.model_fields}
        rec.setdefault("deployment_id", peer_id)
        rec.setdefault("item_id", row.get("item_id"))
        rec.setdefault("kind", "user-entered")
        try:
            items.extend(pr.items_from_records([rec]))
        except PiggybackError as exc:
            problems.append(str(exc))
    return [i for i in items if i.deployment_id == peer_id], problems


def _cost_section(store, profile: AgencyProfile, peer_id: str | None, settings: Mapping[str, Any],
                  snapshot: Mapping[str, Any], book: _SourceBook, today: dt.date) -> tuple[dict, Any]:
    """The Cost page's analysis (:func:`piggyback.analyses.cost.analyse_cost`) with the scenario's
    saved quote lines, as the case's cost section."""
    from piggyback.analyses.cost import analyse_cost, case_section

    quotes, problems = _user_price_items(list(snapshot.get("price_items") or []), peer_id) if peer_id else ([], [])
    result = analyse_cost(store, profile, peer_id, _section(settings, "pricing"), today=today, quotes=quotes)
    section = case_section(result)
    section["problems"] = problems + section["problems"]
    if result.ok:
        for ln in result.analysis.lines:
            book.add(ln.item.source_url, f"price item {ln.item.item_id}", kind=ln.item.kind,
                     confidence=ln.item.confidence)
        for item in result.quote_items:
            book.add(item.source_url, f"price item {item.item_id}", kind=item.kind, confidence=item.confidence)
    return section, result.settings


# --------------------------------------------------------------------------------- compliance

def contract_record(store, peer_id: str | None) -> dict[str, Any] | None:
    """The peer's contract as the compliance engine reads it (as on the Compliance page).

    A peer without a contract on record is checked with every contract fact unknown.
    """
    if not peer_id:
        return None
    from piggyback.data.evidence import contract_for

    record = contract_for(store, peer_id)
    return record if record is not None else {"deployment_id": peer_id, "on_record": False}


def evidence_map(rows: list[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Evidence rows (several per rule possible) -> the ``evidence`` argument of ``evaluate``."""
    out: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        rid = row.get("rule_id")
        if is_blank(rid):
            continue
        slot = out.setdefault(str(rid), {"note": [], "document": [], "link": []})
        for field in ("note", "document", "link"):
            if not is_blank(row.get(field)):
                slot[field].append(str(row[field]).strip())
    return {rid: {k: "; ".join(v) for k, v in slot.items() if v} for rid, slot in out.items()}


def _compliance_section(store, profile: AgencyProfile, peer_id: str | None, contract: dict | None,
                        settings: Mapping[str, Any], snapshot: Mapping[str, Any], timeline: Mapping[str, Any],
                        book: _SourceBook, today: dt.date) -> tuple[dict, list]:
    cs = _section(settings, "compliance")
    decision = _date(cs.get("decision_date"), "decision date") or today
    planned = _date(cs.get("golive") or cs.get("planned_golive"), "planned go-live")
    planned_kind = "user-entered"
    if planned is None:
        from piggyback.analyses.compliance import default_golive, golive_months

        planned, planned_kind = default_golive(decision, golive_months(store)), "assumption"
    value = number_or_none(cs.get("value"))
    currency = cs.get("currency") if cs.get("currency") in ("CAD", "USD") else (
        "CAD" if profile.country == "CA" else "USD")
    federal = bool(cs.get("federal_funds")) and profile.country == "US"
    evidence = evidence_map(list(snapshot.get("evidence") or []))
    inputs = [
        {"assumption_id": "compliance.decision_date", "group": "compliance", "name": "Decision date",
         "value": decision.isoformat(), "low": None, "high": None, "unit": "date",
         "kind": "user-entered" if cs.get("decision_date") else "assumption", "source_url": None,
         "note": None if cs.get("decision_date") else "Today's date: thresholds in force are read for it.",
         "edited": bool(cs.get("decision_date")), "default": None},
        {"assumption_id": "compliance.planned_golive", "group": "compliance", "name": "Planned go-live",
         "value": planned.isoformat() if planned else None, "low": None, "high": None, "unit": "date",
         "kind": planned_kind, "source_url": None,
         "note": ("Assumption, as on the Compliance page: the decision date plus 18 months. Enter the "
                  "planned go-live there." if planned_kind == "assumption" else None),
         "edited": planned_kind == "user-entered", "default": None},
        {"assumption_id": "compliance.value", "group": "compliance", "name": "Estimated purchase value",
         "value": value, "low": None, "high": None, "unit": currency,
         "kind": "user-entered" if value is not None else "assumption", "source_url": None,
         "note": None if value is not None else "Not entered: rules that compare the value with a threshold stay open.",
         "edited": value is not None, "default": None},
        {"assumption_id": "compliance.federal_funds", "group": "compliance", "name": "Federal funds pay for it",
         "value": "yes" if federal else "no", "low": None, "high": None, "unit": "",
         "kind": "user-entered" if "federal_funds" in cs else "assumption", "source_url": None,
         "note": None if profile.country == "US" else "US federal grant rules do not apply in Canada.",
         "edited": "federal_funds" in cs, "default": None},
    ]
    try:  # the one compliance chain (the page's and `check`'s), with the snapshot's evidence
        from piggyback.analyses.compliance import analyse_compliance

        analysed = analyse_compliance(store, profile, peer_id, {
            "value": value, "currency": currency, "federal_funds": federal, "decision_date": decision.isoformat(),
            "golive": planned.isoformat() if planned_kind == "user-entered" else None},
            today=today, evidence=evidence, with_ask=False)
    except (PiggybackError, ValueError) as exc:
        return {"status": "error", "message": f"The checklist could not be evaluated: {exc}", "results": [],
                "verdict": None, "blockers": []}, inputs
    verdict, planned = analysed.verdict, analysed.planned_golive
    inputs[1]["value"] = planned.isoformat()  # the go-live assumption as the analysis reads it (its months)
    ordered = comp.sort_results(analysed.results, by="severity")
    for r in ordered:
        book.add(r.source_url, f"compliance rule {r.rule_id}", confidence=r.confidence)
    if contract and contract.get("on_record", True):
        book.add(contract.get("source_urls"), f"contract record {contract.get('contract_id')}",
                 confidence=contract.get("confidence"))
    blockers = [r.model_dump() for r in ordered if r.severity == "blocker" and r.status != "pass"]
    return {"status": "ok", "message": None, "verdict": verdict, "results": [r.model_dump() for r in ordered],
            "blockers": blockers, "decision_date": decision.isoformat(),
            "planned_golive": planned.isoformat() if planned else None, "evidence_rules": sorted(evidence),
            "unconfirmed_thresholds": [r.rule_id for r in ordered if r.threshold == comp.VERIFY_THRESHOLD]}, inputs


# --------------------------------------------------------------------------------- risks

def _risks(store, profile, peer, contract, peers, timeline, cost, compliance, assumptions, claims) -> list[dict]:
    risks: list[dict[str, Any]] = []

    def add(severity, topic, text, basis):
        risks.append({"severity": severity, "topic": topic, "text": text, "basis": basis})

    if compliance.get("status") == "ok":
        v = compliance["verdict"]
        failed = [b for b in compliance["blockers"] if b["status"] == "fail"]
        if failed:
            add("high", "compliance", f"{len(failed)} blocker(s) fail: " + "; ".join(
                f"{b['rule_id']} ({b['reason']})" for b in failed[:3]), "compliance rules and the contract record")
        if v["blockers_open"]:
            add("medium", "compliance", f"{v['blockers_open']} blocker(s) still need evidence before anyone signs "
                f"({', '.join(b['rule_id'] for b in compliance['blockers'] if b['status'] != 'fail')[:200]}).",
                "compliance rules")
        if compliance["unconfirmed_thresholds"]:
            add("medium", "thresholds", "Threshold not confirmed for the decision date (blank in the data, never "
                "guessed): verify the current figure for " + ", ".join(compliance["unconfirmed_thresholds"]) + ".",
                "data/compliance/thresholds.csv")
    if peer is None:
        add("high", "peer", "No peer contract is chosen: cost and compliance cannot be assessed.", "scenario")
    elif contract is None or not contract.get("on_record", True):
        add("high", "contract", f"No contract record is on file for {peer['jurisdiction']}: every contract fact "
            "(clause, advertising, expiry, value) is unknown.", "data/peers/contracts.csv")
    else:
        unknown = [label for f, label in CONTRACT_FACTS.items() if is_blank(contract.get(f))]
        if (contract.get("vehicle") or "unknown") == "unknown":
            unknown.insert(0, "how it was procured (contract vehicle)")
        if unknown:
            add("medium", "contract", f"The contract record of {peer['jurisdiction']} does not say "
                + "; ".join(unknown) + ". Ask the lead agency for the documents.", "contract record")
    if peer is not None:
        peer_claims = [c for c in claims if c["deployment_id"] == peer["deployment_id"]]
        if peer_claims:
            add("medium", "vendor-stated", f"{len(peer_claims)} claim(s) about {peer['jurisdiction']} come from the "
                "vendor only (vendor-stated, not independent evidence): "
                + "; ".join(f"{c['claim']} [{c['status']}]" for c in peer_claims[:3]), "claims table")
        if peer.get("vendor_stated_sources"):
            add("medium", "vendor-stated", f"{peer['vendor_stated_sources']} of the sources about "
                f"{peer['jurisdiction']} are vendor material.", "sources table")
        if peer.get("confidence") == "low":
            add("medium", "confidence", f"The record of {peer['jurisdiction']} is low-confidence: its facts "
                "could not be confirmed by a primary source.", "peer record")
    rob = peers.get("robustness") or {}
    if rob and not rob.get("stable"):
        add("medium", "ranking", f"The closest-peer ranking is fragile: the top three change in {rob['changes']} "
            f"of {rob['checked']} ±20% weight moves.", "similarity weights (assumptions)")
    low_peers = [p["jurisdiction"] for p in peers.get("top", []) if p.get("confidence") == "low"]
    if low_peers:
        add("low", "confidence", "Low-confidence records among the closest peers: " + ", ".join(low_peers) + ".",
            "peer records")
    if cost.get("status") == "no_schedule":
        add("high", "cost", "No price schedule on file for the peer's contract: the ten-year cost is unknown.",
            "data/pricing/price_items.csv")
    elif cost.get("status") == "ok":
        old = sorted({ln["price_year"] for ln in cost["items"] if any("years old" in f for f in ln["flags"])})
        if old:
            add("medium", "cost", f"Prices from {', '.join(map(str, old))} are brought to today by an inflation "
                "assumption: indicative only.", "pricing.price_inflation")
        lowc = [ln["item_id"] for ln in cost["items"] if ln.get("confidence") == "low"]
        if lowc:
            add("low", "confidence", "Low-confidence price items: " + ", ".join(lowc) + ".", "price items")
        if cost.get("warnings"):
            add("low", "cost", "; ".join(cost["warnings"][:3]), "pricing engine")
    elif cost.get("status") == "error":
        add("high", "cost", cost["message"], "pricing engine")
    if timeline.get("status") == "ok" and timeline["prob_piggyback_faster"] < 0.9:
        add("medium", "timeline", f"Piggybacking is sooner in only {timeline['display']['prob_faster']} "
            "of the simulated draws.", "timeline assumptions")
    for flag in timeline.get("flags") or []:  # contract expiry before go-live; planned-vs-actual slippage
        add(flag["severity"], "timeline" if flag["topic"] == "slippage" else "contract", flag["text"],
            "data/peers/durations.csv (track record)" if flag["topic"] == "slippage" else "contract record and the timeline")
    unsourced = [a for a in assumptions if a["kind"] == "assumption" and not a.get("source_url")
                 and a["group"] in ("timeline", "pricing")]
    if unsourced:
        add("low", "assumptions", f"{len(unsourced)} of the assumptions used have no source (judgement, editable): "
            + ", ".join(a["assumption_id"] for a in unsourced[:6]) + ("…" if len(unsourced) > 6 else "") + ".",
            "assumptions table")
    risks.sort(key=lambda r: SEVERITY_RANK[r["severity"]])
    return risks


# --------------------------------------------------------------------------------- main

def _fmt_money(x: float | None, cur: str) -> str:
    return fmt.cost(x, cur)  # three significant figures, as on the Cost page


def _key_figures(timeline, cost, compliance, peers, pricing_ids) -> list[dict[str, Any]]:
    figs: list[dict[str, Any]] = []
    if timeline.get("status") == "ok":
        ms = timeline["months_saved"]
        basis = (f"{len(timeline['phase_ids'])} phase assumptions (low / likely / high months), "
                 f"{timeline['method'].upper()} Monte Carlo, {timeline['draws']:,} draws, seed {timeline['seed']}, "
                 f"phases of a route correlated {timeline['correlation']:g}, from {timeline['start']}; "
                 f"{len(timeline['adjustments'])} pair-specific input(s); "
                 f"{round(100 * timeline['judgement_share'])}% of the procurement months rest on judgement")
        figs.append({"key": "months_saved", "label": "Months saved (median)", "value": ms["p50"], "low": ms["p10"],
                     "high": ms["p90"], "unit": "months",
                     "display": timeline["display"]["months_saved"], "range": timeline["display"]["months_saved_range"],
                     "basis": basis, "refs": timeline["phase_ids"]})
        for route in tl.ROUTES:
            r = timeline["routes"][route]
            figs.append({"key": f"golive_{route}", "label": f"Go-live, {tl.ROUTE_LABELS[route]} (P50)",
                         "value": r["go_live"]["p50"], "low": r["go_live"]["p10"], "high": r["go_live"]["p90"],
                         "unit": "date", "display": timeline["display"][f"golive_{route}"],
                         "range": timeline["display"][f"golive_{route}_range"],
                         "basis": "the same simulation", "refs": [p for p in timeline["phase_ids"]
                                                  if p.startswith(("tl.impl.", "tl.rfp." if route == "traditional" else "tl.pb."))]})
        figs.append({"key": "prob_faster", "label": "Chance piggybacking is sooner",
                     "value": timeline["prob_piggyback_faster"], "low": None, "high": None, "unit": "share",
                     "display": timeline["display"]["prob_faster"], "range": "",
                     "basis": "share of the same simulation's draws", "refs": timeline["phase_ids"]})
    if cost.get("status") == "ok":
        cur = cost["currency"]
        for route in ("traditional", "piggyback"):
            r = cost["routes"][route]
            label = "new RFP" if route == "traditional" else "piggyback"
            basis = (f"{len(cost['item_ids'])} sourced price item(s) of the peer's contract scaled to the agency, "
                     f"pricing assumptions, procurement cost {r['procurement_source'].get('assumption_id')}; "
                     f"{cost['horizon_years']} years from {cost['start_year']}")
            refs = cost["item_ids"] + sorted(pricing_ids)
            figs.append({"key": f"cost_{route}", "label": f"{cost['horizon_years']}-year cost, {label}",
                         "value": r["total"], "low": r["low"], "high": r["high"], "unit": cur,
                         "display": _fmt_money(r["total"], cur),
                         "range": f"range {_fmt_money(r['low'], cur)} – {_fmt_money(r['high'], cur)}",
                         "basis": basis, "refs": refs})
            figs.append({"key": f"npv_{route}", "label": f"NPV, {label}", "value": r["npv"], "low": r["npv_low"],
                         "high": r["npv_high"], "unit": cur, "display": _fmt_money(r["npv"], cur),
                         "range": f"range {_fmt_money(r['npv_low'], cur)} – {_fmt_money(r['npv_high'], cur)}",
                         "basis": f"the same cash flows discounted at {cost['discount_rate']:g}%/yr (pricing.discount_rate)",
                         "refs": refs + ["pricing.discount_rate"]})
    else:
        figs.append({"key": "cost", "label": "10-year cost", "value": None, "low": None, "high": None, "unit": "",
                     "display": "—", "range": cost.get("message") or "", "basis": cost.get("message") or "",
                     "refs": []})
    if compliance.get("status") == "ok":
        v = compliance["verdict"]
        figs.append({"key": "compliance", "label": "Compliance verdict", "value": v["state"], "low": None,
                     "high": None, "unit": "", "display": v["text"],
                     "range": f"{v['pass']} pass, {v['fail']} fail, {v['needs_evidence']} need evidence",
                     "basis": f"{v['total']} rules for the agency's province/state and country, against the contract "
                              f"record and the evidence recorded; decision date {compliance['decision_date']}. "
                              f"{v['coverage']}" + (f" {v['missing_region']}" if v.get("missing_region") else ""),
                     "refs": [r["rule_id"] for r in compliance["results"]]})
    if peers.get("top"):
        best = peers["top"][0]
        figs.append({"key": "closest_peer", "label": "Closest peer", "value": best["score"], "low": None, "high": None,
                     "unit": "score", "display": f"{best['jurisdiction']} ({best['score']:.2f})",
                     "range": "; ".join(best["reasons"][:2]),
                     "basis": f"similarity over {best['dims_used']} dimensions, weights "
                              f"{peers['preset'] or 'edited by the user'} (assumptions)",
                     "refs": best["source_urls"]})
    return figs


def build_business_case(store, profile: AgencyProfile, peer_id: str | None, settings: Mapping[str, Any] | None = None,
                        *, snapshot: Mapping[str, Any] | None = None, today: dt.date | None = None) -> BusinessCase:
    """The business case of ``profile`` adopting ``peer_id``'s contract, under ``settings``.

    ``snapshot`` (a scenario's saved price items and evidence) is used instead of the live user
    tables when given, so a saved scenario reproduces what was saved.
    """
    today = today or dt.date.today()
    settings = copy.deepcopy(dict(settings or {}))
    book = _SourceBook(store.sources())
    peer = None
    if peer_id:
        dep = store.deployment(peer_id)
        urls = list(dep.source_urls)
        kinds = [book.meta.get(u, {}).get("kind") for u in urls]
        peer = {"deployment_id": dep.deployment_id, "jurisdiction": dep.jurisdiction, "region": dep.region,
                "country": dep.country, "vendor": dep.vendor, "product": dep.product, "vehicle": dep.vehicle,
                "vehicle_label": VEHICLES[dep.vehicle], "go_live": dep.go_live, "confidence": dep.confidence,
                "modules": [MODULES[m] for m in dep.module_codes], "source_urls": urls,
                "vendor_stated_sources": sum(1 for k in kinds if k == "vendor-stated")}
        book.add(urls, f"peer record: {dep.jurisdiction}", confidence=dep.confidence)
    contract = contract_record(store, peer_id)
    used_snapshot = snapshot is not None
    if snapshot is None:
        snapshot = snapshot_for(store, profile.geo_id, peer_id)

    peers = _peers_section(store, profile, peer_id, settings, book, today)
    timeline, tl_rows = _timeline_section(store, profile, peer_id, settings, book, today)
    cost, cost_settings = _cost_section(store, profile, peer_id, settings, snapshot, book, today)
    compliance, comp_rows = _compliance_section(store, profile, peer_id, contract, settings, snapshot, timeline,
                                                book, today)

    pricing_rows = []
    table = cost_settings.assumptions if cost_settings is not None else {}
    for a in table.values():
        d = cost_settings.defaults.get(a.assumption_id, a)
        pricing_rows.append({"assumption_id": a.assumption_id, "group": "pricing", "name": a.name, "value": a.value,
                             "low": a.low, "high": a.high, "unit": a.unit, "kind": a.kind,
                             "source_url": a.source_url or (d.source_url if a.kind != "user-entered" else None),
                             "note": a.note, "edited": a.assumption_id in cost_settings.edited,
                             "default": None if d is a else d.value})
        book.add(a.source_url, f"pricing assumption {a.assumption_id}", kind=a.kind,
                 confidence="medium" if a.kind == "secondary" else "low")
    weight_rows = [{"assumption_id": f"similarity.weight.{d}", "group": "similarity",
                    "name": f"Weight of {sim.DIMENSION_LABELS[d].lower()} in the peer score", "value": round(w, 4),
                    "low": None, "high": None, "unit": "share (0-1)",
                    "kind": "assumption" if peers["preset"] else "user-entered", "source_url": None,
                    "note": (f"Preset '{peers['preset']}'" if peers["preset"] else "Edited by the user"),
                    "edited": not peers["preset"] or peers["preset"] != "balanced", "default": None}
                   for d, w in peers["weights"].items() if w > 0]
    sim_rows = [{**{k: a.get(k) for k in ("assumption_id", "name", "value", "low", "high", "unit", "kind",
                                          "source_url", "note")}, "group": "similarity", "edited": False,
                 "default": None} for a in sim.SIMILARITY_ASSUMPTIONS]
    assumptions = tl_rows + pricing_rows + comp_rows + weight_rows + sim_rows

    claims = []
    ctable = store.table("claims")
    wanted = {p["deployment_id"] for p in peers["top"]} | ({peer_id} if peer_id else set())
    for rec in ctable.to_dict("records"):
        dep_id = _clean(rec.get("deployment_id"))
        if dep_id is not None and dep_id not in wanted:
            continue
        url = book.url_of(rec.get("source_id"))
        claims.append({"claim_id": rec.get("claim_id"), "deployment_id": dep_id, "field": _clean(rec.get("field")),
                       "claim": _clean(rec.get("claim")), "kind": _clean(rec.get("kind")) or "vendor-stated",
                       "status": _clean(rec.get("status")), "research_note": _clean(rec.get("research_note")),
                       "source_url": url, "source_title": book.title_of(rec.get("source_id"))})
        if url:
            book.add(url, f"vendor claim {rec.get('claim_id')}", kind="vendor-stated", confidence="low")
        else:
            book.add_unaddressed(rec.get("source_id"), f"vendor claim {rec.get('claim_id')}", confidence="low")
    if profile.geo_id:
        try:
            j = store.jurisdiction(profile.geo_id)
            src = book.by_id.get(j.source_id or "")
            if src and src.get("url"):
                book.add(src["url"], "agency census profile", confidence="high")
        except PiggybackError:
            pass

    agency = {"geo_id": profile.geo_id, "name": profile.name, "country": profile.country, "region": profile.region,
              "jtype": profile.jtype, "population": profile.population, "growth_pct": profile.growth_pct,
              "households": profile.households, "permit_volume": profile.permit_volume,
              "staff_users": profile.staff_users, "modules_needed": list(profile.modules_needed),
              "modules_labels": [MODULES[m] for m in profile.modules_needed],
              "current_system": profile.current_system}
    risks = _risks(store, profile, peer, contract, peers, timeline, cost, compliance, assumptions, claims)
    figures = _key_figures(timeline, cost, compliance, peers, {a.assumption_id for a in table.values()})
    return BusinessCase(
        agency=agency, peer=peer, contract=contract, generated=today.isoformat(), settings=_plain(settings),
        key_figures=figures, peers=peers, timeline=timeline, cost=cost, compliance=compliance, risks=risks,
        assumptions=_plain(assumptions), sources=book.rows(), claims=claims, snapshot_used=used_snapshot)


def business_case_from_scenario(store, scenario, *, profile: AgencyProfile | None = None, peer_id: str | None = None,
                                today: dt.date | None = None) -> BusinessCase:
    """The business case a saved scenario describes (its agency and peer unless others are given)."""
    from piggyback.data.scenarios import profile_from_payload

    payload = scenario.payload if hasattr(scenario, "payload") else dict(scenario)
    profile = profile or profile_from_payload(store, payload)
    peer = peer_id if peer_id is not None else payload.get("peer")
    return build_business_case(store, profile, peer, payload.get("settings") or {},
                               snapshot=payload.get("snapshot"), today=today)


def summary_rows(case: Mapping[str, Any]) -> list[dict[str, str]]:
    """The executive summary as rows (label, value, range, basis): cost and NPV of a route share a row."""
    figs = {f["key"]: f for f in case["key_figures"]}
    rows = []
    if "months_saved" in figs:
        f = figs["months_saved"]
        rows.append({"label": f["label"], "value": f["display"], "range": f["range"], "basis": f["basis"]})
        a, b = figs["golive_traditional"], figs["golive_piggyback"]
        rows.append({"label": "Go-live (P50)", "value": f"new RFP {a['display']}; piggyback {b['display']}",
                     "range": f"new RFP {a['low']} to {a['high']}; piggyback {b['low']} to {b['high']}",
                     "basis": "the same simulation"})
        p = figs["prob_faster"]
        rows.append({"label": p["label"], "value": p["display"], "range": "", "basis": p["basis"]})
    for route, label in (("piggyback", "piggyback"), ("traditional", "new RFP")):
        if f"cost_{route}" in figs:
            c, n = figs[f"cost_{route}"], figs[f"npv_{route}"]
            rows.append({"label": c["label"], "value": f"{c['display']} (NPV {n['display']})",
                         "range": f"{c['range']}; NPV {n['range'].removeprefix('range ')}",
                         "basis": c["basis"] + f"; NPV at {case['cost'].get('discount_rate', 0):g}%/yr"})
    if "cost" in figs:
        rows.append({"label": "10-year cost of each route", "value": "—", "range": "", "basis": figs["cost"]["basis"]})
    for key in ("compliance", "closest_peer"):
        if key in figs:
            f = figs[key]
            rows.append({"label": f["label"], "value": f["display"], "range": f["range"], "basis": f["basis"]})
    return rows


def compare_cases(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Key figures of two business cases (``to_dict()``) side by side, by figure key."""
    def figs(case):
        return {f["key"]: f for f in case.get("key_figures", [])}

    fa, fb = figs(a), figs(b)
    keys = list(dict.fromkeys(list(fa) + list(fb)))
    rows = [{"key": "agency", "label": "Agency", "a": a["agency"]["name"], "b": b["agency"]["name"]},
            {"key": "peer", "label": "Peer contract", "a": (a.get("peer") or {}).get("jurisdiction") or "—",
             "b": (b.get("peer") or {}).get("jurisdiction") or "—"}]
    for k in keys:
        label = (fa.get(k) or fb.get(k))["label"]
        rows.append({"key": k, "label": label, "a": fa[k]["display"] if k in fa else "—",
                     "b": fb[k]["display"] if k in fb else "—"})
    return rows
