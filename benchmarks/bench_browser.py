"""What one person waits for, in Debian's Chromium against a started server (issue #15 budgets).

    python benchmarks/bench_browser.py [--runs 5]

Prints, for each step, the median and worst of ``--runs`` repetitions and the budget it is held
to: the first page finished (< 3 s on a started server), a weight change on Peers, a population
filter on Prospects and a peer change on Compliance (each < 1 s at the median). "Finished" means
Streamlit's script state is back to notRunning with the page drawn. A figure, not a test: the
machine's load moves it; run it on a quiet machine and read the ratio to the budget.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

GUELPH = "CA-CSD-3523008"
BUDGETS_S = {"first page": 3.0, "weight change (Peers)": 1.0, "population filter (Prospects)": 1.0,
             "peer change (Compliance)": 1.0}
DONE = ("() => { const a = document.querySelector(\"[data-testid='stApp']\");"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'"
        " && document.querySelector(\"[data-testid='stMain'] h1\")"
        " && !document.querySelector(\"[data-testid='stSkeleton']\"); }")
STARTED = ("() => document.querySelector(\"[data-testid='stApp']\")"
           ".getAttribute('data-test-script-state') === 'running'")


def _settle(page, started_timeout_ms: int = 1500) -> None:
    try:  # the rerun may not have begun when the event returns
        page.wait_for_function(STARTED, timeout=started_timeout_ms)
    except Exception:
        pass
    page.wait_for_function(DONE, timeout=120_000)


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(runs: int = 5) -> dict:
    from playwright.sync_api import sync_playwright

    from conftest import CHROMIUM, CHROMIUM_ARGS, start_server
    from piggyback.data.store import build

    tmp = Path(tempfile.mkdtemp(prefix="piggyback-bench-browser-"))
    db = tmp / "bench.duckdb"
    build(db)
    proc, url = start_server(db, tmp / "server.log")
    times: dict[str, list[float]] = {k: [] for k in BUDGETS_S}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            warm = browser.new_page()
            warm.goto(url)
            warm.wait_for_function(DONE, timeout=120_000)  # a started server has served a page before
            warm.close()
            for i in range(runs):
                page = browser.new_page(viewport={"width": 1280, "height": 720})

                def first():
                    page.goto(f"{url}/?agency={GUELPH}")
                    page.wait_for_function(DONE, timeout=120_000)

                times["first page"].append(_timed(first))
                page.goto(f"{url}/peers?agency={GUELPH}")
                _settle(page)
                page.get_by_text("Adjust weights").click()
                slider = page.get_by_role("slider").first
                slider.focus()

                def weight():
                    page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
                    _settle(page)

                times["weight change (Peers)"].append(_timed(weight))
                page.goto(f"{url}/prospects?agency={GUELPH}&ref=ottawa-on")
                _settle(page)
                box = page.get_by_role("spinbutton", name="Population at least")

                def population():
                    box.fill(str(40_000 + 1_000 * i))
                    box.press("Enter")
                    _settle(page)

                times["population filter (Prospects)"].append(_timed(population))
                page.goto(f"{url}/compliance?agency={GUELPH}&peer=ottawa-on")
                _settle(page)
                picker = page.get_by_role("combobox", name="Peer contract to adopt")

                def peer():
                    picker.click()
                    page.keyboard.type("Cambridge" if i % 2 == 0 else "Ottawa")
                    page.keyboard.press("Enter")
                    _settle(page)

                times["peer change (Compliance)"].append(_timed(peer))
                page.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    return {k: {"median_s": round(statistics.median(v), 3), "worst_s": round(max(v), 3), "budget_s": BUDGETS_S[k],
                "within_budget": statistics.median(v) < BUDGETS_S[k], "n": len(v)} for k, v in times.items() if v}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    result = run(args.runs)
    for step, r in result.items():
        verdict = "within budget" if r["within_budget"] else "OVER budget"
        print(f"{step:<32} median {r['median_s']:6.2f} s  worst {r['worst_s']:6.2f} s  budget {r['budget_s']:.1f} s  "
              f"({r['median_s'] / r['budget_s']:.2f} of it: {verdict})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
