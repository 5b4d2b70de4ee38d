"""Hostile text (HTML, script, Markdown links and images) typed by users or imported by a steward
shows as text on every page that displays it: no element's Markdown carries it unescaped."""

import csv
import io
import re

import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from piggyback.ui import widgets
from piggyback.data.evidence import record_evidence, scope_for
from piggyback.core.identity import operator
from piggyback.data.interchange import import_bytes
from piggyback.data.scenarios import open_scenario_store, payload_from_profile
from piggyback.data.profile import profile_for
from piggyback.data.store import Store

PAYLOAD = ('[click me](https://evil.example/phish) https://evil.example/bare www.evil.example '
           '<img src=x onerror=alert(1)> [click](javascript:alert(1)) ![t](http://evil.example/t.png) **x**')
DANGEROUS = ("<img", "<script", "](javascript", "](http://evil", "](https://evil")
# A live link after Markdown: an unescaped "](" (link or image syntax), or a bare address that GFM
# autolinks in the text as read, i.e. even when its ':' or '.' was backslash-escaped.
LINK_SYNTAX = re.compile(r"\]\(")
BARE_ADDRESS = re.compile(r"(?i:https?://|www\.)evil\.example|@evil\.example")
GUELPH = "CA-CSD-3523008"


@pytest.fixture()
def hostile_db(db_copy, monkeypatch):
    """A database holding hostile text in a peer record, a scenario name and a piece of evidence."""
    store = Store.open(db_copy)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["deployment_id", "jurisdiction", "region", "country", "vendor", "product",
                                        "notes", "confidence", "source_urls", "module_codes"], lineterminator="\n")
    w.writeheader()
    w.writerow({"deployment_id": "hostile-on", "jurisdiction": "Town of " + PAYLOAD[:60], "region": "ON",
                "country": "Canada", "vendor": PAYLOAD[:150], "product": PAYLOAD[:150], "notes": PAYLOAD,
                "confidence": "low", "source_urls": "https://example.org/x", "module_codes": "building"})
    import_bytes(store, buf.getvalue().encode(), "hostile.csv", user=operator())
    record_evidence(store, scope_for(GUELPH, "ottawa-on"), "ALL-01", note=PAYLOAD, user=operator())
    profile = profile_for(store, GUELPH)
    open_scenario_store(store).save(PAYLOAD[:80], payload_from_profile(profile, peer="ottawa-on"), user=operator())
    store.close()
    monkeypatch.setenv("PIGGYBACK_DB", str(db_copy))
    widgets._open_store.clear()
    yield db_copy
    widgets._open_store.clear()


def _markdown_sources(at: AppTest) -> list[str]:
    texts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader"):
        texts += [str(e.value) for e in at.get(kind)]
    for exp in at.get("expander"):
        texts.append(str(getattr(exp, "label", "")))
    return texts + _rendered_fields(at)


def _rendered_fields(at: AppTest) -> list[str]:
    """Every string Streamlit renders as Markdown, from every element and block of the page:
    bodies (markdown, alerts, metric values), labels (widgets, metrics, expanders, tabs) and
    ``help`` tooltips. Selectbox options, dataframe cells and code are plain text: not collected."""
    out = []
    for node in at._tree:
        proto = getattr(node, "proto", None)
        if proto is None:
            continue
        stack = [proto]
        while stack:
            msg = stack.pop()
            for field, value in msg.ListFields():
                if field.name in ("body", "label", "help") and isinstance(value, str):
                    out.append(value)
                elif isinstance(value, Message):
                    stack.append(value)
    return out


def _syntax(text: str) -> str:
    """The text with each backslash-escaped character replaced by a neutral one: what is left is syntax."""
    return re.sub(r"\\.", "\x00", text)


def _as_read(text: str) -> str:
    """The text as Markdown reads it (escapes resolved), where GFM looks for bare addresses."""
    return re.sub(r"\\(.)", r"\1", text)


# (page, peer, whether the page shows the hostile text through Markdown: names, tooltips, notes)
@pytest.mark.parametrize("page,peer,shown", [
    ("pages/home.py", None, False), ("pages/peer_ranking.py", "hostile-on", True),
    ("pages/data_sources.py", None, False), ("pages/compliance_checklist.py", "ottawa-on", True),
    ("pages/business_case.py", "ottawa-on", False), ("pages/pricing.py", "hostile-on", True),
    ("pages/timeline_savings.py", "hostile-on", True), ("pages/prospect_list.py", "hostile-on", True),
])
def test_hostile_text_is_shown_as_text(hostile_db, page, peer, shown):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["agency"] = GUELPH
    if peer:
        at.query_params["peer"] = peer
    at.run()
    if page == "pages/compliance_checklist.py":  # the card holding the hostile evidence, opened: closed cards are empty (#15)
        at.session_state["cmp_rule_ALL-01"] = True
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    texts = _markdown_sources(at)
    if shown:
        assert any("evil" in t for t in texts), f"{page}: the hostile text is not shown at all"
    for text in texts:
        for bad in DANGEROUS:
            assert bad not in text, f"{page}: unescaped {bad!r} in {text[:200]!r}"
        if "evil" in text:
            live = LINK_SYNTAX.search(_syntax(text)) or BARE_ADDRESS.search(_as_read(text))
            assert live is None, f"{page}: live link {live.group(0)!r} in {text[:200]!r}"
