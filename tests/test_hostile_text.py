"""Hostile text (HTML, script, Markdown links and images) typed by users or imported by a steward
shows as text on every page that displays it: no element's Markdown carries it unescaped."""

import csv
import io

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from piggyback import widgets
from piggyback.evidence import record_evidence, scope_for
from piggyback.interchange import import_bytes
from piggyback.scenarios import open_scenario_store, payload_from_profile
from piggyback.profile import profile_for
from piggyback.store import Store

PAYLOAD = '<img src=x onerror=alert(1)> [click](javascript:alert(1)) ![t](http://evil.example/t.png) **x**'
DANGEROUS = ("<img", "<script", "](javascript", "](http://evil")
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
    import_bytes(store, buf.getvalue().encode(), "hostile.csv", who="steward")
    record_evidence(store, scope_for(GUELPH, "ottawa-on"), "ALL-01", note=PAYLOAD, who="clerk")
    profile = profile_for(store, GUELPH)
    open_scenario_store(store).save(PAYLOAD[:80], payload_from_profile(profile, peer="ottawa-on"))
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
    return texts


@pytest.mark.parametrize("page,peer", [
    ("pages/home.py", None), ("pages/peer_ranking.py", "hostile-on"), ("pages/data_sources.py", None),
    ("pages/compliance_checklist.py", "ottawa-on"), ("pages/business_case.py", "ottawa-on"),
    ("pages/pricing.py", "hostile-on"), ("pages/timeline_savings.py", "hostile-on"), ("pages/prospect_list.py", None),
])
def test_hostile_text_is_shown_as_text(hostile_db, page, peer):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["agency"] = GUELPH
    if peer:
        at.query_params["peer"] = peer
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    for text in _markdown_sources(at):
        for bad in DANGEROUS:
            assert bad not in text, f"{page}: unescaped {bad!r} in {text[:200]!r}"
