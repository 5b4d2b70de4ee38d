"""Real-browser journey for the app frame: open the app, pick an agency by typing, see its profile."""

import pytest

from conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser


def test_pick_agency_by_typing_fills_profile_and_url(page, app_url):
    """Typing a name in the sidebar picker selects the agency, fills the census profile and the URL."""
    page.goto(app_url)
    wait_for_app(page)
    picker = page.get_by_role("combobox", name="Your agency")
    picker.click()
    page.keyboard.type("Guelph")
    page.get_by_role("option", name="Guelph, ON").first.wait_for()
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.get_by_test_id("stMetricValue").filter(has_text="143,740").wait_for()
    assert "agency=CA-CSD-3523008" in page.url
    assert_no_exception(page)
    assert not page.errors


def test_shared_link_reopens_agency_and_data_page_renders(page, app_url):
    """A link with the agency reopens it; the Data & sources page renders its tables without an exception."""
    page.goto(app_url + "/data?agency=CA-CSD-3506008")
    wait_for_app(page)
    page.get_by_role("heading", name="Data & sources").wait_for()
    assert page.get_by_role("combobox", name="Your agency").input_value().startswith("Ottawa, ON")
    assert page.locator("[data-testid='stDataFrame']").count() >= 1
    assert_no_exception(page)


def test_deep_link_on_a_fresh_server_shows_the_frame(page, built_db, tmp_path):
    """The first visit to a fresh server through a page link still runs app.py's frame (agency picker)."""
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
