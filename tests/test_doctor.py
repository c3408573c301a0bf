"""`harness doctor`: platform verdicts and a report that names each gap's fix."""

from __future__ import annotations

import pytest

from harness.cli import main
from harness.doctor import Status, platform_check, run_checks


def test_linux_and_wsl2_are_supported() -> None:
    assert platform_check("Linux", "6.1.0").status is Status.OK
    wsl = platform_check(
        "Linux", "5.15.90.1-microsoft-standard-WSL2", "Linux version ... microsoft"
    )
    assert wsl.status is Status.OK and "WSL2" in wsl.detail


def test_macos_names_the_loopback_alias_step() -> None:
    check = platform_check("Darwin", "23.1.0")
    assert check.status is Status.WARN
    assert "ifconfig lo0 alias" in check.fix


def test_native_windows_is_refused_with_the_way_out() -> None:
    check = platform_check("Windows", "10")
    assert check.status is Status.MISSING and "WSL2" in check.fix


def test_every_check_that_is_not_ok_says_how_to_fix_it() -> None:
    checks = run_checks()
    names = {c.name for c in checks}
    assert {
        "postgresql",
        "redis-server",
        "kubectl",
        "k6",
        "loopback addresses",
        "free ports",
        "privileges",
    } <= names
    for check in checks:
        if check.status is not Status.OK:
            assert check.fix, check


def test_missing_binary_gets_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    by_name = {c.name: c for c in run_checks()}
    assert by_name["redis-server"].status is Status.MISSING
    assert "apt-get install redis-server" in by_name["redis-server"].fix
    assert by_name["kubectl"].status is Status.MISSING


def test_cli_doctor_exit_code_follows_required_checks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["doctor"]) == 1
    assert "required check(s) missing" in capsys.readouterr().out


def test_cli_refuses_native_windows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("platform.system", lambda: "Windows")
    assert main(["doctor"]) == 2
    assert "WSL2" in capsys.readouterr().out
