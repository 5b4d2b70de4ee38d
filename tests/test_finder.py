"""The agency finder: accents, case and small typos do not matter; exact and prefix matches and
larger places come first; a name in a link resolves to its place."""

import pytest

from piggyback.data import finder
GUELPH = "CA-CSD-3523008"
OTTAWA = "CA-CSD-3506008"


@pytest.fixture(scope="module")
def index(store):
    return finder.index_for(store)


def ids(matches):
    return [m.geo_id for m in matches]


def test_ottawa_ontario_comes_first_for_ottawa(index):
    found = finder.search(index, "Ottawa")
    assert found[0].geo_id == OTTAWA
    assert found[0].label.startswith("Ottawa, ON")
    assert "1,017,449" in found[0].label


def test_accents_and_case_do_not_matter(index):
    plain = finder.search(index, "saint-elzear")
    accented = finder.search(index, "Saint-Elzéar")
    assert ids(plain) == ids(accented)
    assert plain[0].name.startswith("Saint-Elzéar (")
    # Both places named exactly Saint-Elzéar come before Saint-Elzéar-de-Témiscouata (a prefix match),
    # the larger first.
    assert [m.tier for m in plain[:3]] == ["exact", "exact", "prefix"]
    assert plain[0].population > plain[1].population
    assert plain[2].name.startswith("Saint-Elzéar-de-Témiscouata")


def test_larger_places_first_among_equal_names(index):
    found = finder.search(index, "Springfield", limit=10)
    assert all(m.tier == "exact" for m in found)
    pops = [m.population or 0 for m in found]
    assert pops == sorted(pops, reverse=True)
    assert pops[0] > 100_000


def test_small_typos_still_find_the_place(index):
    assert finder.search(index, "Otawa")[0].geo_id == OTTAWA
    assert finder.search(index, "Springfeild")[0].name.startswith("Springfield")
    assert finder.search(index, "Toronot")[0].name == "Toronto, ON"
    assert finder.search(index, "qqqqzzzz") == []


def test_a_word_inside_the_name_is_found(index):
    assert finder.search(index, "Elzear")[0].name.startswith("Saint-Elzéar")


def test_province_or_state_narrows_the_search(index):
    for query in ("Guelph, ON", "guelph on", "Guelph, Ontario"):
        found = finder.search(index, query)
        assert found[0].geo_id == GUELPH, query
        assert all(m.region == "ON" for m in found)
    assert finder.search(index, "Springfield, MA")[0].name == "Springfield, MA"


def test_ids_and_statcan_codes(index):
    assert ids(finder.search(index, "3523008")) == [GUELPH]
    assert ids(finder.search(index, GUELPH.lower())) == [GUELPH]
    assert finder.search(index, "CA-CSD-0000000") == []


def test_resolve_takes_names_and_ids(index):
    assert finder.resolve(index, "Guelph, ON")[0].geo_id == GUELPH
    assert finder.resolve(index, GUELPH)[0].geo_id == GUELPH
    match, count = finder.resolve(index, "Springfield")
    assert count > 3 and match.population == max(m.population or 0 for m in finder.search(index, "Springfield", 50))
    assert finder.resolve(index, "Nowhere Special") == (None, 0)
    # A close match is not enough for a link: it would open a place the link does not name.
    assert finder.resolve(index, "Otawa") == (None, 0)


def test_index_is_built_once_per_store_version(store):
    import pandas as pd

    class FakeStore:
        def __init__(self):
            self.v = "1"
            self.built = 0

        def version(self):
            return self.v

        def jurisdictions(self):
            self.built += 1
            return store.jurisdictions().head(50)

    fake = FakeStore()
    first = finder.index_for(fake)
    assert finder.index_for(fake) is first and fake.built == 1
    fake.v = "2"
    assert finder.index_for(fake) is not first and fake.built == 2
    assert isinstance(store.jurisdictions(), pd.DataFrame)


def test_long_or_empty_queries_are_safe(index):
    assert finder.search(index, "") == []
    assert finder.search(index, "   ") == []
    assert finder.search(index, "a" * 10_000) == []
    assert len(finder.search(index, "s", limit=7)) == 7


def test_every_place_with_the_exact_name_is_an_exact_match(store, index):
    jur = store.jurisdictions()
    for name in ("springfield", "ottawa", "guelph"):
        named = set(jur.loc[jur["name_key"] == name, "geo_id"])
        found = finder.search(index, name, limit=len(named) + 20)
        exact = [m.geo_id for m in found if m.tier == "exact"]
        assert named and set(exact) >= named, name
        assert exact == [m.geo_id for m in found[:len(exact)]]  # before any prefix or word match


def test_the_index_leaves_little_for_the_garbage_collector(store):
    """The index lives as long as the server: every object in it that the cyclic garbage collector
    tracks is walked again by each full collection, which holds the GIL while the finder's answer
    waits to be sent. A dict of one list per name made it about 23,000 objects."""
    import gc

    jur = store.jurisdictions()
    gc.collect()
    before = len(gc.get_objects())
    index = finder.build_index(jur)
    gc.collect()
    assert len(gc.get_objects()) - before < 1_000
    assert finder.search(index, "Guelph, ON")[0].geo_id == GUELPH


def test_streamlit_does_not_force_a_full_collection_after_each_run():
    """Streamlit's post-run gc.collect(2) held the GIL while the finder's suggestions were waiting to
    go out (the keystroke-to-suggestions time in benchmarks/bench_browser.py): the project's
    .streamlit/config.toml turns it off, and Streamlit reads it from there."""
    import subprocess
    import sys
    from pathlib import Path

    # A fresh process in the project's directory, as the server starts: Streamlit reads
    # .streamlit/config.toml from the working directory (a misspelt key would leave the default).
    read = subprocess.run([sys.executable, "-c", "from streamlit import config; "
                           "print(config.get_option('runner.postScriptGC'))"],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "False"
