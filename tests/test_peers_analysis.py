"""The peers analysis (#11): one ranking for the Peers page, `similar --json` and the business case;
introductions that name only similarities and keep the contact point out of the letter (#15)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from streamlit.testing.v1 import AppTest

from conftest import BUILT_DB, ROOT
from piggyback import cli
from piggyback.data import peers as peer_data
from piggyback.analyses.peers import PeersSettingsError, analyse_peers, analyse_prospects, upgrade_section
from piggyback.analyses.business_case import build_business_case
from piggyback.data.profile import profile_for

GUELPH = "CA-CSD-3523008"
TRAVIS = "US-CO-48453"
TODAY = dt.date(2026, 6, 1)


def _page_top(geo: str, n: int) -> list[tuple[str, float]]:
    from test_peers_page import page_file

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["agency"] = geo
    at.run()
    at.switch_page(page_file("peers"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "Why" in d.value.columns and "Peer" in d.value.columns)
    return list(zip(table["Peer"].head(n), table["Score"].head(n)))


def _cli_top(geo: str, n: int, capsys) -> list[tuple[str, float]]:
    capsys.readouterr()
    assert cli.main(["--db", str(BUILT_DB), "similar", "--agency", geo, "--top", str(n), "--json"]) == 0
    return [(i["jurisdiction"], i["score"]) for i in json.loads(capsys.readouterr().out)]


@pytest.mark.parametrize("geo", [GUELPH, TRAVIS])
def test_page_cli_and_business_case_agree_on_the_closest_peers(geo, store, built_db, capsys):
    """Same top five peers, same scores, on the page, in `similar --json` and in the business case."""
    page = _page_top(geo, 5)
    printed = _cli_top(geo, 5, capsys)
    case = build_business_case(store, profile_for(store, geo), None, {}, today=TODAY)
    in_case = [(p["jurisdiction"], p["score"]) for p in case.peers["top"]]
    assert len(page) == len(printed) == len(in_case) == 5
    assert [n for n, _ in page] == [n for n, _ in printed] == [n for n, _ in in_case]
    for (_, a), (_, b), (_, c) in zip(page, printed, in_case):
        assert a == pytest.approx(b, abs=1e-9) and c == pytest.approx(b, abs=5e-5)


def test_introduction_names_similarities_not_differences(store):
    """Guelph to Ottawa (about 7× its size): the letter does not call the size gap a reason they are alike."""
    guelph = profile_for(store, GUELPH)
    result = analyse_peers(store, guelph, {}, today=TODAY)
    ottawa = result.item("ottawa-on")
    assert any("× your population" in r for r in ottawa["reasons"])  # the table still says how they differ
    letter = result.introduction("ottawa-on")
    bullets = [line for line in letter.splitlines() if line.startswith("- ")]
    assert bullets and not any("×" in b or "different" in b for b in bullets), bullets
    assert "- same province (ON)" in bullets


def test_introduction_keeps_the_contact_point_out_of_the_letter(store):
    result = analyse_peers(store, profile_for(store, GUELPH), {}, today=TODAY)
    without = result.introduction("cambridge-on", None)
    with_contact = result.introduction("ottawa-on", {"department": "Building Code Services", "channel": "web",
                                                     "value": "https://ottawa.ca/building"})
    assert "contact point" not in without and "No public contact" not in without
    assert "https://ottawa.ca/building" not in with_contact and with_contact.startswith("To: Building Code Services")


def test_filters_narrow_the_list_but_not_the_ranks(store):
    """A vendor filter keeps only that vendor's peers; each keeps its score and its rank among all."""
    guelph = profile_for(store, GUELPH)
    everyone = analyse_peers(store, guelph, {}, today=TODAY)
    only = analyse_peers(store, guelph, {"vendor": ["Computronix"]}, today=TODAY)
    assert 2 <= len(only.items) < len(everyone.items)
    assert {i["vendor_canonical"] for i in only.items} == {"Computronix"}
    scores = {i["deployment_id"]: i["score"] for i in everyone.items}
    assert all(i["score"] == scores[i["deployment_id"]] for i in only.items)
    assert only.filters == {"vendor": ["Computronix"]}


def test_weights_preset_adjusted_and_bad(store):
    guelph = profile_for(store, GUELPH)
    preset = analyse_peers(store, guelph, {"preset": "size only"}, today=TODAY)
    assert not preset.adjusted and preset.url_weights == "size only" and preset.dims_scored == ("size",)
    moved = analyse_peers(store, guelph, {"preset": "size only", "weights": {"size": 50, "legal": 50}}, today=TODAY)
    assert moved.adjusted and json.loads(moved.url_weights)["legal"] == 50
    with pytest.raises(PeersSettingsError, match="weights"):
        analyse_peers(store, guelph, {"weights": {"size": -1}}, today=TODAY)


def test_a_scenario_saved_with_nested_filters_still_opens():
    section = {"preset": "balanced", "filters": {"vendors": ["Computronix"], "availability": ["expired"]}}
    assert upgrade_section(section) == {"preset": "balanced", "vendor": ["Computronix"], "availability": ["expired"]}


def test_prospects_analysis_matches_the_store_glue(store):
    """analyse_prospects ranks as rank_prospects does, and keeps the filters it applied."""
    result = analyse_prospects(store, "ottawa-on", {"regions": ["ON"], "pop_min": 50_000, "top": 10})
    _, expected, set_aside = peer_data.rank_prospects(store, "ottawa-on", region=["ON"], pop_min=50_000)
    assert result.scored["geo_id"].tolist() == expected["geo_id"].tolist() and result.set_aside == set_aside
    assert len(result.items()) == 10 and result.where_text == "ON"
