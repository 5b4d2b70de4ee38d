"""Concurrent browser sessions on one server: no state leaks between them, no scenario is lost or
crossed. (AppTest cannot stand in: it keeps process-wide state and is not thread-safe.)

The test drives its own sessions (async Playwright in a thread of its own, since the suite's sync
Playwright keeps an event loop in the main one). `python benchmarks/load_test.py --sessions 20`
runs the full load test with timings; this one checks correctness with 6 sessions."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

SESSIONS = [("CA-CSD-3523008", "Guelph, ON"), ("CA-CSD-3506008", "Ottawa, ON"), ("US-CO-48453", "Travis County, TX"),
            ("CA-CSD-4806016", "Calgary, AB"), ("CA-CSD-5915022", "Vancouver, BC"), ("US-CO-37119", "Mecklenburg County, NC")]
DONE = ("() => { const a = document.querySelector(\"[data-testid='stApp']\");"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'"
        " && document.querySelector(\"[data-testid='stMain'] h1, [data-testid='stMain'] h2\")"
        " && !document.querySelector(\"[data-testid='stSkeleton']\"); }")


async def _session(browser, url: str, geo: str, name: str, problems: list[str]) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    page.set_default_timeout(240_000)  # six browsers share two cores with the server
    try:
        for path in ("", "business-case"):  # the Overview, then the Business case
            await page.goto(f"{url}/{path}?agency={geo}")
            await page.wait_for_function(DONE)
            shown = await page.get_by_test_id("stMain").inner_text()
            if name not in shown:
                problems.append(f"{geo} on {path or 'overview'}: {name!r} is not on the page")
            others = [n for g, n in SESSIONS if g != geo and n in shown]
            if others:
                problems.append(f"{geo} on {path or 'overview'}: another session's agency shows: {others}")
            if await page.get_by_test_id("stException").count():
                problems.append(f"{geo} on {path}: an exception is shown")
        box = page.get_by_role("textbox", name="Scenario name")
        await box.fill(f"concurrent {geo}")
        await box.press("Enter")
        await page.wait_for_function(DONE)
        await page.get_by_role("button", name="Save scenario").click()
        await page.get_by_text(f"Saved 'concurrent {geo}'").wait_for()
    except Exception as exc:  # report what failed, for every session
        problems.append(f"{geo}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        await context.close()


async def _drive(url: str) -> list[str]:
    from playwright.async_api import async_playwright

    problems: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            await asyncio.wait_for(asyncio.gather(*[_session(browser, url, g, n, problems) for g, n in SESSIONS]),
                                   timeout=900)
        finally:
            await browser.close()
    return problems


def test_concurrent_sessions_keep_their_agency_and_every_save_lands(app_url, app_db):
    """Six simultaneous sessions each see only their own agency, and each one's scenario lands under it."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        problems = pool.submit(lambda: asyncio.run(_drive(app_url))).result(timeout=1200)
    assert not problems, "\n".join(problems)
    from piggyback.data.scenarios import open_scenario_store
    from piggyback.data.store import Store

    store = Store.open(app_db, read_only=True, allow_read_only_fallback=True)  # the server holds it
    try:
        saved = {s.name: s.agency_geo for s in open_scenario_store(store).list()}
    finally:
        store.close()
    for geo, _ in SESSIONS:
        assert saved.get(f"concurrent {geo}") == geo, f"lost or crossed: {geo}"
