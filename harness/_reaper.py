"""Crash safety without Docker: Ryuk's idea as a small process per run.

The reaper holds the read end of a pipe whose write end only the run's owner has. When
the owner dies for any reason (SIGKILL, closed terminal, normal exit) the pipe closes and
the reaper kills every process tagged with the run id and removes the run's directory.
`reap_stale()` does the same for runs whose owner is gone; `harness cleanup` calls it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from harness import settings
from harness._run import (
    RUN_ID_ENV,
    RUN_OWNER_ENV,
    Run,
    current_run,
    owner_alive,
    read_owner,
    recorded_processes,
    remove_tree,
    run_directories,
    scratch_root,
)
from harness.ports import claim_locks

__all__ = [
    "CleanupReport",
    "owned_run",
    "reap_run",
    "reap_stale",
    "start_reaper",
    "tagged_processes",
]

_pipe_write_end: int | None = None
_guarded: set[str] = set()
_guard_lock = threading.Lock()


def owned_run() -> Run:
    """This process' run, guarded: the first call for a run this process owns starts its
    reaper (unless HARNESS_NO_REAPER=1). A run joined from a parent is its parent's to guard.
    Everything that starts a process or writes run data asks for the run here."""
    run = current_run()
    if not run.owned_here or settings.reaper_disabled():
        return run
    with _guard_lock:
        if run.id not in _guarded:
            start_reaper(run)
            _guarded.add(run.id)
    return run


def start_reaper(run: Run) -> None:
    """Start the reaper of `run`; the pipe's write end stays open until this process exits."""
    global _pipe_write_end
    read_end, write_end = os.pipe()  # both non-inheritable: no other child keeps it open
    env = {k: v for k, v in os.environ.items() if k not in (RUN_ID_ENV, RUN_OWNER_ENV)}
    try:
        subprocess.Popen(
            [sys.executable, "-m", "harness._reaper", run.id, str(run.directory)],
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=(run.directory / "reaper.log").open("ab"),
            start_new_session=True,
            env=env,
        )
    finally:
        os.close(read_end)
    _pipe_write_end = write_end


def tagged_processes(run_id: str | None = None) -> dict[str, list[psutil.Process]]:
    """Processes carrying a run tag, by run id (only `run_id` when given)."""
    found: dict[str, list[psutil.Process]] = {}
    me = os.getpid()
    for process in psutil.process_iter():
        if process.pid == me:
            continue
        try:
            environ = process.environ()
        except (psutil.Error, OSError):
            continue
        tag = environ.get(RUN_ID_ENV)
        if tag is None or (run_id is not None and tag != run_id):
            continue
        found.setdefault(tag, []).append(process)
    return found


def _owner_of(process: psutil.Process) -> str | None:
    try:
        return process.environ().get(RUN_OWNER_ENV)
    except (psutil.Error, OSError):
        return None


def _kill(processes: list[psutil.Process], grace: float) -> int:
    """SIGTERM the process groups, wait `grace`, SIGKILL what is left. Returns how many."""
    groups: set[int] = set()
    for process in processes:
        with contextlib.suppress(psutil.Error, OSError):
            # is_running() compares start times: a pid reused since the scan is not ours.
            if process.is_running():
                groups.add(os.getpgid(process.pid))
    own_group = os.getpgid(0)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups - {own_group}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, sig)
        for process in processes:
            with contextlib.suppress(psutil.Error, OSError):
                process.send_signal(sig)
        _, alive = psutil.wait_procs(processes, timeout=grace if sig is signal.SIGTERM else 2.0)
        if not alive:
            break
        processes = alive
    return len(groups)


@dataclass
class CleanupReport:
    runs: list[str] = field(default_factory=list)
    processes: int = 0
    directories: int = 0
    port_claims: int = 0

    def __str__(self) -> str:
        if not (self.runs or self.processes or self.directories or self.port_claims):
            return "nothing to clean"
        return (
            f"cleaned {len(self.runs)} run(s) {' '.join(self.runs)}: "
            f"{self.processes} process(es) killed, {self.directories} director(y/ies) removed, "
            f"{self.port_claims} stale port or slot claim(s)"
        )


def _run_processes(
    run_id: str, directory: Path | None, tagged: list[psutil.Process]
) -> list[psutil.Process]:
    """Tagged processes plus those recorded in the run directory, without duplicates."""
    by_pid = {p.pid: p for p in tagged}
    if directory is not None and directory.is_dir():
        for process in recorded_processes(directory):
            by_pid.setdefault(process.pid, process)
    by_pid.pop(os.getpid(), None)
    return list(by_pid.values())


def reap_run(run_id: str, directory: Path | None, grace: float = 3.0) -> CleanupReport:
    report = CleanupReport(runs=[run_id])
    processes = _run_processes(run_id, directory, tagged_processes(run_id).get(run_id, []))
    report.processes = len(processes)
    if processes:
        _kill(processes, grace)
    scratch = scratch_root()
    folders = [directory, scratch / "runs" / run_id if scratch else None]
    for folder in folders:
        if folder is not None and folder.exists():
            remove_tree(folder)
            report.directories += 1
    return report


def reap_stale(grace: float = 3.0) -> CleanupReport:
    """Reap every run whose owner is dead: its processes, its directory, its port claims."""
    report = CleanupReport()
    by_run = tagged_processes()
    dead: dict[str, list[psutil.Process]] = {}
    for run_id, processes in by_run.items():
        owners = {_owner_of(p) for p in processes} - {None}
        if not any(owner_alive(owner) for owner in owners if owner):
            dead[run_id] = processes
    dead_directories: list[Path] = []
    for directory in run_directories():
        owner = read_owner(directory)
        if owner is not None and owner_alive(owner):
            continue
        if owner is None and time.time() - directory.stat().st_mtime < 60:
            continue  # being created right now
        if directory.name in by_run and directory.name not in dead:
            continue
        dead_directories.append(directory)
        dead[directory.name] = _run_processes(
            directory.name, directory, dead.get(directory.name, [])
        )
    for run_id, processes in dead.items():
        report.runs.append(run_id)
        report.processes += len(processes)
        if processes:
            _kill(processes, grace)
    for directory in dead_directories:
        remove_tree(directory)
        report.directories += 1
    for lock in claim_locks():
        with contextlib.suppress(OSError):
            holder = lock.read_text().strip()
            if holder and not owner_alive(holder):
                lock.unlink()
                report.port_claims += 1
    return report


def _main(argv: list[str]) -> int:
    run_id, directory = argv[0], Path(argv[1])
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        while os.read(0, 4096):
            pass
    report = reap_run(run_id, directory)
    if report.processes:
        print(f"reaper: run {run_id}: {report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
