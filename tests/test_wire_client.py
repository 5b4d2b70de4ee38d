"""The load test's other people (benchmarks/wire_client.py) do what a browser does to the server:
against a real app server, a slider, a number box, a selectbox and a button change what the page
computes and the link it writes, as they do from Chromium (tests/test_browser_journeys.py)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import shutil
import sys
from pathlib import Path
from urllib.parse import parse_qs

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from conftest import start_server  # noqa: E402
from wire_client import WireClient, WireError  # noqa: E402

GUELPH = "CA-CSD-3523008"


@pytest.fixture(scope="module")
def url(built_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("wire") / "app.duckdb"
    shutil.copy(built_db, db)
    proc, url = start_server(db, tmp_path_factory.mktemp("wire-logs") / "streamlit.log")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _run(coro):
    # A thread of its own: in a worker that also ran sync Playwright, this thread's event loop is
    # still marked running, and asyncio.run refuses to start another in it.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_a_weight_slider_moves_the_weights_in_the_link(url):
    async def go():
        async with WireClient(url, timeout_s=120) as person:
            await person.open("peers", f"agency={GUELPH}")
            before = parse_qs(person.query_string)
            sliders = [w.label for w in person.widgets.values() if w.kind == "slider"]
            await person.change("Population", [100.0])
            return before, sliders, parse_qs(person.query_string)

    before, sliders, after = _run(go())
    assert before["agency"] == [GUELPH] and before["weights"] == ["balanced"]
    assert len(sliders) == 8 and sliders[0] == "Population"
    weights = json.loads(after["weights"][0])  # the link now carries the weights, rescaled to 100
    assert set(weights) == {"size", "growth", "households", "jtype", "legal", "modules", "legacy", "permits"}
    assert sum(weights.values()) == pytest.approx(100, abs=len(weights))
    assert weights["size"] == max(weights.values())


def test_a_filter_and_a_peer_change_reach_the_link_and_a_button_saves(url):
    async def go():
        async with WireClient(url, timeout_s=120) as person:
            await person.open("prospects", f"agency={GUELPH}&ref=ottawa-on")
            await person.change("Population at least", 45_000.0)
            prospects = parse_qs(person.query_string)
            await person.open("compliance", f"agency={GUELPH}&peer=ottawa-on")
            await person.change("Peer contract to adopt", "Cambridge")
            compliance = parse_qs(person.query_string)
            await person.open("business-case", f"agency={GUELPH}")
            await person.change("Scenario name", "wire check")
            await person.change("Save scenario", True)
            return prospects, compliance, list(person.texts)

    prospects, compliance, texts = _run(go())
    assert prospects["pop_min"] == ["45000"] and prospects["ref"] == ["ottawa-on"]
    assert compliance["peer"] == ["cambridge-on"]
    assert any(t.startswith("Saved 'wire check'") for t in texts), texts


def test_a_widget_that_is_not_on_the_page_is_an_error_naming_what_is(url):
    async def go():
        async with WireClient(url, timeout_s=120) as person:
            await person.open("", f"agency={GUELPH}")
            await person.change("No such control", 1.0)

    with pytest.raises(WireError, match="no widget labelled 'No such control'.*Meeting mode"):
        _run(go())
