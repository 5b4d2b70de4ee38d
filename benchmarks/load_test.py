"""Load test: N people use the app at once, one of them timed in Chromium, held to issue #15's budgets.

    python benchmarks/load_test.py [--sessions 3] [--passes 3] [--think 3] [--json OUT] [--no-budgets]
    python benchmarks/load_test.py --all-browsers           # every person a Chromium on this machine
    python benchmarks/load_test.py --sessions 20 --servers 2 # the stress run: nothing leaks or is lost

The person timed uses the app in Chromium, as in ``bench_browser.py``, ``--passes`` times (a new
visitor and a new agency each pass):

* the **first page** (the Overview link of the agency, goto until finished, on a started server:
  before the run, each server has served every page once for an agency nobody uses);
* on Peers, a **weight change** (the first slider in "Adjust weights", one ArrowRight on the
  focused slider, ArrowLeft if it is at 100);
* on Prospects (reference Ottawa), a **population filter** ("Population at least", typed, timed
  from the Enter; a minimum of its own each pass, so not a ranking the server's cache holds);
* on Compliance (peer Ottawa), a **peer change** ("Peer contract to adopt" to Cambridge, timed
  from the Enter that picks it);
* then saves a scenario from the Business case page.

Meanwhile the ``--sessions - 1`` other people make the same journey, again and again until the
timed person is done, from "their own machines": they speak Streamlit's wire protocol to the
server (``wire_client.py``: the same page requests and widget values a browser sends, every
element sent back in full), so the server does their work while no browser of theirs draws on
the server's two cores. Their times, the server's side of each step, are printed, not judged.
Why not a Chromium each: in use, each person's browser runs on that person's computer. On this
2-core machine three Chromiums and the server share the cores, and most of a step is the
browser drawing, so the all-browser rig measured the rig (``--all-browsers`` still runs it).

"Finished" is Streamlit's script state back at notRunning with the page drawn, after a rerun
seen to start (``browser_steps.py``). Every page must show the timed person's agency and no
exception (the other people: no exception element and every run finished); afterwards every
scenario must be in the users' record under its own agency (distinct names per person and pass,
so one saved under another's agency is seen). The steps in ``BUDGETS_S`` are judged at the
median over the timed passes, each with its median, p90, n, budget, ratio and a verdict line.

Exit status 1 when any budgeted median is over its budget (or was not measured), when any error
happened, or when a scenario was lost or crossed; 0 otherwise. ``--no-budgets`` prints the same
figures but judges only errors and scenarios; ``--json`` writes everything, verdicts included.

With --servers 2 (or more), a throw-away PostgreSQL cluster holds the shared users' record
(PIGGYBACK_DATABASE_URL) and the people are spread over the servers, as sticky sessions behind
nginx would spread them. The servers run on copies of the database on 127.0.0.1 only; the run
is bounded (25-minute cap).

Each person pauses --think seconds (default 3, untimed) between actions, and the people start
apart: people read a page before acting and do not click at the same instant (``--think 0`` makes
the other people act back to back, the harshest case). Medians in seconds, first page / weight
change / population filter / peer change:

    2026-11-29 18:42-18:51 UTC, quiet machine (load average 2 to 5), one server unless said:
    --sessions 3 (the default):                    1.99 / 0.49 / 0.37 / 0.40   within budget   81 s
    --sessions 3 --think 0:                        2.84 / 0.77 / 0.54 / 0.56   within budget   45 s
    --sessions 6:                                  2.63 / 0.78 / 0.40 / 0.39   within budget   93 s
    --sessions 10:                                 2.82 / 1.10 / 0.52 / 0.83   weight change over
    --sessions 20 --servers 2 (PostgreSQL record): 4.56 / 0.64 / 0.32 / 0.64   first page over; 22 of 22
                                                   scenarios saved under their own agency
    --sessions 3 --all-browsers --passes 1:        4.78 / 0.74 / 0.56 / 0.51   first page over (three
                                                   Chromiums opening at once on the server's cores)

The budgets are judged at the default, three people at once (one per journey), where the app is
within all four; the runs above show where it stops being so. One person alone:
``bench_browser.py``. Before the redesign (three Chromiums, 16:40 the same day, before the pages
drew less): 5.9 / 2.1 / 0.9 / 1.9.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser_steps import BUDGETS_S, finished, timed_goto, timed_rerun  # noqa: E402  (judged at the median over sessions)
DEFAULT_SESSIONS = 3
DEFAULT_PASSES = 3  # the timed person's passes through the journey: n = 3 per budgeted step
DEFAULT_THINK_S = 3.0  # a person reads a page for a few seconds before the next action

AGENCIES = [  # (geo_id, name shown in the sidebar picker)
    ("CA-CSD-3523008", "Guelph, ON"), ("CA-CSD-3506008", "Ottawa, ON"), ("CA-CSD-3525005", "Hamilton (City), ON"),
    ("CA-CSD-3520005", "Toronto, ON"), ("CA-CSD-3539036", "London, ON"), ("CA-CSD-3530010", "Cambridge, ON"),
    ("CA-CSD-4806016", "Calgary, AB"), ("CA-CSD-4811061", "Edmonton, AB"), ("CA-CSD-5915022", "Vancouver, BC"),
    ("CA-CSD-2466023", "Montréal, QC"), ("US-CO-48453", "Travis County, TX"), ("US-CO-06037", "Los Angeles County, CA"),
    ("US-CO-37119", "Mecklenburg County, NC"), ("US-PL-05-143-23290", "Fayetteville, AR"),
    ("US-PL-48-000-19000", "Dallas, TX"), ("US-CO-12011", "Broward County, FL"), ("US-CO-32031", "Washoe County, NV"),
    ("US-PL-06-107-82954", "Visalia, CA"), ("US-PL-04-025-57380", "Prescott, AZ"), ("US-CO-17031", "Cook County, IL"),
]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
# What a started server has served before the sessions come: each page once, for an agency no
# session uses (Kitchener), so the process has imported and loaded what every page needs while
# each session's own agency is still new to it.
WARM_UP = [f"{path}?agency=CA-CSD-3530013{extra}" for path, extra in
           [("", ""), ("peers", ""), ("prospects", "&ref=ottawa-on"), ("compliance", "&peer=ottawa-on"),
            ("business-case", "")]]
TIMEOUT_MS = 300_000  # one step, when twenty browsers share the server's two cores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the verdict: pure, tested in tests/test_load_budgets.py ---------------------------------------

def summarise(timings: dict[str, list[float]], budgets: dict[str, float] = BUDGETS_S) -> dict[str, dict]:
    """Per step: median, p90 (nearest rank), n; a budgeted step also gets its budget, the ratio
    median/budget and whether it is within (median < budget). A budgeted step nobody finished has
    n = 0 and no median: it is not within its budget."""
    steps: dict[str, dict] = {}
    for step in [*budgets, *(s for s in timings if s not in budgets)]:
        v = sorted(timings.get(step, []))
        row: dict = {"median_s": round(statistics.median(v), 3) if v else None,
                     "p90_s": round(v[max(0, math.ceil(0.9 * len(v)) - 1)], 3) if v else None, "n": len(v)}
        if step in budgets:
            median = statistics.median(v) if v else None
            row.update(budget_s=budgets[step], ratio=round(median / budgets[step], 2) if v else None,
                       within_budget=bool(v) and median < budgets[step])
        steps[step] = row
    return steps


def verdict(steps: dict[str, dict], errors: list[str], lost: list[str], judge_budgets: bool = True) -> tuple[int, list[str]]:
    """The exit status and the lines that explain it: one line per step (a verdict for the
    budgeted ones), then the scenarios and errors. Status 1 on an error, a lost scenario, or
    (unless ``judge_budgets`` is false) a budgeted step over its budget or not measured."""
    lines, over = [], []
    for step, r in steps.items():
        figures = (f"{step:<31} median {r['median_s']:>7.2f} s  p90 {r['p90_s']:>7.2f} s  n={r['n']:<3}"
                   if r["n"] else f"{step:<31} not measured (no session got this far)")
        if "budget_s" not in r:
            lines.append(figures)
            continue
        if not r["n"]:
            state = "NOT MEASURED"
        else:
            state = "within budget" if r["within_budget"] else "OVER budget"
            figures += f"  budget {r['budget_s']:.1f} s  ratio {r['ratio']:.2f}"
        lines.append(f"{figures}  -> {state}")
        if not r["within_budget"]:
            over.append(step)
    lines.append(f"scenarios lost or crossed: {len(lost)}; errors: {len(errors)}")
    lines.extend(f"  error: {e}" for e in errors)
    lines.extend(f"  lost or crossed: {g}" for g in lost)
    failed = bool(errors or lost or (judge_budgets and over))
    if judge_budgets:
        lines.append(f"FAIL: over budget or not measured: {', '.join(over)}" if over
                     else "every budgeted step is within its budget at the median")
    else:
        lines.append("budgets not judged (--no-budgets)")
    lines.append("exit 1" if failed else "exit 0")
    return (1 if failed else 0), lines


# -- one session ----------------------------------------------------------------------------------

async def _check(page, where: str, geo: str, name: str | None, errors: list) -> None:
    """The page shows this session's agency (when it names it) and no exception."""
    if name is not None:
        shown = await page.get_by_test_id("stMain").inner_text()
        if name.split(" (")[0] not in shown:
            errors.append(f"{geo} on {where}: the page does not show {name!r}")
    exceptions = page.get_by_test_id("stException")
    if await exceptions.count():
        text = (await exceptions.first.inner_text()).strip().splitlines()
        errors.append(f"{geo} on {where}: exception on the page: {' '.join(text[:2])[:200]}")


async def _session(browser, url: str, geo: str, name: str, scenario: str, timings: dict, errors: list,
                   think: float = 0.0, minimum: int = 40_000) -> None:
    """One visitor in Chromium (a new context: a cold browser cache) through the journey, timed."""
    def note(step: str, seconds: float) -> None:
        timings.setdefault(step, []).append(seconds)

    async def pause() -> None:  # a person reads the page before the next action (not timed)
        await asyncio.sleep(think)

    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        note("first page", await timed_goto(page, f"{url}/?agency={geo}"))
        await _check(page, "overview", geo, name, errors)
        await pause()

        note("page: peers", await timed_goto(page, f"{url}/peers?agency={geo}"))
        await _check(page, "peers", geo, name, errors)
        await page.get_by_text("Adjust weights").click()
        slider = page.get_by_test_id("stExpander").filter(has_text="Adjust weights").get_by_role("slider").first
        await slider.focus()
        await pause()
        at_top = await slider.get_attribute("aria-valuenow") == await slider.get_attribute("aria-valuemax")
        key = "ArrowLeft" if at_top else "ArrowRight"
        note("weight change (Peers)", await timed_rerun(page, lambda: page.keyboard.press(key)))
        await _check(page, "peers after a weight change", geo, name, errors)

        note("page: prospects", await timed_goto(page, f"{url}/prospects?agency={geo}&ref=ottawa-on"))
        await _check(page, "prospects", geo, None, errors)  # a vendor's page: it names the reference, not the agency
        box = page.get_by_role("spinbutton", name="Population at least")
        await box.fill(str(minimum))
        await pause()
        note("population filter (Prospects)", await timed_rerun(page, lambda: box.press("Enter")))
        if f"pop_min={minimum}" not in page.url:
            errors.append(f"{geo} on prospects: the population filter did not reach the link ({page.url})")
        await _check(page, "prospects after a filter", geo, None, errors)

        note("page: compliance", await timed_goto(page, f"{url}/compliance?agency={geo}&peer=ottawa-on"))
        await _check(page, "compliance", geo, None, errors)
        await page.get_by_role("combobox", name="Peer contract to adopt").click()
        await page.keyboard.type("Cambridge")
        await page.get_by_role("option", name=re.compile("Cambridge")).first.wait_for()
        await pause()
        note("peer change (Compliance)", await timed_rerun(page, lambda: page.keyboard.press("Enter")))
        if "peer=cambridge-on" not in page.url:
            errors.append(f"{geo} on compliance: the peer change did not reach the link ({page.url})")
        await _check(page, "compliance after a peer change", geo, None, errors)
        await pause()

        note("page: business case", await timed_goto(page, f"{url}/business-case?agency={geo}"))
        await _check(page, "business case", geo, name, errors)
        # Save this session's analysis as a scenario from the Business case page.
        t = time.perf_counter()
        name_box = page.get_by_role("textbox", name="Scenario name")
        await name_box.fill(scenario)
        await name_box.press("Enter")
        await finished(page)
        await page.get_by_role("button", name="Save scenario").click()
        # Done when the page says so: a rerun that has not started yet would look finished.
        await page.get_by_text(f"Saved '{scenario}'").wait_for(timeout=TIMEOUT_MS)
        note("save scenario", time.perf_counter() - t)
    except Exception as exc:  # report, do not hide, what failed
        errors.append(f"{geo}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    finally:
        await context.close()


async def _wire_session(url: str, index: int, geo: str, scenario: str, timings: dict, errors: list,
                        think: float, stop: asyncio.Event) -> None:
    """Another person, on their own machine: the same journey as the timed person's, spoken to the
    server in Streamlit's protocol (``wire_client.py``), again and again until the timed person is
    done. Their times are the server's side of each step (printed, not judged). Saves its scenario
    on the first pass."""
    from wire_client import WireClient, WireError

    def note(step: str, seconds: float) -> None:
        timings.setdefault(f"other people, server side: {step}", []).append(seconds)

    async def pause() -> bool:  # True when the timed person is done
        try:
            await asyncio.wait_for(stop.wait(), timeout=think)
        except asyncio.TimeoutError:
            pass
        return stop.is_set()

    await asyncio.sleep(think * (index + 1) / 3)  # people do not all click at the same instant
    saved = False
    try:
        async with WireClient(url, timeout_s=TIMEOUT_MS / 1000) as person:
            while not stop.is_set():
                note("first page", await person.open("", f"agency={geo}"))
                if await pause():
                    break
                await person.open("peers", f"agency={geo}")
                slider = next(w for w in person.widgets.values() if w.kind == "slider")
                note("weight change (Peers)", await person.change(slider.label, [40.0 + index + len(timings)]))
                if await pause():
                    break
                await person.open("prospects", f"agency={geo}&ref=ottawa-on")
                note("population filter (Prospects)",
                     await person.change("Population at least", float(30_000 + 997 * index + 13 * len(timings))))
                if await pause():
                    break
                await person.open("compliance", f"agency={geo}&peer=ottawa-on")
                note("peer change (Compliance)", await person.change("Peer contract to adopt", "Cambridge"))
                if await pause():
                    break
                if not saved:
                    await person.open("business-case", f"agency={geo}")
                    await person.change("Scenario name", scenario)
                    await person.change("Save scenario", True)
                    saved = True
                    if await pause():
                        break
    except (WireError, OSError, asyncio.TimeoutError, StopIteration) as exc:
        errors.append(f"{geo} (protocol client): {type(exc).__name__}: {exc}")


async def _run(urls: list[str], sessions: int, think: float = 0.0, passes: int = DEFAULT_PASSES,
               all_browsers: bool = False) -> dict:
    """One person timed in Chromium for ``passes`` passes (a new agency and a new visitor each
    time) while the other ``sessions - 1`` people use the app at the same time through the
    protocol; with ``all_browsers`` every person is a Chromium session, all timed."""
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    timings: dict[str, list[float]] = {}
    errors: list[str] = []
    browsers = sessions if all_browsers else 1
    # Who does what: (person, pass) -> an agency and the scenario it saves (distinct names, so a
    # scenario saved under another person's agency, or lost, is seen afterwards).
    plan = [(i, k) for i in range(browsers) for k in range(passes)] + [(i, 0) for i in range(browsers, sessions)]
    chosen = {(i, k): (*AGENCIES[n % len(AGENCIES)], f"load {i}.{k} {AGENCIES[n % len(AGENCIES)][0]}")
              for n, (i, k) in enumerate(plan)}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for url in urls:  # a started server has served its pages before: not part of any figure
            warm = await browser.new_page()
            for path in WARM_UP:
                await warm.goto(f"{url}/{path}", timeout=TIMEOUT_MS)
                await finished(warm)
            await warm.close()
        stop = asyncio.Event()

        async def timed_person(i: int) -> None:
            await asyncio.sleep(think * i / browsers)  # people do not all click at the same instant
            for k in range(passes):
                geo, name, scenario = chosen[i, k]
                # a ranking of its own per pass: not one the server's cache holds
                await _session(browser, urls[i % len(urls)], geo, name, scenario, timings, errors, think,
                               minimum=40_000 + 1_000 * (i * passes + k))
            stop.set()  # the other people stop with the (first) timed person

        others = [_wire_session(urls[i % len(urls)], i - browsers, chosen[i, 0][0], chosen[i, 0][2], timings,
                                errors, think, stop) for i in range(browsers, sessions)]
        t = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*[timed_person(i) for i in range(browsers)], *others), timeout=1500)
        wall = time.perf_counter() - t
        await browser.close()
    return {"sessions": sessions, "timed_in_browser": browsers, "passes": passes, "think_s": think,
            "wall_s": round(wall, 1), "timings_s": timings, "errors": errors,
            "expected": {scenario: geo for geo, _, scenario in chosen.values()}}


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


def run(sessions: int = DEFAULT_SESSIONS, servers: int = 1, think: float = DEFAULT_THINK_S,
        passes: int = DEFAULT_PASSES, all_browsers: bool = False) -> dict:
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
        result = asyncio.run(_run(urls, sessions, think, passes, all_browsers))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
    try:
        result["saved"] = _saved_scenarios(dbs[0], env.get("PIGGYBACK_DATABASE_URL"))
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
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
    parser.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS,
                        help=f"people using the app at once (default {DEFAULT_SESSIONS}): one timed in Chromium, the "
                             "others through Streamlit's protocol (their browsers are on their own machines)")
    parser.add_argument("--passes", type=int, default=DEFAULT_PASSES,
                        help=f"passes of the timed person through the journey, a new agency each (default {DEFAULT_PASSES})")
    parser.add_argument("--all-browsers", action="store_true",
                        help="every person in a Chromium on this machine, all timed (the browsers then share the "
                             "server's cores: a harsher rig than use)")
    parser.add_argument("--servers", type=int, default=1, help="app servers sharing one PostgreSQL record")
    parser.add_argument("--think", type=float, default=DEFAULT_THINK_S,
                        help=f"seconds each person pauses between actions, untimed (default {DEFAULT_THINK_S:g}; 0: "
                             "every session acts at the same instant)")
    parser.add_argument("--json", default=None, help="write the figures, budgets and verdicts here")
    parser.add_argument("--no-budgets", action="store_true",
                        help="print the figures without judging them (exit 1 only on errors or lost scenarios)")
    args = parser.parse_args(argv)
    result = run(args.sessions, args.servers, args.think, args.passes, args.all_browsers)
    lost = [f"{name} (expected under {geo}, found under {result['saved'].get(name)})"
            for name, geo in result["expected"].items() if result["saved"].get(name) != geo]
    steps = summarise(result["timings_s"])
    status, lines = verdict(steps, result["errors"], lost, judge_budgets=not args.no_budgets)
    who = ("every one timed in Chromium" if args.all_browsers else
           f"one timed in Chromium ({args.passes} passes), {args.sessions - 1} through the protocol")
    print(f"{result['sessions']} people ({who}) on {result['servers']} server(s), {args.think:g} s between actions, "
          f"in {result['wall_s']} s; scenarios saved: {len(result['saved'])}")
    print("\n".join(lines))
    if args.json:
        out = {**result, "steps": steps, "budgets_s": BUDGETS_S, "budgets_judged": not args.no_budgets,
               "lost": lost, "verdict": lines, "exit_status": status}
        Path(args.json).write_text(json.dumps(out, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
