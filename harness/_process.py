"""Managed server processes: own process group, run-id tag, log file, graceful stop, reaping.

A ManagedProcess is started in a new session (so its whole group can be signalled and a
closing terminal does not reach it), carries the run's tag in its environment, writes its
output to a log file whose tail goes into errors, and is stopped at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import signal
import stat
import subprocess
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from harness import settings
from harness._reaper import owned_run
from harness._run import record_pid
from harness._wait import Deadline, poll
from harness.errors import BinaryNotFoundError, ServiceError

__all__ = [
    "ManagedProcess",
    "ServiceUser",
    "reachable_by",
    "read_tail",
    "service_user",
]


@dataclass(frozen=True)
class ServiceUser:
    """The unprivileged account servers run as when the harness itself runs as root."""

    name: str
    uid: int
    gid: int
    home: str


def service_user(preferred: Sequence[str] = ("postgres", "nobody")) -> ServiceUser | None:
    """None when we are not root (servers then run as ourselves); else the first account found."""
    if os.geteuid() != 0:
        return None
    override = settings.service_user_override()
    for name in ([override] if override else []) + list(preferred):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return ServiceUser(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)
    raise BinaryNotFoundError(
        "an unprivileged user",
        list(preferred),
        "the harness runs as root, and servers must not: create one with "
        "`useradd --system --no-create-home harness` and set HARNESS_SERVICE_USER=harness",
    )


def reachable_by(path: Path, user: ServiceUser) -> bool:
    """Whether `user` can traverse every directory down to `path` (by mode bits, not ACLs)."""
    for directory in [path, *path.parents]:
        try:
            info = directory.stat()
        except OSError:
            return False
        if info.st_uid == user.uid:
            bit = stat.S_IXUSR
        elif info.st_gid == user.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def read_tail(path: Path, lines: int = 20, max_bytes: int = 16384) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


_live: weakref.WeakSet[ManagedProcess] = weakref.WeakSet()
_live_lock = threading.Lock()


class ManagedProcess:
    """One server process. `start()` returns at once; readiness is the service's business."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: ServiceUser | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.extra_env = dict(env or {})
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self._popen: subprocess.Popen[bytes] | None = None
        self._record: Path | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> ManagedProcess:
        if self._popen is not None:
            raise RuntimeError(f"{self.name} was already started")
        env = dict(os.environ)
        env.update(self.extra_env)
        run = owned_run()
        env.update(run.tag_env())
        if self.user is not None:
            env.update(HOME=self.user.home or "/", USER=self.user.name, LOGNAME=self.user.name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
                user=self.user.uid if self.user else None,
                group=self.user.gid if self.user else None,
                extra_groups=[] if self.user else None,
            )
        except FileNotFoundError as exc:
            raise BinaryNotFoundError(self.argv[0], [], f"cannot start {self.name}") from exc
        finally:
            log.close()
        self.started_at = time.monotonic()
        self._record = record_pid(run, self._popen.pid)
        with _live_lock:
            _live.add(self)
        return self

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""
        return self._popen.poll() if self._popen else None

    def is_running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        return read_tail(self.log_path, lines)

    def signal_group(self, sig: signal.Signals) -> None:
        """Signal the whole process group, never someone else's: while the leader is not
        reaped its id is reserved; once it is, only while a member of the group lives
        (Linux reuses ids, and every managed process leads a group of its own)."""
        if self._popen is None:
            return
        pgid = self._popen.pid
        if self._popen.returncode is not None and not _group_members(pgid):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def stop(self, timeout: float = 10.0) -> int | None:
        """Graceful stop of the whole group, then SIGKILL. Idempotent; returns the exit code."""
        popen = self._popen
        if popen is None:
            return None
        try:
            if popen.returncode is None:
                # The leader is signalled and waited for without being reaped, so its id
                # (and with it the group's) stays reserved until the group is killed.
                if not _exits_within(popen.pid, 0):
                    self.signal_group(self.stop_signal)
                    if not _exits_within(popen.pid, timeout):
                        self.signal_group(signal.SIGKILL)
                        _exits_within(popen.pid, 5.0)
                # Children left in the group (forked workers) go too.
                self.signal_group(signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    popen.wait(5)
            else:
                self.signal_group(signal.SIGKILL)
            _wait_group_gone(popen.pid, timeout=2.0)
            return popen.returncode
        finally:
            if self._record is not None:
                self._record.unlink(missing_ok=True)
            with _live_lock:
                _live.discard(self)

    def wait(self, timeout: float | None = None) -> int:
        if self._popen is None:
            raise ServiceError(f"{self.name} was never started", service=self.name)
        return self._popen.wait(timeout)

    def __repr__(self) -> str:
        return f"<ManagedProcess {self.name} pid={self.pid} running={self.is_running()}>"


def _group_members(pgid: int) -> list[int]:
    members = []
    for pid in psutil.pids():
        try:
            if os.getpgid(pid) == pgid and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                members.append(pid)
        except (OSError, psutil.Error):
            continue
    return members


def _exits_within(pid: int, timeout: float) -> bool:
    """Whether our child `pid` has exited (now or within `timeout`), without reaping it."""

    def exited() -> bool:
        try:
            return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True  # reaped already (by Popen.poll): it has exited

    return poll(exited, deadline=Deadline.after(timeout), interval=0.01, max_interval=0.01).done


def _wait_group_gone(pgid: int, timeout: float) -> None:
    """Wait (bounded) until no live process is left in the group: SIGKILL is delivered
    asynchronously, and callers count on nothing of theirs running once stop() returns."""
    poll(
        lambda: not _group_members(pgid),
        deadline=Deadline.after(timeout),
        interval=0.01,
        max_interval=0.01,
    )


def stop_all(timeout: float = 5.0) -> None:
    """Stop every process this interpreter still owns (atexit)."""
    with _live_lock:
        processes = list(_live)
    for process in processes:
        with contextlib.suppress(Exception):
            process.stop(timeout)


atexit.register(stop_all)
