"""The data stewards' file: one flat row per deployment, CSV or XLSX, export then import is a round trip.

Import validates every row first and writes nothing unless all rows are valid (all-or-nothing),
then upserts in one transaction and records who imported which file (by hash) in the audit log.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from .census import fold
from .errors import ImportRejected, PiggybackError
from .lookup import find_agencies
from .models import Deployment
from .store import Store, current_user, deployment_from_row

# The research file's columns, in its order, then the store's own.
STEWARD_COLUMNS = [
    "jurisdiction", "region", "country", "population", "population_year", "vendor", "product", "modules",
    "replaced_system", "procurement_method", "rfp_issued", "contract_award", "go_live", "contract_value",
    "currency", "contract_term_years", "notes", "source_urls", "confidence",
]
EXTRA_COLUMNS = ["deployment_id", "geo_id", "module_codes", "vehicle"]
ALL_COLUMNS = ["deployment_id", "geo_id", *STEWARD_COLUMNS, "module_codes", "vehicle"]
REQUIRED = ["jurisdiction", "region", "country", "confidence"]

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
FORMULA_START = ("=", "+", "-", "@")
_NUMERIC = {"population", "population_year", "contract_value", "contract_term_years"}


def neutralize(value):
    """Spreadsheet-formula injection guard for exported text cells: '=cmd' -> "'=cmd"."""
    if isinstance(value, str) and value.startswith(FORMULA_START + ("\t", "\r")):
        return "'" + value
    return value


def _unneutralize(value: str) -> str:
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def deployments_table(store: Store) -> pd.DataFrame:
    df = store.query_df("SELECT * FROM deployments ORDER BY deployment_id")
    out = pd.DataFrame({c: df[c] if c in df else None for c in ALL_COLUMNS})
    for col in ("module_codes", "source_urls"):
        out[col] = out[col].map(lambda v: " ; ".join(v) if v is not None and len(v) else "")
    out["country"] = out["country"].map({"CA": "Canada", "US": "USA"})
    for col in ("population", "population_year"):
        out[col] = out[col].map(lambda v: "" if pd.isna(v) else str(int(v)))
    for col in ("contract_value", "contract_term_years"):
        out[col] = out[col].map(lambda v: "" if pd.isna(v) else (str(int(v)) if float(v).is_integer() else repr(float(v))))
    return out.fillna("")


def export_file(store: Store, path: str | Path) -> int:
    """Write every deployment to CSV or XLSX (by extension). Returns the row count."""
    path = Path(path)
    table = deployments_table(store).map(neutralize)
    if path.suffix.lower() == ".xlsx":
        table.to_excel(path, index=False, sheet_name="deployments")
    elif path.suffix.lower() == ".csv":
        table.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    else:
        raise PiggybackError(f"Export to .csv or .xlsx, not {path.suffix or 'a file without extension'}.")
    return len(table)


def _read_rows(data: bytes, name: str) -> tuple[list[str], list[dict], list[int]]:
    """Header, rows as text dicts, and each row's number in the file (the header is row 1)."""
    problems: list[tuple[int | None, str | None, str]] = []
    if not data.strip():
        raise ImportRejected([(None, None, "the file is empty")], name)
    if len(data) > MAX_BYTES:
        raise ImportRejected([(None, None, f"the file is {len(data) / 1e6:.1f} MB; the limit is {MAX_BYTES // 1_000_000} MB")], name)
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        if not data.startswith(b"PK"):
            raise ImportRejected([(None, None, "the file is not an Excel workbook (.xlsx)")], name)
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        except Exception as exc:
            raise ImportRejected([(None, None, f"the workbook cannot be read ({exc})")], name) from None
        ws = wb.worksheets[0]
        grid = [["" if c is None else c for c in row] for row in ws.iter_rows(values_only=True)]
        if not grid:
            raise ImportRejected([(None, None, "the workbook's first sheet is empty")], name)
        header = [str(h).strip() for h in grid[0]]
        rows, numbers = [], []
        for i, cells in enumerate(grid[1:], start=2):
            if all(str(c).strip() == "" for c in cells):
                continue
            rows.append({h: (c.isoformat()[:10] if isinstance(c, (dt.date, dt.datetime)) else
                             (str(int(c)) if isinstance(c, float) and c.is_integer() else str(c)))
                         for h, c in zip(header, cells)})
            numbers.append(i)
    elif suffix == ".csv":
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise ImportRejected([(None, None, "the file is UTF-16; save it as CSV UTF-8")], name)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportRejected([(None, None, f"the file is not UTF-8 text (byte {exc.start}); "
                                              "save it as 'CSV UTF-8' and try again")], name) from None
        if "\x00" in text:
            raise ImportRejected([(None, None, "the file holds binary data, not CSV text")], name)
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            grid = list(reader)
        except csv.Error as exc:
            raise ImportRejected([(None, None, f"the CSV cannot be parsed ({exc})")], name) from None
        if not grid:
            raise ImportRejected([(None, None, "the file is empty")], name)
        header = [h.strip() for h in grid[0]]
        rows, numbers = [], []
        line = 1
        for cells in grid[1:]:
            line += 1
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                problems.append((line, None, f"{len(cells)} cells but the header has {len(header)}"))
                continue
            rows.append(dict(zip(header, cells + [""] * (len(header) - len(cells)))))
            numbers.append(line)
    else:
        raise ImportRejected([(None, None, f"import a .csv or .xlsx file, not {suffix or 'a file without extension'}")], name)
    missing = [c for c in REQUIRED if c not in header]
    extra = [c for c in header if c not in ALL_COLUMNS]
    dupes = sorted({c for c in header if header.count(c) > 1})
    if missing:
        problems.append((None, None, f"missing column(s): {', '.join(missing)}"))
    if extra:
        problems.append((None, None, f"unknown column(s): {', '.join(extra)}; the columns are {', '.join(ALL_COLUMNS)}"))
    if dupes:
        problems.append((None, None, f"repeated column(s): {', '.join(dupes)}"))
    if len(rows) > MAX_ROWS:
        problems.append((None, None, f"{len(rows):,} rows; the limit is {MAX_ROWS:,}"))
    if problems:
        raise ImportRejected(problems, name)
    return header, rows, numbers


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")[:70] or "peer"


def validate_rows(store: Store, rows: list[dict], numbers: list[int], name: str) -> list[Deployment]:
    """Every row checked; raises ImportRejected listing (row, column, reason) for all bad ones."""
    problems: list[tuple[int | None, str | None, str]] = []
    existing = store.query_df("SELECT deployment_id, jurisdiction, region, country FROM deployments")
    by_key = {(fold(r.jurisdiction), r.region, r.country): r.deployment_id for r in existing.itertuples()}
    jur = store.jurisdictions()
    out: list[Deployment] = []
    seen: dict[str, int] = {}
    for row, number in zip(rows, numbers):
        row = {k: _unneutralize(v.strip()) if isinstance(v, str) else v for k, v in row.items()}
        bad = False
        for col, value in row.items():
            if isinstance(value, str) and value.startswith("=") and col not in _NUMERIC:
                problems.append((number, col, "spreadsheet formulas are not accepted; type the value itself"))
                bad = True
            elif col in _NUMERIC and value not in ("", None):
                try:
                    float(str(value).replace(",", ""))
                    row[col] = str(value).replace(",", "")
                except ValueError:
                    problems.append((number, col, f"{value!r} is not a number"))
                    bad = True
        if bad:
            continue
        try:
            if not row.get("deployment_id"):
                from .models import normalize_country

                country = normalize_country(row.get("country", ""))
                region = (row.get("region") or "").strip().upper()
                key = (fold(row.get("jurisdiction", "")), region, country)
                row["deployment_id"] = by_key.get(key) or _slug(f"{row.get('jurisdiction', '')}-{region}")
            record = deployment_from_row(row)
        except ValidationError as exc:
            for err in exc.errors():
                msg = err["msg"].removeprefix("Value error, ")
                col = str(err["loc"][0]) if err["loc"] else None
                if col is None:  # a check across columns names its column first
                    col = next((c for c in ALL_COLUMNS if msg.startswith(c)), None)
                    msg = msg.removeprefix("currency: ")
                problems.append((number, col, msg))
            continue
        except ValueError as exc:
            problems.append((number, "country", str(exc)))
            continue
        if record.deployment_id in seen:
            problems.append((number, "deployment_id", f"the same deployment is already on row {seen[record.deployment_id]}"))
            continue
        seen[record.deployment_id] = number
        if record.geo_id is None:
            plain = re.sub(r"^(city|town|township|municipality|county|village) of ", "", record.jurisdiction, flags=re.I)
            hits = find_agencies(jur, f"{plain}, {record.region}")
            hits = hits[hits["country"] == record.country]
            if len(hits) == 1:
                record = record.model_copy(update={"geo_id": hits.iloc[0]["geo_id"]})
        elif not (jur["geo_id"] == record.geo_id).any():
            problems.append((number, "geo_id", f"{record.geo_id!r} is not a known jurisdiction id"))
            continue
        out.append(record)
    if problems:
        raise ImportRejected(problems, name)
    return out


def import_bytes(store: Store, data: bytes, name: str, who: str | None = None) -> dict:
    """Validate then upsert all rows in one transaction. Returns counts; raises ImportRejected."""
    store.require_writable()
    _, rows, numbers = _read_rows(data, name)
    records = validate_rows(store, rows, numbers, name)
    if not records:
        raise ImportRejected([(None, None, "the file has a header but no rows")], name)
    digest = hashlib.sha256(data).hexdigest()
    existing = set(store.query_df("SELECT deployment_id FROM deployments")["deployment_id"])
    cur = store.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        now = dt.datetime.now()
        for rec in records:
            payload = rec.model_dump()
            cur.execute("DELETE FROM deployments WHERE deployment_id = ?", [rec.deployment_id])
            cols = list(payload)
            cur.execute(f"INSERT INTO deployments ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                        [payload[c] for c in cols])
            cur.execute("INSERT OR REPLACE INTO deployment_overrides VALUES (?, ?, ?)",
                        [rec.deployment_id, json.dumps(payload), now])
        inserted = sum(1 for r in records if r.deployment_id not in existing)
        detail = {"file": Path(name).name, "sha256": digest, "rows": len(records),
                  "inserted": inserted, "updated": len(records) - inserted}
        store.audit("import", detail, who=who or current_user(), cur=cur)
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    store.invalidate()
    _refresh_facts(store)
    return detail


def _refresh_facts(store: Store) -> None:
    from .store import _facts_frame, _register_and_replace

    deployments = store.query_df("SELECT * FROM deployments")
    deployments["module_codes"] = deployments["module_codes"].map(lambda v: list(v) if v is not None else [])
    deployments["source_urls"] = deployments["source_urls"].map(lambda v: list(v) if v is not None else [])
    cur = store.cursor()
    _register_and_replace(cur, "facts", _facts_frame(deployments, store.sources()))
    store.invalidate()


def import_file(store: Store, path: str | Path, who: str | None = None) -> dict:
    path = Path(path)
    if not path.exists():
        raise PiggybackError(f"No file at {path}.")
    if path.stat().st_size > MAX_BYTES:
        raise ImportRejected([(None, None, f"the file is {path.stat().st_size / 1e6:.1f} MB; the limit is {MAX_BYTES // 1_000_000} MB")], str(path))
    return import_bytes(store, path.read_bytes(), str(path), who=who)
