"""Time the business-case exports: the PDF (charts included) and the Excel workbook.

    python benchmarks/bench_report.py [--json OUT] [--runs N] [--db FILE]

Uses the store at --db / $PIGGYBACK_DB (built if missing). Guelph, ON adopting Fayetteville's
contract. The first PDF also starts the headless browser that draws the charts; it is timed on
its own, and the median of the next runs is the steady state the app sees.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from piggyback.analyses.business_case import build_business_case  # noqa: E402
from piggyback.data.profile import profile_for  # noqa: E402
from piggyback.reports.report_pdf import case_figures, close_chart_renderer, figures_to_png, render_pdf  # noqa: E402
from piggyback.reports.report_xlsx import render_xlsx  # noqa: E402
from piggyback.data.store import Store  # noqa: E402


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def run(runs: int = 3, db: str | None = None) -> dict:
    """Median wall times (ms) of building the case, the PDF (with and without charts) and the workbook."""
    store = Store.open(db, read_only=True) if db else Store.open()
    try:
        profile = profile_for(store, "CA-CSD-3523008")
        build = []
        for _ in range(runs):
            t = time.perf_counter()
            case = build_business_case(store, profile, "fayetteville-ar", {}).to_dict()
            build.append(_ms(t))
        t = time.perf_counter()
        info: dict = {}
        first = render_pdf(case, report=info)
        first_ms = _ms(t)
        pdf, charts, text_only, xlsx = [], [], [], []
        for _ in range(runs):
            t = time.perf_counter()
            data = render_pdf(case)
            pdf.append(_ms(t))
            t = time.perf_counter()
            figures_to_png(case_figures(case))
            charts.append(_ms(t))
            t = time.perf_counter()
            render_pdf(case, charts=False)
            text_only.append(_ms(t))
            t = time.perf_counter()
            book = render_xlsx(case)
            xlsx.append(_ms(t))
    finally:
        close_chart_renderer()
        store.close()
    return {
        "benchmark": "business_case_exports_guelph_fayetteville",
        "runs": runs,
        "build_case_median_ms": round(statistics.median(build), 1),
        "pdf_first_ms_incl_browser_start": round(first_ms, 1),
        "pdf_median_ms": round(statistics.median(pdf), 1),
        "pdf_charts_only_median_ms": round(statistics.median(charts), 1),
        "pdf_without_charts_median_ms": round(statistics.median(text_only), 1),
        "xlsx_median_ms": round(statistics.median(xlsx), 1),
        "pdf_pages": info.get("pages"),
        "pdf_kb": round(len(data) / 1024, 1),
        "xlsx_kb": round(len(book) / 1024, 1),
        "chart_errors": info.get("chart_errors", {}),
        "first_pdf_kb": round(len(first) / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", default=None)
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    result = run(args.runs, args.db)
    for key, value in result.items():
        print(f"{key:>36}: {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
