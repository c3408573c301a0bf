"""The pytest plugin: --harness-backend, session-scoped services and cheap per-test isolation.

Session fixtures start one PostgreSQL, Redis and AWS emulator per xdist worker; per-test
fixtures hand out a fresh database cloned from a template, a flushed Redis and a new bucket.
`postgres_fixture`, `redis_fixture` and `aws_fixture` build more of them with other options.
"""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from harness.backends import BACKEND_ENV, Backend, resolve_backend
from harness.errors import UnknownBackendError

if TYPE_CHECKING:
    import psycopg
    import redis as redis_lib

    from harness.services.aws import AwsService
    from harness.services.postgres import PostgresService
    from harness.services.redis import RedisService

__all__ = ["IsolatedDatabase", "aws_fixture", "postgres_fixture", "redis_fixture", "worker_id"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "local environment harness")
    group.addoption(
        "--harness-backend",
        default=None,
        help=f"where services run: local (default) or docker; env {BACKEND_ENV} sets the default",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        backend = resolve_backend(config.getoption("--harness-backend"))
    except UnknownBackendError as exc:
        raise pytest.UsageError(str(exc)) from None
    if backend is Backend.DOCKER:
        from harness.services._docker import docker_unavailable_reason

        reason = docker_unavailable_reason()
        if reason is not None:
            raise pytest.UsageError(
                f"--harness-backend=docker needs a Docker engine: {reason}; "
                "use --harness-backend=local"
            )
    config.stash[_BACKEND_KEY] = backend


def pytest_sessionstart(session: pytest.Session) -> None:
    # Leftovers of runs whose owner died (a SIGKILLed pytest) are cleaned once, by the
    # controller, before any worker claims ports.
    if hasattr(session.config, "workerinput") or os.environ.get("HARNESS_SKIP_STALE_CLEANUP"):
        return
    from harness._reaper import reap_stale

    report = reap_stale()
    if report.runs:
        session.config.stash[_CLEANED_KEY] = str(report)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"harness backend: {config.stash.get(_BACKEND_KEY, Backend.LOCAL)}"]
    cleaned = config.stash.get(_CLEANED_KEY, None)
    if cleaned:
        lines.append(f"harness: leftovers of dead runs: {cleaned}")
    return lines


_BACKEND_KEY = pytest.StashKey[Backend]()
_CLEANED_KEY = pytest.StashKey[str]()


def worker_id() -> str:
    """The xdist worker ("gw0", "gw1") or "main": suffix for every name a test makes."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def harness_backend(pytestconfig: pytest.Config) -> Backend:
    return pytestconfig.stash.get(_BACKEND_KEY, Backend.LOCAL)


# -- factories ---------------------------------------------------------------------------


def postgres_fixture(scope: Any = "session", **options: Any) -> Callable[..., Any]:
    """A fixture starting a PostgresService(**options) on the session's backend."""

    @pytest.fixture(scope=scope)
    def _postgres(harness_backend: Backend) -> Iterator[PostgresService]:
        from harness.services.postgres import PostgresService

        with PostgresService(backend=harness_backend, **options) as service:
            yield service

    return _postgres


def redis_fixture(scope: Any = "session", **options: Any) -> Callable[..., Any]:
    """A fixture starting a RedisService(**options) on the session's backend."""

    @pytest.fixture(scope=scope)
    def _redis(harness_backend: Backend) -> Iterator[RedisService]:
        from harness.services.redis import RedisService

        with RedisService(backend=harness_backend, **options) as service:
            yield service

    return _redis


def aws_fixture(scope: Any = "session", **options: Any) -> Callable[..., Any]:
    """A fixture starting an AwsService(**options) on the session's backend."""

    @pytest.fixture(scope=scope)
    def _aws(harness_backend: Backend) -> Iterator[AwsService]:
        from harness.services.aws import AwsService

        with AwsService(backend=harness_backend, **options) as service:
            yield service

    return _aws


harness_postgres = postgres_fixture()
harness_redis = redis_fixture()
harness_aws = aws_fixture()


# -- per-test isolation ------------------------------------------------------------------

_counter = itertools.count(1)


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:limit] or "t"


@dataclass(frozen=True)
class IsolatedDatabase:
    """A database of its own for one test, cloned from the session's template."""

    name: str
    dsn: str
    service: PostgresService

    def connect(self) -> psycopg.Connection[Any]:
        return self.service.connect(dbname=self.name)


@pytest.fixture(scope="session")
def harness_database_template(harness_postgres: PostgresService) -> str:
    """The template each test's database is cloned from. Override it to load a schema once."""
    name = f"harness_template_{_slug(worker_id(), 12)}"
    harness_postgres.create_database(name)
    return name


@pytest.fixture
def harness_database(
    harness_postgres: PostgresService,
    harness_database_template: str,
    request: pytest.FixtureRequest,
) -> Iterator[IsolatedDatabase]:
    name = f"t_{_slug(worker_id(), 8)}_{next(_counter)}_{_slug(request.node.name, 30)}"
    dsn = harness_postgres.create_database(name, template=harness_database_template)
    yield IsolatedDatabase(name, dsn, harness_postgres)
    harness_postgres.drop_database(name)


@pytest.fixture
def harness_redis_db(harness_redis: RedisService) -> Iterator[redis_lib.Redis]:
    """A Redis client on a flushed server."""
    harness_redis.flushall()
    client = harness_redis.client()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def harness_bucket(harness_aws: AwsService) -> Iterator[str]:
    """A new, empty S3 bucket in the AWS emulator, removed with its objects afterwards."""
    s3 = harness_aws.client("s3")
    name = f"harness-{_slug(worker_id(), 8).replace('_', '-')}-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=name, Key=version["Key"], VersionId=version["VersionId"])
    s3.delete_bucket(Bucket=name)
