"""The DuckDB store: reference data built from ``data/``, plus the user's own records.

Reference tables (jurisdictions, deployments, sources, …) are rebuilt from the CSV files in one
transaction, so a rebuild is idempotent and an interrupted one leaves the previous data intact.
User tables (audit log, imports, scenarios, evidence, entered prices) survive rebuilds; imported
deployments are re-applied on top of the seed after each rebuild.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from piggyback.data import census

from piggyback.core import settings
from piggyback.core.errors import AmbiguousPeer, StoreBusy, StoreCorrupt, StoreError, UnknownPeer
from piggyback.core.identity import User, actor
from piggyback.core.models import Deployment, Jurisdiction
from piggyback.data.record import Record, copy_for_reading, migrate_legacy, open_record

PROJECT_DIR = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_DIR / "data"
SCHEMA_VERSION = 1

LIST_COLUMNS = {"deployments": ["module_codes", "source_urls"]}
# Columns stored as numbers, per table (everything else in data/ stays text as written).
NUMERIC_COLUMNS = {
    "assumptions": ("value", "low", "high"),
    "contracts": ("value", "term_years"),
    "outcomes": ("before", "after"),
    "price_items": ("amount", "escalation_pct", "price_year", "years"),
    "thresholds": ("amount",),
}


def default_db_path() -> Path:
    env = settings.get("PIGGYBACK_DB")
    return Path(env) if env else PROJECT_DIR / ".piggyback" / "piggyback.duckdb"


@dataclass
class BuildReport:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    data_hash: str = ""

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        return f"built in {self.seconds:.1f} s: {parts}"


def _split_list(value) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [part.strip() for part in str(value).replace(" ; ", ";").split(";") if part.strip()]


def _data_hash(data_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and path.suffix in {".csv", ".gz"}:
            digest.update(str(path.relative_to(data_dir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def read_seed_deployments(data_dir: Path) -> pd.DataFrame:
    df = pd.read_csv(data_dir / "peers" / "deployments.csv", dtype=str, keep_default_na=False)
    return df


def deployment_from_row(row: dict) -> Deployment:
    """Validate one flat row (the steward interchange format) into a Deployment."""
    from piggyback.core.models import normalize_country

    def blank(v):
        return v is None or (isinstance(v, float) and pd.isna(v)) or str(v).strip() == ""

    clean = {k: (None if blank(v) else (v.strip() if isinstance(v, str) else v)) for k, v in row.items()}
    if clean.get("country"):
        clean["country"] = normalize_country(clean["country"])
    clean["module_codes"] = _split_list(clean.get("module_codes"))
    clean["source_urls"] = _split_list(clean.get("source_urls"))
    clean["vehicle"] = clean.get("vehicle") or "unknown"
    return Deployment.model_validate(clean)


def _deployments_frame(records: list[Deployment]) -> pd.DataFrame:
    rows = [r.model_dump() for r in records]
    return pd.DataFrame(rows)


def _facts_frame(deployments: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """One row per known deployment fact with its sources and confidence (blank facts get none)."""
    from piggyback.data.contract_import import source_kind_of

    kind_of = dict(zip(sources["url"], sources["kind"]))
    fields = ["vendor", "product", "modules", "module_codes", "replaced_system", "procurement_method",
              "vehicle", "rfp_issued", "contract_award", "go_live", "contract_value", "currency",
              "contract_term_years", "population"]
    out = []
    for rec in deployments.to_dict("records"):
        urls = list(rec["source_urls"])
        kinds = sorted({kind_of.get(u) or source_kind_of(u, rec["jurisdiction"]) for u in urls})  # unlisted: by what it is
        for f in fields:
            value = rec.get(f)
            if value is None or (isinstance(value, float) and pd.isna(value)) or (isinstance(value, list) and not value):
                continue
            if f == "vehicle" and value == "unknown":
                continue
            derived = f in {"module_codes", "vehicle"}
            out.append({
                "entity": "deployment", "entity_id": rec["deployment_id"], "field": f,
                "value": ";".join(value) if isinstance(value, list) else str(value),
                "source_urls": urls, "confidence": rec["confidence"],
                "kind": "derived" if derived else ("vendor-stated" if kinds == ["vendor-stated"] else ",".join(kinds)),
                "note": "classified by the data steward from the source's wording" if derived else None,
            })
    return pd.DataFrame(out)


class Store:
    """The reference data: one DuckDB connection per process, a cursor per query (thread-safe for
    Streamlit sessions). ``record`` is the users' record that goes with it (see ``piggyback.data.record``)."""

    def __init__(self, path: Path | str | None = None, read_only: bool = False, data_dir: Path | None = None):
        self.path = Path(path) if path else default_db_path()
        self.data_dir = Path(data_dir) if data_dir else DATA_DIR
        self.read_only = read_only
        self.notice: str | None = None
        self.record: Record | None = None
        self.writes = 0  # reference writes by this process (steward imports): part of the cache key
        self._snapshot_dir: Path | None = None
        self._lock = threading.RLock()
        self._cache: dict[str, pd.DataFrame] = {}
        self.con = self._connect(read_only)

    # -- connection -------------------------------------------------------------------------
    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                raise StoreBusy(f"The database {self.path} is held by another process for writing. "
                                "Close it (or wait) and try again.") from None
            raise StoreCorrupt(f"The database {self.path} cannot be opened ({text.splitlines()[0]}). "
                               "A steward can rebuild it from data/ with `python -m piggyback build --force` "
                               "(the users' record is kept apart and is not touched).") from None
        except (duckdb.Error, OSError) as exc:
            raise StoreCorrupt(f"The database {self.path} cannot be opened ({str(exc).splitlines()[0]}). "
                               "A steward can rebuild it from data/ with `python -m piggyback build --force` "
                               "(the users' record is kept apart and is not touched).") from None

    @classmethod
    def open(cls, path: Path | str | None = None, *, data_dir: Path | None = None,
             read_only: bool = False, allow_read_only_fallback: bool = False,
             record: Record | None = None) -> "Store":
        """Open the reference store and its users' record, building the store when it is missing.

        With ``allow_read_only_fallback`` a store held by another writer opens as a read-only copy
        and says so in ``notice`` (the app keeps serving; writes then fail with ReadOnlyStore).
        A steward import newer than the store (made by another server) is applied on opening.
        """
        path = Path(path) if path else default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        if record is None:
            record = open_record(path, read_only=read_only, allow_snapshot=allow_read_only_fallback)
        if not path.exists():
            build(path, data_dir, record=record)
        try:
            store = cls(path, read_only=read_only, data_dir=data_dir)
        except StoreBusy:
            if not allow_read_only_fallback:
                record.close()
                raise
            store = cls._snapshot(path, data_dir)
        if not store.is_built():
            if store.read_only:
                store.close()
                record.close()
                raise StoreError(f"The database {path} has not been built yet: run `python -m piggyback build`.")
            store.close()
            build(path, data_dir, record=record)
            store = cls(path, read_only=read_only, data_dir=data_dir)
        elif store._snapshot_dir is None and store.meta().get("data_hash") != _data_hash(store.data_dir):
            # data/ changed since the build (an update of the seed data): the reference store is
            # derived, so rebuild it; the users' record is apart and untouched.
            store.close()
            try:
                build(path, data_dir, record=record)
            except StoreBusy:
                pass  # another process holds it: serve what is built, it rebuilds on its next start
            store = cls(path, read_only=read_only, data_dir=data_dir)
        store.record = record
        if record.notice and not store.notice:
            store.notice = record.notice
        if not store.read_only:
            migrate_legacy(store.con, record)
            store.apply_new_imports()
        return store

    @classmethod
    def _snapshot(cls, path: Path, data_dir: Path | None) -> "Store":
        """DuckDB lets one process write and no other process open the file meanwhile, so serve a
        read-only copy of the file (writers checkpoint after each write, so it is current), and
        say so. The copy is removed when the store is closed or collected."""
        copy_dir, copy = copy_for_reading(path, "piggyback-snapshot-")
        try:
            store = cls(copy, read_only=True, data_dir=data_dir)
        except BaseException:
            shutil.rmtree(copy_dir, ignore_errors=True)
            raise
        store._snapshot_dir = copy_dir
        store.notice = ("Another process is writing to the database, so Piggyback shows a read-only copy "
                        "for now: you can look at everything, but nothing can be saved. Restart the app "
                        "once the other process is done.")
        return store

    def close(self) -> None:
        try:
            self.con.close()
        except Exception:
            pass
        if self.record is not None:
            self.record.close()
        if self._snapshot_dir is not None:
            shutil.rmtree(self._snapshot_dir, ignore_errors=True)
            self._snapshot_dir = None

    def __del__(self):
        if getattr(self, "_snapshot_dir", None) is not None:
            shutil.rmtree(self._snapshot_dir, ignore_errors=True)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.con.cursor()

    def is_built(self) -> bool:
        try:
            row = self.cursor().execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except duckdb.CatalogException:
            return False
        except duckdb.Error as exc:
            raise StoreCorrupt(f"The database {self.path} is damaged ({str(exc).splitlines()[0]}). "
                               "A steward can rebuild it with `python -m piggyback build --force`.") from None
        return bool(row) and int(row[0]) == SCHEMA_VERSION

    def require_writable(self) -> None:
        """Writes of the users' own work go to the record: it must be writable."""
        self.record.require_writable()

    def version(self) -> str:
        """Changes whenever what the store answers changes: the data fingerprint plus writes."""
        meta = self.meta()
        return f"{meta.get('data_hash', '')}:{meta.get('imports_version', '')}:{self.writes}"

    def apply_new_imports(self) -> bool:
        """Re-apply steward imports when the record holds newer ones than this store was built
        with (another server imported, or the process stopped between the two writes)."""
        wanted = self.record.imports_version()
        if self.meta().get("imports_version") == wanted:
            return False
        apply_overrides(self, self.record.overrides(), wanted)
        return True

    # -- queries ----------------------------------------------------------------------------
    def query_df(self, sql: str, params: list | tuple | None = None) -> pd.DataFrame:
        return self.cursor().execute(sql, params or []).df()

    def meta(self) -> dict[str, str]:
        return dict(self.cursor().execute("SELECT key, value FROM meta").fetchall())

    def derived(self, key: str, build):
        """``build()`` computed once per store version (a write or import invalidates it) and
        shared by every session. The one cache of the domain layer: nothing is stuck onto the
        store elsewhere. A frame comes back as a shallow copy: with pandas' copy-on-write, a
        caller that changes it changes its own copy, never the shared one."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            value = self._cache[key]
        return value.copy(deep=False) if isinstance(value, pd.DataFrame) else value

    def _cached(self, key: str, sql: str) -> pd.DataFrame:
        return self.derived(key, lambda: self.query_df(sql))

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def jurisdictions(self) -> pd.DataFrame:
        return self._cached("jurisdictions", "SELECT * FROM jurisdictions ORDER BY population DESC NULLS LAST, display_name")

    def jurisdictions_by_id(self) -> pd.DataFrame:
        """The jurisdictions indexed by geo_id, built once per version (the sidebar looks one up on every rerun)."""
        return self.derived("jurisdictions_by_id", lambda: self.jurisdictions().set_index("geo_id", drop=False))

    def jurisdiction(self, geo_id: str) -> Jurisdiction:
        df = self.query_df("SELECT * FROM jurisdictions WHERE geo_id = ?", [geo_id])
        if df.empty:
            from piggyback.core.errors import UnknownAgency
            raise UnknownAgency(f"No jurisdiction has the id {geo_id!r}.")
        rec = {k: (None if pd.isna(v) else v) for k, v in df.iloc[0].to_dict().items() if k in Jurisdiction.model_fields}
        return Jurisdiction.model_validate(rec)

    def peers(self) -> pd.DataFrame:
        """Deployments joined to their census jurisdiction (population from the census when linked)."""
        return self._cached("peers", """
            SELECT d.*, j.display_name AS census_name, j.jtype, j.population AS census_population,
                   j.population_year AS census_population_year, j.population_label AS census_population_label,
                   j.growth_pct, j.households, j.density, j.lat, j.lon, j.census_division,
                   COALESCE(j.population, d.population) AS peer_population,
                   (SELECT MAX(o.after) FROM outcomes o WHERE o.deployment_id = d.deployment_id
                       AND o.metric = 'building permits a year') AS permit_volume
            FROM deployments d LEFT JOIN jurisdictions j USING (geo_id)
            ORDER BY d.jurisdiction""")

    def deployment(self, deployment_id: str) -> Deployment:
        df = self.query_df("SELECT * FROM deployments WHERE deployment_id = ?", [deployment_id])
        if df.empty:
            raise UnknownPeer(f"No peer deployment has the id {deployment_id!r}.")
        rec = {k: _py(v) for k, v in df.iloc[0].to_dict().items()}
        return Deployment.model_validate(rec)

    def resolve_peer(self, query: str) -> str:
        """A peer by id, its jurisdiction name, or a unique part of it -> deployment_id."""
        from piggyback.data.census import fold

        peers = self.peers()
        q = fold(query)
        if not q:
            raise UnknownPeer("Name a peer: its id (e.g. ottawa-on) or its jurisdiction's name.")
        by_id = peers[peers["deployment_id"] == query.strip().lower()]
        if len(by_id) == 1:
            return by_id.iloc[0]["deployment_id"]
        names = peers["jurisdiction"].map(fold)
        exact = peers[(names == q) | (names.str.replace(r"^(city|town|township|municipality|county) of ", "", regex=True) == q)]
        if len(exact) == 1:
            return exact.iloc[0]["deployment_id"]
        part = peers[names.str.contains(q, regex=False)]
        if len(part) == 1:
            return part.iloc[0]["deployment_id"]
        if len(part) > 1:
            raise AmbiguousPeer(query, [f"{r.deployment_id} ({r.jurisdiction})" for r in part.itertuples()])
        raise UnknownPeer(f"No peer deployment matches {query!r}. Known peers: "
                          + ", ".join(peers["deployment_id"].tolist()))

    def table(self, name: str) -> pd.DataFrame:
        if name not in self.tables():
            raise StoreError(f"No table {name!r} in the store.")
        return self._cached(f"table:{name}", f'SELECT * FROM "{name}"')  # name checked against the catalogue

    def tables(self) -> list[str]:
        return [r[0] for r in self.cursor().execute("SELECT table_name FROM information_schema.tables").fetchall()]

    def sources(self) -> pd.DataFrame:
        return self.table("sources")

    def facts(self, entity: str | None = None, entity_id: str | None = None) -> pd.DataFrame:
        sql, params = "SELECT * FROM facts WHERE 1=1", []
        if entity:
            sql += " AND entity = ?"
            params.append(entity)
        if entity_id:
            sql += " AND entity_id = ?"
            params.append(entity_id)
        return self.query_df(sql, params)

    def assumptions(self, group: str | None = None) -> pd.DataFrame:
        if "assumptions" not in self.tables():
            return pd.DataFrame(columns=["assumption_id", "group_name", "name", "value", "low", "high",
                                         "unit", "kind", "source_url", "note"])
        if group:
            return self.query_df("SELECT * FROM assumptions WHERE group_name = ? ORDER BY assumption_id", [group])
        return self.query_df("SELECT * FROM assumptions ORDER BY group_name, assumption_id")

    # -- the users' record ------------------------------------------------------------------
    def audit(self, action: str, detail: dict | str, user: User | None = None) -> None:
        """Write one audited action on its own (writes of records audit inside their transaction)."""
        self.record.write(action, lambda tx: (None, detail), actor(user))

    def audit_log(self, limit: int = 200) -> pd.DataFrame:
        return self.record.audit_log(limit)


def _py(value):
    if isinstance(value, float) and pd.isna(value):
        return None
    if value is None:
        return None
    if hasattr(value, "tolist"):
        return value.tolist()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _register_and_replace(cur, name: str, df: pd.DataFrame) -> None:
    cur.register("_frame", df)
    cur.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _frame')  # name from our own file list
    cur.unregister("_frame")


DUCKDB_MAGIC = b"DUCK"
BACKUPS_KEPT = 3


def _is_duckdb_file(path: Path) -> bool:
    """DuckDB files carry 'DUCK' at byte 8 of their header, even when the rest is damaged."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return len(head) == 12 and head[8:12] == DUCKDB_MAGIC


def _is_piggyback_store(path: Path) -> bool | None:
    """True: Piggyback's reference store; False: some other database; None: unreadable DuckDB file."""
    if not _is_duckdb_file(path):
        return False
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreBusy(f"The database {path} is held by another process; close it first.") from None
        return None
    except duckdb.Error:
        return None
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "meta" not in tables or "jurisdictions" not in tables:
            return False
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return row is not None
    except duckdb.Error:
        return None
    finally:
        con.close()


def backup_file(path: Path) -> Path:
    """Move ``path`` (and its write-ahead log) aside to a timestamped backup; keep the newest few."""
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    target = path.with_name(f"{path.name}.backup-{stamp}")
    path.rename(target)
    wal = Path(str(path) + ".wal")
    if wal.exists():
        wal.rename(Path(str(target) + ".wal"))
    old = sorted(path.parent.glob(f"{path.name}.backup-*[0-9]"))
    for stale in old[:-BACKUPS_KEPT]:
        stale.unlink(missing_ok=True)
        Path(str(stale) + ".wal").unlink(missing_ok=True)
    return target


def _seed_records(data_dir: Path) -> list[Deployment]:
    seed = read_seed_deployments(data_dir)
    problems, records = [], []
    for i, row in enumerate(seed.to_dict("records"), start=2):
        try:
            records.append(deployment_from_row(row))
        except Exception as exc:  # the seed itself must be valid: say where it is not
            problems.append(f"data/peers/deployments.csv row {i}: {exc}")
    if problems:
        raise StoreError("The seed data is invalid:\n" + "\n".join(problems))
    return records


def _merged_deployments(records: list[Deployment], overrides: dict[str, dict]) -> pd.DataFrame:
    by_id = {r.deployment_id: r for r in records}
    for dep_id, rec in overrides.items():  # keys starting "_" carry the row's contract terms
        by_id[dep_id] = Deployment.model_validate({k: v for k, v in rec.items() if not k.startswith("_")})
    return _deployments_frame(list(by_id.values()))


def _seed_table(data_dir: Path, group: str, name: str) -> pd.DataFrame | None:
    path = data_dir / group / f"{name}.csv"
    if not path.exists():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None)


def _imported_contract_tables(data_dir: Path, overrides: dict[str, dict], vendors=None):
    """(contracts, price_items) with the steward imports' contract facts applied (see
    ``piggyback.data.contract_import``), or None when the seed has no such tables."""
    from piggyback.data.contract_import import derive

    contracts, prices = _seed_table(data_dir, "peers", "contracts"), _seed_table(data_dir, "pricing", "price_items")
    if contracts is None or prices is None:
        return None
    seed = {r["deployment_id"]: r for r in read_seed_deployments(data_dir).to_dict("records")}
    return derive(overrides, contracts, prices, seed, vendors)


def apply_overrides(store: "Store", overrides: dict[str, dict], imports_version: str) -> None:
    """Put the seed plus steward imports into ``deployments`` and refresh ``facts`` with it, in
    one transaction: a reader never sees deployments and facts that disagree."""
    deployments = _merged_deployments(_seed_records(store.data_dir), overrides)
    sources = store.query_df("SELECT * FROM sources") if "sources" in store.tables() else \
        pd.DataFrame(columns=["url", "kind"])
    derived = _imported_contract_tables(store.data_dir, overrides)
    cur = store.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        _register_and_replace(cur, "deployments", deployments)
        _register_and_replace(cur, "facts", _facts_frame(deployments, sources))
        if derived is not None:  # the imports' contract and price records, with the deployments
            _register_and_replace(cur, "contracts", derived[0])
            _register_and_replace(cur, "price_items", derived[1])
        cur.execute("INSERT OR REPLACE INTO meta VALUES ('imports_version', ?), ('imports_applied', ?)",
                    [imports_version, str(len(overrides))])
        cur.execute("COMMIT")
    except BaseException:
        try:
            cur.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    finally:
        cur.close()
    try:
        store.con.execute("CHECKPOINT")
    except duckdb.Error:
        pass
    store.writes += 1
    store.invalidate()


def build(path: Path | str | None = None, data_dir: Path | None = None, force: bool = False,
          progress=None, *, record: Record | None = None) -> BuildReport:
    """(Re)build the reference tables from ``data/``, with the steward imports of ``record``
    (the users' record beside ``path`` when not given) applied on top. Idempotent.

    The users' record is read, never written. ``force`` replaces a reference file that cannot be
    opened, after moving it to a timestamped backup; it refuses a file that is not Piggyback's.
    ``progress(fraction, message)`` is called as the work goes on.
    """
    started = time.perf_counter()
    path = Path(path) if path else default_db_path()
    data_dir = Path(data_dir) if data_dir else DATA_DIR
    say = progress or (lambda f, m: None)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.is_dir():
        raise StoreError(f"{path} is a folder, not a database file.")
    if path.exists() and path.stat().st_size > 0:
        kind = _is_piggyback_store(path)
        if kind is False:
            raise StoreError(f"{path} is not a Piggyback database, so it is left as it is. Name a new file "
                             "(or Piggyback's own) to build into.")
        if kind is None:
            if not force:
                raise StoreCorrupt(f"The database {path} is damaged. Rebuild it with `python -m piggyback build "
                                   "--force` (the damaged file is kept as a backup).")
            backup_file(path)
        elif force:
            backup_file(path)
    own_record = record is None
    if own_record:
        record = open_record(path, read_only=True, allow_snapshot=True)
    try:
        overrides = record.overrides()
        imports_version = record.imports_version()
    finally:
        if own_record:
            record.close()

    say(0.05, "Reading census tables")
    jur = census.load_jurisdictions(data_dir / "census")
    say(0.45, "Reading peer deployments")
    records = _seed_records(data_dir)

    extra: dict[str, pd.DataFrame] = {}
    assumptions = []
    for csv_path in sorted(data_dir.rglob("*.csv")):
        rel = csv_path.relative_to(data_dir)
        if rel.parts[0] == "census" or rel == Path("peers/deployments.csv"):
            continue
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False).replace("", None)
        if rel.parts[0] == "assumptions":
            assumptions.append(frame)
        else:
            extra[csv_path.stem] = frame
    if assumptions:
        frame = pd.concat(assumptions, ignore_index=True)
        for col in ("value", "low", "high"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
        extra["assumptions"] = frame
    for name, frame in extra.items():
        for col in NUMERIC_COLUMNS.get(name, ()):
            if col in frame.columns:
                frame[col] = pd.to_numeric(frame[col], errors="coerce")
    derived = _imported_contract_tables(data_dir, overrides) if overrides else None
    if derived is not None:
        extra["contracts"], extra["price_items"] = derived

    say(0.6, "Writing the database")
    con = duckdb.connect(str(path))
    try:
        cur = con.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            _register_and_replace(cur, "jurisdictions", jur)
            deployments = _merged_deployments(records, overrides)
            _register_and_replace(cur, "deployments", deployments)
            for name, frame in extra.items():
                _register_and_replace(cur, name, frame)
            sources = extra.get("sources", pd.DataFrame(columns=["url", "kind"]))
            _register_and_replace(cur, "facts", _facts_frame(deployments, sources))
            cur.execute("CREATE OR REPLACE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
            data_hash = _data_hash(data_dir)
            cur.executemany("INSERT INTO meta VALUES (?, ?)", [
                ["schema_version", str(SCHEMA_VERSION)], ["built_at", dt.datetime.now().isoformat(timespec="seconds")],
                ["data_hash", data_hash], ["imports_applied", str(len(overrides))],
                ["imports_version", imports_version]])
            cur.execute("COMMIT")
        except BaseException:
            try:
                cur.execute("ROLLBACK")
            except duckdb.Error:
                pass  # keep the first error (e.g. no space left on device), not the rollback's
            raise
        try:
            cur.execute("CHECKPOINT")
        except duckdb.Error:
            pass
        counts = {
            "Canadian municipalities": int((jur["country"] == "CA").sum()),
            "US counties": int(((jur["country"] == "US") & jur["geo_id"].str.startswith("US-CO-")).sum()),
            "US states": int(jur["geo_id"].str.startswith("US-ST-").sum()),
            "US cities and towns": int(jur["geo_id"].str.startswith(("US-PL-", "US-MCD-")).sum()),
            "peer deployments": len(deployments),
        }
        for name in sorted(extra):
            counts[name] = len(extra[name])
    finally:
        con.close()
    say(1.0, "Done")
    return BuildReport(counts=counts, seconds=time.perf_counter() - started, data_hash=data_hash)
