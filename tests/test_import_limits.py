"""Steward imports read hostile files within bounds (issue #17, security review).

Each bomb is built here, in code: a sheet whose declared size lies, a 180 KB workbook unpacking to
20 million empty rows, a part too large or too compressed, a sheet with a million empty elements.
Each must be refused (or, where it is legit, read) within 2 s and 200 MB of Python memory: the
acceptance figures of the issue; a legit one is then imported. Time and memory are measured in two separate runs, because
tracemalloc slows Python-level parsing several times over and would distort the time.

Also: only regular files are read, their size is checked before reading, and cells that read as
spreadsheet formulas are refused with their row and column named.
"""

from __future__ import annotations

import io
import os
import re
import random
import threading
import time
import tracemalloc
import warnings
import zipfile

import pytest
from openpyxl import Workbook
from openpyxl.worksheet.formula import ArrayFormula

from piggyback.data import interchange
from piggyback.core.errors import ImportRejected, PiggybackError
from piggyback.data.interchange import MAX_BYTES, MAX_ROWS, import_bytes, import_file

SECONDS = 2.0
PEAK_BYTES = 200_000_000

HEADER = ["jurisdiction", "region", "country", "vendor", "product", "go_live", "confidence", "source_urls", "notes"]
ROWS = [["City of Guelph", "ON", "Canada", "Example Vendor", "Example Permits", "2025-03", "medium",
         "https://guelph.ca/example", ""],
        ["Town of Milton", "ON", "Canada", "Other Vendor", "Other Permits", "2024", "low",
         "https://example.org/milton", ""]]
SHEET = "xl/worksheets/sheet1.xml"


# -- building the files ---------------------------------------------------------------------------

def workbook_bytes(rows=ROWS, header=HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "deployments"
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rebuild(data: bytes, sheet=None, extra=(), sheet_chunks=None, level=None) -> bytes:
    """A copy of workbook ``data``: the sheet XML changed by ``sheet`` (bytes -> bytes), or with the
    byte chunks from ``sheet_chunks`` streamed in before </sheetData> (never held whole in memory),
    plus ``extra`` parts (name, bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename != SHEET:
                dst.writestr(info.filename, body)
                continue
            if sheet:
                body = sheet(body)
            if sheet_chunks is None:
                dst.writestr(SHEET, body)
                continue
            head, tail = body.split(b"</sheetData>")
            with dst.open(SHEET, "w", force_zip64=True) as f:
                f.write(head)
                for chunk in sheet_chunks:
                    f.write(chunk)
                f.write(b"</sheetData>" + tail)
        for name, body in extra:
            dst.writestr(name, body)
    return out.getvalue()


def set_dimension(ref: str | None):
    """Replace the sheet's <dimension> (openpyxl writes the true one) by ``ref``, or drop it."""
    new = b"" if ref is None else f'<dimension ref="{ref}"/>'.encode()
    return lambda body: re.sub(rb'<dimension ref="[^"]*" ?/>', new, body)


def compressed_empty_rows_bomb(rows=20_000_000) -> bytes:
    """The review's bomb: about 180 KB on disk, 20 million empty <row/> elements once unpacked."""
    block = b"<row/>" * 100_000
    return rebuild(workbook_bytes(), sheet=set_dimension(None),
                   sheet_chunks=(block for _ in range(rows // 100_000)), level=9)


def varied_empty_rows(count: int, seed=7):
    """Empty rows whose heights vary, so the XML compresses only about 10 to 1, like real sheets:
    these pass the size and ratio checks and must be stopped while parsing."""
    rnd = random.Random(seed)
    block = b"".join(b'<row ht="%d" customHeight="1"/>' % rnd.randrange(100) for _ in range(10_000))
    return (block for _ in range(count // 10_000))


def inline_cell(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


# -- measuring --------------------------------------------------------------------------------------

def measured(call):
    """(outcome, seconds, peak bytes): ``call()``'s result or the ImportRejected it raised, the
    wall time of an untraced run, and the tracemalloc peak of a second run."""
    def run():
        try:
            return call()
        except ImportRejected as exc:
            return exc

    start = time.perf_counter()
    outcome = run()
    seconds = time.perf_counter() - start
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    run()
    peak = tracemalloc.get_traced_memory()[1] - base
    if not was_tracing:
        tracemalloc.stop()
    return outcome, seconds, peak


def assert_refused(outcome, *phrases):
    assert isinstance(outcome, ImportRejected), f"imported: {outcome!r}"
    for phrase in phrases:
        assert phrase in str(outcome)


def assert_within_bounds(seconds, peak):
    assert seconds < SECONDS, f"took {seconds:.2f} s"
    assert peak < PEAK_BYTES, f"peak {peak / 1e6:.0f} MB"


def read_file(data: bytes, name: str):
    """What the import reads from a file, before validating and writing: the part a bomb attacks.
    (Timing a whole successful import would time the database write of two rows as well.)"""
    return interchange._read_rows(data, name)


def snapshot(store):
    return store.query_df("SELECT * FROM deployments ORDER BY deployment_id").to_json()


# -- workbook bombs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("tail", [b"", b'<row r="20000"/>'], ids=["three-rows", "empty-row-20000"])
def test_a_lying_dimension_imports_the_real_rows_fast(writable_store, tail):
    """<dimension ref="A1:XFD20000"/> over three real rows: before, the 16,384 declared columns
    were read as blank header cells (refused, 'unknown column(s): , , ,'), and with an empty row
    at 20000 the import padded every row to 16,384 cells: 50 s and 2.7 GB."""
    data = rebuild(workbook_bytes(), sheet=lambda b: set_dimension("A1:XFD20000")(b).replace(
        b"</sheetData>", tail + b"</sheetData>"))
    outcome, seconds, peak = measured(lambda: read_file(data, "lying.xlsx"))
    assert not isinstance(outcome, ImportRejected), str(outcome)
    header, rows, numbers = outcome
    assert header == HEADER and numbers == [2, 3] and rows[1]["jurisdiction"] == "Town of Milton"
    assert_within_bounds(seconds, peak)
    assert import_bytes(writable_store, data, "lying.xlsx")["rows"] == 2
    assert writable_store.deployment("town-of-milton-on").vendor == "Other Vendor"


def test_the_compressed_empty_rows_bomb_is_refused_fast(writable_store):
    """180 KB holding 20 M empty rows: before, it passed the 5 MB limit and ran past 150 s at 2 GB."""
    data = compressed_empty_rows_bomb()
    assert len(data) < 250_000
    before = snapshot(writable_store)
    outcome, seconds, peak = measured(lambda: import_bytes(writable_store, data, "bomb.xlsx"))
    assert_refused(outcome, "unpacks to 120 MB", "limit is 50 MB")
    assert_within_bounds(seconds, peak)
    assert snapshot(writable_store) == before


def test_an_oversized_part_is_refused_before_it_is_unpacked(writable_store):
    def zeros():
        for _ in range(60):
            yield b"\0" * (1 << 20)

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook_bytes())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        with dst.open("xl/media/image1.png", "w", force_zip64=True) as f:
            for chunk in zeros():
                f.write(chunk)
    data = out.getvalue()
    outcome, seconds, peak = measured(lambda: import_bytes(writable_store, data, "big-part.xlsx"))
    assert_refused(outcome, "unpacks to 63 MB")
    assert_within_bounds(seconds, peak)


def test_a_part_compressed_beyond_the_ratio_is_refused(writable_store):
    """Under the unpacked-size cap but compressed over 1000 to 1: two million blank rows."""
    data = compressed_empty_rows_bomb(rows=2_000_000)
    outcome, seconds, peak = measured(lambda: import_bytes(writable_store, data, "ratio.xlsx"))
    assert_refused(outcome, f"is compressed", "the limit is 100 to 1", SHEET)
    assert_within_bounds(seconds, peak)


def test_a_million_empty_rows_that_pass_the_zip_checks_are_stopped_while_parsing(writable_store):
    """1.5 M empty rows compressed only ~10 to 1 (about 2 MB): the element budget stops the scan.
    Before: 18 s and 890 MB, and imported."""
    data = rebuild(workbook_bytes(), sheet_chunks=varied_empty_rows(1_500_000))
    assert len(data) < MAX_BYTES
    outcome, seconds, peak = measured(lambda: import_bytes(writable_store, data, "many-rows.xlsx"))
    assert_refused(outcome, "more than 1,000,000 cells and rows")
    assert_within_bounds(seconds, peak)


def test_a_sheet_without_dimension_and_many_empty_rows_is_refused(writable_store):
    """Under the element budget, but openpyxl would parse the unsized sheet whole just to open it."""
    data = rebuild(workbook_bytes(), sheet=set_dimension(None), sheet_chunks=varied_empty_rows(300_000))
    outcome, seconds, peak = measured(lambda: import_bytes(writable_store, data, "unsized.xlsx"))
    assert_refused(outcome, "do not state their size")
    assert_within_bounds(seconds, peak)


def test_trailing_empty_rows_and_cells_are_not_read(writable_store):
    """Styled empty cells far to the right and 50,000 empty rows after the data: imported, fast."""
    def right(body):
        return body.replace(b"</row>", b'<c r="XFD1" s="0"/></row>', 1)

    data = rebuild(workbook_bytes(), sheet=right,
                   sheet_chunks=(b"".join(b'<row r="%d"/>' % r for r in range(start, start + 10_000))
                                 for start in range(10, 50_010, 10_000)))
    outcome, seconds, peak = measured(lambda: read_file(data, "trailing.xlsx"))
    assert not isinstance(outcome, ImportRejected), str(outcome)
    header, rows, numbers = outcome
    assert header == HEADER and numbers == [2, 3]
    assert_within_bounds(seconds, peak)
    assert import_bytes(writable_store, data, "trailing.xlsx")["rows"] == 2


@pytest.mark.parametrize("cell,reason", [
    (inline_cell("XFD2", "x"), "column XFD"),
    (inline_cell("GS2", "x"), "column GS"),  # column 201
], ids=["XFD", "201"])
def test_a_value_beyond_the_column_limit_is_refused(writable_store, cell, reason):
    data = rebuild(workbook_bytes(), sheet=lambda b: re.sub(rb"(<row r=\"2\"[^>]*>)", rb"\1", b).replace(
        b"</row>", cell + b"</row>", 2).replace(cell + b"</row>", b"</row>", 1))
    outcome, seconds, peak = measured(lambda: import_bytes(writable_store, data, "wide.xlsx"))
    assert_refused(outcome, reason, "the limit is 200 columns")
    assert_within_bounds(seconds, peak)


def test_a_value_far_below_the_data_is_refused(writable_store):
    """Before, the importer built a million empty rows to reach it."""
    far = b'<row r="1048576">' + inline_cell("A1048576", "x") + b"</row>"
    data = rebuild(workbook_bytes(), sheet=lambda b: b.replace(b"</sheetData>", far + b"</sheetData>"))
    outcome, seconds, peak = measured(lambda: import_bytes(writable_store, data, "far.xlsx"))
    assert_refused(outcome, "row 1,048,576", "first 100,000 rows")
    assert_within_bounds(seconds, peak)


def test_reading_stops_after_the_row_limit(writable_store):
    row = b"".join(inline_cell(f"{c}{{n}}", v) for c, v in zip("ABCDEFGH", ROWS[0][:8]))
    template = b'<row r="{n}">' + row + b"</row>"
    rows = (b"".join(template.replace(b"{n}", str(n).encode()) for n in range(start, start + 1000))
            for start in range(4, 4 + MAX_ROWS + 1000, 1000))
    data = rebuild(workbook_bytes(), sheet=set_dimension("A1:H3"), sheet_chunks=rows)
    outcome, seconds, peak = measured(lambda: import_bytes(writable_store, data, "long.xlsx"))
    assert_refused(outcome, f"more than {MAX_ROWS:,} rows")
    assert_within_bounds(seconds, peak)


def test_a_csv_of_blank_lines_is_refused_fast(writable_store):
    """Five megabytes of blank lines after a header: five million records to iterate before."""
    data = (",".join(HEADER) + "\n").encode() + b"\n" * (MAX_BYTES - 200)
    outcome, seconds, peak = measured(lambda: import_bytes(writable_store, data, "blank.csv"))
    assert_refused(outcome, "more than 100,000 lines")
    assert_within_bounds(seconds, peak)


def test_a_csv_with_too_many_columns_is_refused(writable_store):
    data = (",".join(HEADER + [f"x{i}" for i in range(300)]) + "\n").encode()
    outcome, seconds, peak = measured(lambda: import_bytes(writable_store, data, "wide.csv"))
    assert_refused(outcome, "309 columns", "limit is 200")


# -- zip weirdness ----------------------------------------------------------------------------------

def _with_part(name: str, body: bytes = b"x", flag_bits: int = 0) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook_bytes())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Duplicate name"
            dst.writestr(name, body)
    data = bytearray(out.getvalue())
    if flag_bits:  # zipfile resets the flags it writes: set them in the part's central directory entry
        entry = data.rfind(b"PK\x01\x02" + bytes(data[data.rfind(b"PK\x01\x02") + 4:][:4]))
        assert data[entry + 46:entry + 46 + len(name)] == name.encode()
        data[entry + 8] |= flag_bits
    return bytes(data)


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>')


@pytest.mark.parametrize("data,reason", [
    (lambda: _with_part("xl/worksheets/sheet1.xml", b"<worksheet/>"), "same name"),
    (lambda: _with_part("../../etc/evil.xml"), "unsafe name"),
    (lambda: _with_part("/abs.xml"), "unsafe name"),
    (lambda: _with_part("xl/embeddings/inner.xlsx", workbook_bytes()), "embeds another file"),
    (lambda: _with_part("xl/secret.xml", flag_bits=0x1), "password-protected"),
    (lambda: _with_part("xl/laughs.xml", BILLION_LAUGHS), "document type"),
    (lambda: rebuild(workbook_bytes(), extra=[(f"xl/media/p{i}.bin", b"") for i in range(1001)]), "parts; the limit is 1,000"),
    (lambda: workbook_bytes()[:-30], "cannot be read"),
], ids=["duplicate", "traversal", "absolute", "nested", "encrypted", "dtd", "many-parts", "truncated"])
def test_odd_archives_are_refused_with_a_plain_message(writable_store, data, reason):
    data = data()
    outcome, seconds, peak = measured(lambda: import_bytes(writable_store, data, "odd.xlsx"))
    assert_refused(outcome, reason)
    assert_within_bounds(seconds, peak)


# -- files that are not regular files ------------------------------------------------------------------

def _finishes(call, seconds=10):
    """Run ``call`` in a thread; the exception it raised (None if none). Fails if it hangs."""
    box = {}

    def run():
        try:
            call()
        except BaseException as exc:  # noqa: BLE001  the test inspects it
            box["exc"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the import hung"
    return box.get("exc")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_refused_before_reading(writable_store):
    """Before: /dev/zero's size is 0, so the check passed and the read never ended."""
    exc = _finishes(lambda: import_file(writable_store, "/dev/zero"))
    assert isinstance(exc, ImportRejected) and "a device, not a file" in str(exc)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_opening_it(writable_store, tmp_path):
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    exc = _finishes(lambda: import_file(writable_store, fifo))
    assert isinstance(exc, ImportRejected) and "a pipe, not a file" in str(exc)


def test_a_folder_is_refused(writable_store, tmp_path):
    folder = tmp_path / "exports.csv"
    folder.mkdir()
    with pytest.raises(ImportRejected, match="this is a folder"):
        import_file(writable_store, folder)


def test_a_missing_file_is_named(writable_store, tmp_path):
    with pytest.raises(PiggybackError, match="No file at"):
        import_file(writable_store, tmp_path / "nope.csv")


def test_a_large_file_is_refused_from_its_size_without_reading_it(writable_store, tmp_path, monkeypatch):
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(6 * 1024 * 1024)  # sparse: nothing to read
    opened = []
    monkeypatch.setattr(interchange.os, "open", lambda *a, **k: opened.append(a) or (_ for _ in ()).throw(AssertionError))
    with pytest.raises(ImportRejected, match="limit is 5 MB"):
        import_file(writable_store, big)
    assert opened == []


def test_a_file_larger_than_its_stated_size_is_cut_off_at_the_limit(writable_store, tmp_path, monkeypatch):
    """A file that grows between the size check and the read: at most MAX_BYTES + 1 bytes are read."""
    path = tmp_path / "growing.csv"
    path.write_bytes((",".join(HEADER) + "\n").encode() + b"x" * (MAX_BYTES + 10))
    real_stat = os.stat

    def small_stat(p, *args, **kwargs):
        result = real_stat(p, *args, **kwargs)
        if str(p) == str(path):
            return os.stat_result((result.st_mode, *tuple(result)[1:6], 100, *tuple(result)[7:10]))
        return result

    monkeypatch.setattr(interchange.os, "stat", small_stat)
    with pytest.raises(ImportRejected, match="over 5 MB"):
        import_file(writable_store, path)


# -- formula-like cells ------------------------------------------------------------------------------

def _csv(rows, header=HEADER) -> bytes:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)  # a lone \r stays inside its cell
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


FORMULAS = [
    "=1+1",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=HYPERLINK(\"http://evil.example\")",
    "\r+cmd|' /C calc'!A0",
    "-HYPERLINK(\"http://evil.example\",\"x\")",
    "+A1",
    "-2+3",
    "+Sheet2!B7",
]


@pytest.mark.parametrize("value", FORMULAS)
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_formula_like_cells_are_refused_with_row_and_column(writable_store, value, kind):
    rows = [ROWS[0], [*ROWS[1][:3], value, *ROWS[1][4:]]]
    if kind == "csv":
        data = _csv(rows)
    else:
        data = workbook_bytes(rows)
    before = snapshot(writable_store)
    with pytest.raises(ImportRejected) as exc:
        import_bytes(writable_store, data, f"formula.{kind}")
    assert exc.value.problems and all(p[0] == 3 and p[1] == "vendor" for p in exc.value.problems), exc.value.problems
    assert "formulas are not accepted" in str(exc.value)
    assert snapshot(writable_store) == before


def test_an_array_formula_cell_is_refused(writable_store):
    """openpyxl hands array formulas over as objects; they were stored as their repr before."""
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(ROWS[0])
    ws["D2"] = ArrayFormula("D2", "=SUM(1,1)")
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(ImportRejected) as exc:
        import_bytes(writable_store, buf.getvalue(), "array.xlsx")
    assert (2, "vendor") in [(p[0], p[1]) for p in exc.value.problems]


@pytest.mark.parametrize("notes", [
    "-5",
    "+1,200.50",
    "-5%",
    "- see note",
    "-5% on renewal; +2 modules",
    "@cityofexample on social media",
    "+1 (555) 123-4567",
    "- 10",
    "--",
])
def test_plain_values_starting_with_a_sign_are_kept(writable_store, notes):
    detail = import_bytes(writable_store, _csv([[*ROWS[0][:8], notes]]), "plain.csv")
    assert detail["rows"] == 1
    assert writable_store.deployment("city-of-guelph-on").notes == notes


def test_numbers_and_dates_in_a_workbook_still_import(writable_store):
    import datetime as dt

    header = [*HEADER, "contract_value", "currency", "contract_award"]
    row = [*ROWS[0][:8], "-5 on the second invoice", 1_250_000.0, "CAD", dt.datetime(2023, 6, 19)]
    detail = import_bytes(writable_store, workbook_bytes([row], header), "typed.xlsx")
    assert detail["rows"] == 1
    d = writable_store.deployment("city-of-guelph-on")
    assert d.contract_value == 1_250_000 and d.notes == "-5 on the second invoice"
    assert str(d.contract_award).startswith("2023-06-19")
