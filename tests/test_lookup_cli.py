"""Finding an agency as people type it, and the foundation CLI commands with their exit codes."""

import json

import pytest

from conftest import run_cli
from piggyback.core.errors import AmbiguousAgency, UnknownAgency
from piggyback.data.lookup import find_agencies, resolve_agency


@pytest.mark.parametrize("query,geo_id", [
    ("Guelph, ON", "CA-CSD-3523008"), ("guelph", "CA-CSD-3523008"), ("GUELPH, Ontario", "CA-CSD-3523008"),
    ("3523008", "CA-CSD-3523008"), ("CA-CSD-3523008", "CA-CSD-3523008"),
    ("Travis County, TX", "US-CO-48453"), ("travis county, texas", "US-CO-48453"),
    ("Fayetteville, AR", "US-PL-05-143-23290"), ("Dallas, TX", "US-PL-48-000-19000"),
    ("Trois-Rivieres, QC", "CA-CSD-2437067"), ("trois-rivières", "CA-CSD-2437067"),
])
def test_agency_found_whatever_the_accents_and_case(store, query, geo_id):
    assert resolve_agency(store.jurisdictions(), query)["geo_id"] == geo_id


def test_ambiguous_name_lists_its_candidates(store):
    with pytest.raises(AmbiguousAgency) as exc:
        resolve_agency(store.jurisdictions(), "Saint-Elzéar, QC")
    assert len(exc.value.candidates) == 2
    assert all("Saint-Elzéar" in c for c in exc.value.candidates)
    with pytest.raises(AmbiguousAgency) as exc:
        resolve_agency(store.jurisdictions(), "Hamilton, ON")
    assert any("CA-CSD-3525005" in c for c in exc.value.candidates)


def test_unknown_agency_says_how_to_ask(store):
    with pytest.raises(UnknownAgency, match="province or state"):
        resolve_agency(store.jurisdictions(), "Nowhereville, ON")
    assert find_agencies(store.jurisdictions(), "   ").empty


def test_cli_agencies_json_lists_matches(built_db):
    out = run_cli("agencies", "Saint-Elzéar, QC", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == 2 and {"name", "region", "country", "population"} <= set(rows[0])
    assert {r["population"] for r in rows} == {2623, 464}


@pytest.mark.parametrize("args,code,needle", [
    (["agencies", "Zzyzx Nowhere, ON"], 1, "No jurisdiction"),
    (["export", "out.txt"], 2, ".csv or .xlsx"),
])
def test_cli_mistakes_give_a_message_and_a_non_zero_exit_never_a_traceback(built_db, args, code, needle):
    out = run_cli(*args)
    assert out.returncode == code
    assert needle in out.stderr and "Traceback" not in out.stderr


def test_cli_import_of_a_missing_file_says_so(db_copy):
    out = run_cli("import", "/no/such/file.csv", db=db_copy)
    assert out.returncode == 2 and "No file" in out.stderr and "Traceback" not in out.stderr


def test_cli_import_of_a_bad_file_names_row_and_column_and_exits_1(db_copy, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("jurisdiction,region,country,confidence,go_live\nCity of Guelph,ON,Canada,high,2024-02-31\n")
    out = run_cli("import", str(bad), db=db_copy)
    assert out.returncode == 1
    assert "row 2, column go_live" in out.stderr and "Traceback" not in out.stderr


def test_cli_build_reports_counts(tmp_path):
    out = run_cli("build", "--quiet", db=tmp_path / "b.duckdb")
    assert out.returncode == 0, out.stderr
    assert "Canadian municipalities 5,161" in out.stdout and "US counties 3,143" in out.stdout


def test_cli_bad_argument_is_a_usage_error(built_db):
    out = run_cli("agencies", "Guelph", "--limit", "many")
    assert out.returncode == 2 and "--limit must be a whole number" in out.stderr and "Traceback" not in out.stderr
