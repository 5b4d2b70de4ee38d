"""Two app servers, one PostgreSQL record, real browsers: a scenario saved through server A opens
by its link through server B, and evidence recorded on B shows on A. (What nginx adds, sticky
sessions, is a routing rule; here each browser talks to one server directly, as nginx would
pin it.)"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import pg_cluster
from conftest import ROOT, assert_no_exception, save_scenario, start_server, wait_for_app

pytestmark = pytest.mark.browser
GUELPH = "CA-CSD-3523008"
RULE_LABEL = re.compile(r"\b([A-Z]{2,4}-\d{2}):")


@pytest.fixture(scope="module")
def servers(built_db, tmp_path_factory, browser):
    try:
        cluster = pg_cluster.start_cluster()
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL server for the tests: {exc}")
    procs: list[subprocess.Popen] = []
    try:
        url = cluster.create_database("replicas")
        folder = tmp_path_factory.mktemp("replicas")
        with pytest.MonkeyPatch.context() as mp:  # only the servers see the shared record's address
            mp.setenv("PIGGYBACK_DATABASE_URL", url)
            dbs = []
            for name in ("a", "b"):
                dbs.append(folder / f"server-{name}.duckdb")
                shutil.copy(built_db, dbs[-1])
            with ThreadPoolExecutor(max_workers=2) as pool:
                started = list(pool.map(lambda i: start_server(dbs[i], folder / f"server-{i}.log"), range(2)))
        procs = [p for p, _ in started]
        urls = [u for _, u in started]
        for u in urls:  # one warm-up visit each, as conftest's app_url does
            warm = browser.new_page()
            warm.goto(u)
            wait_for_app(warm)
            warm.close()
        yield urls
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        cluster.stop()


def rule_card(page, rule_id: str):
    """The checklist card of one rule (other expanders mention rule ids in their text too)."""
    return page.get_by_test_id("stExpander").filter(has=page.locator("summary", has_text=f"{rule_id}:"))


def test_a_scenario_saved_on_server_a_opens_by_its_link_on_server_b(page, servers):
    a, b = servers
    page.goto(a + f"/business-case?agency={GUELPH}&peer=fayetteville-ar")
    wait_for_app(page)
    page.get_by_test_id("stMetricValue").first.wait_for()
    link = save_scenario(page, "Saved on server A")
    scenario_id = re.search(r"scenario=([0-9a-f]+)", link).group(1)
    assert_no_exception(page)

    other = page.context.new_page()
    other.set_default_timeout(30_000)
    other.goto(b + f"/business-case?scenario={scenario_id}")
    wait_for_app(other)
    other.get_by_test_id("stMetricValue").first.wait_for()
    assert other.get_by_role("textbox", name="Scenario name").input_value() == "Saved on server A"
    assert "Fayetteville" in other.get_by_role("combobox", name="Peer contract to adopt").input_value()
    assert_no_exception(other)
    assert not page.errors


def test_evidence_recorded_on_server_b_shows_on_server_a(page, servers):
    a, b = servers
    page.goto(b + f"/compliance?agency={GUELPH}&peer=ottawa-on")
    wait_for_app(page)
    summaries = page.get_by_test_id("stExpander").locator("summary").all_inner_texts()
    rule_id = next(m.group(1) for s in summaries if "needs evidence" in s and (m := RULE_LABEL.search(s)))
    card = rule_card(page, rule_id)
    card.locator("summary").click()
    card.get_by_label("Note").fill("Recorded through server B")
    card.get_by_label("Link").fill("https://ottawa.ca/en/business/bids-and-contracts")
    card.get_by_role("button", name="Record evidence").click()
    wait_for_app(page)
    rule_card(page, rule_id).get_by_text("Evidence recorded.").wait_for()

    other = page.context.new_page()
    other.set_default_timeout(30_000)
    other.goto(a + f"/compliance?agency={GUELPH}&peer=ottawa-on")
    wait_for_app(other)
    card_a = rule_card(other, rule_id)
    assert re.search(rf"pass · \w+ · {rule_id}:", card_a.locator("summary").inner_text())
    card_a.locator("summary").click()
    card_a.get_by_text("Recorded through server B").first.wait_for()
    assert_no_exception(other)
    assert not page.errors


def test_the_replica_script_starts_postgres_two_servers_and_nginx_then_stops_them():
    """scripts/run_replicas.sh --check: every part answers through nginx (route cookie set, the
    websocket upgraded), then everything is stopped and the throw-away cluster removed."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run installs it)")
    if pg_cluster.pg_bin() is None:
        pytest.skip("PostgreSQL binaries not found (see .ci/run)")
    ports = [pg_cluster.free_port() for _ in range(3)]
    env = {**os.environ, "LB_PORT": str(ports[0]), "APP_PORTS": f"{ports[1]} {ports[2]}", "PYTHON": sys.executable}
    env.pop("PIGGYBACK_DATABASE_URL", None)
    result = subprocess.run(["bash", str(ROOT / "scripts" / "run_replicas.sh"), "--check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "check passed: route cookie set, websocket upgraded through nginx" in result.stderr
    assert "schema version" in result.stdout  # the migrate step ran
    folder = re.search(r"\(folder (\S+)/pg\)", result.stderr).group(1)
    assert not Path(folder).exists()  # the throw-away cluster is gone
    for port in ports:  # and nothing listens any more
        pg_cluster.wait_closed(port, timeout=10)
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
