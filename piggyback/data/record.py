"""The users' record: everything people write, kept apart from the reference data.

Reference data (census, peers, rules, assumptions) is rebuilt from ``data/`` into its own DuckDB
file and can be thrown away at any time. What users write — saved scenarios, compliance
evidence, entered quotes, added contacts, steward imports and the audit log — lives here, in a
store that a rebuild never opens for writing, let alone deletes.

One interface, :class:`Record`, whatever the backend:

- :meth:`Record.transaction` yields a :class:`Tx`; ``tx.execute(sql, params)`` runs one statement
  with ``?`` placeholders and returns its rows; ``tx.audit(action, detail, user)`` writes the
  audit row in the same transaction. It commits when the block ends, and rolls back (raising the
  *original* error, translated) when it fails.
- :meth:`Record.rows` reads.

:class:`DuckDBRecord` is the embedded default (a second DuckDB file, zero set-up). A server
backend implements the same few methods; the domain modules (``scenarios``, ``evidence``,
``quotes``, ``peers.add_contact``, ``interchange``) only use this interface.

Errors are translated to :class:`RecordNameTaken` (a unique constraint), :class:`RecordBusy`
(a write-write conflict: retry) and :class:`RecordWriteFailed` (the real cause: no space left on
device, permission denied), so a user sees what went wrong, not a rollback's follow-up error.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from piggyback.core.errors import ReadOnlyStore, StoreBusy, StoreCorrupt, StoreError
from piggyback.core.identity import User

RECORD_SCHEMA = 1

# Columns are the same on every backend; a server backend maps VARCHAR/TIMESTAMP to its types.
TABLES: dict[str, str] = {
    "record_meta": "CREATE TABLE IF NOT EXISTS record_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "audit_log": "CREATE TABLE IF NOT EXISTS audit_log (ts TIMESTAMP, who VARCHAR, action VARCHAR, "
                 "detail VARCHAR, who_label VARCHAR)",
    "deployment_overrides": "CREATE TABLE IF NOT EXISTS deployment_overrides (deployment_id VARCHAR PRIMARY KEY, "
                            "record VARCHAR, ts TIMESTAMP, who VARCHAR)",
    "scenarios": "CREATE TABLE IF NOT EXISTS scenarios (scenario_id VARCHAR PRIMARY KEY, name VARCHAR UNIQUE, "
                 "payload VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP, version INTEGER, owner VARCHAR, "
                 "owner_label VARCHAR)",
    "evidence": "CREATE TABLE IF NOT EXISTS evidence (evidence_id VARCHAR PRIMARY KEY, scope VARCHAR, "
                "rule_id VARCHAR, note VARCHAR, document VARCHAR, link VARCHAR, who VARCHAR, ts TIMESTAMP, "
                "who_label VARCHAR)",
    "user_price_items": "CREATE TABLE IF NOT EXISTS user_price_items (item_id VARCHAR PRIMARY KEY, scope VARCHAR, "
                        "record VARCHAR, who VARCHAR, ts TIMESTAMP)",
    "user_contacts": "CREATE TABLE IF NOT EXISTS user_contacts (contact_id VARCHAR PRIMARY KEY, "
                     "deployment_id VARCHAR, record VARCHAR, who VARCHAR, ts TIMESTAMP)",
}
USER_TABLES = tuple(t for t in TABLES if t != "record_meta")


class RecordError(StoreError):
    pass


class RecordNameTaken(RecordError):
    """A unique constraint refused the write (e.g. a scenario name in use)."""


class RecordBusy(RecordError):
    """Another session wrote the same rows at the same moment; nothing was written: try again."""


class RecordWriteFailed(RecordError):
    """The write failed for a reason outside the app (disk full, permissions); nothing was written."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _cause(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lower = str(exc).lower()
    if "no space left" in lower or "disk full" in lower or "enospc" in lower:
        return "the disk is full (no space left on device)"
    if "permission denied" in lower or "read-only file system" in lower:
        return f"the database file cannot be written (permission denied: {text})"
    return text


class Tx:
    """One transaction's statements, with the audit row written inside it."""

    def __init__(self, cur, record: "Record"):
        self._cur = cur
        self._record = record

    def execute(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        self._cur.execute(self._record.dialect(sql), list(params))
        try:
            return self._cur.fetchall()
        except Exception:  # statements without a result set
            return []

    def audit(self, action: str, detail: dict | str, user: User) -> None:
        text = detail if isinstance(detail, str) else json.dumps(detail, sort_keys=True, default=str)
        self.execute("INSERT INTO audit_log (ts, who, action, detail, who_label) VALUES (?, ?, ?, ?, ?)",
                     [now(), user.id, action, text, user.label or None])


class Record:
    """The interface (see the module docstring); backends override the marked methods."""

    kind = "abstract"
    read_only = False
    notice: str | None = None

    def dialect(self, sql: str) -> str:  # backend: placeholder style
        return sql

    @contextmanager
    def transaction(self) -> Iterator[Tx]:  # backend
        raise NotImplementedError
        yield  # pragma: no cover

    def rows(self, sql: str, params: list | tuple = ()) -> list[tuple]:  # backend
        raise NotImplementedError

    def close(self) -> None:  # backend
        pass

    def describe(self) -> str:  # backend: where the record lives, for messages and the Data page
        return self.kind

    # -- shared by every backend -----------------------------------------------------------------
    def require_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyStore(self.notice or "The users' record is open read-only; nothing can be saved now.")

    def write(self, action: str, work, user: User, *, retries: int = 5):
        """Run ``work(tx) -> (result, audit_detail)`` in one audited transaction; retry a busy one."""
        import time

        self.require_writable()
        delay = 0.01
        for attempt in range(retries):
            try:
                with self.transaction() as tx:
                    result, detail = work(tx)
                    tx.audit(action, detail, user)
                return result
            except RecordBusy:
                if attempt == retries - 1:
                    raise RecordBusy("Another session was writing the same records at the same moment, so this "
                                     "change could not go through; nothing was changed. Try again.") from None
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def audit_log(self, limit: int = 200):
        import pandas as pd

        rows = self.rows("SELECT ts, who, action, detail, who_label FROM audit_log ORDER BY ts DESC LIMIT ?",
                         [int(limit)])
        return pd.DataFrame(rows, columns=["ts", "who", "action", "detail", "who_label"])

    def overrides(self) -> dict[str, dict]:
        """Steward imports: {deployment_id: validated record as JSON-able dict}."""
        return {r[0]: json.loads(r[1]) for r in self.rows(
            "SELECT deployment_id, record FROM deployment_overrides ORDER BY deployment_id")}

    def imports_version(self) -> str:
        """Changes whenever a steward import lands (a server notices a newer import with it)."""
        row = self.rows("SELECT COUNT(*), MAX(ts) FROM deployment_overrides")
        count, latest = row[0] if row else (0, None)
        return f"{int(count)}@{latest.isoformat() if hasattr(latest, 'isoformat') else latest or '-'}"


class DuckDBRecord(Record):
    """The embedded record: its own DuckDB file, one connection per process, a cursor per call."""

    kind = "duckdb"

    def __init__(self, path: Path | str, *, read_only: bool = False, snapshot_dir: Path | None = None):
        self.path = Path(path)
        self.read_only = read_only
        self._snapshot_dir = snapshot_dir
        self._lock = threading.RLock()
        self.con = _connect(self.path, read_only)
        if not read_only:
            cur = self.con.cursor()
            for ddl in TABLES.values():
                cur.execute(ddl)
            cur.execute("INSERT INTO record_meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                        [str(RECORD_SCHEMA)])
            cur.close()

    @classmethod
    def open(cls, path: Path | str, *, read_only: bool = False, allow_snapshot: bool = False) -> "DuckDBRecord":
        """Open (creating it when missing). Held by another process: a read-only copy when allowed."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if read_only and not path.exists():
            cls(path).close()  # an empty record, so a reader sees empty tables
        try:
            return cls(path, read_only=read_only)
        except StoreBusy:
            if not allow_snapshot:
                raise
        copy_dir, copy = copy_for_reading(path, "piggyback-record-")
        try:
            rec = cls(copy, read_only=True, snapshot_dir=copy_dir)
        except BaseException:
            shutil.rmtree(copy_dir, ignore_errors=True)
            raise
        rec.notice = ("Another process is writing the users' record, so this shows a read-only copy of it: "
                      "nothing can be saved here now.")
        return rec

    def describe(self) -> str:
        return f"embedded file {self.path}"

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        self.require_writable()
        cur = self.con.cursor()
        try:
            try:
                cur.execute("BEGIN TRANSACTION")
                yield Tx(cur, self)
                cur.execute("COMMIT")
            except duckdb.ConstraintException as exc:
                _rollback(cur)
                raise RecordNameTaken(str(exc)) from None
            except duckdb.TransactionException as exc:
                _rollback(cur)
                raise RecordBusy(str(exc)) from None
            except (duckdb.IOException, duckdb.FatalException, OSError) as exc:
                _rollback(cur)
                raise RecordWriteFailed(f"Nothing was saved: {_cause(exc)}.") from None
            except BaseException:
                _rollback(cur)
                raise
            self._checkpoint(cur)
        finally:
            cur.close()

    def _checkpoint(self, cur) -> None:
        # Other processes read a copy of the file (DuckDB has one writer per file): fold the
        # write-ahead log in so that copy is current.
        try:
            cur.execute("CHECKPOINT")
        except duckdb.Error:
            pass  # another transaction is open; the next write checkpoints

    def rows(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        cur = self.con.cursor()
        try:
            return cur.execute(sql, list(params)).fetchall()
        finally:
            cur.close()

    def close(self) -> None:
        try:
            self.con.close()
        except Exception:
            pass
        if self._snapshot_dir is not None:
            shutil.rmtree(self._snapshot_dir, ignore_errors=True)
            self._snapshot_dir = None

    def __del__(self):  # a snapshot copy never outlives its reader
        if getattr(self, "_snapshot_dir", None) is not None:
            shutil.rmtree(self._snapshot_dir, ignore_errors=True)


def copy_for_reading(path: Path, prefix: str) -> tuple[Path, Path]:
    """A private copy of a DuckDB file and its write-ahead log, for a reader while another
    process holds the file (DuckDB has one writer per file). The caller removes the folder."""
    copy_dir = Path(tempfile.mkdtemp(prefix=prefix))
    copy = copy_dir / path.name
    shutil.copy(path, copy)
    wal = Path(str(path) + ".wal")
    if wal.exists():
        shutil.copy(wal, Path(str(copy) + ".wal"))
    return copy_dir, copy


def _rollback(cur) -> None:
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass  # the failure came before BEGIN, or the transaction is gone: keep the first error


def _connect(path: Path, read_only: bool):
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreBusy(f"The users' record {path} is held by another process for writing.") from None
        raise StoreCorrupt(f"The users' record {path} cannot be opened ({_cause(exc)}). It is never rebuilt "
                           "automatically: restore it from a backup, or move it aside to start an empty one.") from None
    except (duckdb.Error, OSError) as exc:
        raise StoreCorrupt(f"The users' record {path} cannot be opened ({_cause(exc)}). It is never rebuilt "
                           "automatically: restore it from a backup, or move it aside to start an empty one.") from None


def default_record_path(reference_path: Path | str) -> Path:
    from piggyback.core import settings
    env = settings.get("PIGGYBACK_RECORD_DB")
    ref = Path(reference_path)
    return Path(env) if env else ref.with_name(f"{ref.stem}-record.duckdb")


def open_record(reference_path: Path | str, *, read_only: bool = False, allow_snapshot: bool = False) -> Record:
    """The record that goes with a reference store (``PIGGYBACK_DATABASE_URL`` picks a server)."""
    from piggyback.core import settings
    url = settings.get("PIGGYBACK_DATABASE_URL")
    if url:
        from piggyback.data.record_postgres import PostgresRecord  # the server backend

        return PostgresRecord.connect(url)
    return DuckDBRecord.open(default_record_path(reference_path), read_only=read_only, allow_snapshot=allow_snapshot)


def migrate_legacy(reference_con, record: Record) -> int:
    """Move user rows that an older version kept inside the reference file into the record, once.

    Returns the number of rows moved. The old tables stay in the reference file untouched.
    """
    moved = 0
    try:
        names = {r[0] for r in reference_con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    except duckdb.Error:
        return 0
    if record.read_only or not (names & set(USER_TABLES)):
        return 0
    if record.rows("SELECT value FROM record_meta WHERE key = 'legacy_migrated'"):
        return 0
    with record.transaction() as tx:
        for table in USER_TABLES:
            if table not in names:
                continue
            old_cols = [r[0] for r in reference_con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table]).fetchall()]
            rows = reference_con.execute(f'SELECT * FROM "{table}"').fetchall()  # table from our own list
            if not rows:
                continue
            cols = ", ".join(old_cols)
            marks = ", ".join("?" for _ in old_cols)
            for row in rows:
                tx.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING", list(row))
                moved += 1
        tx.execute("INSERT INTO record_meta VALUES ('legacy_migrated', ?) ON CONFLICT DO NOTHING", [str(moved)])
    return moved
