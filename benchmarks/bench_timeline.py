"""Benchmark the timeline Monte Carlo: numpy engine vs a per-draw Python loop.

    python benchmarks/bench_timeline.py [--json OUT]

The numpy engine runs 100,000 draws of the default phases; the time is the median of at
least 7 runs (target: under 100 ms). The loop baseline is slow, so it is timed on 10,000 draws
(median of 3 runs) and scaled linearly to 100,000; the report says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from piggyback.engines.timeline import TIMELINE_CSV, load_phases, simulate_timeline, simulate_timeline_loop  # noqa: E402

DEFAULT_PHASES = load_phases(TIMELINE_CSV)

DRAWS = 100_000
LOOP_DRAWS = 10_000
RUNS = 7
LOOP_RUNS = 3
TARGET_MS = 100.0
CORRELATION = 0.5  # the default of tl.sim.correlation: phases of a route drawn through a Gaussian copula
START = dt.date(2027, 1, 1)


def _median_ms(fn, runs: int, clock=time.perf_counter) -> float:
    times = []
    for _ in range(runs):
        t0 = clock()
        fn()
        times.append((clock() - t0) * 1000)
    return statistics.median(times)


def run(draws: int = DRAWS, runs: int = RUNS, loop_draws: int = LOOP_DRAWS,
        loop_runs: int = LOOP_RUNS) -> dict:
    """Time both engines; plain data for a combined benchmark report."""
    simulate_timeline(DEFAULT_PHASES, START, draws=1_000)  # warm-up (imports, caches)
    vec_ms = _median_ms(lambda: simulate_timeline(DEFAULT_PHASES, START, draws=draws), runs)
    simulate_timeline(DEFAULT_PHASES, START, draws=1_000, correlation=CORRELATION)
    corr_ms = _median_ms(lambda: simulate_timeline(DEFAULT_PHASES, START, draws=draws,
                                                   correlation=CORRELATION), runs)
    # CPU time of this process: what the run costs when other processes share the cores
    corr_cpu_ms = _median_ms(lambda: simulate_timeline(DEFAULT_PHASES, START, draws=draws,
                                                       correlation=CORRELATION), runs, time.process_time)
    loop_ms_measured = _median_ms(
        lambda: simulate_timeline_loop(DEFAULT_PHASES, START, draws=loop_draws), loop_runs)
    loop_ms = loop_ms_measured * draws / loop_draws
    return {
        "name": "timeline",
        "draws": draws,
        "phases": len(DEFAULT_PHASES),
        "runs": runs,
        "vectorised_ms": round(vec_ms, 2),
        "target_ms": TARGET_MS,
        "meets_target": vec_ms < TARGET_MS and corr_ms < TARGET_MS,
        "correlated_ms": round(corr_ms, 2),
        "correlated_cpu_ms": round(corr_cpu_ms, 2),
        "correlation": CORRELATION,
        "loop_draws_timed": loop_draws,
        "loop_runs": loop_runs,
        "loop_ms_measured": round(loop_ms_measured, 2),
        "loop_ms_scaled": round(loop_ms, 2),
        "loop_scaling": f"loop timed on {loop_draws:,} draws and scaled linearly to {draws:,}",
        "speedup": round(loop_ms / vec_ms, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT")
    args = parser.parse_args(argv)
    res = run()
    print(f"timeline: {res['draws']:,} draws x {res['phases']} phases")
    print(f"  numpy engine      {res['vectorised_ms']:9.1f} ms  (median of {res['runs']} runs; "
          f"target < {res['target_ms']:.0f} ms: {'met' if res['meets_target'] else 'NOT met'})")
    print(f"  correlated {res['correlation']:g}    {res['correlated_ms']:9.1f} ms  (Gaussian copula, the app's default; "
          f"CPU {res['correlated_cpu_ms']:.1f} ms)")
    print(f"  Python loop       {res['loop_ms_scaled']:9.1f} ms  ({res['loop_scaling']}; "
          f"measured {res['loop_ms_measured']:.1f} ms)")
    print(f"  speed-up          {res['speedup']:9.1f} x")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
