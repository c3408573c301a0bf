"""Managed processes: own group, run tag, log tail, graceful stop then kill, nothing left."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from harness._process import ManagedProcess, read_tail, service_user
from harness._run import RUN_ID_ENV, current_run
from harness.errors import BinaryNotFoundError


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_runs_in_its_own_group_with_the_run_tag(tmp_path: Path) -> None:
    process = ManagedProcess("sleeper", ["sleep", "30"], log_path=tmp_path / "s.log").start()
    try:
        assert process.pid is not None
        assert os.getpgid(process.pid) == process.pid != os.getpgid(0)
        while psutil.Process(process.pid).cmdline() != ["sleep", "30"]:
            pass  # environ is the parent's until exec
        assert psutil.Process(process.pid).environ()[RUN_ID_ENV] == current_run().id
    finally:
        process.stop()
    assert not process.is_running()


def test_output_goes_to_the_log_and_its_tail(tmp_path: Path) -> None:
    code = "for i in range(50): print(f'line {i}', flush=True)"
    process = ManagedProcess("printer", _python(code), log_path=tmp_path / "p.log").start()
    assert process.wait(10) == 0
    tail = process.log_tail(3)
    assert tail.splitlines() == ["line 47", "line 48", "line 49"]


def test_stop_is_graceful_first(tmp_path: Path) -> None:
    code = """
        import signal, sys, time
        def bye(*_):
            print('got SIGTERM', flush=True); sys.exit(0)
        signal.signal(signal.SIGTERM, bye)
        print('up', flush=True)
        time.sleep(30)
    """
    log = tmp_path / "g.log"
    process = ManagedProcess("graceful", _python(code), log_path=log).start()
    while "up" not in read_tail(log):
        pass
    assert process.stop(timeout=5) == 0
    assert "got SIGTERM" in read_tail(log)


def test_stop_kills_what_ignores_sigterm_and_its_children(tmp_path: Path) -> None:
    code = """
        import signal, subprocess, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen(['sleep', '60'])
        print(child.pid, flush=True)
        time.sleep(60)
    """
    log = tmp_path / "k.log"
    process = ManagedProcess("stubborn", _python(code), log_path=log).start()
    while not read_tail(log).strip():
        pass
    child_pid = int(read_tail(log).split()[0])
    assert process.stop(timeout=0.3) == -signal.SIGKILL
    assert not psutil.pid_exists(child_pid) or psutil.Process(child_pid).status() == "zombie"


def test_stop_is_idempotent(tmp_path: Path) -> None:
    process = ManagedProcess("once", ["true"], log_path=tmp_path / "o.log").start()
    process.wait(5)
    assert process.stop() == 0
    assert process.stop() == 0


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BinaryNotFoundError, match="no-such-server-binary"):
        ManagedProcess("ghost", ["no-such-server-binary"], log_path=tmp_path / "g.log").start()


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop only happens when root")
def test_root_drops_to_an_unprivileged_user(tmp_path: Path) -> None:
    user = service_user()
    assert user is not None and user.uid != 0
    tmp_path.chmod(0o777)
    log = tmp_path / "id.log"
    process = ManagedProcess("whoami", ["id", "-u"], log_path=log, user=user).start()
    assert process.wait(5) == 0
    assert read_tail(log).strip() == str(user.uid)
