"""Every performance figure of Piggyback in one run, with baseline ratios where one exists.

    python benchmarks/run_all.py [--json benchmarks/results/latest.json] [--quick]

Prints a table and writes the figures as JSON (default: benchmarks/results/<UTC time>.json) so
that later runs can be compared: when a previous result file exists, the change is printed.
Figures are medians of repeated runs on this machine; they are measurements, not assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results"

AGENCY = "CA-CSD-3523008"  # Guelph, ON
PEER = "fayetteville-ar"  # a peer with a price schedule and a contract on file


def _median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def bench_build(tmp: Path) -> dict:
    from piggyback.data.store import build

    path = tmp / "bench.duckdb"
    t = time.perf_counter()
    report = build(path)
    first = time.perf_counter() - t
    t = time.perf_counter()
    build(path)
    again = time.perf_counter() - t
    return {"build_s": round(first, 2), "rebuild_s": round(again, 2), "rows": report.counts, "db": str(path)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_cold_start(db: Path) -> dict:
    """From `streamlit run` to the first page rendered in Debian's Chromium."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = {**os.environ, "PIGGYBACK_DB": str(db)}
    url = f"http://127.0.0.1:{port}/?agency={AGENCY}"
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "piggyback.ui.server",
                                 "--server.headless", "true", "--server.port", str(port),
                                 "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            t_health = time.perf_counter() - t0
            page = browser.new_page()
            page.goto(url)
            page.get_by_test_id("stMetricValue").first.wait_for(timeout=120_000)
            t_first = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            browser.close()
    return {"server_ready_s": round(t_health, 2), "first_page_s": round(t_first, 2)}


def _load_app_pages():
    # app.py runs Streamlit calls at import; read its PAGES list without executing it.
    import ast

    tree = ast.parse((ROOT / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PAGES":
            return ast.literal_eval(node.value)
    return []


def bench_module(name: str, **kwargs) -> dict | None:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError:
        return None
    return module.run(**kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None, help="where to write the figures")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--no-browser", action="store_true", help="skip the cold start in Chromium")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else 7
    tmp = Path(tempfile.mkdtemp(prefix="piggyback-bench-"))
    results: dict = {"when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}

    def step(name, fn):
        t = time.perf_counter()
        try:
            results[name] = fn()
        except Exception as exc:  # one failing figure must not hide the others
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"  … {name} ({time.perf_counter() - t:.1f} s)", file=sys.stderr)

    step("database", lambda: bench_build(tmp))
    db = Path(results["database"].get("db", tmp / "bench.duckdb"))
    os.environ["PIGGYBACK_DB"] = str(db)
    if not args.no_browser:
        step("cold_start", lambda: bench_cold_start(db))
    step("pages", lambda: _pages(runs))
    step("similarity", lambda: bench_module("bench_similarity", **({"fast_runs": 7, "slow_runs": 1} if args.quick else {})))
    step("timeline", lambda: bench_module("bench_timeline"))
    step("pricing", lambda: bench_module("bench_pricing"))
    step("report", lambda: bench_module("bench_report"))
    step("finder", lambda: bench_module("bench_finder", **({"runs": 5} if args.quick else {})))

    print(json.dumps(results, indent=2, default=str))
    RESULTS.mkdir(parents=True, exist_ok=True)
    previous = sorted(RESULTS.glob("*.json"))
    target = Path(args.json) if args.json else RESULTS / (results["when"].replace(":", "") + ".json")
    target.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwritten to {target}")
    if previous:
        _compare(json.loads(previous[-1].read_text()), results, previous[-1].name)
    return 0


def _pages(runs: int) -> dict:
    from streamlit.testing.v1 import AppTest

    out = {}
    for path, title, *_ in _load_app_pages():
        if not (ROOT / path).exists():
            continue
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.query_params["agency"] = AGENCY
        at.query_params["peer"] = PEER
        at.run()
        at.switch_page(path)
        t = time.perf_counter()
        at.run()
        first = (time.perf_counter() - t) * 1000
        rerun = _median_ms(at.run, runs)
        out[title] = {"first_ms": round(first, 1), "rerun_ms": round(rerun, 1), "exception": bool(at.exception)}
    return out


def _flatten(d: dict, prefix: str = "") -> dict:
    flat = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            flat.update(_flatten(v, key + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            flat[key] = v
    return flat


def _compare(old: dict, new: dict, name: str) -> None:
    a, b = _flatten(old), _flatten(new)
    rows = [(k, a[k], b[k]) for k in sorted(a.keys() & b.keys()) if k.endswith(("_ms", "_s")) and a[k]]
    if rows:
        print(f"\nchange against {name}:")
        for k, x, y in rows:
            print(f"  {k:<45} {x:>10} -> {y:>10}  ({y / x:.2f}x)")


if __name__ == "__main__":
    sys.exit(main())
