"""Exports: the PDF (read back with pypdf), the Excel workbook, and `python -m piggyback report`."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from conftest import run_cli
from piggyback.reports import report_pdf
from piggyback.analyses.business_case import build_business_case
from piggyback.data.profile import profile_for
from piggyback.reports.report_pdf import render_pdf
from piggyback.reports.report_xlsx import SHEETS, render_xlsx

GUELPH = "CA-CSD-3523008"
TODAY = dt.date(2026, 3, 2)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def case(store):
    return build_business_case(store, profile_for(store, GUELPH), "fayetteville-ar", {}, today=TODAY).to_dict()


@pytest.fixture(scope="module")
def pdf_with_charts(case):
    info: dict = {}
    data = render_pdf(case, report=info)
    return data, info


def test_pdf_holds_the_sections_and_the_agencys_figures(case, pdf_with_charts):
    """The decision page and every section are there, with the agency's own figures and sources."""
    data, info = pdf_with_charts
    assert data.startswith(b"%PDF")
    text = _text(data)
    flat = _flat(text)
    for heading in ("prepared with Piggyback", "Decision figures", "Closest peers and why", "Timeline",
                    "Cost: ten years of each route", "Compliance checklist", "Assumptions used", "Sources",
                    "Vendor-stated claims"):
        assert heading in text, heading
    assert "Guelph, ON" in text and "March 2, 2026" in text
    ms = case["timeline"]["months_saved"]["p50"]
    assert f"{ms:.1f} months" in flat
    cost = next(f for f in case["key_figures"] if f["key"] == "cost_piggyback")["display"]
    assert cost in flat
    assert case["compliance"]["verdict"]["text"] in flat
    assert "vendor-stated" in text
    assert "https://documents.fayetteville-ar.gov" in text  # a source with its address
    first_page = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Decision figures" in first_page and "Months saved (median)" in first_page
    assert info["pages"] == len(PdfReader(io.BytesIO(data)).pages)


def test_pdf_charts_are_the_screen_figures_as_images(pdf_with_charts):
    """With Chromium on the machine the three charts are embedded as images (or a note says why not)."""
    data, info = pdf_with_charts
    images = sum(len(page.images) for page in PdfReader(io.BytesIO(data)).pages)
    if report_pdf.browser_path() is None:
        pytest.skip("no Chromium on this machine: the note path is tested below")
    assert info["chart_errors"] == {}, info["chart_errors"]
    assert images == 3


def test_pdf_without_a_browser_still_builds_with_a_note(case, monkeypatch):
    """When no browser can render the charts, the PDF is produced with a note in each chart's place."""
    monkeypatch.setattr(report_pdf, "browser_path", lambda: None)
    info: dict = {}
    data = render_pdf(case, report=info)
    flat = _flat(_text(data))
    assert flat.count("the chart could not be rendered") == 3
    assert "no Chrome or Chromium browser was found" in flat
    assert set(info["chart_errors"]) == {"gantt", "savings", "cost"}
    assert sum(len(p.images) for p in PdfReader(io.BytesIO(data)).pages) == 0


def test_pdf_keeps_accents_and_dashes(store):
    """Names such as Saint-Elzéar and the dash render in the Unicode font (and read back as such)."""
    profile = profile_for(store, "CA-CSD-2426022")
    data = render_pdf(build_business_case(store, profile, None, {}, today=TODAY), charts=False)
    text = _text(data)
    assert "Saint-Elzéar" in text
    assert "—" in text
    assert "no peer contract chosen yet" in text.lower()


def test_pdf_without_the_unicode_font_falls_back_to_latin_1(store, monkeypatch):
    """Without DejaVu the core font is used: accents in Latin-1 survive, other characters are replaced."""
    monkeypatch.setattr(report_pdf, "find_fonts", lambda: None)
    profile = profile_for(store, "CA-CSD-2426022")
    data = render_pdf(build_business_case(store, profile, "fayetteville-ar", {}, today=TODAY), charts=False)
    text = _text(data)
    assert "Saint-Elz" in text and "Decision figures" in text


def test_workbook_has_the_sheets_and_neutralizes_formulas(store):
    """The workbook opens with every sheet; a formula typed as the current system is stored as text."""
    profile = profile_for(store, GUELPH, current_system='=HYPERLINK("http://evil.example","x")')
    case = build_business_case(store, profile, "fayetteville-ar", {}, today=TODAY).to_dict()
    wb = load_workbook(io.BytesIO(render_xlsx(case)))
    assert wb.sheetnames == list(SHEETS)
    assert {"Inputs", "Assumptions", "Peers", "Timeline", "Cost", "Compliance", "Sources"} <= set(wb.sheetnames)
    inputs = {row[0].value: row for row in wb["Inputs"].iter_rows(min_row=2)}
    system = inputs["Current system"][1]
    assert system.value == "'" + profile.current_system and system.data_type == "s"
    assert inputs["Population"][1].value == profile.population  # numbers stay numbers
    cost = [r for r in wb["Cost"].iter_rows(min_row=2, values_only=True)]
    piggy = next(r for r in cost if r[1] == "route total" and r[0].startswith("Piggyback"))
    assert piggy[2] == pytest.approx(case["cost"]["routes"]["piggyback"]["total"])
    timeline = list(wb["Timeline"].iter_rows(min_row=2, values_only=True))
    saved = next(r for r in timeline if r[0] == "Months saved")
    assert saved[3] == case["timeline"]["months_saved"]["p50"]
    kinds = {r[2] for r in wb["Sources"].iter_rows(min_row=2, values_only=True)}
    assert "vendor-stated" in kinds
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert not (isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@"))), \
                    (ws.title, cell.coordinate, cell.value)


def test_cli_report_writes_excel_and_says_where(tmp_path):
    """`report --out FILE.xlsx` writes the workbook and prints where and how long it took."""
    out = tmp_path / "guelph.xlsx"
    proc = run_cli("report", "--agency", "Guelph, ON", "--peer", "fayetteville", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert str(out) in proc.stdout and re.search(r"in \d+\.\d s", proc.stdout)
    assert load_workbook(out).sheetnames == list(SHEETS)


def _main(capsys, *args: str, db) -> tuple[int, str, str]:
    """The CLI in this process (same code path as `python -m piggyback`, without the start-up cost)."""
    from piggyback.cli import main

    code = main(["--db", str(db), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_report_from_a_saved_scenario(tmp_path, db_copy, capsys):
    """A scenario saved from the CLI gives the report its agency and peer; an unknown one is a clear error."""
    code, out, err = _main(capsys, "scenarios", "save", "Elzéar plan", "--agency", "CA-CSD-2426022",
                           "--peer", "fayetteville", db=db_copy)
    assert code == 0, err
    assert "?scenario=" in out
    pdf = tmp_path / "plan.pdf"
    code, out, err = _main(capsys, "report", "--scenario", "elzéar plan", "--out", str(pdf), "--no-charts",
                           db=db_copy)
    assert code == 0, err
    assert "from scenario 'Elzéar plan'" in out and str(pdf) in out
    text = _text(pdf.read_bytes())
    assert "Saint-Elzéar" in text and "City of Fayetteville" in text
    code, out, err = _main(capsys, "report", "--scenario", "no such plan", "--out", str(tmp_path / "x.pdf"),
                           db=db_copy)
    assert code == 2 and "No saved scenario of yours is named 'no such plan'" in err
    assert "Elzéar plan" in err  # lists what is saved
    assert not (tmp_path / "x.pdf").exists()


def test_cli_report_refuses_unknown_formats_and_missing_agency(tmp_path, db_copy, capsys):
    """The extension decides the format; no agency and no scenario is an error, and nothing is written."""
    code, _, err = _main(capsys, "report", "--agency", "Guelph, ON", "--out", str(tmp_path / "case.docx"), db=db_copy)
    assert code == 2 and ".pdf or .xlsx" in err
    code, _, err = _main(capsys, "report", "--out", str(tmp_path / "case.pdf"), db=db_copy)
    assert code == 2 and "--agency" in err
    assert not (tmp_path / "case.docx").exists() and not (tmp_path / "case.pdf").exists()


def test_cli_scenarios_rename_duplicate_delete(db_copy, capsys):
    """The scenario commands rename, copy, list and delete, each with a plain message."""
    import json

    assert _main(capsys, "scenarios", "save", "One", "--agency", "Guelph, ON", db=db_copy)[0] == 0
    code, out, _ = _main(capsys, "scenarios", "rename", "One", "Uno", db=db_copy)
    assert code == 0 and "Renamed to 'Uno'" in out
    assert _main(capsys, "scenarios", "duplicate", "Uno", "Dos", db=db_copy)[0] == 0
    rows = json.loads(_main(capsys, "scenarios", "list", "--json", db=db_copy)[1])
    assert sorted(r["name"] for r in rows) == ["Dos", "Uno"]
    assert all(r["agency_id"] == GUELPH and r["link"].endswith(r["id"]) for r in rows)
    code, out, _ = _main(capsys, "scenarios", "delete", "Dos", db=db_copy)
    assert code == 0 and "Deleted scenario 'Dos'" in out
    assert [r["name"] for r in json.loads(_main(capsys, "scenarios", "list", "--json", db=db_copy)[1])] == ["Uno"]


# ---------------------------------------------------------------- issue #12: one verdict everywhere

GATINEAU = "CA-CSD-2481017"


@pytest.mark.parametrize("geo_id, value, headline", [
    (GUELPH, None, "Not shown to be allowed"),  # Ottawa's contract: nothing fails, facts are missing
    (GATINEAU, 900_000, "Blocked"),             # QC-12: a contract let outside Quebec, above the threshold
])
def test_page_cli_pdf_and_excel_show_the_same_verdict(store, capsys, monkeypatch, geo_id, value, headline):
    """The Compliance page, `check --json`, the PDF text and the Excel summary cell give the same
    verdict words for the same agency, peer, value and decision date."""
    import json

    from streamlit.testing.v1 import AppTest

    from conftest import BUILT_DB, ROOT
    from piggyback import cli
    from piggyback.core import fmt
    today = dt.date.today()  # the Compliance page decides on today's date
    settings = {"compliance": {"value": value, "currency": "CAD"}} if value else {}
    case = build_business_case(store, profile_for(store, geo_id), "ottawa-on", settings, today=today).to_dict()
    verdict = case["compliance"]["verdict"]
    assert verdict["headline"] == headline and verdict["text"].startswith(headline + ":")
    if value:
        assert "(QC-12)" in verdict["text"]

    with monkeypatch.context() as m:  # the CLI reads the built database, the page its own copy
        m.setenv("PIGGYBACK_DB", str(BUILT_DB))
        code = cli.main(["check", "--agency", geo_id, "--peer", "ottawa-on", "--date", today.isoformat(),
                         "--json"] + (["--value", str(value)] if value else []))
    from_cli = json.loads(capsys.readouterr().out)["verdict"]
    assert from_cli["text"] == verdict["text"] and code == verdict["exit_code"] == (1 if value else 4)

    assert f"Compliance verdict {verdict['text']}" in _flat(_text(render_pdf(case, charts=False)))

    wb = load_workbook(io.BytesIO(render_xlsx(case)))
    summary = {row[0].value: row[1].value for row in wb["Summary"].iter_rows(min_row=2)}
    assert summary["Compliance verdict"] == verdict["text"]

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["agency"], at.query_params["peer"] = geo_id, "ottawa-on"
    at.run()
    at.switch_page("pages/compliance_checklist.py")
    at.run()
    assert not at.exception, at.exception
    if value:
        at.number_input(key="compliance.value").set_value(value).run()
    assert not at.exception
    box = (at.error if value else at.warning)[0].value
    detail = verdict["text"][len(headline):].lstrip(": ")
    assert box == f"### {headline}\n\n{fmt.md_escape(detail[:1].upper() + detail[1:])}"


def test_pdf_page_one_is_the_decision_page(store):
    """An executive opening the PDF sees the decision figures first: agency, peer, verdict, months
    saved with its range, each route's ten-year cost and NPV, and the closest peers, on page 1."""
    import io

    from pypdf import PdfReader

    from piggyback.analyses.business_case import build_business_case
    from piggyback.data.profile import profile_for
    from piggyback.reports.report_pdf import render_pdf

    case = build_business_case(store, profile_for(store, "Guelph, ON"), "ottawa-on", {},
                               today=__import__("datetime").date(2026, 11, 29))
    first = PdfReader(io.BytesIO(render_pdf(case, charts=False))).pages[0].extract_text()
    data = case.to_dict()
    assert "Guelph, ON" in first and "City of Ottawa" in first
    assert "Decision figures" in first and data["peers"]["top"][0]["jurisdiction"] in first
    assert data["compliance"]["verdict"]["text"].split(":")[0] in first
    for label in ("Months saved", "10-year cost", "Compliance verdict"):
        assert label.lower() in " ".join(first.split()).lower(), label
