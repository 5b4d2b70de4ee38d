"""Steward import/export: a round trip, all-or-nothing validation naming row and column, upserts, audit."""

import csv
import io

import pytest

from piggyback.core.identity import Role, User
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from piggyback.core.errors import ImportRejected
from piggyback.data.interchange import ALL_COLUMNS, STEWARD_COLUMNS, deployments_table, export_file, import_bytes, import_file

NEW_ROW = {"jurisdiction": "City of Guelph", "region": "ON", "country": "Canada", "vendor": "Example Vendor",
           "product": "Example Permits", "go_live": "2025-03", "confidence": "medium",
           "source_urls": "https://guelph.ca/example"}


def csv_bytes(rows, columns=None):
    columns = columns or list(rows[0])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode()


def snapshot(store):
    return store.query_df("SELECT * FROM deployments ORDER BY deployment_id").to_json()


def test_export_has_the_research_columns_and_round_trips(writable_store, tmp_path):
    first = tmp_path / "a.csv"
    # 50 = the 31 seed peers plus the 19 of research round 2 (data/peers/deployments.csv)
    assert export_file(writable_store, first) == 50
    header = first.read_text().splitlines()[0].split(",")
    assert set(STEWARD_COLUMNS) <= set(header)
    before = snapshot(writable_store)
    result = import_file(writable_store, first)
    assert result == {**result, "rows": 50, "inserted": 0, "updated": 50}
    assert snapshot(writable_store) == before
    second = tmp_path / "b.csv"
    export_file(writable_store, second)
    assert first.read_bytes() == second.read_bytes()


def test_xlsx_round_trip(writable_store, tmp_path):
    path = tmp_path / "a.xlsx"
    export_file(writable_store, path)
    before = snapshot(writable_store)
    import_file(writable_store, path)
    assert snapshot(writable_store) == before


def test_new_row_is_inserted_linked_to_census_and_audited(writable_store):
    steward = User(id="oidc:ana@city.example", role=Role.steward, label="Ana", source="oidc")
    detail = import_bytes(writable_store, csv_bytes([NEW_ROW]), "new.csv", user=steward)
    assert detail["inserted"] == 1
    d = writable_store.deployment("city-of-guelph-on")
    assert d.geo_id == "CA-CSD-3523008" and d.vendor == "Example Vendor"
    log = writable_store.audit_log()
    assert log.iloc[0]["action"] == "import" and log.iloc[0]["who"] == "oidc:ana@city.example"
    assert detail["sha256"] in log.iloc[0]["detail"]


def test_reimport_updates_instead_of_duplicating(writable_store):
    import_bytes(writable_store, csv_bytes([NEW_ROW]), "one.csv")
    import_bytes(writable_store, csv_bytes([{**NEW_ROW, "vendor": "Other Vendor"}]), "two.csv")
    rows = writable_store.query_df("SELECT * FROM deployments WHERE jurisdiction = 'City of Guelph'")
    assert len(rows) == 1 and rows.iloc[0]["vendor"] == "Other Vendor"


def test_import_survives_a_rebuild(writable_store, db_copy):
    from piggyback.data.store import Store, build

    import_bytes(writable_store, csv_bytes([NEW_ROW]), "new.csv")
    writable_store.close()
    build(db_copy)
    again = Store.open(db_copy, read_only=True)
    assert again.deployment("city-of-guelph-on").vendor == "Example Vendor"
    again.close()


@pytest.mark.parametrize("change,column,reason", [
    ({"go_live": "2025-02-30"}, "go_live", "not a real date"),
    ({"region": "ZZ"}, "region", "unknown province"),
    ({"country": "Atlantis"}, "country", "unknown country"),
    ({"confidence": "sure"}, "confidence", "high"),
    ({"contract_value": "lots"}, "contract_value", "not a number"),
    ({"contract_value": "-10", "currency": "CAD"}, "contract_value", "greater than or equal"),
    ({"contract_value": "99999999999999", "currency": "CAD"}, "contract_value", "less than or equal"),
    ({"contract_value": "100", "currency": "EUR"}, "currency", "CAD"),
    ({"contract_award": "2024-01-01", "go_live": "2023-01-01"}, None, "before contract_award"),
    ({"vendor": "=HYPERLINK(\"http://evil\")"}, "vendor", "formulas are not accepted"),
    ({"source_urls": "javascript:alert(1)"}, "source_urls", "not a web address"),
    ({"jurisdiction": ""}, "jurisdiction", ""),
])
def test_one_bad_row_changes_nothing_and_names_row_and_column(writable_store, change, column, reason):
    good = {**NEW_ROW, "jurisdiction": "Town of Example"}
    rows = [NEW_ROW, {**good, **change}]
    columns = list(dict.fromkeys([*NEW_ROW, *change]))
    before = snapshot(writable_store)
    audit_before = len(writable_store.audit_log())
    with pytest.raises(ImportRejected) as exc:
        import_bytes(writable_store, csv_bytes([{c: r.get(c, "") for c in columns} for r in rows], columns), "bad.csv")
    problem_rows = [p[0] for p in exc.value.problems]
    assert problem_rows == [3] * len(problem_rows)
    if column:
        assert column in [p[1] for p in exc.value.problems]
    assert reason in str(exc.value)
    assert snapshot(writable_store) == before and len(writable_store.audit_log()) == audit_before


@pytest.mark.parametrize("data,name,reason", [
    (b"", "empty.csv", "empty"),
    ("jurisdiction,region\nCity,ON\n".encode(), "x.csv", "missing column"),
    (csv_bytes([{**NEW_ROW, "colour": "red"}]), "x.csv", "unknown column"),
    ("jurisdiction,region,country,confidence\nMontréal,QC,Canada,high\n".encode("latin-1"), "x.csv", "not UTF-8"),
    ("jurisdiction,region\n".encode("utf-16"), "x.csv", "UTF-16"),
    (b"PK\x03\x04garbage", "x.xlsx", "cannot be read"),
    (b"not a workbook", "x.xlsx", "not an Excel"),
    (b"a,b\n1,2\n", "x.json", ".csv or .xlsx"),
    (b"x" * (6 * 1024 * 1024), "big.csv", "limit"),
    (csv_bytes([NEW_ROW]).splitlines()[0] + b"\n", "header-only.csv", "no rows"),
])
def test_bad_files_are_refused_with_a_clear_message(writable_store, data, name, reason):
    before = snapshot(writable_store)
    with pytest.raises(ImportRejected) as exc:
        import_bytes(writable_store, data, name)
    assert reason in str(exc.value)
    assert snapshot(writable_store) == before


def test_exported_formula_cells_are_neutralized_and_import_restores_them(writable_store, tmp_path):
    row = {**NEW_ROW, "notes": "-5% on renewal; +2 modules"}
    import_bytes(writable_store, csv_bytes([row]), "n.csv")
    table = deployments_table(writable_store)
    path = tmp_path / "out.csv"
    export_file(writable_store, path)
    text = path.read_text()
    assert "'-5% on renewal" in text
    import_file(writable_store, path)
    assert writable_store.deployment("city-of-guelph-on").notes == "-5% on renewal; +2 modules"
    assert set(ALL_COLUMNS) == set(table.columns)


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.fixed_dictionaries({c: TEXT for c in ["jurisdiction", "region", "country", "go_live",
                                                       "contract_value", "currency", "confidence", "vendor"]}))
def test_any_row_is_either_imported_whole_or_refused_with_row_and_reason(writable_store, cells):
    """Property: arbitrary cell text never crashes the importer and never half-writes."""
    before = snapshot(writable_store)
    try:
        detail = import_bytes(writable_store, csv_bytes([cells]), "fuzz.csv")
    except ImportRejected as exc:
        assert exc.problems and all(isinstance(p[2], str) and p[2] for p in exc.problems)
        assert snapshot(writable_store) == before
    else:
        assert detail["rows"] == 1


# -- issue #14: an imported row keeps its contract facts and price lines ----------------------------
CONTRACT_ROW = {"jurisdiction": "City of Guelph", "region": "ON", "country": "Canada", "vendor": "Accela, Inc.",
                "product": "Civic Platform", "procurement_method": "Own RFP", "vehicle": "own_rfp",
                "contract_award": "2025-03-17", "contract_value": "2350705", "currency": "CAD",
                "contract_term_years": "7", "one_time_amount": "114100", "annual_amount": "319515",
                "lead_agency": "City of Guelph", "confidence": "high",
                "source_urls": "https://guelph.ca/council/report-2025-03-17"}


def test_imported_row_keeps_award_value_term_and_prices_through_a_rebuild(writable_store, db_copy):
    from piggyback.engines.pricing import items_from_records
    from piggyback.data.store import Store, build

    detail = import_bytes(writable_store, csv_bytes([CONTRACT_ROW]), "contract.csv")
    assert detail["contract_rows"] == 1 and detail["unknown_vendors"] == []

    def check(store):
        c = store.table("contracts").set_index("deployment_id").loc["city-of-guelph-on"]
        assert (c["award_date"], c["value"], c["currency"], c["term_years"]) == ("2025-03-17", 2350705, "CAD", 7)
        assert c["vehicle"] == "own_rfp" and c["lead_agency"] == "City of Guelph"
        items = {i.item_id: i for i in items_from_records(store.table("price_items").to_dict("records"))
                 if i.deployment_id == "city-of-guelph-on"}
        one, yearly = items["imp-city-of-guelph-on-one-time"], items["imp-city-of-guelph-on-annual"]
        assert (one.amount, one.recurrence, one.price_year) == (114100, "one_time", 2025)
        assert one.description.startswith("Lump sum")
        assert (yearly.amount, yearly.recurrence, yearly.years) == (319515, "recurring", 7)
        assert "imp-city-of-guelph-on-contract-value" not in items  # stated lines, no extra lump sum
        facts = store.facts("deployment", "city-of-guelph-on")
        assert set(facts[facts["field"] == "vendor"]["kind"]) == {"primary"}  # the city's own report

    check(writable_store)
    writable_store.close()
    build(db_copy)  # the imported row is kept whole in the users' record: a rebuild re-derives it all
    again = Store.open(db_copy, read_only=True)
    try:
        check(again)
    finally:
        again.close()


def test_round_trip_changes_no_contract_and_a_bare_value_becomes_a_flagged_lump_sum(writable_store, tmp_path):
    before = writable_store.table("contracts").sort_values("contract_id").reset_index(drop=True)
    prices_before = len(writable_store.table("price_items"))
    path = tmp_path / "all.csv"
    export_file(writable_store, path)
    import_file(writable_store, path)
    after = writable_store.table("contracts").sort_values("contract_id").reset_index(drop=True)
    assert after.drop(columns=["notes", "source_urls"]).equals(before.drop(columns=["notes", "source_urls"]))
    assert len(writable_store.table("price_items")) == prices_before
    row = {k: v for k, v in CONTRACT_ROW.items() if k not in ("one_time_amount", "annual_amount")}
    import_bytes(writable_store, csv_bytes([row]), "value-only.csv")
    items = writable_store.table("price_items")
    lump = items[items["item_id"] == "imp-city-of-guelph-on-contract-value"].iloc[0]
    assert lump["amount"] == 2350705 and lump["description"].startswith("Lump sum")


def test_unknown_vendor_is_reported_not_guessed(writable_store):
    from piggyback.data.interchange import unknown_vendor_message

    detail = import_bytes(writable_store, csv_bytes([{**CONTRACT_ROW, "vendor": "Acela Permit Wizards"}]), "v.csv")
    assert detail["unknown_vendors"] == ["Acela Permit Wizards"]
    assert "Acela Permit Wizards" in unknown_vendor_message(detail)
    assert writable_store.deployment("city-of-guelph-on").vendor == "Acela Permit Wizards"  # kept as written


@pytest.mark.parametrize("change,column", [
    ({"one_time_amount": "lots"}, "one_time_amount"),
    ({"annual_amount": "5", "currency": ""}, "currency"),
    ({"coop_clause": "maybe"}, "coop_clause"),
    ({"expiry_date": "2030-02-30"}, "expiry_date"),
    ({"annual_amount": "5", "contract_award": "", "contract_value": ""}, "price_year"),
])
def test_bad_contract_cells_are_refused_naming_the_column(writable_store, change, column):
    with pytest.raises(ImportRejected) as err:
        import_bytes(writable_store, csv_bytes([{**CONTRACT_ROW, **change}]), "bad.csv")
    assert any(col == column for _, col, _ in err.value.problems), err.value.problems
