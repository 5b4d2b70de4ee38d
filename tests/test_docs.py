"""The documentation names every setting the code reads, and every dotted name it cites exists."""

from __future__ import annotations

import importlib
import re

from conftest import ROOT

from piggyback.core.settings import SETTINGS

ARCHITECTURE = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in ARCHITECTURE]
    assert not missing, f"settings missing from docs/ARCHITECTURE.md: {missing}"


def test_no_module_reads_the_environment_behind_the_registry():
    """Only piggyback/settings.py reads os.environ (tests and benchmarks may set it)."""
    readers = [p.relative_to(ROOT).as_posix() for p in (ROOT / "piggyback").rglob("*.py")
               if re.search(r"os\.environ(?!\s*\[\s*['\"]\w+['\"]\s*\]\s*=)|os\.getenv", p.read_text(encoding="utf-8"))
               and p.name != "settings.py"]
    assert readers == []


def test_every_dotted_name_the_architecture_cites_resolves():
    cited = set(re.findall(r"`(piggyback(?:\.\w+)+)(?:\(\))?`", ARCHITECTURE))
    assert cited, "the architecture notes cite no code"
    broken = []
    for name in sorted(cited):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                broken.append(name)
            break
        else:
            broken.append(name)
    assert not broken, f"docs/ARCHITECTURE.md cites names that do not exist: {broken}"
