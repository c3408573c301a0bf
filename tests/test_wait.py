"""The one poll loop: returns the first truthy value, reports death at once, times out fully."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from harness._process import ManagedProcess
from harness._wait import Deadline, wait_until
from harness.errors import ProcessExitedError, ReadinessTimeout


def test_returns_first_truthy_result() -> None:
    calls = iter([None, 0, "ready"])
    assert (
        wait_until(
            lambda: next(calls),
            deadline=Deadline.after(2),
            service="s",
            endpoint="e",
            condition="c",
            interval=0.001,
        )
        == "ready"
    )


def test_timeout_carries_the_last_error() -> None:
    def check() -> None:
        raise ConnectionRefusedError("nobody home")

    with pytest.raises(ReadinessTimeout) as info:
        wait_until(
            check,
            deadline=Deadline.after(0.1),
            service="svc",
            endpoint="127.0.0.1:9",
            condition="TCP accepts",
        )
    assert "nobody home" in str(info.value) and info.value.waited >= 0.1


def test_dead_process_is_reported_at_once_with_exit_code(tmp_path: Path) -> None:
    process = ManagedProcess(
        "failing",
        [sys.executable, "-c", "print('boom on stdout'); raise SystemExit(7)"],
        log_path=tmp_path / "failing.log",
    ).start()
    started = time.monotonic()
    with pytest.raises(ProcessExitedError) as info:
        wait_until(
            lambda: None,
            deadline=Deadline.after(30),
            service="failing",
            endpoint="127.0.0.1:1",
            condition="never",
            process=process,
        )
    assert time.monotonic() - started < 10  # far below the 30 s deadline
    assert info.value.exit_code == 7
    assert "boom on stdout" in str(info.value)


def test_deadline_is_shared_not_added() -> None:
    deadline = Deadline.after(0.2)
    with pytest.raises(ReadinessTimeout):
        wait_until(lambda: None, deadline=deadline, service="a", endpoint="e", condition="c")
    with pytest.raises(ReadinessTimeout) as second:
        wait_until(lambda: None, deadline=deadline, service="b", endpoint="e", condition="c")
    assert second.value.waited < 1.0


def test_in_a_row_needs_an_unbroken_streak() -> None:
    from harness._wait import poll

    answers = iter([True, True, False, True, True, True, False])
    outcome = poll(lambda: next(answers), deadline=Deadline.after(2), interval=0.001, in_a_row=3)
    assert outcome.done and outcome.attempts == 6


def test_an_error_breaks_a_streak_and_is_kept() -> None:
    from harness._wait import poll

    def check() -> bool:
        step = next(steps)
        if step == "boom":
            raise ConnectionError("refused")
        return step == "ok"

    steps = iter(["ok", "boom", "ok", "ok"])
    outcome = poll(check, deadline=Deadline.after(2), interval=0.001, in_a_row=2)
    assert outcome.done and outcome.attempts == 4
    assert outcome.last_error == "ConnectionError: refused"


def test_poll_reports_a_missed_deadline_without_raising() -> None:
    from harness._wait import poll

    outcome = poll(lambda: None, deadline=Deadline.after(0.05), interval=0.01)
    assert not outcome.done and outcome.value is None and outcome.attempts >= 2
    assert outcome.waited >= 0.05


def test_fatal_errors_end_the_wait_at_once() -> None:
    class Broken(Exception):
        pass

    calls = []

    def check() -> None:
        calls.append(1)
        raise Broken("image not mapped")

    with pytest.raises(Broken):
        wait_until(
            check,
            deadline=Deadline.after(5),
            service="s",
            endpoint="e",
            condition="c",
            fatal=(Broken,),
        )
    assert len(calls) == 1
