"""Every HARNESS_* environment variable: its name, its meaning and its typed reading, here only.

The rest of the harness asks this module (`settings.pg_version()`, `settings.reports_root()`)
and never reads os.environ for a HARNESS_* name itself. Each reading happens when asked, so
a variable changed by a test or a parent process takes effect at once. `SETTINGS` lists
them all; README.md's configuration table is checked against it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigurationError

__all__ = [
    "BACKEND",
    "HOME",
    "K6",
    "KUBECTL",
    "LOAD_LOCK",
    "NO_REAPER",
    "PG_IN_MEMORY",
    "PG_VERSION",
    "REDIS_SERVER",
    "REPORTS_DIR",
    "RUN_ID",
    "RUN_OWNER",
    "SERVICE_USER",
    "SETTINGS",
    "SKIP_STALE_CLEANUP",
    "Setting",
    "backend_name",
    "inherited_run",
    "k6_override",
    "kubectl_override",
    "load_lock_path",
    "pg_in_memory",
    "pg_version",
    "reaper_disabled",
    "redis_server_override",
    "reports_root",
    "service_user_override",
    "skip_stale_cleanup",
    "state_root_override",
]


@dataclass(frozen=True)
class Setting:
    """One environment variable the harness reads."""

    name: str
    meaning: str
    default: str

    def raw(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The variable's text with surrounding blanks removed; None when unset or empty."""
        value = (os.environ if environ is None else environ).get(self.name, "").strip()
        return value or None

    def __str__(self) -> str:
        return self.name


BACKEND = Setting("HARNESS_BACKEND", "where services run: `local` or `docker`", "local")
HOME = Setting(
    "HARNESS_HOME",
    "state root: runs, port claims, caches",
    "~/.cache/harness; /var/tmp/harness as root",
)
K6 = Setting("HARNESS_K6", "the k6 binary, when none is on PATH", "PATH, then the `k6` package")
KUBECTL = Setting(
    "HARNESS_KUBECTL", "the kubectl binary to use", "the server's minor, else the newest found"
)
LOAD_LOCK = Setting(
    "HARNESS_LOAD_LOCK",
    "the machine-wide lock file that keeps load measurements apart",
    "harness-load.lock in the system's temporary folder",
)
NO_REAPER = Setting(
    "HARNESS_NO_REAPER", "`1`: start no reaper process for the run (tests of the reaper)", "unset"
)
PG_IN_MEMORY = Setting(
    "HARNESS_PG_IN_MEMORY",
    "PostgreSQL data on tmpfs: `1`/`0`, or `auto` (where /dev/shm has room)",
    "auto",
)
PG_VERSION = Setting("HARNESS_PG_VERSION", "the PostgreSQL major version to run", "the newest")
REDIS_SERVER = Setting("HARNESS_REDIS_SERVER", "the redis-server binary", "redis-server on PATH")
REPORTS_DIR = Setting(
    "HARNESS_REPORTS_DIR", "where failure reports and load reports go", "./reports"
)
RUN_ID = Setting(
    "HARNESS_RUN_ID", "set by the harness in every process it starts: the run it belongs to", ""
)
RUN_OWNER = Setting(
    "HARNESS_RUN_OWNER", "set with HARNESS_RUN_ID: the run owner's pid and start time", ""
)
SERVICE_USER = Setting(
    "HARNESS_SERVICE_USER", "as root: the account servers run as", "postgres, else nobody"
)
SKIP_STALE_CLEANUP = Setting(
    "HARNESS_SKIP_STALE_CLEANUP",
    "any value: pytest does not reap the leftovers of dead runs at start",
    "unset",
)

SETTINGS: tuple[Setting, ...] = (
    BACKEND,
    HOME,
    K6,
    KUBECTL,
    LOAD_LOCK,
    NO_REAPER,
    PG_IN_MEMORY,
    PG_VERSION,
    REDIS_SERVER,
    REPORTS_DIR,
    RUN_ID,
    RUN_OWNER,
    SERVICE_USER,
    SKIP_STALE_CLEANUP,
)


def backend_name() -> str | None:
    """HARNESS_BACKEND as written (resolve_backend checks it), or None."""
    return BACKEND.raw()


def state_root_override() -> Path | None:
    value = HOME.raw()
    return Path(value) if value else None


def k6_override() -> str | None:
    return K6.raw()


def kubectl_override() -> str | None:
    return KUBECTL.raw()


def load_lock_path() -> Path:
    """HARNESS_LOAD_LOCK, else harness-load.lock in the system's temporary directory:
    machine-wide on purpose (not under HARNESS_HOME, which tests may point elsewhere)."""
    value = LOAD_LOCK.raw()
    return Path(value) if value else Path(tempfile.gettempdir()) / "harness-load.lock"


def reaper_disabled() -> bool:
    return NO_REAPER.raw() == "1"


def pg_in_memory() -> bool | None:
    """True or False when HARNESS_PG_IN_MEMORY says so; None for unset or `auto`."""
    value = (PG_IN_MEMORY.raw() or "").lower()
    if value in ("", "auto"):
        return None
    return value not in ("0", "false", "no", "off")


def pg_version() -> int | None:
    """The major version HARNESS_PG_VERSION asks for (`15` or `15.4`), or None."""
    value = PG_VERSION.raw()
    if value is None:
        return None
    try:
        return int(value.split(".")[0])
    except ValueError:
        raise ConfigurationError(
            f"{PG_VERSION}={value!r} is not a PostgreSQL major version (for example 15)"
        ) from None


def redis_server_override() -> str | None:
    return REDIS_SERVER.raw()


def reports_root() -> Path:
    """HARNESS_REPORTS_DIR, else reports/ in the working directory."""
    return Path(REPORTS_DIR.raw() or "reports")


def inherited_run() -> tuple[str, str] | None:
    """(run id, owner token) a parent harness process handed down, or None."""
    run_id, owner = RUN_ID.raw(), RUN_OWNER.raw()
    return (run_id, owner) if run_id and owner else None


def service_user_override() -> str | None:
    return SERVICE_USER.raw()


def skip_stale_cleanup() -> bool:
    return SKIP_STALE_CLEANUP.raw() is not None
