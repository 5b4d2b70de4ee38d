"""Benchmark: vectorized peer similarity vs the plain per-row formula, on synthetic and real
data, and the Peers page's rerun after a weight change.

    python benchmarks/bench_similarity.py [--json OUT] [--rows 33600] [--real]
                                          [--no-store] [--page-reruns 7]

1. Scores a prospects-sized candidate frame (33,600 rows, seeded synthetic census-like data;
   ``--real`` uses the store's census jurisdictions instead) and reports the median time of
   ``score_candidates`` (>= 15 runs) and of ``score_candidates_rowwise`` (3 runs). Targets:
   < 50 ms and >= 50x faster than the baseline.
2. Real data (the store's database, ``$PIGGYBACK_DB``): every census jurisdiction as a prospect
   of the Ottawa deployment through ``piggyback.data.peers.prospect_candidates`` and
   ``rank_prospects`` (the Prospects page and ``prospects`` command), with a row-by-row check.
3. The Peers page under AppTest: the median time of a rerun after a weight slider moves.
   Target < 300 ms.

Parts 2 and 3 run for a full-size benchmark (``rows`` >= 33,600, as ``run_all.py`` calls it)
and are skipped for a small quick run unless asked for. ``run()`` returns the figures so a
combined benchmark can import this module.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from piggyback.engines import similarity  # noqa: E402
from piggyback.core.models import CA_PROVINCES, MODULES, US_STATES  # noqa: E402

TARGET_MS = 50.0
TARGET_SPEEDUP = 50.0
DEFAULT_ROWS = 33_600
TARGET_PAGE_RERUN_MS = 300.0
REFERENCE_PEER = "ottawa-on"
PAGE_AGENCY = "CA-CSD-3523008"  # Guelph, ON

AGENCY = {
    "geo_id": "CA-CSD-3523008", "name": "City of Guelph (benchmark agency)", "country": "CA",
    "region": "ON", "jtype": "City", "population": 143_740, "growth_pct": 8.3,
    "households": 58_000, "density": 1_644.0, "permit_volume": 2_000,
    "modules_needed": ["building", "inspections", "planning", "licensing", "portal"],
    "current_system": "AMANDA",
}


def synthetic_candidates(rows: int = DEFAULT_ROWS, seed: int = 20261127,
                         peer_rows: int = 30) -> pd.DataFrame:
    """A census-like frame: log-normal populations, ~15% Canadian, some blanks.

    The first ``peer_rows`` rows also carry modules, a replaced system and permit volume, as
    peers do; the rest are prospects without them (those dimensions drop out).
    """
    rng = np.random.default_rng(seed)
    canada = rng.random(rows) < 0.15
    ca_regions, us_regions = np.array(list(CA_PROVINCES)), np.array(list(US_STATES))
    region = np.where(canada, rng.choice(ca_regions, rows), rng.choice(us_regions, rows))
    population = np.round(np.exp(rng.normal(7.5, 1.8, rows))).astype(float)
    population[rng.random(rows) < 0.02] = np.nan
    growth = np.round(rng.normal(3.0, 8.0, rows), 1)
    growth[rng.random(rows) < 0.1] = np.nan
    households = np.where(canada, np.round(population / rng.uniform(2.0, 3.0, rows)), np.nan)
    density = np.round(np.exp(rng.normal(4.0, 1.5, rows)), 1)
    density[rng.random(rows) < 0.3] = np.nan
    jtype = rng.choice(["City", "Town", "Village", "Township", "Municipality", "County",
                        "Borough"], rows, p=[0.3, 0.22, 0.15, 0.12, 0.1, 0.08, 0.03])
    codes = list(MODULES)
    modules = [list(rng.choice(codes, rng.integers(1, len(codes)), replace=False))
               if i < peer_rows else [] for i in range(rows)]
    systems = ["AMANDA", "Hansen", "Accela Permits Plus", "Paper files",
               "Municipal Application Partnership (MAP)"]
    replaced = [str(rng.choice(systems)) if i < peer_rows else None for i in range(rows)]
    permits = np.full(rows, np.nan)
    permits[:peer_rows] = np.round(np.exp(rng.normal(7.0, 1.2, peer_rows)))
    return pd.DataFrame({
        "geo_id": [f"SYN-{i:05d}" for i in range(rows)],
        "jurisdiction": [f"Place {i:05d}" for i in range(rows)],
        "country": np.where(canada, "CA", "US"),
        "region": region,
        "jtype": jtype,
        "population": population,
        "growth_pct": growth,
        "households": households,
        "density": density,
        "permit_volume": permits,
        "module_codes": modules,
        "replaced_system": replaced,
    })


def _open_store():
    """The benchmark's store: the same file and mode the app uses (so AppTest can share it)."""
    from piggyback.data.store import Store, default_db_path

    return Store.open(default_db_path(), allow_read_only_fallback=True)


def real_candidates() -> pd.DataFrame:  # pragma: no cover - depends on the store being built
    """Every census jurisdiction but Ottawa's, as the Prospects page ranks them."""
    from piggyback.data.peers import prospect_candidates

    store = _open_store()
    try:
        return prospect_candidates(store, REFERENCE_PEER).copy()
    finally:
        store.close()


def _median_ms(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times), times


def bench_store_prospects(runs: int = 15, check_rows: bool = True) -> dict[str, Any]:
    """Every census jurisdiction ranked against the Ottawa deployment, as the app does it."""
    from piggyback.data.peers import prospect_candidates, rank_prospects, reference_agency

    store = _open_store()
    try:
        agency = reference_agency(store, REFERENCE_PEER)
        candidates = prospect_candidates(store, REFERENCE_PEER)  # builds the shared frame once
        build_ms, _ = _median_ms(lambda: prospect_candidates(store, REFERENCE_PEER), runs)
        score_ms, _ = _median_ms(lambda: similarity.score_candidates(agency, candidates), runs)
        rank_ms, _ = _median_ms(lambda: rank_prospects(store, REFERENCE_PEER), runs)
        ontario_ms, _ = _median_ms(lambda: rank_prospects(
            store, REFERENCE_PEER, region=["ON"], pop_min=50_000, pop_max=200_000), runs)
        _, ranked, set_aside = rank_prospects(store, REFERENCE_PEER)
        out: dict[str, Any] = {
            "reference": REFERENCE_PEER,
            "census_rows": int(len(store.jurisdictions())),
            "candidates": int(len(candidates)),
            "ranked": int(len(ranked)),
            "set_aside_few_dimensions": set_aside,
            "prospect_candidates_median_ms": round(build_ms, 2),
            "score_candidates_median_ms": round(score_ms, 2),
            "rank_prospects_median_ms": round(rank_ms, 2),
            "rank_prospects_ontario_band_median_ms": round(ontario_ms, 2),
            "runs": runs,
            "meets_time_target": score_ms < TARGET_MS,
        }
        if check_rows:
            start = time.perf_counter()
            slow = similarity.score_candidates_rowwise(agency, candidates)
            slow_ms = (time.perf_counter() - start) * 1000.0
            fast = similarity.score_candidates(agency, candidates)
            diff = np.abs(fast["score"].to_numpy() - slow["score"].to_numpy())
            out.update({
                "rowwise_ms": round(slow_ms, 1),
                "speedup": round(slow_ms / score_ms, 1) if score_ms > 0 else None,
                "results_agree": bool(fast.index.equals(slow.index) and np.nanmax(diff) < 1e-9),
            })
        return out
    finally:
        store.close()


def _page_file(url_path: str) -> str:
    """The file app.py serves at ``url_path`` (from its PAGES list)."""
    import ast

    tree = ast.parse((ROOT / "app.py").read_text())
    pages = next(ast.literal_eval(n.value) for n in tree.body
                 if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PAGES")
    return next(path for path, _title, url, *_ in pages if url == url_path)


def bench_peers_page(reruns: int = 7) -> dict[str, Any]:
    """AppTest: the Peers page for Guelph, rerun after each move of the population weight."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["agency"] = PAGE_AGENCY
    at.run()
    at.switch_page(_page_file("peers"))
    start = time.perf_counter()
    at.run()
    first_ms = (time.perf_counter() - start) * 1000.0
    if at.exception:
        raise RuntimeError(f"the Peers page raised: {at.exception[0].value}")
    times, orders = [], set()
    for i in range(reruns):
        # Alternate the population weight (20% and 40% of the balanced preset's scale).
        at.slider(key="peers_w_size").set_value(40 if i % 2 == 0 else 20)
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000.0)
        table = next(d.value for d in at.dataframe if "Why" in d.value.columns)
        orders.add(tuple(table["Peer"].head(5)))
    if at.exception:
        raise RuntimeError(f"the Peers page raised: {at.exception[0].value}")
    median = statistics.median(times)
    return {
        "agency": PAGE_AGENCY,
        "first_render_ms": round(first_ms, 1),
        "rerun_after_weight_change_median_ms": round(median, 1),
        "rerun_min_ms": round(min(times), 1),
        "rerun_max_ms": round(max(times), 1),
        "reruns": reruns,
        "distinct_top5_orders": len(orders),
        "target_ms": TARGET_PAGE_RERUN_MS,
        "meets_target": median < TARGET_PAGE_RERUN_MS,
    }


def run(rows: int = DEFAULT_ROWS, fast_runs: int = 15, slow_runs: int = 3,
        real: bool = False, store_data: bool | None = None,
        page_reruns: int | None = None) -> dict[str, Any]:
    """Time both implementations and check they agree; returns the figures.

    ``store_data`` (real-data prospects) and ``page_reruns`` (Peers page reruns, 0 = skip)
    default to on for a full-size run and off for a smaller one.
    """
    full = rows >= DEFAULT_ROWS
    store_data = full if store_data is None else store_data
    page_reruns = (7 if full else 0) if page_reruns is None else page_reruns
    result = _run_engine(rows, fast_runs, slow_runs, real)
    if store_data:
        try:
            result["store_prospects"] = bench_store_prospects(runs=fast_runs, check_rows=slow_runs > 0)
        except Exception as exc:  # the engine's figures still stand without a database
            result["store_prospects"] = {"error": f"{type(exc).__name__}: {exc}"}
    if page_reruns:
        try:
            result["peers_page"] = bench_peers_page(page_reruns)
        except Exception as exc:
            result["peers_page"] = {"error": f"{type(exc).__name__}: {exc}"}
    return result


def _run_engine(rows: int, fast_runs: int, slow_runs: int, real: bool) -> dict[str, Any]:
    candidates = real_candidates() if real else synthetic_candidates(rows)
    weights = "balanced"
    similarity.score_candidates(AGENCY, candidates, weights)  # warm-up (imports, caches)
    fast_ms, fast_all = _median_ms(
        lambda: similarity.score_candidates(AGENCY, candidates, weights), fast_runs)
    slow_ms, _ = _median_ms(
        lambda: similarity.score_candidates_rowwise(AGENCY, candidates, weights), slow_runs)
    fast = similarity.score_candidates(AGENCY, candidates, weights)
    slow = similarity.score_candidates_rowwise(AGENCY, candidates, weights)
    same_order = fast.index.equals(slow.index)
    max_diff = float(np.nanmax(np.abs(fast["score"].to_numpy() - slow["score"].to_numpy()))
                     ) if len(fast) else 0.0
    speedup = slow_ms / fast_ms if fast_ms > 0 else float("inf")
    return {
        "benchmark": "similarity",
        "rows": int(len(candidates)),
        "data": "store census" if real else "synthetic (seeded)",
        "vectorized_median_ms": round(fast_ms, 2),
        "vectorized_min_ms": round(min(fast_all), 2),
        "vectorized_runs": fast_runs,
        "rowwise_median_ms": round(slow_ms, 1),
        "rowwise_runs": slow_runs,
        "speedup": round(speedup, 1),
        "target_ms": TARGET_MS,
        "target_speedup": TARGET_SPEEDUP,
        "meets_time_target": fast_ms < TARGET_MS,
        "meets_speedup_target": speedup >= TARGET_SPEEDUP,
        "results_agree": bool(same_order and max_diff < 1e-9),
        "max_abs_score_diff": max_diff,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--real", action="store_true", help="use the store's census jurisdictions")
    parser.add_argument("--no-store", action="store_true", help="skip the real-data prospects run")
    parser.add_argument("--page-reruns", type=int, default=None,
                        help="Peers page reruns to time (0 skips; default 7 for a full-size run)")
    args = parser.parse_args(argv)
    result = run(rows=args.rows, real=args.real, store_data=False if args.no_store else None,
                 page_reruns=args.page_reruns)
    print(f"similarity: {result['rows']:,} rows ({result['data']})")
    print(f"  score_candidates         median {result['vectorized_median_ms']:8.2f} ms "
          f"(target < {TARGET_MS:.0f} ms: {'ok' if result['meets_time_target'] else 'MISSED'})")
    print(f"  score_candidates_rowwise median {result['rowwise_median_ms']:8.1f} ms")
    print(f"  speed-up {result['speedup']:.1f}x "
          f"(target >= {TARGET_SPEEDUP:.0f}x: {'ok' if result['meets_speedup_target'] else 'MISSED'})"
          f"; results agree: {result['results_agree']}")
    real_run = result.get("store_prospects")
    if real_run and "error" not in real_run:
        print(f"real data: {real_run['candidates']:,} census jurisdictions as prospects of "
              f"{real_run['reference']} ({real_run['ranked']:,} ranked, "
              f"{real_run['set_aside_few_dimensions']} set aside)")
        print(f"  prospect_candidates      median {real_run['prospect_candidates_median_ms']:8.2f} ms")
        print(f"  score_candidates         median {real_run['score_candidates_median_ms']:8.2f} ms "
              f"(target < {TARGET_MS:.0f} ms: {'ok' if real_run['meets_time_target'] else 'MISSED'})")
        print(f"  rank_prospects (all)     median {real_run['rank_prospects_median_ms']:8.2f} ms")
        print(f"  rank_prospects (ON band) median {real_run['rank_prospects_ontario_band_median_ms']:8.2f} ms")
        if "rowwise_ms" in real_run:
            print(f"  score_candidates_rowwise        {real_run['rowwise_ms']:8.1f} ms "
                  f"(speed-up {real_run['speedup']}x; results agree: {real_run['results_agree']})")
    elif real_run:
        print(f"real data: not measured ({real_run['error']})")
    page = result.get("peers_page")
    if page and "error" not in page:
        print(f"Peers page (AppTest, {page['agency']}): first render {page['first_render_ms']:.0f} ms; "
              f"rerun after a weight change median {page['rerun_after_weight_change_median_ms']:.0f} ms "
              f"over {page['reruns']} (min {page['rerun_min_ms']:.0f}, max {page['rerun_max_ms']:.0f}; "
              f"target < {TARGET_PAGE_RERUN_MS:.0f} ms: {'ok' if page['meets_target'] else 'MISSED'})")
    elif page:
        print(f"Peers page: not measured ({page['error']})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    agree = result["results_agree"] and (real_run or {}).get("results_agree", True) is not False
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
