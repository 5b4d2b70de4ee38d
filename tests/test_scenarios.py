"""Saved scenarios: round trips, optimistic concurrency, concurrent sessions, session state."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from piggyback.core.errors import ReadOnlyStore
from piggyback.data.profile import DEFAULT_MODULES, profile_for
from piggyback.data.scenarios import (
    Scenario,
    ScenarioConflict,
    ScenarioError,
    ScenarioNameTaken,
    ScenarioStore,
    UnknownScenario,
    apply_scenario_to_session,
    comparable,
    open_scenario_store,
    payload_from_profile,
    payload_from_session,
    profile_from_payload,
    scope_key,
    snapshot_for,
)

GUELPH = "CA-CSD-3523008"


def _payload(store, **settings):
    profile = profile_for(store, GUELPH, permit_volume=1200, current_system="AMANDA 7",
                          modules_needed=["building", "licensing"])
    return payload_from_profile(profile, peer="fayetteville-ar", contract="c-fayetteville-ar", settings={
        "timeline": {"overrides": {"tl.rfp.needs": {"low": 3.0, "likely": 5.5, "high": 10.0}}, "seed": 7},
        "pricing": {"assumptions": {"pricing.discount_rate": 6.5}, "currency": "CAD"},
        "note": "Saint-Elzéar — draft", **settings})


@pytest.fixture()
def scenarios_db(writable_store):
    return open_scenario_store(writable_store)


def test_save_then_get_round_trips_the_payload(scenarios_db, writable_store):
    """A saved scenario reads back with the same payload, name and version 1, by id and by name."""
    payload = _payload(writable_store)
    saved = scenarios_db.save("Guelph: Fayetteville contract", payload)
    assert saved.version == 1 and saved.name == "Guelph: Fayetteville contract"
    again = scenarios_db.get(saved.id)
    assert again.payload == json.loads(json.dumps(payload))
    assert again.payload["settings"]["note"] == "Saint-Elzéar — draft"
    assert scenarios_db.get_by_name("guelph: fayetteville contract").id == saved.id  # capitals do not matter
    assert scenarios_db.resolve(saved.id).name == saved.name
    assert saved.link("http://app/business-case") == f"http://app/business-case?scenario={saved.id}"
    assert isinstance(scenarios_db, ScenarioStore)


def test_profile_and_session_restore_from_a_saved_payload(scenarios_db, writable_store):
    """Applying a scenario to a session dict sets the frame's keys; the profile rebuilt from it matches."""
    saved = scenarios_db.save("restore me", _payload(writable_store))
    session: dict = {"agency_geo": "US-CO-48453", "peer": "ottawa-on", "meeting": True}
    apply_scenario_to_session(session, saved)
    assert session["agency_geo"] == GUELPH
    assert session["in_modules"] == ["building", "licensing"]
    assert session["in_permits"] == 1200 and session["in_users"] is None
    assert session["in_system"] == "AMANDA 7"
    assert session["peer"] == "fayetteville-ar"
    assert session["scenario"]["pricing"]["assumptions"] == {"pricing.discount_rate": 6.5}
    assert session["_scenario"] == {"id": saved.id, "name": "restore me", "version": 1}
    assert session["meeting"] is True  # the display mode is not part of a scenario
    session["scenario"]["pricing"]["currency"] = "USD"  # the session's copy is its own
    assert scenarios_db.get(saved.id).payload["settings"]["pricing"]["currency"] == "CAD"
    profile = profile_from_payload(writable_store, saved.payload)
    assert (profile.geo_id, profile.permit_volume, profile.current_system) == (GUELPH, 1200, "AMANDA 7")


def test_payload_from_session_matches_what_was_applied(writable_store):
    """A session restored from a payload gives back an equal payload (what is on screen is what is saved)."""
    payload = _payload(writable_store)
    session: dict = {}
    apply_scenario_to_session(session, payload)
    session["profile"] = profile_from_payload(writable_store, payload)
    again = payload_from_session(session, writable_store)
    assert comparable(again) == comparable(payload)
    assert again["contract"] == "c-fayetteville-ar"


def test_default_modules_are_restored_when_the_payload_has_none(store):
    """A payload without modules restores the default modules, not an empty list."""
    session: dict = {}
    apply_scenario_to_session(session, {"agency": {"geo_id": GUELPH}, "settings": {}})
    assert session["in_modules"] == DEFAULT_MODULES and session["peer"] is None and session["scenario"] == {}


def test_update_needs_the_version_it_started_from(scenarios_db, writable_store):
    """Saving over a scenario at a stale version is refused with a clear conflict; the saved one is intact."""
    first = scenarios_db.save("council draft", _payload(writable_store))
    second = scenarios_db.save("council draft", _payload(writable_store, round=2), scenario_id=first.id,
                               expected_version=1)
    assert second.version == 2 and second.payload["settings"]["round"] == 2
    with pytest.raises(ScenarioConflict, match="changed by someone else.*version 2.*version 1"):
        scenarios_db.save("council draft", _payload(writable_store, round=3), scenario_id=first.id,
                          expected_version=1)
    with pytest.raises(ScenarioError, match="expected_version"):
        scenarios_db.save("council draft", _payload(writable_store), scenario_id=first.id)
    on_file = scenarios_db.get(first.id)
    assert on_file.version == 2 and on_file.payload["settings"]["round"] == 2


def test_a_taken_name_is_a_clear_conflict(scenarios_db, writable_store):
    """Creating or renaming to a name already saved fails and says so; nothing is overwritten."""
    a = scenarios_db.save("Option A", _payload(writable_store, which="a"))
    b = scenarios_db.save("Option B", _payload(writable_store, which="b"))
    with pytest.raises(ScenarioNameTaken, match="'Option A' already exists"):
        scenarios_db.save("Option A", _payload(writable_store, which="c"))
    with pytest.raises(ScenarioNameTaken):
        scenarios_db.rename(b.id, "Option A")
    assert scenarios_db.get(a.id).payload["settings"]["which"] == "a"
    assert scenarios_db.get(b.id).name == "Option B"


def test_rename_duplicate_delete(scenarios_db, writable_store):
    """Rename bumps the version, duplicate copies the payload under a new id, delete removes it; all audited."""
    s = scenarios_db.save("first", _payload(writable_store))
    renamed = scenarios_db.rename(s.id, "  first   (renamed) ", expected_version=1)
    assert renamed.name == "first (renamed)" and renamed.version == 2
    copy = scenarios_db.duplicate(s.id, "copy of first")
    assert copy.id != s.id and copy.version == 1
    assert copy.payload["settings"] == renamed.payload["settings"]
    assert copy.payload["duplicated_from"]["id"] == s.id
    assert [x.name for x in scenarios_db.list()] == ["copy of first", "first (renamed)"]
    with pytest.raises(ScenarioConflict):
        scenarios_db.delete(s.id, expected_version=1)  # it is at version 2 now
    scenarios_db.delete(s.id, expected_version=2)
    with pytest.raises(UnknownScenario, match="no saved scenario has the id|No saved scenario has the id"):
        scenarios_db.get(s.id)
    with pytest.raises(UnknownScenario):
        scenarios_db.delete(s.id)
    actions = writable_store.audit_log()["action"].tolist()
    for action in ("scenario.save", "scenario.rename", "scenario.delete"):
        assert action in actions


def test_unknown_names_and_bad_ids_say_what_to_do(scenarios_db, writable_store):
    """A missing name lists the saved ones; a malformed id is rejected before any query."""
    scenarios_db.save("Kept", _payload(writable_store))
    with pytest.raises(UnknownScenario, match="'Nope'.*saved scenarios: 'Kept'"):
        scenarios_db.get_by_name("Nope")
    with pytest.raises(UnknownScenario, match="not a scenario id"):
        scenarios_db.get("x'; DROP TABLE scenarios; --")
    assert [s.name for s in scenarios_db.list()] == ["Kept"]


def test_invalid_payloads_and_names_are_refused(scenarios_db, writable_store):
    """Non-JSON values (NaN, objects) and blank or overlong names are refused and nothing is written."""
    with pytest.raises(ScenarioError, match="not finite"):
        scenarios_db.save("nan", {"settings": {"x": float("nan")}})
    with pytest.raises(ScenarioError, match="cannot save"):
        scenarios_db.save("obj", {"settings": {"x": object()}})
    with pytest.raises(ScenarioError, match="name"):
        scenarios_db.save("   ", {})
    with pytest.raises(ScenarioError, match="at most"):
        scenarios_db.save("x" * 121, {})
    assert scenarios_db.list() == []


def test_read_only_store_refuses_to_save(store):
    """A read-only store (another process writing) cannot save, and says why."""
    with pytest.raises(ReadOnlyStore):
        open_scenario_store(store).save("nope", {"settings": {}})


def test_concurrent_saves_of_different_scenarios_lose_nothing(writable_store):
    """Eight sessions saving 10 scenarios each at once through one store: all 80 are there, each intact."""
    ss = open_scenario_store(writable_store)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def session(k: int) -> None:
        barrier.wait()
        for i in range(10):
            try:
                ss.save(f"session {k} scenario {i}", {"settings": {"k": k, "i": i, "text": "é" * (k + i)}})
            except BaseException as exc:  # collected and reported below
                errors.append(exc)

    threads = [threading.Thread(target=session, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    saved = ss.list()
    assert len(saved) == 80
    for s in saved:
        k, i = s.payload["settings"]["k"], s.payload["settings"]["i"]
        assert s.name == f"session {k} scenario {i}" and s.payload["settings"]["text"] == "é" * (k + i)
    audit = writable_store.audit_log(500)
    assert int((audit["action"] == "scenario.save").sum()) == 80


def test_concurrent_saves_of_one_name_one_wins_the_others_get_a_conflict(writable_store):
    """Six sessions creating the same name at once: one is saved, five get a clear conflict, no corruption."""
    ss = open_scenario_store(writable_store)
    results: dict[int, object] = {}
    barrier = threading.Barrier(6)

    def session(k: int) -> None:
        barrier.wait()
        try:
            results[k] = ss.save("Final vote", {"settings": {"by": k}})
        except ScenarioConflict as exc:
            results[k] = exc

    threads = [threading.Thread(target=session, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [k for k, r in results.items() if isinstance(r, Scenario)]
    losers = [r for r in results.values() if isinstance(r, ScenarioConflict)]
    assert len(winners) == 1 and len(losers) == 5
    assert all("Final vote" in str(e) or "same moment" in str(e) for e in losers)
    on_file = ss.get_by_name("Final vote")
    assert on_file.payload == {"settings": {"by": winners[0]}} and on_file.version == 1
    assert len(ss.list()) == 1


def test_concurrent_updates_from_the_same_version_keep_one(writable_store):
    """Four sessions saving over version 1 at once: exactly one update lands (version 2), three conflict."""
    ss = open_scenario_store(writable_store)
    base = ss.save("Shared", {"settings": {"by": None}})
    results: dict[int, object] = {}
    barrier = threading.Barrier(4)

    def session(k: int) -> None:
        barrier.wait()
        try:
            results[k] = ss.save("Shared", {"settings": {"by": k}}, scenario_id=base.id, expected_version=1)
        except ScenarioConflict as exc:
            results[k] = exc

    threads = [threading.Thread(target=session, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [k for k, r in results.items() if isinstance(r, Scenario)]
    assert len(winners) == 1
    on_file = ss.get(base.id)
    assert on_file.version == 2 and on_file.payload["settings"]["by"] == winners[0]


def test_snapshot_holds_only_this_agency_and_peer(writable_store):
    """The snapshot keeps the quotes and evidence of the agency+peer scope, not other scopes'."""
    cur = writable_store.record.con.cursor()  # rows written as an older version would have
    now = dt.datetime(2026, 1, 5, 9, 30)
    mine, other = scope_key(GUELPH, "ottawa-on"), scope_key(GUELPH, "fayetteville-ar")
    cur.execute("INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                ["e1", mine, "ALL-03", "Clause 14.2 allows other public bodies", None, None, "clerk", now])
    cur.execute("INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                ["e2", other, "ALL-03", "not this one", None, None, "clerk", now])
    record = {"item_id": "q-1", "deployment_id": "ottawa-on", "category": "subscription", "description": "SaaS",
              "basis": "per_year", "amount": 120000, "currency": "CAD", "price_year": 2025,
              "recurrence": "recurring", "confidence": "medium", "kind": "user-entered"}
    cur.execute("INSERT INTO user_price_items VALUES (?, ?, ?, ?, ?)", ["q-1", mine, json.dumps(record), "clerk", now])
    snap = snapshot_for(writable_store, GUELPH, "ottawa-on")
    assert [e["evidence_id"] for e in snap["evidence"]] == ["e1"]
    assert snap["evidence"][0]["note"].startswith("Clause 14.2")
    assert [p["item_id"] for p in snap["price_items"]] == ["q-1"] and snap["price_items"][0]["record"] == record
    assert snapshot_for(writable_store, GUELPH, None) == {"price_items": [], "evidence": []}
