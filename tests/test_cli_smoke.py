"""One real process: `python -m piggyback` starts, reads the store and prints JSON (the other CLI
tests call the same main() in process)."""

import json

from conftest import run_cli_process


def test_the_cli_runs_as_a_program():
    done = run_cli_process("similar", "--agency", "Guelph, ON", "--top", "3", "--json")
    assert done.returncode == 0, done.stderr
    ranked = json.loads(done.stdout)
    assert len(ranked["peers"] if isinstance(ranked, dict) else ranked) == 3


def test_a_usage_error_exits_2_with_a_sentence():
    done = run_cli_process("similar", "--agency", "Guelph, ON", "--top", "0")
    assert done.returncode == 2 and "--top" in done.stderr and "Traceback" not in done.stderr
