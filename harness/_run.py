"""The run: one harness-owning process, its id, its state directories, its owner tag and the
records of the processes it started.

Every process the harness starts carries HARNESS_RUN_ID and HARNESS_RUN_OWNER in its
environment, so leftovers of a dead run can be found and reaped even after a crash. This
module only names and records; harness._reaper guards a run (`owned_run()`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import psutil

from harness import settings

RUN_ID_ENV = settings.RUN_ID.name
RUN_OWNER_ENV = settings.RUN_OWNER.name
HOME_ENV = settings.HOME.name


def state_root() -> Path:
    """Where runs, port claims and caches live: HARNESS_HOME, else ~/.cache/harness, or
    /var/tmp/harness for root (whose home the unprivileged server user cannot enter)."""
    override = settings.state_root_override()
    if override is not None:
        root = override
    elif os.geteuid() == 0:
        # Servers drop to an unprivileged user, which cannot enter root's 0700 home.
        root = Path("/var/tmp/harness")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(base) / "harness"
    root.mkdir(parents=True, exist_ok=True)
    # Unprivileged service users (postgres, pods) need to traverse into their data dirs.
    root.chmod(0o755)
    return root


def runs_dir() -> Path:
    path = state_root() / "runs"
    path.mkdir(exist_ok=True)
    path.chmod(0o755)
    return path


def cache_dir() -> Path:
    path = state_root() / "cache"
    path.mkdir(exist_ok=True)
    path.chmod(0o755)
    return path


SCRATCH_BASE = Path("/dev/shm")
SCRATCH_MIN_FREE = 512 * 1024 * 1024  # a container's 64 MB /dev/shm is not enough


def scratch_root(base: Path | None = None) -> Path | None:
    """A tmpfs folder for data that need not survive (database data directories), or None
    where /dev/shm is missing, not writable or short of room. Run folders in it carry an
    owner.json like the state root's, and the reaper removes them the same way."""
    base = SCRATCH_BASE if base is None else base
    try:
        fs = os.statvfs(base)
    except OSError:
        return None
    if not os.access(base, os.W_OK | os.X_OK) or fs.f_bavail * fs.f_frsize < SCRATCH_MIN_FREE:
        return None
    root = base / f"harness-{os.geteuid()}"
    (root / "runs").mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    (root / "runs").chmod(0o755)
    return root


def run_directories() -> list[Path]:
    """Every run folder: in the state root and in the scratch root."""
    folders = [p for p in runs_dir().iterdir() if p.is_dir()]
    scratch = scratch_root()
    if scratch is not None:
        folders.extend(p for p in (scratch / "runs").iterdir() if p.is_dir())
    return folders


def owner_token(pid: int) -> str:
    """pid plus its start time, so a recycled pid is not mistaken for a live owner."""
    try:
        started = psutil.Process(pid).create_time()
    except psutil.Error:
        started = 0.0
    return f"{pid}:{started:.2f}"


def owner_alive(token: str) -> bool:
    try:
        pid_text, started_text = token.split(":", 1)
        process = psutil.Process(int(pid_text))
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return f"{process.create_time():.2f}" == started_text
    except (ValueError, psutil.Error):
        return False


@dataclass(frozen=True)
class Run:
    """This process' run. Created lazily; a child of a harness process joins its parent's run."""

    id: str
    owner: str
    directory: Path
    owned_here: bool

    def path(self, *parts: str) -> Path:
        target = self.directory.joinpath(*parts)
        target.mkdir(parents=True, exist_ok=True)
        return target

    def scratch(self, *parts: str) -> Path | None:
        """A folder of this run on tmpfs (see scratch_root), or None where there is none."""
        root = scratch_root()
        if root is None:
            return None
        folder = root / "runs" / self.id
        if not folder.is_dir():
            folder.mkdir(mode=0o755, exist_ok=True)
            folder.chmod(0o755)
            (folder / "owner.json").write_text(json.dumps({"run_id": self.id, "owner": self.owner}))
        target = folder.joinpath(*parts)
        target.mkdir(parents=True, exist_ok=True)
        return target

    def tag_env(self) -> dict[str, str]:
        return {RUN_ID_ENV: self.id, RUN_OWNER_ENV: self.owner}


_current: Run | None = None
_lock = threading.Lock()


def current_run() -> Run:
    """The run of this process, created (with its directory) on first use. Nothing guards it
    yet: a caller that starts processes or writes data asks harness._reaper.owned_run()."""
    global _current
    with _lock:
        if _current is not None and _current.owned_here and not _owner_is_me(_current.owner):
            _current = None  # we are a fork of the owner: start a run of our own
        if _current is None:
            _current = _make_run()
        return _current


def _owner_is_me(token: str) -> bool:
    return token.split(":", 1)[0] == str(os.getpid())


def _make_run() -> Run:
    inherited = settings.inherited_run()
    if inherited is not None and owner_alive(inherited[1]):
        inherited_id, inherited_owner = inherited
        directory = runs_dir() / inherited_id
        directory.mkdir(exist_ok=True)
        return Run(inherited_id, inherited_owner, directory, owned_here=False)
    run_id = f"hr{os.getpid()}-{secrets.token_hex(3)}"
    owner = owner_token(os.getpid())
    directory = runs_dir() / run_id
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    (directory / "owner.json").write_text(json.dumps({"run_id": run_id, "owner": owner}))
    return Run(run_id, owner, directory, owned_here=True)


def read_owner(run_directory: Path) -> str | None:
    try:
        data = json.loads((run_directory / "owner.json").read_text())
    except (OSError, ValueError):
        return None
    owner = data.get("owner")
    return owner if isinstance(owner, str) else None


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def record_pid(run: Run, pid: int) -> Path | None:
    """Note a started process in the run directory. Servers that rewrite their process
    title (redis, postgres) can clobber /proc/<pid>/environ and with it the run tag; the
    reaper then still finds them by this record (pid plus start time, against pid reuse)."""
    try:
        started = psutil.Process(pid).create_time()
    except psutil.Error:
        return None
    record = run.path("pids") / str(pid)
    record.write_text(f"{started:.2f}")
    return record


def recorded_processes(run_directory: Path) -> list[psutil.Process]:
    """The still-running processes recorded by `record_pid` in a run directory."""
    found = []
    for record in (run_directory / "pids").glob("*"):
        try:
            process = psutil.Process(int(record.name))
            if f"{process.create_time():.2f}" == record.read_text().strip():
                found.append(process)
        except (ValueError, OSError, psutil.Error):
            continue
    return found
