"""Contract availability: may another public body still use a peer's contract?

A pure function over one deployment row, its contract record(s) (the store's ``contracts``
table) and a decision date. Four states, each with the plain facts behind it and their sources:

- **available**: a term that is still running on the decision date, a vehicle or clause that
  lets other public bodies use the contract (``cooperative`` or ``interlocal`` vehicle, or a
  cooperative-use clause), and a competitive original (publicly advertised, an own RFP, or a
  solicitation number on record). All three must be shown by the facts on file.
- **expired**: the term ended before the decision date (the stated expiry date, or award date
  plus term). A renewal the buyer granted itself is named but does not reopen the contract to
  others.
- **not adoptable**: a sole-source award; a contract the facts show is not open to others
  (no cooperative clause, not advertised); or **no contract on record at all** (nothing to
  adopt: neither a contract record nor any award, term or vehicle on the deployment).
- **unknown**: a contract is on record but the facts do not settle one of the three tests.

Dates keep their published precision: "2019" plus 3 years ends somewhere in 2022, so a
decision date inside that span gives *unknown*, never a guess. No Streamlit, no file reading.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

STATES: tuple[str, ...] = ("available", "unknown", "expired", "not_adoptable")
STATE_LABELS: dict[str, str] = {
    "available": "Available", "expired": "Expired", "not_adoptable": "Not adoptable",
    "unknown": "Unknown",
}
STATE_HELP: dict[str, str] = {
    "available": "Term running, open to other public bodies, competitive original: all on file.",
    "expired": "The contract's term ended before the decision date.",
    "not_adoptable": "Sole source, not open to other bodies, or no contract on record.",
    "unknown": "A contract is on record but the facts do not settle whether it can be used.",
}
OPEN_VEHICLES = frozenset({"cooperative", "interlocal"})
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        import pandas as pd
        if not isinstance(value, (list, tuple, dict)) and pd.isna(value):
            return True
    except (TypeError, ValueError, ImportError):
        pass
    return isinstance(value, str) and value.strip() == ""


def _text(value: Any) -> str | None:
    return None if _blank(value) else str(value).strip()


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = (_text(value) or "").lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def date_span(value: Any) -> tuple[dt.date, dt.date] | None:
    """(first, last) day a published date can mean: '2019' -> 2019-01-01..2019-12-31."""
    text = _text(value)
    if text is None:
        return None
    text = text[:10]
    if not _DATE.match(text):
        return None
    parts = [int(p) for p in text.split("-")]
    try:
        if len(parts) == 1:
            return dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)
        if len(parts) == 2:
            last = calendar.monthrange(parts[0], parts[1])[1]
            return dt.date(parts[0], parts[1], 1), dt.date(parts[0], parts[1], last)
        day = dt.date(*parts)
    except ValueError:
        return None
    return day, day


def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _term_months(value: Any) -> int | None:
    text = _text(value)
    if text is None:
        return None
    try:
        years = float(text)
    except ValueError:
        return None
    return int(round(years * 12)) if years > 0 and math.isfinite(years) else None


def _sources(*values: Any) -> list[str]:
    out: list[str] = []
    for value in values:
        if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
            texts = [str(v) for v in value if not _blank(v)]
        else:
            texts = [_text(value) or ""]
        for part in (p for t in texts for p in re.split(r"\s*[;|]\s*|\s+(?=https?://)", t)):
            part = part.strip()
            if part.startswith(("http://", "https://")) and part not in out:
                out.append(part)
    return out


def _reason(text: str, sources: Sequence[str]) -> dict[str, Any]:
    return {"text": text, "sources": list(sources)}


def _result(state: str, reasons: list[dict[str, Any]], contract_id: str | None,
            expiry: str | None) -> dict[str, Any]:
    return {"state": state, "label": STATE_LABELS[state], "reasons": reasons,
            "contract_id": contract_id, "expiry": expiry}


def _contract_from_deployment(deployment: Mapping[str, Any]) -> dict[str, Any] | None:
    """The deployment's own contract facts, when it states any (award, term or vehicle)."""
    vehicle = _text(deployment.get("vehicle"))
    facts = {
        "contract_id": None,
        "vehicle": vehicle if vehicle and vehicle != "unknown" else None,
        "award_date": _text(deployment.get("contract_award")),
        "term_years": _text(deployment.get("contract_term_years")),
        "source_urls": deployment.get("source_urls"),
        "lead_agency": None,
    }
    if not any(facts[k] for k in ("vehicle", "award_date", "term_years")):
        return None
    return facts


def _assess_one(contract: Mapping[str, Any], deployment: Mapping[str, Any],
                decision: dt.date) -> dict[str, Any]:
    src = _sources(contract.get("source_urls")) or _sources(deployment.get("source_urls"))
    cid = _text(contract.get("contract_id"))
    reasons: list[dict[str, Any]] = []
    vehicle = _text(contract.get("vehicle"))
    if not vehicle or vehicle == "unknown":
        dep_vehicle = _text(deployment.get("vehicle"))
        if dep_vehicle and dep_vehicle != "unknown":
            vehicle = dep_vehicle
            src_vehicle = _sources(deployment.get("source_urls")) or src
        else:
            vehicle = None
            src_vehicle = src
    else:
        src_vehicle = src

    # Term: a stated expiry, else award + term.
    expiry_text = _text(contract.get("expiry_date"))
    span = date_span(expiry_text)
    expiry_label = expiry_text
    if span is None:
        award, months = date_span(contract.get("award_date")), _term_months(contract.get("term_years"))
        if award and months:
            span = (_add_months(award[0], months), _add_months(award[1], months))
            expiry_label = (span[1].isoformat() if span[0] == span[1]
                            else f"between {span[0].isoformat()} and {span[1].isoformat()}")
            years = f"{months / 12:g}"
            unit = "year" if months == 12 else "years"
            term_fact = (f"awarded {_text(contract.get('award_date'))} for {years} {unit}, "
                         f"so the term ends {expiry_label}")
        else:
            term_fact = None
    else:
        term_fact = f"the contract's stated expiry is {expiry_text}"
    renewals = _text(contract.get("renewals"))

    if vehicle == "sole_source":
        reasons.append(_reason("The contract was a sole-source award: there was no competition "
                               "another public body could rely on.", src_vehicle))
        return _result("not_adoptable", reasons, cid, expiry_label)

    if span is not None and span[1] < decision:
        reasons.append(_reason(f"Expired: {term_fact}, before the decision date "
                               f"{decision.isoformat()}.", src))
        if renewals:
            reasons.append(_reason(f"Renewals on record ({renewals}) extend the buyer's own "
                                   "agreement; they do not show the contract is open to others.",
                                   src))
        return _result("expired", reasons, cid, expiry_label)

    # Three tests: term running, open to others, competitive original.
    if span is None:
        term_ok: bool | None = None
        reasons.append(_reason("The term is not recorded (no expiry date, or no award date "
                               "with a term): whether it is still running is unknown.", src))
    elif span[0] < decision:
        term_ok = None
        reasons.append(_reason(f"The term may have ended: {term_fact}, and the decision date "
                               f"is {decision.isoformat()}.", src))
    else:
        term_ok = True
        reasons.append(_reason(f"Term running: {term_fact}.", src))

    clause = _flag(contract.get("coop_clause"))
    lead = _text(contract.get("lead_agency"))
    if vehicle in OPEN_VEHICLES:
        open_ok: bool | None = True
        via = f" led by {lead}" if lead else ""
        reasons.append(_reason(f"Open to other public bodies: a {vehicle} vehicle{via}.", src_vehicle))
    elif clause is True:
        open_ok = True
        reasons.append(_reason("Open to other public bodies: the contract has a cooperative-use "
                               "clause.", src))
    elif clause is False:
        open_ok = False
        reasons.append(_reason("Not open to other public bodies: the contract has no "
                               "cooperative-use clause.", src))
    else:
        open_ok = None
        what = "its own RFP" if vehicle == "own_rfp" else "the vehicle is not recorded" \
            if vehicle is None else f"a {vehicle} vehicle"
        reasons.append(_reason(f"Whether other public bodies may use it is not recorded "
                               f"({what}; no cooperative-use clause on file).", src_vehicle))

    advertised = _flag(contract.get("publicly_advertised"))
    solicitation = _text(contract.get("solicitation_id"))
    if advertised is True:
        competitive: bool | None = True
        reasons.append(_reason("Competitive original: the solicitation was publicly advertised.", src))
    elif advertised is False:
        competitive = False
        reasons.append(_reason("Not a competitive original: the award was not publicly "
                               "advertised.", src))
    elif vehicle == "own_rfp" or solicitation:
        competitive = True
        what = f"solicitation {solicitation}" if solicitation else "the buyer's own RFP"
        reasons.append(_reason(f"Competitive original: {what}.", src_vehicle))
    else:
        competitive = None
        reasons.append(_reason("Whether the original award was competitive is not recorded.", src))
    if renewals:
        reasons.append(_reason(f"Renewals on record: {renewals}.", src))

    if open_ok is False or competitive is False:
        return _result("not_adoptable", reasons, cid, expiry_label)
    if term_ok and open_ok and competitive:
        return _result("available", reasons, cid, expiry_label)
    return _result("unknown", reasons, cid, expiry_label)


def assess(deployment: Mapping[str, Any], contracts: Iterable[Mapping[str, Any]] | None,
           decision_date: dt.date | None = None) -> dict[str, Any]:
    """Availability of one peer's contract on ``decision_date`` (default today).

    ``contracts``: the deployment's contract records (rows of the ``contracts`` table; other
    deployments' rows are ignored). With several, the most usable one is reported (available,
    then unknown, expired, not adoptable) and the others are named in a reason.

    Returns ``{"state", "label", "reasons": [{"text", "sources"}], "contract_id", "expiry"}``.
    """
    decision = decision_date or dt.date.today()
    dep_id = _text(deployment.get("deployment_id"))
    records = [dict(c) for c in (contracts or [])
               if dep_id is None or _text(c.get("deployment_id")) in (None, dep_id)]
    if not records:
        own = _contract_from_deployment(deployment)
        if own is None:
            return _result("not_adoptable", [_reason(
                "No contract is on record for this peer (no contract record, and the deployment "
                "states no award, term or vehicle): there is nothing on file to adopt.",
                _sources(deployment.get("source_urls")))], None, None)
        records = [own]
    results = [_assess_one(c, deployment, decision) for c in records]
    best = min(results, key=lambda r: STATES.index(r["state"]))
    others = [r for r in results if r is not best]
    if others:
        best = dict(best)
        best["reasons"] = best["reasons"] + [_reason(
            "Other contract records for this peer: " + "; ".join(
                f"{r['contract_id'] or 'deployment facts'} ({r['label'].lower()})" for r in others)
            + ".", [])]
    return best


def assess_all(deployments: Any, contracts: Any, decision_date: dt.date | None = None
               ) -> dict[str, dict[str, Any]]:
    """``assess`` for every deployment (frames or lists of dicts), keyed by deployment id."""
    dep_rows = deployments.to_dict("records") if hasattr(deployments, "to_dict") else list(deployments)
    con_rows = (contracts.to_dict("records") if hasattr(contracts, "to_dict")
                else list(contracts or []))
    by_dep: dict[str, list[dict[str, Any]]] = {}
    for row in con_rows:
        by_dep.setdefault(str(row.get("deployment_id")), []).append(row)
    return {str(d["deployment_id"]): assess(d, by_dep.get(str(d["deployment_id"]), []), decision_date)
            for d in dep_rows}


def reasons_text(result: Mapping[str, Any]) -> str:
    """The reasons as one plain line ('Expired: ...; Renewals ...')."""
    return " ".join(r["text"] for r in result.get("reasons", []))
