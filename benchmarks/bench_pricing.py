"""Time a 10-year TCO with its range and tornado on the Fayetteville schedule.

    python benchmarks/bench_pricing.py [--json OUT] [--runs N] [--db FILE]

With --db (a built store), also times the one cost analysis the page, CLI and business case run
(``piggyback.analyses.cost.analyse_cost``: store assumptions, both routes, tornado, every peer's spread).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from piggyback.core.models import AgencyProfile  # noqa: E402
from piggyback.engines.pricing import (  # noqa: E402
    PriceSchedule,
    default_assumptions,
    load_price_schedules,
    scale_items,
    total_cost_of_ownership,
)
from piggyback.engines.pricing_routes import analyse_cost, compare_contracts, cost_settings, tornado  # noqa: E402

FAYETTEVILLE_POP = 93_949  # 2020 census, per the peer research
AGENCY = AgencyProfile(name="Benchmark agency", country="CA", region="ON", population=143_740)


def run_store(runs: int, db: str) -> dict:
    """Median wall time (ms) of the whole cost analysis from the store, Guelph ON on Fayetteville."""
    import datetime as dt

    from piggyback.analyses.cost import analyse_cost
    from piggyback.data.profile import profile_for
    from piggyback.data.store import Store

    store = Store.open(db, read_only=True)
    try:
        profile = profile_for(store, "CA-CSD-3523008")
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            result = analyse_cost(store, profile, "fayetteville-ar", {}, today=dt.date.today())
            times.append((time.perf_counter() - start) * 1000)
    finally:
        store.close()
    return {"store_analysis_median_ms": round(statistics.median(times), 3), "store_analysis_status": result.status,
            "store_analysis_piggyback": result.display().get("piggyback", {}).get("total")}


def run(runs: int = 30) -> dict:
    """Median wall time (ms) of scaling + TCO (with low/high) + tornado, over ``runs`` runs."""
    schedule = load_price_schedules()["fayetteville-ar"]
    schedule = PriceSchedule(**{**schedule.model_dump(), "peer_population": FAYETTEVILLE_POP})
    assumptions = default_assumptions()
    base = {"horizon_years": 10, "currency": "CAD"}
    times, result, rows = [], None, []
    for _ in range(runs):
        start = time.perf_counter()
        lines = scale_items(schedule, AGENCY, assumptions=assumptions)
        result = total_cost_of_ownership(lines, **base, assumptions=assumptions)
        rows = tornado(lines, base, assumptions, route="piggyback")
        times.append((time.perf_counter() - start) * 1000)
    # What the Cost page computes on each rerun: both routes + tornado, and every peer side by side.
    schedules = load_price_schedules()
    settings = cost_settings(assumptions, currency="CAD")
    page_times = []
    for _ in range(runs):
        start = time.perf_counter()
        analyse_cost(schedule, AGENCY, settings)
        compare_contracts(schedules, AGENCY, settings)
        page_times.append((time.perf_counter() - start) * 1000)
    return {
        "benchmark": "pricing_tco_tornado_fayetteville",
        "runs": runs,
        "median_ms": round(statistics.median(times), 3),
        "min_ms": round(min(times), 3),
        "max_ms": round(max(times), 3),
        "items": len(schedule.items),
        "horizon_years": 10,
        "tornado_rows": len(rows),
        "page_analysis_median_ms": round(statistics.median(page_times), 3),
        "page_schedules": len(schedules),
        "total": round(result.total, 2),
        "currency": result.currency,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="OUT", help="also write the result as JSON to OUT")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--db", default=None, help="a built store: also time the whole cost analysis from it")
    args = parser.parse_args(argv)
    out = run(args.runs)
    if args.db:
        out.update(run_store(args.runs, args.db))
    print(f"pricing: 10-year TCO + tornado (Fayetteville schedule): median {out['median_ms']:.2f} ms "
          f"over {out['runs']} runs (min {out['min_ms']:.2f}, max {out['max_ms']:.2f}); Cost page analysis "
          f"(both routes, tornado, {out['page_schedules']} peers side by side): median "
          f"{out['page_analysis_median_ms']:.2f} ms")
    if args.db:
        print(f"pricing: the whole cost analysis from the store (Guelph ON on Fayetteville, with the spread "
              f"across peers): median {out['store_analysis_median_ms']:.2f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
