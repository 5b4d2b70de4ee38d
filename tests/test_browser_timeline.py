"""Real-browser journey on the Timeline page: "How much sooner, and where does each number come
from?" Figures at a glance, a new seed, and an assumption edited in the table, then reset."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from conftest import assert_no_exception, wait_for_app
from piggyback.core import fmt
from piggyback.analyses.timeline import analyse_timeline
from piggyback.data.profile import profile_for

pytestmark = pytest.mark.browser

GUELPH = "CA-CSD-3523008"
WAIT = 60_000  # ms: a rerun after an edit can take many seconds on a busy machine


def months_saved(store, seed: int = 0, overrides=None) -> dict:
    """The one timeline analysis for Guelph with no peer, as the page runs it."""
    return analyse_timeline(store, profile_for(store, GUELPH), None, {"seed": seed, "overrides": overrides or {}},
                            today=dt.date.today()).months_saved


def delta_text(saved: dict) -> str:
    return f"P10–P90: {saved['p10']:.1f} to {saved['p90']:.1f}"


def open_low_of_first_row(page, grid) -> None:
    """Open the grid's editor on row 0, column 'Low' with the keyboard: select a read-only cell
    in the middle, go up to the first row, right to 'Low', Enter (retried once if the grid had
    not taken the focus yet)."""
    for attempt in range(2):
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 30, box["y"] + box["height"] / 2)
        for _ in range(12):
            page.keyboard.press("ArrowUp")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")
        try:
            page.locator("input.gdg-input").wait_for(timeout=5_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    raise AssertionError("the assumptions grid did not open its cell editor")


def open_timeline(page, app_url):
    page.goto(f"{app_url}/timeline?agency={GUELPH}")
    wait_for_app(page)
    page.get_by_role("heading", name="Timeline").wait_for()


def test_figures_and_gantt_show_and_a_new_seed_updates_them(page, app_url, store):
    """The four key figures and the Gantt are visible; typing a new seed redraws both with that
    seed's numbers."""
    open_timeline(page, app_url)
    values = page.get_by_test_id("stMetricValue")
    expect(values).to_have_count(4, timeout=WAIT)
    first = months_saved(store)
    expect(values.first).to_have_text(fmt.months(first["p50"]), timeout=WAIT)
    gantt = page.get_by_test_id("stPlotlyChart").first
    expect(gantt).to_be_visible(timeout=WAIT)
    expect(gantt.locator(".gtitle")).to_contain_text(f"saves {first['p50']:.1f} months",
                                                     timeout=WAIT)
    assert_no_exception(page)

    # the first seed whose figures differ on screen from seed 0's
    seed, new = next((s, m) for s in range(1, 40)
                     if delta_text(m := months_saved(store, seed=s)) != delta_text(first))
    page.get_by_text("Advanced: simulation settings").click()  # the seed lives in the Advanced expander
    box = page.get_by_role("spinbutton", name="Seed")
    box.fill(str(seed))
    box.press("Enter")
    wait_for_app(page)
    delta = page.get_by_test_id("stMetricDelta").first
    expect(delta).to_have_text(delta_text(new), timeout=WAIT)
    expect(values.first).to_have_text(fmt.months(new["p50"]), timeout=WAIT)
    expect(gantt.locator(".gtitle")).to_contain_text(
        f"(P10-P90 {new['p10']:.1f}-{new['p90']:.1f})", timeout=WAIT)
    assert_no_exception(page)
    assert not page.errors


def test_editing_an_assumption_in_the_table_updates_figures_and_reset_restores(page, app_url,
                                                                              store):
    """Typing a new low for 'needs assessment' marks it edited by user and changes the figures;
    'Reset to defaults' brings the seeded value and figures back."""
    open_timeline(page, app_url)
    expander = page.get_by_test_id("stExpander").filter(has_text="Assumptions: every phase")
    expander.get_by_text("Assumptions: every phase").click()
    grid = expander.get_by_test_id("stDataFrame")
    grid.scroll_into_view_if_needed()
    kind = grid.get_by_test_id("glide-cell-4-0")  # row 0 (needs assessment), column Kind
    expect(kind).to_have_text(fmt.kind("assumption"), timeout=WAIT)

    open_low_of_first_row(page, grid)
    cell_editor = page.locator("input.gdg-input")  # the grid's overlay editor
    expect(cell_editor).to_have_value("2")  # the seeded low of needs assessment
    cell_editor.fill("3")
    cell_editor.press("Enter")
    wait_for_app(page)
    grid = page.get_by_test_id("stExpander").filter(
        has_text="Assumptions: every phase").get_by_test_id("stDataFrame")
    expect(grid.get_by_test_id("glide-cell-4-0")).to_have_text("edited by user", timeout=WAIT)
    expect(grid.get_by_test_id("glide-cell-1-0")).to_have_text("3")
    edited = months_saved(store, overrides={"tl.rfp.needs": {"low": 3}})
    assert delta_text(edited) != delta_text(months_saved(store))  # the edit shows on screen
    delta = page.get_by_test_id("stMetricDelta").first
    expect(delta).to_have_text(delta_text(edited), timeout=WAIT)

    page.get_by_role("button", name="Reset to defaults").click()
    wait_for_app(page)
    grid = page.get_by_test_id("stExpander").filter(
        has_text="Assumptions: every phase").get_by_test_id("stDataFrame")
    expect(grid.get_by_test_id("glide-cell-4-0")).to_have_text(fmt.kind("assumption"),
                                                                timeout=WAIT)
    expect(grid.get_by_test_id("glide-cell-1-0")).to_have_text("2")
    expect(delta).to_have_text(delta_text(months_saved(store)), timeout=WAIT)
    assert_no_exception(page)
    assert not page.errors


def test_meeting_mode_has_no_inputs_and_the_figures_above_the_fold(page, app_url):
    """Meeting mode on a 1280×720 projector (#15): the settings in use as one line of text, the four
    key figures fully visible without scrolling, and no input, Advanced expander or editable grid."""
    page.goto(f"{app_url}/timeline?agency={GUELPH}&peer=washoe-nv&meeting=1")
    wait_for_app(page)
    page.get_by_role("heading", name="Timeline").wait_for()
    metrics = page.get_by_test_id("stMetric")
    expect(metrics).to_have_count(4, timeout=WAIT)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Peer contract: Washoe County", exact=False)).to_be_visible(timeout=WAIT)
    for i in range(4):
        box = metrics.nth(i).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 720, (i, box)
    for role in ("spinbutton", "slider", "radio", "combobox"):
        assert main.get_by_role(role).count() == 0, role
    assert main.get_by_test_id("stDateInput").count() == 0
    assert main.get_by_text("Advanced: simulation settings").count() == 0
    assert main.get_by_role("button", name="Reset to defaults").count() == 0
    assert_no_exception(page)
    assert not page.errors
