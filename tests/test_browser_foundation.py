"""Real-browser journey for the app frame: open the app, pick an agency by typing, see its profile."""

import re

import pytest
from playwright.sync_api import expect

from conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser


def test_pick_agency_by_typing_fills_profile_and_url(page, app_url):
    """Typing a name (no accent needed) in 'Find your agency' lists the best matches from the server;
    picking one fills the census profile and the URL."""
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_role("searchbox", name="Find your agency").click()
    page.keyboard.type("guelph")
    picker = page.get_by_role("combobox", name="Your agency")
    expect(page.get_by_text("best match")).to_be_visible()
    picker.click()
    options = page.get_by_role("option")
    expect(options.first).to_have_text(re.compile(r"^Guelph, ON · City · population 143,740"))
    assert options.count() <= 10  # only the matches reach the browser, never the 33,616 places
    options.first.click()
    expect(page.get_by_test_id("stMetricValue").filter(has_text="143,740")).to_be_visible()
    expect(page).to_have_url(re.compile(r"agency=CA-CSD-3523008"))
    assert_no_exception(page)
    assert not page.errors


def test_finder_suggestions_arrive_quickly_and_without_accents(page, app_url):
    """'Saint-Elzear' (no accent) lists the two Saint-Elzéar first, the larger on top; the first
    suggestions come within a second of the keystroke on a warm server (the finder alone is
    measured in benchmarks/bench_finder.py)."""
    import time

    page.goto(app_url)
    wait_for_app(page)
    box = page.get_by_role("searchbox", name="Find your agency")
    box.click()
    page.keyboard.type("Saint-Elzea")
    t = time.perf_counter()
    page.keyboard.type("r")
    expect(page.get_by_text("best match")).to_be_visible()
    elapsed = time.perf_counter() - t
    page.get_by_role("combobox", name="Your agency").click()
    expect(page.get_by_role("option").first).to_have_text(
        re.compile(r"^Saint-Elzéar \(Municipality, La Nouvelle-Beauce\), QC"))
    assert elapsed < 1.5, f"suggestions took {elapsed:.2f} s (100 ms of it is the typing pause)"


def test_link_with_an_agency_name_opens_it(page, app_url):
    page.goto(app_url + "/?agency=Guelph,%20ON")
    wait_for_app(page)
    expect(page.get_by_test_id("stMetricValue").filter(has_text="143,740")).to_be_visible()
    expect(page).to_have_url(re.compile(r"agency=CA-CSD-3523008"))
    assert page.get_by_role("combobox", name="Your agency").input_value().startswith("Guelph, ON")


def test_overview_has_its_own_address(page, app_url):
    """/overview opens the Overview page, not 'Page not found'."""
    page.goto(app_url + "/overview?agency=CA-CSD-3523008")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Guelph, ON")).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)


def test_shared_link_reopens_agency_and_data_page_renders(page, app_url):
    """A link with the agency reopens it; the Data & sources page renders its tables without an exception."""
    page.goto(app_url + "/data?agency=CA-CSD-3506008")
    wait_for_app(page)
    page.get_by_role("heading", name="Data & sources").wait_for()
    assert page.get_by_role("combobox", name="Your agency").input_value().startswith("Ottawa, ON")
    assert page.locator("[data-testid='stDataFrame']").count() >= 1
    assert_no_exception(page)


def test_deep_link_on_a_fresh_server_opens_without_page_not_found(page, built_db, tmp_path):
    """The first visit to a fresh server through a page link runs app.py's frame (agency picker) on
    the page linked, with no "Page not found" dialog (plain `streamlit run` showed one: until its
    first st.navigation call Streamlit read pages/ as an automatic menu; piggyback.ui.server)."""
    import shutil

    from conftest import start_server

    db = tmp_path / "cold.duckdb"
    shutil.copy(built_db, db)
    proc, url = start_server(db, tmp_path / "cold.log", edits=False)
    try:
        page.goto(url + "/data?agency=CA-CSD-3523008")
        wait_for_app(page)
        page.get_by_role("heading", name="Data & sources").wait_for()
        assert page.get_by_role("combobox", name="Your agency").input_value().startswith("Guelph, ON")
        assert "/data?" in page.url
        expect(page.get_by_role("dialog")).to_have_count(0)
        assert page.get_by_text("Page not found").count() == 0
        assert_no_exception(page)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_no_page_file_is_named_like_its_url():
    """Page files never share their url_path's name (a fresh server would run them without app.py)."""
    import ast

    from conftest import ROOT

    tree = ast.parse((ROOT / "app.py").read_text())
    pages = next(ast.literal_eval(n.value) for n in tree.body
                 if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PAGES")
    for path, _title, url_path, *_ in pages:
        stem = path.rsplit("/", 1)[-1].removesuffix(".py").lstrip("0123456789_")
        assert stem != url_path, path  # Streamlit's pages/ names keep underscores (business_case)
