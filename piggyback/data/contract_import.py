"""Contract and price records from a steward's imported row (issue #14).

A steward import is kept whole in the users' record (``deployment_overrides``): the validated
deployment plus, under ``_terms``, the row's contract columns. The reference store derives the
contract record and the price lines from it each time it applies the imports, in the same
transaction as the deployments and facts, so a rebuild never loses them.

Rules:
* A contract field the row states replaces the seed's (the steward's newer record); a blank one
  keeps the seed's value. A field the row repeats unchanged from the seed deployment (a plain
  export/import round trip) changes nothing.
* ``one_time_amount`` and ``annual_amount`` become price lines; a ``contract_value`` with no such
  line becomes one line flagged as a lump sum, unless the peer already has price lines on file.
* Source addresses not in ``sources.csv`` are classified by what they are (an agency's own
  record is primary), never defaulted to "secondary".

Pure functions over plain data; no Streamlit, no file reading.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from piggyback.core.models import check_partial_date, is_blank

# Optional import columns beyond the deployment's own (the exported file does not carry them).
CONTRACT_COLUMNS = ["lead_agency", "solicitation_id", "publicly_advertised", "coop_clause", "expiry_date",
                    "one_time_amount", "annual_amount", "price_year"]
_BOOL = {"yes": True, "true": True, "y": True, "1": True, "no": False, "false": False, "n": False, "0": False}
_AMOUNTS = ("one_time_amount", "annual_amount")
TERMS_KEY = "_terms"


def parse_terms(row: dict, contract_award: str | None, currency: str | None) -> tuple[dict, list[tuple[str, str]]]:
    """The row's contract columns, checked: (terms, [(column, problem), ...])."""
    terms: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for col in CONTRACT_COLUMNS:
        value = row.get(col)
        if is_blank(value):
            continue
        text = str(value).strip()
        if col in ("publicly_advertised", "coop_clause"):
            if text.lower() not in _BOOL:
                problems.append((col, f"{text!r} is not yes or no (leave it blank when unknown)"))
            else:
                terms[col] = _BOOL[text.lower()]
        elif col == "expiry_date":
            try:
                terms[col] = check_partial_date(text)
            except ValueError as exc:
                problems.append((col, str(exc)))
        elif col in _AMOUNTS:
            try:
                amount = float(text.replace(",", ""))
            except ValueError:
                problems.append((col, f"{text!r} is not a number"))
                continue
            if not 0 <= amount <= 10_000_000_000:
                problems.append((col, f"{text} is out of range (0 to 10,000,000,000)"))
                continue
            terms[col] = amount
        elif col == "price_year":
            latest = dt.date.today().year + 1
            if not re.fullmatch(r"\d{4}", text) or not 1970 <= int(text) <= latest:
                problems.append((col, f"{text!r} is not a year from 1970 to {latest}"))
            else:
                terms[col] = int(text)
        else:
            if len(text) > 300:
                problems.append((col, "is longer than 300 characters"))
            else:
                terms[col] = text
    if any(k in terms for k in _AMOUNTS):
        if currency is None:
            problems.append(("currency", "a one-time or annual amount needs a currency (CAD or USD)"))
        if "price_year" not in terms:
            if contract_award:
                terms["price_year"] = int(contract_award[:4])
            else:
                problems.append(("price_year", "give the price year (or the contract_award date) for the amounts"))
    return terms, problems


# -- where a source comes from --------------------------------------------------------------------
_AGENCY_RECORD = re.compile(
    r"legistar\.com|iqm2\.com|/weblink|laserfiche|granicus\.com|municode|escribemeetings\.com|civicweb\.net|"
    r"boarddocs\.com|novusagenda\.com|agendacenter|/docview\.aspx", re.I)
#: Site names of permitting-software vendors: a page on one is the vendor's own statement.
VENDOR_HOST_WORDS = frozenset({
    "computronix", "cloudpermit", "calytera", "accela", "tylertech", "tylertechnologies", "opengov", "clariti",
    "citizenserve", "civicplus", "centralsquare", "granicus", "iworq", "cityview", "speridian", "infor",
    "mygovernmentonline", "energov", "csdcsystems", "avolvesoftware", "eplansoft", "bluebeam",
})
_NEWS = re.compile(r"news|herald|times|post|tribune|journal|gazette|inquirer|record|citizenportal|govtech|"
                   r"routefifty|cbc\.ca|ctvnews", re.I)


def source_kind_of(url: str, jurisdiction: str | None = None,
                   vendor_hosts: set[str] | frozenset[str] = frozenset()) -> str:
    """What a source address not listed in ``sources.csv`` is: ``primary`` for an agency's own
    page or council record (a council-records system, a government domain, or a site named
    after the jurisdiction itself, such as guelph.ca for the City of Guelph), ``vendor-stated``
    on a vendor's own site, else ``secondary``."""
    host = (urlparse(str(url)).hostname or "").lower().removeprefix("www.")
    if host in vendor_hosts or any(host.endswith("." + v) for v in vendor_hosts):
        return "vendor-stated"
    if _AGENCY_RECORD.search(str(url)):
        return "primary"
    if jurisdiction:
        plain = re.sub(r"^(city|town|township|municipality|county|village|district) of ", "",
                       str(jurisdiction).strip(), flags=re.I)
        key = re.sub(r"[^a-z0-9]", "", plain.split("(")[0].split("/")[0].lower())
        labels = {label.replace("-", "") for label in host.split(".")[:-1]}
        if len(key) >= 3 and labels & {key, f"cityof{key}", f"townof{key}", f"countyof{key}", f"{key}county",
                                       f"{key}city", f"villageof{key}", f"townshipof{key}"}:
            return "primary"
    if re.search(r"\.gov(\.[a-z]{2})?$|\.gc\.ca$|\.gov\.[a-z]{2}\.ca$|\.(on|bc|ab|qc|mb|sk|ns|nb)\.ca$|"
                 r"^(www\.)?(ci|co|cityof|townof|city|county)[.-]|\.(ci|co|state)\.[a-z]{2}\.us$", host):
        return "primary"
    labels = host.split(".")[:-1]
    if any(label.startswith(("cityof", "townof", "villageof", "countyof", "townshipof")) or "county" in label
           or label.endswith("gov") or label in ("council", "cityhall", "clerk") for label in labels):
        return "primary"
    if any(label.replace("-", "") in VENDOR_HOST_WORDS for label in labels):
        return "vendor-stated"
    if _NEWS.search(host):
        return "secondary"
    return "secondary"


# -- derived records ------------------------------------------------------------------------------
def _blank(v) -> bool:
    return is_blank(v)


def derive(overrides: dict[str, dict], contracts: pd.DataFrame, prices: pd.DataFrame,
           seed_deployments: dict[str, dict], vendors: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The contracts and price_items tables with the imports' contract facts applied.

    ``contracts`` and ``prices`` are the seed tables (from data/), ``seed_deployments`` the seed
    deployment rows by id (to tell a stated change from a round-trip repeat).
    """
    contracts = contracts.astype(object)  # copies; cells take text, numbers and None alike
    prices = prices.astype(object)
    new_contracts, new_prices = [], []
    priced = set(prices["deployment_id"]) if "deployment_id" in prices else set()
    for dep_id, rec in sorted(overrides.items()):
        terms = rec.get(TERMS_KEY) or {}
        seed = seed_deployments.get(dep_id) or {}

        def stated(field: str, seed_field: str | None = None):
            value = rec.get(field)
            if _blank(value) or (field == "vehicle" and value == "unknown"):
                return None
            old = seed.get(seed_field or field)
            if not _blank(old) and _same(old, value):
                return None  # repeated from the seed: no change
            return value

        changes: dict[str, Any] = {}
        for field, column in (("contract_award", "award_date"), ("contract_value", "value"),
                              ("currency", "currency"), ("contract_term_years", "term_years"), ("vehicle", "vehicle")):
            value = stated(field)
            if value is not None:
                changes[column] = value
        for col in ("lead_agency", "solicitation_id", "publicly_advertised", "coop_clause", "expiry_date"):
            if col in terms:
                changes[col] = terms[col]
        if changes and "currency" not in changes and "value" in changes:
            changes["currency"] = rec.get("currency")
        if changes:
            hit = contracts.index[contracts["deployment_id"] == dep_id] if "deployment_id" in contracts else []
            urls = " ; ".join(rec.get("source_urls") or [])
            note = "Contract facts from a steward import (the imported row is kept in the users' record)."
            if len(hit):
                i = hit[0]
                for col, value in changes.items():
                    contracts.at[i, col] = _cell(value)
                old_note = contracts.at[i, "notes"] if "notes" in contracts else None
                contracts.at[i, "notes"] = (f"{old_note} " if not _blank(old_note) else "") + note
                if urls:
                    old_urls = contracts.at[i, "source_urls"]
                    contracts.at[i, "source_urls"] = " ; ".join(dict.fromkeys(
                        [u for u in str(old_urls or "").split(" ; ") if u] + (rec.get("source_urls") or [])))
            else:
                new_contracts.append({
                    "contract_id": f"c-{dep_id}", "deployment_id": dep_id,
                    **{k: _cell(v) for k, v in changes.items()},
                    "scope_modules": ";".join(rec.get("module_codes") or []) or None,
                    "source_urls": urls or None, "confidence": rec.get("confidence"), "notes": note,
                })
        new_prices.extend(_price_lines(dep_id, rec, terms, dep_id in priced or "value" not in changes))
    if new_contracts:
        contracts = pd.concat([contracts, pd.DataFrame(new_contracts)], ignore_index=True)
    if new_prices:
        ids = {p["item_id"] for p in new_prices}
        prices = prices[~prices["item_id"].isin(ids)]
        prices = pd.concat([prices, pd.DataFrame(new_prices)], ignore_index=True)
    for col in ("value", "term_years"):
        if col in contracts:
            contracts[col] = pd.to_numeric(contracts[col], errors="coerce")
    for col in ("amount", "escalation_pct", "price_year", "years"):
        if col in prices:
            prices[col] = pd.to_numeric(prices[col], errors="coerce")
    return contracts, prices


def _same(a, b) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
        return str(a).strip() == str(b).strip()


def _cell(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _price_lines(dep_id: str, rec: dict, terms: dict, no_lump_sum: bool) -> list[dict]:
    """The row's stated price lines; with none, its contract value as one flagged lump sum,
    unless ``no_lump_sum`` (the peer has price lines on file, or the value only repeats the seed)."""
    url = (rec.get("source_urls") or [None])[0]
    kind = "user-entered" if url is None else "primary"
    base = {"deployment_id": dep_id, "contract_ref": f"c-{dep_id} (steward import)", "currency": rec.get("currency"),
            "source_url": url, "confidence": rec.get("confidence"), "kind": kind, "escalation_pct": None}
    term = rec.get("contract_term_years")
    years = int(round(term)) if term else None
    out = []
    if "one_time_amount" in terms:
        out.append({**base, "item_id": f"imp-{dep_id}-one-time", "category": "licence",
                    "description": "Lump sum: one-time amount as imported (not split by line)", "basis": "fixed",
                    "amount": terms["one_time_amount"], "price_year": terms["price_year"], "recurrence": "one_time",
                    "years": None, "note": "Lump sum from a steward import: one amount, not split by line."})
    if "annual_amount" in terms:
        out.append({**base, "item_id": f"imp-{dep_id}-annual", "category": "subscription",
                    "description": "Yearly amount as imported", "basis": "per_year", "amount": terms["annual_amount"],
                    "price_year": terms["price_year"], "recurrence": "recurring", "years": years,
                    "note": "From a steward import" + (f", for the {years}-year term." if years else ".")})
    if not out and not no_lump_sum and rec.get("contract_value") is not None and rec.get("currency"):
        year = terms.get("price_year") or (int(str(rec["contract_award"])[:4]) if rec.get("contract_award") else None)
        if year:
            span = f" for the {years}-year term" if years else ""
            out.append({**base, "item_id": f"imp-{dep_id}-contract-value", "category": "licence",
                        "description": f"Lump sum: contract value{span}, as imported (not split by line)",
                        "basis": "fixed", "amount": rec["contract_value"], "price_year": year, "recurrence": "one_time",
                        "years": None, "note": "Lump sum: the row states a contract value, not its price lines."})
    return out
