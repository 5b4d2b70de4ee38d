"""Who may change what: every write path called directly as a viewer, a member and a steward.

Hiding buttons is not enforcement: these tests go around the pages and call the functions the
pages call, so a viewer with a crafted request still cannot change, delete or falsify anything.
"""

from __future__ import annotations

import io
import csv

import pytest
from conftest import person, record_count

from piggyback.data import evidence as ev
from piggyback.data import peers as peer_data
from piggyback.data import quotes
from piggyback.core.identity import ANONYMOUS, PermissionDenied, Role, can, from_login, local_user, operator
from piggyback.data.interchange import import_bytes
from piggyback.data.profile import profile_for
from piggyback.data.scenarios import ScenarioError, open_scenario_store, payload_from_profile

GUELPH = "CA-CSD-3523008"
SCOPE = f"agency:{GUELPH}|peer:ottawa-on"
VIEWER, ALICE, BOB, STEWARD = (person("vera", "viewer", "oidc"), person("alice", "member", "oidc"),
                               person("bob", "member", "oidc"), person("stella", "steward", "oidc"))
QUOTE = {"deployment_id": "ottawa-on", "category": "subscription", "description": "SaaS", "basis": "per_year",
         "amount": 120000, "currency": "CAD", "price_year": 2025, "recurrence": "recurring", "confidence": "medium"}


@pytest.fixture()
def alices_scenario(writable_store):
    ss = open_scenario_store(writable_store)
    return ss.save("Alice's plan", payload_from_profile(profile_for(writable_store, "Guelph, ON"), peer="ottawa-on"),
                   user=ALICE)


def test_only_owner_or_steward_changes_a_scenario(writable_store, alices_scenario):
    """Bob (member) and Vera (viewer) cannot save over, rename or delete Alice's scenario; a steward can."""
    ss, sid, v = open_scenario_store(writable_store), alices_scenario.id, alices_scenario.version
    audit_before = record_count(writable_store, "audit_log")
    for intruder in (BOB, VIEWER, ANONYMOUS):
        with pytest.raises(PermissionDenied):
            ss.save("Alice's plan", {"settings": {"x": 1}}, scenario_id=sid, expected_version=v, user=intruder)
        with pytest.raises(PermissionDenied):
            ss.rename(sid, "Hijacked", expected_version=v, user=intruder)
        with pytest.raises(PermissionDenied):
            ss.delete(sid, expected_version=v, user=intruder)
    assert ss.get(sid) == alices_scenario  # untouched
    assert record_count(writable_store, "audit_log") == audit_before  # refused writes leave no trace
    renamed = ss.rename(sid, "Alice's plan (steward tidy-up)", expected_version=v, user=STEWARD)
    assert renamed.owner == ALICE.id  # a steward's change does not take ownership
    ss.delete(sid, expected_version=renamed.version, user=STEWARD)


def test_owner_changes_own_scenario_and_audit_names_the_identity(writable_store, alices_scenario):
    ss = open_scenario_store(writable_store)
    saved = ss.save("Alice's plan", {"settings": {"x": 2}}, scenario_id=alices_scenario.id,
                    expected_version=alices_scenario.version, user=ALICE)
    assert saved.version == 2 and saved.owner == "oidc:alice"
    log = writable_store.audit_log()
    assert set(log[log["action"].str.startswith("scenario.")]["who"]) == {"oidc:alice"}


def test_viewer_reads_and_keeps_a_copy_but_cannot_save(writable_store, alices_scenario):
    """A viewer opens a shared link and duplicates it into their own; saving anew needs a member."""
    ss = open_scenario_store(writable_store)
    assert ss.get(alices_scenario.id).name == "Alice's plan"  # the link opens for anyone
    copy = ss.duplicate(alices_scenario.id, "Vera's copy", user=VIEWER)
    assert copy.owner == VIEWER.id and copy.payload["duplicated_from"]["id"] == alices_scenario.id
    with pytest.raises(PermissionDenied, match="member"):
        ss.save("Vera's own", {"settings": {}}, user=VIEWER)
    with pytest.raises(PermissionDenied, match="not signed in"):
        ss.duplicate(alices_scenario.id, "Nobody's copy", user=ANONYMOUS)


def test_scenario_list_shows_own_and_opened_by_link(writable_store, alices_scenario):
    ss = open_scenario_store(writable_store)
    bobs = ss.save("Bob's plan", {"agency": {"geo_id": GUELPH}, "settings": {}}, user=BOB)
    assert [s.name for s in ss.list(user=BOB)] == ["Bob's plan"]
    assert {s.name for s in ss.list(user=BOB, include=[alices_scenario.id])} == {"Bob's plan", "Alice's plan"}
    assert ss.list(user=ANONYMOUS) == []
    assert {s.id for s in ss.list(user=STEWARD)} >= {bobs.id, alices_scenario.id}
    with pytest.raises(ScenarioError):  # a member cannot find another's scenario by name either
        ss.get_by_name("Alice's plan", user=BOB)


def test_evidence_is_recorded_by_members_and_removed_only_by_author_or_steward(writable_store):
    """The attack: a viewer removed evidence and recorded a pass under a typed name. Both refused."""
    with pytest.raises(PermissionDenied):
        ev.record_evidence(writable_store, SCOPE, "ALL-02", note="trust me", user=VIEWER,
                           label="alice (City Solicitor)")
    saved = ev.record_evidence(writable_store, SCOPE, "ALL-02", note="Clause 14.2", user=ALICE,
                               label="A. Chen, City Solicitor")
    assert saved["who"] == "oidc:alice" and saved["who_label"] == "A. Chen, City Solicitor"
    for intruder in (BOB, VIEWER):
        with pytest.raises(PermissionDenied):
            ev.delete_evidence(writable_store, saved["evidence_id"], scope=SCOPE, user=intruder)
    assert "ALL-02" in ev.evidence_for(writable_store, SCOPE)
    ev.delete_evidence(writable_store, saved["evidence_id"], scope=SCOPE, user=STEWARD)
    assert ev.evidence_for(writable_store, SCOPE) == {}
    rows = writable_store.record.rows("SELECT who, detail FROM audit_log WHERE action = 'evidence.record'")
    assert len(rows) == 1 and rows[0][0] == "oidc:alice"  # the identity; the typed name only beside it
    assert '"who_label": "A. Chen, City Solicitor"' in rows[0][1]


def test_quotes_are_saved_by_members_and_removed_by_author_or_steward(writable_store):
    with pytest.raises(PermissionDenied):
        quotes.save_quote(writable_store, SCOPE, QUOTE, user=VIEWER)
    item = quotes.save_quote(writable_store, SCOPE, QUOTE, user=ALICE)
    with pytest.raises(PermissionDenied):
        quotes.delete_quote(writable_store, item.item_id, SCOPE, user=BOB)
    quotes.delete_quote(writable_store, item.item_id, SCOPE, user=ALICE)
    assert quotes.list_quotes(writable_store, SCOPE) == []


def test_peer_data_is_a_stewards(writable_store):
    """Imports and contact points change shared peer data: stewards only."""
    buf = io.StringIO()
    row = {"jurisdiction": "City of Guelph", "province_state": "ON", "country": "Canada",
           "population": "143740", "vendor": "Example Vendor", "product": "Example Permits",
           "modules": "building permits", "procurement_method": "RFP",
           "source_urls": "https://guelph.ca/", "confidence": "low"}
    w = csv.DictWriter(buf, fieldnames=list(row))
    w.writeheader()
    w.writerow(row)
    for member in (ALICE, VIEWER):
        with pytest.raises(PermissionDenied, match="steward"):
            import_bytes(writable_store, buf.getvalue().encode(), "peers.csv", user=member)
        with pytest.raises(PermissionDenied, match="steward"):
            peer_data.add_contact(writable_store, "cambridge-on", "City of Cambridge, Building Services", "email",
                                  "building@cambridge.ca", "https://www.cambridge.ca/", user=member)
    assert record_count(writable_store, "deployment_overrides") == 0
    assert record_count(writable_store, "user_contacts") == 0


def test_identity_comes_from_the_login_never_from_typed_names(monkeypatch):
    monkeypatch.setenv("PIGGYBACK_ROLES", "Ana@City.ca=steward, bo@city.ca=member")
    monkeypatch.setenv("PIGGYBACK_DEFAULT_ROLE", "viewer")
    assert from_login("ana@city.ca", "Ana", source="oidc").role is Role.steward
    assert from_login("bo@city.ca", source="proxy").id == "proxy:bo@city.ca"
    assert from_login("someone@else.org", source="oidc").role is Role.viewer
    assert from_login("", source="proxy") is ANONYMOUS and from_login(None, source="oidc") is ANONYMOUS
    assert from_login("evil\nuser", source="proxy") is ANONYMOUS


def test_local_default_and_operator(monkeypatch):
    """The embedded default's web user is a member (steward with PIGGYBACK_ALLOW_EDITS=1); the
    machine's operator is a steward only when no login is configured."""
    monkeypatch.delenv("PIGGYBACK_ALLOW_EDITS", raising=False)
    monkeypatch.delenv("PIGGYBACK_LOCAL_ROLE", raising=False)
    assert local_user().role is Role.member and not can(local_user(), "data.import")
    monkeypatch.setenv("PIGGYBACK_ALLOW_EDITS", "1")
    assert local_user().role is Role.steward
    assert operator().role is Role.steward
    monkeypatch.setenv("PIGGYBACK_AUTH", "proxy")
    assert operator() is ANONYMOUS  # code that names no user gets no rights behind a login


def test_a_forgotten_user_behind_a_login_is_refused(writable_store, monkeypatch):
    """Behind a login, a write that names no user fails closed."""
    monkeypatch.setenv("PIGGYBACK_AUTH", "oidc")
    with pytest.raises(PermissionDenied):
        ev.record_evidence(writable_store, SCOPE, "ALL-02", note="no identity")
    with pytest.raises(PermissionDenied):
        open_scenario_store(writable_store).save("anonymous", {"settings": {}})


def _damaged_app(tmp_path, built_db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    path = tmp_path / "damaged.duckdb"
    path.write_bytes(built_db.read_bytes()[:4096] + b"\x00broken" * 500)
    monkeypatch.setenv("PIGGYBACK_DB", str(path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    return at, path


def test_a_member_cannot_rebuild_from_the_web(tmp_path, built_db, monkeypatch):
    """The reported wipe: one viewer click deleted the file. Now a non-steward gets no rebuild at all."""
    monkeypatch.delenv("PIGGYBACK_ALLOW_EDITS", raising=False)
    at, path = _damaged_app(tmp_path, built_db, monkeypatch)
    at.run()
    assert not at.exception and any("damaged" in e.value or "cannot be opened" in e.value for e in at.error)
    assert not [b for b in at.button if "Rebuild" in b.label]
    assert any("data steward can rebuild" in i.value for i in at.info)
    assert not list(tmp_path.glob("damaged.duckdb.backup-*"))


def test_a_steward_rebuild_needs_confirmation_and_keeps_a_backup(tmp_path, built_db, monkeypatch):
    monkeypatch.setenv("PIGGYBACK_ALLOW_EDITS", "1")
    at, path = _damaged_app(tmp_path, built_db, monkeypatch)
    at.run()
    submit = [b for b in at.button if "Rebuild" in b.label]
    assert len(submit) == 1
    submit[0].click()
    at.run()
    assert any("Tick the confirmation" in w.value for w in at.warning)
    assert not list(tmp_path.glob("damaged.duckdb.backup-*"))  # nothing happened without it
    at.checkbox[0].check()
    [b for b in at.button if "Rebuild" in b.label][0].click()
    at.run(timeout=120)
    assert len(list(tmp_path.glob("damaged.duckdb.backup-*"))) == 1
