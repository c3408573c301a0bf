"""Services someone else started, reached by their endpoints (`pytest --harness-attach`).

The same client surface as the started ones (dsn/url/endpoint_url/client(), template
databases, flushall, buckets), already running: start() is a no-op, stop() stops nothing.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from harness._wait import Deadline, wait_until
from harness.errors import ConfigurationError
from harness.lifecycle import Lifecycle
from harness.services.aws import AwsService
from harness.services.postgres import PostgresService
from harness.services.redis import RedisService

__all__ = ["AttachedAws", "AttachedPostgres", "AttachedRedis"]


def _split(url: str, schemes: tuple[str, ...], what: str) -> urllib.parse.SplitResult:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in schemes or not parsed.hostname or parsed.port is None:
        raise ConfigurationError(
            f"{what} URL {parsed.scheme}://{parsed.hostname}:{parsed.port}: expected "
            f"{schemes[0]}://host:port"
        )
    return parsed


class AttachedPostgres(PostgresService):
    """A running PostgreSQL given by its DSN (postgresql://user:password@host:port/db)."""

    kind = "postgres (attached)"

    def __init__(self, dsn: str, *, name: str = "attached") -> None:
        parsed = _split(dsn, ("postgresql", "postgres"), "PostgreSQL")
        super().__init__(
            user=urllib.parse.unquote(parsed.username or "postgres"),
            password=urllib.parse.unquote(parsed.password or ""),
            dbname=urllib.parse.unquote(parsed.path.lstrip("/") or "postgres"),
            port=parsed.port,
            name=name,
        )
        self._host = parsed.hostname or "127.0.0.1"
        self.state = Lifecycle.RUNNING  # someone else's: nothing to start or stop here


class AttachedRedis(RedisService):
    """A running Redis given by its URL (redis://[:password@]host:port/db)."""

    kind = "redis (attached)"

    def __init__(self, url: str, *, name: str = "attached") -> None:
        parsed = _split(url, ("redis",), "Redis")
        super().__init__(name, password=urllib.parse.unquote(parsed.password or "") or None)
        self._attached_host = parsed.hostname or "127.0.0.1"
        self._attached_port = int(parsed.port or 6379)
        self.state = Lifecycle.RUNNING

    @property
    def host(self) -> str:
        return self._attached_host

    @property
    def port(self) -> int:
        return self._attached_port

    def _wait(self, check: Callable[[], object], deadline: Deadline, condition: str) -> None:
        wait_until(check, deadline=deadline, service=self.label, endpoint=self.endpoint,
                   condition=condition)  # fmt: skip


class AttachedAws(AwsService):
    """A running AWS emulator (moto, LocalStack) given by its endpoint URL."""

    kind = "aws (attached)"

    def __init__(self, endpoint_url: str, *, region: str, name: str = "attached") -> None:
        _split(endpoint_url, ("http", "https"), "AWS endpoint")
        super().__init__(name, region=region)
        self._endpoint_url = endpoint_url.rstrip("/")
        self.state = Lifecycle.RUNNING

    @property
    def endpoint_url(self) -> str:
        return self._endpoint_url

    def reset(self) -> None:
        raise ConfigurationError(
            f"{self.label}: an attached emulator is shared with whoever started it; "
            "it is not reset from here"
        )

    def _wait(self, check: Callable[[], object], deadline: Deadline, condition: str) -> None:
        wait_until(check, deadline=deadline, service=self.label, endpoint=self.endpoint,
                   condition=condition)  # fmt: skip
