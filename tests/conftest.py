"""Shared fixtures: one database built per test session, copies for tests that write, the app
served by a real Streamlit process, and a headless Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="piggyback-tests-"))
BUILT_DB = _SESSION_DIR / "built.duckdb"  # read-only for the whole run (fixture `store`, CLI reads)
APP_DB = _SESSION_DIR / "app.duckdb"  # the copy AppTest scripts open (in-process, writable)
# Everything in this run uses the test databases, never the user's.
os.environ["PIGGYBACK_DB"] = str(APP_DB)
os.environ.setdefault("PIGGYBACK_USER", "test-runner")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


@pytest.fixture(scope="session", autouse=True)
def built_db() -> Path:
    """The database built once from data/ for the whole run (treat as read-only), and the copy
    that AppTest scripts use."""
    from piggyback.data.store import build

    if not BUILT_DB.exists():
        build(BUILT_DB)
        shutil.copy(BUILT_DB, APP_DB)
    return BUILT_DB


@pytest.fixture(scope="session")
def store(built_db):
    from piggyback.data.store import Store

    s = Store.open(built_db, read_only=True)
    yield s
    s.close()


@pytest.fixture()
def db_copy(built_db, tmp_path) -> Path:
    """A private copy of the built database for a test that writes."""
    target = tmp_path / "copy.duckdb"
    shutil.copy(built_db, target)
    return target


@pytest.fixture()
def writable_store(db_copy):
    from piggyback.data.store import Store

    s = Store.open(db_copy)
    yield s
    s.close()


def run_cli(*args: str, db: Path | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run the CLI in this process (``piggyback.cli.main``), as ``python -m piggyback`` would run,
    returning what a finished process would: exit code, stdout and stderr. In process, because a
    new interpreter per call cost most of the CLI tests' time; ``run_cli_process`` keeps one real
    subprocess for the smoke test."""
    import contextlib
    import io

    from piggyback import cli
    out, err = io.StringIO(), io.StringIO()
    previous = os.environ.get("PIGGYBACK_DB")
    os.environ["PIGGYBACK_DB"] = str(db or BUILT_DB)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([str(a) for a in args])
    finally:
        if previous is None:
            os.environ.pop("PIGGYBACK_DB", None)
        else:
            os.environ["PIGGYBACK_DB"] = previous
    return subprocess.CompletedProcess([sys.executable, "-m", "piggyback", *args], code, out.getvalue(), err.getvalue())


def run_cli_process(*args: str, db: Path | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run ``python -m piggyback`` as a user would, in a new process."""
    env = {**os.environ, "PIGGYBACK_DB": str(db or BUILT_DB)}
    return subprocess.run([sys.executable, "-m", "piggyback", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(built_db, tmp_path_factory, browser):
    """A real app server (`python -m piggyback.ui.server`, i.e. `streamlit run app.py`) on a free loopback port, on a copy of the built database."""
    db = tmp_path_factory.mktemp("server") / "app.duckdb"
    shutil.copy(built_db, db)
    _SERVER_DB.append(db)
    proc, url = start_server(db, tmp_path_factory.mktemp("logs") / "streamlit.log")
    # Streamlit 1.67 with st.navigation drops the first widget change of the first session a
    # fresh process serves (that session learned the pages only after its first run), so one
    # warm-up visit is made before the tests, as a server would have had in real use.
    warm = browser.new_page()
    warm.goto(url)
    wait_for_app(warm)
    warm.close()
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


_SERVER_DB: list[Path] = []


@pytest.fixture(scope="session")
def app_db(app_url) -> Path:
    """The reference store the `app_url` server runs on (its users' record sits beside it)."""
    return _SERVER_DB[-1]


def start_server(db: Path, log_path: Path, edits: bool = True):
    """`python -m piggyback.ui.server` on a free loopback port; returns (process, url) once healthy."""
    port = _free_port()
    env = {**os.environ, "PIGGYBACK_DB": str(db)}
    if edits:
        env["PIGGYBACK_ALLOW_EDITS"] = "1"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "piggyback.ui.server", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"streamlit did not start; see {log_path}")


@pytest.fixture(scope="session")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package (see .ci/run)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    yield pg
    context.close()


def wait_for_app(page) -> None:
    """Wait until Streamlit has finished the current run (no sleeping)."""
    page.wait_for_selector("[data-testid='stApp']")
    # After an interaction the rerun may not have started yet: give it a moment to start.
    try:
        page.wait_for_function(
            "() => document.querySelector(\"[data-testid='stApp']\")"
            ".getAttribute('data-test-script-state') === 'running'", timeout=700)
    except Exception:  # it was quick, or nothing reran: both fine
        pass
    # 'notRunning' is also the state before the first run starts, so wait for content too.
    page.wait_for_function(
        "() => { const a = document.querySelector(\"[data-testid='stApp']\");"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'"
        " && document.querySelector(\"[data-testid='stSidebar'] [data-testid='stSelectbox']\")"
        " && !document.querySelector(\"[data-testid='stSkeleton']\"); }", timeout=60_000)


def save_scenario(page, name: str, timeout_ms: int = 60_000) -> str:
    """On the Business case page: save the analysis under ``name`` as a person does (type the name,
    Enter, the button) and wait for the page to say it; returns the scenario's link as shown."""
    box = page.get_by_role("textbox", name="Scenario name")
    box.fill(name)
    box.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Save scenario").click()
    wait_for_app(page)
    page.get_by_text(f"Saved '{name}' (version 1).").wait_for(timeout=timeout_ms)
    return page.get_by_test_id("stMain").get_by_test_id("stCode").inner_text().strip()


def assert_no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, page.locator(
        "[data-testid='stException']").first.inner_text()


def person(name: str, role: str = "member", source: str = "local"):
    """A signed-in user for tests that call write functions as a given role."""
    from piggyback.core.identity import Role, User

    return User(id=f"{source}:{name}", role=Role[role], label=name, source=source)


def record_count(store, table: str, where: str = "", params=()) -> int:
    """Rows of a users' record table (scenarios, evidence, audit_log …)."""
    return store.record.rows(f"SELECT COUNT(*) FROM {table} {where}", list(params))[0][0]  # test-only names


def pytest_collection_modifyitems(items) -> None:
    """Browser files first. The suite runs on pytest-xdist workers, one file per worker at a time
    (`--dist loadfile`), handed out in collection order: the long browser files started last left
    one worker busy for a minute after the other had finished. Order within a file is kept."""
    browser_files = {item.path for item in items if item.get_closest_marker("browser")}
    items.sort(key=lambda item: item.path not in browser_files)
