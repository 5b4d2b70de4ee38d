"""Real-browser journey: save a scenario, open its link in a new page, export the PDF."""

import pytest

from conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser


def test_save_open_link_and_export_pdf(page, app_url):
    """A saved scenario's link reopens the agency and peer in a new session, which then downloads the PDF."""
    page.goto(app_url + "/business-case?agency=CA-CSD-3523008&peer=fayetteville-ar")
    wait_for_app(page)
    page.get_by_test_id("stMetricValue").first.wait_for()
    name = page.get_by_role("textbox", name="Scenario name")
    name.fill("Browser journey")
    name.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Save scenario").click()
    wait_for_app(page)
    page.get_by_text("Saved 'Browser journey' (version 1).").wait_for()
    link = page.get_by_test_id("stCode").inner_text().strip()
    assert "/business-case?scenario=" in link
    assert_no_exception(page)

    other = page.context.new_page()  # a new tab: a new Streamlit session
    other.set_default_timeout(30_000)
    other.goto(link)
    wait_for_app(other)
    other.get_by_test_id("stMetricValue").first.wait_for()
    assert other.get_by_role("combobox", name="Your agency").input_value().startswith("Guelph, ON")
    assert "Fayetteville" in other.get_by_role("combobox", name="Peer contract to adopt").input_value()
    assert "agency=CA-CSD-3523008" in other.url and "scenario=" in other.url
    assert other.get_by_role("textbox", name="Scenario name").input_value() == "Browser journey"

    other.get_by_role("button", name="Build the PDF").click()
    download_button = other.get_by_role("button", name="Download PDF")
    download_button.wait_for(timeout=120_000)
    wait_for_app(other)
    with other.expect_download(timeout=60_000) as info:
        download_button.click()
    path = info.value.path()
    assert info.value.suggested_filename.startswith("business-case-guelph-on-")
    assert info.value.suggested_filename.endswith(".pdf")
    with open(path, "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    assert_no_exception(other)
    assert not page.errors
