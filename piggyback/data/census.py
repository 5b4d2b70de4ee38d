"""Turn the census files in ``data/census`` into one jurisdictions table.

Values are taken as published. What is derived here (US growth from two estimates, county
points from their places, Canadian points from GeoNames) is labelled as derived.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from piggyback.core.models import CA_PROVINCES, US_STATES

# StatCan census-subdivision type codes (2016 geography) in words.
CSD_TYPES = {
    "C": "City", "CY": "City", "CV": "City", "CC": "Chartered community", "CG": "Community government",
    "CN": "Crown colony", "COM": "Community", "CT": "Township (canton)", "CU": "United townships",
    "DM": "District municipality", "HAM": "Hamlet", "ID": "Improvement district",
    "IGD": "Indian government district", "IM": "Island municipality", "IRI": "Indian reserve",
    "LGD": "Local government district", "LOT": "Township and royalty", "M": "Municipality",
    "MD": "Municipal district", "MÉ": "Municipality", "MU": "Municipality", "NH": "Northern hamlet",
    "NL": "Nisga'a land", "NO": "Unorganized", "NV": "Northern village", "P": "Parish",
    "PE": "Parish", "RCR": "Rural community", "RDA": "Regional district electoral area",
    "RGM": "Regional municipality", "RM": "Rural municipality", "RV": "Resort village",
    "S-É": "Indian settlement", "SA": "Special area", "SC": "Subdivision of county municipality",
    "SÉ": "Settlement", "SET": "Settlement", "SG": "Self-government", "SM": "Specialized municipality",
    "SNO": "Subdivision of unorganized", "SV": "Summer village", "T": "Town", "TC": "Cree reserved land",
    "TI": "Inuit land", "TK": "Teslin land", "TL": "Teslin land", "TP": "Township", "TV": "Town",
    "V": "Town (ville)", "VC": "Cree village", "VK": "Naskapi village", "VL": "Village",
    "VN": "Northern village",
}

US_FIPS_STATE = {
    "01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT", "10": "DE",
    "11": "DC", "12": "FL", "13": "GA", "15": "HI", "16": "ID", "17": "IL", "18": "IN", "19": "IA",
    "20": "KS", "21": "KY", "22": "LA", "23": "ME", "24": "MD", "25": "MA", "26": "MI", "27": "MN",
    "28": "MS", "29": "MO", "30": "MT", "31": "NE", "32": "NV", "33": "NH", "34": "NJ", "35": "NM",
    "36": "NY", "37": "NC", "38": "ND", "39": "OH", "40": "OK", "41": "OR", "42": "PA", "44": "RI",
    "45": "SC", "46": "SD", "47": "TN", "48": "TX", "49": "UT", "50": "VT", "51": "VA", "53": "WA",
    "54": "WV", "55": "WI", "56": "WY",
}

SOURCE_STATCAN = "src-statcan-98-10-0002-01"
SOURCE_US_COUNTIES = "src-census-co-est2021"
SOURCE_US_PLACES = "src-census-sub-est2021"

COLUMNS = [
    "geo_id", "name", "display_name", "jtype", "jtype_code", "country", "region", "region_name",
    "census_division", "population", "population_year", "population_label", "population_prev",
    "population_prev_year", "growth_pct", "households", "dwellings", "land_area_km2", "density",
    "new_units_2021", "lat", "lon", "coord_source", "source_id", "name_key",
]


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation to spaces: 'Saint-Elzéar' -> 'saint elzear'."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def load_canada(census_dir: Path) -> pd.DataFrame:
    raw = pd.read_csv(census_dir / "ca_csd_population_dwellings_2021.csv", dtype=str, keep_default_na=False)
    types = pd.read_csv(census_dir / "ca_csd_types_2016_ocd.csv", dtype=str, keep_default_na=False)
    types["csduid"] = types["id"].str.rsplit(":", n=1).str[-1]
    cds = pd.read_csv(census_dir / "ca_cd_types_2016_ocd.csv", dtype=str, keep_default_na=False)
    cds["cduid"] = cds["id"].str.rsplit(":", n=1).str[-1]
    df = raw.merge(types[["csduid", "classification"]], on="csduid", how="left")
    df = df.merge(cds[["cduid", "name"]].rename(columns={"name": "cd_name"}), on="cduid", how="left")
    out = pd.DataFrame({
        "geo_id": "CA-CSD-" + df["csduid"],
        "name": df["name"],
        "jtype_code": df["classification"].replace("", None),
        "country": "CA",
        "region": df["province"],
        "census_division": df["cd_name"].replace("", None),
        "population": _num(df["pop_2021"]),
        "population_year": 2021,
        "population_label": "2021 Census count",
        "population_prev": _num(df["pop_2016"]),
        "population_prev_year": 2016,
        "growth_pct": _num(df["pop_pct_change_2016_2021"]),
        "households": _num(df["dwellings_occupied_usual_2021"]),
        "dwellings": _num(df["dwellings_total_2021"]),
        "land_area_km2": _num(df["land_area_km2_2021"]),
        "density": _num(df["pop_density_per_km2_2021"]),
        "source_id": SOURCE_STATCAN,
    })
    out["jtype"] = out["jtype_code"].map(CSD_TYPES)
    out["display_name"] = out["name"] + ", " + out["region"]
    return out


def _us_type(name_with_type: str) -> str:
    words = name_with_type.split()
    for size in (3, 2, 1):
        tail = " ".join(words[-size:]).lower()
        if tail in {"city and borough", "unified government", "consolidated government",
                    "metropolitan government", "urban county", "charter township", "city", "town",
                    "township", "village", "borough", "municipality", "plantation", "charter township",
                    "comunidad", "zona urbana", "corporation", "location", "grant", "purchase",
                    "gore", "reservation", "district", "precinct", "unorganized territory"}:
            return tail.capitalize()
    if "(balance)" in name_with_type:
        return "Balance"
    return "Place"


def load_us(census_dir: Path) -> pd.DataFrame:
    co = pd.read_csv(census_dir / "us_census_co-est2021-alldata.csv", dtype=str, keep_default_na=False)
    co = co[co["SUMLEV"].isin(["040", "050"])]
    is_state = co["SUMLEV"] == "040"
    region = co["STATE"].map(US_FIPS_STATE)
    base, est = _num(co["ESTIMATESBASE2020"]), _num(co["POPESTIMATE2021"])
    counties = pd.DataFrame({
        "geo_id": np.where(is_state, "US-ST-" + co["STATE"], "US-CO-" + co["STATE"] + co["COUNTY"]),
        "name": np.where(is_state, co["STNAME"], co["CTYNAME"]),
        "jtype": np.where(is_state, "State", np.where(co["CTYNAME"].str.contains("Parish"), "Parish",
                                                      np.where(co["CTYNAME"].str.endswith("County"), "County",
                                                               "County equivalent"))),
        "jtype_code": co["SUMLEV"],
        "country": "US",
        "region": region,
        "census_division": None,
        "population": est,
        "population_year": 2021,
        "population_label": "July 1, 2021 estimate",
        "population_prev": base,
        "population_prev_year": 2020,
        "growth_pct": ((est - base) / base * 100).round(2),
        "source_id": SOURCE_US_COUNTIES,
    })
    counties["state_county"] = co["STATE"] + co["COUNTY"]

    pl = pd.read_csv(census_dir / "us_places_popest_2021_pudding.csv.gz", dtype=str, keep_default_na=False)
    is_mcd = pl["PLACE"] == "00000"
    slug = pl["NAME"].map(lambda s: re.sub(r"[^a-z0-9]+", "-", fold(s)).strip("-"))
    geo = np.where(is_mcd, "US-MCD-" + pl["STATE"] + "-" + pl["COUNTY"] + "-" + slug,
                   "US-PL-" + pl["STATE"] + "-" + pl["COUNTY"] + "-" + pl["PLACE"])
    county_names = counties.set_index("state_county")["name"]
    places = pd.DataFrame({
        "geo_id": geo,
        "name": pl["name"],
        "jtype": pl["NAME"].map(_us_type),
        "jtype_code": pl["SUMLEV"],
        "country": "US",
        "region": pl["STATE"].map(US_FIPS_STATE),
        "census_division": (pl["STATE"] + pl["COUNTY"]).map(county_names),
        "population": _num(pl["population"]),
        "population_year": 2021,
        "population_label": "July 1, 2021 estimate",
        "lat": _num(pl["latitude"]),
        "lon": _num(pl["longitude"]),
        "coord_source": np.where(pl["latitude"] != "", "GNIS (USGS)", None),
        "source_id": SOURCE_US_PLACES,
    })
    places["state_county"] = pl["STATE"] + pl["COUNTY"]
    # A few geo ids repeat (same MCD name twice in one county): number the repeats.
    dup = places.groupby("geo_id").cumcount()
    places.loc[dup > 0, "geo_id"] = places["geo_id"] + "-" + (dup + 1).astype(str)

    # County points: population-weighted mean of the county's places (derived, labelled so).
    pts = places.dropna(subset=["lat", "lon", "population"])
    pts = pts[pts["population"] > 0]
    sums = pts.assign(wlat=pts["lat"] * pts["population"], wlon=pts["lon"] * pts["population"]) \
        .groupby("state_county")[["wlat", "wlon", "population"]].sum()
    w = pd.DataFrame({"lat": sums["wlat"] / sums["population"], "lon": sums["wlon"] / sums["population"]})
    counties = counties.merge(w, left_on="state_county", right_index=True, how="left")
    counties["coord_source"] = np.where(counties["lat"].notna() & (counties["jtype"] != "State"),
                                        "derived: population-weighted centre of the county's places", None)
    counties.loc[counties["jtype"] == "State", ["lat", "lon"]] = np.nan

    bps = pd.read_csv(census_dir / "us_bps_county_annual_2000_2021.csv.gz", dtype={"fips": str})
    bps = bps[bps["year"] == 2021].set_index("fips")["total_units"]
    counties["new_units_2021"] = counties["state_county"].map(bps)

    out = pd.concat([counties, places], ignore_index=True)
    # A place name repeats within a state (townships in several counties): add the county then.
    base_display = out["name"] + ", " + out["region"]
    repeated = base_display.duplicated(keep=False) & out["census_division"].notna()
    out["display_name"] = np.where(repeated, out["name"] + " (" + out["census_division"].fillna("") + "), " + out["region"],
                                   base_display)
    return out.drop(columns=["state_county"])


def attach_canadian_points(ca: pd.DataFrame, census_dir: Path) -> pd.DataFrame:
    """Give Canadian municipalities an approximate point from GeoNames populated places."""
    path = census_dir / "ca_places_geonames.csv"
    if not path.exists():  # the map then shows fewer points and says how many are missing
        return ca
    places = pd.read_csv(path, dtype=str, keep_default_na=False)
    best: dict[tuple[str, str], tuple[int, float, float]] = {}
    for p in places.itertuples():
        pop = int(p.population or 0)
        for nm in [p.name, *[a for a in p.alternate_names.split("|") if a]]:
            key = (fold(nm), p.province)
            if key not in best or pop > best[key][0]:
                best[key] = (pop, float(p.latitude), float(p.longitude))
    keys = list(zip(ca["name"].map(fold), ca["region"]))
    # Only the most populous municipality of a name gets the point (Hamilton the city, not
    # Hamilton Township): GeoNames places are towns, not every same-named subdivision.
    rank = ca.assign(_k=keys).groupby("_k")["population"].rank(ascending=False, method="first")
    hits = [best.get(k) if r == 1 else None for k, r in zip(keys, rank)]
    ca = ca.copy()
    ca["lat"] = [h[1] if h else np.nan for h in hits]
    ca["lon"] = [h[2] if h else np.nan for h in hits]
    ca["coord_source"] = [("GeoNames populated place (approximate)" if h else None) for h in hits]
    return ca


def load_jurisdictions(census_dir: Path) -> pd.DataFrame:
    ca = attach_canadian_points(load_canada(census_dir), census_dir)
    us = load_us(census_dir)
    out = pd.concat([ca, us], ignore_index=True)
    names = {**{("CA", k): v for k, v in CA_PROVINCES.items()}, **{("US", k): v for k, v in US_STATES.items()}}
    # Repeated display names (Hamilton city and Hamilton township, ON) get their type added.
    rep = out["display_name"].duplicated(keep=False)
    out.loc[rep, "display_name"] = (out["display_name"].str.rsplit(", ", n=1).str[0] + " (" +
                                    out["jtype"].fillna("?") + "), " + out["region"])[rep]
    rep = out["display_name"].duplicated(keep=False) & out["census_division"].notna()
    out.loc[rep, "display_name"] = (out["name"] + " (" + out["jtype"].fillna("?") + ", " +
                                    out["census_division"].fillna("") + "), " + out["region"])[rep]
    rep = out["display_name"].duplicated(keep=False)
    out.loc[rep, "display_name"] = out["display_name"] + " [" + out["geo_id"] + "]"
    out["region_name"] = [names.get((c, r), r) for c, r in zip(out["country"], out["region"])]
    out["name_key"] = out["name"].map(fold)
    for col in COLUMNS:
        if col not in out:
            out[col] = None
    out = out[COLUMNS]
    for col in ("population", "population_prev", "households", "dwellings", "new_units_2021"):
        out[col] = out[col].astype("Int64")
    return out
