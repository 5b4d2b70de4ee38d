"""The users' record is out of a rebuild's reach, current for other processes, and honest on failure."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import pytest
from conftest import ROOT, person, record_count

from piggyback.data import evidence as ev
from piggyback.data.record import DuckDBRecord, RecordWriteFailed, default_record_path
from piggyback.data.scenarios import open_scenario_store
from piggyback.data.store import Store, build

GUELPH = "CA-CSD-3523008"
SCOPE = f"agency:{GUELPH}|peer:ottawa-on"
ALICE = person("alice")


def _user_rows(store) -> dict[str, int]:
    return {t: record_count(store, t) for t in ("scenarios", "evidence", "audit_log")}


@pytest.mark.parametrize("force", [False, True])
def test_a_rebuild_keeps_every_scenario_evidence_and_audit_row(db_copy, force):
    """The reported loss: a rebuild deleted the whole file, scenarios and audit log with it."""
    s = Store.open(db_copy)
    open_scenario_store(s).save("Council draft", {"agency": {"geo_id": GUELPH}, "settings": {}}, user=ALICE)
    ev.record_evidence(s, SCOPE, "ALL-02", note="Clause 14.2", user=ALICE)
    before = _user_rows(s)
    s.close()
    build(db_copy, force=force)
    again = Store.open(db_copy)
    try:
        assert _user_rows(again) == before and before["scenarios"] == 1 and before["evidence"] == 1
        assert open_scenario_store(again).list(user=ALICE)[0].name == "Council draft"
    finally:
        again.close()
    if force:
        assert list(db_copy.parent.glob("copy.duckdb.backup-*")), "a forced rebuild keeps a backup first"


def test_another_process_reads_what_was_just_saved(db_copy):
    """Writes are checkpointed: a reader in another process (on a copy, as DuckDB has one writer)
    sees the scenario saved a moment ago, not a stale file."""
    s = Store.open(db_copy)
    try:
        saved = open_scenario_store(s).save("Fresh", {"settings": {}}, user=ALICE)
        code = textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(ROOT)!r})
            from piggyback.data.store import Store
            from piggyback.data.scenarios import open_scenario_store
            r = Store.open({str(db_copy)!r}, read_only=True, allow_read_only_fallback=True)
            print(open_scenario_store(r).get({saved.id!r}).name)
            r.close()
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "Fresh"
    finally:
        s.close()


def test_a_failed_write_reports_its_real_cause(tmp_path, monkeypatch):
    """A full disk says 'no space left on device', not the rollback's 'no transaction is active'."""
    rec = DuckDBRecord.open(tmp_path / "r.duckdb")
    real_cursor = rec.con.cursor

    class FullDisk:
        def __init__(self):
            self._cur = real_cursor()

        def execute(self, sql, params=()):
            if sql.startswith("INSERT"):
                raise duckdb.IOException('Could not write file "r.duckdb.wal": No space left on device')
            if sql == "ROLLBACK":
                raise duckdb.TransactionException("cannot rollback - no transaction is active")
            return self._cur.execute(sql, params)

        def fetchall(self):
            return self._cur.fetchall()

        def close(self):
            self._cur.close()

    monkeypatch.setattr(rec, "con", type("Con", (), {"cursor": staticmethod(FullDisk)})())
    with pytest.raises(RecordWriteFailed, match="no space left on device"):
        rec.write("test", lambda tx: (tx.execute("INSERT INTO audit_log VALUES (?)", [1]), "x"), ALICE)


def test_an_import_the_reference_missed_is_applied_on_opening(db_copy):
    """Imports are recorded first; a reference store built before them (another server, or a stop
    between the two writes) picks them up when it opens, facts included."""
    import json

    from piggyback.data.record import now

    s = Store.open(db_copy)
    dep = s.deployment("ottawa-on").model_dump()
    s.close()
    rec = DuckDBRecord.open(default_record_path(db_copy))
    with rec.transaction() as tx:
        tx.execute("INSERT INTO deployment_overrides (deployment_id, record, ts, who) VALUES (?, ?, ?, ?)",
                   ["ottawa-on", json.dumps({**dep, "vendor": "Renamed Vendor"}), now(), "oidc:stella"])
    rec.close()
    again = Store.open(db_copy)
    try:
        assert again.deployment("ottawa-on").vendor == "Renamed Vendor"
        facts = again.facts("deployment", "ottawa-on")
        assert facts[facts["field"] == "vendor"]["value"].tolist() == ["Renamed Vendor"]
    finally:
        again.close()


def test_a_legacy_file_with_user_tables_moves_them_into_the_record(db_copy):
    """Files written by the previous version kept user rows in the reference file: moved once."""
    con = duckdb.connect(str(db_copy))
    con.execute("CREATE TABLE scenarios (scenario_id VARCHAR PRIMARY KEY, name VARCHAR UNIQUE, payload VARCHAR, "
                "created_at TIMESTAMP, updated_at TIMESTAMP, version INTEGER)")
    con.execute("INSERT INTO scenarios VALUES ('0123456789abcdef', 'Old plan', '{}', now(), now(), 3)")
    con.close()
    s = Store.open(db_copy)
    try:
        old = open_scenario_store(s).get("0123456789abcdef")
        assert old.name == "Old plan" and old.owner is None  # no owner: only a steward may change it
    finally:
        s.close()
    s = Store.open(db_copy)  # a second opening moves nothing twice
    try:
        assert record_count(s, "scenarios") == 1
    finally:
        s.close()
