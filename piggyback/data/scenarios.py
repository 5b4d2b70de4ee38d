"""Saved scenarios: an analysis a committee can save under a name, reopen, share and compare.

A scenario holds the agency profile (census id plus the inputs the census lacks), the candidate
peer and its contract, every page's edited settings (the per-page dicts the pages keep in
``st.session_state["scenario"]``: "peers", "timeline", "pricing", "compliance", ...), and a
snapshot of the user's own records for that agency and peer (entered price items, compliance
evidence), so the saved analysis stays complete even if those rows change later.

Storage goes through one small interface, :class:`ScenarioStore`, implemented once by
:class:`RecordScenarioStore` on the ``scenarios`` table of the users' record
(:class:`piggyback.data.record.Record`: the embedded DuckDB file, or PostgreSQL when
``PIGGYBACK_DATABASE_URL`` is set; the SQL is the same on both)::

    scenarios (scenario_id PRIMARY KEY, name UNIQUE, payload (JSON text), created_at, updated_at,
               version, owner, owner_label)

Concurrency and ownership
    Every write is one transaction of the record, audited inside it. Saves use optimistic
    concurrency: an update names the ``version`` it started from and succeeds only if the row
    still has it (``UPDATE ... WHERE scenario_id = ? AND version = ?``), bumping the version. A lost
    race raises :class:`ScenarioConflict`; nothing is overwritten silently or half-written. Two
    sessions creating the same name: the ``UNIQUE`` constraint lets one win and the other gets
    :class:`ScenarioNameTaken`. Only a scenario's owner or a steward changes it
    (:mod:`piggyback.core.identity`).

Session state
    :func:`apply_scenario_to_session` and :func:`payload_from_profile` are pure over dict-likes,
    so the page, the CLI and the tests share them without Streamlit.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
import secrets
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from piggyback.core.errors import PiggybackError
from piggyback.core.identity import Role, User, actor, require, require_owner
from piggyback.core.models import AgencyProfile, is_blank
from piggyback.data.record import Record, RecordBusy, RecordNameTaken

PAYLOAD_SCHEMA = 1
MAX_PAYLOAD_BYTES = 2 * 1024 * 1024
MAX_NAME = 120
ID_PATTERN = re.compile(r"^[a-f0-9]{8,32}$")
SETTINGS_SECTIONS = ("peers", "timeline", "pricing", "compliance")
# Session keys the app frame reads (see piggyback/widgets.py).
SESSION_KEYS = ("agency_geo", "in_modules", "in_permits", "in_users", "in_system", "peer", "scenario")
_RETRIES = 5


class ScenarioError(PiggybackError):
    """A scenario could not be saved or opened; the message says what to do."""


class UnknownScenario(ScenarioError):
    pass


class ScenarioConflict(ScenarioError):
    """Someone else saved first: the version on file is not the one this save started from."""


class ScenarioNameTaken(ScenarioConflict):
    pass


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def clean_name(name: Any) -> str:
    """A scenario name as stored: trimmed, inner spaces collapsed, 1-120 characters."""
    text = re.sub(r"\s+", " ", str(name or "")).strip()
    if not text:
        raise ScenarioError("Give the scenario a name (e.g. 'Guelph: Ottawa contract, council draft').")
    if len(text) > MAX_NAME:
        raise ScenarioError(f"A scenario name has at most {MAX_NAME} characters ({len(text)} given).")
    if any(ord(c) < 32 for c in text):
        raise ScenarioError("A scenario name cannot hold control characters.")
    return text


def _json_ready(value: Any, where: str = "payload") -> Any:
    """Plain JSON values only (dict/list/str/int/float/bool/None; finite numbers)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ScenarioError(f"{where} holds a number that is not finite ({value}); enter a real value.")
        return value
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):  # numpy scalars
        return _json_ready(value.item(), where)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ScenarioError(f"{where} holds a {type(value).__name__}, which a scenario cannot save; "
                        "pages keep plain values (numbers, text, lists, dicts) in their settings.")


def dump_payload(payload: Mapping[str, Any]) -> str:
    text = json.dumps(_json_ready(dict(payload)), sort_keys=True, ensure_ascii=False, allow_nan=False)
    if len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise ScenarioError(f"The scenario is too large to save ({len(text) // 1024:,} KB; the limit is "
                            f"{MAX_PAYLOAD_BYTES // 1024:,} KB).")
    return text


class Scenario(BaseModel):
    """A saved analysis. ``payload`` is plain JSON (see :func:`payload_from_profile`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN.pattern)
    name: str = Field(min_length=1, max_length=MAX_NAME)
    payload: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = Field(ge=1)
    owner: str | None = None  # the identity that saved it; None for rows saved before owners
    owner_label: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return clean_name(value)

    @property
    def agency_geo(self) -> str | None:
        return (self.payload.get("agency") or {}).get("geo_id")

    @property
    def peer(self) -> str | None:
        return self.payload.get("peer")

    def link(self, base: str = "") -> str:
        """The shareable link: ``<base>?scenario=<id>`` (``base`` is the page's address)."""
        return f"{base}?scenario={self.id}"


@runtime_checkable
class ScenarioStore(Protocol):
    """Where scenarios live. Implementations must be safe for concurrent sessions.

    Every write names the acting :class:`~piggyback.core.identity.User` (``None``: the machine's
    operator, see :func:`piggyback.core.identity.actor`) and is refused with ``PermissionDenied``
    unless the rules of :mod:`piggyback.core.identity` allow it."""

    def save(self, name: str, payload: Mapping[str, Any], *, scenario_id: str | None = None,
             expected_version: int | None = None, user: User | None = None) -> Scenario: ...

    def get(self, scenario_id: str) -> Scenario: ...

    def get_by_name(self, name: str, *, user: User | None = None) -> Scenario: ...

    def list(self, *, user: User | None = None, include: Iterable[str] = (),
             agency_geo: str | None = None) -> list[Scenario]: ...

    def rename(self, scenario_id: str, new_name: str, *, expected_version: int | None = None,
               user: User | None = None) -> Scenario: ...

    def duplicate(self, scenario_id: str, new_name: str, *, user: User | None = None) -> Scenario: ...

    def delete(self, scenario_id: str, *, expected_version: int | None = None, user: User | None = None) -> None: ...


_COLUMNS = "scenario_id, name, payload, created_at, updated_at, version, owner, owner_label"


class RecordScenarioStore:
    """:class:`ScenarioStore` on the ``scenarios`` table of the users' record (any backend)."""

    def __init__(self, record: Record):
        self.record = record

    # -- helpers ---------------------------------------------------------------------------
    def _row_to_scenario(self, row) -> Scenario:
        sid, name, payload, created, updated, version, owner, owner_label = row
        try:
            data = json.loads(payload) if payload else {}
        except json.JSONDecodeError:
            raise ScenarioError(f"Scenario {name!r} is damaged (its saved data is not readable JSON); "
                                "delete it and save it again.") from None
        return Scenario(id=sid, name=name, payload=data, created_at=created, updated_at=updated,
                        version=int(version), owner=owner, owner_label=owner_label)

    def _select(self, where: str, params: list) -> list[Scenario]:
        rows = self.record.rows(f"SELECT {_COLUMNS} FROM scenarios WHERE {where} "  # where: fixed text below
                                "ORDER BY updated_at DESC, name", params)
        return [self._row_to_scenario(r) for r in rows]

    @staticmethod
    def _check_id(scenario_id: str) -> str:
        text = str(scenario_id or "").strip().lower()
        if not ID_PATTERN.match(text):
            raise UnknownScenario(f"{str(scenario_id)[:40]!r} is not a scenario id (ids look like 3f9c2a71b0d4e8a6). "
                                  "Use `python -m piggyback scenarios list` to see the saved scenarios.")
        return text

    def _write(self, action: str, work, user: User):
        """Run ``work(tx) -> (result, audit_detail)`` in one audited transaction; a lost race
        shows up as a version or name conflict, a busy moment is retried."""
        try:
            return self.record.write(action, work, user)
        except RecordNameTaken as exc:
            raise self._name_conflict(str(exc)) from None
        except RecordBusy:
            raise ScenarioConflict("Another session was saving scenarios at the same moment and this "
                                   "save could not go through; nothing was changed. Save again.") from None

    @staticmethod
    def _name_conflict(message: str) -> ScenarioNameTaken:
        # DuckDB: Duplicate key "name: X"; PostgreSQL: Key (name)=(X) already exists (X may hold parentheses)
        match = re.search(r'name: (.*?)"', message) or re.search(r"\(name\)=\((.*)\) already exists", message)
        name = match.group(1) if match else "that name"
        return ScenarioNameTaken(f"A scenario named {name!r} already exists. Choose another name, or open "
                                 "that scenario and save over it.")

    @staticmethod
    def _current(tx, scenario_id: str) -> tuple[str, int, str | None] | None:
        rows = tx.execute("SELECT name, version, owner FROM scenarios WHERE scenario_id = ?", [scenario_id])
        return None if not rows else (rows[0][0], int(rows[0][1]), rows[0][2])

    @staticmethod
    def _version_conflict(name: str, on_file: int, expected: int) -> ScenarioConflict:
        return ScenarioConflict(
            f"Scenario {name!r} was changed by someone else since you opened it (it is now at version "
            f"{on_file}; you opened version {expected}). Nothing was overwritten: open it again to see "
            "their changes, or save yours under a new name.")

    # -- the interface ---------------------------------------------------------------------
    def save(self, name: str, payload: Mapping[str, Any], *, scenario_id: str | None = None,
             expected_version: int | None = None, user: User | None = None) -> Scenario:
        """Create a scenario owned by ``user`` (no ``scenario_id``) or update one at
        ``expected_version`` (its owner or a steward only).

        Updating without ``expected_version`` is refused: a save must say which version it
        started from, or it could overwrite another session's work.
        """
        user = actor(user)
        require(user, "scenario.save")
        return self._create(name, payload, user, "scenario.save") if scenario_id is None else \
            self._update(scenario_id, name, payload, expected_version, user)

    def _create(self, name: str, payload: Mapping[str, Any], user: User, action: str) -> Scenario:
        name = clean_name(name)
        text = dump_payload(payload)
        now = _utcnow()
        new_id = secrets.token_hex(8)

        def work(tx):
            tx.execute(f"INSERT INTO scenarios ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
                       [new_id, name, text, now, now, user.id, user.label or None])
            return new_id, {"scenario_id": new_id, "name": name, "version": 1, "owner": user.id}

        return self.get(self._write(action, work, user))

    def _update(self, scenario_id: str, name: str, payload: Mapping[str, Any], expected_version: int | None,
                user: User) -> Scenario:
        name = clean_name(name)
        text = dump_payload(payload)
        now = _utcnow()
        sid = self._check_id(scenario_id)
        if expected_version is None:
            raise ScenarioError("Saving over a scenario needs the version it was opened at "
                                "(expected_version), so no one else's changes are overwritten.")

        def work(tx):
            current = self._current(tx, sid)
            if current is None:
                raise UnknownScenario(f"No saved scenario has the id {sid}; it may have been deleted. "
                                      "Save under a new name instead.")
            require_owner(user, current[2], f"this scenario ({current[0]!r})")
            if current[1] != int(expected_version):
                raise self._version_conflict(current[0], current[1], int(expected_version))
            changed = tx.execute(
                "UPDATE scenarios SET name = ?, payload = ?, updated_at = ?, version = version + 1 "
                "WHERE scenario_id = ? AND version = ? RETURNING scenario_id",
                [name, text, now, sid, int(expected_version)])
            if len(changed) != 1:
                raise self._version_conflict(current[0], current[1] + 1, int(expected_version))
            return sid, {"scenario_id": sid, "name": name, "version": int(expected_version) + 1}

        return self.get(self._write("scenario.update", work, user))

    def get(self, scenario_id: str) -> Scenario:
        """Anyone with the id (the link) may open a scenario; changing it is another matter."""
        sid = self._check_id(scenario_id)
        hits = self._select("scenario_id = ?", [sid])
        if not hits:
            raise UnknownScenario(f"No saved scenario has the id {sid}: it may have been deleted, or the "
                                  "link was cut short. Ask for the link again, or pick a saved scenario.")
        return hits[0]

    def get_by_name(self, name: str, *, user: User | None = None) -> Scenario:
        """A scenario among those ``user`` may list (their own; all of them for a steward)."""
        text = re.sub(r"\s+", " ", str(name or "")).strip()
        mine = self.list(user=user)
        hits = [s for s in mine if s.name == text] or [s for s in mine if s.name.lower() == text.lower()]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise ScenarioError(f"{text!r} matches {len(hits)} scenarios that differ only in capitals: "
                                + ", ".join(repr(h.name) for h in hits) + ". Give the exact name.")
        known = [s.name for s in mine]
        hint = ("Your saved scenarios: " + ", ".join(repr(n) for n in known[:20])) if known else \
            "You have no saved scenario yet."
        raise UnknownScenario(f"No saved scenario of yours is named {text!r}. {hint}")

    def resolve(self, text: str, *, user: User | None = None) -> Scenario:
        """A scenario by its name (exact, then ignoring capitals) or its id."""
        try:
            return self.get_by_name(text, user=user)
        except UnknownScenario:
            if ID_PATTERN.match(str(text).strip().lower()):
                return self.get(text)
            raise

    def list(self, *, user: User | None = None, include: Iterable[str] = (),
             agency_geo: str | None = None) -> list[Scenario]:
        """The scenarios ``user`` may see listed, most recently saved first: their own and those
        in ``include`` (opened by link); a steward sees all. ``agency_geo`` keeps one agency's."""
        user = actor(user)
        if user.role >= Role.steward:
            found = self._select("1 = 1", [])
        else:
            found = self._select("owner = ?", [user.id]) if user.signed_in else []
            ids = [i for i in (str(x).strip().lower() for x in include) if ID_PATTERN.match(i)]
            seen = {s.id for s in found}
            if ids:
                marks = ", ".join("?" for _ in ids)
                found += [s for s in self._select(f"scenario_id IN ({marks})", ids) if s.id not in seen]
            found.sort(key=lambda s: (s.updated_at, s.name), reverse=True)
        if agency_geo:
            found = [s for s in found if s.agency_geo == agency_geo]
        return found

    def rename(self, scenario_id: str, new_name: str, *, expected_version: int | None = None,
               user: User | None = None) -> Scenario:
        user = actor(user)
        sid = self._check_id(scenario_id)
        name = clean_name(new_name)
        now = _utcnow()

        def work(tx):
            current = self._current(tx, sid)
            if current is None:
                raise UnknownScenario(f"No saved scenario has the id {sid}; it may have been deleted.")
            require_owner(user, current[2], f"this scenario ({current[0]!r})")
            if expected_version is not None and current[1] != int(expected_version):
                raise self._version_conflict(current[0], current[1], int(expected_version))
            if current[0] != name:
                tx.execute("UPDATE scenarios SET name = ?, updated_at = ?, version = version + 1 "
                           "WHERE scenario_id = ?", [name, now, sid])
            return sid, {"scenario_id": sid, "from": current[0], "to": name}

        return self.get(self._write("scenario.rename", work, user))

    def duplicate(self, scenario_id: str, new_name: str, *, user: User | None = None) -> Scenario:
        """A copy owned by ``user`` (a viewer may keep a copy of a scenario shared with them)."""
        user = actor(user)
        require(user, "scenario.duplicate")
        original = self.get(scenario_id)
        payload = copy.deepcopy(original.payload)
        payload["duplicated_from"] = {"id": original.id, "name": original.name, "version": original.version}
        return self._create(new_name, payload, user, "scenario.duplicate")

    def delete(self, scenario_id: str, *, expected_version: int | None = None, user: User | None = None) -> None:
        user = actor(user)
        sid = self._check_id(scenario_id)

        def work(tx):
            current = self._current(tx, sid)
            if current is None:
                raise UnknownScenario(f"No saved scenario has the id {sid}; it was already deleted.")
            require_owner(user, current[2], f"this scenario ({current[0]!r})")
            if expected_version is not None and current[1] != int(expected_version):
                raise self._version_conflict(current[0], current[1], int(expected_version))
            tx.execute("DELETE FROM scenarios WHERE scenario_id = ?", [sid])
            return None, {"scenario_id": sid, "name": current[0], "version": current[1]}

        self._write("scenario.delete", work, user)


def open_scenario_store(store) -> ScenarioStore:
    """The scenario store the app and the CLI use: the one on the store's users' record."""
    return RecordScenarioStore(store.record)


# -- payloads ------------------------------------------------------------------------------



def scope_key(geo_id: str, peer_id: str) -> str:
    """The scope under which the Compliance and Cost pages keep a user's evidence and quotes for
    one agency and one peer contract (``piggyback.data.evidence.scope_for``, ``piggyback.data.quotes.scope_for``)."""
    return f"agency:{geo_id}|peer:{peer_id}"


def snapshot_for(store, geo_id: str | None, peer_id: str | None) -> dict[str, Any]:
    """The user's own records for this agency and peer: entered price items (quotes) and evidence."""
    out: dict[str, Any] = {"price_items": [], "evidence": []}
    if not geo_id or not peer_id:
        return out
    scope = scope_key(geo_id, peer_id)
    rows = store.record.rows("SELECT item_id, scope, record, who, ts FROM user_price_items WHERE scope = ? "
                             "ORDER BY ts, item_id", [scope])
    for item_id, row_scope, record, who, ts in rows:
        try:
            parsed = json.loads(record) if isinstance(record, str) else record
        except json.JSONDecodeError:
            parsed = None
        out["price_items"].append({"item_id": item_id, "scope": row_scope, "record": parsed, "who": who,
                                   "ts": _iso(ts)})
    rows = store.record.rows("SELECT evidence_id, scope, rule_id, note, document, link, who, ts FROM evidence "
                             "WHERE scope = ? ORDER BY ts, evidence_id", [scope])
    keys = ("evidence_id", "scope", "rule_id", "note", "document", "link", "who")
    for row in rows:
        out["evidence"].append({k: (None if is_blank(v) else str(v)) for k, v in zip(keys, row[:7])}
                               | {"ts": _iso(row[7])})
    return out


def _iso(value: Any) -> str | None:
    if is_blank(value):
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def payload_from_profile(profile: AgencyProfile | None, *, peer: str | None = None, contract: str | None = None,
                         settings: Mapping[str, Any] | None = None,
                         snapshot: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The payload of a scenario: agency inputs, peer and contract, page settings, snapshot."""
    agency = None
    if profile is not None:
        agency = {"geo_id": profile.geo_id, "name": profile.name,
                  "modules_needed": list(profile.modules_needed), "permit_volume": profile.permit_volume,
                  "staff_users": profile.staff_users, "current_system": profile.current_system}
    return _json_ready({
        "schema": PAYLOAD_SCHEMA,
        "agency": agency,
        "peer": peer or None,
        "contract": contract or None,
        "settings": copy.deepcopy(dict(settings or {})),
        "snapshot": copy.deepcopy(dict(snapshot or {"price_items": [], "evidence": []})),
    })


def payload_from_session(session_state: Mapping[str, Any], store=None) -> dict[str, Any]:
    """A payload from the app's session state (``profile``, ``peer``, ``scenario``)."""
    profile = session_state.get("profile")
    peer = session_state.get("peer")
    settings = session_state.get("scenario") or {}
    contract = None
    if store is not None and peer:
        contracts = store.table("contracts")
        hit = contracts[contracts["deployment_id"] == peer]
        contract = None if hit.empty else str(hit.iloc[0]["contract_id"])
    snapshot = snapshot_for(store, profile.geo_id if profile else None, peer) if store is not None else None
    return payload_from_profile(profile, peer=peer, contract=contract, settings=settings, snapshot=snapshot)


def comparable(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a payload that describes what is on screen (no snapshot, no lineage)."""
    data = _json_ready(dict(payload))
    for key in ("snapshot", "duplicated_from", "schema"):
        data.pop(key, None)
    agency = data.get("agency") or {}
    agency.pop("name", None)
    return data


def apply_scenario_to_session(session_state: MutableMapping[str, Any], scenario: Scenario | Mapping[str, Any]) -> dict[str, Any]:
    """Put a scenario's agency, peer and settings into a session-state dict-like.

    Must run before the frame draws its widgets (their keys are set here). Returns the values
    set. ``_scenario`` records which scenario and version the session opened, so a later save
    can update it with optimistic concurrency.
    """
    if isinstance(scenario, Scenario):
        payload, ident = scenario.payload, {"id": scenario.id, "name": scenario.name, "version": scenario.version}
    else:
        payload, ident = dict(scenario), None
    agency = payload.get("agency") or {}
    from piggyback.data.profile import DEFAULT_MODULES

    modules = agency.get("modules_needed")
    values = {
        "agency_geo": agency.get("geo_id"),
        "in_modules": list(DEFAULT_MODULES if modules is None else modules),
        "in_permits": agency.get("permit_volume"),
        "in_users": agency.get("staff_users"),
        "in_system": agency.get("current_system") or "",
        "peer": payload.get("peer"),
        "scenario": copy.deepcopy(payload.get("settings") or {}),
    }
    for key, value in values.items():
        session_state[key] = value
    if ident is not None:
        session_state["_scenario"] = ident
    return values


def profile_from_payload(store, payload: Mapping[str, Any]) -> AgencyProfile:
    """The agency profile a scenario describes, from the census row plus its saved inputs."""
    from piggyback.core.errors import UnknownAgency
    from piggyback.data.profile import profile_from_row

    agency = payload.get("agency") or {}
    geo = agency.get("geo_id")
    if not geo:
        raise ScenarioError("This scenario has no agency: open it in the app, pick the agency and save it again.")
    jur = store.jurisdictions()
    hit = jur[jur["geo_id"] == geo]
    if hit.empty:
        raise UnknownAgency(f"The scenario's agency {geo!r} is not in the census data.")
    return profile_from_row({**hit.iloc[0].to_dict(), "geo_id": geo}, permit_volume=agency.get("permit_volume"),
                            staff_users=agency.get("staff_users"), modules_needed=agency.get("modules_needed"),
                            current_system=agency.get("current_system"))
