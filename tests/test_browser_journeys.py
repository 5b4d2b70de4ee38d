"""The users' three journeys (/work/shared/JOURNEYS.md, issue #15), each walked in a real browser at
its screen size, one browser context per journey:

1. the procurement committee on a 1280×720 projector: a colleague's link, Peers with a weight moved,
   Compliance with evidence recorded, Timeline and Cost, meeting mode on every decision page, the
   scenario saved under a name (with issue #11's check: the peer chosen on one page is every page's);
2. the executive on a 1440×900 laptop: the business case link, then the PDF's first page;
3. vendor staff on a 1366×768 laptop: the agency finder, sister municipalities and the
   introduction, then the Ontario prospect list and its CSV.

Every figure checked on screen is compared with what the analysis computes for the same inputs.
Each journey prints how long each step took (``-s`` shows it); speed is not asserted here
(``benchmarks/bench_browser.py`` measures it)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import re
import time
import urllib.parse

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from conftest import assert_no_exception, save_scenario, wait_for_app
from piggyback.analyses import peers as peers_analysis
from piggyback.analyses.business_case import build_business_case
from piggyback.analyses.compliance import DEFAULTS as COMPLIANCE_DEFAULTS
from piggyback.analyses.compliance import NATIONAL_CURRENCY, analyse_compliance
from piggyback.analyses.cost import analyse_cost
from piggyback.analyses.timeline import analyse_timeline
from piggyback.core import fmt
from piggyback.data import peers as peer_data
from piggyback.data.profile import profile_for
from piggyback.figures import tables

pytestmark = pytest.mark.browser

GUELPH = "CA-CSD-3523008"
PROJECTOR = {"width": 1280, "height": 720}
EXECUTIVE_LAPTOP = {"width": 1440, "height": 900}
SALES_LAPTOP = {"width": 1366, "height": 768}
WAIT = 60_000  # ms: a rerun can take many seconds on a busy machine
MIN_PX = 18  # meeting mode: nothing under 18 px (#15)
MEETING_PAGES = ("Peers", "Compliance", "Timeline", "Cost", "Business case")


# -- the journey's browser and its clock ----------------------------------------------------------

class Steps:
    """Times each step of a journey and prints them at the end."""

    def __init__(self, name: str):
        self.name, self.start, self.times = name, time.perf_counter(), []

    @contextlib.contextmanager
    def step(self, label: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.times.append((label, time.perf_counter() - started))

    def report(self) -> None:
        print(f"\n{self.name}: {time.perf_counter() - self.start:.1f} s")
        for label, seconds in self.times:
            print(f"  {seconds:6.1f} s  {label}")


@contextlib.contextmanager
def journey(browser, viewport: dict, name: str):
    """A fresh browser context at the journey's screen size, its page and its step clock."""
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    steps = Steps(name)
    try:
        yield page, steps
    finally:
        steps.report()
        context.close()


# -- small helpers ----------------------------------------------------------------------------------

def main(page):
    return page.get_by_test_id("stMain")


def go(page, title: str) -> None:
    """Open a page by the sidebar menu, as a person does (the session and its settings stay)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    wait_for_app(page)
    expect(main(page).get_by_role("heading").first).to_be_visible(timeout=WAIT)


def metric(page, label: str):
    return main(page).get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))


def metric_value(page, label: str):
    return metric(page, label).get_by_test_id("stMetricValue")


def metric_texts(page) -> dict[str, str]:
    """Every decision figure on the page: label -> value, as shown."""
    shown = {}
    for m in main(page).get_by_test_id("stMetric").all():
        shown[m.get_by_test_id("stMetricLabel").inner_text().strip()] = \
            m.get_by_test_id("stMetricValue").inner_text().strip()
    return shown


def grid_cell(frame, text: str):
    """A cell of a Streamlit dataframe (drawn on a canvas; its text lives in an a11y table)."""
    return frame.locator("[role='gridcell'], [role='columnheader']").filter(has_text=text).first


def pick(page, combobox: str, typed: str, option, where=None) -> None:
    """Choose an option of a selectbox or multiselect: type part of it, click the option."""
    (where or page).get_by_role("combobox", name=combobox).click()
    page.keyboard.type(typed)
    choice = page.get_by_role("option", name=option, exact=True) if isinstance(option, str) else \
        page.get_by_role("option", name=option).first
    choice.wait_for()
    choice.click()
    wait_for_app(page)


def wait_for_charts(page) -> None:
    """Every plotly chart of the main area has drawn its svg."""
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"[data-testid='stMain'] [data-testid='stPlotlyChart']\")]"
        ".every(c => c.querySelector('.main-svg'))", timeout=WAIT)


# -- meeting mode: what a projector shows --------------------------------------------------------

MEETING_CHECK = """
(minPx) => {
  const main = document.querySelector("[data-testid='stMain']");
  const W = window.innerWidth, H = window.innerHeight;
  const out = {metrics: [], outside: [], truncated: [], small: [], widgets: []};
  const rendered = el => {
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden';
  };
  const where = el => {
    const host = el.closest("[data-testid^='st']:not([data-testid='stMarkdownContainer'])");
    return host ? host.getAttribute('data-testid') : el.tagName.toLowerCase();
  };
  const short = t => t.replace(/\\s+/g, ' ').trim().slice(0, 60);

  // 1. the decision figures: inside the viewport, none cut short
  for (const m of main.querySelectorAll("[data-testid='stMetric']")) {
    const label = short((m.querySelector("[data-testid='stMetricLabel']") || {}).innerText || '');
    const value = short((m.querySelector("[data-testid='stMetricValue']") || {}).innerText || '');
    out.metrics.push(label + ' = ' + value);
    const r = m.getBoundingClientRect();
    if (r.top < -0.5 || r.left < -0.5 || r.bottom > H + 0.5 || r.right > W + 0.5)
      out.outside.push(`'${label}' (${value}) spans x ${r.left | 0}–${r.right | 0}, y ${r.top | 0}–${r.bottom | 0}; `
                       + `the viewport is ${W}×${H}`);
    const column = m.closest("[data-testid='stColumn']") || m;
    const cr = column.getBoundingClientRect();
    for (const part of m.querySelectorAll("[data-testid='stMetricLabel'], [data-testid='stMetricValue'], "
                                          + "[data-testid='stMetricDelta']")) {
      for (const el of [part, ...part.querySelectorAll('*')]) {
        if (!rendered(el)) continue;
        const cs = getComputedStyle(el);
        const clipsX = cs.overflowX !== 'visible' || cs.textOverflow === 'ellipsis';
        const clipsY = cs.overflowY !== 'visible' || cs.webkitLineClamp !== 'none';
        if ((clipsX && el.scrollWidth > el.clientWidth + 1) || (clipsY && el.scrollHeight > el.clientHeight + 1))
          out.truncated.push(`'${label}': ${part.getAttribute('data-testid')} '${short(el.innerText || '')}' is cut `
                             + `(${el.scrollWidth}×${el.scrollHeight} px of text in ${el.clientWidth}×${el.clientHeight})`);
      }
      const range = document.createRange();
      range.selectNodeContents(part);
      const tr = range.getBoundingClientRect();
      if (tr.width && (tr.right > cr.right + 1 || tr.left < cr.left - 1))
        out.truncated.push(`'${label}': ${part.getAttribute('data-testid')} runs out of its column `
                           + `(text x ${tr.left | 0}–${tr.right | 0}, column ${cr.left | 0}–${cr.right | 0})`);
    }
  }

  // 2. every piece of text drawn in the main area (HTML and plotly's svg text) at 18 px or more
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.data.trim()) continue;
    const el = node.parentElement;
    if (!el || seen.has(el)) continue;
    seen.add(el);
    if (el.closest("[data-testid='stIconMaterial'], style, script")) continue;  // icon glyphs, not text
    const range = document.createRange();
    range.selectNodeContents(node);
    if (![...range.getClientRects()].some(r => r.width > 0 && r.height > 0)) continue;  // not drawn (closed, hidden tab)
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.opacity === '0') continue;
    let px = parseFloat(cs.fontSize);
    if (el instanceof SVGElement && el.getScreenCTM()) {  // an svg scaled to fit draws its text smaller
      const m = el.getScreenCTM();
      px *= Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
    }
    if (px < minPx - 0.05) out.small.push(`${px.toFixed(1)} px '${short(node.data)}' in ${where(el)}`);
  }

  // 3. no editing widget (a read-only table, a tab, an expander or a download is not one)
  const editing = "input:not([type='hidden']), textarea, select, [role='slider'], [role='combobox'], "
                + "[role='spinbutton'], [role='switch'], [role='checkbox'], [role='radio'], [contenteditable='true'], "
                + "[data-testid='stButton'] button, [data-testid='stFormSubmitButton'] button";
  for (const el of main.querySelectorAll(editing)) {
    if (el.closest("[data-testid='stDataFrame']") && !el.closest("[data-testid='stDataFrameResizable'] input.gdg-input"))
      continue;  // the grid's own focus and clipboard helpers
    const host = el.closest("[data-testid^='st'][data-testid$='Input'], [data-testid='stSelectbox'], "
                            + "[data-testid='stMultiSelect'], [data-testid='stSlider'], [data-testid='stTextArea'], "
                            + "[data-testid='stCheckbox'], [data-testid='stRadio'], [data-testid='stToggle'], "
                            + "[data-testid='stButton'], [data-testid='stFormSubmitButton'], [data-testid='stDateInput'], "
                            + "[data-testid='stNumberInput'], [data-testid='stTextInput']") || el;
    const label = (host.querySelector('label') || {}).innerText || el.getAttribute('aria-label') || el.innerText || '';
    const text = `${host.getAttribute('data-testid') || el.tagName.toLowerCase()} '${short(label)}'`;
    if (!out.widgets.includes(text)) out.widgets.push(text);
  }
  return out;
}
"""


def meeting_problems(page, title: str) -> tuple[list[str], list[str]]:
    """What the projector shows wrong on this page (none when meeting mode is right), and the
    decision figures found."""
    wait_for_charts(page)
    found = page.evaluate(MEETING_CHECK, MIN_PX)
    problems = [f"{title}: figure not fully in the {PROJECTOR['width']}×{PROJECTOR['height']} viewport: {p}"
                for p in found["outside"]]
    problems += [f"{title}: figure cut short: {p}" for p in found["truncated"]]
    problems += [f"{title}: text under {MIN_PX} px: {p}" for p in found["small"][:12]]
    if len(found["small"]) > 12:
        problems.append(f"{title}: … and {len(found['small']) - 12} more pieces of text under {MIN_PX} px")
    problems += [f"{title}: editing widget in meeting mode: {w}" for w in found["widgets"]]
    return problems, found["metrics"]


# -- 1. the committee ----------------------------------------------------------------------------

def test_committee_on_the_projector(browser, app_url, store):
    """A colleague's link (Guelph, the balanced weights) on a 1280×720 projector: Peers ranks with
    reasons and says whether a weight move changed the top three, in view; Ottawa's contract chosen on
    Compliance lists blockers first with citations and takes evidence for two; Timeline and Cost keep
    Ottawa (also after a reload) and show ranges equal to the analyses, then Cost turns to Fayetteville's
    priced contract; meeting mode shows every page's decision figures whole, in view, in type of 18 px or
    more and without editing widgets; the scenario is saved under a name and its link reopens agency,
    peer and name in another browser (issue #11: one peer on every page)."""
    today = dt.date.today()
    profile = profile_for(store, GUELPH)
    with journey(browser, PROJECTOR, "Journey 1: committee, projector 1280×720") as (page, steps):
        # -- the link a colleague sent ----------------------------------------------------------
        with steps.step("open the colleague's link on Peers"):
            page.goto(f"{app_url}/peers?agency={GUELPH}&weights=balanced")
            wait_for_app(page)
            page.get_by_role("heading", name="Peers: who is like us?").wait_for()
        before = peers_analysis.analyse_peers(store, profile, {"preset": "balanced"}, today=today)
        assert page.get_by_role("combobox", name="Your agency").input_value().startswith("Guelph, ON")
        with steps.step("Peers: top peers with reasons"):
            best = before.items[0]
            expect(metric_value(page, "Closest peer")).to_have_text(best["jurisdiction"].removeprefix("City of "))
            expect(metric_value(page, "Peers compared")).to_have_text(f"{len(before.items)} of {before.on_file}")
            ranked = main(page).locator(".st-key-peers_ranking").get_by_test_id("stDataFrame")
            for name in before.top_names:
                grid_cell(ranked, name).wait_for(state="attached")
        # What the app gets wrong is collected and asserted at the end, so that one finding does not
        # hide the next ones along the journey.
        problems: list[str] = []
        reason = best["sentence"].removeprefix(f"{best['jurisdiction']} (score {best['score']:.2f}): ")
        if grid_cell(ranked, reason[:40]).count() == 0:  # the grid draws only the columns in its view
            headers = ranked.locator("[role='columnheader']").all_inner_texts()
            problems.append(f"Peers: the reasons ('Why (strongest reasons)': {reason!r}) are not in the ranking's "
                            f"visible width at {PROJECTOR['width']}×{PROJECTOR['height']}; it shows {headers}")
        assert_no_exception(page)

        # -- "what if size matters less?" -------------------------------------------------------
        with steps.step("Peers: move the population weight with the keyboard"):
            page.get_by_text("Adjust weights").click()
            slider = main(page).get_by_test_id("stSlider").filter(has_text="Population").get_by_role("slider")
            expect(slider).to_have_value(str(before.weights_pct["size"]))
            slider.focus()
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("ArrowLeft")
            wait_for_app(page)
            page.wait_for_function("() => decodeURIComponent(location.search).includes('\"size\":')", timeout=WAIT)
            wait_for_app(page)
        url_weights = json.loads(urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["weights"][0])
        assert url_weights["size"] < before.weights_pct["size"], url_weights
        after = peers_analysis.analyse_peers(store, profile, {"preset": "balanced", "weights": url_weights}, today=today)
        expect(metric_value(page, "Closest peer")).to_have_text(after.items[0]["jurisdiction"].removeprefix("City of "))
        said = (f"With the new weights the top three changed: it was {', '.join(before.top_names)}."
                if after.top_names != before.top_names else "With the new weights the top three did not change.")
        message = main(page).get_by_text(said, exact=True)
        expect(message).to_be_visible(timeout=WAIT)
        ranked = main(page).locator(".st-key-peers_ranking").get_by_test_id("stDataFrame")
        grid_cell(ranked, after.top_names[0]).wait_for(state="attached")
        # the answer is where the eye is, under the slider moved: the message and the top three now
        top_three = main(page).locator(".st-key-peers_top_three").get_by_role("table")
        for i, name in enumerate(after.top_names):
            expect(top_three.get_by_role("row").nth(i + 1)).to_contain_text(name)
        for what, element, ratio in (("the top-three message", message, 1.0), ("the top three", top_three, 1.0)):
            try:
                expect(element).to_be_in_viewport(ratio=ratio, timeout=2_000)
            except AssertionError:
                box = element.bounding_box()
                problems.append(f"Peers: after moving a weight, {what} is not in the {PROJECTOR['width']}×"
                                f"{PROJECTOR['height']} viewport (it starts at y = {box and round(box['y'])} px)")
        assert_no_exception(page)

        # -- "May we use Ottawa's contract?" ----------------------------------------------------
        # The peer chosen here is the one every page shows, after a reload, in meeting mode and in
        # another browser (issue #11).
        with steps.step("Compliance: choose Ottawa's contract"):
            go(page, "Compliance")
            pick(page, "Peer contract to adopt", "Ottawa", re.compile("City of Ottawa"))
            page.wait_for_function("() => location.search.includes('peer=ottawa-on')", timeout=WAIT)
        checked = analyse_compliance(store, profile, "ottawa-on",
                                     {**COMPLIANCE_DEFAULTS, "currency": NATIONAL_CURRENCY[profile.country]}, today=today)
        verdict = main(page).get_by_test_id("stAlert").filter(has=page.locator("h3")).first
        expect(verdict.locator("h3")).to_have_text(checked.verdict["headline"])
        assert checked.verdict["headline"] == "Not shown to be allowed"  # issue #12: open blockers are never "no blockers"
        assert re.search(r"\d+ blockers? lacks? facts or evidence", verdict.inner_text())
        rule_cards = main(page).get_by_test_id("stExpander").filter(
            has=page.locator("summary", has_text=re.compile(r" · (blocker|warning|info) · ")))
        summaries = rule_cards.locator("summary").all_inner_texts()
        severities = [re.search(r" · (blocker|warning|info) · ", s)[1] for s in summaries]
        assert len(summaries) == len(checked.results) >= 20, (len(summaries), len(checked.results))
        assert severities == sorted(severities, key=["blocker", "warning", "info"].index), "blockers come first"
        assert page.get_by_role("heading", name="Blockers").is_visible()
        citation = {r.rule_id: r.citation for r in checked.results}
        for card in rule_cards.all():
            summary = card.locator("summary").inner_text()
            rule_id = re.search(r" · ([A-Z]{2,3}(?:-[A-Z]{2,3})?-\d{2}):", summary)[1]
            if " · blocker · " in summary:  # each blocker with its citation, in its card once open (#15: closed = empty)
                if card.locator("details").get_attribute("open") is None:
                    card.locator("summary").click()
                    wait_for_app(page)
                card.get_by_test_id("stMarkdown").first.wait_for()
                assert f"Source: {citation[rule_id]}" in " ".join(card.text_content().split()), rule_id

        with steps.step("Compliance: record evidence for two blockers"):
            open_rules = [m[1] for m in (re.search(r"needs evidence · blocker · ([A-Z]{2,3}(?:-[A-Z]{2,3})?-\d{2}):", s)
                                         for s in summaries) if m][:2]
            assert len(open_rules) == 2, summaries
            could_block = int(metric_value(page, "Could block").inner_text())
            for done, rule_id in enumerate(open_rules, start=1):
                card = main(page).get_by_test_id("stExpander").filter(
                    has=page.locator("summary", has_text=f"· {rule_id}:"))
                if card.locator("details").get_attribute("open") is None:  # opened above to read its citation
                    card.locator("summary").click()
                card.get_by_label("Note").fill(f"Checked {rule_id} with the City of Ottawa's procurement office")
                card.get_by_label("Link").fill("https://ottawa.ca/en/business/bids-and-contracts")
                card.get_by_role("button", name="Record evidence").click()
                wait_for_app(page)
                card = main(page).get_by_test_id("stExpander").filter(
                    has=page.locator("summary", has_text=f"· {rule_id}:"))
                expect(card.locator("summary")).to_have_text(re.compile(rf"pass · blocker · {rule_id}:"), timeout=WAIT)
                card.get_by_text("Evidence recorded.").wait_for()
                expect(metric_value(page, "Could block")).to_have_text(str(could_block - done), timeout=WAIT)
        assert_no_exception(page)

        # -- "How much sooner?" -----------------------------------------------------------------
        with steps.step("Timeline: ranges"):
            go(page, "Timeline")
            assert "peer=ottawa-on" in page.url, page.url
            expect(main(page)).to_contain_text("Ottawa")
            timeline = analyse_timeline(store, profile, "ottawa-on", {}, today=today)
            shown, saved = timeline.display(), timeline.months_saved
            expect(metric_value(page, "Months saved (median)")).to_have_text(shown["months_saved"], timeout=WAIT)
        expect(metric(page, "Months saved (median)").get_by_test_id("stMetricDelta")).to_have_text(
            f"P10–P90: {saved['p10']:.1f} to {saved['p90']:.1f}")
        for route, label in (("traditional", "New RFP go-live (median)"), ("piggyback", "Piggyback go-live (median)")):
            expect(metric_value(page, label)).to_have_text(shown[f"golive_{route}"])
            expect(metric(page, label).get_by_test_id("stMetricDelta")).to_have_text(
                shown[f"golive_{route}_range"].replace("P10–P90 ", "P10–P90: "))
        expect(metric_value(page, "Chance piggyback is sooner")).to_have_text(shown["prob_faster"])
        expect(main(page).get_by_text("Assumptions: every phase")).to_be_attached()  # where each number comes from
        assert_no_exception(page)

        # -- "What does it cost us over ten years?" ---------------------------------------------
        with steps.step("Cost: Ottawa has no price schedule; cost Fayetteville's contract"):
            go(page, "Cost")
            expect(main(page).get_by_role("heading", name="Cost", exact=True)).to_be_visible()
            assert analyse_cost(store, profile, "ottawa-on", {}, today=today).status == "no_schedule"
            expect(main(page).get_by_text(re.compile(r"No price schedule on file for .*Ottawa"))).to_be_visible(timeout=WAIT)
            assert "peer=ottawa-on" in page.url, page.url
            page.reload()  # the peer survives a reload
            wait_for_app(page)
            assert "peer=ottawa-on" in page.url, page.url
            expect(main(page).get_by_text(re.compile(r"No price schedule on file for .*Ottawa"))).to_be_visible(timeout=WAIT)
            pick(page, "Peer contract to adopt", "Fayetteville", re.compile("Fayetteville"))
            page.wait_for_function("() => location.search.includes('peer=fayetteville-ar')", timeout=WAIT)
        cost = analyse_cost(store, profile, "fayetteville-ar", {}, today=today)
        assert cost.status == "ok", cost.message
        c = cost.display()
        years = cost.settings.horizon_years
        expect(metric_value(page, f"{years}-year cost: own RFP")).to_have_text(c["traditional"]["total"], timeout=WAIT)
        expect(metric_value(page, f"{years}-year cost: piggyback")).to_have_text(c["piggyback"]["total"])
        expect(metric(page, f"{years}-year cost: piggyback").get_by_test_id("stMetricDelta")).to_have_text(
            f"{c['difference']} vs own RFP")
        expect(metric_value(page, "NPV: own RFP")).to_have_text(c["traditional"]["npv"])
        expect(metric_value(page, "NPV: piggyback")).to_have_text(c["piggyback"]["npv"])
        expect(metric_value(page, "Range (piggyback)")).to_have_text(c["piggyback"]["range"])
        expect(metric_value(page, "Cost per resident (piggyback)")).to_have_text(c["per_resident"])
        chart = main(page).get_by_test_id("stPlotlyChart").first
        expect(chart).to_be_visible()
        expect(chart.locator(".barlayer").first).to_be_attached()  # the bars were drawn
        assert_no_exception(page)

        # -- meeting mode for the final vote ----------------------------------------------------
        case = build_business_case(store, profile, "fayetteville-ar", {}, today=today).to_dict()
        fayetteville_timeline = analyse_timeline(store, profile, "fayetteville-ar", {}, today=today).display()
        expected = {  # the figures each page must show whole (the full text, not "Cam…")
            "Timeline": {"Months saved (median)": fayetteville_timeline["months_saved"],
                         "Chance piggyback is sooner": fayetteville_timeline["prob_faster"]},
            "Cost": {f"{years}-year cost: own RFP": c["traditional"]["total"],
                     f"{years}-year cost: piggyback": c["piggyback"]["total"],
                     "NPV: own RFP": c["traditional"]["npv"], "NPV: piggyback": c["piggyback"]["npv"],
                     "Range (piggyback)": c["piggyback"]["range"]},
            "Business case": {f["label"]: f["value"] for f in tables.decision_figures(case)},
        }
        with steps.step("meeting mode on"):
            page.get_by_test_id("stSidebar").get_by_text("Meeting mode").click()
            wait_for_app(page)
            page.wait_for_function("() => location.search.includes('meeting=1')", timeout=WAIT)
        for title in MEETING_PAGES:
            with steps.step(f"meeting mode: {title}"):
                go(page, title)
                assert "meeting=1" in page.url and "peer=fayetteville-ar" in page.url, page.url
                if title == "Business case":
                    expect(main(page)).to_contain_text("Fayetteville")
                elif title != "Peers" and "Fayetteville" not in main(page).inner_text():
                    problems.append(f"{title}: meeting mode does not name the peer contract it is about "
                                    "(Fayetteville's); without the picker nothing on the page says which")
                assert_no_exception(page)
                found, figures = meeting_problems(page, title)
            print(f"  {title} in meeting mode shows: {'; '.join(figures)}")
            problems += found
            if not figures:
                problems.append(f"{title}: no decision figure shown in meeting mode")
            on_screen = metric_texts(page)
            for label, value in expected.get(title, {}).items():
                if on_screen.get(label) != value:
                    problems.append(f"{title}: '{label}' shows {on_screen.get(label)!r}, the analysis says {value!r}")
        if problems:
            print("  what the projector shows wrong:\n    " + "\n    ".join(problems))

        # -- the scenario saved under a name ----------------------------------------------------
        with steps.step("save the scenario under a name"):
            page.get_by_test_id("stSidebar").get_by_text("Meeting mode").click()  # back to editing to save
            wait_for_app(page)
            assert "Fayetteville" in page.get_by_role("combobox", name="Peer contract to adopt").input_value()
            assert "peer=fayetteville-ar" in page.url and "meeting=1" not in page.url, page.url
            link = save_scenario(page, "Committee vote", timeout_ms=WAIT)
        assert "/business-case?scenario=" in link
        assert_no_exception(page)
        with steps.step("reopen the scenario's link in another browser"):
            elsewhere = browser.new_context(viewport=PROJECTOR)  # a colleague's browser: a new session
            other = elsewhere.new_page()
            other.set_default_timeout(30_000)
            other.on("pageerror", lambda exc: page.errors.append(f"new tab: {exc}"))
            other.goto(link)
            wait_for_app(other)
            other.get_by_test_id("stMetricValue").first.wait_for()
        assert other.get_by_role("combobox", name="Your agency").input_value().startswith("Guelph, ON")
        assert "Fayetteville" in other.get_by_role("combobox", name="Peer contract to adopt").input_value()
        assert "agency=CA-CSD-3523008" in other.url and "scenario=" in other.url
        assert other.get_by_role("textbox", name="Scenario name").input_value() == "Committee vote"
        assert_no_exception(other)
        elsewhere.close()
        assert not page.errors
        assert not problems, "On the 1280×720 projector:\n" + "\n".join(problems)


# -- 2. the executive ----------------------------------------------------------------------------

SOURCE_ROW = re.compile(r"(primary|secondary|assumption|derived|user-entered|—|VENDOR-STATED \(vendor-stated\)) "
                        r"(high|medium|low|—) (https?://\S+|no address on file)")


def test_executive_reads_the_business_case_and_its_pdf(browser, app_url, store):
    """The business case link on a 1440×900 laptop: the decision figures on screen equal the analysis;
    the PDF's first page holds them in order of importance (months saved with its range, each route's
    ten-year cost and NPV, the verdict, the closest peer) with the same values; vendor-stated claims
    are marked; every source listed has a confidence."""
    today = dt.date.today()
    profile = profile_for(store, GUELPH)
    case = build_business_case(store, profile, "fayetteville-ar", {}, today=today).to_dict()
    figures = tables.decision_figures(case)
    with journey(browser, EXECUTIVE_LAPTOP, "Journey 2: executive, laptop 1440×900") as (page, steps):
        with steps.step("open the business case link"):
            page.goto(f"{app_url}/business-case?agency={GUELPH}&peer=fayetteville-ar")
            wait_for_app(page)
            page.get_by_role("heading", name="Business case", exact=True).wait_for()
            expect(main(page).get_by_test_id("stMetric")).to_have_count(len(figures), timeout=WAIT)
        on_screen = metric_texts(page)
        assert on_screen == {f["label"]: f["value"] for f in figures}
        captions = {f["label"]: main(page).get_by_test_id("stColumn").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(
                    f["label"], exact=True))
                    .get_by_test_id("stCaptionContainer").first.inner_text().strip() for f in figures}
        closest = case["peers"]["top"][0]["jurisdiction"]
        expect(main(page).get_by_text(f"1. {closest}").first).to_be_visible()
        assert_no_exception(page)

        with steps.step("build the PDF"):
            page.get_by_role("button", name="Build the PDF").click()
            download_button = page.get_by_role("button", name="Download PDF")
            download_button.wait_for(timeout=120_000)
            wait_for_app(page)
        with steps.step("download the PDF"):
            with page.expect_download(timeout=60_000) as info:
                download_button.click()
            path = info.value.path()
        assert info.value.suggested_filename.startswith("business-case-guelph-on-")
        assert info.value.suggested_filename.endswith(".pdf")
        with open(path, "rb") as handle:
            data = handle.read()
        assert data[:5] == b"%PDF-"
        with steps.step("read the PDF"):
            pages = [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages]
        first = pages[0]
        months, piggyback, rfp, verdict = (on_screen[label] for label in (
            "Months saved (median)", "10-year cost, piggyback", "10-year cost, new RFP", "Compliance"))
        npv = {label: re.match(r"NPV (.+?) ·", captions[label])[1]
               for label in ("10-year cost, piggyback", "10-year cost, new RFP")}
        in_order = [f"Months saved (median) {months} {captions['Months saved (median)']}",
                    f"10-year cost, piggyback {piggyback} (NPV {npv['10-year cost, piggyback']})",
                    f"10-year cost, new RFP {rfp} (NPV {npv['10-year cost, new RFP']})",
                    f"Compliance verdict {verdict}",
                    f"Closest peer {closest}"]
        places = [first.find(text) for text in in_order]
        assert all(p >= 0 for p in places), [t for t, p in zip(in_order, places) if p < 0]
        assert places == sorted(places), "page 1 gives the decision figures in order of importance"

        everything = " ".join(pages)
        assert "Vendor-stated claims" in everything and "Claim (vendor-stated)" in everything
        assert "VENDOR-STATED (vendor-stated)" in everything  # a vendor's page among the sources is marked
        sources = everything[everything.index("Sources Every source cited above"):]
        sources = re.sub(r"Piggyback business case — .*? page \d+ of \d+", " ", sources)
        rows = SOURCE_ROW.findall(sources)
        assert len(rows) == len(case["sources"]), (len(rows), len(case["sources"]))
        no_confidence = [url for _, confidence, url in rows if confidence == "—"]
        assert not no_confidence, (f"{len(no_confidence)} of {len(rows)} sources in the PDF have no confidence: "
                                   + ", ".join(no_confidence))
        assert_no_exception(page)
        assert not page.errors


# -- 3. vendor staff -----------------------------------------------------------------------------

def test_vendor_finds_the_prospect_its_sisters_and_the_ontario_list(browser, app_url, store):
    """On a 1366×768 laptop: typing 'guelph' finds the agency and its census profile fills in; Peers
    shows its sister municipalities and the introduction to the closest; Prospects like the Ottawa
    deployment in Ontario with 50,000–200,000 residents lists exactly those, and the CSV has the
    same rows."""
    profile = profile_for(store, GUELPH)
    j = store.jurisdiction(GUELPH)
    with journey(browser, SALES_LAPTOP, "Journey 3: vendor staff, laptop 1366×768") as (page, steps):
        with steps.step("open the app"):
            page.goto(app_url)
            wait_for_app(page)
        with steps.step("type the prospect's name; its profile fills in"):
            sidebar = page.get_by_test_id("stSidebar")
            sidebar.get_by_label("Find your agency", exact=True).press_sequentially("guelph")
            pick(page, "Your agency", "", re.compile(r"^Guelph, ON · City"), where=sidebar)
            page.wait_for_function(f"() => location.search.includes('agency={GUELPH}')", timeout=WAIT)
            main(page).get_by_role("heading", name="Guelph, ON").wait_for(timeout=WAIT)
        expect(metric_value(page, "Population")).to_have_text(fmt.integer(j.population))
        expect(metric_value(page, "Households")).to_have_text(fmt.integer(profile.households))
        expect(metric_value(page, "Province / state")).to_have_text("ON, Canada")
        assert_no_exception(page)

        with steps.step("Peers: sister municipalities and the introduction"):
            go(page, "Peers")
            result = peers_analysis.analyse_peers(store, profile, {}, today=dt.date.today())
            main(page).get_by_role("heading", name="Sister municipalities: ask a peer").wait_for()
            closest = result.items[0]
            for item in result.items[:3]:  # until one is chosen, the three closest with their contacts
                expect(main(page).get_by_text(item["jurisdiction"], exact=False).first).to_be_attached()
            intro = main(page).get_by_test_id("stExpander").filter(
                has=page.locator("summary", has_text=f"Ask for an introduction to {closest['jurisdiction']}"))
            intro.locator("summary").click()
            draft = intro.get_by_label("Draft message (copy or edit it before sending)")
            expect(draft).to_be_visible()
        contacts = peer_data.contacts_for(store, closest["deployment_id"])
        assert draft.input_value() == result.introduction(
            closest["deployment_id"], contacts.iloc[0].to_dict() if not contacts.empty else None)
        expect(intro.get_by_test_id("stDownloadButton")).to_be_visible()
        assert_no_exception(page)

        with steps.step("Prospects: Ontario, 50,000–200,000, like Ottawa"):
            go(page, "Prospects")
            pick(page, "Reference deployment", "Ottawa", "City of Ottawa (ON) — Computronix")
            pick(page, "Province / state", "Ontario", "ON — Ontario")
            for label, value in (("Population at least", 50_000), ("Population at most", 200_000)):
                box = main(page).get_by_test_id("stNumberInput").filter(has_text=label).locator("input")
                box.fill(str(value))
                box.press("Enter")
                wait_for_app(page)
            expected = peers_analysis.analyse_prospects(
                store, "ottawa-on", {"regions": ["ON"], "pop_min": 50_000, "pop_max": 200_000}).scored
            expect(metric_value(page, "Jurisdictions ranked")).to_have_text(f"{len(expected):,}", timeout=WAIT)
        query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
        assert (query["ref"], query["regions"], query["pop_min"], query["pop_max"]) == \
            (["ottawa-on"], ["ON"], ["50000"], ["200000"]), page.url
        expect(metric_value(page, "Closest")).to_have_text(expected.iloc[0]["jurisdiction"])
        table = main(page).get_by_test_id("stDataFrame").first
        table.scroll_into_view_if_needed()
        grid_cell(table, expected.iloc[0]["jurisdiction"]).wait_for(state="attached")
        with steps.step("download the list"):
            button = main(page).get_by_test_id("stDownloadButton").filter(has_text="Download all")
            expect(button).to_contain_text(f"{len(expected):,}")
            with page.expect_download(timeout=60_000) as info:
                button.click()
            with open(info.value.path(), encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
        assert [r["geo_id"] for r in rows] == expected["geo_id"].tolist()
        assert rows and all(r["region"] == "ON" and r["country"] == "CA" for r in rows)
        assert all(50_000 <= float(r["population"]) <= 200_000 for r in rows)
        assert GUELPH in {r["geo_id"] for r in rows}  # the prospect itself is on the list
        assert_no_exception(page)
        assert not page.errors


def test_prospects_and_data_on_the_projector_in_meeting_mode(page, app_url, store):
    """A link in meeting mode on the 1280×720 projector: Prospects and Data & sources show no editing
    widget and no text under 18 px; each says its choices in a line, and Prospects' figures are the
    ranking the link's filters give."""
    expected = peers_analysis.analyse_prospects(store, "ottawa-on", {"regions": ["ON"], "pop_min": 40_000}).scored
    problems = []
    for path, title, line in (("prospects?ref=ottawa-on&regions=ON&pop_min=40000&meeting=1", "Prospects",
                               "Reference: City of Ottawa (ON)"),
                              ("data?facts=ottawa-on,calgary-ab&meeting=1", "Data & sources",
                               "Peers: City of Ottawa, City of Calgary")):
        page.goto(f"{app_url}/{path}")
        wait_for_app(page)
        expect(main(page).get_by_text(line)).to_be_visible(timeout=WAIT)
        assert_no_exception(page)
        problems += meeting_problems(page, title)[0]
        if title == "Prospects":
            expect(metric_value(page, "Jurisdictions ranked")).to_have_text(f"{len(expected):,}")
            expect(metric_value(page, "Closest")).to_have_text(expected.iloc[0]["jurisdiction"])
    assert not problems, problems
