"""Research round 2 (issue #14) in the store: every fact keeps its source, quote and confidence,
new peers are linked to their census jurisdiction, and nothing contradicting is overwritten."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from piggyback.core.models import is_blank
from piggyback.engines.pricing import items_from_records

from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
RESEARCH = ROOT.parent / "shared" / "research" / "round2"


def _research(name: str) -> pd.DataFrame:
    path = RESEARCH / name
    if not path.exists():
        pytest.skip(f"the research file {path} is not on this machine")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_every_contract_fact_keeps_url_quote_and_confidence(store):
    facts = store.table("contract_facts")
    assert len(facts) == 148
    for col in ("source_url", "quote", "confidence", "source_kind", "deployment_id", "fact"):
        blank = facts[facts[col].map(is_blank)]
        assert blank.empty, f"{col} blank for {blank['fact_id'].tolist()}"
    assert facts["source_url"].str.match(r"^https?://\S+$").all()
    assert set(facts["confidence"]) <= {"high", "medium", "low"}
    assert facts["fact_id"].is_unique
    known = set(store.table("deployments")["deployment_id"])
    assert set(facts["deployment_id"]) <= known


def test_facts_match_the_research_file_verbatim(store):
    research = _research("contract_facts.csv")
    facts = store.table("contract_facts")
    got = sorted(zip(facts["fact"], facts["value"], facts["source_url"], facts["quote"]))
    want = sorted(zip(research["fact"], research["value"], research["source_url"], research["quote"]))
    assert got == want


def test_no_fact_lacks_a_source(store):
    """Every source-bearing table: each row names a source that the sources table classifies."""
    sources = store.sources()
    kinds = dict(zip(sources["url"], sources["kind"]))
    for table, col in (("contract_facts", "source_url"), ("durations", "source_url"), ("price_items", "source_url")):
        frame = store.table(table)
        missing = frame[frame[col].map(is_blank)]
        assert missing.empty, f"{table}: rows without a source"
        if table != "price_items":  # price items predate the sources table for a few seed rows
            unlisted = sorted(set(frame[col]) - set(kinds))
            assert not unlisted, f"{table}: sources not in sources.csv: {unlisted}"
    for rec in store.table("deployments").to_dict("records"):
        assert len(rec["source_urls"]) > 0, rec["deployment_id"]
        assert set(rec["source_urls"]) <= set(kinds), rec["deployment_id"]
    facts = store.facts()
    assert not facts.empty and facts["source_urls"].map(len).gt(0).all()


def test_agency_records_are_primary_news_secondary_vendor_pieces_vendor_stated(store):
    kinds = dict(zip(store.sources()["url"], store.sources()["kind"]))
    # a city's own council memo (read on a document mirror) is the agency's record
    assert kinds["https://fdocuments.us/document/energov-enterprise-server-cost-proposal.html"] == "primary"
    assert kinds["https://www.postregister.com/star/news/commissioners-approve-contract-with-civicplus/"
                 "article_de6fc622-2898-11ed-bd01-7b669dabd675.html"] == "secondary"
    mw = [u for u in kinds if isinstance(u, str) and "municipalworld.com" in u]
    assert mw and all(kinds[u] == "vendor-stated" for u in mw)
    research = _research("contract_facts.csv")
    for url, kind in zip(research["source_url"], research["source_kind"]):
        assert kinds[url] == kind, url


def test_new_peers_are_linked_to_their_census_jurisdiction(store):
    research = _research("new_peers.csv")
    peers = store.peers()
    assert len(peers) >= 48
    names = set(zip(peers["jurisdiction"], peers["region"]))
    for r in research.itertuples():
        assert (r.jurisdiction, r.region) in names, r.jurisdiction
    new = peers[peers["jurisdiction"].isin(research["jurisdiction"]) & peers["region"].isin(research["region"])]
    assert new["geo_id"].notna().all() and new["census_name"].notna().all()
    county = peers[peers["deployment_id"] == "monterey-county-ca"].iloc[0]
    assert county["geo_id"] == "US-CO-06053"  # the county, not the City of Monterey
    jefferson = peers[peers["jurisdiction"] == "Jefferson County"].set_index("region")["geo_id"]
    assert jefferson["WA"] == "US-CO-53031" and jefferson["ID"] == "US-CO-16051"
    assert pd.isna(county["population"])  # not researched: blank, census population used instead
    assert county["peer_population"] > 0


def test_contradicting_fact_is_kept_as_a_second_dated_fact_not_overwritten(store):
    facts = store.table("contract_facts").set_index("fact_id")
    humboldt = facts.loc["r2-humboldt-ca-award-1"]
    assert humboldt["fact_date"] == "2017-05-23"
    assert "2025" in humboldt["conflicts_with"] and humboldt["researched"] == "2026-11-29"
    contract = store.table("contracts").set_index("contract_id").loc["c-humboldt-ca"]
    assert contract["award_date"] == "2025"  # the seed value stands beside the conflicting fact
    assert store.deployment("humboldt-ca").contract_award == "2025"
    conflicts = facts[facts["conflicts_with"].notna()]
    assert set(conflicts.index) >= {"r2-humboldt-ca-award-1", "r2-newport-beach-ca-term-years-1"}


def test_contracts_and_price_items_from_the_facts(store):
    contracts = store.table("contracts").set_index("contract_id")
    columbus = contracts.loc["c-columbus-oh"]
    assert columbus["vehicle"] == "cooperative" and columbus["award_date"] == "2020-11-25"
    assert columbus["expiry_date"] == "2021-06-30" and columbus["lead_agency"].startswith("State of Ohio")
    assert columbus["value"] == pytest.approx(115587.04)
    jefferson = contracts.loc["c-jefferson-county-wa"]
    assert jefferson["vehicle"] == "interlocal" and jefferson["lead_agency"] == "Whatcom County, WA"
    assert pd.isna(jefferson["coop_clause"])  # the clause itself was never read: unknown stays blank
    assert contracts.loc["c-west-covina-ca", "solicitation_id"].startswith("RFP No. 11-014")
    # no contract fact was found for these: no (empty) contract record pretends there is one to adopt
    assert not {"c-middlesex-centre-on", "c-south-huron-on", "c-avon-ct"} & set(contracts.index)
    items = items_from_records(store.table("price_items").to_dict("records"))  # all valid
    avon = [i for i in items if i.deployment_id == "avon-co"]
    assert {(i.category, i.recurrence) for i in avon} >= {("subscription", "recurring"), ("implementation", "one_time"),
                                                          ("data_migration", "one_time")}
    assert sum(i.amount for i in avon if i.recurrence == "recurring") == 13800  # the stated Y1 subscription total
    lump = [i for i in items if i.item_id == "r2-miami-beach-fl-price-line-1"][0]
    assert lump.description.startswith("Lump sum") and lump.note.startswith("Lump sum")
    alameda = [i for i in items if i.deployment_id == "alameda-ca"]  # the 3-year value is its only price
    assert len(alameda) == 1 and alameda[0].description.startswith("Lump sum") and alameda[0].years == 3
    assert alameda[0].amount * 3 == pytest.approx(516833, abs=0.02)
    facts = store.table("contract_facts")
    price_lines = facts[facts["fact"] == "price_line"]
    assert len(price_lines) == 46
    assert price_lines["stored_as"].str.match(r"^(price_items |not a price item: )").all()


def test_durations_table(store):
    research = _research("durations.csv")
    durations = store.table("durations")
    assert len(durations) == len(research) == 61
    assert durations["agency"].nunique() == 29
    assert set(durations["route"]) <= {"own_rfp", "cooperative", "interlocal", "sole_source", "unknown"}
    assert set(durations["date_precision"]) <= {"day", "month", "year"}
    for col in ("date", "source_url", "quote", "confidence"):
        assert not durations[col].map(is_blank).any(), col
    killeen = durations[durations["deployment_id"] == "killeen-tx"]
    assert "2023-10-02" in set(killeen["date"])


def test_export_lists_at_least_48_deployments(tmp_path):
    out = tmp_path / "peers.csv"
    done = run_cli("export", str(out))
    assert done.returncode == 0, done.stderr
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 48
    assert {"avon-co", "avon-ct", "middlesex-centre-on", "jefferson-county-wa"} <= {r["deployment_id"] for r in rows}


def test_unlisted_sources_are_classified_by_what_they_are():
    """The rule the store uses for an address not in sources.csv (an imported row's) agrees with
    the research's own classification of every deployment source it can judge from the address."""
    from piggyback.data.contract_import import source_kind_of

    sources = pd.read_csv(ROOT / "data" / "peers" / "sources.csv", dtype=str, keep_default_na=False)
    kind = dict(zip(sources["url"], sources["kind"]))
    deployments = pd.read_csv(ROOT / "data" / "peers" / "deployments.csv", dtype=str, keep_default_na=False)
    mirrors = ("fdocuments.", "docslib.org", "docecity.com", "slideshare.net")  # a copy says nothing of its origin
    judged = 0
    for r in deployments.itertuples():
        for url in [u.strip() for u in r.source_urls.split(";") if u.strip()]:
            if any(m in url for m in mirrors) or "municipalworld.com" in url:  # sponsored content on a magazine
                continue
            judged += 1
            assert source_kind_of(url, r.jurisdiction) == kind[url], (r.jurisdiction, url)
    assert judged >= 70  # 71 of the deployments' sources as of research round 2
    assert source_kind_of("https://guelph.ca/council/report", "City of Guelph") == "primary"
    assert source_kind_of("https://guelphtoday.com/local-news/x", "City of Guelph") == "secondary"
    assert source_kind_of("https://cloudpermit.com/success-stories/x", "Town of X") == "vendor-stated"
    assert source_kind_of("https://examplecity.legistar.com/LegislationDetail.aspx?ID=1") == "primary"
