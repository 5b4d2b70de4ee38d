"""Benchmark: vectorized peer similarity vs the plain per-row formula.

    python benchmarks/bench_similarity.py [--json OUT] [--rows 33600] [--real]

Scores a prospects-sized candidate frame (33,600 rows, seeded synthetic census-like data;
``--real`` uses the store's census jurisdictions when ``piggyback.store`` is available) and
reports the median time of ``score_candidates`` (>= 15 runs) and of
``score_candidates_rowwise`` (3 runs). Targets: < 50 ms and >= 50x faster than the baseline.
``run()`` returns the figures so a combined benchmark can import this module.
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

from piggyback import similarity  # noqa: E402
from piggyback.models import CA_PROVINCES, MODULES, US_STATES  # noqa: E402

TARGET_MS = 50.0
TARGET_SPEEDUP = 50.0
DEFAULT_ROWS = 33_600

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


def real_candidates() -> pd.DataFrame:  # pragma: no cover - depends on the store being built
    """Census jurisdictions from the store (only when ``piggyback.store`` offers them)."""
    from piggyback import store  # type: ignore[attr-defined]

    for name in ("prospect_candidates", "jurisdictions_frame", "load_jurisdictions"):
        fn = getattr(store, name, None)
        if callable(fn):
            frame = fn()
            if "jurisdiction" not in frame.columns and "display_name" in frame.columns:
                frame = frame.rename(columns={"display_name": "jurisdiction"})
            return frame
    raise RuntimeError("piggyback.store has no function returning the census jurisdictions")


def _median_ms(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times), times


def run(rows: int = DEFAULT_ROWS, fast_runs: int = 15, slow_runs: int = 3,
        real: bool = False) -> dict[str, Any]:
    """Time both implementations and check they agree; returns the figures."""
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
    args = parser.parse_args(argv)
    result = run(rows=args.rows, real=args.real)
    print(f"similarity: {result['rows']:,} rows ({result['data']})")
    print(f"  score_candidates         median {result['vectorized_median_ms']:8.2f} ms "
          f"(target < {TARGET_MS:.0f} ms: {'ok' if result['meets_time_target'] else 'MISSED'})")
    print(f"  score_candidates_rowwise median {result['rowwise_median_ms']:8.1f} ms")
    print(f"  speed-up {result['speedup']:.1f}x "
          f"(target >= {TARGET_SPEEDUP:.0f}x: {'ok' if result['meets_speedup_target'] else 'MISSED'})"
          f"; results agree: {result['results_agree']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if result["results_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
