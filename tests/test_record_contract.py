"""The users' record contract, run on both backends: the embedded DuckDB file and a real
PostgreSQL server (a throw-away cluster started for this module; skipped with the reason when
the PostgreSQL binaries are missing). One suite, parametrized: "duckdb" and "postgres".

Then what only the server backend has: migrations (versioned, idempotent, one migrator at a
time, a schema newer than the code refused), an unreachable server's plain message, and a
server dying mid-transaction leaving nothing half-written.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest

import pg_cluster
from conftest import ROOT, person

from piggyback.data import evidence as ev
from piggyback.data import peers as peer_data
from piggyback.data import quotes
from piggyback.core.identity import PermissionDenied
from piggyback.data.interchange import import_bytes
from piggyback.data.record import USER_TABLES, DuckDBRecord, RecordNameTaken
from piggyback.data.scenarios import RecordScenarioStore, ScenarioConflict, ScenarioNameTaken, UnknownScenario
from piggyback.data.store import Store

ANA = person("ana")  # member
BO = person("bo")  # member
VIC = person("vic", "viewer")
STEW = person("stew", "steward")
GUELPH = "CA-CSD-3523008"
EVIDENCE_SCOPE = f"agency:{GUELPH}|peer:ottawa-on"
QUOTE_SCOPE = f"agency:{GUELPH}|peer:fayetteville-ar"
PAYLOAD = {"agency": {"geo_id": GUELPH}, "peer": "ottawa-on", "pricing": {"years": 7}}


# -- the backends ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pg():
    try:
        cluster = pg_cluster.start_cluster()
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL server for the tests: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def pg_url(pg):
    return pg.create_database("contract")


def _open(kind: str, request, tmp_path):
    if kind == "duckdb":
        return DuckDBRecord.open(tmp_path / "record.duckdb")
    from piggyback.data.record_postgres import PostgresRecord

    rec = PostgresRecord.connect(request.getfixturevalue("pg_url"))
    with rec.transaction() as tx:  # each test starts from an empty record
        tx.execute("TRUNCATE " + ", ".join(USER_TABLES))
    return rec


@pytest.fixture(params=["duckdb", "postgres"])
def record(request, tmp_path):
    rec = _open(request.param, request, tmp_path)
    yield rec
    rec.close()


@pytest.fixture()
def store(record, db_copy):
    """The reference store (a copy of the session's build) over the backend's record."""
    s = Store.open(db_copy, record=record)
    yield s
    s.close()


def count(record, table: str, where: str = "", params=()) -> int:
    return record.rows(f"SELECT COUNT(*) FROM {table} {where}", list(params))[0][0]  # test-only names


def actions(record) -> list[str]:
    return [r[0] for r in record.rows("SELECT action FROM audit_log ORDER BY ts, action")]


# -- scenarios ---------------------------------------------------------------------------------

def test_scenarios_are_saved_listed_renamed_copied_and_deleted_by_owner_and_role(record):
    scenarios = RecordScenarioStore(record)
    mine = scenarios.save("Guelph: Ottawa contract", PAYLOAD, user=ANA)
    assert (mine.version, mine.owner, mine.payload) == (1, ANA.id, PAYLOAD)
    assert scenarios.get(mine.id) == mine
    assert [s.id for s in scenarios.list(user=ANA)] == [mine.id]
    assert scenarios.list(user=BO) == []
    assert [s.id for s in scenarios.list(user=BO, include=[mine.id])] == [mine.id]  # opened by link
    assert [s.id for s in scenarios.list(user=STEW)] == [mine.id]

    with pytest.raises(PermissionDenied):
        scenarios.save("Bo's edit", PAYLOAD, scenario_id=mine.id, expected_version=1, user=BO)
    with pytest.raises(PermissionDenied):
        scenarios.save("Viewer's own", PAYLOAD, user=VIC)
    with pytest.raises(PermissionDenied):
        scenarios.rename(mine.id, "Bo renames", user=BO)
    with pytest.raises(PermissionDenied):
        scenarios.delete(mine.id, user=BO)

    copy = scenarios.duplicate(mine.id, "Vic's copy", user=VIC)
    assert copy.owner == VIC.id and copy.payload["duplicated_from"]["id"] == mine.id
    renamed = scenarios.rename(mine.id, "Guelph: council draft", expected_version=1, user=ANA)
    assert (renamed.name, renamed.version) == ("Guelph: council draft", 2)
    scenarios.delete(copy.id, user=STEW)  # a steward removes anyone's
    scenarios.delete(mine.id, expected_version=2, user=ANA)
    with pytest.raises(UnknownScenario):
        scenarios.get(mine.id)
    assert count(record, "scenarios") == 0
    assert actions(record) == ["scenario.save", "scenario.duplicate", "scenario.rename", "scenario.delete",
                               "scenario.delete"]
    who = [r[0] for r in record.rows("SELECT who FROM audit_log ORDER BY ts")]
    assert who == [ANA.id, VIC.id, ANA.id, STEW.id, ANA.id]


def test_a_stale_save_is_refused_and_overwrites_nothing(record):
    scenarios = RecordScenarioStore(record)
    first = scenarios.save("Stale test", PAYLOAD, user=ANA)
    second = scenarios.save("Stale test", {**PAYLOAD, "peer": "cambridge-on"}, scenario_id=first.id,
                            expected_version=1, user=ANA)
    assert second.version == 2
    with pytest.raises(ScenarioConflict, match="version 2; you opened version 1"):
        scenarios.save("Stale test", {**PAYLOAD, "peer": "hamilton-on"}, scenario_id=first.id,
                       expected_version=1, user=ANA)
    with pytest.raises(ScenarioConflict):
        scenarios.delete(first.id, expected_version=1, user=ANA)
    on_file = scenarios.get(first.id)
    assert (on_file.version, on_file.peer) == (2, "cambridge-on")
    assert actions(record).count("scenario.update") == 1


def test_names_are_unique_and_the_refusal_names_the_scenario(record):
    scenarios = RecordScenarioStore(record)
    name = "Guelph (draft) 50% done?"  # parentheses, % and ? must survive every dialect
    first = scenarios.save(name, PAYLOAD, user=ANA)
    assert scenarios.get(first.id).name == name
    with pytest.raises(ScenarioNameTaken) as taken:
        scenarios.save(name, PAYLOAD, user=BO)
    assert repr(name) in str(taken.value)
    other = scenarios.save("Another", PAYLOAD, user=ANA)
    with pytest.raises(ScenarioNameTaken) as renamed:
        scenarios.rename(other.id, name, user=ANA)
    assert repr(name) in str(renamed.value)
    assert count(record, "scenarios") == 2
    assert actions(record) == ["scenario.save", "scenario.save"]  # the refused writes left no audit row


# -- evidence, quotes, contacts, imports -------------------------------------------------------

def test_evidence_is_removed_by_its_author_or_a_steward_only(store):
    mine = ev.record_evidence(store, EVIDENCE_SCOPE, "ALL-01", note="City of Ottawa is a municipality", user=ANA)
    theirs = ev.record_evidence(store, EVIDENCE_SCOPE, "ALL-11", document="By-law s.18", user=BO)
    assert [e["evidence_id"] for e in ev.evidence_items(store, EVIDENCE_SCOPE)] == [mine["evidence_id"],
                                                                                     theirs["evidence_id"]]
    with pytest.raises(PermissionDenied):
        ev.delete_evidence(store, mine["evidence_id"], user=BO)
    with pytest.raises(PermissionDenied):
        ev.record_evidence(store, EVIDENCE_SCOPE, "ALL-01", note="a viewer's note", user=VIC)
    ev.delete_evidence(store, mine["evidence_id"], user=ANA)
    ev.delete_evidence(store, theirs["evidence_id"], user=STEW)
    assert ev.evidence_items(store, EVIDENCE_SCOPE) == []
    assert actions(store.record) == ["evidence.record", "evidence.record", "evidence.delete", "evidence.delete"]


def _line(**over) -> dict:
    return {"category": "licence", "description": "Licence under the piggyback clause", "basis": "fixed",
            "amount": 500_000, "currency": "CAD", "price_year": 2026, "recurrence": "one_time", **over}


def test_quotes_are_saved_listed_and_removed_by_their_author(store):
    saved = quotes.save_quote(store, QUOTE_SCOPE, _line(), user=ANA)
    quotes.save_quote(store, QUOTE_SCOPE, _line(description="Support", amount=20_000), user=BO)
    listed = quotes.list_quotes(store, QUOTE_SCOPE)
    assert [(q.item.description, q.who) for q in listed] == [("Licence under the piggyback clause", ANA.id),
                                                             ("Support", BO.id)]
    with pytest.raises(PermissionDenied):
        quotes.delete_quote(store, saved.item_id, user=BO)
    assert quotes.delete_quote(store, saved.item_id, user=ANA).item_id == saved.item_id
    assert [q.who for q in quotes.list_quotes(store)] == [BO.id]
    assert actions(store.record).count("quote.save") == 2


def test_contacts_are_added_by_a_steward_and_listed(store):
    with pytest.raises(PermissionDenied):
        peer_data.add_contact(store, "cambridge-on", "Building Services", "email", "building@cambridge.ca",
                              "https://www.cambridge.ca/en/build-invest-grow/", user=ANA)
    contact_id = peer_data.add_contact(store, "cambridge-on", "City of Cambridge, Building Services", "email",
                                       "building@cambridge.ca", "https://www.cambridge.ca/en/build-invest-grow/",
                                       user=STEW)
    listed = peer_data.contacts_for(store, "cambridge-on")
    added = listed[listed["kind"] == "user-entered"]
    assert added["value"].tolist() == ["building@cambridge.ca"] and added["who"].tolist() == [STEW.id]
    assert count(store.record, "user_contacts", "WHERE contact_id = ?", [contact_id]) == 1
    assert actions(store.record) == ["add contact"]


NEW_ROW = {"jurisdiction": "City of Guelph", "region": "ON", "country": "Canada", "vendor": "Example Vendor",
           "product": "Example Permits", "go_live": "2025-03", "confidence": "medium",
           "source_urls": "https://guelph.ca/example"}


def _csv(row: dict) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(row), lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    return buf.getvalue().encode()


def test_imports_land_in_the_record_and_another_server_applies_them(store, record, built_db, tmp_path):
    assert record.overrides() == {}
    before = record.imports_version()
    import_bytes(store, _csv(NEW_ROW), "new.csv", user=STEW)
    assert set(record.overrides()) == {"city-of-guelph-on"}
    first = record.imports_version()
    assert first != before
    assert store.deployment("city-of-guelph-on").vendor == "Example Vendor"

    import_bytes(store, _csv({**NEW_ROW, "vendor": "Other Vendor"}), "again.csv", user=STEW)
    assert record.imports_version() not in (before, first)
    assert record.overrides()["city-of-guelph-on"]["vendor"] == "Other Vendor"

    # "Server B": its own reference file, the same record; it applies the newer import on opening.
    other_path = tmp_path / "server-b.duckdb"
    shutil.copy(built_db, other_path)
    other = Store.open(other_path, record=record)
    try:
        assert other.deployment("city-of-guelph-on").vendor == "Other Vendor"
        assert other.apply_new_imports() is False  # nothing newer since
    finally:
        other.con.close()  # the record is the fixture's: leave it open
    assert actions(record) == ["import", "import"]


# -- one transaction: the write and its audit row ----------------------------------------------

def test_a_failing_write_leaves_neither_rows_nor_an_audit_row(record):
    def half_then_fail(tx):
        tx.execute("INSERT INTO evidence (evidence_id, scope, rule_id, note, who, ts) VALUES (?, ?, ?, ?, ?, ?)",
                   ["e1", EVIDENCE_SCOPE, "ALL-01", "half", ANA.id, None])
        raise RuntimeError("the server died here")

    with pytest.raises(RuntimeError):
        record.write("evidence.record", half_then_fail, ANA)

    def insert_twice(tx):
        for _ in range(2):  # the second insert breaks the primary key: the first must go too
            tx.execute("INSERT INTO user_contacts (contact_id, deployment_id, record, who) VALUES (?, ?, ?, ?)",
                       ["uc-1", "cambridge-on", "{}", STEW.id])
        return None, {}

    with pytest.raises(RecordNameTaken):
        record.write("add contact", insert_twice, STEW)
    assert count(record, "evidence") == count(record, "user_contacts") == count(record, "audit_log") == 0

    record.write("note", lambda tx: (None, {"ok": True}), ANA)
    assert [(a, json.loads(d)) for a, d in record.rows("SELECT action, detail FROM audit_log")] == \
        [("note", {"ok": True})]


# -- many writers at once ----------------------------------------------------------------------

def test_concurrent_writers_lose_and_cross_nothing(record):
    scenarios = RecordScenarioStore(record)
    shared = scenarios.save("Shared counter", {"n": 0}, user=STEW)
    writers, each = 8, 10
    errors: list[BaseException] = []
    updates = [0] * writers

    def work(w: int) -> None:
        user = person(f"writer{w}")
        try:
            for i in range(each):
                saved = scenarios.save(f"w{w} s{i}", {"writer": w, "i": i}, user=user)
                assert saved.owner == user.id
                # And a read-modify-write on one shared scenario: a stale save is refused, retried.
                for _ in range(50):
                    current = scenarios.get(shared.id)
                    try:
                        scenarios.save(current.name, {"n": current.payload["n"] + 1}, scenario_id=shared.id,
                                       expected_version=current.version, user=STEW)
                        updates[w] += 1
                        break
                    except ScenarioConflict:
                        continue
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    rows = record.rows("SELECT name, owner, payload FROM scenarios WHERE name <> ?", ["Shared counter"])
    assert len(rows) == writers * each
    for name, owner, payload in rows:  # every row is whole and belongs to its writer
        data = json.loads(payload)
        assert name == f"w{data['writer']} s{data['i']}" and owner == f"local:writer{data['writer']}"
    final = scenarios.get(shared.id)
    assert sum(updates) == writers * each
    assert final.payload["n"] == final.version - 1 == writers * each  # no update lost
    assert count(record, "audit_log", "WHERE action = ?", ["scenario.save"]) == writers * each + 1
    assert count(record, "audit_log", "WHERE action = ?", ["scenario.update"]) == writers * each


# -- the server backend only -------------------------------------------------------------------

def test_two_servers_writing_at_once_lose_and_cross_nothing(pg_url):
    """Two records on one database (two app servers' pools): writers on both, each row whole,
    each visible through the other server, one shared scenario updated from both with no update lost."""
    from piggyback.data.record_postgres import PostgresRecord

    servers = [PostgresRecord.connect(pg_url), PostgresRecord.connect(pg_url)]
    try:
        with servers[0].transaction() as tx:
            tx.execute("TRUNCATE " + ", ".join(USER_TABLES))
        stores = [RecordScenarioStore(r) for r in servers]
        shared = stores[0].save("Shared across servers", {"n": 0}, user=STEW)
        errors: list[BaseException] = []

        def work(w: int) -> None:
            mine, user = stores[w % 2], person(f"writer{w}")
            try:
                for i in range(10):
                    mine.save(f"server{w % 2} w{w} s{i}", {"writer": w, "i": i}, user=user)
                    while True:
                        current = mine.get(shared.id)
                        try:
                            mine.save(current.name, {"n": current.payload["n"] + 1}, scenario_id=shared.id,
                                      expected_version=current.version, user=STEW)
                            break
                        except ScenarioConflict:
                            continue
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
        assert not errors, errors
        for w in range(8):  # each writer's rows, read through the other server
            other = stores[(w + 1) % 2]
            names = sorted(s.name for s in other.list(user=person(f"writer{w}")))
            assert names == sorted(f"server{w % 2} w{w} s{i}" for i in range(10))
        assert stores[1].get(shared.id).payload["n"] == 80 == stores[0].get(shared.id).version - 1
        assert count(servers[1], "audit_log") == 1 + 80 + 80
    finally:
        for r in servers:
            r.close()


def test_open_record_picks_the_server_when_the_url_is_set(pg_url, db_copy, monkeypatch):
    from piggyback.data.record_postgres import PostgresRecord

    monkeypatch.setenv("PIGGYBACK_DATABASE_URL", pg_url)
    s = Store.open(db_copy)
    try:
        assert isinstance(s.record, PostgresRecord)
        assert "PostgreSQL" in s.record.describe() and "piggyback_test" not in s.record.describe()
    finally:
        s.close()


def test_a_server_applies_an_import_made_through_another_without_a_restart(pg_url, built_db, tmp_path,
                                                                           monkeypatch):
    from piggyback.ui import widgets
    from piggyback.core.errors import UnknownPeer
    from piggyback.data.record_postgres import PostgresRecord

    stores = []
    for name in ("a", "b"):
        shutil.copy(built_db, tmp_path / f"{name}.duckdb")
        stores.append(Store.open(tmp_path / f"{name}.duckdb", record=PostgresRecord.connect(pg_url)))
    a, b = stores
    try:
        with a.record.transaction() as tx:
            tx.execute("TRUNCATE " + ", ".join(USER_TABLES))
        widgets.with_new_imports(b)  # server B checked just now
        import_bytes(a, _csv(NEW_ROW), "new.csv", user=STEW)  # through server A
        assert a.deployment("city-of-guelph-on").vendor == "Example Vendor"
        widgets.with_new_imports(b)
        with pytest.raises(UnknownPeer):  # not yet: B looks at most every IMPORTS_CHECK_S seconds
            b.deployment("city-of-guelph-on")
        monkeypatch.setattr(widgets, "IMPORTS_CHECK_S", 0.0)  # ... time passes
        assert widgets.with_new_imports(b) is b
        assert b.deployment("city-of-guelph-on").vendor == "Example Vendor"
    finally:
        for s in stores:
            s.close()


def test_migrations_are_versioned_idempotent_and_serialized(pg):
    from piggyback.data.record_postgres import LATEST, MIGRATIONS, PostgresRecord

    url = pg.create_database("migrations")
    results: list = []

    def migrate() -> None:
        try:
            results.append(PostgresRecord(url).migrate())
        except BaseException as exc:  # noqa: BLE001
            results.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(4)]  # four servers starting at once
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results, key=len) == [[], [], [], [v for v, _, _ in MIGRATIONS]]
    record = PostgresRecord.connect(url)
    try:
        assert record.schema_version() == LATEST
        assert record.rows("SELECT version FROM schema_migrations ORDER BY version") == \
            [(v,) for v, _, _ in MIGRATIONS]
        assert record.migrate() == []
        assert {r[0] for r in record.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")} >= \
            {"schema_migrations", "record_meta", *USER_TABLES}
    finally:
        record.close()


def test_a_schema_newer_than_the_code_is_refused(pg):
    from piggyback.data.record_postgres import LATEST, PostgresRecord, RecordSchemaTooNew

    url = pg.create_database("newer")
    PostgresRecord(url).migrate()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (%s, 'from the future', now())", [LATEST + 1])
    with pytest.raises(RecordSchemaTooNew, match=f"schema version {LATEST + 1}, newer than this Piggyback"):
        PostgresRecord.connect(url)
    result = _cli("migrate", url=url)
    assert result.returncode == 2 and f"schema version {LATEST + 1}" in result.stderr, result.stderr


def _cli(*args: str, url: str | None, in_process: bool = True) -> subprocess.CompletedProcess:
    """``python -m piggyback …`` with the URL set (or not); in this process unless asked (faster)."""
    env = {k: v for k, v in os.environ.items() if k != "PIGGYBACK_DATABASE_URL"}
    if url:
        env["PIGGYBACK_DATABASE_URL"] = url
    if not in_process:
        return subprocess.run([sys.executable, "-m", "piggyback", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)
    from contextlib import redirect_stderr, redirect_stdout

    from piggyback.cli import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(out), redirect_stderr(err):
        mp.delenv("PIGGYBACK_DATABASE_URL", raising=False)
        if url:
            mp.setenv("PIGGYBACK_DATABASE_URL", url)
        code = main(list(args))
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def test_migrate_command(pg):
    url = pg.create_database("cli")
    first = _cli("migrate", url=url, in_process=False)  # the real command line, once
    assert first.returncode == 0, first.stderr
    assert "applied 1, 2" in first.stdout  # run again, nothing to do: see the test above
    unset = _cli("migrate", url=None)
    assert unset.returncode == 2 and "PIGGYBACK_DATABASE_URL is not set" in unset.stderr


def test_an_unreachable_server_gives_one_plain_sentence(pg):
    from piggyback.data.record_postgres import PostgresRecord, RecordUnreachable

    port = pg_cluster.free_port()  # nothing listens there
    url = f"postgresql://ana:s3cret-pw@127.0.0.1:{port}/piggyback"
    with pytest.raises(RecordUnreachable) as failed:
        PostgresRecord.connect(url)
    text = str(failed.value)
    assert f"The shared database at 127.0.0.1:{port} cannot be reached" in text
    assert "s3cret-pw" not in text and "Traceback" not in text
    result = _cli("migrate", url=url)
    assert result.returncode == 2 and "cannot be reached" in result.stderr and "s3cret-pw" not in result.stderr


def test_a_pool_with_every_connection_in_use_says_busy_not_unreachable(pg_url):
    from piggyback.data.record_postgres import PostgresRecord, RecordUnreachable

    record = PostgresRecord.connect(pg_url, pool_size=1, timeout=0.5)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with record.transaction() as tx:
            tx.execute("SELECT 1")
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with pytest.raises(RecordUnreachable, match="is busy serving other sessions") as busy:
            record.write("note", lambda tx: (None, {}), ANA)
        assert "nothing was saved" in str(busy.value)
    finally:
        release.set()
        holder.join(10)
    record.write("note", lambda tx: (None, {}), ANA)  # free again: it goes through
    record.close()


def test_a_server_that_goes_away_loses_nothing_reported_saved():
    """A second cluster of its own, stopped under a connected record."""
    from piggyback.data.record_postgres import PostgresRecord, RecordUnreachable

    try:
        cluster = pg_cluster.start_cluster()
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL server for the tests: {exc}")
    try:
        url = cluster.create_database("doomed")
        record = PostgresRecord.connect(url, timeout=1)
        scenarios = RecordScenarioStore(record)
        kept = scenarios.save("Saved before", PAYLOAD, user=ANA)

        # Mid-transaction the server drops the connection: nothing of the transaction stays.
        import psycopg

        with pytest.raises(RecordUnreachable, match="nothing was saved"):
            with record.transaction() as tx:
                tx.execute("INSERT INTO scenarios (scenario_id, name, payload, version) VALUES (?, ?, ?, 1)",
                           ["00000000000000aa", "Half written", "{}"])
                tx.audit("scenario.save", {"name": "Half written"}, ANA)
                pid = tx.execute("SELECT pg_backend_pid()")[0][0]
                with psycopg.connect(url, autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", [pid])
                tx.execute("SELECT 1")
        assert [s.name for s in scenarios.list(user=ANA)] == ["Saved before"]
        assert count(record, "audit_log") == 1

        # The server stops: a save gets the plain sentence, and nothing is lost on restart.
        cluster.crash()
        with pytest.raises(RecordUnreachable) as failed:
            scenarios.save("While down", PAYLOAD, user=ANA)
        assert str(failed.value) == (f"The shared database at 127.0.0.1:{cluster.port} cannot be reached; nothing "
                                     "was saved — your work is still on screen, try again.")
        with pytest.raises(RecordUnreachable, match="cannot be reached"):
            scenarios.list(user=ANA)
        record.close()
        cluster.run_server()
        again = PostgresRecord.connect(url)
        try:
            assert [s.id for s in RecordScenarioStore(again).list(user=ANA)] == [kept.id]
        finally:
            again.close()
    finally:
        cluster.stop()


def test_the_page_says_the_database_is_unreachable_and_keeps_the_work_on_screen(db_copy, monkeypatch):
    """The Business case page over a PostgreSQL record that goes away: the save is refused with the
    plain sentence, the name typed stays in its box, nothing crashes; back up, the save goes through."""
    from streamlit.testing.v1 import AppTest

    from piggyback.data import record_postgres

    from piggyback.ui import widgets
    try:
        cluster = pg_cluster.start_cluster()
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL server for the tests: {exc}")
    monkeypatch.setattr(record_postgres, "POOL_TIMEOUT_S", 0.3)  # the page waits 0.3 s, not 8, per call
    monkeypatch.setenv("PIGGYBACK_DB", str(db_copy))
    monkeypatch.setenv("PIGGYBACK_DATABASE_URL", cluster.create_database("page"))
    try:
        at = AppTest.from_file("../app.py", default_timeout=120)
        at.query_params["agency"] = GUELPH
        at.query_params["peer"] = "fayetteville-ar"
        at.run()
        at.switch_page("pages/business_case.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        at.text_input(key="bc_name").set_value("Before the outage")
        at.button(key="bc_save").click()
        at.run()
        assert "Saved 'Before the outage' (version 1)." in [s.value for s in at.success]

        cluster.crash()
        at.text_input(key="bc_name").set_value("During the outage")
        at.button(key="bc_save").click()
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        errors = [e.value for e in at.error]
        # The save reads the user's quotes and evidence first, so the read's sentence is the one shown.
        assert any("cannot be reached" in e and "your work is still on screen, try again" in e for e in errors), errors
        assert not [w.value for w in at.warning if "deleted" in w.value]  # not mistaken for a deleted scenario
        assert at.text_input(key="bc_name").value == "During the outage"

        cluster.run_server()
        at.button(key="bc_save").click()
        at.run()
        assert "Saved 'During the outage' (version 1)." in [s.value for s in at.success], [e.value for e in at.error]
    finally:
        widgets._open_store(str(db_copy)).close()  # the page's cached store: close its pool
        cluster.stop()
