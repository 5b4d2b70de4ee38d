"""Issue #12 on the business case: each closest peer carries its contract availability (with
the reasons behind it), judged on the Compliance decision date, and says so in its reasons."""

import datetime as dt

from piggyback.engines.availability import STATES, assess
from piggyback.analyses.business_case import build_business_case
from piggyback.data.profile import profile_for

TODAY = dt.date(2026, 11, 29)


def test_closest_peers_carry_availability(store):
    case = build_business_case(store, profile_for(store, "Irvine, CA"), None, {}, today=TODAY).to_dict()
    top = case["peers"]["top"]
    assert top
    contracts = store.table("contracts")
    peers = store.peers().set_index("deployment_id", drop=False)
    for p in top:
        avail = p["availability"]
        assert avail["state"] in STATES and avail["reasons"]
        # The same verdict the engine gives for the peer's own facts on that date.
        expected = assess(peers.loc[p["deployment_id"]].to_dict(),
                          contracts[contracts["deployment_id"] == p["deployment_id"]].to_dict("records"), TODAY)
        assert avail["state"] == expected["state"]
        assert p["reasons"][-1].startswith(f"contract {avail['label'].lower()} on 2026-11-29: ")
        assert p["score"] <= p["score_high"] <= 1


def test_availability_follows_the_compliance_decision_date(store):
    """Newport Beach's contract (stated expiry 2023-06) is expired in 2026 but not in January
    2022. Santa Monica (91,105) weighted on size and law has Newport Beach (84,792) first."""
    profile = profile_for(store, "Santa Monica, CA")
    weights = {"peers": {"weights": {"size": 1, "legal": 1}}}

    def newport(settings):
        case = build_business_case(store, profile, None, settings, today=TODAY).to_dict()
        return next(p for p in case["peers"]["top"] if p["deployment_id"] == "newport-beach-ca")

    assert newport(weights)["availability"]["state"] == "expired"
    then = newport({**weights, "compliance": {"decision_date": "2022-01-15"}})
    assert then["availability"]["state"] == "unknown"  # term running, vehicle not recorded
    assert then["reasons"][-1].startswith("contract unknown on 2022-01-15: ")
