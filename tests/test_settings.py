"""harness/settings.py is the only reader of HARNESS_* variables, and the README lists them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness import settings
from harness.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = set(re.findall(r"^\| `(HARNESS_[A-Z0-9_]+)` \|", readme, flags=re.M))
    assert rows == {s.name for s in settings.SETTINGS}


def test_no_other_module_reads_a_harness_variable() -> None:
    readers = re.compile(r"""environ(?:\.get\(|\[)\s*["']HARNESS_|getenv\(\s*["']HARNESS_""")
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "harness").rglob("*.py")
        if path.name != "settings.py" and readers.search(path.read_text())
    ]
    assert offenders == []


def test_every_harness_name_in_the_code_is_a_declared_setting() -> None:
    declared = {s.name for s in settings.SETTINGS}
    used: set[str] = set()
    for path in (ROOT / "harness").rglob("*.py"):
        used.update(re.findall(r"\bHARNESS_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    assert used <= declared, sorted(used - declared)


def test_typed_readings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_PG_VERSION", " 15.4 ")
    assert settings.pg_version() == 15
    monkeypatch.setenv("HARNESS_PG_VERSION", "fifteen")
    with pytest.raises(ConfigurationError, match="not a PostgreSQL major version"):
        settings.pg_version()
    for text, expected in (("", None), ("auto", None), ("0", False), ("off", False), ("1", True)):
        monkeypatch.setenv("HARNESS_PG_IN_MEMORY", text)
        assert settings.pg_in_memory() is expected
    monkeypatch.delenv("HARNESS_REPORTS_DIR", raising=False)
    assert settings.reports_root() == Path("reports")
    monkeypatch.setenv("HARNESS_NO_REAPER", "1")
    assert settings.reaper_disabled()
    monkeypatch.setenv("HARNESS_RUN_ID", "hr1-abc")
    monkeypatch.delenv("HARNESS_RUN_OWNER", raising=False)
    assert settings.inherited_run() is None
