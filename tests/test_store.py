"""The store: built from data/ with every census row and peer, idempotent, sourced, and safe."""

import shutil
from pathlib import Path

import duckdb
import pytest

from piggyback.core.errors import AmbiguousPeer, ReadOnlyStore, StoreBusy, StoreCorrupt, StoreError, UnknownPeer
from piggyback.data.store import Store, build


def test_build_loads_every_census_row_and_peer(store):
    jur = store.jurisdictions()
    assert (jur["country"] == "CA").sum() == 5161
    assert jur["geo_id"].str.startswith("US-CO-").sum() == 3143
    assert jur["geo_id"].str.startswith("US-ST-").sum() == 51
    assert jur["geo_id"].str.startswith(("US-PL-", "US-MCD-")).sum() == 25261
    assert jur["geo_id"].is_unique and jur["display_name"].is_unique
    assert len(store.peers()) == 50  # 31 seed peers + 19 from research round 2 (data/peers/deployments.csv)


def test_census_values_are_unchanged(store):
    hamilton = store.jurisdiction("CA-CSD-3525005")
    assert (hamilton.population, hamilton.population_prev, hamilton.households) == (569353, 536917, 222807)
    assert hamilton.land_area_km2 == pytest.approx(1118.31)
    assert store.jurisdiction("CA-CSD-3520005").population == 2794356
    la = store.jurisdiction("US-CO-06037")
    assert la.population_prev == 10014009 and la.population_year == 2021
    counties = store.query_df("SELECT SUM(population_prev) s FROM jurisdictions WHERE geo_id LIKE 'US-CO-%'")
    assert int(counties["s"][0]) == 331449281
    ca_total = store.query_df("SELECT SUM(population) s FROM jurisdictions WHERE country = 'CA'")
    assert int(ca_total["s"][0]) == 36991981


def test_canadian_peers_take_population_from_the_census(store):
    peers = store.peers().set_index("deployment_id")
    assert peers.loc["ottawa-on", "peer_population"] == 1017449
    assert peers.loc["hamilton-on", "census_population"] == 569353
    # Clarington's research row had no population: the census link fills it, labelled as census.
    assert peers.loc["clarington-on", "population"] != peers.loc["clarington-on", "population"]  # NaN
    assert peers.loc["clarington-on", "census_population"] == 101427
    assert peers["geo_id"].notna().all()


def test_unknown_stays_blank_and_vendor_claims_are_separate(store):
    hamilton = store.deployment("hamilton-on")
    assert hamilton.vendor is None and hamilton.go_live is None and hamilton.confidence == "low"
    claims = store.table("claims")
    vendor_claim = claims[(claims["deployment_id"] == "hamilton-on") & (claims["field"] == "vendor")].iloc[0]
    assert vendor_claim["kind"] == "vendor-stated" and vendor_claim["status"] == "unconfirmed"
    ottawa_recent = claims[claims["claim_id"] == "cx-ottawa-recent"].iloc[0]
    assert ottawa_recent["status"] == "contradicted"


def test_every_fact_has_sources_and_every_url_is_catalogued(store):
    facts = store.facts("deployment")
    assert len(facts) > 150
    assert facts["source_urls"].map(len).min() >= 1
    known = set(store.sources()["url"].dropna())
    for urls in store.peers()["source_urls"]:
        assert set(urls) <= known
    vendor_only = facts[(facts["entity_id"] == "north-middlesex-on") & (facts["field"] == "vendor")]
    assert vendor_only.iloc[0]["kind"] == "vendor-stated"


def test_rebuild_is_idempotent(built_db, tmp_path):
    path = tmp_path / "again.duckdb"
    shutil.copy(built_db, path)
    def snapshot():
        con = duckdb.connect(str(path), read_only=True)
        try:
            return {t: con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
                    for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}, \
                con.execute("SELECT * FROM deployments ORDER BY deployment_id").fetchall()
        finally:
            con.close()
    before = snapshot()
    build(path)
    assert snapshot() == before


def test_missing_database_is_built_on_open(tmp_path):
    path = tmp_path / "fresh.duckdb"
    s = Store.open(path)
    try:
        assert s.is_built() and len(s.peers()) == 50  # 31 seed + 19 round-2 peers
    finally:
        s.close()


def test_damaged_store_gives_a_clear_message_and_force_rebuild_keeps_a_backup(built_db, tmp_path):
    """A damaged reference file is rebuilt only with --force, and is moved to a backup, not deleted."""
    path = tmp_path / "broken.duckdb"
    good = built_db.read_bytes()
    path.write_bytes(good[:4096] + b"\x00garbage" * 1000)  # DuckDB's header, damaged body
    with pytest.raises(StoreCorrupt, match="build --force"):
        Store.open(path)
    build(path, force=True)
    backups = list(tmp_path.glob("broken.duckdb.backup-*"))
    assert len(backups) == 1 and backups[0].read_bytes()[:4096] == good[:4096]
    s = Store.open(path, read_only=True)
    assert len(s.peers()) == 50  # 31 seed + 19 round-2 peers
    s.close()


@pytest.mark.parametrize("content", [b"this is not a database" * 100, b"SQLite format 3\x00" + b"\x00" * 4000])
def test_force_build_refuses_a_file_that_is_not_piggybacks(tmp_path, content):
    """`build --force --db other.sqlite` must never delete or replace someone else's file."""
    path = tmp_path / "other.sqlite"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="not a Piggyback database"):
        build(path, force=True)
    assert path.read_bytes() == content and not list(tmp_path.glob("other.sqlite.backup-*"))


def test_force_build_refuses_another_duckdb_database(tmp_path):
    import duckdb

    path = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE payroll (name VARCHAR, salary INTEGER)")
    con.execute("INSERT INTO payroll VALUES ('a', 1)")
    con.close()
    with pytest.raises(StoreError, match="not a Piggyback database"):
        build(path, force=True)
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT COUNT(*) FROM payroll").fetchone()[0] == 1
    con.close()


def test_peer_resolution_by_id_name_or_unique_part(store):
    assert store.resolve_peer("ottawa-on") == "ottawa-on"
    assert store.resolve_peer("City of Ottawa") == "ottawa-on"
    assert store.resolve_peer("fayetteville") == "fayetteville-ar"
    with pytest.raises(AmbiguousPeer):
        store.resolve_peer("county")
    with pytest.raises(UnknownPeer, match="Known peers"):
        store.resolve_peer("Atlantis")


def test_read_only_store_refuses_writes(store):
    with pytest.raises(ReadOnlyStore):
        store.audit("test", "nothing")


def test_writer_elsewhere_gives_read_only_fallback_with_notice(db_copy):
    """DuckDB allows one writing process: a second process opening the reference store and the
    users' record falls back to read-only copies, which are removed when it closes."""
    import subprocess, sys, tempfile, textwrap
    from piggyback.data.record import default_record_path

    record_path = default_record_path(db_copy)
    Store.open(db_copy).close()  # creates the record file
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(db_copy)!r})
        rec = duckdb.connect({str(record_path)!r})
        print('locked', flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    before = set(Path(tempfile.gettempdir()).glob("piggyback-*"))
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreBusy, match="another process"):
            Store.open(db_copy)
        fallback = Store.open(db_copy, allow_read_only_fallback=True)
        assert fallback.read_only and "read-only" in fallback.notice
        assert len(fallback.peers()) == 50  # 31 seed + 19 round-2 peers
        with pytest.raises(ReadOnlyStore):
            fallback.audit("x", "y")
        fallback.close()
        left = set(Path(tempfile.gettempdir()).glob("piggyback-*")) - before
        assert not left, f"snapshot copies left behind: {left}"
    finally:
        holder.kill()
