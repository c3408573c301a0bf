"""The error tree: every readiness failure tells the whole story in its message."""

from __future__ import annotations

import pytest

from harness import errors
from harness.errors import HarnessError, ProcessExitedError, ReadinessTimeout, TeardownError


def test_every_public_error_is_a_harness_error() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, HarnessError), name


def test_readiness_timeout_names_service_endpoint_condition_wait_last_error_and_tail() -> None:
    exc = ReadinessTimeout(
        service="postgres",
        endpoint="127.0.0.1:5432",
        condition="SELECT 1 answers",
        waited=2.5,
        last_error="OperationalError: connection refused",
        log_tail="FATAL: could not bind\nsecond line",
        log_path="/tmp/pg.log",
        hint="is the port taken?",
    )
    text = str(exc)
    for part in (
        "postgres",
        "127.0.0.1:5432",
        "SELECT 1 answers",
        "2.50s",
        "connection refused",
        "FATAL: could not bind",
        "/tmp/pg.log",
        "is the port taken?",
    ):
        assert part in text
    assert exc.waited == 2.5 and exc.condition == "SELECT 1 answers"


def test_process_exited_error_reports_exit_code_or_signal() -> None:
    exited = ProcessExitedError(service="redis", endpoint="127.0.0.1:1", exit_code=3, waited=0.1)
    killed = ProcessExitedError(service="redis", endpoint="127.0.0.1:1", exit_code=-9, waited=0.1)
    assert "exited with code 3" in str(exited) and exited.exit_code == 3
    assert "killed by signal 9" in str(killed)


def test_teardown_error_lists_every_failure() -> None:
    exc = TeardownError([("stop postgres", RuntimeError("a")), ("remove dir", OSError("b"))])
    assert "2 teardown step(s) failed" in str(exc)
    assert "stop postgres: RuntimeError: a" in str(exc)
    assert "remove dir: OSError: b" in str(exc)


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(errors.UnknownBackendError, match="choose one of local, docker"):
        raise errors.UnknownBackendError("kind", ["local", "docker"])
