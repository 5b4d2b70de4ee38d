"""URL parameters are typed by anyone: the strict readers in piggyback.core.params never raise and keep
every value in bounds, and no page shows a traceback for a hostile link (issue #17)."""

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from piggyback.core import params
from piggyback.core.models import MODULES
from piggyback.data.profile import inputs_from_query

GUELPH = "CA-CSD-3523008"
DEEP_JSON = "[" * 5000 + "]" * 5000
PHISH = "[click me](https://evil.example/phish)"


# -- the readers -------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["²", "١٢", "12a", "-5", "+5", " ", "1e3", "0x10", "99999999999", "3.0", "１２"])
def test_whole_number_accepts_ascii_digits_only(raw):
    got = params.whole_number(raw, "years", 1, 50, default=10)
    assert got.value == 10
    if raw.strip():
        assert got.problem == "The link's 'years' value is not a whole number from 1 to 50; using 10."


def test_whole_number_bounds_and_blank():
    assert params.whole_number("15", "years", 1, 50, default=10).value == 15
    assert params.whole_number(" 15 ", "years", 1, 50, default=10).value == 15
    assert params.whole_number("51", "years", 1, 50, default=10).problem is not None
    assert params.whole_number("0", "years", 1, 50, default=10).value == 10
    assert params.whole_number(None, "years", 1, 50, default=10) == params.Param(10)
    assert params.whole_number("", "years", 1, 50).problem is None


def test_flag_identifier_choice_and_lists():
    assert params.flag("1", "meeting").value is True and params.flag("false", "meeting").value is False
    assert params.flag("maybe", "meeting").problem == "The link's 'meeting' value is not 1 or 0; it is off."
    assert params.identifier("ottawa-on", "peer", known=["ottawa-on"]).value == "ottawa-on"
    unknown = params.identifier("nowhere-on", "peer", known=["ottawa-on"], what="peer deployment")
    assert unknown.value is None and "names no peer deployment on file" in unknown.problem
    hostile = params.identifier(PHISH, "scenario", what="scenario id")
    assert hostile.value is None and "evil" not in hostile.problem and "](" not in hostile.problem
    assert params.choice("b", "x", ["a", "b"]).value == "b"
    assert params.choice("c", "x", ["a", "b"], default="a").value == "a"
    mods = params.choices("building,nope,planning,building", "modules", MODULES)
    assert mods.value == ["building", "planning"] and "1 unknown entry" in mods.problem
    assert params.choices("none", "modules", MODULES, empty_word="none").value == []


def test_text_removes_control_and_invisible_characters_and_caps_length():
    got = params.text("AMANDA\x00\n\x1b[31m\u202eX", "system", max_len=200)
    assert got.value == "AMANDA [31m X" and got.problem is None
    long = params.text("x" * 500, "system", max_len=200)
    assert len(long.value) == 200 and "cut to 200 characters" in long.problem


def test_json_nested_5000_deep_is_refused_before_parsing():
    got = params.json_value(DEEP_JSON, "weights")
    assert got.value is None and "too long" in got.problem
    short_deep = "[" * 50 + "]" * 50
    got = params.json_value(short_deep, "weights")
    assert got.value is None and "nested too deeply" in got.problem
    # depth is counted without recursion, and brackets inside strings do not count
    assert params.json_depth(DEEP_JSON) == 5000
    assert params.json_depth('{"a": "[[[[[[[[", "b": [1, {"c": "]\\"["}]}') == 3
    assert params.json_value('{"size": 0.5, "growth": 0.5}', "weights").value == {"size": 0.5, "growth": 0.5}
    assert "not valid JSON" in params.json_value('{"size": NaN}', "weights").problem
    assert "not valid JSON" in params.json_value("{'size': 1", "weights").problem


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), st.none(), st.from_regex(r"[0-9²³¹]{0,12}", fullmatch=True)))
def test_no_text_makes_a_reader_raise_and_values_stay_in_bounds(raw):
    n = params.whole_number(raw, "n", 1, 50, default=10)
    assert isinstance(n.value, int) and 1 <= n.value <= 50
    assert params.flag(raw, "f").value in (True, False)
    i = params.identifier(raw, "i")
    assert i.value is None or params.ID_PATTERN.fullmatch(i.value)
    t = params.text(raw, "t", max_len=20)
    assert t.value is None or (len(t.value) <= 20 and not any(ord(c) < 32 for c in t.value))
    c = params.choices(raw, "modules", MODULES, empty_word="none")
    assert c.value is None or set(c.value) <= set(MODULES)
    params.json_value(raw, "j")
    for got in (n, i, t, c):
        assert got.problem is None or (raw is not None and got.problem.startswith("The link's "))


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3), kids, max_size=3),
                    max_leaves=12))
def test_json_depth_matches_the_real_nesting(value):
    def depth(v):
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        return 0

    text = json.dumps(value)
    assert params.json_depth(text) == depth(value)
    got = params.json_value(text, "j", max_chars=10_000, max_depth=100)
    assert got.problem is None and got.value == value


def test_profile_inputs_from_a_hostile_link_are_dropped_with_a_reason():
    problems: list[str] = []
    out = inputs_from_query({"permits": "²", "users": "²", "modules": "building", "system": "x\x00y"}, problems)
    assert out == {"modules_needed": ["building"], "current_system": "x y"}
    assert problems == ["The link's 'permits' value is not a whole number from 0 to 10,000,000; it is left blank.",
                        "The link's 'users' value is not a whole number from 0 to 1,000,000; it is left blank."]
    # the sidebar's staff-users box stops at 1,000,000: a larger value is refused, not passed on
    assert "staff_users" not in inputs_from_query({"users": "5000000"})


# -- every page, with each hostile parameter ----------------------------------------------------

def _texts(at: AppTest) -> list[str]:
    return [str(e.value) for kind in ("warning", "error", "info") for e in at.get(kind)]


def _run(page: str | None, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    # A link's problems show in the sidebar of the first page it opens (in a browser, the linked
    # page itself; here the frame's first run, before switching): keep both runs' messages.
    at.first_run_texts = _texts(at)
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page,query,expected", [
    (None, {"permits": "²"}, "'permits' value is not a whole number"),
    (None, {"users": "²"}, "'users' value is not a whole number"),
    (None, {"meeting": "<b>"}, "'meeting' value is not 1 or 0"),
    ("pages/pricing.py", {"years": "²", "peer": "ottawa-on"}, "'years' value is not a whole number from 1 to 50"),
    ("pages/pricing.py", {"years": "500"}, "'years' value is not a whole number from 1 to 50"),
    ("pages/peer_ranking.py", {"weights": DEEP_JSON}, "'weights' value is too long"),
    ("pages/peer_ranking.py", {"weights": "[" * 40 + "]" * 40}, "'weights' value is nested too deeply"),
    ("pages/peer_ranking.py", {"weights": '{"size": "x"}'}, "The balanced preset is used"),
    ("pages/business_case.py", {"scenario": PHISH}, "'scenario' value is not a valid scenario id"),
    ("pages/business_case.py", {"scenario": "0123456789abcdef"}, "No saved scenario has the id"),
    ("pages/pricing.py", {"peer": "'; DROP TABLE x; --"}, "'peer' value is not a valid peer deployment"),
    ("pages/timeline_savings.py", {"peer": "no-such-peer"}, "'peer' value names no peer deployment"),
    ("pages/compliance_checklist.py", {"peer": PHISH}, "'peer' value is not a valid peer deployment"),
    ("pages/peer_ranking.py", {"peer": "²"}, "'peer' value is not a valid peer deployment"),
    ("pages/business_case.py", {"peer": "../../etc/passwd"}, "'peer' value is not a valid peer deployment"),
    ("pages/prospect_list.py", {"ref": "<script>alert(1)</script>"}, "'ref' value is not a valid peer deployment"),
    ("pages/prospect_list.py", {"ref": "no-such-peer"}, "'ref' value names no peer deployment"),
])
def test_hostile_link_parameter_is_ignored_with_a_plain_message(page, query, expected):
    at = _run(page, agency=GUELPH, **query)
    texts = at.first_run_texts + _texts(at)
    assert any(expected in t for t in texts), texts
    for t in texts:  # the message never echoes the hostile text as a live link
        assert "](http" not in t and "<script" not in t


def test_hostile_agency_is_ignored_and_the_page_invites_a_pick():
    at = _run(None, agency=PHISH, permits="1200")
    assert at.session_state["profile"] is None
    assert any("'agency' value is not a valid census id" in t for t in _texts(at))


def test_good_link_values_are_still_used():
    at = _run("pages/pricing.py", agency=GUELPH, permits="1200", users="40", years="15")
    assert at.session_state["profile"].permit_volume == 1200
    assert at.session_state["profile"].staff_users == 40
    assert at.session_state["scenario"]["pricing"]["assumptions"]["pricing.horizon_years"] == 15
    assert not any("The link's" in t for t in _texts(at))
    at = _run("pages/peer_ranking.py", agency=GUELPH, weights='{"size":60,"growth":40}')
    assert at.session_state["scenario"]["peers"]["weights"]["size"] == 60


def test_config_hides_error_details():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    # "none" hides message, type and traceback in Streamlit 1.67; the legacy false keeps the traceback
    from streamlit import config as st_config
    from streamlit.elements import exception as st_exception

    old = st_config.get_option("client.showErrorDetails")
    try:
        st_config.set_option("client.showErrorDetails", "none")
        shown = st_exception._error_detail_visibility(True)
        assert not (shown.show_message or shown.show_trace or shown.show_type)
    finally:
        st_config.set_option("client.showErrorDetails", old)


def test_page_sources_read_url_parameters_only_through_the_parser():
    """A raw ``st.query_params.get`` is allowed only to compare with what the page writes back, or
    in the reads that go straight into a parser (profile inputs, PageSettings' parameters, the scenario id)."""
    allowed = {
        'inputs = inputs_from_query({k: st.query_params.get(k) for k in PROFILE_KEYS}, problems)',
        'wanted = st.session_state.pop("_open_scenario", None) or st.query_params.get("scenario")',
        'text = st.query_params.get(param)',  # PageSettings: handed straight to the setting's parser
    }
    offenders = []
    for path in [*sorted((ROOT / "pages").glob("*.py")), ROOT / "piggyback" / "ui" / "widgets.py", ROOT / "app.py"]:
        for line in path.read_text().splitlines():
            line = line.strip()
            if "query_params.get(" in line and "url_params." not in line and " != " not in line:
                offenders.append(line)
    assert set(offenders) <= allowed, offenders
