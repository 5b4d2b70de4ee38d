"""Benchmark: the agency finder (``piggyback.data.finder``) on the store's 33,616 census places.

    python benchmarks/bench_finder.py [--json OUT] [--runs 15]

Prints the index build time (once per store version) and the median time of one search over
queries people type letter by letter, with accents left out and small typos (``Otawa``,
``Springfeild``). Target: first suggestions within 200 ms of a keystroke on a warm server; the
search is the part of it the server spends (the rest is Streamlit's round trip, measured by the
browser test ``test_finder_suggestions_arrive_quickly_and_without_accents``). ``run()`` returns
the figures so ``run_all.py`` can import this module.

Also printed: how many objects the index adds for Python's cyclic garbage collector, and how long
one full collection of this process takes. A full collection holds the GIL, so while it runs the
server sends nothing (Streamlit's forced one after every run delayed the suggestions; it is off in
.streamlit/config.toml). The index should add next to nothing (it was ~23,000 small lists).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from piggyback.data import finder  # noqa: E402
from piggyback.data.store import Store, default_db_path  # noqa: E402

WORDS = ["Ottawa", "Saint-Elzear", "Springfield", "Guelph, ON", "Travis County", "Montreal"]
TYPOS = ["Otawa", "Springfeild", "Toronot", "Gelph"]
TARGET_MS = 200.0


def queries() -> list[str]:
    """Every prefix of each word (as typed letter by letter), plus the typos."""
    out = [w[:n] for w in WORDS for n in range(1, len(w) + 1)]
    return out + TYPOS


def run(runs: int = 15) -> dict:
    store = Store.open(str(default_db_path()), allow_read_only_fallback=True)
    jur = store.jurisdictions()
    gc.collect()
    tracked_before = len(gc.get_objects())
    t = time.perf_counter()
    index = finder.build_index(jur)
    build_ms = (time.perf_counter() - t) * 1000
    gc.collect()
    index_gc_objects = len(gc.get_objects()) - tracked_before
    gc_times = []
    for _ in range(5):
        t = time.perf_counter()
        gc.collect(2)
        gc_times.append((time.perf_counter() - t) * 1000)
    per_query: dict[str, float] = {}
    for q in queries():
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            finder.search(index, q, limit=10)
            times.append((time.perf_counter() - t) * 1000)
        per_query[q] = statistics.median(times)
    values = sorted(per_query.values())
    worst = max(per_query, key=per_query.get)
    return {
        "places": index.size, "queries": len(per_query), "index_build_ms": round(build_ms, 1),
        "search_median_ms": round(statistics.median(values), 2),
        "search_p90_ms": round(values[int(0.9 * (len(values) - 1))], 2),
        "search_max_ms": round(values[-1], 2), "slowest_query": worst,
        "target_ms": TARGET_MS, "within_target": values[-1] < TARGET_MS,
        "index_gc_objects": index_gc_objects, "full_gc_ms": round(statistics.median(gc_times), 1),
        "gc_tracked_objects": len(gc.get_objects()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    figures = run(args.runs)
    print(f"finder over {figures['places']:,} places, {figures['queries']} queries: "
          f"median {figures['search_median_ms']} ms, p90 {figures['search_p90_ms']} ms, "
          f"max {figures['search_max_ms']} ms ({figures['slowest_query']!r}); "
          f"index built in {figures['index_build_ms']} ms; target < {TARGET_MS:.0f} ms")
    print(f"the index adds {figures['index_gc_objects']:,} objects for the garbage collector; a full "
          f"collection of this process ({figures['gc_tracked_objects']:,} objects) takes "
          f"{figures['full_gc_ms']} ms, the GIL held")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
