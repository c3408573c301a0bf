"""Finding k6: PATH first, then HARNESS_K6, then the `k6` package; missing says how to install."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from harness.errors import BinaryNotFoundError
from harness.load import K6NotFoundError, K6Source, find_k6
from harness.load import k6 as k6_module


def fake_k6(directory: Path, version: str = "1.1.0", name: str = "k6") -> Path:
    """A stand-in that answers `k6 version` like the real one."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = version ] && echo "k6 v{version} (commit/test, go1.24.4, linux/amd64)"\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def no_k6(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No k6 anywhere: an empty PATH entry, no HARNESS_K6, no package binary."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("HARNESS_K6", raising=False)
    monkeypatch.setattr(k6_module, "_package_binary", lambda: None)
    return empty


def test_missing_k6_says_how_to_install_it(no_k6: Path) -> None:
    with pytest.raises(K6NotFoundError) as caught:
        find_k6()
    message = str(caught.value)
    assert "k6 not found" in message
    assert "make k6" in message
    assert "pip install --require-hashes -r requirements/k6.txt" in message
    assert "PATH" in message and "HARNESS_K6" in message
    assert isinstance(caught.value, BinaryNotFoundError)


def test_path_comes_first(no_k6: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = fake_k6(no_k6)
    monkeypatch.setenv("HARNESS_K6", str(fake_k6(tmp_path / "override")))
    found = find_k6()
    assert (found.path, found.source, found.version) == (on_path, K6Source.PATH, (1, 1, 0))


def test_then_the_override(no_k6: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override = fake_k6(tmp_path / "override", "1.0.0")
    monkeypatch.setenv("HARNESS_K6", str(override))
    monkeypatch.setattr(k6_module, "_package_binary", lambda: fake_k6(tmp_path / "pkg"))
    found = find_k6()
    assert (found.path, found.source, found.version_text) == (override, K6Source.OVERRIDE, "1.0.0")


def test_then_the_package(no_k6: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    packaged = fake_k6(tmp_path / "venv" / "bin")
    monkeypatch.setattr(k6_module, "_package_binary", lambda: packaged)
    found = find_k6()
    assert (found.path, found.source) == (packaged, K6Source.PACKAGE)
    assert "from the k6 package" in str(found)


def test_an_override_naming_nothing_is_an_error(
    no_k6: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_K6", str(tmp_path / "nope" / "k6"))
    monkeypatch.setattr(k6_module, "_package_binary", lambda: fake_k6(tmp_path / "pkg"))
    with pytest.raises(K6NotFoundError, match=r"HARNESS_K6=.*is not an executable file"):
        find_k6()


def test_too_old_a_k6_is_named(no_k6: Path) -> None:
    fake_k6(no_k6, "0.45.1")
    with pytest.raises(K6NotFoundError, match=r"is k6 0\.45\.1 \(k6 0\.49 or newer is needed\)"):
        find_k6()


def test_the_installed_package_binary_is_found_from_its_record() -> None:
    packaged = k6_module._package_binary()
    if packaged is None:
        pytest.skip("the k6 package is not installed (make k6)")
    assert packaged.name == "k6" and packaged.parent.name == "bin"
    assert k6_module.k6_version(packaged) is not None
