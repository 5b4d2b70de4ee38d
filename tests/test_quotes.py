"""User-entered quotes: saved, listed, costed and deleted in the store, audited, validated first."""

from __future__ import annotations

import json

import pytest
from conftest import person, record_count

from piggyback.data import quotes
from piggyback.core.errors import ReadOnlyStore, UnknownPeer
from piggyback.engines.pricing import PricingError
from piggyback.engines.pricing_routes import contract_tco, cost_settings
from piggyback.data.profile import profile_for

GUELPH = "CA-CSD-3523008"
SCOPE = f"agency:{GUELPH}|peer:fayetteville-ar"
YEAR = 2026


def line(**over) -> dict:
    base = dict(category="licence", description="Licence under the piggyback clause", basis="fixed",
                amount=500_000, currency="CAD", price_year=YEAR, recurrence="one_time")
    base.update(over)
    return base


@pytest.fixture(scope="module")
def shared_writable(built_db, tmp_path_factory):
    """One writable copy for the tests that must leave it untouched."""
    import shutil

    from piggyback.data.store import Store

    path = tmp_path_factory.mktemp("quotes") / "copy.duckdb"
    shutil.copy(built_db, path)
    s = Store.open(path)
    yield s
    s.close()


def rows(store, table: str) -> int:
    return record_count(store, table)


CLERK = person("clerk")


def audit_actions(store) -> list[tuple[str, dict]]:
    return [(a, json.loads(d)) for a, d in store.record.rows(
        "SELECT action, detail FROM audit_log WHERE action LIKE 'quote.%' ORDER BY ts")]


def test_save_list_cost_delete_round_trip_is_audited(writable_store):
    s = writable_store
    saved = quotes.save_quote(s, SCOPE, line(), user=CLERK)
    assert saved.kind == "user-entered" and saved.deployment_id == "fayetteville-ar"
    annual = quotes.save_quote(s, SCOPE, line(category="maintenance", description="Support", basis="per_year",
                                              amount=40_000, recurrence="recurring", escalation_pct=0), user=CLERK)
    listed = quotes.list_quotes(s, SCOPE)
    assert [q.item for q in listed] == [saved, annual]
    assert {q.who for q in listed} == {"local:clerk"}
    assert quotes.list_quotes(s, f"agency:{GUELPH}|peer:ottawa-on") == []

    # the quote is the agency's own price: not rescaled. 500,000 once + 40,000 a year for 3 years, CAD.
    agency = profile_for(s, "Guelph, ON")
    settings = cost_settings(quotes.pricing_assumptions(s), {"pricing.horizon_years": 3}, "CAD",
                             price_year_target=YEAR)
    _, tco = contract_tco(quotes.quote_schedule(quotes.quote_items(s, SCOPE), "fayetteville-ar"), agency,
                          settings, scale_fixed=False)
    assert tco.total == pytest.approx(500_000 + 3 * 40_000)
    assert {i["kind"] for i in tco.items} == {"user-entered"}

    quotes.delete_quote(s, saved.item_id, SCOPE, user=CLERK)
    assert [q.item for q in quotes.list_quotes(s, SCOPE)] == [annual]
    actions = audit_actions(s)
    assert [a for a, _ in actions] == ["quote.save", "quote.save", "quote.delete"]
    assert actions[0][1]["record"]["amount"] == 500_000 and actions[2][1]["item_id"] == saved.item_id
    with pytest.raises(PricingError, match="no saved quote line"):
        quotes.delete_quote(s, saved.item_id, SCOPE)


@pytest.mark.parametrize("over, reason", [
    ({"amount": -1}, "amount"),
    ({"amount": None}, "amount: required"),
    ({"description": "  "}, "description: required"),
    ({"category": "snacks"}, "category"),
    ({"currency": "EUR"}, "currency"),
    ({"price_year": 1900}, "not sensible"),
    ({"years": 3}, "only for recurring"),
    ({"source_url": "the vendor's letter"}, "not a web address"),
    ({"kind": "primary"}, "entered by the user"),
    ({"deployment_id": "ottawa-on"}, "scope is peer fayetteville-ar"),
])
def test_invalid_quote_is_rejected_with_its_reason_and_nothing_written(shared_writable, over, reason):
    before = (rows(shared_writable, "user_price_items"), rows(shared_writable, "audit_log"))
    with pytest.raises(PricingError, match=reason):
        quotes.save_quote(shared_writable, SCOPE, line(**over))
    assert (rows(shared_writable, "user_price_items"), rows(shared_writable, "audit_log")) == before


def test_unknown_peer_or_bad_scope_is_refused(shared_writable):
    with pytest.raises(UnknownPeer):
        quotes.save_quote(shared_writable, f"agency:{GUELPH}|peer:no-such-peer", line())
    with pytest.raises(PricingError, match="scope"):
        quotes.save_quote(shared_writable, "fayetteville-ar", line())
    assert rows(shared_writable, "user_price_items") == 0


def test_read_only_store_refuses_to_save_or_delete(store):
    assert store.read_only
    with pytest.raises(ReadOnlyStore):
        quotes.save_quote(store, SCOPE, line())
    with pytest.raises(ReadOnlyStore):
        quotes.delete_quote(store, "quote-anything", SCOPE)


def test_store_schedules_scale_from_the_peer_population_and_say_where_it_is_from(store):
    schedules, notes = quotes.price_schedules_with_notes(store)
    assert "fayetteville-ar" in schedules and "ottawa-on" not in schedules
    assert schedules["fayetteville-ar"].peer_population == 93_949 and "peer record" in notes["fayetteville-ar"]
    # a peer record without a population falls back to its census jurisdiction, and says so
    census = store.peers().set_index("deployment_id").loc["prescott-az", "census_population"]
    assert schedules["prescott-az"].peer_population == census and "census" in notes["prescott-az"]
    assert set(quotes.pricing_assumptions(store)) >= {"pricing.discount_rate", "pricing.rfp_fixed_cost"}
