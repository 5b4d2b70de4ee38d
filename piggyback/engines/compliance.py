"""Compliance checklist: may this agency buy under that peer contract?

The rules and the trade-agreement thresholds are data (``data/compliance/rules.csv`` and
``thresholds.csv``); this module selects the rules that apply to an agency and tests each one
against the facts the store holds about the contract.

Three outcomes per rule:

* ``pass``: a recorded fact satisfies the rule (or evidence has been recorded for it);
* ``fail``: a recorded fact breaks the rule (an expired contract, no cooperative-use clause...);
* ``needs_evidence``: the fact is unknown, or the rule can only be checked by a person.

An unknown fact never passes. A threshold that is not confirmed for the decision date is never
guessed: the rule asks the user to verify the current threshold.

The checklist's verdict (``verdict()``, one ``VerdictState`` for every output: the Compliance page,
``python -m piggyback check``, the business case, its PDF and workbook) is *Blocked* when a blocker
fails, *Not shown to be allowed* when none fails but some need evidence, *Allowed, with items to
document* when only warnings are open, else *Allowed*. It names the rule sets applied and says when
the agency's province or state has none on file.

Facts come from the contract record plus the peer's deployment row (``evidence.checked_contract``);
an expiry not on record is worked out from the award date and term; a lead agency whose name says
it is a government (City of …, … County) is a public body. A scope rule passes only on the contract's
own scope or price list (``scope_document``), never on the modules a project or vendor page lists.

Evidence (a note, a document name or a link, recorded per rule) turns ``needs_evidence`` into
``pass``. It does **not** turn a ``fail`` into a pass: every fail comes from a fact in the
contract record (expiry date, clause, advertising, vehicle), so evidence against it means the
record is wrong and must be corrected there, where the change is visible to everyone and keeps its
source. The evidence is still shown next to the fail.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from piggyback.core.models import WebAddress, is_blank
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from piggyback.core.models import CA_PROVINCES, MODULES, US_STATES, check_region, normalize_country

VERIFY_THRESHOLD = "verify the current threshold"

#: The automatic tests a rule can name in its ``check`` column, and what each one reads.
CHECKS: dict[str, str] = {
    "lead_is_public": "the contract record says whether the lead agency is a public body",
    "publicly_advertised": "the contract record says whether the original solicitation was advertised",
    "coop_clause": "the contract record says whether the contract has cooperative-use wording",
    "active_through_golive": "the contract's expiry date against the decision date and planned go-live",
    "scope_covers_modules": "the contract's scope of work or price list against the modules needed (never a project "
                            "or marketing page)",
    "value_vs_threshold": "the estimated purchase value against the threshold in force on the decision date",
    "quebec_route": "where the contract's lead agency is, and the value against Quebec's public-tender threshold",
    "approval_limit": "the agency's delegated approval limits on file, named for the person who checks; always "
                      "needs evidence",
    "federal_funds_only": "included only when federal funds pay; always needs evidence",
    "manual": "no automatic test; always needs evidence",
}

#: Which facts each check depends on (contract fields, agency fields or inputs of ``evaluate``).
CHECK_FACTS: dict[str, tuple[str, ...]] = {
    "lead_is_public": ("lead_is_public",),
    "publicly_advertised": ("publicly_advertised",),
    "coop_clause": ("coop_clause",),
    "active_through_golive": ("expiry_date", "planned_golive"),
    "scope_covers_modules": ("scope_document", "modules_needed"),
    "value_vs_threshold": ("value", "threshold_amount"),
    "quebec_route": ("lead_region", "value", "threshold_amount"),
    "approval_limit": (),
    "federal_funds_only": (),
    "manual": (),
}

#: What each fact is called when the verdict lists what is missing.
FACT_LABELS: dict[str, str] = {
    "contract": "a peer contract (none is chosen or on record)",
    "lead_is_public": "whether the lead agency is a public body",
    "publicly_advertised": "whether the original solicitation was publicly advertised",
    "coop_clause": "whether the contract lets other public bodies buy under it",
    "expiry_date": "the contract's expiry date (or its award date and term)",
    "planned_golive": "the planned go-live",
    "scope_document": "the contract's scope of work or price list",
    "modules_needed": "the modules the agency needs",
    "value": "the estimated purchase value",
    "threshold_amount": "the threshold in force on the decision date",
    "lead_region": "where the contract's lead agency is",
    "evidence": "a person's check, recorded as evidence",
}

CATEGORY_ORDER = ("eligibility", "authority", "contract", "scope", "trade_agreement",
                  "funding", "pricing", "approval")
CATEGORY_LABELS = {
    "eligibility": "Eligibility of the contract", "authority": "Legal authority",
    "contract": "Contract terms", "scope": "Scope", "trade_agreement": "Trade agreements",
    "funding": "Funding", "pricing": "Pricing and value", "approval": "Approvals",
}
SEVERITY_ORDER = {"blocker": 0, "warning": 1, "info": 2}
STATUS_ORDER = {"fail": 0, "needs_evidence": 1, "pass": 2}

Severity = Literal["blocker", "warning", "info"]
Status = Literal["pass", "fail", "needs_evidence"]
Confidence = Literal["high", "medium", "low"]

_APPLIES_TO = {"ALL", "US", "CA", "US-CA"} | set(CA_PROVINCES) | (set(US_STATES) - {"CA"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ComplianceDataError(ValueError):
    """A rules or thresholds file (or table) that cannot be used as it stands."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Rule(_Record):
    """One due-diligence or legal requirement, in the project's own words, with its source."""

    rule_id: str = Field(pattern=r"^[A-Z]{2,3}(-[A-Z]{2,3})?-\d{2}$")
    applies_to: str
    category: str = Field(min_length=2)
    requirement: str = Field(min_length=10)
    how_to_verify: str = Field(min_length=5)
    severity: Severity
    check: str = "manual"
    threshold_key: str | None = None
    citation: str = Field(min_length=3)
    source_url: WebAddress
    confidence: Confidence

    @field_validator("applies_to")
    @classmethod
    def _known_scope(cls, value: str) -> str:
        if value not in _APPLIES_TO:
            raise ValueError(f"applies_to {value!r} is not ALL, US, CA, US-CA or a province/state code "
                             "(California is US-CA)")
        return value

    @field_validator("check")
    @classmethod
    def _known_check(cls, value: str) -> str:
        if value not in CHECKS:
            raise ValueError(f"check {value!r} is unknown; use one of {sorted(CHECKS)}")
        return value


    @model_validator(mode="after")
    def _threshold_key_matches_check(self):
        if self.check == "value_vs_threshold" and not self.threshold_key:
            raise ValueError(f"{self.rule_id}: check value_vs_threshold needs a threshold_key")
        if self.check != "value_vs_threshold" and self.threshold_key:
            raise ValueError(f"{self.rule_id}: threshold_key is set but check is {self.check!r}")
        return self

    @property
    def federal_only(self) -> bool:
        return self.rule_id.startswith("US-FED-") or self.check == "federal_funds_only"


class Threshold(_Record):
    """A trade-agreement or grant threshold for one period; a blank amount means not confirmed."""

    threshold_key: str = Field(pattern=r"^[a-z0-9_]+$")
    agreement: str = Field(min_length=2)
    entity_class: str = Field(min_length=2)
    category: Literal["goods", "services", "construction"]
    amount: float | None = Field(default=None, ge=0)
    currency: Literal["CAD", "USD"]
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    source_url: WebAddress
    confidence: Confidence
    note: str | None = None


    @model_validator(mode="after")
    def _ordered(self):
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise ValueError(f"{self.threshold_key}: effective_to {self.effective_to} is before "
                             f"effective_from {self.effective_from}")
        return self

    def covers(self, day: dt.date) -> bool:
        """True if the threshold is in force on ``day`` (a blank bound is open)."""
        return ((self.effective_from is None or self.effective_from <= day)
                and (self.effective_to is None or day <= self.effective_to))

    @property
    def period(self) -> str:
        if self.effective_from and self.effective_to:
            return f"{self.effective_from.isoformat()} to {self.effective_to.isoformat()}"
        if self.effective_from:
            return f"from {self.effective_from.isoformat()}, no end date on record"
        if self.effective_to:
            return f"until {self.effective_to.isoformat()}, no start date on record"
        return "no period on record"


class RuleResult(_Record):
    rule_id: str
    applies_to: str
    category: str
    severity: Severity
    status: Status
    reason: str
    requirement: str
    how_to_verify: str
    check: str
    citation: str
    source_url: str
    confidence: Confidence
    threshold: str | None = None
    threshold_amount: float | None = None
    threshold_currency: str | None = None
    threshold_period: str | None = None
    evidence: str | None = None
    #: What is missing for a rule that needs evidence (labels of FACT_LABELS), empty otherwise.
    missing: list[str] = Field(default_factory=list)
    #: The lawful route to use instead, for a rule that fails and names one (e.g. QC-12).
    alternative: str | None = None


# --------------------------------------------------------------------------- loading



def _read_rows(source: str | Path | pd.DataFrame, filename: str) -> list[dict[str, Any]]:
    if source is None:  # the engine reads no default file: the analysis passes the store's tables
        raise ComplianceDataError(f"no {filename[:-4]} given: pass the store's table (store.table"
                                  f"({filename[:-4]!r})) or a path to {filename}")
    if isinstance(source, pd.DataFrame):
        rows = source.to_dict("records")
    else:
        path = Path(source)
        if path.is_dir():
            path = path / filename
        if not path.exists():
            raise ComplianceDataError(f"{path} not found: the compliance data should be at "
                                      f"data/compliance/{filename}")
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    return [{str(k): (None if is_blank(v) else v) for k, v in row.items()} for row in rows]


def _validation_message(where: str, exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in errors()]
        return f"{where}: " + "; ".join(parts)
    return f"{where}: {exc}"


def load_rules(source: str | Path | pd.DataFrame) -> list[Rule]:
    """Read and validate the rules (a CSV file, a folder holding rules.csv, or a DataFrame)."""
    rules: list[Rule] = []
    for number, row in enumerate(_read_rows(source, "rules.csv"), start=2):
        try:
            rules.append(Rule(**row))
        except ValueError as exc:
            raise ComplianceDataError(_validation_message(f"rules row {number} ({row.get('rule_id')})", exc)) from None
    seen: set[str] = set()
    for rule in rules:
        if rule.rule_id in seen:
            raise ComplianceDataError(f"rule {rule.rule_id} appears twice; each rule_id must be unique")
        seen.add(rule.rule_id)
    return rules


def load_thresholds(source: str | Path | pd.DataFrame) -> list[Threshold]:
    """Read and validate the thresholds; two rows of one key and category may not overlap in time."""
    thresholds: list[Threshold] = []
    for number, row in enumerate(_read_rows(source, "thresholds.csv"), start=2):
        try:
            thresholds.append(Threshold(**row))
        except ValueError as exc:
            raise ComplianceDataError(_validation_message(f"thresholds row {number} ({row.get('threshold_key')})", exc)) from None
    by_series: dict[tuple[str, str], list[Threshold]] = {}
    for item in thresholds:
        by_series.setdefault((item.threshold_key, item.category), []).append(item)
    for (key, category), items in by_series.items():
        items.sort(key=lambda t: t.effective_from or dt.date.min)
        for before, after in zip(items, items[1:]):
            end = before.effective_to or dt.date.max
            start = after.effective_from or dt.date.min
            if start <= end:
                raise ComplianceDataError(
                    f"threshold {key} ({category}): periods {before.period} and {after.period} overlap; "
                    "give each period its own dates")
    return thresholds


# --------------------------------------------------------------------------- selection

def jurisdiction_codes(country: str, region: str) -> set[str]:
    """The ``applies_to`` codes that reach an agency: ALL, its country, its province or state."""
    country = normalize_country(country)
    region = check_region(country, region)
    if country == "US":
        return {"ALL", "US", "US-CA" if region == "CA" else region}
    return {"ALL", "CA", region}


def applicable_rules(rules: Iterable[Rule], country: str, region: str, federal_funds: bool) -> list[Rule]:
    """Rules for ALL + the country + the province/state; US federal-funds rules only with federal funds."""
    codes = jurisdiction_codes(country, region)
    return [r for r in rules if r.applies_to in codes and (federal_funds or not r.federal_only)]


def threshold_in_force(thresholds: Iterable[Threshold], key: str, day: dt.date) -> tuple[Threshold | None, str]:
    """The threshold of ``key`` in force on ``day`` and a description of it.

    Where a key has goods and services rows, the lower amount is used: a software purchase mixes
    licences and services, and the lower figure is the one that triggers first. Returns
    ``(None, VERIFY_THRESHOLD ...)`` when no row covers the day or any row's amount is blank.
    """
    rows = [t for t in thresholds if t.threshold_key == key and t.covers(day)]
    if not rows:
        return None, f"{VERIFY_THRESHOLD}: none on record for {day.isoformat()}"
    if any(t.amount is None for t in rows):
        period = rows[0].period
        return None, f"{VERIFY_THRESHOLD}: not confirmed for {period}"
    chosen = min(rows, key=lambda t: t.amount)
    approximate = "; low confidence: verify" if chosen.confidence == "low" else ""
    return chosen, (f"{chosen.currency} {chosen.amount:,.0f} ({chosen.agreement}, {chosen.entity_class}; "
                    f"{chosen.period}{approximate})")


def thresholds_for(rules: Iterable[Rule], thresholds: Iterable[Threshold], day: dt.date) -> list[dict[str, Any]]:
    """The threshold rows the given rules compare against on ``day``, one dict per row in force.

    ``used`` marks the row ``threshold_in_force`` compares with (None when the key needs
    verifying); a key with no row covering ``day`` gives one row with a blank amount and the
    period ``none on record``. Ordered by key, then category.
    """
    threshold_list = list(thresholds)
    users: dict[str, list[str]] = {}
    for rule in rules:
        if rule.threshold_key:
            users.setdefault(rule.threshold_key, []).append(rule.rule_id)
    out: list[dict[str, Any]] = []
    for key in sorted(users):
        chosen, _ = threshold_in_force(threshold_list, key, day)
        rows = sorted((t for t in threshold_list if t.threshold_key == key and t.covers(day)),
                      key=lambda t: t.category)
        if not rows:
            known = [t for t in threshold_list if t.threshold_key == key]
            out.append({"threshold_key": key, "agreement": known[0].agreement if known else None,
                        "entity_class": known[0].entity_class if known else None, "category": None,
                        "amount": None, "currency": None, "period": f"none on record for {day.isoformat()}",
                        "source_url": None, "confidence": None, "note": VERIFY_THRESHOLD,
                        "used": None, "rules": users[key]})
            continue
        for t in rows:
            out.append({"threshold_key": key, "agreement": t.agreement, "entity_class": t.entity_class,
                        "category": t.category, "amount": t.amount, "currency": t.currency, "period": t.period,
                        "source_url": t.source_url, "confidence": t.confidence,
                        "note": t.note if t.amount is not None else (t.note or VERIFY_THRESHOLD),
                        "used": None if chosen is None else t is chosen, "rules": users[key]})
    return out


# --------------------------------------------------------------------------- facts

def _as_mapping(obj: Any, what: str) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    raise ValueError(f"{what} must be a dict of fields, not {type(obj).__name__}")


def _as_bool(value: Any, field: str) -> bool | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise ValueError(f"{field} must be true, false or blank (unknown), not {value!r}")


def _as_modules(value: Any) -> list[str]:
    if is_blank(value):
        return []
    items = value.split(";") if isinstance(value, str) else list(value)
    return [str(m).strip() for m in items if str(m).strip()]


def date_span(value: Any) -> tuple[dt.date, dt.date] | None:
    """First and last day a (partial) date can mean: '2023-06' -> 2023-06-01 .. 2023-06-30."""
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value, value
    text = str(value).strip()
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", text)
    if not match:
        raise ValueError(f"{text!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = (int(g) if g else None for g in match.groups())
    if month is None:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    if day is None:
        first = dt.date(year, month, 1)
        following = dt.date(year + (month == 12), month % 12 + 1, 1)
        return first, following - dt.timedelta(days=1)
    day_value = dt.date(year, month, day)
    return day_value, day_value


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def expiry_from_term(award_date: Any, term_years: float) -> tuple[dt.date, dt.date]:
    """The span the initial term ends in: the award date's span moved on by the term.

    '2025' + 7 years -> 2032-01-01 .. 2032-12-31; '2021-12-14' + 1 year -> 2022-12-14. Renewals are
    not counted: a renewal that was exercised belongs in the record's expiry date.
    """
    span = date_span(award_date)
    if span is None:
        raise ValueError("an award date is needed to work out the expiry from the term")
    months = round(float(term_years) * 12)
    first = _add_months(span[0], months)
    if span[0] == span[1]:
        return first, first
    # a month or a year: its shifted end is the day before the shifted following day
    return first, _add_months(span[1] + dt.timedelta(days=1), months) - dt.timedelta(days=1)


def _span_text(span: tuple[dt.date, dt.date]) -> str:
    first, last = span
    if first == last:
        return first.isoformat()
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31) and first.year == last.year:
        return str(first.year)
    if first.year == last.year and first.month == last.month and first.day == 1:
        return first.strftime("%Y-%m")
    return f"between {first.isoformat()} and {last.isoformat()}"


_PUBLIC_NAME = re.compile(
    r"^(the\s+)?((corporation of the\s+)?(city|town|township|village|county|municipality|regional municipality|"
    r"region|district|borough|parish|state|province|commonwealth|government)\s+of\s+\S"
    r"|[A-Z][\w.'-]*(\s+[A-Z][\w.'-]*)*\s+county$)", re.IGNORECASE)


def public_by_name(name: str | None) -> bool:
    """True when the lead agency's name itself says it is a government: 'City of Ottawa', 'Washoe
    County'. Other names (cooperatives, alliances, commissions) stay unknown."""
    return bool(name) and bool(_PUBLIC_NAME.match(str(name).strip()))


def _as_date(value: Any, field: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    span = date_span(value)
    if span is None or span[0] != span[1]:
        raise ValueError(f"{field} must be a full date (YYYY-MM-DD), not {value!r}")
    return span[0]


class _Context:
    """The facts one evaluation works from, normalized once."""

    def __init__(self, agency, contract, value, currency, federal_funds, decision_date, planned_golive,
                 thresholds):
        agency_facts = _as_mapping(agency, "agency")
        if "country" not in agency_facts or "region" not in agency_facts:
            raise ValueError("agency needs a country (CA or US) and a region (province or state code)")
        self.country = normalize_country(agency_facts["country"])
        self.region = check_region(self.country, agency_facts["region"])
        self.modules_needed = _as_modules(agency_facts.get("modules_needed"))
        authority = agency_facts.get("delegated_authority")
        self.delegated_authority = dict(authority) if isinstance(authority, Mapping) else None
        unknown = [m for m in self.modules_needed if m not in MODULES]
        if unknown:
            raise ValueError(f"unknown module(s) {unknown}; known: {sorted(MODULES)}")

        self.has_contract = contract is not None
        facts = _as_mapping(contract, "contract")
        self.lead_agency = None if is_blank(facts.get("lead_agency")) else str(facts["lead_agency"])
        self.vehicle = None if is_blank(facts.get("vehicle")) else str(facts["vehicle"])
        self.solicitation_id = None if is_blank(facts.get("solicitation_id")) else str(facts["solicitation_id"])
        self.lead_is_public = _as_bool(facts.get("lead_is_public"), "lead_is_public")
        self.lead_public_by_name = False
        if self.lead_is_public is None and public_by_name(self.lead_agency):
            self.lead_is_public, self.lead_public_by_name = True, True
        self.publicly_advertised = _as_bool(facts.get("publicly_advertised"), "publicly_advertised")
        self.coop_clause = _as_bool(facts.get("coop_clause"), "coop_clause")
        self.renewals = None if is_blank(facts.get("renewals")) else str(facts["renewals"])
        self.award_date = None if is_blank(facts.get("award_date")) else facts["award_date"]
        term = facts.get("term_years")
        self.term_years = None if is_blank(term) else float(term)
        if self.term_years is not None and not (0 < self.term_years <= 50):
            raise ValueError(f"contract term {term!r} must be between 0 and 50 years")
        self.expiry_date = None if is_blank(facts.get("expiry_date")) else facts["expiry_date"]
        self.expiry_span = date_span(self.expiry_date)
        self.expiry_derived = False
        if self.expiry_span is None and self.award_date is not None and self.term_years is not None:
            self.expiry_span = expiry_from_term(self.award_date, self.term_years)
            self.expiry_derived = True
            self.expiry_date = (f"{_span_text(self.expiry_span)}: award {self.award_date} + "
                                f"{self.term_years:g}-year term, no expiry date recorded")
        self.scope_modules = _as_modules(facts.get("scope_modules"))
        self.scope_document = None if is_blank(facts.get("scope_document")) else str(facts["scope_document"])
        self.lead_country = None if is_blank(facts.get("lead_country")) else str(facts["lead_country"]).upper()
        self.lead_region = None if is_blank(facts.get("lead_region")) else str(facts["lead_region"]).upper()

        self.value = None if is_blank(value) else float(value)
        if self.value is not None and (self.value < 0 or math.isinf(self.value)):
            raise ValueError(f"estimated value {value!r} must be a positive amount")
        self.currency = None if is_blank(currency) else str(currency).upper()
        if self.value is not None and self.currency not in ("CAD", "USD"):
            raise ValueError("give the currency of the estimated value: CAD or USD")
        self.federal_funds = bool(federal_funds)
        self.decision_date = _as_date(decision_date, "decision_date")
        if self.decision_date is None:
            raise ValueError("decision_date is required: the thresholds in force depend on it")
        self.planned_golive = _as_date(planned_golive, "planned_golive")
        if self.planned_golive and self.planned_golive < self.decision_date:
            raise ValueError(f"planned go-live {self.planned_golive} is before the decision date "
                             f"{self.decision_date}; check both dates")
        self.thresholds = thresholds

    @property
    def lead_name(self) -> str:
        return self.lead_agency or "the lead agency"


# --------------------------------------------------------------------------- checks

_Outcome = tuple[str, str, dict[str, Any]]
_NO_CONTRACT = "no peer contract is selected: choose one, or record evidence for this item"


def _check_lead_is_public(rule: Rule, c: _Context) -> _Outcome:
    if not c.has_contract:
        return "needs_evidence", _NO_CONTRACT, {}
    if c.lead_is_public is True and c.lead_public_by_name:
        return "pass", f"{c.lead_name} is a government body by its name", {}
    if c.lead_is_public is True:
        return "pass", f"{c.lead_name} is recorded as a public body", {}
    if c.lead_is_public is False:
        return "fail", f"{c.lead_name} is recorded as not being a public body", {}
    return "needs_evidence", f"the record does not say whether {c.lead_name} is a public body", {}


def _not_competitive(c: _Context) -> str | None:
    if c.vehicle == "sole_source":
        return "the contract record says it was a sole-source award, not an advertised competition"
    if c.publicly_advertised is False:
        return "the contract record says the original solicitation was not publicly advertised"
    return None


def _check_publicly_advertised(rule: Rule, c: _Context) -> _Outcome:
    if not c.has_contract:
        return "needs_evidence", _NO_CONTRACT, {}
    problem = _not_competitive(c)
    if problem:
        return "fail", problem, {}
    if c.publicly_advertised is True:
        named = f" ({c.solicitation_id})" if c.solicitation_id else ""
        return "pass", (f"the contract record says the original solicitation{named} was publicly advertised; "
                        "keep the proof and compare its method with your own rules"), {}
    return "needs_evidence", "whether the original solicitation was publicly advertised is not recorded", {}


def _check_coop_clause(rule: Rule, c: _Context) -> _Outcome:
    if not c.has_contract:
        return "needs_evidence", _NO_CONTRACT, {}
    if c.coop_clause is True:
        return "pass", "the contract record says it has cooperative-use wording", {}
    if c.coop_clause is False:
        return "fail", "the contract record says it has no cooperative-use wording", {}
    return "needs_evidence", "whether the contract has cooperative-use wording is not recorded", {}


def _check_active(rule: Rule, c: _Context) -> _Outcome:
    if not c.has_contract:
        return "needs_evidence", _NO_CONTRACT, {}
    renewals = f" Renewals on record: {c.renewals}." if c.renewals else ""
    if c.expiry_span is None:
        known = ""
        if c.award_date is not None:
            known = f" It was awarded in {c.award_date}; its term is not recorded."
        elif c.term_years is not None:
            known = f" Its term ({c.term_years:g} years) is recorded but not its award date."
        return "needs_evidence", "the contract's expiry date is not recorded." + known + renewals, {}
    first, last = c.expiry_span
    fix = (" If a renewal was exercised, update the contract's expiry date in the record."
           if c.renewals or c.expiry_derived else "")
    if last < c.decision_date:
        return "fail", (f"the contract expired ({c.expiry_date}) before the decision date "
                        f"{c.decision_date.isoformat()}." + renewals + fix), {}
    if c.planned_golive and last < c.planned_golive:
        return "fail", (f"the contract expires ({c.expiry_date}) before the planned go-live "
                        f"{c.planned_golive.isoformat()}." + renewals + fix), {}
    if first < c.decision_date:
        return "needs_evidence", (f"the contract expires in {c.expiry_date}; the exact day is not recorded, so "
                                  f"it may end before the decision date {c.decision_date.isoformat()}." + renewals), {}
    if c.planned_golive is None:
        return "needs_evidence", (f"the contract is in force on the decision date (expires {c.expiry_date}); "
                                  "set the planned go-live to check it lasts through implementation." + renewals), {}
    if first < c.planned_golive:
        return "needs_evidence", (f"the contract expires in {c.expiry_date}; the exact day is not recorded, so "
                                  f"it may end before the planned go-live {c.planned_golive.isoformat()}." + renewals), {}
    return "pass", (f"in force until {c.expiry_date}, after the planned go-live "
                    f"{c.planned_golive.isoformat()}." + renewals), {}


def _check_scope(rule: Rule, c: _Context) -> _Outcome:
    if not c.has_contract:
        return "needs_evidence", _NO_CONTRACT, {}
    if not c.modules_needed:
        return "needs_evidence", "the agency has not said which modules it needs", {}
    missing = [m for m in c.modules_needed if m not in c.scope_modules]
    if c.scope_document and c.scope_modules and not missing:
        names = ", ".join(MODULES[m] for m in c.modules_needed)
        return "pass", (f"the contract's scope or price list ({c.scope_document}) covers every module needed "
                        f"({names}); still match each quote line to the price list"), {}
    # A project page or a vendor's story says what a peer runs or plans, not what the contract lets
    # others buy: without the contract's scope or price list the rule stays open.
    if not c.scope_modules:
        listed = "the sources do not list the modules this contract covers"
    elif missing:
        listed = ("not listed in the sources for this contract: " + ", ".join(MODULES[m] for m in missing))
    else:
        listed = ("the sources (project or vendor pages) mention every module needed, but that is not the "
                  "contract's scope")
    return "needs_evidence", (f"{listed}; no contract scope of work or price list is on file: check them "
                              "and record what they cover"), {}


def _check_threshold(rule: Rule, c: _Context) -> _Outcome:
    chosen, text = threshold_in_force(c.thresholds, rule.threshold_key or "", c.decision_date)
    info: dict[str, Any] = {"threshold": text}
    if chosen is None:
        info["threshold"] = VERIFY_THRESHOLD
        return "needs_evidence", f"{text}; compare the estimated total value with it", info
    info.update(threshold_amount=chosen.amount, threshold_currency=chosen.currency,
                threshold_period=chosen.period)
    if c.value is None:
        return "needs_evidence", ("estimate the total value (every year, option and service) to compare "
                                  f"with the threshold of {text}"), info
    if c.currency != chosen.currency:
        return "needs_evidence", (f"the estimated value is in {c.currency} and the threshold in {chosen.currency}: "
                                  "convert at the rate your policy uses and compare"), info
    shown = f"{c.currency} {c.value:,.0f}"
    if c.value < chosen.amount and chosen.confidence == "low":
        return "needs_evidence", (f"below an approximate threshold: {shown} is under {text}, a figure of low "
                                  "confidence; verify the exact threshold before relying on it"), info
    if c.value < chosen.amount:
        return "pass", f"below threshold: {shown} is under {text}", info
    above = f"at or above threshold: {shown} against {text}"
    if rule.severity == "info":
        return "needs_evidence", f"{above}; for information. To verify: {rule.how_to_verify}", info
    problem = _not_competitive(c) if (c.has_contract and rule.severity == "blocker") else None
    if problem:
        return "fail", f"{above}, and {problem}", info
    return "needs_evidence", f"{above}, so the requirement applies. To verify: {rule.how_to_verify}", info


QUEBEC_ROUTES = ("a purchase made for you by the UMQ or the FQM under an agreement signed before their call for "
                 "tenders (QC-14); a group purchase of the Centre d'acquisitions gouvernementales (QC-15); a joint "
                 "call for tenders with other Quebec bodies (QC-13); a cloud supplier's framework agreement with "
                 "Quebec's Minister of Cybersecurity and Digital Technology, for at most 3 years including "
                 "renewals (QC-02); or your own public call for tenders on SEAO")
QC_THRESHOLD_KEY = "qc_public_tender"
QC_BOUND_KEY = "cfta_mash_goods_services"


def _check_quebec_route(rule: Rule, c: _Context) -> _Outcome:
    """QC-12: a Quebec municipality may not adopt a contract let outside Quebec at or above its
    public-tender threshold. That threshold is the lowest of the trade-agreement thresholds that
    bind the municipality, so it is never above the CFTA municipal one: a value at or above the
    CFTA figure is above Quebec's even when Quebec's own figure for the period is not on file."""
    if not c.has_contract:
        return "needs_evidence", _NO_CONTRACT, {}
    if c.lead_country is None or (c.lead_country == "CA" and c.lead_region is None):
        return "needs_evidence", ("where the contract's lead agency is is not recorded: a contract let outside "
                                  "Quebec cannot be adopted at or above the public-tender threshold"), {}
    if c.lead_country == "CA" and c.lead_region == "QC":
        return "pass", ("the contract was let in Quebec; the Quebec award rules (QC-01, QC-13) still apply to "
                        "how you join it"), {}
    if c.lead_country == "CA":
        where = CA_PROVINCES.get(c.lead_region or "", c.lead_region or "Canada")
    else:
        where = ", ".join(x for x in (US_STATES.get(c.lead_region or ""), "United States") if x)
    home = f"the contract was let outside Quebec ({c.lead_name}, {where})"
    chosen, text = threshold_in_force(c.thresholds, QC_THRESHOLD_KEY, c.decision_date)
    bound = False
    if chosen is None:
        chosen, text = threshold_in_force(c.thresholds, QC_BOUND_KEY, c.decision_date)
        bound = chosen is not None
    info: dict[str, Any] = {"threshold": text if chosen is not None else VERIFY_THRESHOLD}
    if chosen is None:
        return "needs_evidence", (f"{home}; Quebec's public-tender threshold for {c.decision_date.isoformat()} "
                                  f"is not on file: {VERIFY_THRESHOLD}"), info
    info.update(threshold_amount=chosen.amount, threshold_currency=chosen.currency,
                threshold_period=chosen.period)
    named = (f"the CFTA municipal threshold {text}, which Quebec's public-tender threshold (the lowest agreement "
             "threshold) cannot exceed; Quebec's own figure for the period is not on file" if bound
             else f"Quebec's public-tender threshold {text}")
    if c.value is None:
        return "needs_evidence", (f"{home}; estimate the total value to compare with {named}"), info
    if c.currency != chosen.currency:
        return "needs_evidence", (f"{home}; the estimated value is in {c.currency}: convert it to "
                                  f"{chosen.currency} and compare with {named}"), info
    shown = f"{c.currency} {c.value:,.0f}"
    if c.value >= chosen.amount:
        info["alternative"] = QUEBEC_ROUTES[:1].upper() + QUEBEC_ROUTES[1:] + "."
        return "fail", (f"{home}, and {shown} is at or above {named}. No Quebec statute read lets a "
                        "municipality adopt such a contract: use a Quebec route instead (UMQ/FQM, the CAG, a "
                        "joint call for tenders with Quebec bodies, a Minister's cloud framework of at most "
                        "3 years, or your own tender)."), info
    if bound:
        return "needs_evidence", (f"{home}; {shown} is below {named}, so compare it with Quebec's own "
                                  "threshold once confirmed"), info
    return "pass", (f"{home}, but {shown} is below {named}: the written-invitation or by-law rules apply "
                    "instead (QC-11)"), info


def _check_approval_limit(rule: Rule, c: _Context) -> _Outcome:
    """No automatic pass: an approval is a person's fact. The reason names what is on file."""
    a = c.delegated_authority
    if not a:
        return "needs_evidence", ("no delegated approval limits are on file for this agency: look up your "
                                  "approval schedule and record the approval once obtained"), {}
    where = a.get("municipality") or "this agency"
    limit = a.get("council_approval_above")
    currency = a.get("currency") or ""
    bylaw = f" ({a['bylaw']})" if a.get("bylaw") else ""
    if is_blank(limit):
        said = f"on file for {where}{bylaw}: the council-approval limit is not confirmed"
    else:
        said = f"on file for {where}{bylaw}: council approval above {currency} {float(limit):,.0f}".strip()
        if c.value is not None and c.currency == currency:
            above = c.value > float(limit)
            said += (f"; the estimated {c.currency} {c.value:,.0f} is {'above' if above else 'not above'} it")
    non_comp = a.get("non_competitive_limit")
    said += ("" if is_blank(non_comp) else f"; non-competitive awards up to {currency} {float(non_comp):,.0f}")
    note = (f" Note on file: {a['quote']}" if a.get("quote") else "") + (
        f" Source: {a['source_url']}" if a.get("source_url") else "")
    return "needs_evidence", (f"{said}. A piggyback may fall under the non-competitive limits rather than the "
                              f"competitive ones: confirm with your by-law and record the approval.{note}"), {}


def _check_manual(rule: Rule, c: _Context) -> _Outcome:
    if rule.severity == "info":
        return "needs_evidence", "for information: no automatic check; record evidence if it applies", {}
    return "needs_evidence", "no automatic check: record evidence once verified", {}


_CHECK_FUNCTIONS = {
    "lead_is_public": _check_lead_is_public,
    "publicly_advertised": _check_publicly_advertised,
    "coop_clause": _check_coop_clause,
    "active_through_golive": _check_active,
    "scope_covers_modules": _check_scope,
    "value_vs_threshold": _check_threshold,
    "quebec_route": _check_quebec_route,
    "approval_limit": _check_approval_limit,
    "federal_funds_only": _check_manual,
    "manual": _check_manual,
}


def _evidence_text(rule_id: str, item: Any) -> str | None:
    if item is None:
        return None
    if not isinstance(item, Mapping):
        raise ValueError(f"evidence for {rule_id} must be a dict with a note, document or link")
    parts = []
    for field, label in (("note", ""), ("document", "document: "), ("link", "link: ")):
        value = item.get(field)
        if not is_blank(value):
            parts.append(f"{label}{str(value).strip()}")
    return "; ".join(parts) or None


def sort_results(results: Iterable[RuleResult], by: Literal["category", "severity"] = "category") -> list[RuleResult]:
    """Group by category and, in each, blockers first, then warnings, then info (fails before open
    items). ``by="severity"`` puts every blocker first across categories instead."""
    def key(r: RuleResult):
        cat = CATEGORY_ORDER.index(r.category) if r.category in CATEGORY_ORDER else len(CATEGORY_ORDER)
        group = (cat, r.category)
        sev = (SEVERITY_ORDER[r.severity], STATUS_ORDER[r.status])
        return (*group, *sev, r.rule_id) if by == "category" else (*sev, *group, r.rule_id)
    if by not in ("category", "severity"):
        raise ValueError(f"sort by 'category' or 'severity', not {by!r}")
    return sorted(results, key=key)


def evaluate(agency: Mapping[str, Any] | Any, contract: Mapping[str, Any] | None, value: float | None,
             currency: str | None, federal_funds: bool, decision_date: dt.date,
             planned_golive: dt.date | None = None, evidence: Mapping[str, Mapping[str, Any]] | None = None,
             *, rules: Iterable[Rule] | None = None,
             thresholds: Iterable[Threshold] | None = None) -> list[RuleResult]:
    """Test every rule that applies to ``agency`` against ``contract`` and the recorded evidence.

    ``agency``: country, region and modules_needed (a dict or an ``AgencyProfile``).
    ``contract``: the fields of contracts.csv (booleans or None for unknown), or None when no
    contract is chosen yet. ``value``/``currency``: the agency's estimated total purchase value.
    ``evidence``: per rule_id, a dict with ``note``, ``document`` and/or ``link``.
    ``rules``/``thresholds``: the store's (``load_rules(store.table("rules"))``…); the engine reads
    no file.
    """
    if rules is None or thresholds is None:
        raise ComplianceDataError("give the rules and thresholds to test (the store's): the engine reads no file")
    rule_list = list(rules)
    threshold_list = list(thresholds)
    ctx = _Context(agency, contract, value, currency, federal_funds, decision_date, planned_golive,
                   threshold_list)
    evidence = dict(evidence or {})
    results = []
    for rule in applicable_rules(rule_list, ctx.country, ctx.region, ctx.federal_funds):
        status, reason, extra = _CHECK_FUNCTIONS[rule.check](rule, ctx)
        if status == "needs_evidence":
            extra["missing"] = _missing_facts(rule, ctx, extra)
        recorded = _evidence_text(rule.rule_id, evidence.get(rule.rule_id))
        if recorded:
            if status == "needs_evidence":
                status, reason = "pass", f"evidence recorded: {recorded}"
                extra["missing"] = []
            elif status == "fail":
                reason = (f"{reason} Evidence recorded ({recorded}) does not clear a fail that comes from "
                          "the contract record: correct the record if it is wrong.")
        results.append(RuleResult(
            rule_id=rule.rule_id, applies_to=rule.applies_to, category=rule.category,
            severity=rule.severity, status=status, reason=reason, requirement=rule.requirement,
            how_to_verify=rule.how_to_verify, check=rule.check, citation=rule.citation,
            source_url=rule.source_url, confidence=rule.confidence, evidence=recorded, **extra))
    return sort_results(results, by="severity")


def _fact_known(fact: str, c: _Context, extra: Mapping[str, Any]) -> bool:
    if fact == "threshold_amount":
        return extra.get("threshold_amount") is not None
    if fact == "expiry_date":
        return c.expiry_span is not None
    if fact == "lead_region":
        return c.lead_region is not None
    if fact == "modules_needed":
        return bool(c.modules_needed)
    return getattr(c, fact, None) not in (None, [], "")


def _missing_facts(rule: Rule, c: _Context, extra: Mapping[str, Any]) -> list[str]:
    """What would settle a rule that needs evidence: the unknown facts it reads, else a person's check."""
    facts = CHECK_FACTS.get(rule.check, ())
    if facts and not c.has_contract and rule.check not in ("value_vs_threshold",):
        return [FACT_LABELS["contract"]]
    missing = [FACT_LABELS[f] for f in facts if not _fact_known(f, c, extra)]
    return missing or [FACT_LABELS["evidence"]]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class VerdictState(str, Enum):
    """The four answers to "may we use this contract?", the same in every output."""

    BLOCKED = "blocked"
    NOT_SHOWN = "not_shown"
    ALLOWED_WITH_ITEMS = "allowed_with_items"
    ALLOWED = "allowed"

    @property
    def headline(self) -> str:
        return VERDICT_HEADLINES[self]

    @property
    def exit_code(self) -> int:
        """``python -m piggyback check``: 0 for the two allowed states, 1 blocked, 4 not shown."""
        return {VerdictState.BLOCKED: 1, VerdictState.NOT_SHOWN: 4}.get(self, 0)


VERDICT_HEADLINES = {
    VerdictState.BLOCKED: "Blocked",
    VerdictState.NOT_SHOWN: "Not shown to be allowed",
    VerdictState.ALLOWED_WITH_ITEMS: "Allowed, with items to document",
    VerdictState.ALLOWED: "Allowed",
}

#: The rule sets by ``applies_to`` code, as the verdict names them.
RULE_SET_LABELS = {"ALL": "general due-diligence rules", "CA": "Canadian trade-agreement rules",
                   "US": "US federal rules"}


def rule_set_label(code: str) -> str:
    if code in RULE_SET_LABELS:
        return RULE_SET_LABELS[code]
    if code == "US-CA":
        return "California rules"
    name = CA_PROVINCES.get(code) or US_STATES.get(code) or code
    return f"{name} rules"


def coverage(results: Iterable[RuleResult], country: str | None, region: str | None) -> dict[str, Any]:
    """Which rule sets the results cover, and a plain sentence when the agency's province or state
    has no rules on file."""
    items = list(results)
    codes = sorted({r.applies_to for r in items}, key=lambda c: (c != "ALL", c not in ("CA", "US"), c))
    sets = [{"code": c, "label": rule_set_label(c)} for c in codes]
    note = None
    if country and region:
        country = normalize_country(country)
        own = "US-CA" if (country == "US" and region == "CA") else region
        if own not in codes:
            place = (CA_PROVINCES if country == "CA" else US_STATES).get(region, region)
            kind = "provincial" if country == "CA" else "state"
            short = {"ALL": "general", "CA": "Canadian", "US": "federal"}
            others = " and ".join(short.get(c, rule_set_label(c)) for c in codes) or "no"
            note = (f"{place}: no {kind} rules on file; this verdict covers {others} rules only. "
                    f"Check {place}'s own law and your procurement by-law or ordinance.")
    text = "Rules applied: " + (", ".join(s["label"] for s in sets) if sets else "none") + "."
    return {"rule_sets": sets, "text": text, "missing_region": note}


def _ids(items: list[RuleResult], limit: int = 12) -> str:
    shown = ", ".join(r.rule_id for r in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def verdict(results: Iterable[RuleResult], *, country: str | None = None,
            region: str | None = None) -> dict[str, Any]:
    """The verdict of a checklist: one of four ``VerdictState`` states, its words, counts and lists.

    * *Blocked*: a blocker fails (``failing`` says which and why);
    * *Not shown to be allowed*: no blocker fails but some lack facts or evidence (``open_blockers``
      lists them with what is missing);
    * *Allowed, with items to document*: every blocker passes, warnings are open or failed;
    * *Allowed*: every blocker and warning passes.

    Info items never change the state. ``country``/``region`` (the agency's) let the verdict say
    when the province or state has no rules on file. ``text`` is the one line every output shows.
    """
    items = list(results)
    def count(severity: str | None, status: str) -> int:
        return sum(1 for r in items if r.status == status and (severity is None or r.severity == severity))
    failing = [r for r in items if r.severity == "blocker" and r.status == "fail"]
    open_blockers = [r for r in items if r.severity == "blocker" and r.status == "needs_evidence"]
    warnings = [r for r in items if r.severity == "warning" and r.status != "pass"]
    if failing:
        state = VerdictState.BLOCKED
        text = f"{state.headline}: {_plural(len(failing), 'blocker')} {'fails' if len(failing) == 1 else 'fail'} ({_ids(failing)})"
        if open_blockers:
            text += f"; {_plural(len(open_blockers), 'other blocker')} also {'lacks' if len(open_blockers) == 1 else 'lack'} facts or evidence"
    elif open_blockers:
        state = VerdictState.NOT_SHOWN
        text = (f"{state.headline}: no blocker fails, but {_plural(len(open_blockers), 'blocker')} "
                f"{'lacks' if len(open_blockers) == 1 else 'lack'} facts or evidence ({_ids(open_blockers)})")
    elif warnings:
        state = VerdictState.ALLOWED_WITH_ITEMS
        text = (f"{state.headline}: every blocker passes; {_plural(len(warnings), 'warning')} to document "
                f"({_ids(warnings)})")
    else:
        state = VerdictState.ALLOWED
        text = f"{state.headline}: every blocker and warning passes"
    cover = coverage(items, country, region)
    alternatives = list(dict.fromkeys(r.alternative for r in failing if r.alternative))
    return {
        "state": state.value,
        "headline": state.headline,
        "text": text,
        "exit_code": state.exit_code,
        "blocking": state is VerdictState.BLOCKED,
        "total": len(items),
        "pass": count(None, "pass"),
        "fail": count(None, "fail"),
        "needs_evidence": count(None, "needs_evidence"),
        "blockers_failed": len(failing),
        "blockers_open": len(open_blockers),
        "warnings_failed": count("warning", "fail"),
        "warnings_open": count("warning", "needs_evidence"),
        "info_open": count("info", "needs_evidence"),
        "failing": [{"rule_id": r.rule_id, "reason": r.reason, "citation": r.citation,
                     "source_url": r.source_url} for r in failing],
        "open_blockers": [{"rule_id": r.rule_id, "reason": r.reason, "missing": list(r.missing)}
                          for r in open_blockers],
        "missing_facts": list(dict.fromkeys(m for r in open_blockers for m in r.missing)),
        "to_document": [r.rule_id for r in warnings],
        "alternatives": alternatives,
        "rule_sets": cover["rule_sets"],
        "coverage": cover["text"],
        "missing_region": cover["missing_region"],
    }


CHECKLIST_COLUMNS = ("rule_id", "category", "severity", "status", "requirement", "how_to_verify", "reason",
                     "missing", "alternative", "threshold", "evidence", "citation", "source_url", "confidence")


def _safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet would run a cell starting with these as a formula.
    return "'" + text if text.startswith(_FORMULA_START) else text


def checklist_csv(results: Iterable[RuleResult]) -> str:
    """The due-diligence checklist as CSV text, cells neutralized against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CHECKLIST_COLUMNS)
    for result in results:
        data = result.model_dump()
        data["missing"] = "; ".join(data.get("missing") or []) or None
        writer.writerow([_safe_cell(data.get(col)) for col in CHECKLIST_COLUMNS])
    return buffer.getvalue()
