"""A running environment's record (.harness/env.json) and the handle that attaches to it.

`harness up` writes the record (mode 0600: it holds the database password); `harness down`,
`harness status` and `pytest --harness-attach` read it and reach the environment through it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness._run import owner_alive, owner_token
from harness.environment import Endpoints, EnvironmentAccess
from harness.errors import ConfigurationError, NoEnvironmentError

if TYPE_CHECKING:
    from harness.services.attached import AttachedAws, AttachedPostgres, AttachedRedis

__all__ = [
    "DEFAULT_ENV_FILE",
    "AttachedEnvironment",
    "EnvironmentRecord",
    "read_record",
    "remove_record",
    "running_record",
    "write_record",
]

#: where `harness up` writes its record, relative to the directory it runs in
DEFAULT_ENV_FILE = Path(".harness") / "env.json"
_FORMAT = 1


@dataclass(frozen=True)
class EnvironmentRecord:
    """What `harness up` leaves for others: who runs the environment and its endpoints."""

    path: Path
    pid: int
    owner: str  # "pid:start-time" of the `harness up` process: a recycled pid is not alive
    run_id: str
    started_at: float  # time.time()
    endpoints: Endpoints
    components: dict[str, int | None]  # component -> server pid

    def alive(self) -> bool:
        return owner_alive(self.owner)

    def document(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "pid": self.pid,
            "owner": self.owner,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "components": self.components,
            "endpoints": json.loads(self.endpoints.to_json()),
            "exports": self.endpoints.exports(),
        }


def write_record(
    path: Path, endpoints: Endpoints, *, run_id: str, components: dict[str, int | None]
) -> EnvironmentRecord:
    """Write the record of this process' environment atomically, mode 0600 from the start."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    record = EnvironmentRecord(
        path=path.resolve(),
        pid=os.getpid(),
        owner=owner_token(os.getpid()),
        run_id=run_id,
        started_at=time.time(),
        endpoints=endpoints,
        components=components,
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record.document(), handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    return record


def read_record(path: Path) -> EnvironmentRecord:
    """The record at `path`, alive or not; NoEnvironmentError when missing or unreadable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NoEnvironmentError(str(path), "does not exist") from None
    except OSError as exc:
        raise NoEnvironmentError(str(path), f"cannot be read ({exc.strerror})") from exc
    try:
        data = json.loads(text)
        endpoints = Endpoints.from_json(text)
        return EnvironmentRecord(
            path=path.resolve(),
            pid=int(data["pid"]),
            owner=str(data["owner"]),
            run_id=str(data.get("run_id", "")),
            started_at=float(data.get("started_at", 0.0)),
            endpoints=endpoints,
            components=dict(data.get("components") or {}),
        )
    except (ValueError, KeyError, TypeError, ConfigurationError) as exc:
        raise NoEnvironmentError(
            str(path), f"is not an environment record written by `harness up` ({exc})"
        ) from exc


def running_record(path: Path) -> EnvironmentRecord:
    """The record at `path` if the process that wrote it still runs; else NoEnvironmentError
    (a stale record names the dead pid)."""
    record = read_record(path)
    if not record.alive():
        raise NoEnvironmentError(
            str(path), f"is stale: the `harness up` that wrote it (pid {record.pid}) is gone"
        )
    return record


def remove_record(path: Path, pid: int | None = None) -> bool:
    """Remove the record (only if `pid` wrote it, when given); True when removed."""
    path = Path(path)
    if pid is not None:
        try:
            if int(json.loads(path.read_text(encoding="utf-8")).get("pid", -1)) != pid:
                return False
        except (OSError, ValueError):
            return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


class AttachedEnvironment(EnvironmentAccess):
    """An environment started elsewhere (`harness up`, another launcher), reached by its
    endpoints. Nothing is started or stopped from here."""

    def __init__(self, endpoints: Endpoints, record: EnvironmentRecord | None = None) -> None:
        self._endpoints = endpoints
        self.record = record
        self._postgres: AttachedPostgres | None = None
        self._redis: AttachedRedis | None = None
        self._aws: AttachedAws | None = None

    @classmethod
    def from_file(cls, path: Path = DEFAULT_ENV_FILE) -> AttachedEnvironment:
        """Attach to the environment recorded at `path`; NoEnvironmentError when none runs."""
        record = running_record(path)
        return cls(record.endpoints, record)

    @property
    def endpoints(self) -> Endpoints:
        return self._endpoints

    @property
    def name(self) -> str:
        return self._endpoints.environment

    @property
    def postgres(self) -> AttachedPostgres:
        from harness.services.attached import AttachedPostgres

        if self._postgres is None:
            self._postgres = AttachedPostgres(self._endpoints.postgres_dsn)
        return self._postgres

    @property
    def redis(self) -> AttachedRedis:
        from harness.services.attached import AttachedRedis

        if self._redis is None:
            self._redis = AttachedRedis(self._endpoints.redis_url)
        return self._redis

    @property
    def aws(self) -> AttachedAws:
        from harness.services.attached import AttachedAws

        if self._aws is None:
            self._aws = AttachedAws(
                self._endpoints.aws_endpoint_url, region=self._endpoints.aws_region
            )
        return self._aws

    def __repr__(self) -> str:
        return f"<AttachedEnvironment {self.name} app={self.app_url}>"
