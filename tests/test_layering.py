"""The package's layers, as `.importlinter` states them, hold: a layer imports only those below it,
and only piggyback.ui imports Streamlit."""

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def test_the_import_contracts_are_kept():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    done = subprocess.run([lint, "--config", str(ROOT / ".importlinter")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "2 kept, 0 broken" in done.stdout


def test_no_module_outside_ui_imports_streamlit():
    """The same rule as text, for a reader without import-linter: streamlit only in piggyback/ui/."""
    offenders = [p.relative_to(ROOT).as_posix() for p in (ROOT / "piggyback").rglob("*.py")
                 if "ui" not in p.relative_to(ROOT / "piggyback").parts[:1]
                 and any(line.strip().startswith(("import streamlit", "from streamlit"))
                         for line in p.read_text(encoding="utf-8").splitlines())]
    assert offenders == []
