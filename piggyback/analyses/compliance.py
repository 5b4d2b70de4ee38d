"""The compliance analysis: may the agency buy under one peer's contract instead of running its own
solicitation?

One chain, used by the Compliance page, ``python -m piggyback check``, ``python -m piggyback ask``
and the business case (PDF and Excel):

1. the rules that apply to the agency (its country, province or state, federal funds), from the
   store (``store.table("rules")``);
2. the thresholds in force on the decision date (``store.table("thresholds")``);
3. the contract facts used: the peer's contract record, each blank fact taken from its deployment
   row where that holds it (``evidence.checked_contract``);
4. the evidence recorded for the agency and the peer (``evidence.evidence_for``), or the evidence
   of a snapshot the caller passes;
5. the engine (``piggyback.engines.compliance.evaluate``), which reads no file, and the four-state verdict
   with the rule sets it covers;
6. what to ask the peer for (``piggyback.analyses.ask``): the missing facts, ranked, and the request texts.

``settings`` is the plain dict the page keeps in ``widgets.scenario_section("compliance")`` and a
saved scenario holds: ``value`` (estimated total purchase value), ``currency`` (``CAD``/``USD``,
default the agency's national currency), ``federal_funds`` (US only), ``decision_date`` and
``golive`` (ISO dates; default today and the ``compliance.golive_months`` assumption). No streamlit.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from piggyback.engines import compliance
from piggyback.core.errors import PiggybackError
from piggyback.data.evidence import checked_contract, contract_for, evidence_for, scope_for
from piggyback.core.models import CURRENCY_OF_COUNTRY, AgencyProfile, is_blank

GOLIVE_ASSUMPTION_MONTHS = 18  # used only when the store has no compliance.golive_months assumption
GOLIVE_ASSUMPTION_ID = "compliance.golive_months"
NATIONAL_CURRENCY = CURRENCY_OF_COUNTRY  # one map, in piggyback.core.models
CURRENCIES = ("CAD", "USD")
MAX_VALUE = 1e10  # ten billion: far above any permitting-system purchase

#: The settings and their defaults (a blank value is unknown; a blank date takes its default).
DEFAULTS: dict[str, Any] = {"value": None, "currency": None, "federal_funds": False,
                            "decision_date": None, "golive": None}


class ChecklistInputError(PiggybackError):
    """An input of the checklist (value, currency, dates) that the user must correct."""


# --------------------------------------------------------------------------- store readings

def default_golive(decision_date: dt.date, months: int = GOLIVE_ASSUMPTION_MONTHS) -> dt.date:
    """Decision date + ``months`` (the day clipped to the month's end): the go-live assumption."""
    total = decision_date.month - 1 + months
    year, month = decision_date.year + total // 12, total % 12 + 1
    return dt.date(year, month, min(decision_date.day, calendar.monthrange(year, month)[1]))


def golive_months(store) -> int:
    """Months from decision to the assumed go-live: the ``compliance.golive_months`` assumption."""
    table = store.assumptions("compliance")
    hit = table[table["assumption_id"] == GOLIVE_ASSUMPTION_ID]["value"]
    if hit.empty or pd.isna(hit.iloc[0]):
        return GOLIVE_ASSUMPTION_MONTHS
    return int(hit.iloc[0])


def delegated_authority_for(store, name: str | None, region: str | None) -> dict | None:
    """The agency's row of the ``delegated_authority`` table (matched on the municipality's name and
    province or state), blanks as None; None when the agency has no row."""
    if not name or "delegated_authority" not in store.tables():
        return None
    from piggyback.data.census import fold

    table = store.table("delegated_authority")
    wanted = fold(str(name).split(",")[0])
    rows = table[(table["municipality"].map(lambda v: fold(str(v))) == wanted) & (table["province"] == region)]
    if rows.empty:
        return None
    return {k: (None if is_blank(v) else v) for k, v in rows.iloc[0].to_dict().items()}


def store_rules(store) -> list[compliance.Rule]:
    return compliance.load_rules(store.table("rules"))


def store_thresholds(store) -> list[compliance.Threshold]:
    return compliance.load_thresholds(store.table("thresholds"))


# --------------------------------------------------------------------------- settings

def _date(value: Any, what: str) -> dt.date | None:
    if value is None or isinstance(value, dt.datetime):
        return value.date() if isinstance(value, dt.datetime) else None
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ChecklistInputError(f"The {what} {text[:40]!r} is not a date: give it as YYYY-MM-DD.") from None


def _value(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ChecklistInputError(f"The purchase value {str(value)[:40]!r} is not a number: give an amount "
                                  "such as 250000, or leave it blank if unknown.") from None
    if not math.isfinite(out) or not 0 <= out <= MAX_VALUE:
        raise ChecklistInputError(f"The purchase value must be between 0 and {MAX_VALUE:,.0f}.")
    return out


# --------------------------------------------------------------------------- the result

@dataclass(frozen=True)
class ComplianceResult:
    """One evaluation: the inputs in force, the contract facts used, the evidence, the rules'
    results, the verdict, the thresholds in force, the rule sets covered and what to ask for."""

    agency: AgencyProfile
    peer: str | None
    value: float | None
    currency: str | None  # the value's currency (None when the value is unknown)
    currency_assumed: bool  # a value was given without a currency: the agency's national one
    federal_funds: bool
    decision_date: dt.date
    decision_assumed: bool  # no decision date given: today
    planned_golive: dt.date
    golive_assumed: bool
    golive_assumption: dt.date  # the decision date + golive_months, shown beside the user's own
    golive_months: int
    contract: dict | None  # the record (or {"on_record": False}) when a peer is chosen
    facts: dict | None  # the facts the engine used: the record plus the deployment's
    scope: str | None  # where evidence is kept for this agency and peer
    evidence: dict[str, dict]
    results: list[compliance.RuleResult]
    verdict: dict
    thresholds: list[dict] = field(default_factory=list)
    rule_sets: list[dict] = field(default_factory=list)
    ask: dict | None = None  # what to ask the peer for (None without a peer)

    @property
    def contract_on_record(self) -> bool:
        return self.contract is not None and self.contract.get("on_record", True) is not False

    def inputs(self) -> dict[str, Any]:
        """The inputs in force, as plain JSON-able data (the CLI's ``inputs``)."""
        return {"value": self.value, "currency": self.currency, "currency_assumed": self.currency_assumed,
                "federal_funds": self.federal_funds, "decision_date": self.decision_date.isoformat(),
                "planned_golive": self.planned_golive.isoformat(),
                "planned_golive_assumed": self.golive_assumed, "golive_assumption_months": self.golive_months}


def analyse_compliance(store, profile: AgencyProfile, peer_id: str | None, settings: Mapping[str, Any] | None,
                       *, today: dt.date, evidence: Mapping[str, Mapping[str, Any]] | None = None,
                       with_ask: bool = True) -> ComplianceResult:
    """The due-diligence checklist of ``profile`` for the contract of ``peer_id`` (None: no peer
    chosen yet, every contract item needs evidence). ``settings``: see the module docstring.
    ``evidence``: the evidence to apply instead of the record's (a business-case snapshot's).
    Raises ``ChecklistInputError`` for an input to correct and ``UnknownPeer`` for an unknown peer."""
    s = {**DEFAULTS, **{k: v for k, v in dict(settings or {}).items() if k in DEFAULTS}}
    value = _value(s["value"])
    given_currency = s["currency"] if s["currency"] in CURRENCIES else None
    if s["currency"] not in (None, "") and given_currency is None:
        raise ChecklistInputError(f"The currency {str(s['currency'])[:10]!r} is not one of CAD, USD.")
    currency = (given_currency or NATIONAL_CURRENCY.get(profile.country)) if value is not None else None
    currency_assumed = value is not None and given_currency is None
    federal = bool(s["federal_funds"]) and profile.country == "US"
    given_decision = _date(s["decision_date"], "decision date")
    decision = given_decision or today
    months = golive_months(store)
    assumed_golive = default_golive(decision, months)
    own_golive = _date(s["golive"], "planned go-live")
    golive = own_golive or assumed_golive

    contract = facts = scope = None
    recorded: dict[str, dict] = {}
    if peer_id:
        record = contract_for(store, peer_id)
        facts = checked_contract(store, peer_id, record)  # an unknown peer is an error, not an empty contract
        contract = record or {"deployment_id": peer_id, "on_record": False}
        scope = scope_for(profile.geo_id, peer_id)
        recorded = evidence_for(store, scope) if evidence is None else {k: dict(v) for k, v in evidence.items()}
    elif evidence is not None:
        recorded = {k: dict(v) for k, v in evidence.items()}
    try:
        rules = store_rules(store)
        thresholds = store_thresholds(store)
        agency = {**profile.model_dump(),
                  "delegated_authority": delegated_authority_for(store, profile.name, profile.region)}
        results = compliance.evaluate(agency, facts, value, currency, federal, decision, golive, recorded,
                                      rules=rules, thresholds=thresholds)
    except compliance.ComplianceDataError as exc:
        raise ChecklistInputError(f"The compliance data cannot be used: {exc}") from None
    except ValueError as exc:
        raise ChecklistInputError(str(exc)) from None
    verdict = compliance.verdict(results, country=profile.country, region=profile.region)
    applied = compliance.applicable_rules(rules, profile.country, profile.region, federal)
    ask = None
    if peer_id and with_ask:
        from piggyback.analyses.ask import ask_with_verdict

        ask = ask_with_verdict(store, profile, peer_id, verdict, today=today)
    return ComplianceResult(
        agency=profile, peer=peer_id or None, value=value, currency=currency, currency_assumed=currency_assumed,
        federal_funds=federal, decision_date=decision, decision_assumed=given_decision is None,
        planned_golive=golive, golive_assumed=own_golive is None, golive_assumption=assumed_golive,
        golive_months=months, contract=contract, facts=facts, scope=scope, evidence=recorded, results=results,
        verdict=verdict, thresholds=compliance.thresholds_for(applied, thresholds, decision),
        rule_sets=verdict["rule_sets"], ask=ask)


def settings_from_args(args) -> dict[str, Any]:
    """The settings dict of ``python -m piggyback check``'s options (the page's and a saved
    scenario's shape), so the CLI and the page give the same result for the same inputs."""
    return {"value": args.value, "currency": args.currency, "federal_funds": bool(args.federal_funds),
            "decision_date": args.date.isoformat() if args.date else None,
            "golive": args.golive.isoformat() if args.golive else None}
