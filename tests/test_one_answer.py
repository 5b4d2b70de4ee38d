"""Each question is answered once (issue #11): for five agency + peer pairs, the Business case page,
the `--json` CLI, the PDF text and the Excel cells show the same months saved, ten-year cost of
each route and compliance verdict."""

from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pytest
from conftest import ROOT, run_cli
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from piggyback.analyses.business_case import build_business_case
from piggyback.data.profile import profile_for
from piggyback.reports.report_pdf import render_pdf
from piggyback.reports.report_xlsx import render_xlsx

PAIRS = [("Guelph, ON", "ottawa-on"), ("Guelph, ON", "fayetteville-ar"), ("Travis County, TX", "killeen-tx"),
         ("Kelowna, BC", "vancouver-bc"), ("Red Deer, AB", "edmonton-ab")]


def _cli(*args) -> dict:
    done = run_cli(*args, "--json")
    if args[0] == "cost" and done.returncode == 2 and "No price schedule on file" in done.stderr:
        return {"status": "no_schedule", "message": done.stderr}
    assert done.returncode in (0, 1, 4), done.stderr  # check exits 1 or 4 for a verdict that is not 'allowed'
    return json.loads(done.stdout)


@pytest.mark.parametrize("agency, peer", PAIRS)
def test_page_cli_pdf_and_excel_give_the_same_decision_figures(store, agency, peer):
    profile = profile_for(store, agency)
    today = dt.date.today()
    timeline = _cli("timeline", "--agency", profile.geo_id, "--peer", peer)["display"]
    cost = _cli("cost", "--agency", profile.geo_id, "--peer", peer)
    verdict = _cli("check", "--agency", profile.geo_id, "--peer", peer)["verdict"]

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["agency"] = profile.geo_id
    at.query_params["peer"] = peer
    at.run()
    at.switch_page("pages/business_case.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    page = {m.label: m.value for m in at.metric}
    assert page["Months saved (median)"] == timeline["months_saved"]
    assert page["Compliance"] == verdict["headline"]
    if cost["status"] == "ok":
        assert page["10-year cost, piggyback"] == cost["display"]["piggyback"]["total"]
        assert page["10-year cost, new RFP"] == cost["display"]["traditional"]["total"]
    else:  # no price schedule: every output says so instead of a figure
        assert page["10-year cost, piggyback"] == "—" and page["10-year cost, new RFP"] == "—"

    case = build_business_case(store, profile, peer, {}, today=today)
    pdf = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(case, charts=False))).pages)
                   .split())
    assert timeline["months_saved"] in pdf and verdict["text"] in pdf
    summary = {r[0]: r for r in openpyxl.load_workbook(io.BytesIO(render_xlsx(case)))["Summary"]
               .iter_rows(min_row=2, values_only=True)}
    assert verdict["text"] in " ".join(str(v) for v in summary["Compliance verdict"] if v)
    assert timeline["months_saved"] in " ".join(str(v) for v in summary["Months saved (median)"] if v)
    if cost["status"] != "ok":
        assert "No price schedule on file" in pdf
    else:
        for route in ("piggyback", "traditional"):
            total = cost["display"][route]["total"]
            assert total in pdf
            label = "10-year cost, piggyback" if route == "piggyback" else "10-year cost, new RFP"
            assert total in " ".join(str(v) for v in summary[label] if v), (label, summary.get(label))
