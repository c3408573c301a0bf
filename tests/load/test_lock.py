"""The machine-wide measurement lock: one load at a time across processes, re-entrant within one."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.errors import ReadinessTimeout
from harness.load import MeasurementLock, exclusive_measurement
from harness.load.lock import lock_path


def test_default_path_is_machine_wide(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HARNESS_LOAD_LOCK", raising=False)
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path))  # not under the harness home
    assert lock_path().name == "harness-load.lock"
    assert tmp_path not in lock_path().parents
    monkeypatch.setenv("HARNESS_LOAD_LOCK", str(tmp_path / "x.lock"))
    assert lock_path() == tmp_path / "x.lock"


HOLDER = """
import sys, time
from pathlib import Path
from harness.load.lock import MeasurementLock
lock = MeasurementLock(Path(sys.argv[1]))
lock.acquire("other process")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
lock.release()
"""


def hold_elsewhere(path: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_another_process_waits_until_released(tmp_path: Path) -> None:
    path = tmp_path / "load.lock"
    holder = hold_elsewhere(path, 1.0)
    try:
        lock = MeasurementLock(path, timeout=10)
        waited = lock.acquire("me")
        try:
            assert waited >= 0.5
            assert "me" in lock.holder()
        finally:
            lock.release()
    finally:
        holder.wait(10)


def test_waiting_is_bounded_and_names_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "load.lock"
    holder = hold_elsewhere(path, 5.0)
    try:
        with pytest.raises(ReadinessTimeout) as caught:
            MeasurementLock(path, timeout=0.5).acquire("me")
        assert "held by pid" in str(caught.value) and "other process" in str(caught.value)
    finally:
        holder.kill()
        holder.wait(5)


def test_reentrant_in_one_process_and_exclusive_between_threads(tmp_path: Path) -> None:
    path = tmp_path / "load.lock"
    order: list[str] = []
    with exclusive_measurement("drill", path=path) as outer:
        with exclusive_measurement("k6 inside the drill", path=path):
            assert outer.held

        def other() -> None:
            with exclusive_measurement("other thread", path=path):
                order.append("other")

        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.2)
        order.append("first")
    thread.join(5)
    assert order == ["first", "other"]
    assert not MeasurementLock(path).held


def test_a_dead_holder_leaves_it_free(tmp_path: Path) -> None:
    path = tmp_path / "load.lock"
    holder = hold_elsewhere(path, 30.0)
    holder.kill()
    holder.wait(5)
    assert MeasurementLock(path, timeout=2).acquire("me") < 2
    MeasurementLock(path).release()
