"""The records validate at the boundary: blanks stay None, bad values are refused with a reason."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from piggyback.core.models import (AgencyProfile, Assumption, Deployment, check_partial_date, normalize_country,
                              partial_date_mid, partial_date_start)

BASE = dict(deployment_id="guelph-on", jurisdiction="City of Guelph", region="ON", country="CA", confidence="high")


def test_minimal_deployment_keeps_unknowns_blank():
    d = Deployment(**BASE)
    assert d.vendor is None and d.go_live is None and d.contract_value is None
    assert d.vehicle == "unknown" and d.module_codes == []


@pytest.mark.parametrize("field,value,needle", [
    ("region", "ZZ", "unknown province"),
    ("go_live", "2024-13-01", "not a real date"),
    ("go_live", "Sept 2024", "not a date"),
    ("confidence", "certain", "high"),
    ("module_codes", ["teleport"], "unknown module"),
    ("source_urls", ["ftp://x"], "not a web address"),
    ("contract_value", -5, "greater than or equal"),
])
def test_bad_values_are_refused_with_a_reason(field, value, needle):
    with pytest.raises(ValidationError) as exc:
        Deployment(**{**BASE, field: value})
    assert needle in str(exc.value)


def test_value_needs_currency_and_dates_must_be_in_order():
    with pytest.raises(ValidationError, match="needs a currency"):
        Deployment(**BASE, contract_value=100)
    with pytest.raises(ValidationError, match="before contract_award"):
        Deployment(**BASE, contract_award="2020-05-01", go_live="2019-01-01")
    # Different precisions compare at the coarser one: a 2016 award and a 2016-10-31 go-live are fine.
    assert Deployment(**BASE, contract_award="2016", go_live="2016-10-31").go_live == "2016-10-31"


def test_region_is_read_with_country_CA_with_USA_is_california():
    assert Deployment(**{**BASE, "country": "US", "region": "CA"}).region == "CA"
    with pytest.raises(ValidationError):
        Deployment(**{**BASE, "country": "CA", "region": "TX"})
    assert normalize_country("Canada") == "CA" and normalize_country("usa") == "US"
    with pytest.raises(ValueError):
        normalize_country("Mexico")


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=__import__("datetime").date(1900, 1, 1)))
def test_partial_dates_round_trip_at_every_precision(day):
    full = day.isoformat()
    assert check_partial_date(full) == full
    assert partial_date_start(full[:7]) == day.replace(day=1)
    assert partial_date_start(full[:4]) == day.replace(month=1, day=1)
    assert partial_date_mid(full[:4]).month == 7


def test_agency_profile_rejects_unknown_modules_and_negative_counts():
    with pytest.raises(ValidationError, match="unknown module"):
        AgencyProfile(name="X", country="CA", region="ON", modules_needed=["x"])
    with pytest.raises(ValidationError):
        AgencyProfile(name="X", country="CA", region="ON", permit_volume=-1)
    p = AgencyProfile(name="X", country="CA", region="ON", modules_needed=["building", "building"])
    assert p.modules_needed == ["building"]


def test_assumption_value_must_sit_in_its_range():
    with pytest.raises(ValidationError, match="low <= value <= high"):
        Assumption(assumption_id="a", group_name="g", name="n", value=5, low=6, high=9, unit="months")
