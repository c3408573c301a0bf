"""Backend names: the default, the environment override, and a clear error for a typo."""

from __future__ import annotations

import pytest

from harness.backends import Backend, resolve_backend
from harness.errors import UnknownBackendError


def test_default_is_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    assert resolve_backend() is Backend.LOCAL


def test_environment_sets_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_BACKEND", "Docker")
    assert resolve_backend() is Backend.DOCKER
    assert resolve_backend("local") is Backend.LOCAL


def test_unknown_backend_is_an_error_not_a_guess() -> None:
    with pytest.raises(UnknownBackendError, match=r"'kubernetes'.*local, docker"):
        resolve_backend("kubernetes")
