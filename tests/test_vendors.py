"""Vendor normalization: aliases from data/peers/vendors.csv, unknown vendors reported."""

import csv
from pathlib import Path

import pandas as pd
import pytest

from piggyback.data.vendors import VendorIndex, canonical_vendor, fold, unknown_vendors, vendor_matches

DATA = Path(__file__).resolve().parent.parent / "data" / "peers"


@pytest.fixture(scope="module")
def table():
    return pd.read_csv(DATA / "vendors.csv", dtype=str, keep_default_na=False)


def test_fold_ignores_case_accents_and_punctuation():
    assert fold("CSDC (now Granicus)") == "csdc now granicus"
    assert fold("  Accéla,  Inc. ") == "accela inc"
    assert fold(None) == ""


@pytest.mark.parametrize("spelling", [
    "CSDC (now Granicus)", "Granicus (CSDC) AMANDA + ePlanSoft", "Granicus (CSDC) AMANDA + custom portal",
    "CSDC Systems", "csdc", "Granicus", "AMANDA", "granicus amanda"])
def test_amanda_spellings_have_one_canonical_vendor(table, spelling):
    assert canonical_vendor(spelling, table) == "Granicus (AMANDA, formerly CSDC)"


@pytest.mark.parametrize("spelling,canonical", [
    ("Tyler EnerGov", "Tyler Technologies"), ("EnerGov", "Tyler Technologies"),
    ("TYLER TECHNOLOGIES", "Tyler Technologies"), ("CX", "Computronix"), ("POSSE", "Computronix"),
    ("Accela (via Carahsoft)", "Accela"), ("Accéla", "Accela"), ("Cloudpermit", "Cloudpermit")])
def test_other_aliases(table, spelling, canonical):
    assert canonical_vendor(spelling, table) == canonical


def test_unknown_vendor_is_none_never_a_guess(table):
    assert canonical_vendor("Granicus Something Else", table) is None
    assert canonical_vendor("Oracle", table) is None
    assert canonical_vendor("", table) is None


def test_every_vendor_spelling_in_the_deployments_is_known(table):
    with open(DATA / "deployments.csv", newline="", encoding="utf-8") as fh:
        vendors = [row["vendor"] for row in csv.DictReader(fh)]
    assert unknown_vendors(vendors, table) == []
    assert unknown_vendors(["Oracle", "", "Oracle"], table) == ["Oracle"]


def test_vendor_matches_is_alias_aware(table):
    index = VendorIndex(table)
    assert vendor_matches("Granicus", "CSDC (now Granicus)", index)
    assert vendor_matches("granicus", "Granicus (CSDC) AMANDA + ePlanSoft", table)
    assert vendor_matches("EnerGov", "Tyler Technologies", table)
    assert not vendor_matches("Granicus", "Computronix", table)
    assert not vendor_matches("Accela", "Tyler Technologies", table)
    # A spelling outside the table: plain whole-word text search, case and accents ignored.
    assert vendor_matches("acme", "Acmé Permits Ltd", table)
    assert not vendor_matches("acm", "Acme Permits Ltd", table)
    assert not vendor_matches("", "Accela", table)
