"""One-off loader: ../shared/research/round2 -> data/peers/*, data/pricing/price_items.csv (issue #14).
Run from /work/main. Idempotent: rebuilds the round-2 rows from the research files each time."""
import hashlib, re, sys
import pandas as pd
sys.path.insert(0, ".")
from piggyback.data.store import Store, deployment_from_row
from piggyback.data.vendors import canonical_vendor

R = "../shared/research/round2/"
RESEARCHED = "2026-11-29"
BASIS = "set from the source kind (primary high, secondary medium, vendor-stated low): the research gives no confidence per fact"

def rd(p):
    return pd.read_csv(p, dtype=str, keep_default_na=False)

deps = rd("data/peers/deployments.csv")
sources = rd("data/peers/sources.csv")
contracts = rd("data/peers/contracts.csv")
prices = rd("data/pricing/price_items.csv")
vendors = rd("data/peers/vendors.csv")
# keep only the seed rows (re-running replaces round-2 rows)
NEW = {
 ("City of Arcadia","CA"): ("arcadia-ca", "US-PL-06-037-02462", "building;inspections;planning;enforcement", "unknown"),
 ("Town of Avon","CO"): ("avon-co", "US-PL-08-037-04110", "building;planning;licensing;inspections", "unknown"),
 ("City of Columbus","OH"): ("columbus-oh", "US-PL-39-000-18000", "building", "cooperative"),
 ("City of Alameda","CA"): ("alameda-ca", "US-PL-06-001-00562", "planning;building;inspections;portal", "unknown"),
 ("County of Monterey","CA"): ("monterey-county-ca", "US-CO-06053", "", "unknown"),
 ("City of Seward","AK"): ("seward-ak", "US-PL-02-122-68560", "licensing;building;portal", "unknown"),
 ("Village of Oak Brook","IL"): ("oak-brook-il", "US-PL-17-000-54534", "building;inspections;licensing", "own_rfp"),
 ("City of Waukee","IA"): ("waukee-ia", "US-PL-19-049-82695", "building;inspections", "unknown"),
 ("City of Miami Beach","FL"): ("miami-beach-fl", "US-PL-12-086-45025", "", "unknown"),
 ("City of Moorpark","CA"): ("moorpark-ca", "US-PL-06-111-49138", "building", "unknown"),
 ("City of Hood River","OR"): ("hood-river-or", "US-PL-41-027-34900", "building", "interlocal"),
 ("City of West Covina","CA"): ("west-covina-ca", "US-PL-06-037-84200", "building;inspections;portal", "own_rfp"),
 ("City of Chula Vista","CA"): ("chula-vista-ca", "US-PL-06-073-13392", "building;portal", "sole_source"),
 ("Jefferson County","WA"): ("jefferson-county-wa", "US-CO-53031", "building;planning", "interlocal"),
 ("Jefferson County","ID"): ("jefferson-county-id", "US-CO-16051", "planning;enforcement;building", "unknown"),
 ("Municipality of Middlesex Centre","ON"): ("middlesex-centre-on", "CA-CSD-3539033", "building;inspections;portal", "unknown"),
 ("Municipality of South Huron","ON"): ("south-huron-on", "CA-CSD-3540005", "building;inspections;portal", "unknown"),
 ("Town of Avon","CT"): ("avon-ct", "US-MCD-09-003-avon-town", "portal", "unknown"),
 ("City of Southlake","TX"): ("southlake-tx", "US-PL-48-000-69032", "building;planning", "unknown"),
}
new_ids = {v[0] for v in NEW.values()}
deps = deps[~deps.deployment_id.isin(new_ids)]
contracts = contracts[~contracts.get("round", pd.Series([""] * len(contracts))).eq("round2")] if "round" in contracts else contracts
prices = prices[~prices.item_id.str.startswith("r2-")]

# ---- 1. new deployments (merged by jurisdiction + region + country)
np_ = rd(R + "new_peers.csv")
rows = {}
for r in np_.to_dict("records"):
    key = (r["jurisdiction"], r["region"])
    dep_id, geo, mods, veh = NEW[key]
    row = {**r, "deployment_id": dep_id, "geo_id": geo, "module_codes": mods, "vehicle": veh}
    if dep_id in rows:  # a duplicate: keep the first row's values, fill its blanks, union the sources
        old = rows[dep_id]
        for k, v in row.items():
            if not old.get(k) and v:
                old[k] = v
        urls = [u.strip() for u in (old["source_urls"] + " ; " + row["source_urls"]).split(";") if u.strip()]
        old["source_urls"] = " ; ".join(dict.fromkeys(urls))
        continue
    rows[dep_id] = row
merged_dupes = len(np_) - len(rows)
new_deps = pd.DataFrame(list(rows.values()))[deps.columns]
for rec in new_deps.to_dict("records"):
    deployment_from_row(dict(rec))  # validates, raises if bad
deps = pd.concat([deps, new_deps], ignore_index=True)

# ---- fact -> deployment id
EXISTING = {
 "City of Fayetteville": "fayetteville-ar", "Sonoma County (Permit Sonoma)": "sonoma-ca", "Humboldt County": "humboldt-ca",
 "City of Visalia": "visalia-ca", "City of Prescott": "prescott-az", "City of Killeen": "killeen-tx", "City of Tukwila": "tukwila-wa",
 "City of Newport Beach": "newport-beach-ca", "City of Carlsbad": "carlsbad-ca", "City of Columbia": "columbia-sc",
 "City of South San Francisco": "south-san-francisco-ca", "City of Dallas": "dallas-tx", "Municipality of Clarington": "clarington-on",
}
def dep_of(name):
    if name in EXISTING:
        return EXISTING[name]
    if name.startswith("Washoe County"):
        return "washoe-nv"
    m = re.match(r"^(.*) \((\w\w)\)$", name)
    return NEW[(m.group(1), m.group(2))][0]

# ---- 2. sources
def src_id(url):
    return "src-" + hashlib.sha1(url.encode()).hexdigest()[:10]
def publisher(url):
    return re.sub(r"^www\.", "", re.sub(r"^https?://", "", url).split("/")[0])
src_rows = {r["url"]: r for r in sources.to_dict("records")}
KIND_OF_NEW_PEER_URL = {"postregister.com": "secondary", "municipalworld.com": "vendor-stated"}
def add_source(url, kind, note=""):
    if url in src_rows:
        old = src_rows[url]
        if old["kind"] != kind and kind == "primary" and old["kind"] == "secondary":
            old["note"] = ((old["note"] + " ") if old["note"] else "") + \
                "Reclassified primary in research round 2: the agency's own record (read on a document mirror where the host is not the agency)."
            old["kind"] = "primary"
        return
    src_rows[url] = {"source_id": src_id(url), "url": url, "title": "", "publisher": publisher(url), "published": "",
                     "kind": kind, "note": note}

facts = rd(R + "contract_facts.csv")
for r in facts.to_dict("records"):
    note = "Agency record read on a third-party document mirror." if re.search(r"fdocuments\.", r["source_url"]) else ""
    add_source(r["source_url"], r["source_kind"], note)
for r in new_deps.to_dict("records"):
    for u in [u.strip() for u in r["source_urls"].split(";") if u.strip()]:
        pub = publisher(u)
        add_source(u, KIND_OF_NEW_PEER_URL.get(pub, "primary"))
dur = rd(R + "durations.csv")
for r in dur.to_dict("records"):
    add_source(r["source_url"], r["source_kind"])
sources = pd.DataFrame(list(src_rows.values()))[sources.columns]

# ---- 3. contract facts, with conflicts against what the store already held
CONF = {"primary": "high", "secondary": "medium", "vendor-stated": "low"}
DATE = re.compile(r"^(\d{4}(?:-\d{2}(?:-\d{2})?)?)\b")
NUM = re.compile(r"^(?:up to )?(\d+(?:\.\d+)?)\b")
seed = pd.read_csv("data/peers/deployments.csv", dtype=str, keep_default_na=False).set_index("deployment_id")
old_contracts = contracts.set_index("deployment_id")
def coarse_eq(a, b):
    n = min(len(a), len(b))
    return a[:n] == b[:n]
def existing_value(dep, fact):
    """(where, value) of what the store already held for this fact, or None."""
    out = []
    if dep in seed.index:
        s = seed.loc[dep]
        m = {"award": "contract_award", "go_live": "go_live", "term_years": "contract_term_years",
             "contract_value": "contract_value", "vendor": "vendor"}.get(fact)
        if m and s[m]:
            out.append((f"deployments.{m}", s[m]))
    if dep in old_contracts.index:
        c = old_contracts.loc[dep]
        m = {"award": "award_date", "expiry": "expiry_date", "term_years": "term_years", "contract_value": "value",
             "solicitation_no": "solicitation_id"}.get(fact)
        if m and c[m]:
            out.append((f"contracts.{m}", c[m]))
    return out
def conflict_of(dep, fact, value, vendor_canon):
    if dep in new_ids:
        return ""
    found = []
    for where, old in existing_value(dep, fact):
        if fact in ("award", "go_live", "expiry"):
            m = DATE.match(value)
            if m and not coarse_eq(m.group(1), old):
                found.append(f"{where} = {old}")
        elif fact in ("term_years", "contract_value"):
            m = NUM.match(value)
            if m and abs(float(m.group(1)) - float(old)) > 0.5:
                found.append(f"{where} = {old}")
        elif fact == "vendor":
            a, b = vendor_canon, canonical_vendor(old, vendors)
            if a and b and a != b:
                found.append(f"{where} = {old}")
        elif fact == "solicitation_no":
            if old not in value:
                found.append(f"{where} = {old}")
    return "; ".join(found)

def canon_of(text):
    """The canonical vendor of the text, or of its name part before a description in brackets
    or after a dash (never a fuzzy guess); '' when the table does not know it."""
    for cand in (text, text.split(" (")[0], text.split(" - ")[0], text.split(" / ")[0], text.split(";")[0]):
        hit = canonical_vendor(cand.strip(), vendors)
        if hit:
            return hit
    return ""
out, unknown_vendor = [], []
counter = {}
for r in facts.to_dict("records"):
    dep = dep_of(r["deployment"])
    counter[(dep, r["fact"])] = counter.get((dep, r["fact"]), 0) + 1
    fid = f"r2-{dep}-{r['fact'].replace('_', '-')}-{counter[(dep, r['fact'])]}"
    m = DATE.match(r["value"]) if r["fact"] in ("award", "go_live", "expiry", "term_start") else None
    fact_date = m.group(1) if m else ""
    canon = ""
    if r["fact"] == "vendor":
        canon = canon_of(r["value"])
        if not canon:
            unknown_vendor.append(r["value"])
    out.append({
        "fact_id": fid, "deployment_id": dep, "fact": r["fact"], "value": r["value"],
        "currency": r["currency"], "price_year": r["price_year"], "unit": r["unit"], "fact_date": fact_date,
        "canonical_vendor": canon,
        "source_url": r["source_url"], "source_kind": r["source_kind"], "quote": r["quote"],
        "confidence": CONF[r["source_kind"]], "confidence_basis": BASIS,
        "researched": RESEARCHED, "research_round": "round2",
        "conflicts_with": conflict_of(dep, r["fact"], r["value"], canon),
        "notes": r["notes"],
    })
cf = pd.DataFrame(out)
cf["stored_as"] = ""
print("unknown vendors:", unknown_vendor)
print("conflicts:", cf[cf.conflicts_with != ""][["fact_id", "value", "conflicts_with"]].to_string())

# ---- 4. contract records for the new deployments (from the facts + the deployment row)
def vehicle_code(text):
    t = text.lower()
    if "interlocal" in t or "intergovernmental" in t:
        return "interlocal"
    if "sole source" in t or "sole-source" in t or "waived" in t:
        return "sole_source"
    if any(w in t for w in ("cooperative", "state term schedule", "gsa", "njpa", "piggyback")):
        return "cooperative"
    if "rfp" in t:
        return "own_rfp"
    return "unknown"
new_contracts = []
for dep, grp in cf[cf.deployment_id.isin(new_ids)].groupby("deployment_id", sort=False):
    d = new_deps.set_index("deployment_id").loc[dep]
    def first(fact, rx=None):
        rows_ = grp[grp.fact == fact]
        for v in rows_.value:
            if rx is None:
                return v
            m = rx.match(v)
            if m:
                return m.group(1)
        return ""
    urls = list(dict.fromkeys(grp.source_url.tolist()))
    veh_text = first("vehicle")
    vehicle = d["vehicle"] if d["vehicle"] != "unknown" else (vehicle_code(veh_text) if veh_text else "unknown")
    value_rows = grp[grp.fact == "contract_value"]
    value = value_rows.value.iloc[0] if len(value_rows) else ""
    cur = value_rows.currency.iloc[0] if len(value_rows) else ""
    term = first("term_years", NUM)
    notes = ["Built from the round-2 contract facts (data/peers/contract_facts.csv), where each value keeps its quote."]
    if veh_text:
        notes.append(f"Vehicle as the source words it: {veh_text}.")
    adv = first("advertised")
    if adv:
        notes.append(f"Solicitation/advertising as stated: {adv}; whether it was publicly advertised is not stated.")
    if len(value_rows):
        notes.append(f"Value: {value_rows.unit.iloc[0]}.")
    if dep == "seward-ak":  # two contracts: 2021 portal, 2023 expansion
        value, cur = "17000", "USD"
        notes.append("The 2023 expansion (NTE USD 45,746) is contract c-seward-ak-2023.")
    new_contracts.append({
        "contract_id": f"c-{dep}", "deployment_id": dep, "lead_agency": first("lead_agency") or "",
        "vehicle": vehicle, "solicitation_id": first("solicitation_no"), "publicly_advertised": "", "coop_clause": "",
        "award_date": first("award", DATE) or d["contract_award"], "expiry_date": first("expiry", DATE),
        "renewals": "", "value": value, "currency": cur, "term_years": term,
        "eligible_regions": "", "scope_modules": d["module_codes"], "source_urls": " ; ".join(urls),
        "confidence": d["confidence"], "notes": " ".join(notes),
    })
sew = cf[(cf.deployment_id == "seward-ak")]
new_contracts.append({
    "contract_id": "c-seward-ak-2023", "deployment_id": "seward-ak", "lead_agency": "", "vehicle": "unknown",
    "solicitation_id": "", "publicly_advertised": "", "coop_clause": "", "award_date": "2023", "expiry_date": "",
    "renewals": "", "value": "45746", "currency": "USD", "term_years": "5", "eligible_regions": "",
    "scope_modules": "building;licensing;portal",
    "source_urls": " ; ".join(dict.fromkeys(sew[sew.price_year == "2023"].source_url)),
    "confidence": "high",
    "notes": "2023 expansion to building, fire and community development permits: not to exceed USD 45,746 "
             "(USD 25,000 a year, +5% a year for 5 years, plus USD 20,746 implementation). Award year from the price year of the source.",
})
nc = pd.DataFrame(new_contracts)
_facts_cols = ["lead_agency", "solicitation_id", "award_date", "expiry_date", "value", "term_years"]
nc = nc[(nc[_facts_cols] != "").any(axis=1) | (nc["vehicle"] != "unknown")]  # no contract fact found: no record
contracts = pd.concat([contracts, nc[contracts.columns]], ignore_index=True)
contracts.to_csv("data/peers/contracts.csv", index=False)

# ---- 5. price lines -> price_items (their columns); skipped lines stay facts, with why
PRICE = {  # fact_id -> (category, basis, recurrence, years, escalation, description, lump?) or a reason to skip
}
def plan(r):
    u, dep, amt = r["unit"], r["deployment_id"], r["value"]
    if dep in {"fayetteville-ar", "humboldt-ca", "visalia-ca", "killeen-tx", "columbia-sc"}:
        return "already in price_items.csv (same source, same amount or its even yearly split)"
    if dep == "washoe-nv":
        return "the City of Sparks's share of the regional contract, not the contract's own price"
    if dep == "sonoma-ca":
        return ("optional extra licences" if "additional" in u else "a budget total for two years that overlaps the SaaS line already on file")
    if "predecessor" in u or dep == "south-san-francisco-ca":
        return "the price of the system this peer replaced, not of its current one"
    if dep == "dallas-tx":
        return "a separate e-plan review product (ProjectDocs), from a secondary source"
    if dep == "avon-co" and ("total" in u):
        return "a total of the module and service lines, which are stored one by one"
    return None
items = []
for r in cf[cf.fact == "price_line"].to_dict("records"):
    reason = plan(r)
    if reason:
        cf.loc[cf.fact_id == r["fact_id"], "stored_as"] = "not a price item: " + reason
        continue
    cf.loc[cf.fact_id == r["fact_id"], "stored_as"] = "price_items " + r["fact_id"]
    u = r["unit"]
    amount = float(NUM.match(r["value"]).group(1))
    recurring = u.startswith("per_year")
    years = ""
    esc = ""
    if recurring:
        m = re.search(r"(\d+) years", u) or re.search(r"for (\w+) years", u)
        years = {"five": "5"}.get(m.group(1), m.group(1)) if m else ""
        m2 = re.search(r"\+(\d+)%", u)
        esc = m2.group(1) if m2 else ""
    lu = u.lower()
    cat = ("data_migration" if "data import" in lu or "migration" in lu else
           "implementation" if ("implementation" in lu or "set-up" in lu or "installation" in lu) else
           "maintenance" if ("maintenance" in lu or "service agreement" in lu or "total energov annual" in lu) else
           "subscription" if recurring else "licence")
    dep = r["deployment_id"]
    extra = {"arcadia-ca": ("3", "5"), "avon-co": ("3", "4"), "seward-ak": ("5", ""), "miami-beach-fl": ("", "")}
    if recurring and dep in extra:
        years = years or extra[dep][0]
        esc = esc or extra[dep][1]
    if dep == "seward-ak" and recurring and "fixed" in lu:
        esc = "0"
    lump = bool(re.search(r"\btotal\b|lump| \+ |licensing \+|subscription \+", lu))
    desc = re.sub(r"^(per_year|one_time)\s*", "", u).strip("() ")
    if not desc:
        desc = re.sub(r"^[\d.]+\s*", "", r["value"]).strip("() ") or r["fact"]
    desc = desc.replace("_", " ")
    if lump:
        desc = "Lump sum: " + desc
    items.append({
        "item_id": r["fact_id"], "deployment_id": dep, "contract_ref": f"c-{dep}" + ("-2023" if dep == "seward-ak" and r["price_year"] == "2023" else ""),
        "category": cat, "description": desc[:300], "basis": "per_year" if recurring else "fixed",
        "amount": ("%.2f" % amount).rstrip("0").rstrip("."), "currency": r["currency"] or "USD",
        "price_year": r["price_year"] or "2015", "escalation_pct": esc, "recurrence": "recurring" if recurring else "one_time",
        "years": years, "source_url": r["source_url"], "confidence": r["confidence"], "kind": r["source_kind"],
        "note": ("Lump sum: the source gives one amount, not split by line. " if lump else "")
                + f"From contract fact {r['fact_id']}: {r['notes']}"[:1900],
    })
# contract values that are the only price on file: a multi-year lump sum, split evenly by year and flagged
LUMP_VALUE = {"alameda-ca": ("subscription", 3), "monterey-county-ca": ("subscription", 3)}
VALUE_SKIP = {
    "moorpark-ca": "covers the Incode financial system too; the EnerGov share is not separated",
    "southlake-tx": "the source gives no price year and no term for the amount",
    "columbus-oh": "covers three months of licensing and support only",
    "seward-ak": "the sum of the price lines stored one by one",
    "clarington-on": "a 1999 contract for the earlier MAP system, not the current one",
}
for r in cf[cf.fact == "contract_value"].to_dict("records"):
    dep = r["deployment_id"]
    if dep in VALUE_SKIP:
        cf.loc[cf.fact_id == r["fact_id"], "stored_as"] = "contracts; not a price item: " + VALUE_SKIP[dep] if dep in set(nc.deployment_id) else "not a price item: " + VALUE_SKIP[dep]
        continue
    if dep not in LUMP_VALUE:
        continue
    cat, years = LUMP_VALUE[dep]
    amount = float(NUM.match(r["value"]).group(1))
    per_year = round(amount / years, 2)
    items.append({
        "item_id": r["fact_id"], "deployment_id": dep, "contract_ref": f"c-{dep}", "category": cat,
        "description": f"Lump sum: {r['unit'].replace('_', ' ')} (an even yearly split)"[:300], "basis": "per_year",
        "amount": ("%.2f" % per_year).rstrip("0").rstrip("."), "currency": r["currency"], "price_year": r["price_year"],
        "escalation_pct": "", "recurrence": "recurring", "years": str(years), "source_url": r["source_url"],
        "confidence": r["confidence"], "kind": r["source_kind"],
        "note": (f"Lump sum: the source gives {r['currency']} {amount:,.2f} for {years} years, not split by line or "
                 f"year; stored as {years} even yearly amounts of {per_year:,.2f}. From contract fact {r['fact_id']}."),
    })
    cf.loc[cf.fact_id == r["fact_id"], "stored_as"] = "contracts and price_items " + r["fact_id"]
pi = pd.DataFrame(items)
print(pi[["item_id", "category", "basis", "amount", "price_year", "recurrence", "years", "escalation_pct", "description"]].to_string())
prices = pd.concat([prices, pi[prices.columns]], ignore_index=True)
mirror = prices.source_url.str.contains("fdocuments.us", regex=False) & prices.kind.eq("secondary")
prices.loc[mirror, "note"] = prices.loc[mirror, "note"] + " Kind corrected to primary in round 2: the city's own council memo, read on a document mirror."
prices.loc[mirror, "kind"] = "primary"
prices.to_csv("data/pricing/price_items.csv", index=False)
for dep in nc.deployment_id:
    pass
cf.loc[(cf.stored_as == "") & cf.deployment_id.isin(set(nc.deployment_id)) & cf.fact.isin(["award","expiry","term_years","contract_value","vehicle","lead_agency","solicitation_no"]), "stored_as"] = "contracts (round-2 contract of the deployment)"
for i, r in cf[cf.stored_as == ""].iterrows():
    if r.deployment_id in new_ids or r.conflicts_with:
        continue
    held = existing_value(r.deployment_id, r.fact)
    if held:
        cf.at[i, "stored_as"] = "agrees with " + " and ".join(w for w, _ in held) + " on file"
cf.loc[cf.stored_as == "", "stored_as"] = "fact only"
cf.to_csv("data/peers/contract_facts.csv", index=False)

# ---- 6. durations
REGION = {"California": "CA", "Oregon": "OR", "Colorado": "CO", "Texas": "TX", "Arizona": "AZ", "Illinois": "IL",
          "South Carolina": "SC", "Arkansas": "AR", "Washington": "WA", "Ontario": "ON", "South Dakota": "SD",
          "Florida": "FL", "Pennsylvania": "PA", "Virginia": "VA", "Hawaii": "HI"}
AG = {"City of Newport Beach": "newport-beach-ca", "City of Carlsbad": "carlsbad-ca", "Village of Oak Brook": "oak-brook-il",
      "City of Columbia": "columbia-sc", "City of Fayetteville": "fayetteville-ar", "City of Prescott": "prescott-az",
      "County of Humboldt": "humboldt-ca", "County of Humboldt (Planning and Building)": "humboldt-ca",
      "City of Killeen": "killeen-tx", "Jefferson County": "jefferson-county-wa", "City of Tukwila": "tukwila-wa",
      "Municipality of North Middlesex": "north-middlesex-on", "City of Miami Beach": "miami-beach-fl"}
drows, cnt = [], {}
for r in dur.to_dict("records"):
    dep = AG.get(r["agency"], "")
    base = dep or re.sub(r"[^a-z0-9]+", "-", r["agency"].lower()).strip("-")
    cnt[base] = cnt.get(base, 0) + 1
    drows.append({
        "duration_id": f"d-{base}-{cnt[base]}", "agency": r["agency"], "deployment_id": dep,
        "region": REGION[r["region"]], "country": "CA" if r["country"] == "Canada" else "US", "route": r["route"],
        "vendor": r["vendor"], "canonical_vendor": canon_of(r["vendor"]), "product": r["product"],
        "modules": r["modules"], "event": r["event"], "event_type": r["event"].split(" (")[0].split(";")[0].strip(),
        "date": r["date"], "date_precision": r["date_precision"], "source_url": r["source_url"],
        "source_kind": r["source_kind"], "quote": r["quote"], "confidence": CONF[r["source_kind"]],
        "confidence_basis": BASIS, "researched": RESEARCHED, "notes": r["notes"],
    })
dd = pd.DataFrame(drows)
dd.to_csv("data/peers/durations.csv", index=False)
print("unknown duration vendors:", sorted(set(dd[dd.canonical_vendor == ""].vendor)))

deps.to_csv("data/peers/deployments.csv", index=False)
sources.to_csv("data/peers/sources.csv", index=False)
print("deployments", len(deps), "merged duplicates", merged_dupes, "sources", len(sources), "facts", len(cf),
      "contracts", len(contracts), "price items", len(prices), "durations", len(dd))
