"""Every option of `python -m piggyback` is bounded when the command line is read: a value out of
range is a usage error (exit 2) with one plain sentence naming the option and its range, never
a traceback or a validation dump, and output files are checked before any work starts."""

from __future__ import annotations

import time

import pytest

from conftest import BUILT_DB
from piggyback import cli
AGENCY = ("--agency", "Guelph, ON")
LONG = "x" * 201


def run(capsys, *args: str) -> tuple[int, str, str]:
    """The CLI in this process: exit code, stdout, stderr."""
    capsys.readouterr()
    code = cli.main(["--db", str(BUILT_DB), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# (command line, the option the message must name, words of the allowed range or the fix)
AGENCY_COMMANDS = [
    ("similar", *AGENCY),
    ("timeline", *AGENCY),
    ("cost", *AGENCY, "--peer", "fayetteville-ar"),
    ("check", *AGENCY, "--peer", "ottawa-on"),
    ("report", *AGENCY, "--out", "unused.pdf"),
    ("scenarios", "save", "plan", *AGENCY),
]
AGENCY_CASES = [
    (("--permits", "-5"), "--permits", "from 0 to 10,000,000"),
    (("--permits", "10000001"), "--permits", "from 0 to 10,000,000"),
    (("--permits", "many"), "--permits", "from 0 to 10,000,000"),
    (("--users", "1e20"), "--users", "from 0 to 1,000,000"),
    (("--users", "100000000000000000000"), "--users", "from 0 to 1,000,000"),
    (("--users", "-1"), "--users", "from 0 to 1,000,000"),
    (("--system", LONG), "--system", "at most 200 characters"),
]
BAD = [
    *[((*command, *case[0]), *case[1:]) for command in AGENCY_COMMANDS for case in AGENCY_CASES],
    (("similar", "--agency", LONG), "--agency", "at most 200 characters"),
    (("similar", *AGENCY, "--top", "0"), "--top", "from 1 to 100,000"),
    (("similar", *AGENCY, "--top", "100001"), "--top", "from 1 to 100,000"),
    (("similar", *AGENCY, "--weights", '{"size": 1e308}'), "--weights", "from 0 to 1,000"),
    (("similar", *AGENCY, "--weights", '{"size": 1e308, "legal": 1e308}'), "--weights", "from 0 to 1,000"),
    (("similar", *AGENCY, "--weights", '{"size": -1}'), "--weights", "negative"),
    (("similar", *AGENCY, "--vendor", LONG), "--vendor", "at most 200 characters"),
    (("prospects", "--peer", "ottawa-on", "--min-pop", "-1"), "--min-pop", "from 0 to 50,000,000"),
    (("prospects", "--peer", "ottawa-on", "--max-pop", "99999999999999999999"), "--max-pop",
     "from 0 to 50,000,000"),
    (("prospects", "--peer", "ottawa-on", "--min-known", "0"), "--min-known", "from 1 to 8"),
    (("prospects", "--peer", "ottawa-on", "--min-known", "999"), "--min-known", "from 1 to 8"),
    (("prospects", "--peer", "ottawa-on", "--top", "-3"), "--top", "from 1 to 100,000"),
    (("prospects", "--peer", LONG), "--peer", "at most 200 characters"),
    (("timeline", *AGENCY, "--start", "9999-12-31"), "--start", "from 1990-01-01 to 2100-12-31"),
    (("timeline", *AGENCY, "--start", "0001-01-01"), "--start", "from 1990-01-01 to 2100-12-31"),
    (("timeline", *AGENCY, "--set", "tl.rfp.needs=1,5,1e308"), "--set", "0 to 120 months"),
    (("timeline", *AGENCY, "--set", "tl.rfp.needs=1,5,100000"), "--set", "0 to 120 months"),
    (("timeline", *AGENCY, "--set", "tl.rfp.needs=1,5,121"), "--set", "0 to 120 months"),
    (("timeline", *AGENCY, "--set", "tl.rfp.needs=nan,5,6"), "--set", "finite number of months"),
    (("timeline", *AGENCY, "--set", "tl.rfp.needs=-1,5,6"), "--set", "cannot be negative"),
    (("timeline", *AGENCY, "--set", "tl.rfp.needs=5,1,3"), "--set", "low ≤ most likely ≤ high"),
    (("timeline", *AGENCY, "--set", "tl.rfp.needs=1,5"), "--set", "PHASE_ID=LOW,LIKELY,HIGH"),
    (("timeline", *AGENCY, "--seed", "-1"), "--seed", "from 0 to 2,147,483,647"),
    (("timeline", *AGENCY, "--seed", str(2**31)), "--seed", "from 0 to 2,147,483,647"),
    (("timeline", *AGENCY, "--draws", "9999"), "--draws", "from 10,000 to 5,000,000"),
    (("timeline", *AGENCY, "--draws", "5000001"), "--draws", "from 10,000 to 5,000,000"),
    (("timeline", *AGENCY, "--peer", LONG), "--peer", "at most 200 characters"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--years", "0"), "--years", "from 1 to 50"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--years", "51"), "--years", "from 1 to 50"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--discount", "-500"), "--discount", "from -5 to 50"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--discount", "50.1"), "--discount", "from -5 to 50"),
    # a decimal comma is refused, never read as a thousands separator (1,5 is not 15)
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--discount", "1,5"), "--discount", "from -5 to 50"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--fx", "0"), "--fx", "from 0.2 to 5"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--fx", "inf"), "--fx", "from 0.2 to 5"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--escalation", "nan"), "--escalation", "from -10 to 20"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--escalation", "21"), "--escalation", "from -10 to 20"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--inflation", "1e308"), "--inflation", "from -5 to 30"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--inflation", "-6"), "--inflation", "from -5 to 30"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--elasticity", "9"), "--elasticity", "from 0 to 1.5"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--elasticity", "-0.1"), "--elasticity", "from 0 to 1.5"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--start-year", "99999"), "--start-year",
     "from 1970 to 2100"),
    (("cost", *AGENCY, "--peer", "fayetteville-ar", "--start-year", "1969"), "--start-year",
     "from 1970 to 2100"),
    (("check", *AGENCY, "--peer", "ottawa-on", "--date", "9999-12-31"), "--date",
     "from 1990-01-01 to 2100-12-31"),
    (("check", *AGENCY, "--peer", "ottawa-on", "--date", "1000-01-01"), "--date",
     "from 1990-01-01 to 2100-12-31"),
    (("check", *AGENCY, "--peer", "ottawa-on", "--golive", "2101-01-01"), "--golive",
     "from 1990-01-01 to 2100-12-31"),
    (("check", *AGENCY, "--peer", "ottawa-on", "--value", "1e308"), "--value", "from 0 to 10,000,000,000"),
    (("check", *AGENCY, "--peer", "ottawa-on", "--value", "-1"), "--value", "from 0 to 10,000,000,000"),
    (("check", *AGENCY, "--peer", "ottawa-on", "--value", "nan"), "--value", "from 0 to 10,000,000,000"),
    (("agencies", "Guelph", "--limit", "0"), "--limit", "from 1 to 10,000"),
    (("agencies", "Guelph", "--limit", "10001"), "--limit", "from 1 to 10,000"),
    (("agencies", LONG), "query", "at most 200 characters"),
    (("report", *AGENCY, "--out", "case.docx"), "--out", ".pdf or .xlsx"),
    (("report", *AGENCY, "--out", "{missing}/case.pdf"), "--out", "does not exist"),
    (("export", "{missing}/peers.csv"), "FILE", "does not exist"),
    (("export", "peers.txt"), "FILE", ".csv or .xlsx"),
    (("import", "/no/such/file.csv"), "FILE", "No file"),
    (("scenarios", "show", LONG), "name", "at most 200 characters"),
]


@pytest.mark.parametrize("args, option, words", BAD, ids=[f"{a[0]} {' '.join(a[-2:])[:40]}" for a, *_ in BAD])
def test_a_value_out_of_range_is_a_usage_error_naming_the_option(capsys, tmp_path, args, option, words):
    args = [a.replace("{missing}", str(tmp_path / "missing")) for a in args]
    code, out, err = run(capsys, *args)
    assert code == 2, err
    assert option in err and words in err, err
    assert "Traceback" not in err and "validation error" not in err and "pydantic" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert out == ""
    assert not (tmp_path / "missing").exists()  # nothing was written


def test_folders_are_refused_as_output_files(capsys, tmp_path):
    """`export` and `report --out` given a folder fail at once, naming it."""
    for args, option in ((("export", str(tmp_path)), "FILE"),
                         (("report", *AGENCY, "--out", str(tmp_path)), "--out")):
        code, out, err = run(capsys, *args)
        assert code == 2 and option in err and "is a folder" in err and not out, err


def test_report_into_a_folder_fails_before_any_rendering(capsys, tmp_path, monkeypatch):
    """`report --out <folder>` exits 2 within a second, and the business case is never built, even
    when the folder's name ends in .pdf (it used to fail only when writing, after rendering)."""
    import piggyback.analyses.business_case as business_case
    import piggyback.reports.report_pdf as report_pdf

    called = []
    monkeypatch.setattr(business_case, "build_business_case", lambda *a, **k: called.append("case"))
    monkeypatch.setattr(report_pdf, "render_pdf", lambda *a, **k: called.append("pdf"))
    started = time.perf_counter()
    folder = tmp_path / "case.pdf"
    folder.mkdir()
    code, _, err = run(capsys, "report", *AGENCY, "--peer", "fayetteville", "--out", str(folder))
    assert time.perf_counter() - started < 1.0
    assert code == 2 and "--out" in err and "is a folder" in err and called == []


def test_the_edges_of_every_cost_range_are_accepted_by_the_engine(capsys):
    """The CLI's limits are the pricing engine's: both ends of every range run (exit 0)."""
    for edge in (("--years", "1", "--discount", "-5", "--fx", "0.2", "--escalation", "-10",
                  "--inflation", "-5", "--elasticity", "0", "--start-year", "2100"),
                 ("--years", "50", "--discount", "50", "--fx", "5", "--escalation", "20",
                  "--inflation", "30", "--elasticity", "1.5", "--start-year", "2025")):
        code, out, err = run(capsys, "cost", *AGENCY, "--peer", "fayetteville-ar", *edge, "--json")
        assert code == 0, (edge, err)


def test_the_edges_of_agency_and_timeline_ranges_are_accepted(capsys):
    """The largest permit volume, staff count and system name the model takes, a phase of 120
    months and the last decision date all run."""
    code, _, err = run(capsys, "similar", *AGENCY, "--permits", "10,000,000", "--users", "1000000",
                       "--system", "x" * 200, "--top", "1", "--json")
    assert code == 0, err
    code, out, err = run(capsys, "timeline", *AGENCY, "--start", "2100-12-01", "--seed", str(2**31 - 1),
                         "--set", "tl.rfp.needs=0,60,120", "--json")
    assert code == 0, err
    assert '"2100-12-01"' in out
    code, _, err = run(capsys, "check", *AGENCY, "--peer", "ottawa-on", "--date", "2100-12-31",
                       "--value", "10000000000", "--json")
    assert code in (0, 1, 4), err  # 1 blocked, 4 not shown to be allowed: domain outcomes


def test_help_lists_the_exit_codes(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    text = out[out.index("exit codes:"):]
    for line in ("0 ", "1 ", "2 ", "3 "):
        assert f"\n  {line}" in text
    assert "usage or input error" in text and "unexpected error" in text


def test_usage_mistakes_are_one_line_without_the_usage_dump(capsys):
    """A missing option or an unknown one: one line pointing at --help, exit 2."""
    for args, words in ((("cost", *AGENCY), "required: --peer"), (("similar", *AGENCY, "--frob"), "--frob")):
        code, out, err = run(capsys, *args)
        assert code == 2 and words in err and "--help" in err and not out
        assert len(err.strip().splitlines()) == 1 and "usage:" not in err
