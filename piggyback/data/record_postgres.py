"""The users' record on a shared PostgreSQL server, so several app servers share one record.

Chosen by the setting ``PIGGYBACK_DATABASE_URL=postgresql://user:password@host:port/dbname``
(see :func:`piggyback.data.record.open_record`). Reference data stays in each server's own DuckDB
file; only what users write lives here. The domain modules see the same :class:`Record`
interface as with the embedded file, so the guarantees are the same:

- every write is one transaction on one pooled connection (psycopg 3, ``psycopg_pool``), with
  its audit row inside it: it commits whole or not at all, also when a server dies mid-write
  (PostgreSQL rolls back a transaction whose connection is gone);
- scenario saves name the version they started from (``UPDATE … WHERE version = ?``), so a
  stale save changes no row and is refused; the ``UNIQUE (name)`` constraint decides between two
  sessions creating the same name;
- errors are translated to the record's own: a unique violation to :class:`RecordNameTaken`
  (keeping ``Key (name)=(…)``, so the message names the scenario), a serialization failure or
  deadlock to :class:`RecordBusy` (retried by :meth:`Record.write`), a server that cannot be
  reached to :class:`RecordUnreachable` (one plain sentence: nothing was saved, try again), a
  full disk or refused permission to :class:`RecordWriteFailed`.

Schema migrations are versioned and kept in code (:data:`MIGRATIONS`); the versions applied are
listed in ``schema_migrations``. :func:`migrate` applies the missing ones under a PostgreSQL
advisory lock (two servers starting at once: one migrates, the other waits and then finds
nothing to do); every statement is idempotent. ``python -m piggyback migrate`` runs it, and so
does every server at start-up (:meth:`PostgresRecord.connect`). A server refuses to start on a
schema newer than its code (:class:`RecordSchemaTooNew`), rather than write rows a newer
version would misread.
"""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import contextmanager
from typing import Iterator

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from piggyback.data.record import RECORD_SCHEMA, Record, RecordBusy, RecordError, RecordNameTaken, RecordWriteFailed, Tx

# (version, what it does, statements). Append only: a released migration is never edited.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1, "the users' record tables", (
        "CREATE TABLE IF NOT EXISTS record_meta (key TEXT PRIMARY KEY, value TEXT)",
        "CREATE TABLE IF NOT EXISTS audit_log (ts TIMESTAMP, who TEXT, action TEXT, detail TEXT, who_label TEXT)",
        "CREATE TABLE IF NOT EXISTS deployment_overrides (deployment_id TEXT PRIMARY KEY, record TEXT, "
        "ts TIMESTAMP, who TEXT)",
        "CREATE TABLE IF NOT EXISTS scenarios (scenario_id TEXT PRIMARY KEY, name TEXT NOT NULL, payload TEXT, "
        "created_at TIMESTAMP, updated_at TIMESTAMP, version INTEGER NOT NULL, owner TEXT, owner_label TEXT, "
        "CONSTRAINT scenarios_name_key UNIQUE (name))",
        "CREATE TABLE IF NOT EXISTS evidence (evidence_id TEXT PRIMARY KEY, scope TEXT, rule_id TEXT, note TEXT, "
        "document TEXT, link TEXT, who TEXT, ts TIMESTAMP, who_label TEXT)",
        "CREATE TABLE IF NOT EXISTS user_price_items (item_id TEXT PRIMARY KEY, scope TEXT, record TEXT, who TEXT, "
        "ts TIMESTAMP)",
        "CREATE TABLE IF NOT EXISTS user_contacts (contact_id TEXT PRIMARY KEY, deployment_id TEXT, record TEXT, "
        "who TEXT, ts TIMESTAMP)",
        f"INSERT INTO record_meta (key, value) VALUES ('schema_version', '{RECORD_SCHEMA}') ON CONFLICT DO NOTHING",
    )),
    (2, "indexes for the lookups the pages make", (
        "CREATE INDEX IF NOT EXISTS audit_log_ts ON audit_log (ts)",
        "CREATE INDEX IF NOT EXISTS scenarios_owner ON scenarios (owner)",
        "CREATE INDEX IF NOT EXISTS evidence_scope ON evidence (scope)",
        "CREATE INDEX IF NOT EXISTS user_price_items_scope ON user_price_items (scope)",
        "CREATE INDEX IF NOT EXISTS user_contacts_deployment ON user_contacts (deployment_id)",
    )),
)
LATEST = MIGRATIONS[-1][0]
# pg_advisory_xact_lock key: "Piggyback record migrations" (any constant shared by every server).
MIGRATION_LOCK = 0x5069676779_0001
CONNECT_TIMEOUT_S = 5
POOL_TIMEOUT_S = 8.0
POOL_SIZE = 10
# Constraints whose violation means two sessions wrote the same row at once (retry), not a name in use.
_RACE_CONSTRAINTS = {"deployment_overrides_pkey"}


class RecordUnreachable(RecordError):
    """The shared database did not answer (down, wrong address, network); nothing was saved."""


class RecordSchemaTooNew(RecordError):
    """The shared database was migrated by a newer Piggyback than this one."""


def where(url: str) -> str:
    """``host:port`` of a connection string, without user or password (for messages)."""
    try:
        info = pg_conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "the address in PIGGYBACK_DATABASE_URL (it cannot be read as a PostgreSQL address)"
    host = str(info.get("host") or info.get("hostaddr") or "localhost").split(",")[0]
    port = str(info.get("port") or "5432").split(",")[0]
    return f"{host}:{port}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _reason(exc: BaseException) -> str:
    """libpq's cause in a few words ('Connection refused', 'password authentication failed …')."""
    text = _first_line(exc)
    return text.rsplit("failed: ", 1)[-1].strip() if "failed: " in text else text


def _is_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout):
        return True
    state = getattr(exc, "sqlstate", None) or ""
    if state.startswith("08") or state in ("57P01", "57P02", "57P03"):
        return True
    # Client-side failures (no SQLSTATE): refused, timed out, connection lost mid-statement.
    return isinstance(exc, psycopg.OperationalError) and not state


class _PgTx(Tx):
    def execute(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        self._cur.execute(self._record.dialect(sql), list(params))
        return self._cur.fetchall() if self._cur.description is not None else []


class PostgresRecord(Record):
    """The record on PostgreSQL: a connection pool per process, one connection per transaction."""

    kind = "postgres"

    def __init__(self, url: str, *, read_only: bool = False, pool_size: int = POOL_SIZE,
                 timeout: float | None = None):
        self.url = url
        self.read_only = read_only
        self.address = where(url)
        self._pool_size = max(1, int(pool_size))
        self._timeout = float(POOL_TIMEOUT_S if timeout is None else timeout)  # wait for a free connection
        self._pool: ConnectionPool | None = None
        self._closed = False
        self._lock = threading.Lock()

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def connect(cls, url: str, *, read_only: bool = False, migrate: bool = True, **options) -> "PostgresRecord":
        """Open the record: bring the schema up to date (or only check it), then open the pool.

        Raises :class:`RecordUnreachable` (with a plain message) when the server does not answer,
        :class:`RecordSchemaTooNew` when it was migrated by a newer Piggyback."""
        record = cls(url, read_only=read_only, **options)
        if migrate and not read_only:
            record.migrate()
        else:
            record.check_schema()
        record._open_pool()
        return record

    def _kwargs(self) -> dict:
        kwargs: dict = {"autocommit": True, "application_name": "piggyback"}
        try:
            if "connect_timeout" not in pg_conninfo.conninfo_to_dict(self.url):
                kwargs["connect_timeout"] = CONNECT_TIMEOUT_S
        except psycopg.Error:
            pass
        return kwargs

    def _direct(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self.url, **self._kwargs())
        except psycopg.Error as exc:
            raise self._start_error(exc) from None

    def _open_pool(self) -> None:
        with self._lock:
            if self._closed:
                raise RecordError("The users' record was closed; reopen the store to read or save.")
            if self._pool is None:
                self._pool = ConnectionPool(self.url, kwargs=self._kwargs(), min_size=1, max_size=self._pool_size,
                                            timeout=self._timeout, check=ConnectionPool.check_connection,
                                            name="piggyback-record", open=False)
                self._pool.open(wait=False)

    def _start_error(self, exc: BaseException) -> RecordError:
        state = getattr(exc, "sqlstate", None) or ""
        lower = str(exc).lower()
        if state.startswith("28") or "authentication failed" in lower or "no pg_hba.conf entry" in lower:
            return RecordUnreachable(
                f"The shared database at {self.address} refused Piggyback's sign-in ({_reason(exc)}). Check the "
                "user and password in PIGGYBACK_DATABASE_URL.")
        if state == "3D000" or ("database" in lower and "does not exist" in lower):
            return RecordUnreachable(
                f"The shared database at {self.address} has no such database ({_reason(exc)}). Create it "
                "(createdb) or correct the name in PIGGYBACK_DATABASE_URL.")
        return RecordUnreachable(
            f"The shared database at {self.address} cannot be reached ({_reason(exc)}), so Piggyback cannot open "
            "the users' record. Check that PostgreSQL is running there and that PIGGYBACK_DATABASE_URL is right, "
            "then try again.")

    # -- migrations ----------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The newest migration applied to the server (0: none yet)."""
        with self._direct() as conn:
            return _applied_version(conn)

    def check_schema(self) -> int:
        version = self.schema_version()
        if version > LATEST:
            raise self._too_new(version)
        return version

    def _too_new(self, version: int) -> RecordSchemaTooNew:
        return RecordSchemaTooNew(
            f"The shared database at {self.address} has schema version {version}, newer than this Piggyback "
            f"understands (up to {LATEST}): a newer version has migrated it. This server does not start on it, "
            "so it cannot damage rows it would misread; install the same Piggyback version as the other servers.")

    def migrate(self) -> list[int]:
        """Apply the missing migrations, in order, in one transaction under an advisory lock.
        Returns the versions applied now (empty: already up to date)."""
        conn = self._direct()
        try:
            # Up to date (every start but the first after an upgrade): no lock, no DDL, so a
            # server whose database user may not create tables starts too.
            current = _applied_version(conn)
            if current > LATEST:
                raise self._too_new(current)
            if current == LATEST:
                return []
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
                conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                             "description TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)")
                current = _applied_version(conn)
                if current > LATEST:
                    raise self._too_new(current)
                applied = []
                for version, description, statements in MIGRATIONS:
                    if version <= current:
                        continue
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_migrations (version, description, applied_at) "
                                 "VALUES (%s, %s, %s)", [version, description, _utcnow()])
                    applied.append(version)
            return applied
        except psycopg.Error as exc:
            raise self._translate(exc, "migrate") from None
        finally:
            conn.close()

    # -- the interface -------------------------------------------------------------------------
    def dialect(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def describe(self) -> str:
        try:
            name = pg_conninfo.conninfo_to_dict(self.url).get("dbname") or "postgres"
        except psycopg.Error:
            name = "?"
        return f"shared PostgreSQL database {name!r} at {self.address}"

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection. When the pool has none to give although it is not full (the server
        was away), try the server directly: once it is back, this request goes through at once and
        a fresh pool replaces the one still waiting out its reconnection back-off."""
        self._open_pool()
        pool = self._pool
        try:
            conn = pool.getconn()
        except PoolTimeout:
            if self._pool_exhausted():
                raise
            conn = psycopg.connect(self.url, **self._kwargs())  # still down: OperationalError, translated
            self._renew_pool(pool)
            try:
                yield conn
            finally:
                conn.close()
            return
        try:
            yield conn
        finally:
            pool.putconn(conn)

    def _renew_pool(self, old: ConnectionPool) -> None:
        with self._lock:
            if self._pool is not old:
                return  # another request renewed it already
            self._pool = None
        self._open_pool()
        threading.Thread(target=old.close, name="piggyback-record-old-pool", daemon=True).start()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        self.require_writable()
        stage = "connect"
        try:
            with self._connection() as conn:
                with conn.cursor() as cur:
                    stage = "begin"
                    cur.execute("BEGIN")
                    stage = "work"
                    try:
                        yield _PgTx(cur, self)
                        stage = "commit"
                        cur.execute("COMMIT")
                    except BaseException:
                        if stage != "commit":
                            _rollback(conn)
                        raise
        except psycopg.Error as exc:
            raise self._translate(exc, stage) from None

    def rows(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        try:
            with self._connection() as conn:
                cur = conn.execute(self.dialect(sql), list(params))
                return cur.fetchall() if cur.description is not None else []
        except psycopg.Error as exc:
            raise self._translate(exc, "read") from None

    def close(self) -> None:
        with self._lock:
            pool, self._pool, self._closed = self._pool, None, True
        if pool is not None:
            pool.close()

    # -- errors --------------------------------------------------------------------------------
    def _translate(self, exc: psycopg.Error, stage: str) -> BaseException:
        state = getattr(exc, "sqlstate", None) or ""
        if isinstance(exc, psycopg.errors.UniqueViolation):
            if exc.diag.constraint_name in _RACE_CONSTRAINTS:
                return RecordBusy(_first_line(exc))
            detail = exc.diag.message_detail or ""
            return RecordNameTaken(f"{_first_line(exc)} {detail}".strip())
        if state in ("40001", "40P01", "55P03"):  # serialization failure, deadlock, lock not available
            return RecordBusy(_first_line(exc))
        if stage in ("connect", "migrate") and (state.startswith("28") or state == "3D000"):
            return self._start_error(exc)
        if isinstance(exc, PoolTimeout) and self._pool_exhausted():
            return RecordUnreachable(
                f"The shared database at {self.address} is busy serving other sessions and did not take this "
                f"request within {self._timeout:g} s; nothing was saved — your work is still on screen, try again.")
        if _is_unreachable(exc):
            if stage == "commit":
                return RecordUnreachable(
                    f"The shared database at {self.address} stopped answering while saving, so Piggyback cannot "
                    "tell whether the change went through. Your work is still on screen: reopen the list to check "
                    "before saving again.")
            if stage == "read":
                return RecordUnreachable(
                    f"The shared database at {self.address} cannot be reached, so saved work cannot be shown or "
                    "saved right now; nothing was changed — your work is still on screen, try again in a moment.")
            if stage == "migrate":
                return self._start_error(exc)
            return RecordUnreachable(
                f"The shared database at {self.address} cannot be reached; nothing was saved — your work is "
                "still on screen, try again.")
        if state.startswith("53") or state.startswith("58"):  # disk full, out of memory, I/O error
            return RecordWriteFailed(f"Nothing was saved: the shared database at {self.address} could not write "
                                     f"({_first_line(exc)}).")
        if state in ("25006", "42501"):  # read-only transaction (a standby), permission denied
            return RecordWriteFailed(f"Nothing was saved: the shared database at {self.address} refused the write "
                                     f"({_first_line(exc)}). Point PIGGYBACK_DATABASE_URL at the primary server "
                                     "with a user that may write.")
        return exc  # a bug (bad SQL): keep psycopg's own error


    def _pool_exhausted(self) -> bool:
        """Every connection of the pool is in use (busy), as opposed to none can be opened (down)."""
        pool = self._pool
        if pool is None:
            return False
        stats = pool.get_stats()
        return stats.get("pool_size", 0) >= self._pool_size and stats.get("pool_available", 0) == 0


def _rollback(conn) -> None:
    try:
        conn.execute("ROLLBACK")
    except psycopg.Error:
        pass  # the connection is gone: the server rolls the transaction back itself


def _applied_version(conn) -> int:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def migrate(url: str) -> tuple[list[int], int, str]:
    """``python -m piggyback migrate``: (versions applied now, schema version, where)."""
    record = PostgresRecord(url)
    applied = record.migrate()
    return applied, record.schema_version(), record.describe()
