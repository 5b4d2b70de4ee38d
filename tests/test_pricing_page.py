"""AppTest of the Cost page: key figures with their basis, settings that move them, quotes, blanks."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT

GUELPH = "CA-CSD-3523008"


def cost_page(peer: str | None = "fayetteville-ar", **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["agency"] = GUELPH
    if peer:
        at.query_params["peer"] = peer
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/pricing.py")
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def millions(text: str) -> float:
    """'2.74 M CAD' -> 2_740_000; '413,800 CAD' -> 413_800."""
    m = re.match(r"([\d,.]+)( M)?", text)
    return float(m[1].replace(",", "")) * (1e6 if m[2] else 1)


def test_renders_key_figures_with_their_basis_and_the_charts():
    at = cost_page()
    m = {x.label: x for x in at.metric}
    for label in ("10-year cost: own RFP", "10-year cost: piggyback", "NPV: own RFP", "NPV: piggyback",
                  "Range (piggyback)", "Cost per resident (piggyback)"):
        assert label in m and m[label].value.endswith("CAD"), label
    assert "Orange County" in m["10-year cost: own RFP"].help  # the RFP staff cost names its source
    assert "5 %/yr" in m["NPV: piggyback"].help
    assert millions(m["10-year cost: piggyback"].value) < millions(m["10-year cost: own RFP"].value)
    assert millions(m["NPV: piggyback"].value) < millions(m["10-year cost: piggyback"].value)
    charts = at.get("plotly_chart")
    assert len(charts) >= 3  # cost by year, tornado, peers side by side
    items = next(d.value for d in at.dataframe if "Formula" in d.value.columns)
    assert {"Description", "Category", "Basis", "Formula", "Source", "Confidence", "Kind"} <= set(items.columns)
    assert items["Formula"].str.contains(r"\(143,740 / 93,949\)\^0\.5").any()
    # the maintenance line is an even split of the resolution's 5-year total: derived, from that source
    assert set(items["Kind"]) - {"peer-sourced (primary source)", "assumption"} == {
        k for k in items["Kind"] if k.startswith("derived from a primary source (https://documents.fayetteville")}
    assert len(set(items["Kind"])) == 3
    labels = [n.label for n in at.number_input]
    assert any(lab.startswith("Discount rate") and "assumption" in lab for lab in labels)


def test_changing_the_horizon_changes_the_total_and_the_link_and_reset_restores_it():
    at = cost_page()
    before = metrics(at)["10-year cost: piggyback"]
    at.number_input(key="pricing.pricing.horizon_years").set_value(15).run()
    after = metrics(at)
    assert "15-year cost: piggyback" in after and millions(after["15-year cost: piggyback"]) > millions(before)
    assert at.query_params["years"] in ("15", ["15"])
    assert at.session_state["scenario"]["pricing"]["assumptions"] == {"pricing.horizon_years": 15}
    next(b for b in at.button if b.label == "Reset assumptions").click().run()
    assert metrics(at)["10-year cost: piggyback"] == before
    assert "years" not in at.query_params


def test_horizon_from_a_shared_link_is_used():
    at = cost_page(years="12")
    assert "12-year cost: own RFP" in metrics(at)
    assert at.number_input(key="pricing.pricing.horizon_years").value == 12


def test_discount_rate_moves_the_npv_not_the_total_and_is_shown_as_entered():
    at = cost_page()
    before = metrics(at)
    at.number_input(key="pricing.pricing.discount_rate").set_value(8.0).run()
    after = metrics(at)
    assert after["10-year cost: piggyback"] == before["10-year cost: piggyback"]
    assert millions(after["NPV: piggyback"]) < millions(before["NPV: piggyback"])
    table = next(d.value for d in at.dataframe if "status" in d.value.columns)
    row = table[table["name"].str.startswith("Discount rate")].iloc[0]
    assert row["value"] == 8 and row["default"] == 5 and row["status"] == "entered by you"


def test_currency_switch_converts_the_totals():
    at = cost_page()
    cad = millions(metrics(at)["10-year cost: piggyback"])
    at.selectbox(key="pricing.currency").set_value("USD").run()
    usd = metrics(at)["10-year cost: piggyback"]
    assert usd.endswith("USD") and millions(usd) == pytest.approx(cad / 1.38, rel=0.01)


def test_peer_without_a_schedule_says_so_instead_of_a_number():
    at = cost_page(peer="ottawa-on")
    assert any("No price schedule on file for Ottawa" in w.value for w in at.warning)
    assert not [m for m in at.metric if "year cost" in m.label]  # no figure presented as fact


def test_without_a_peer_the_priced_peers_are_compared():
    at = cost_page(peer=None)
    assert any("Choose the peer contract" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 1 and not at.metric


def test_meeting_mode_hides_settings_and_the_quote_form_but_keeps_the_figures():
    at = cost_page(meeting="1")
    assert "10-year cost: piggyback" in metrics(at)
    keys = {w.key for w in at.number_input}
    assert "pricing.pricing.horizon_years" not in keys and "quote_amount" not in keys
    assert not [b for b in at.button if b.label in ("Reset assumptions", "Save quote line")]
    assert "peer_pick" not in {s.key for s in at.selectbox}  # no peer picker either: the link's peer is costed
    assert millions(metrics(at)["10-year cost: piggyback"]) == millions(metrics(cost_page())["10-year cost: piggyback"])


def test_edited_settings_persist_through_meeting_mode_without_their_widgets():
    """Meeting mode draws no settings widget; the edits stay in the scenario and come back after."""
    at = cost_page()
    at.number_input(key="pricing.pricing.horizon_years").set_value(15).run()
    at.selectbox(key="pricing.currency").set_value("USD").run()
    at.toggle(key="meeting").set_value(True).run()
    assert not at.exception, at.exception
    shown = metrics(at)
    assert "15-year cost: piggyback" in shown and shown["15-year cost: piggyback"].endswith("USD")
    assert "pricing.pricing.horizon_years" not in {w.key for w in at.number_input}
    at.toggle(key="meeting").set_value(False).run()
    assert at.number_input(key="pricing.pricing.horizon_years").value == 15
    assert at.selectbox(key="pricing.currency").value == "USD"
    assert at.session_state["scenario"]["pricing"] == {"assumptions": {"pricing.horizon_years": 15},
                                                       "currency": "USD"}


def test_quote_is_saved_compared_with_the_scaled_peer_and_deleted(db_copy, monkeypatch):
    monkeypatch.setenv("PIGGYBACK_DB", str(db_copy))  # this test writes: its own copy
    at = cost_page()
    at.text_input(key="quote_description").input("Licence under the piggyback clause")
    at.number_input(key="quote_years").set_value(3)  # invalid for a one-time line
    at.number_input(key="quote_amount").set_value(400_000.0)
    at.button(key="quote_submit").click().run()
    assert any("not saved" in e.value and "only for recurring" in e.value for e in at.error)
    assert at.text_input(key="quote_description").value == "Licence under the piggyback clause"
    assert at.number_input(key="quote_amount").value == 400_000.0  # nothing lost

    at.number_input(key="quote_years").set_value(None)
    at.button(key="quote_submit").click().run()
    assert not at.error and any("Saved" in s.value for s in at.success)
    m = metrics(at)
    assert m["Your quote: 10-year cost"] == "400,000 CAD"  # one-time, this year's price, CAD: as entered
    scaled = millions(m["Fayetteville, AR scaled: 10-year cost"])
    assert millions(m["Quote minus scaled peer"].replace("-", "")) == pytest.approx(scaled - 400_000, rel=0.01)
    quote_table = next(d.value for d in at.dataframe if "Formula" in d.value.columns
                       and "Licence under the piggyback clause" in set(d.value["Description"]))
    assert set(quote_table["Kind"]) == {"user-entered"}

    delete = [b for b in at.button if (b.key or "").startswith("quote_delete_")]
    assert len(delete) == 1
    delete[0].click().run()
    assert "Your quote: 10-year cost" not in metrics(at)
    assert any("No quote saved" in c.value for c in at.caption)


def test_a_saved_scenario_with_numbers_of_the_other_type_still_opens(db_copy, monkeypatch):
    """A scenario written by the CLI or an older page may hold the horizon as 12.0 and a rate as 8:
    the settings widgets, bound to the scenario section, take them as they are."""
    from piggyback.data.profile import profile_for
    from piggyback.data.scenarios import open_scenario_store, payload_from_profile
    from piggyback.data.store import Store

    monkeypatch.setenv("PIGGYBACK_DB", str(db_copy))
    s = Store.open(db_copy)
    try:
        saved = open_scenario_store(s).save("Mixed numbers", payload_from_profile(
            profile_for(s, GUELPH), peer="fayetteville-ar",
            settings={"pricing": {"assumptions": {"pricing.horizon_years": 12.0, "pricing.discount_rate": 8}}}))
    finally:
        s.close()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["scenario"] = saved.id
    at.run()
    at.switch_page("pages/pricing.py")
    at.run()
    assert not at.exception, at.exception
    assert "12-year cost: piggyback" in metrics(at)
    assert at.number_input(key="pricing.pricing.horizon_years").value == 12
    assert at.number_input(key="pricing.pricing.discount_rate").value == 8.0
