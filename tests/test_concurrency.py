"""Concurrent browser sessions on one server: no state leaks between them, no scenario is lost or
crossed. (AppTest cannot stand in: it keeps process-wide state and is not thread-safe.)

The suite runs 6 sessions at once, since the browsers share the machine's two cores with the
server; `python benchmarks/load_test.py --sessions 20` runs the full 20-session load test."""

import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.browser


def test_concurrent_sessions_keep_their_agency_and_every_save_lands(capsys):
    """Each of 6 simultaneous sessions sees only its own agency and its saved scenario lands under it."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import load_test

    # Its own thread: the suite's sync Playwright keeps an event loop running in this one.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(load_test.run, 6).result(timeout=1200)
    assert not result["errors"], "\n".join(result["errors"])
    assert len(result["agencies"]) == 6
    for geo in result["agencies"]:
        assert result["saved"].get(f"load {geo}") == geo
    with capsys.disabled():
        print(f"\nload test: {result['sessions']} sessions in {result['wall_s']} s; " + "; ".join(
            f"{k} median {v['median_s']} s, p90 {v['p90_s']} s" for k, v in result["pages"].items()))
