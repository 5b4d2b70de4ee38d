"""The load test's verdict on issue #15's budgets (benchmarks/load_test.py), from hand-made timings:
a median over its budget fails the run, a slow p90 alone does not, an error or a lost scenario
fails it whatever the times, and --no-budgets judges only errors and scenarios. No browser."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "load_test.py"


@pytest.fixture(scope="module")
def load():
    spec = importlib.util.spec_from_file_location("load_test_under_test", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUDGETS = {"first page": 3.0, "weight change (Peers)": 1.0}


def _line(lines: list[str], step: str) -> str:
    [line] = [x for x in lines if x.startswith(step)]
    return line


def test_issue_15_budgets_are_the_table_at_the_top(load):
    assert load.BUDGETS_S == {"first page": 3.0, "weight change (Peers)": 1.0,
                              "population filter (Prospects)": 1.0, "peer change (Compliance)": 1.0}


def test_every_median_within_its_budget_exits_0(load):
    steps = load.summarise({"first page": [2.0, 2.5, 9.0], "weight change (Peers)": [0.4, 0.6, 0.5],
                            "page: peers": [4.0, 5.0]}, BUDGETS)
    status, lines = load.verdict(steps, errors=[], lost=[])
    assert status == 0 and lines[-1] == "exit 0"
    first = _line(lines, "first page")
    assert "median    2.50 s" in first and "p90    9.00 s" in first and "n=3" in first
    assert "budget 3.0 s" in first and "ratio 0.83" in first and first.endswith("-> within budget")
    assert steps["weight change (Peers)"] == {"median_s": 0.5, "p90_s": 0.6, "n": 3, "budget_s": 1.0,
                                              "ratio": 0.5, "within_budget": True}
    assert "budget" not in _line(lines, "page: peers")  # a page load is a figure, not judged
    assert "every budgeted step is within its budget at the median" in lines


def test_a_median_over_its_budget_exits_1_and_names_the_step(load):
    steps = load.summarise({"first page": [1.0, 1.2, 1.1], "weight change (Peers)": [0.5, 1.4, 1.6]}, BUDGETS)
    status, lines = load.verdict(steps, errors=[], lost=[])
    assert status == 1 and lines[-1] == "exit 1"
    weight = _line(lines, "weight change (Peers)")
    assert "ratio 1.40" in weight and weight.endswith("-> OVER budget")
    assert _line(lines, "first page").endswith("-> within budget")
    assert "FAIL: over budget or not measured: weight change (Peers)" in lines


def test_judged_at_the_median_not_the_worst_and_the_budget_itself_is_over(load):
    slow_tail = load.summarise({"first page": [1.0, 1.0, 1.0, 1.0, 30.0], "weight change (Peers)": [1.0]}, BUDGETS)
    assert slow_tail["first page"]["within_budget"] and slow_tail["first page"]["p90_s"] == 30.0
    assert not slow_tail["weight change (Peers)"]["within_budget"]  # "< 1 s": a median of exactly 1 s is over
    assert load.verdict(slow_tail, [], [])[0] == 1


def test_a_budgeted_step_nobody_reached_is_not_measured_and_fails(load):
    steps = load.summarise({"first page": [1.0]}, BUDGETS)
    assert steps["weight change (Peers)"] == {"median_s": None, "p90_s": None, "n": 0, "budget_s": 1.0,
                                              "ratio": None, "within_budget": False}
    status, lines = load.verdict(steps, [], [])
    assert status == 1 and _line(lines, "weight change (Peers)").endswith("-> NOT MEASURED")


def test_errors_and_lost_scenarios_fail_whatever_the_times(load):
    fast = load.summarise({"first page": [1.0], "weight change (Peers)": [0.2]}, BUDGETS)
    status, lines = load.verdict(fast, errors=["US-CO-48453 on peers: exception on the page"], lost=[])
    assert status == 1 and "  error: US-CO-48453 on peers: exception on the page" in lines
    status, lines = load.verdict(fast, errors=[], lost=["CA-CSD-3506008"], judge_budgets=False)
    assert status == 1 and "scenarios lost or crossed: 1; errors: 0" in lines


def test_no_budgets_prints_the_figures_but_judges_only_errors_and_scenarios(load):
    slow = load.summarise({"first page": [55.0, 60.0], "weight change (Peers)": [4.0]}, BUDGETS)
    status, lines = load.verdict(slow, [], [], judge_budgets=False)
    assert status == 0 and "budgets not judged (--no-budgets)" in lines
    assert _line(lines, "first page").endswith("-> OVER budget")  # still said, only not judged


def _fake_run(first_page: list[float], saved_right: bool = True):
    def run(sessions, servers, think=0.0, passes=3, all_browsers=False):
        expected = {f"load {i}.0 {g}": g for i, g in enumerate(["CA-CSD-3523008", "CA-CSD-3506008"][:sessions])}
        timings = {"first page": first_page, "weight change (Peers)": [0.5] * sessions,
                   "population filter (Prospects)": [0.5] * sessions, "peer change (Compliance)": [0.5] * sessions}
        return {"sessions": sessions, "servers": servers, "wall_s": 1.0, "timings_s": timings, "errors": [],
                "expected": expected,
                "saved": {name: g if saved_right else "US-CO-48453" for name, g in expected.items()}}
    return run


def test_main_exits_on_the_verdict_and_writes_budgets_and_verdicts(load, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(load, "run", _fake_run([55.0, 56.0]))
    out = tmp_path / "load.json"
    assert load.main(["--sessions", "2", "--json", str(out)]) == 1
    assert "first page" in capsys.readouterr().out
    written = json.loads(out.read_text())
    assert written["budgets_s"] == load.BUDGETS_S and written["exit_status"] == 1 and written["budgets_judged"]
    assert written["steps"]["first page"]["ratio"] == pytest.approx(55.5 / 3.0, abs=0.01)
    assert any(line.endswith("-> OVER budget") for line in written["verdict"])
    assert load.main(["--sessions", "2", "--no-budgets"]) == 0
    monkeypatch.setattr(load, "run", _fake_run([1.0, 1.0], saved_right=False))  # every save crossed
    assert load.main(["--sessions", "2", "--json", str(out)]) == 1
    assert json.loads(out.read_text())["lost"] == [
        "load 0.0 CA-CSD-3523008 (expected under CA-CSD-3523008, found under US-CO-48453)",
        "load 1.0 CA-CSD-3506008 (expected under CA-CSD-3506008, found under US-CO-48453)"]
