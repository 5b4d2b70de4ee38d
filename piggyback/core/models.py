"""Records of the Piggyback store, each defined once here and validated at the boundary.

Blank stays blank: every optional field is ``None`` when the source says nothing, never a guess.
"""

from __future__ import annotations

import math

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

MODULES: dict[str, str] = {
    "building": "Building permits",
    "inspections": "Inspections",
    "planning": "Planning & development applications",
    "licensing": "Business licensing",
    "enforcement": "By-law / code enforcement",
    "trades": "Trade licensing",
    "eplan": "Electronic plan review",
    "portal": "Public portal",
}

VEHICLES: dict[str, str] = {
    "own_rfp": "Own RFP",
    "cooperative": "Cooperative contract",
    "interlocal": "Interlocal agreement",
    "sole_source": "Sole source",
    "unknown": "Not known",
}

SOURCE_KINDS = ("primary", "secondary", "vendor-stated", "user-entered", "derived", "assumption")
SourceKind = Literal["primary", "secondary", "vendor-stated", "user-entered", "derived", "assumption"]
Confidence = Literal["high", "medium", "low"]
Country = Literal["CA", "US"]
Currency = Literal["CAD", "USD"]

CA_PROVINCES: dict[str, str] = {
    "NL": "Newfoundland and Labrador", "PE": "Prince Edward Island", "NS": "Nova Scotia",
    "NB": "New Brunswick", "QC": "Quebec", "ON": "Ontario", "MB": "Manitoba",
    "SK": "Saskatchewan", "AB": "Alberta", "BC": "British Columbia", "YT": "Yukon",
    "NT": "Northwest Territories", "NU": "Nunavut",
}
US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}

COUNTRY_ALIASES = {"CA": "CA", "CAN": "CA", "CANADA": "CA", "US": "US", "USA": "US",
                   "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US"}

PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


CONFIDENCE_LEVELS = ("low", "medium", "high")  # weakest first


def weakest_confidence(*values: Any) -> str | None:
    """The weakest of the confidences given (a figure resting on two facts is as sure as the less
    sure one); None when none is a known level."""
    known = [v for v in values if v in CONFIDENCE_LEVELS]
    return min(known, key=CONFIDENCE_LEVELS.index) if known else None


def is_blank(value) -> bool:
    """Unknown: None, NaN, pandas' NA/NaT, an empty or all-space string, an empty list."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    if type(value).__name__ in {"NAType", "NaTType"}:
        return True
    if isinstance(value, (list, tuple)) and not value:
        return True
    return isinstance(value, str) and value.strip() == ""


def number_or_none(value) -> float | None:
    """A finite number, or None for a blank, text that is not a number, NaN or infinity."""
    if is_blank(value):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


#: The currency every amount of a country is in (one map for the package).
CURRENCY_OF_COUNTRY = {"CA": "CAD", "US": "USD"}


WEB_ADDRESS = re.compile(r"^https?://\S+$")


def check_web_address(url: str, field: str = "source_url") -> str:
    """A source must be a web page a committee member can open: http(s) and no spaces."""
    if not WEB_ADDRESS.match(url):
        raise ValueError(f"{field} {url!r} is not a web address (http:// or https://)")
    return url


# A field holding one source address, validated by check_web_address.
WebAddress = Annotated[str, AfterValidator(check_web_address)]


def normalize_country(value: str) -> str:
    """Map 'Canada', 'CAN', 'USA', … to the two codes the store uses."""
    code = COUNTRY_ALIASES.get(str(value).strip().upper())
    if code is None:
        raise ValueError(f"unknown country {value!r}: use Canada or USA")
    return code


def region_name(country: str, region: str) -> str:
    table = CA_PROVINCES if country == "CA" else US_STATES
    return table.get(region, region)


def check_region(country: str, region: str) -> str:
    region = str(region).strip().upper()
    table = CA_PROVINCES if country == "CA" else US_STATES
    if region not in table:
        where = "province or territory" if country == "CA" else "state"
        raise ValueError(f"unknown {where} code {region!r} for country {country}")
    return region


def check_partial_date(value: str | None) -> str | None:
    """Accept YYYY, YYYY-MM or YYYY-MM-DD (the precision the source published)."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if not PARTIAL_DATE.match(text):
        raise ValueError(f"{text!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")
    parts = [int(p) for p in text.split("-")]
    try:
        dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a real date ({exc})") from None
    return text


def partial_date_start(value: str | None) -> dt.date | None:
    """The first day a partial date could mean (2018 -> 2018-01-01)."""
    if not value:
        return None
    parts = [int(p) for p in str(value).split("-")]
    return dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


def partial_date_mid(value: str | None) -> dt.date | None:
    """The middle of the period a partial date names (2018 -> 2018-07-01; 2018-06 -> 2018-06-15)."""
    if not value:
        return None
    parts = [int(p) for p in str(value).split("-")]
    if len(parts) == 1:
        return dt.date(parts[0], 7, 1)
    if len(parts) == 2:
        return dt.date(parts[0], parts[1], 15)
    return dt.date(*parts)


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Source(Record):
    source_id: str
    url: str | None = None
    title: str | None = None
    publisher: str | None = None
    published: str | None = None
    kind: SourceKind
    note: str | None = None


class Jurisdiction(Record):
    geo_id: str
    name: str
    display_name: str
    jtype: str | None = None
    country: Country
    region: str
    region_name: str
    census_division: str | None = None
    population: int | None = None
    population_year: int | None = None
    population_label: str | None = None
    population_prev: int | None = None
    population_prev_year: int | None = None
    growth_pct: float | None = None
    households: int | None = None
    dwellings: int | None = None
    land_area_km2: float | None = None
    density: float | None = None
    lat: float | None = None
    lon: float | None = None
    coord_source: str | None = None
    source_id: str | None = None


class AgencyProfile(Record):
    """The prospective agency: its census facts plus what the census lacks (user-entered)."""

    geo_id: str | None = None
    name: str
    country: Country
    region: str
    jtype: str | None = None
    population: int | None = Field(default=None, ge=0)
    growth_pct: float | None = None
    households: int | None = Field(default=None, ge=0)
    density: float | None = Field(default=None, ge=0)
    lat: float | None = None
    lon: float | None = None
    permit_volume: int | None = Field(default=None, ge=0, le=10_000_000)
    staff_users: int | None = Field(default=None, ge=0, le=1_000_000)
    modules_needed: list[str] = Field(default_factory=list)
    current_system: str | None = Field(default=None, max_length=200)

    @field_validator("modules_needed")
    @classmethod
    def _known_modules(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in MODULES]
        if unknown:
            raise ValueError(f"unknown module(s) {unknown}; known: {sorted(MODULES)}")
        return list(dict.fromkeys(value))


class Deployment(Record):
    """A peer agency's permitting & licensing system, as the sources describe it."""

    deployment_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,80}$")
    jurisdiction: str = Field(min_length=2, max_length=200)
    geo_id: str | None = None
    country: Country
    region: str
    population: int | None = Field(default=None, ge=0, le=50_000_000)
    population_year: int | None = Field(default=None, ge=1900, le=2100)
    vendor: str | None = Field(default=None, max_length=200)
    product: str | None = Field(default=None, max_length=300)
    modules: str | None = Field(default=None, max_length=2000)
    module_codes: list[str] = Field(default_factory=list)
    replaced_system: str | None = Field(default=None, max_length=500)
    procurement_method: str | None = Field(default=None, max_length=500)
    vehicle: Literal["own_rfp", "cooperative", "interlocal", "sole_source", "unknown"] = "unknown"
    rfp_issued: str | None = None
    contract_award: str | None = None
    go_live: str | None = None
    contract_value: float | None = Field(default=None, ge=0, le=10_000_000_000)
    currency: Currency | None = None
    contract_term_years: float | None = Field(default=None, gt=0, le=50)
    notes: str | None = Field(default=None, max_length=5000)
    source_urls: list[str] = Field(default_factory=list)
    confidence: Confidence

    @field_validator("rfp_issued", "contract_award", "go_live", mode="before")
    @classmethod
    def _dates(cls, value):
        return check_partial_date(value)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str, info):
        country = info.data.get("country")
        return check_region(country, value) if country else value

    @field_validator("module_codes")
    @classmethod
    def _modules(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in MODULES]
        if unknown:
            raise ValueError(f"unknown module code(s) {unknown}")
        return value

    @field_validator("source_urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            check_web_address(url, "source_urls")
        return value

    @model_validator(mode="after")
    def _consistent(self):
        if self.contract_value is not None and self.currency is None:
            raise ValueError("currency: contract_value needs a currency (CAD or USD)")
        award, live = partial_date_start(self.contract_award), partial_date_start(self.go_live)
        rfp = partial_date_start(self.rfp_issued)
        # Compare at the coarser precision only: '2016' vs '2016-10-31' is not out of order.
        if award and live and _coarse(self.go_live, self.contract_award) < _coarse(self.contract_award, self.go_live):
            raise ValueError(f"go_live {self.go_live} is before contract_award {self.contract_award}")
        if rfp and award and _coarse(self.contract_award, self.rfp_issued) < _coarse(self.rfp_issued, self.contract_award):
            raise ValueError(f"contract_award {self.contract_award} is before rfp_issued {self.rfp_issued}")
        return self


def _coarse(value: str, other: str) -> str:
    """Cut a partial date to the precision of the less precise of the two."""
    return value[: min(len(value), len(other))]


class Contract(Record):
    contract_id: str
    deployment_id: str
    lead_agency: str | None = None
    vehicle: Literal["own_rfp", "cooperative", "interlocal", "sole_source", "unknown"] = "unknown"
    solicitation_id: str | None = None
    publicly_advertised: bool | None = None
    coop_clause: bool | None = None
    award_date: str | None = None
    expiry_date: str | None = None
    renewals: str | None = None
    value: float | None = Field(default=None, ge=0)
    currency: Currency | None = None
    term_years: float | None = None
    eligible_regions: str | None = None
    scope_modules: list[str] = Field(default_factory=list)
    source_urls: list[str] = Field(default_factory=list)
    confidence: Confidence
    notes: str | None = None

    @field_validator("award_date", "expiry_date", mode="before")
    @classmethod
    def _dates(cls, value):
        return check_partial_date(value)


class Outcome(Record):
    outcome_id: str
    deployment_id: str
    metric: str
    before: float | None = None
    after: float | None = None
    unit: str | None = None
    as_of: str | None = None
    kind: SourceKind
    source_url: str | None = None
    confidence: Confidence
    note: str | None = None


class Assumption(Record):
    assumption_id: str
    group_name: str
    name: str
    value: float
    low: float | None = None
    high: float | None = None
    unit: str
    kind: SourceKind = "assumption"
    source_url: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if self.low is not None and self.high is not None and not (self.low <= self.value <= self.high):
            raise ValueError(f"{self.assumption_id}: need low <= value <= high")
        return self


class AuditEntry(Record):
    at: dt.datetime
    who: str
    action: str
    detail: str
