"""When a Streamlit page is finished, in a real browser: the waits the browser benchmarks share.

``DONE`` and ``STARTED`` are the JavaScript predicates of ``bench_browser.py`` (the same strings):
finished means Streamlit's script state is back at notRunning with the page drawn (a title, no
skeleton). ``notRunning`` is also the state *before* a rerun starts, so an interaction is timed
with :func:`timed_rerun`: it marks the page, fires the event and waits until a run has been seen
since the mark **and** the page is finished again. The mark is a MutationObserver on the script
state, so a rerun that starts late (a loaded server) or ends between two polls is neither missed
nor cut short, which a fixed wait for ``STARTED`` can do. Async Playwright (the load test drives
many sessions in one event loop).
"""

from __future__ import annotations

import time

# Issue #15's budgets (seconds, at the median): one table for the benchmark and the load test.
BUDGETS_S = {
    "first page": 3.0,
    "weight change (Peers)": 1.0,
    "population filter (Prospects)": 1.0,
    "peer change (Compliance)": 1.0,
}

DONE = ("() => { const a = document.querySelector(\"[data-testid='stApp']\");"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'"
        " && document.querySelector(\"[data-testid='stMain'] h1\")"
        " && !document.querySelector(\"[data-testid='stSkeleton']\"); }")
STARTED = ("() => document.querySelector(\"[data-testid='stApp']\")"
           ".getAttribute('data-test-script-state') === 'running'")

# Arms the mark: window.__pbRan turns true once the script state has been 'running' since now.
# The observer watches the whole body, so a replaced stApp element is still seen; oldValue
# catches a run that started and ended before the callback.
MARK = ("() => { window.__pbRan = false; window.__pbHref = location.href; window.__pbQuiet = 0;"
        " if (!window.__pbObserver) {"
        "  window.__pbObserver = new MutationObserver(records => { for (const r of records) {"
        "   if (r.oldValue === 'running' || r.target.getAttribute('data-test-script-state') === 'running')"
        "    window.__pbRan = true; } });"
        "  window.__pbObserver.observe(document.body, {attributes: true, subtree: true, attributeOldValue: true,"
        "   attributeFilter: ['data-test-script-state']}); } }")
# Finished after the event: a run was seen and the page is finished again. React can draw a quick
# run's 'running' and 'notRunning' in one commit, so that run is never seen in the page; every
# interaction timed here rewrites the link, so a changed link counts as a run once the page has
# stayed finished for three frames after it (a run still going shows 'running' within them).
RAN_AND_DONE = ("() => { const done = (" + DONE + ")();"
                " if (window.__pbRan === true) return !!done;"
                " if (location.href === window.__pbHref) return false;"
                " if (!done) { window.__pbRan = true; return false; }"
                " window.__pbQuiet += 1; return window.__pbQuiet >= 3; }")


async def finished(page, timeout_ms: int = 300_000) -> None:
    """Wait until the page's current run is finished (after a goto: the new page is drawn)."""
    await page.wait_for_function(DONE, timeout=timeout_ms)


async def timed_goto(page, url: str, timeout_ms: int = 300_000) -> float:
    """Seconds from ``goto(url)`` until the page is finished."""
    t = time.perf_counter()
    await page.goto(url, timeout=timeout_ms)
    await finished(page, timeout_ms)
    return time.perf_counter() - t


async def timed_rerun(page, event, timeout_ms: int = 300_000) -> float:
    """Seconds from awaiting ``event()`` (a coroutine function: the key press, the click) until the
    rerun it caused is finished. An event that starts no rerun times out (an error, not a figure)."""
    await page.evaluate(MARK)
    t = time.perf_counter()
    await event()
    await page.wait_for_function(RAN_AND_DONE, timeout=timeout_ms)
    return time.perf_counter() - t
