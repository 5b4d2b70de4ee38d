"""Load test: N concurrent browser sessions explore the app on one Streamlit server.

    python benchmarks/load_test.py [--sessions 20] [--servers 2] [--json OUT]

With --servers 2 (or more), a throw-away PostgreSQL cluster holds the shared users' record
(PIGGYBACK_DATABASE_URL) and the sessions are spread over the servers, as sticky sessions behind
nginx would spread them; every scenario must then be in the shared record under its own agency.

Each session (its own Chromium context, so its own Streamlit session) opens a link for a
different agency, visits Overview, Peers, Timeline and Cost, and checks that every page shows
its own agency (no state leaking between sessions), then saves a scenario from the Business case
page; afterwards every scenario must be in the database under its own agency. Prints the time each page took to render
(median and 90th percentile over sessions) and the number of errors. The server runs on a copy
of the database on 127.0.0.1 only; the run is bounded (one pass per session, 15-minute cap).
"""

from __future__ import annotations

import argparse
import asyncio
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

AGENCIES = [  # (geo_id, name shown in the sidebar picker)
    ("CA-CSD-3523008", "Guelph, ON"), ("CA-CSD-3506008", "Ottawa, ON"), ("CA-CSD-3525005", "Hamilton (City), ON"),
    ("CA-CSD-3520005", "Toronto, ON"), ("CA-CSD-3539036", "London, ON"), ("CA-CSD-3530010", "Cambridge, ON"),
    ("CA-CSD-4806016", "Calgary, AB"), ("CA-CSD-4811061", "Edmonton, AB"), ("CA-CSD-5915022", "Vancouver, BC"),
    ("CA-CSD-2466023", "Montréal, QC"), ("US-CO-48453", "Travis County, TX"), ("US-CO-06037", "Los Angeles County, CA"),
    ("US-CO-37119", "Mecklenburg County, NC"), ("US-PL-05-143-23290", "Fayetteville, AR"),
    ("US-PL-48-000-19000", "Dallas, TX"), ("US-CO-12011", "Broward County, FL"), ("US-CO-32031", "Washoe County, NV"),
    ("US-PL-06-107-82954", "Visalia, CA"), ("US-PL-04-025-57380", "Prescott, AZ"), ("US-CO-17031", "Cook County, IL"),
]
PAGES = ["", "peers", "business-case"]  # "" is the Overview, served at the root
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]

WAIT_JS = ("() => { const a = document.querySelector(\"[data-testid='stApp']\");"
           " return a && a.getAttribute('data-test-script-state') === 'notRunning'"
           " && document.querySelector(\"[data-testid='stMain'] h1\")"
           " && !document.querySelector(\"[data-testid='stSkeleton']\"); }")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _session(browser, url: str, geo: str, name: str, timings: dict, errors: list) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    page.set_default_timeout(300_000)  # twenty browsers share the server's two cores
    try:
        for path in PAGES:
            t = time.perf_counter()
            await page.goto(f"{url}/{path}?agency={geo}", timeout=300_000)
            await page.wait_for_function(WAIT_JS, timeout=300_000)
            timings.setdefault(path, []).append(time.perf_counter() - t)
            shown = await page.get_by_test_id("stMain").inner_text()
            if name.split(" (")[0] not in shown:
                errors.append(f"{geo} on {path}: the page does not show {name!r}")
            if await page.locator("[data-testid='stException']").count():
                errors.append(f"{geo} on {path}: exception on the page")
        # Save this session's analysis as a scenario from the Business case page.
        t = time.perf_counter()
        name_box = page.get_by_role("textbox", name="Scenario name")
        await name_box.fill(f"load {geo}")
        await name_box.press("Enter")
        await page.wait_for_function(WAIT_JS, timeout=300_000)
        await page.get_by_role("button", name="Save scenario").click()
        # Done when the page says so: a rerun that has not started yet would look finished.
        await page.get_by_text(f"Saved 'load {geo}'").wait_for(timeout=300_000)
        timings.setdefault("save scenario", []).append(time.perf_counter() - t)
    except Exception as exc:  # report, do not hide, what failed
        errors.append(f"{geo}: {type(exc).__name__}: {exc}")
    finally:
        await context.close()


async def _run(urls: list[str], sessions: int) -> dict:
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    timings: dict[str, list[float]] = {}
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        chosen = [AGENCIES[i % len(AGENCIES)] for i in range(sessions)]
        t = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*[_session(browser, urls[i % len(urls)], g, n, timings, errors)
                                                for i, (g, n) in enumerate(chosen)]), timeout=900)
        wall = time.perf_counter() - t
        await browser.close()
    summary = {path: {"median_s": round(statistics.median(v), 2),
                      "p90_s": round(sorted(v)[max(0, int(len(v) * 0.9) - 1)], 2), "n": len(v)}
               for path, v in timings.items()}
    return {"sessions": sessions, "wall_s": round(wall, 1), "pages": summary, "errors": errors,
            "agencies": [g for g, _ in chosen]}


def _start(db: Path, env: dict) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "piggyback.ui.server", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env={**env, "PIGGYBACK_DB": str(db)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    urllib.request.urlopen(url + "/", timeout=60).read()  # the process has served a page before the sessions
    return proc, url


def run(sessions: int = 20, servers: int = 1) -> dict:
    from piggyback.data.store import build

    tmp = Path(tempfile.mkdtemp(prefix="piggyback-load-"))
    env = dict(os.environ)
    cluster = None
    if servers > 1:
        sys.path.insert(0, str(ROOT / "tests"))
        import pg_cluster  # the tests' throw-away PostgreSQL (Debian's binaries)

        cluster = pg_cluster.start_cluster()
        env["PIGGYBACK_DATABASE_URL"] = cluster.create_database("load")
    dbs = []
    for i in range(servers):
        dbs.append(tmp / f"load-{i}.duckdb")
        build(dbs[-1])
    procs, urls = [], []
    try:
        for db in dbs:
            proc, url = _start(db, env)
            procs.append(proc)
            urls.append(url)
        result = asyncio.run(_run(urls, sessions))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
    try:
        result["saved"] = _saved_scenarios(dbs[0], env.get("PIGGYBACK_DATABASE_URL"))
    finally:
        if cluster is not None:
            cluster.stop()
    result["servers"] = servers
    return result


def _saved_scenarios(db: Path, database_url: str | None) -> dict[str, str | None]:
    """Scenario name -> its agency, read back from the users' record after the servers stopped."""
    from piggyback.data.scenarios import open_scenario_store
    from piggyback.data.store import Store

    previous = os.environ.get("PIGGYBACK_DATABASE_URL")
    if database_url:
        os.environ["PIGGYBACK_DATABASE_URL"] = database_url
    try:
        store = Store.open(db, read_only=True)
        try:
            return {s.name: s.agency_geo for s in open_scenario_store(store).list()}
        finally:
            store.close()
    finally:
        if database_url:
            if previous is None:
                os.environ.pop("PIGGYBACK_DATABASE_URL", None)
            else:
                os.environ["PIGGYBACK_DATABASE_URL"] = previous


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--servers", type=int, default=1, help="app servers sharing one PostgreSQL record")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    result = run(args.sessions, args.servers)
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    lost = [g for g in result["agencies"] if result["saved"].get(f"load {g}") != g]
    print(f"{result['sessions']} sessions on {result['servers']} server(s) in {result['wall_s']} s")
    for path, v in result["pages"].items():
        print(f"  {path or 'overview':<15} median {v['median_s']:>6} s   p90 {v['p90_s']:>6} s   n={v['n']}")
    print(f"scenarios saved: {len(result['saved'])}; lost or crossed: {len(lost)}; errors: {len(result['errors'])}")
    return 1 if result["errors"] or lost else 0


if __name__ == "__main__":
    sys.exit(main())
