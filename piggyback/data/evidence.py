"""Due-diligence evidence and the checklist of one agency and one peer contract.

Evidence is what a person found when checking a rule by hand (a note, a document reference, a
link). It is kept per *scope*, the pair of the agency and the peer contract it was checked for,
``agency:<geo_id>|peer:<deployment_id>``, in the user table ``evidence``; every write is audited.
Evidence turns a rule that needs evidence into a pass (see ``piggyback.engines.compliance``).

The contract facts the checklist works from (``contract_for``, ``checked_contract``) are read here
too; the checklist itself is the compliance analysis, ``piggyback.analyses.compliance``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pandas as pd

from piggyback.engines import compliance
from piggyback.core.errors import PiggybackError, StoreError, UnknownPeer
from piggyback.core.identity import User, actor, require, require_owner
from piggyback.data.store import Store
from piggyback.core.models import number_or_none, is_blank

NOTE_MAX = 2000
DOCUMENT_MAX = 300
LINK_MAX = 2000
WHO_MAX = 100


_SCOPE = re.compile(r"^agency:([A-Za-z0-9][A-Za-z0-9._-]{1,79})\|peer:([a-z0-9][a-z0-9-]{1,79})$")
# RFC 3986 characters only: no spaces, quotes, angle brackets or the other unsafe ones.
_LINK = re.compile(r"^https?://[^\s/$.?#<>\"{}|\\^`][^\s<>\"{}|\\^`]*$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: Contract fields as the engine reads them, in the order the page lists them, with their labels.
CONTRACT_FACTS: dict[str, str] = {
    "lead_agency": "Lead agency",
    "vehicle": "Contract vehicle",
    "solicitation_id": "Solicitation / contract number",
    "publicly_advertised": "Original solicitation publicly advertised",
    "coop_clause": "Cooperative-use clause",
    "award_date": "Award date",
    "expiry_date": "Expiry date",
    "renewals": "Renewals",
    "value": "Contract value",
    "term_years": "Term (years)",
    "eligible_regions": "Who may use it",
    "scope_modules": "Modules the sources list",
}
_BOOL_FIELDS = ("publicly_advertised", "coop_clause", "lead_is_public")
_NUMBER_FIELDS = ("value", "term_years")


class EvidenceError(PiggybackError):
    """Evidence that cannot be saved (or found) as given; the message says what to change."""


# --------------------------------------------------------------------------- scope

def scope_for(geo_id: str | None, deployment_id: str | None) -> str:
    """The evidence scope of an agency and a peer contract: ``agency:<geo_id>|peer:<deployment_id>``."""
    if not geo_id:
        raise EvidenceError("Evidence is kept per agency: pick the agency first.")
    if not deployment_id:
        raise EvidenceError("Evidence is kept per peer contract: choose the peer contract first.")
    return check_scope(f"agency:{geo_id}|peer:{deployment_id}")


def check_scope(scope: str) -> str:
    if not isinstance(scope, str) or not _SCOPE.match(scope):
        raise EvidenceError(f"{scope!r} is not an evidence scope: use agency:<geo_id>|peer:<deployment_id> "
                            "(e.g. agency:CA-CSD-3523008|peer:ottawa-on)")
    return scope


def parse_scope(scope: str) -> tuple[str, str]:
    """``(geo_id, deployment_id)`` of a scope."""
    match = _SCOPE.match(check_scope(scope))
    return match.group(1), match.group(2)


# --------------------------------------------------------------------------- contract facts

def _text(value: Any) -> str | None:
    return None if is_blank(value) else str(value).strip()


def _bool(value: Any, field_name: str) -> bool | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "true":
        return True
    if text == "false":
        return False
    raise StoreError(f"the contract record has {field_name}={value!r}; it must be true, false or blank "
                     "(fix data/peers/contracts.csv and rebuild)")



def contract_for(store: Store, deployment_id: str) -> dict | None:
    """The peer's contract record as the engine reads it, or None when no contract is on record.

    Booleans become True/False/None (blank = unknown), ``scope_modules`` and ``source_urls``
    become lists; every blank stays None.
    """
    contracts = store.table("contracts")
    rows = contracts[contracts["deployment_id"] == deployment_id]  # a filtered copy: the cache is shared
    if rows.empty:
        return None
    if len(rows) > 1:  # several contracts on record: the most recent award is the one to adopt
        starts = rows["award_date"].map(lambda v: compliance.date_span(v)[0] if not is_blank(v) else dt.date.min)
        rows = rows.assign(_start=starts.values).sort_values("_start", ascending=False).drop(columns="_start")
    row = rows.iloc[0].to_dict()
    facts: dict[str, Any] = {}
    for key, value in row.items():
        if key in _BOOL_FIELDS:
            facts[key] = _bool(value, key)
        elif key in _NUMBER_FIELDS:
            facts[key] = number_or_none(value)
        elif key == "scope_modules":
            facts[key] = [] if is_blank(value) else [m.strip() for m in str(value).split(";") if m.strip()]
        elif key == "source_urls":
            facts[key] = [] if is_blank(value) else [u.strip() for u in str(value).split(" ; ") if u.strip()]
        else:
            facts[key] = _text(value)
    # The table has no column for it yet: whether the lead agency is a public body stays unknown.
    facts.setdefault("lead_is_public", None)
    return facts


#: Deployment columns that stand in for a blank contract fact (the steward's interchange columns).
DEPLOYMENT_FACTS = {"vehicle": "vehicle", "award_date": "contract_award", "term_years": "contract_term_years",
                    "value": "contract_value", "currency": "currency", "lead_agency": "lead_agency",
                    "publicly_advertised": "publicly_advertised", "coop_clause": "coop_clause"}


def checked_contract(store: Store, deployment_id: str, record: dict | None | bool = False) -> dict:
    """The contract facts the checklist works from: the contract record, with each blank fact taken
    from the peer's deployment row where that holds it (vehicle, award, term, value, lead agency,
    advertising, clause), plus where the contract was let (``lead_country``/``lead_region``).

    ``from_deployment`` names the facts taken from the deployment; ``on_record`` is False when no
    contract record exists (the deployment's facts are then the only ones). ``record``: the result
    of ``contract_for`` when the caller has it already. Raises ``UnknownPeer``.
    """
    deployments = store.table("deployments")  # cached; filtered copy below
    deployment = deployments[deployments["deployment_id"] == deployment_id]
    if deployment.empty:
        raise UnknownPeer(f"No peer deployment has the id {deployment_id!r}.")
    row = deployment.iloc[0].to_dict()
    if record is False:
        record = contract_for(store, deployment_id)
    facts: dict[str, Any] = dict(record) if record is not None else {"deployment_id": deployment_id,
                                                                       "on_record": False}
    taken = []
    for fact, column in DEPLOYMENT_FACTS.items():
        if column not in row or is_blank(row[column]):
            continue
        current = facts.get(fact)
        if current is None or (fact == "vehicle" and current == "unknown"):
            value = row[column]
            if fact in _BOOL_FIELDS:
                value = _bool(value, column)
            elif fact in _NUMBER_FIELDS:
                value = number_or_none(value)
            elif fact == "vehicle" and str(value) == "unknown":
                continue
            else:
                value = _text(value)
            facts[fact] = value
            taken.append(fact)
    facts["from_deployment"] = taken
    # Where the contract was let: the peer's own place, unless another body let it (a cooperative or
    # interlocal contract), whose place the record does not hold.
    vehicle = facts.get("vehicle") or "unknown"
    if vehicle in ("cooperative", "interlocal"):
        facts["lead_country"] = _text(row.get("country")) if str(row.get("country")) == "US" else None
        facts["lead_region"] = None
    else:
        facts["lead_country"], facts["lead_region"] = _text(row.get("country")), _text(row.get("region"))
    return facts


def contract_facts_table(contract: dict | None) -> pd.DataFrame:
    """The contract facts the checklist uses, one row each, with None where the record is blank."""
    from piggyback.core.models import MODULES, VEHICLES

    rows = []
    for key, label in CONTRACT_FACTS.items():
        value = None if contract is None else contract.get(key)
        if key == "vehicle" and value == "unknown":
            value = None
        if isinstance(value, bool):
            shown = "yes" if value else "no"
        elif key == "vehicle" and value:
            shown = VEHICLES.get(value, value)
        elif key == "scope_modules":
            shown = ", ".join(MODULES.get(m, m) for m in value) if value else None
        elif key == "value" and value is not None:
            shown = f"{value:,.0f} {contract.get('currency') or ''}".strip()
        elif key == "term_years" and value is not None:
            shown = f"{value:g}"
        else:
            shown = value
        rows.append({"fact": label, "value": shown})
    return pd.DataFrame(rows, dtype=object)


# --------------------------------------------------------------------------- evidence records

def _clean_field(value: Any, label: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise EvidenceError(f"the {label} must be text")
    text = value.strip()
    if not text:
        return None
    if len(text) > limit:
        raise EvidenceError(f"the {label} is {len(text):,} characters long; keep it to {limit:,}")
    if _CONTROL.search(text):
        raise EvidenceError(f"the {label} contains control characters; type or paste plain text")
    return text


def _known_rule_ids(store: Store) -> set[str]:
    return set(store.table("rules")["rule_id"].dropna())


def record_evidence(store: Store, scope: str, rule_id: str, note: str | None = None,
                    document: str | None = None, link: str | None = None, *, user: User | None = None,
                    label: str | None = None) -> dict:
    """Save one piece of evidence for ``rule_id`` in ``scope`` as ``user`` (a member or above)
    and audit it; returns the saved record.

    At least one of note, document reference and link; a link must be a web address (http or
    https). ``label`` is an optional display name typed by the user (e.g. "A. Chen, City
    Solicitor"), kept beside the identity, never instead of it. Raises ``PermissionDenied``,
    ``ReadOnlyStore`` and ``EvidenceError`` (bad input).
    """
    user = actor(user)
    require(user, "evidence.record")
    store.require_writable()
    scope = check_scope(scope)
    _, deployment_id = parse_scope(scope)
    if not isinstance(rule_id, str) or rule_id.strip() not in _known_rule_ids(store):
        raise EvidenceError(f"{str(rule_id)[:40]!r} is not a rule of the checklist; use a rule id such as ALL-01")
    rule_id = rule_id.strip()
    try:
        store.deployment(deployment_id)
    except UnknownPeer:
        raise EvidenceError(f"no peer deployment has the id {deployment_id!r}; choose a peer on file") from None
    note = _clean_field(note, "note", NOTE_MAX)
    document = _clean_field(document, "document reference", DOCUMENT_MAX)
    link = _clean_field(link, "link", LINK_MAX)
    if link is not None and not _LINK.match(link):
        raise EvidenceError(f"the link {link[:80]!r} is not a web address: it must start with http:// or https:// "
                            "and contain no spaces, quotes or angle brackets")
    if not (note or document or link):
        raise EvidenceError("evidence needs at least a note, a document reference or a link")
    label = _clean_field(label, "name of who recorded it", WHO_MAX) or user.label or None
    record = {"evidence_id": uuid.uuid4().hex, "scope": scope, "rule_id": rule_id, "note": note,
              "document": document, "link": link, "who": user.id, "ts": dt.datetime.now(), "who_label": label}

    def work(tx):
        tx.execute("INSERT INTO evidence (evidence_id, scope, rule_id, note, document, link, who, ts, who_label) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [record[k] for k in _EVIDENCE_COLUMNS])
        return record, record

    return store.record.write("evidence.record", work, user)


_EVIDENCE_COLUMNS = ("evidence_id", "scope", "rule_id", "note", "document", "link", "who", "ts", "who_label")


def evidence_items(store: Store, scope: str) -> list[dict]:
    """Every piece of evidence recorded in ``scope``, oldest first."""
    scope = check_scope(scope)
    rows = store.record.rows(f"SELECT {', '.join(_EVIDENCE_COLUMNS)} FROM evidence "
                             "WHERE scope = ? ORDER BY ts, evidence_id", [scope])
    items = []
    for row in rows:
        item = {k: (None if is_blank(v) else v) for k, v in zip(_EVIDENCE_COLUMNS, row)}
        if isinstance(item["ts"], pd.Timestamp):
            item["ts"] = item["ts"].to_pydatetime()
        items.append(item)
    return items


def evidence_for(store: Store, scope: str) -> dict[str, dict]:
    """Evidence by rule_id, as ``compliance.evaluate`` takes it.

    Several pieces for one rule are joined (`` | ``) in the order they were recorded; ``items``
    keeps each one (with its id, who and when), ``who`` and ``ts`` are the latest's.
    """
    out: dict[str, dict] = {}
    for item in evidence_items(store, scope):
        entry = out.setdefault(item["rule_id"], {"note": None, "document": None, "link": None, "items": []})
        entry["items"].append(item)
        for key in ("note", "document", "link"):
            if item[key]:
                entry[key] = item[key] if entry[key] is None else f"{entry[key]} | {item[key]}"
        entry["who"], entry["ts"] = item["who_label"] or item["who"], item["ts"]
    return out


def delete_evidence(store: Store, evidence_id: str, *, scope: str | None = None, user: User | None = None) -> dict:
    """Remove one piece of evidence (only from ``scope`` when given) as ``user`` — its author or a
    steward — and audit it; returns what was removed."""
    user = actor(user)
    store.require_writable()
    if scope is not None:
        check_scope(scope)

    def work(tx):
        rows = tx.execute(f"SELECT {', '.join(_EVIDENCE_COLUMNS)} FROM evidence WHERE evidence_id = ?",
                          [str(evidence_id)])
        if not rows or (scope is not None and rows[0][1] != scope):
            raise EvidenceError(f"no evidence {str(evidence_id)[:40]!r} is recorded"
                                f"{' for this agency and peer' if scope else ''}; it may have been removed already")
        removed = dict(zip(_EVIDENCE_COLUMNS, rows[0]))
        require_owner(user, removed["who"], "this evidence")
        tx.execute("DELETE FROM evidence WHERE evidence_id = ?", [removed["evidence_id"]])
        return removed, removed

    return store.record.write("evidence.delete", work, user)
