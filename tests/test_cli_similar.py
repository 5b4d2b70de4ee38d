"""`python -m piggyback similar` and `prospects`: the JSON a script relies on, and clear errors."""

from __future__ import annotations

import json
import math

import pytest

from conftest import BUILT_DB, run_cli
from piggyback import cli
from piggyback.engines.similarity import DIMENSIONS

GUELPH = "CA-CSD-3523008"
OTTAWA_GEO = "CA-CSD-3506008"


class Finished:
    """What a finished command left: exit code, stdout, stderr (like subprocess's result)."""

    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture()
def cli_run(built_db, capsys):
    """Run the CLI in this process (fast); `run_cli` runs it as a separate program."""
    def run(*args: str) -> Finished:
        capsys.readouterr()
        code = cli.main(["--db", str(BUILT_DB), *args])
        out = capsys.readouterr()
        return Finished(code, out.out, out.err)
    return run


def _json(proc) -> list[dict]:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def guelph_peers(built_db):
    return _json(run_cli("similar", "--agency", GUELPH, "--top", "50", "--json"))


def test_similar_contributions_add_up_to_score(guelph_peers):
    """Each peer's per-dimension contributions sum to its score, which lies in [0, 1]."""
    assert guelph_peers
    for item in guelph_peers:
        assert set(item["contributions"]) == set(DIMENSIONS)
        assert 0.0 <= item["score"] <= 1.0
        assert math.isclose(sum(item["contributions"].values()), item["score"], abs_tol=1e-9)
        # An unknown dimension contributes nothing and is not counted as used.
        unknown = [d for d, s in item["similarity"].items() if s is None]
        assert all(item["contributions"][d] == 0 for d in unknown)
        assert item["dims_used"] <= len(DIMENSIONS) - len(unknown)


def test_similar_is_best_first_with_reasons_and_ids(guelph_peers, store):
    """Items are ranked best first and name a known deployment, with reasons for a positive score."""
    scores = [i["score"] for i in guelph_peers]
    assert scores == sorted(scores, reverse=True)
    assert [i["rank"] for i in guelph_peers] == list(range(1, len(guelph_peers) + 1))
    known = set(store.peers()["deployment_id"])
    assert {i["deployment_id"] for i in guelph_peers} <= known
    assert len(guelph_peers) == len(known)  # --top 50 is more than there are peers
    top = guelph_peers[0]
    assert top["jurisdiction"] and top["reasons"]
    assert all(isinstance(r, str) and r for r in top["reasons"])


def test_similar_top_is_respected_and_output_deterministic(guelph_peers, cli_run):
    """--top N lists the first N of the full ranking; the same call prints the same bytes."""
    first = cli_run("similar", "--agency", GUELPH, "--top", "3", "--json")
    again = cli_run("similar", "--agency", GUELPH, "--top", "3", "--json")
    items = _json(first)
    assert len(items) == 3
    assert [i["deployment_id"] for i in items] == [i["deployment_id"] for i in guelph_peers[:3]]
    assert first.stdout == again.stdout


def test_similar_weights_preset_and_json_change_the_ranking(guelph_peers, cli_run):
    """'size only' (or the same as JSON) ranks by population closeness alone: one dimension used."""
    preset = _json(cli_run("similar", "--agency", GUELPH, "--top", "5", "--weights", "size only", "--json"))
    as_json = _json(cli_run("similar", "--agency", GUELPH, "--top", "5", "--weights", '{"size": 3}', "--json"))
    assert [i["deployment_id"] for i in preset] == [i["deployment_id"] for i in as_json]
    assert all(i["dims_used"] == 1 and i["contributions"]["size"] == pytest.approx(i["score"]) for i in preset)
    assert [i["deployment_id"] for i in preset] != [i["deployment_id"] for i in guelph_peers[:5]]


def test_similar_leaves_out_the_agencys_own_deployment(cli_run, store):
    """Fayetteville, AR has its own deployment on file: it is not listed as its own peer."""
    items = _json(cli_run("similar", "--agency", "US-PL-05-143-23290", "--top", "100", "--json"))
    ids = {i["deployment_id"] for i in items}
    assert "fayetteville-ar" not in ids and len(ids) == len(store.peers()) - 1


def test_similar_readable_table_without_json(cli_run):
    """Without --json the command prints a table a person can read (rank, score, peer)."""
    proc = cli_run("similar", "--agency", "Guelph, ON", "--top", "4")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert len(lines) == 4
    # Guelph's profile has no legacy system and no permit volume (no --system, no --permits):
    # those two of the balanced preset's 8 weighted dimensions are left out for every peer.
    assert "Guelph" in proc.stdout and "of 6" in proc.stdout
    assert "left out for every peer: legacy system, permit volume" in proc.stdout


@pytest.mark.parametrize("weights, words", [
    ('{"size": -1}', "negative"),
    ('{"size": 1', "neither a preset"),
    ("most important", "neither a preset"),
    ('{"colour": 1}', "unknown dimension"),
    ('{"size": 0}', "all weights are zero"),
])
def test_bad_weights_exit_non_zero_with_a_message(weights, words, cli_run):
    """Bad weights JSON or an unknown preset: exit code 2, the reason on stderr, no traceback."""
    proc = cli_run("similar", "--agency", GUELPH, "--weights", weights, "--json")
    assert proc.returncode == 2
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_prospects_exclude_the_reference_and_add_up():
    """Prospects of Ottawa never list Ottawa itself; contributions add up; legal label is given."""
    items = _json(run_cli("prospects", "--peer", "ottawa-on", "--top", "200", "--json"))
    assert len(items) == 200
    assert OTTAWA_GEO not in {i["id"] for i in items}
    for item in items:
        assert math.isclose(sum(item["contributions"].values()), item["score"], abs_tol=1e-9)
        assert item["legal"] and item["jurisdiction"] and item["country"] in {"CA", "US"}
        # Census prospects have no modules, legacy system or permit volume: those drop out.
        assert all(item["similarity"][d] is None for d in ("modules", "legacy", "permits"))
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)


def test_prospects_region_and_population_band_filter(cli_run):
    """--region ON with a population band lists only Ontario jurisdictions inside the band."""
    items = _json(cli_run("prospects", "--peer", "Ottawa", "--region", "ON", "--min-pop", "50000",
                          "--max-pop", "200,000", "--top", "500", "--json"))
    assert items, "Ontario has cities between 50,000 and 200,000"
    assert {i["region"] for i in items} == {"ON"}
    assert all(50_000 <= i["population"] <= 200_000 for i in items)
    assert all(i["legal"] == "same province (ON)" for i in items)
    assert "Guelph, ON" in {i["jurisdiction"] for i in items}


def test_prospects_other_region_labels_legal_framework(cli_run):
    """A prospect in Quebec is labelled as Quebec's own framework (not CFTA-compatible, issue
    #12), one in Manitoba CFTA, one in the US 'other country'."""
    qc = _json(cli_run("prospects", "--peer", "ottawa-on", "--region", "QC", "--top", "3", "--json"))
    tx = _json(cli_run("prospects", "--peer", "ottawa-on", "--region", "TX", "--top", "3", "--json"))
    mb = _json(cli_run("prospects", "--peer", "ottawa-on", "--region", "MB", "--top", "3", "--json"))
    assert {i["legal"] for i in qc} == {"Quebec's own law, other province (QC)"}
    assert {i["legal"] for i in mb} == {"CFTA, other province (MB)"}
    assert {i["legal"] for i in tx} == {"other country (US)"}


@pytest.mark.parametrize("args, words", [
    (["--peer", "atlantis"], "No peer deployment matches"),
    (["--peer", "ottawa-on", "--region", "XX"], "Unknown province or state"),
    (["--peer", "ottawa-on", "--min-pop", "9000", "--max-pop", "10"], "above the maximum"),
    (["--peer", "ottawa-on", "--weights", "{oops"], "neither a preset"),
])
def test_prospects_bad_input_exits_non_zero(args, words, cli_run):
    """An unknown peer, region, an upside-down band or bad weights: a message and exit 2."""
    proc = cli_run("prospects", *args)
    assert proc.returncode == 2, proc.stdout
    assert words in proc.stderr and "Traceback" not in proc.stderr


def test_bad_weights_as_a_separate_program_prints_no_traceback():
    """Run as a user would (a separate process): bad weights give exit 2 and one clear line."""
    proc = run_cli("similar", "--agency", GUELPH, "--weights", '{"size": "big"}')
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: --weights") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_similar_vendor_filter_matches_aliases(cli_run, store):
    """Issue #12: --vendor Granicus finds the AMANDA peers, whatever spelling each record uses
    ('CSDC (now Granicus)', 'Granicus (CSDC) AMANDA + ePlanSoft', ...), and nothing else."""
    items = _json(cli_run("similar", "--agency", "Guelph, ON", "--vendor", "Granicus", "--top", "100", "--json"))
    peers = store.peers()
    amanda = set(peers.loc[peers["product"].fillna("").str.contains("AMANDA"), "deployment_id"])
    assert amanda and {i["deployment_id"] for i in items} == amanda
    assert {i["vendor_canonical"] for i in items} == {"Granicus (AMANDA, formerly CSDC)"}
    assert {i["deployment_id"] for i in _json(cli_run(
        "similar", "--agency", "Guelph, ON", "--vendor", "csdc", "--top", "100", "--json"))} == amanda
    none = cli_run("similar", "--agency", "Guelph, ON", "--vendor", "No Such Vendor")
    assert none.returncode == 1 and "Remove --vendor" in none.stderr


def test_similar_json_has_availability_with_reasons(guelph_peers):
    for item in guelph_peers:
        avail = item["availability"]
        assert avail["state"] in {"available", "expired", "not_adoptable", "unknown"}
        assert avail["reasons"] and all(r["text"] for r in avail["reasons"])
        assert all(isinstance(r["sources"], list) for r in avail["reasons"])
        assert item["score"] <= item["score_high"] <= 1.0
    by_id = {i["deployment_id"]: i for i in guelph_peers}
    assert by_id["hamilton-on"]["availability"]["state"] == "not_adoptable"  # no contract on record
    assert by_id["edmonton-ab"]["availability"]["state"] == "not_adoptable"  # sole source


def test_similar_availability_filter_and_decision_date(cli_run):
    """Newport Beach's contract (stated expiry 2023-06) is expired today and was not in 2022."""
    now = _json(cli_run("similar", "--agency", "Irvine, CA", "--availability", "expired", "--top", "100",
                        "--json"))
    assert now and {i["availability"]["state"] for i in now} == {"expired"}
    assert "newport-beach-ca" in {i["deployment_id"] for i in now}
    then = _json(cli_run("similar", "--agency", "Irvine, CA", "--availability", "expired", "--top", "100",
                         "--decision-date", "2022-01-15", "--json"))
    assert "newport-beach-ca" not in {i["deployment_id"] for i in then}


def test_irvine_top_peer_is_no_longer_the_sparse_newport_beach(cli_run):
    """Issue #12: Newport Beach (no module data) was Irvine's top peer at 0.89 on 3 dimensions.
    Irvine's profile is known on size, kind, law and modules (balanced .20, .10, .20, .15 ->
    rescaled over .65). Hand-computed for Newport Beach (84,792 vs Irvine's 309,031):
      size: 1 - log10(309,031 / 84,792) / 2 = 1 - 0.561660 / 2 = 0.719170
      lower = (.20 x 0.719170 + .10 + .20) / .65 = 0.443834 / .65 = 0.682821
      upper = lower + .15 / .65 (modules unknown)              = 0.913590
    Peers known on all four dimensions with a higher lower bound now rank above it."""
    items = _json(cli_run("similar", "--agency", "Irvine, CA", "--top", "100", "--json"))
    newport = next(i for i in items if i["deployment_id"] == "newport-beach-ca")
    size = 1 - math.log10(309_031 / 84_792) / 2
    assert newport["score"] == pytest.approx((0.20 * size + 0.30) / 0.65, abs=1e-9)
    assert newport["score_high"] == pytest.approx((0.20 * size + 0.45) / 0.65, abs=1e-9)
    assert newport["dims_used"] == 3 and newport["dims_scored"] == 4
    assert items[0]["deployment_id"] != "newport-beach-ca" and newport["rank"] > 1
    assert all(i["dims_used"] == 4 for i in items[:newport["rank"] - 1])
    assert newport["availability"]["state"] == "expired"
