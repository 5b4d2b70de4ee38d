"""Real-browser journey for Compliance: "May we use Ottawa's contract?" Verdict and blockers first,
then the clerk records evidence for an open item and sees it pass."""

import re

import pytest

from conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser

RULE_LABEL = re.compile(r"needs evidence · blocker · ([A-Z]{2,3}(?:-[A-Z]{2,3})?-\d{2}):")


def metric(page, label: str) -> str:
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue").inner_text()


def test_choose_ottawa_and_see_verdict_and_checklist(page, app_url):
    """Picking Ottawa's contract by typing shows the verdict in big type and the checklist, blockers first."""
    page.goto(app_url + "/compliance?agency=CA-CSD-3523008")
    wait_for_app(page)
    page.get_by_role("combobox", name="Peer contract to adopt").click()
    page.keyboard.type("Ottawa")
    page.get_by_role("option", name=re.compile("City of Ottawa")).first.wait_for()
    page.keyboard.press("Enter")
    wait_for_app(page)
    assert "peer=ottawa-on" in page.url
    verdict = page.get_by_test_id("stAlert").filter(has=page.locator("h3")).first
    assert verdict.locator("h3").inner_text().strip() == "Not shown to be allowed"  # issue #12: never "no blockers"
    assert re.search(r"\d+ blockers? lacks? facts or evidence", verdict.inner_text())
    summaries = page.get_by_test_id("stExpander").locator("summary").all_inner_texts()
    rules = [s for s in summaries if " · " in s and ("blocker" in s or "warning" in s or "info" in s)]
    assert len(rules) >= 20
    assert "blocker" in rules[0]
    assert page.get_by_role("heading", name="Blockers").is_visible()
    assert_no_exception(page)
    assert not page.errors


def test_record_evidence_for_an_open_blocker_turns_it_to_pass(page, app_url):
    """Filling the evidence form of an open blocker saves it: the rule reads pass and 'Could block' drops by one."""
    page.goto(app_url + "/compliance?agency=CA-CSD-3523008&peer=ottawa-on")
    wait_for_app(page)
    could_block = int(metric(page, "Could block"))
    summaries = page.get_by_test_id("stExpander").locator("summary").all_inner_texts()
    rule_id = next(m.group(1) for m in map(RULE_LABEL.search, summaries) if m)
    card = page.get_by_test_id("stExpander").filter(has=page.locator("summary", has_text=f"· {rule_id}:"))
    card.locator("summary").click()
    card.get_by_label("Note").fill("Checked with the City of Ottawa's procurement office")
    card.get_by_label("Link").fill("https://ottawa.ca/en/business/bids-and-contracts")
    card.get_by_role("button", name="Record evidence").click()
    wait_for_app(page)
    card = page.get_by_test_id("stExpander").filter(has=page.locator("summary", has_text=f"· {rule_id}:"))
    assert re.search(rf"pass · blocker · {rule_id}:", card.locator("summary").inner_text())
    card.get_by_text("Evidence recorded.").wait_for()
    assert int(metric(page, "Could block")) == could_block - 1
    assert_no_exception(page)
    assert not page.errors
