"""Price items kept in the store: the peers' seeded schedules, and the quotes a user enters.

A quote is a :class:`~piggyback.engines.pricing.PriceItem` of kind ``user-entered`` (for instance the
price a vendor offered the agency under the peer contract's piggyback clause). It is saved in the
user table ``user_price_items`` (survives rebuilds) under a scope naming the agency and the peer
contract, ``agency:<geo_id>|peer:<deployment_id>``; every save and delete is written to the
audit log in the same transaction. Nothing is written when the item is invalid or the store is
read-only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydantic import ValidationError

from piggyback.core.models import Assumption, Deployment
from piggyback.engines.pricing import (
    PriceItem,
    PriceSchedule,
    PricingError,
    _blank_to_none,
    default_assumptions,
    items_from_records,
)
from piggyback.engines.pricing_routes import assumptions_from_records
from piggyback.core.identity import User, actor, require, require_owner
from piggyback.data.store import Store

TABLE = "user_price_items"
KIND = "user-entered"
DEFAULT_CONFIDENCE = "medium"
_SCOPE = re.compile(r"^agency:(?P<agency>[^|\s]{1,120})\|peer:(?P<peer>[a-z0-9][a-z0-9-]{1,80})$")


# -- scope ------------------------------------------------------------------------------------


def scope_for(agency_id: str, deployment_id: str) -> str:
    """The scope of the agency's quotes on one peer contract, e.g. ``agency:CA-CSD-3523008|peer:ottawa-on``."""
    scope = f"agency:{agency_id}|peer:{deployment_id}"
    parse_scope(scope)
    return scope


def parse_scope(scope: str) -> tuple[str, str]:
    """``(agency id, deployment id)`` of a scope, or :class:`PricingError` saying what is wrong."""
    m = _SCOPE.match(str(scope or ""))
    if not m:
        raise PricingError(f"scope {scope!r} is not of the form 'agency:<geo_id>|peer:<deployment_id>'")
    return m["agency"], m["peer"]


# -- quotes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """A saved user-entered price item, with who saved it and when."""

    item: PriceItem
    scope: str
    who: str
    ts: dt.datetime


def new_item_id() -> str:
    return f"quote-{uuid.uuid4().hex[:12]}"


def validate_quote(scope: str, record: Mapping[str, Any] | PriceItem) -> PriceItem:
    """The record as a ``user-entered`` price item of the scope's peer, or :class:`PricingError`
    listing every reason it is not valid."""
    _, peer = parse_scope(scope)
    clean = dict(record.model_dump() if isinstance(record, PriceItem) else record)
    given_peer = clean.get("deployment_id")
    if given_peer not in (None, "", peer):
        raise PricingError(f"the quote is for {given_peer}, but the scope is peer {peer}")
    kind = clean.get("kind")
    if kind not in (None, "", KIND):
        raise PricingError(f"a quote is entered by the user: its kind is '{KIND}', not {kind!r}")
    clean["deployment_id"] = peer
    clean["kind"] = KIND
    clean["item_id"] = clean.get("item_id") or new_item_id()
    clean["confidence"] = clean.get("confidence") or DEFAULT_CONFIDENCE
    try:
        return PriceItem.model_validate({k: _blank_to_none(v) for k, v in clean.items()})
    except ValidationError as exc:
        raise PricingError("; ".join(_reason(e, clean["item_id"]) for e in exc.errors())) from None


_FIELD_WORDS = {"escalation_pct": "escalation", "price_year": "price year", "source_url": "source",
                "years": "years quoted"}


def _reason(error: Mapping[str, Any], item_id: str) -> str:
    """One validation error in the words of the form (no internal ids)."""
    msg = str(error["msg"]).removeprefix("Value error, ").replace(f"{item_id}: ", "")
    field = ".".join(str(part) for part in error["loc"])
    if not field:
        return msg
    if error.get("input", "") is None:
        msg = "required"
    if field in ("category", "basis", "recurrence", "currency") and error["type"] == "literal_error":
        msg = msg.replace("Input should be", "use")
    return f"{_FIELD_WORDS.get(field, field.replace('_', ' '))}: {msg}"


def save_quote(store: Store, scope: str, record: Mapping[str, Any] | PriceItem, *,
               user: User | None = None) -> PriceItem:
    """Validate and save one quote line as ``user`` (a member or above; a new ``item_id`` unless
    given); audited in the same transaction."""
    user = actor(user)
    require(user, "quote.save")
    store.require_writable()
    item = validate_quote(scope, record)
    store.deployment(item.deployment_id)  # UnknownPeer when the peer is not on file

    def work(tx):
        if tx.execute(f"SELECT 1 FROM {TABLE} WHERE item_id = ?", [item.item_id]):
            raise PricingError(f"a quote line {item.item_id} is already saved: delete it first or use another id")
        tx.execute(f"INSERT INTO {TABLE} (item_id, scope, record, who, ts) VALUES (?, ?, ?, ?, ?)",
                   [item.item_id, scope, item.model_dump_json(), user.id, dt.datetime.now()])
        return item, {"item_id": item.item_id, "scope": scope, "record": item.model_dump()}

    return store.record.write("quote.save", work, user)


def list_quotes(store: Store, scope: str | None = None) -> list[Quote]:
    """Saved quotes (of one scope when given), oldest first."""
    sql, params = f"SELECT item_id, scope, record, who, ts FROM {TABLE}", []
    if scope is not None:
        parse_scope(scope)
        sql += " WHERE scope = ?"
        params.append(scope)
    rows = store.record.rows(sql + " ORDER BY ts, item_id", params)
    out = []
    for item_id, row_scope, record, who, ts in rows:
        try:
            item = items_from_records([json.loads(record)])[0]
        except (PricingError, json.JSONDecodeError) as exc:
            raise PricingError(f"saved quote {item_id} is no longer valid ({exc}); "
                               "delete it and enter it again") from None
        out.append(Quote(item=item, scope=row_scope, who=who, ts=ts))
    return out


def quote_items(store: Store, scope: str) -> list[PriceItem]:
    return [q.item for q in list_quotes(store, scope)]


def delete_quote(store: Store, item_id: str, scope: str | None = None, *, user: User | None = None) -> PriceItem:
    """Delete one saved quote line (only within ``scope`` when given) as its author or a steward."""
    user = actor(user)
    store.require_writable()

    def work(tx):
        rows = tx.execute(f"SELECT scope, record, who FROM {TABLE} WHERE item_id = ?", [item_id])
        if not rows or (scope is not None and rows[0][0] != scope):
            raise PricingError(f"no saved quote line {str(item_id)[:40]!r}" + (f" for {scope}" if scope else ""))
        require_owner(user, rows[0][2], "this quote")
        tx.execute(f"DELETE FROM {TABLE} WHERE item_id = ?", [item_id])
        data = json.loads(rows[0][1])
        return data, {"item_id": item_id, "scope": rows[0][0], "record": data}

    return items_from_records([store.record.write("quote.delete", work, user)])[0]


def quote_schedule(items: list[PriceItem], deployment_id: str) -> PriceSchedule:
    """The quote lines as a schedule (cost it with ``scale_fixed=False``: it is the agency's own price)."""
    return PriceSchedule(deployment_id=deployment_id, items=tuple(i for i in items if i.deployment_id == deployment_id))


# -- the seeded schedules and assumptions, as the store holds them ---------------------------------


def pricing_assumptions(store: Store) -> dict[str, Assumption]:
    """The ``pricing`` assumptions of the store (the shipped file's when the store has none)."""
    frame = store.assumptions("pricing")
    if frame.empty:
        return default_assumptions()
    return assumptions_from_records(frame.to_dict("records"))


_CENSUS = ["census_population", "census_population_year", "census_population_label"]


def _census_by_peer(peers: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {rec["deployment_id"]: rec for rec in peers[["deployment_id", *_CENSUS]].to_dict("records")}


def peer_for_pricing(store: Store, deployment_id: str, *, peer: Deployment | None = None,
                     census: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[Deployment, str]:
    """The peer with the population its prices are scaled from, and a note saying where it is from:
    the peer record's own figure, else the census figure of its jurisdiction. ``peer`` and
    ``census`` (:func:`_census_by_peer` of the store's peers) save the queries when the caller has them."""
    peer = peer if peer is not None else store.deployment(deployment_id)
    if peer.population:
        return peer, f"{peer.population:,} ({peer.population_year or 'year not given'}, peer record)"
    row = (census if census is not None else _census_by_peer(store.peers())).get(deployment_id)
    pop = None if row is None or pd.isna(row["census_population"]) else int(row["census_population"])
    if pop is None:
        return peer, "unknown"
    year = row["census_population_year"]
    year = None if pd.isna(year) else int(year)
    label = row["census_population_label"]
    note = f"{pop:,} ({label if isinstance(label, str) and label else year}, census)"
    return peer.model_copy(update={"population": pop, "population_year": year}), note


def price_schedules(store: Store) -> dict[str, PriceSchedule]:
    """One schedule per peer with price items on file, scaled from the peer's population."""
    schedules, _ = price_schedules_with_notes(store)
    return schedules


def price_schedules_with_notes(store: Store) -> tuple[dict[str, PriceSchedule], dict[str, str]]:
    """The schedules plus, per peer, where its scaling population comes from."""
    if "price_items" not in store.tables():
        return {}, {}
    from piggyback.data.store import _py

    items = items_from_records(store.table("price_items").to_dict("records"))
    ids = list(dict.fromkeys(i.deployment_id for i in items))
    census = _census_by_peer(store.peers())
    # one query for every priced peer's record (not one per peer: the page runs this on each rerun)
    frame = store.query_df("SELECT d.* FROM deployments d WHERE d.deployment_id IN (SELECT UNNEST(?))", [ids])
    records = {rec["deployment_id"]: Deployment.model_validate({k: _py(v) for k, v in rec.items()})
               for rec in frame.to_dict("records")}
    schedules, notes = {}, {}
    for dep_id in ids:
        if dep_id in records:
            peer, notes[dep_id] = peer_for_pricing(store, dep_id, peer=records[dep_id], census=census)
        else:
            peer, notes[dep_id] = None, "unknown (peer not on file)"
        schedules[dep_id] = PriceSchedule.for_peer(items, dep_id, peer)
    return schedules, notes
