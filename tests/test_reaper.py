"""Crash safety: a run whose owner dies leaves nothing behind, by reaper or by `harness cleanup`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness._reaper import reap_stale, tagged_processes

# Cleanup reaps every dead run on the machine, so tests that make dead runs or clean them
# share one xdist worker (make test runs --dist loadgroup): none reaps another's on purpose.
pytestmark = pytest.mark.xdist_group("reaper")

# An owner that starts two tagged server-like processes, reports, then waits to be killed.
OWNER = textwrap.dedent(
    """
    import sys, time
    from harness._process import ManagedProcess
    from harness._run import current_run
    run = current_run()
    for name in ("one", "two"):
        ManagedProcess(name, ["sleep", "120"], log_path=run.path("logs") / f"{name}.log").start()
    print(run.id, run.directory, flush=True)
    time.sleep(120)
    """
)


def _start_owner(env: dict[str, str]) -> tuple[subprocess.Popen[str], str, Path]:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True, env=env
    )
    assert owner.stdout is not None
    run_id, directory = owner.stdout.readline().split()
    return owner, run_id, Path(directory)


def _wait_gone(run_id: str, directory: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not tagged_processes(run_id) and not directory.exists():
            return
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} left {tagged_processes(run_id)} / {directory.exists()}")


@pytest.fixture
def home_env() -> Iterator[dict[str, str]]:
    # Not under tmp_path: pytest's 0700 temp root is out of reach of the unprivileged
    # server user when the tests run as root.
    home = Path(tempfile.mkdtemp(prefix="harness-test-home-", dir="/var/tmp"))
    home.chmod(0o755)
    env = dict(os.environ)
    env["HARNESS_HOME"] = str(home)
    yield env
    shutil.rmtree(home, ignore_errors=True)


def test_reaper_cleans_up_after_a_sigkilled_owner(home_env: dict[str, str]) -> None:
    owner, run_id, directory = _start_owner(home_env)
    assert len(tagged_processes(run_id)[run_id]) == 2 and directory.is_dir()
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    _wait_gone(run_id, directory, timeout=15)


def test_cleanup_reaps_dead_runs_without_a_reaper(
    home_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home_env["HARNESS_NO_REAPER"] = "1"
    owner, run_id, directory = _start_owner(home_env)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    time.sleep(0.3)
    assert tagged_processes(run_id), "without a reaper the processes outlive their owner"
    monkeypatch.setenv("HARNESS_HOME", home_env["HARNESS_HOME"])
    report = reap_stale(grace=1.0)
    assert run_id in report.runs and report.processes >= 2  # other dead runs may be here too
    _wait_gone(run_id, directory, timeout=5)


def test_cleanup_leaves_live_runs_alone(
    home_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, run_id, directory = _start_owner(home_env)
    try:
        # The owner's two servers, by their pid records (environ reads can fail transiently).
        servers = [psutil.Process(int(p.name)) for p in (directory / "pids").iterdir()]
        assert len(servers) == 2
        monkeypatch.setenv("HARNESS_HOME", home_env["HARNESS_HOME"])
        report = reap_stale()
        assert run_id not in report.runs
        assert all(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in servers)
        assert directory.is_dir()
    finally:
        owner.terminate()
        owner.wait()
    _wait_gone(run_id, directory, timeout=15)


SERVICES_TEST = textwrap.dedent(
    """
    import os, time
    from harness._run import current_run

    def test_hold(harness_postgres, harness_redis, harness_aws, harness_database):
        marker = os.environ["MARKER"]
        with open(marker + ".tmp", "w") as f:
            f.write(current_run().id + " " + str(current_run().directory))
        os.rename(marker + ".tmp", marker)
        time.sleep(120)
    """
)


@pytest.mark.integration
@pytest.mark.parametrize("reaper", ["with reaper", "without reaper"])
def test_sigkilled_pytest_run_leaves_nothing_after_harness_cleanup(
    tmp_path: Path, home_env: dict[str, str], reaper: str
) -> None:
    (tmp_path / "test_hold.py").write_text(SERVICES_TEST)
    marker = tmp_path / "marker"
    env = dict(home_env, MARKER=str(marker), HARNESS_SKIP_STALE_CLEANUP="1")
    if reaper == "without reaper":
        env["HARNESS_NO_REAPER"] = "1"
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        stdout=(tmp_path / "inner.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert run.poll() is None, "the inner pytest run ended early:\n" + (
            tmp_path / "inner.log"
        ).read_text()[-3000:]
        assert time.monotonic() < deadline, "services did not come up in 120 s"
        time.sleep(0.1)
    run_id, directory = marker.read_text().split()
    servers = tagged_processes(run_id)[run_id]
    names = {p.name() for p in servers}
    assert any("postgres" in n for n in names) and any("redis" in n for n in names), names
    run.send_signal(signal.SIGKILL)
    run.wait()
    cleanup = subprocess.run(
        [sys.executable, "-m", "harness.cli", "cleanup"],
        env=home_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    _wait_gone(run_id, Path(directory), timeout=15)
    assert not [p for p in servers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    if reaper == "without reaper":
        assert run_id in cleanup.stdout


def test_processes_that_lose_their_tag_are_reaped_by_their_record(
    home_env: dict[str, str],
) -> None:
    # `env -i` execs sleep with an empty environment, as a server rewriting its process
    # title can clobber /proc/<pid>/environ: only the run directory's pid record remains.
    code = OWNER.replace('["sleep", "120"]', '["env", "-i", "sleep", "120"]')
    owner = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=home_env
    )
    assert owner.stdout is not None
    run_id, directory = owner.stdout.readline().split()
    pids = [int(p.name) for p in (Path(directory) / "pids").iterdir()]
    assert len(pids) == 2
    time.sleep(0.2)
    assert not tagged_processes(run_id), "the tag is gone from the environment"
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 15
    while any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids):
        assert time.monotonic() < deadline, "untagged processes survived their owner"
        time.sleep(0.1)
    _wait_gone(run_id, Path(directory), timeout=5)
