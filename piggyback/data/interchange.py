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
import os
import re
import stat
import zipfile
from pathlib import Path
from xml.parsers import expat

import pandas as pd
from pydantic import ValidationError

from piggyback.data.census import fold
from piggyback.core.errors import ImportRejected, PiggybackError
from piggyback.data.lookup import find_agencies
from piggyback.core.models import Deployment
from piggyback.core.identity import User, actor, require
from piggyback.data.store import Store, deployment_from_row
from piggyback.data.contract_import import CONTRACT_COLUMNS, TERMS_KEY, parse_terms

# The research file's columns, in its order, then the store's own.
STEWARD_COLUMNS = [
    "jurisdiction", "region", "country", "population", "population_year", "vendor", "product", "modules",
    "replaced_system", "procurement_method", "rfp_issued", "contract_award", "go_live", "contract_value",
    "currency", "contract_term_years", "notes", "source_urls", "confidence",
]
EXTRA_COLUMNS = ["deployment_id", "geo_id", "module_codes", "vehicle"]
ALL_COLUMNS = ["deployment_id", "geo_id", *STEWARD_COLUMNS, "module_codes", "vehicle"]
REQUIRED = ["jurisdiction", "region", "country", "confidence"]
# Accepted on import only: the contract's other facts and its price lines (piggyback.data.contract_import).
IMPORT_COLUMNS = [*ALL_COLUMNS, *CONTRACT_COLUMNS]

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
# A workbook is read only within these bounds, checked before and while it is parsed, never from
# what the file says about itself (its declared sheet size can lie): a 180 KB file may unpack to
# gigabytes.
MAX_COLUMNS = 200  # a value beyond this column refuses the file
MAX_SHEET_ROW = 100_000  # the data (blank rows between included) must end above this row
MAX_CELLS = 500_000  # cells holding a value on the sheet read
MAX_UNPACKED = 50_000_000  # all the workbook's parts together, unpacked
MAX_PARTS = 1_000  # files inside the workbook
MAX_CENTRAL_DIRECTORY = 512 * 1024  # the zip's table of contents, read before it is parsed
MAX_RATIO = 100  # unpacked / packed size of any part over RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
MAX_XML_ELEMENTS = 1_000_000  # XML elements in all parts together, empty rows and cells included
MAX_UNSIZED_ELEMENTS = 200_000  # the same, in sheets with no <dimension> (openpyxl parses those twice)
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


def _too_big(size: int) -> str:
    return f"the file is {size / 1e6:.1f} MB; the limit is {MAX_BYTES // 1_000_000} MB"


def _read_rows(data: bytes, name: str) -> tuple[list[str], list[dict], list[int]]:
    """Header, rows as text dicts, and each row's number in the file (the header is row 1).

    Reading stops as soon as a limit is passed, so a hostile file costs no more than a large one.
    """
    if len(data) > MAX_BYTES:
        raise ImportRejected([(None, None, _too_big(len(data)))], name)
    if not data.strip():
        raise ImportRejected([(None, None, "the file is empty")], name)
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        header, rows, numbers, problems = _xlsx_rows(data, name)
    elif suffix == ".csv":
        header, rows, numbers, problems = _csv_rows(data, name)
    else:
        raise ImportRejected([(None, None, f"import a .csv or .xlsx file, not {suffix or 'a file without extension'}")], name)
    missing = [c for c in REQUIRED if c not in header]
    extra = [c for c in header if c not in IMPORT_COLUMNS]
    dupes = sorted({c for c in header if header.count(c) > 1})
    if missing:
        problems.append((None, None, f"missing column(s): {', '.join(missing)}"))
    if extra:
        problems.append((None, None, f"unknown column(s): {', '.join(extra)}; the columns are {', '.join(ALL_COLUMNS)}"))
    if dupes:
        problems.append((None, None, f"repeated column(s): {', '.join(dupes)}"))
    if problems:
        raise ImportRejected(problems, name)
    return header, rows, numbers


def _too_many_rows() -> tuple[None, None, str]:
    return (None, None, f"more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,}")


def _csv_rows(data: bytes, name: str):
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ImportRejected([(None, None, "the file is UTF-16; save it as CSV UTF-8")], name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected([(None, None, f"the file is not UTF-8 text (byte {exc.start}); "
                                          "save it as 'CSV UTF-8' and try again")], name) from None
    if "\x00" in text:
        raise ImportRejected([(None, None, "the file holds binary data, not CSV text")], name)
    problems: list[tuple[int | None, str | None, str]] = []
    rows, numbers = [], []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ImportRejected([(None, None, "the file is empty")], name)
        header = [h.strip() for h in header]
        if len(header) > MAX_COLUMNS:
            raise ImportRejected([(None, None, f"the header has {len(header):,} columns; the limit is {MAX_COLUMNS}")], name)
        for line, cells in enumerate(reader, start=2):  # a record's number, as a spreadsheet shows it
            if line > MAX_SHEET_ROW:
                raise ImportRejected([(None, None, f"more than {MAX_SHEET_ROW:,} lines, blank ones included; "
                                                  f"the limit is {MAX_ROWS:,} rows")], name)
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                problems.append((line, None, f"{len(cells)} cells but the header has {len(header)}"))
                continue
            rows.append(dict(zip(header, cells + [""] * (len(header) - len(cells)))))
            numbers.append(line)
            if len(rows) > MAX_ROWS:
                return header, rows, numbers, [_too_many_rows()]
    except csv.Error as exc:
        raise ImportRejected([(None, None, f"the CSV cannot be parsed ({exc})")], name) from None
    return header, rows, numbers, problems


def _zip_directory_size(data: bytes) -> int | None:
    """The size of the zip's central directory as its end record states it (what ``zipfile``
    will read), found the way ``zipfile`` finds it; None if there is no end record."""
    pos = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if pos < 0 or len(data) - pos < 22:
        return None
    size = int.from_bytes(data[pos + 12:pos + 16], "little")
    locator = pos - 20
    if locator >= 56 and data[locator:locator + 4] == b"PK\x06\x07" and data[locator - 56:locator - 52] == b"PK\x06\x06":
        size = int.from_bytes(data[locator - 16:locator - 8], "little")  # the zip64 end record's field
    return size


_NESTED = (".zip", ".xlsx", ".xlsm", ".xlsb", ".xls", ".docx", ".docm", ".pptx", ".jar", ".gz", ".7z", ".rar", ".tar")


def _open_workbook_archive(data: bytes, name: str) -> zipfile.ZipFile:
    """The workbook as a zip archive whose parts passed the size, count, ratio and name checks."""
    def refuse(reason: str):
        raise ImportRejected([(None, None, reason)], name)

    directory = _zip_directory_size(data)
    if directory is None:
        refuse("the workbook cannot be read (it is not a complete .xlsx file)")
    if directory > MAX_CENTRAL_DIRECTORY:
        refuse(f"the workbook lists too many parts; the limit is {MAX_PARTS:,}")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:
        refuse(f"the workbook cannot be read ({exc})")
    infos = zf.infolist()
    if len(infos) > MAX_PARTS:
        refuse(f"the workbook holds {len(infos):,} parts; the limit is {MAX_PARTS:,}")
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        refuse("the workbook holds two parts with the same name; save it again from the spreadsheet program")
    for info in infos:
        part = info.filename
        if info.flag_bits & 0x1:
            refuse("the workbook is password-protected; save it without a password and try again")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            refuse(f"the workbook part {part!r} uses an unsupported compression; save it again as .xlsx")
        if part.startswith(("/", "\\")) or "\\" in part or "\x00" in part or ".." in part.split("/"):
            refuse(f"the workbook has a part with an unsafe name ({part!r}); save it again as .xlsx")
        if part.lower().endswith(_NESTED):
            refuse(f"the workbook embeds another file ({part}); copy the data into a new workbook")
    unpacked = sum(i.file_size for i in infos)
    if unpacked > MAX_UNPACKED:
        refuse(f"the workbook unpacks to {unpacked / 1e6:,.0f} MB; the limit is {MAX_UNPACKED // 1_000_000} MB")
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            refuse(f"the workbook part {info.filename} is compressed {info.file_size / max(info.compress_size, 1):,.0f} "
                   f"to 1; the limit is {MAX_RATIO} to 1 (it holds mostly empty space, such as millions of blank rows)")
    return zf


class _SheetScan:
    """What a worksheet part really holds, counted while streaming through its XML."""

    __slots__ = ("last_row", "last_col", "cells", "rows", "problem", "elements", "unsized")

    def __init__(self):
        self.last_row = self.last_col = self.cells = self.rows = self.elements = 0
        self.problem: str | None = None
        self.unsized = False  # a sheet with no <dimension> before its data: openpyxl parses it whole on opening


class _Unreadable(Exception):
    pass


class _OverBudget(Exception):
    pass


class _UnsizedOverBudget(Exception):
    pass


_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?\d+")


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _column_letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "
# Element kinds as openpyxl's sheet reader knows them: its own namespace (or none) only.
_ROW, _CELL, _VALUE, _DIMENSION, _SHEET_DATA = 1, 2, 3, 4, 5
_KINDS = {t: k for local, k in (("row", _ROW), ("c", _CELL), ("v", _VALUE), ("f", _VALUE), ("is", _VALUE),
                                ("dimension", _DIMENSION), ("sheetData", _SHEET_DATA))
          for t in (local, _MAIN_NS + local)}
_CELL_TAGS = frozenset(("c", _MAIN_NS + "c"))


def _scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, remaining: int,
               unsized_left: int) -> tuple[_SheetScan, int]:
    """Stream one part through expat, counting every element against ``remaining`` (the budget
    all parts share) and, for worksheet rows and cells, noting where the values are, so the
    reader never pads to a declared size. A part that is not XML stops at its first bytes
    (openpyxl parses the XML parts with the same expat). A sheet with no <dimension> before its
    data may hold at most ``unsized_left`` elements. Returns the scan and what is left."""
    scan = _SheetScan()
    parser = expat.ParserCreate(namespace_separator=" ")
    row = col = 0
    in_cell = cell_has_value = row_has_value = sized = False
    budget = remaining

    def refuse_dtd(*_):
        raise _Unreadable("it declares a document type, which workbooks never do")

    def start(tag, attrs):
        nonlocal remaining, row, col, in_cell, cell_has_value, row_has_value, sized
        remaining -= 1
        if remaining < 0:
            raise _OverBudget
        if scan.unsized and budget - remaining > unsized_left:
            raise _UnsizedOverBudget
        kind = _KINDS.get(tag)
        if kind is None:
            return
        if kind == _CELL:
            ref = attrs.get("r")
            if ref:
                m = _CELL_REF.fullmatch(ref)
                if m is None:
                    raise _Unreadable(f"cell reference {ref[:20]!r}")
                col = _column_number(m.group(1))
            else:
                col += 1
            in_cell, cell_has_value = True, False
        elif kind == _ROW:
            ref = attrs.get("r")
            if ref:
                try:
                    row = int(ref)
                except ValueError:
                    try:
                        number = float(ref)
                    except ValueError:
                        number = 0.5
                    if not number.is_integer():
                        raise _Unreadable(f"row number {ref[:20]!r}") from None
                    row = int(number)
            else:
                row += 1
            col, in_cell, row_has_value = 0, False, False
        elif kind == _DIMENSION:
            sized = True
        elif kind == _SHEET_DATA:
            scan.unsized = not sized
        elif in_cell and not cell_has_value:
            cell_has_value = True
            scan.cells += 1
            if not row_has_value:
                row_has_value = True
                scan.rows += 1
            scan.last_row = max(scan.last_row, row)
            scan.last_col = max(scan.last_col, col)
            if scan.problem is None:
                if col > MAX_COLUMNS:
                    scan.problem = (f"there is a value in column {_column_letters(col)} (row {row:,}); "
                                    f"the limit is {MAX_COLUMNS} columns")
                elif row > MAX_SHEET_ROW:
                    scan.problem = (f"there is a value on row {row:,}; the data must end within the "
                                    f"first {MAX_SHEET_ROW:,} rows")
                elif scan.rows > MAX_ROWS + 1:
                    scan.problem = f"more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,}"
                elif scan.cells > MAX_CELLS:
                    scan.problem = f"more than {MAX_CELLS:,} filled cells; the limit is {MAX_CELLS:,}"

    def end(tag):
        nonlocal in_cell
        if tag in _CELL_TAGS:
            in_cell = False

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    try:
        with zf.open(info) as f:
            while chunk := f.read(1 << 16):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except expat.ExpatError:
        pass  # not XML (an image, say), or broken XML that openpyxl will refuse in turn
    scan.elements = budget - remaining
    return scan, remaining


def _count_tags(zf: zipfile.ZipFile) -> int:
    """An upper bound on the elements in all parts, counted at C speed before any is parsed: each
    element opens with one '<' not followed by '/' (comments and the like only add to it)."""
    total = 0
    for info in zf.infolist():
        last = b""
        with zf.open(info) as f:
            while chunk := f.read(1 << 20):
                total += chunk.count(b"<") - chunk.count(b"</") - (last == b"<" and chunk[:1] == b"/")
                last = chunk[-1:]
        if total > MAX_XML_ELEMENTS:
            break
    return total


def _scan_workbook(zf: zipfile.ZipFile, name: str) -> dict[str, _SheetScan]:
    over_budget = ImportRejected([(None, None, f"the workbook holds more than {MAX_XML_ELEMENTS:,} cells and rows, "
                                               "empty ones included; delete the empty rows and columns "
                                               "around the data, or save it as CSV")], name)
    try:
        if _count_tags(zf) > MAX_XML_ELEMENTS:
            raise over_budget
    except ImportRejected:
        raise
    except Exception as exc:  # a broken part: bad CRC, truncated data
        raise ImportRejected([(None, None, f"the workbook cannot be read ({exc})")], name) from None
    remaining, unsized_left = MAX_XML_ELEMENTS, MAX_UNSIZED_ELEMENTS
    scans = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        try:
            scan, remaining = _scan_part(zf, info, remaining, unsized_left)
            scans[info.filename] = scan
            if scan.unsized:
                unsized_left -= scan.elements
        except _UnsizedOverBudget:
            raise ImportRejected([(None, None, f"the workbook's sheets do not state their size and hold more than "
                                              f"{MAX_UNSIZED_ELEMENTS:,} cells and rows, empty ones included; save it "
                                              "again from Excel or LibreOffice, or as CSV")], name) from None
        except _OverBudget:
            raise over_budget from None
        except _Unreadable as exc:
            raise ImportRejected([(None, None, f"the workbook cannot be read ({info.filename}: {exc})")], name) from None
        except Exception as exc:  # a broken part: bad CRC, truncated data
            raise ImportRejected([(None, None, f"the workbook cannot be read ({exc})")], name) from None
    return scans


def _cell_text(c) -> str:
    if c is None:
        return ""
    if isinstance(c, str):
        return c
    if isinstance(c, (dt.date, dt.datetime)):
        return c.isoformat()[:10]
    if isinstance(c, float) and c.is_integer():
        return str(int(c))
    kind = type(c).__name__  # openpyxl's array and data-table formulas are objects, not text
    if kind == "ArrayFormula":
        return str(c.text or "=")
    if kind == "DataTableFormula":
        return "=TABLE()"
    return str(c)


def _xlsx_rows(data: bytes, name: str):
    if not data.startswith(b"PK"):
        raise ImportRejected([(None, None, "the file is not an Excel workbook (.xlsx)")], name)
    with _open_workbook_archive(data, name) as zf:
        scans = _scan_workbook(zf, name)
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:
        raise ImportRejected([(None, None, f"the workbook cannot be read ({exc})")], name) from None
    try:
        if not wb.worksheets:
            raise ImportRejected([(None, None, "the workbook has no sheet")], name)
        ws = wb.worksheets[0]
        scan = scans.get(getattr(ws, "_worksheet_path", ""))
        if scan is None:
            raise ImportRejected([(None, None, "the workbook's first sheet cannot be found")], name)
        if scan.problem:
            raise ImportRejected([(None, None, f"the workbook's first sheet: {scan.problem}")], name)
        if scan.last_row == 0:
            raise ImportRejected([(None, None, "the workbook's first sheet is empty")], name)
        return _sheet_rows(ws, scan, name)
    except ImportRejected:
        raise
    except Exception as exc:
        raise ImportRejected([(None, None, f"the workbook cannot be read ({exc})")], name) from None
    finally:
        wb.close()


def _sheet_rows(ws, scan: _SheetScan, name: str):
    """Rows 1..last row with a value and columns 1..last column with one, as the scan found them:
    the sheet's declared dimension is never used, and rows after the data are never parsed."""
    problems: list[tuple[int | None, str | None, str]] = []
    header: list[str] = []
    rows, numbers = [], []
    cells_iter = ws.iter_rows(min_row=1, max_row=scan.last_row, min_col=1, max_col=scan.last_col, values_only=True)
    for number, cells in enumerate(cells_iter, start=1):
        if number == 1:
            header = [_cell_text(c).strip() for c in cells]
            while header and header[-1] == "":
                header.pop()
            continue
        if cells.count(None) == len(cells):
            continue
        texts = [_cell_text(c) for c in cells]
        if all(t.strip() == "" for t in texts):
            continue
        beyond = next((i for i in range(len(texts) - 1, len(header) - 1, -1) if texts[i].strip()), None)
        if beyond is not None:
            problems.append((number, None, f"a value in column {_column_letters(beyond + 1)}, "
                                           f"beyond the header's {len(header)} columns"))
            continue
        rows.append(dict(zip(header, texts)))
        numbers.append(number)
        if len(rows) > MAX_ROWS:
            return header, rows, numbers, [_too_many_rows()]
    return header, rows, numbers, problems


# What a spreadsheet program would run rather than show, in a cell starting with + - or @
# (one starting with = is always refused): a plain number such as -5 or +1,200.50 is a number;
# prose such as "- see note" or "-5% on renewal; +2 modules" is text.
_PLAIN_NUMBER = re.compile(r"[+-]?\s*(?=\.?\d)(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?%?")
_ACTIVE = re.compile(
    r"\|"  # a DDE call: +cmd|' /C calc'!A0
    r"|!\$?[A-Za-z]{1,3}\$?\d"  # a reference into another sheet or file: Sheet1!A1
    r"|[A-Za-z_][\w.]*\("  # a function call: SUM(, HYPERLINK(
)
_OPERAND = r"(?:\d+(?:\.\d+)?%?|\.\d+%?|\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)"
_ARITHMETIC = re.compile(  # numbers and cell references joined by operators: -2+3, +A1*2
    rf"[-+@]+\s*\(*\s*{_OPERAND}\s*\)*(?:\s*(?:<=|>=|<>|[-+*/^&<>=])\s*[-+]*\s*\(*\s*{_OPERAND}\s*\)*)*")


def _formula_reason(value: str) -> str | None:
    """Why a cell's text is refused as a spreadsheet formula, or None if it is a plain value.
    Leading tabs and carriage returns are looked through: some programs drop them and run the rest."""
    text = value.lstrip("\t\r\n ")
    if not text:
        return None
    if text[0] == "=":
        return "spreadsheet formulas are not accepted; type the value itself"
    if text[0] not in "+-@":
        return None
    if _PLAIN_NUMBER.fullmatch(text):
        return None
    if _ACTIVE.search(text) or _ARITHMETIC.fullmatch(text):
        return (f"{_shown(text)} reads as a spreadsheet formula; spreadsheet formulas are not accepted: "
                f"type the value itself, without the leading {text[0]!r}")
    return None


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:39] + "…")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")[:70] or "peer"


def validate_rows(store: Store, rows: list[dict], numbers: list[int], name: str,
                  terms: dict[str, dict] | None = None) -> list[Deployment]:
    """Every row checked; raises ImportRejected listing (row, column, reason) for all bad ones.
    ``terms``, when given, receives each deployment's checked contract columns (by id)."""
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
            reason = _formula_reason(value) if isinstance(value, str) and col not in _NUMERIC else None
            if reason:
                problems.append((number, col, reason))
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
        contract_cells = {c: row.pop(c) for c in CONTRACT_COLUMNS if c in row}
        try:
            if not row.get("deployment_id"):
                from piggyback.core.models import normalize_country

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
        row_terms, term_problems = parse_terms(contract_cells, record.contract_award, record.currency)
        if term_problems:
            problems.extend((number, col, msg) for col, msg in term_problems)
            continue
        if terms is not None:
            terms[record.deployment_id] = row_terms
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


def import_bytes(store: Store, data: bytes, name: str, *, user: User | None = None) -> dict:
    """Validate every row, then save them as steward imports in the users' record (one audited
    transaction) and apply them to the reference store (deployments and facts together, in one
    transaction). Returns counts; raises ImportRejected (nothing written) or PermissionDenied.

    The record is the truth: if the process stops between the two writes, the next start sees
    a newer import than the reference store holds and applies it (``Store.apply_new_imports``).
    """
    user = actor(user)
    require(user, "data.import")
    store.require_writable()
    _, rows, numbers = _read_rows(data, name)
    terms: dict[str, dict] = {}
    records = validate_rows(store, rows, numbers, name, terms=terms)
    vendor_table = store.table("vendors") if "vendors" in store.tables() else None
    canonical, unknown = _canonical_vendors(records, vendor_table)
    for dep_id, name_ in canonical.items():
        terms.setdefault(dep_id, {})["canonical_vendor"] = name_
    earlier = store.record.overrides()  # contract facts of an earlier import stay unless restated
    for rec in records:
        old = (earlier.get(rec.deployment_id) or {}).get(TERMS_KEY) or {}
        if old:
            terms[rec.deployment_id] = {**old, **terms.get(rec.deployment_id, {})}
    if not records:
        raise ImportRejected([(None, None, "the file has a header but no rows")], name)
    digest = hashlib.sha256(data).hexdigest()
    existing = set(store.query_df("SELECT deployment_id FROM deployments")["deployment_id"])

    def work(tx):
        now = dt.datetime.now()
        for rec in records:
            tx.execute("DELETE FROM deployment_overrides WHERE deployment_id = ?", [rec.deployment_id])
            whole = rec.model_dump()
            if terms.get(rec.deployment_id):  # the row's contract facts, kept with it (piggyback.data.contract_import)
                whole[TERMS_KEY] = terms[rec.deployment_id]
            tx.execute("INSERT INTO deployment_overrides (deployment_id, record, ts, who) VALUES (?, ?, ?, ?)",
                       [rec.deployment_id, json.dumps(whole), now, user.id])
        inserted = sum(1 for r in records if r.deployment_id not in existing)
        detail = {"file": Path(name).name, "sha256": digest, "rows": len(records),
                  "inserted": inserted, "updated": len(records) - inserted,
                  "contract_rows": sum(1 for r in records if terms.get(r.deployment_id, {}).keys() - {"canonical_vendor"}),
                  "unknown_vendors": unknown}
        return detail, detail

    detail = store.record.write("import", work, user)
    store.apply_new_imports()
    return detail


def _canonical_vendors(records: list[Deployment], table) -> tuple[dict[str, str], list[str]]:
    """Each record's canonical vendor ({deployment_id: name}) and the vendor names the vendors
    table does not know (reported to the steward, never guessed)."""
    from piggyback.data.vendors import VendorIndex

    if table is None:
        return {}, []
    index = VendorIndex(table)
    found, unknown = {}, []
    for rec in records:
        if not rec.vendor:
            continue
        hit = index.lookup(rec.vendor) or index.lookup(re.split(r" \(| - |;", rec.vendor)[0])
        if hit:
            found[rec.deployment_id] = hit[1]
        elif rec.vendor not in unknown:
            unknown.append(rec.vendor)
    return found, unknown


def unknown_vendor_message(detail: dict) -> str | None:
    """A sentence for the steward when an import names vendors Piggyback does not know."""
    names = detail.get("unknown_vendors") or []
    if not names:
        return None
    return (f"{len(names)} vendor name(s) are not in the vendors list, so they are kept as written and not "
            f"matched to a known vendor: {', '.join(names)}. Add them to data/peers/vendors.csv as a new "
            "vendor or as an alias of a known one.")


def _read_import_file(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES. Devices (/dev/zero), pipes, sockets and
    folders are refused before anything is read; the size is checked from the file's metadata,
    then again while reading (at most MAX_BYTES + 1 bytes), so a file that grows cannot slip past."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise PiggybackError(f"No file at {path}.") from None
    except OSError as exc:
        raise PiggybackError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    _check_regular(info.st_mode, path)
    if info.st_size > MAX_BYTES:
        raise ImportRejected([(None, None, _too_big(info.st_size))], str(path))
    try:  # O_NONBLOCK: if the path was swapped for a pipe since the check, opening must not hang
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise PiggybackError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    with os.fdopen(fd, "rb") as f:
        _check_regular(os.fstat(f.fileno()).st_mode, path)  # the file opened is the file checked
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImportRejected([(None, None, f"the file is over {MAX_BYTES // 1_000_000} MB; the limit is "
                                          f"{MAX_BYTES // 1_000_000} MB")], str(path))
    return data


def _check_regular(mode: int, path: Path) -> None:
    if stat.S_ISDIR(mode):
        raise ImportRejected([(None, None, "this is a folder; give the .csv or .xlsx file inside it")], str(path))
    if not stat.S_ISREG(mode):
        kind = ("a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a pipe" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise ImportRejected([(None, None, f"this is {kind}, not a file; import a .csv or .xlsx file")], str(path))


def import_file(store: Store, path: str | Path, *, user: User | None = None) -> dict:
    path = Path(path)
    data = _read_import_file(path)
    return import_bytes(store, data, str(path), user=user)
