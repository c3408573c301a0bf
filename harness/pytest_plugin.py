"""The pytest plugin: --harness-backend, --harness-attach, session-scoped services and
environments, and cheap per-test isolation.

Session fixtures start one PostgreSQL, Redis and AWS emulator per xdist worker, and
`staging` one staging Environment; with `--harness-attach[=PATH]` they all resolve to the
environment recorded in .harness/env.json (by `harness up`) instead, and nothing is started.
Per-test fixtures hand out a fresh database cloned from a template, a flushed Redis and a
new bucket. `postgres_fixture`, `redis_fixture` and `aws_fixture` build more services.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness import settings
from harness.backends import BACKEND_ENV, Backend, resolve_backend
from harness.errors import NoEnvironmentError, UnknownBackendError

if TYPE_CHECKING:
    import psycopg
    import redis as redis_lib

    from harness.attach import AttachedEnvironment
    from harness.environment import EnvironmentAccess
    from harness.services.aws import AwsService
    from harness.services.postgres import PostgresService
    from harness.services.redis import RedisService

__all__ = [
    "STAGING_TIME_SCALE",
    "IsolatedDatabase",
    "attached_environment",
    "aws_fixture",
    "postgres_fixture",
    "redis_fixture",
    "worker_id",
]

#: the `staging` fixture's time scale: probe periods and deadlines 10x shorter
STAGING_TIME_SCALE = 0.1


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "local environment harness")
    group.addoption(
        "--harness-backend",
        default=None,
        help=f"where services run: local (default) or docker; env {BACKEND_ENV} sets the default",
    )
    group.addoption(
        "--harness-attach",
        nargs="?",
        const=".harness/env.json",
        default=None,
        metavar="PATH",
        help="run against the environment `harness up` recorded in PATH (default "
        ".harness/env.json) instead of starting one; write it as --harness-attach=PATH",
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
    attach = config.getoption("--harness-attach")
    if attach is not None:
        config.stash[_ATTACHED_KEY] = _attach(config, str(attach))


def _attach(config: pytest.Config, given: str) -> AttachedEnvironment:
    from harness.attach import DEFAULT_ENV_FILE, AttachedEnvironment

    path = Path(given)
    if not path.is_absolute():
        path = Path(config.invocation_params.dir) / path
    if path.is_dir():
        if not (path / DEFAULT_ENV_FILE).is_file():
            raise pytest.UsageError(
                f"--harness-attach {given}: a directory without {DEFAULT_ENV_FILE}; give the "
                "record as --harness-attach=PATH (with '=': a bare --harness-attach followed "
                "by a test path takes that path as the record)"
            )
        path = path / DEFAULT_ENV_FILE
    try:
        return AttachedEnvironment.from_file(path)
    except NoEnvironmentError as exc:
        raise pytest.UsageError(f"--harness-attach: {exc}") from None


def pytest_sessionstart(session: pytest.Session) -> None:
    # Leftovers of runs whose owner died (a SIGKILLed pytest) are cleaned once, by the
    # controller, before any worker claims ports.
    if hasattr(session.config, "workerinput") or settings.skip_stale_cleanup():
        return
    from harness._reaper import reap_stale

    report = reap_stale()
    if report.runs:
        session.config.stash[_CLEANED_KEY] = str(report)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"harness backend: {config.stash.get(_BACKEND_KEY, Backend.LOCAL)}"]
    attached = config.stash.get(_ATTACHED_KEY, None)
    if attached is not None and attached.record is not None:
        lines.append(
            f"harness: attached to {attached.name} (harness up pid {attached.record.pid}, "
            f"{attached.record.path}): nothing is started or stopped"
        )
    cleaned = config.stash.get(_CLEANED_KEY, None)
    if cleaned:
        lines.append(f"harness: leftovers of dead runs: {cleaned}")
    return lines


_BACKEND_KEY = pytest.StashKey[Backend]()
_CLEANED_KEY = pytest.StashKey[str]()
_ATTACHED_KEY = pytest.StashKey["AttachedEnvironment"]()


def attached_environment(config: pytest.Config) -> AttachedEnvironment | None:
    """The environment --harness-attach named, or None when the session starts its own."""
    return config.stash.get(_ATTACHED_KEY, None)


def worker_id() -> str:
    """The xdist worker ("gw0", "gw1") or "main": suffix for every name a test makes."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def harness_backend(pytestconfig: pytest.Config) -> Backend:
    return pytestconfig.stash.get(_BACKEND_KEY, Backend.LOCAL)


# -- factories ---------------------------------------------------------------------------


def _service_fixture(public_class: str, scope: Any, options: dict[str, Any]) -> Callable[..., Any]:
    """A fixture starting `public_class` ("module:Class", imported on first use so the
    plugin stays light) with `options` on the session's backend, stopped afterwards."""

    @pytest.fixture(scope=scope)
    def _service(harness_backend: Backend) -> Iterator[Any]:
        module, _, name = public_class.partition(":")
        service_class = getattr(importlib.import_module(module), name)
        with service_class(backend=harness_backend, **options) as service:
            yield service

    return _service


def postgres_fixture(scope: Any = "session", **options: Any) -> Callable[..., Any]:
    """A fixture starting a PostgresService(**options) on the session's backend."""
    return _service_fixture("harness.services.postgres:PostgresService", scope, options)


def redis_fixture(scope: Any = "session", **options: Any) -> Callable[..., Any]:
    """A fixture starting a RedisService(**options) on the session's backend."""
    return _service_fixture("harness.services.redis:RedisService", scope, options)


def aws_fixture(scope: Any = "session", **options: Any) -> Callable[..., Any]:
    """A fixture starting an AwsService(**options) on the session's backend."""
    return _service_fixture("harness.services.aws:AwsService", scope, options)


_started_postgres = postgres_fixture()
_started_redis = redis_fixture()
_started_aws = aws_fixture()


@pytest.fixture(scope="session")
def harness_postgres(request: pytest.FixtureRequest) -> PostgresService:
    """The session's PostgreSQL: started here, or the attached environment's."""
    attached = attached_environment(request.config)
    if attached is not None:
        return attached.postgres
    service: PostgresService = request.getfixturevalue("_started_postgres")
    return service


@pytest.fixture(scope="session")
def harness_redis(request: pytest.FixtureRequest) -> RedisService:
    """The session's Redis: started here, or the attached environment's."""
    attached = attached_environment(request.config)
    if attached is not None:
        return attached.redis
    service: RedisService = request.getfixturevalue("_started_redis")
    return service


@pytest.fixture(scope="session")
def harness_aws(request: pytest.FixtureRequest) -> AwsService:
    """The session's AWS emulator: started here, or the attached environment's."""
    attached = attached_environment(request.config)
    if attached is not None:
        return attached.aws
    service: AwsService = request.getfixturevalue("_started_aws")
    return service


@pytest.fixture(scope="session")
def staging(request: pytest.FixtureRequest) -> Iterator[EnvironmentAccess]:
    """The staging environment from infrastructure/, on the local backend at time scale 0.1,
    once per session (per xdist worker); with --harness-attach, the attached one.

    A handle with `.endpoints`, `.kubectl(...)`, `.api_client()`, `.app_request(...)`,
    `.aws_client(...)`, `.postgres_dsn`, `.redis_url`, `.app_url` and `.namespace`.
    """
    attached = attached_environment(request.config)
    if attached is not None:
        if attached.name != "staging":
            pytest.fail(
                f"--harness-attach: {attached.record.path if attached.record else 'the record'} "
                f"holds the {attached.name} environment; the `staging` fixture needs staging "
                "(harness up --env staging)",
                pytrace=False,
            )
        yield attached
        return
    from harness.environment import Environment
    from harness.topology import load_topology

    environment = Environment(
        load_topology("staging"),
        Backend.LOCAL,  # a whole environment (its cluster) runs on the local backend only
        time_scale=STAGING_TIME_SCALE,
        name=f"staging-{_slug(worker_id(), 12)}",
    )
    with environment:
        yield environment


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
def harness_database_template(harness_postgres: PostgresService) -> Iterator[str]:
    """The template each test's database is cloned from. Override it to load a schema once.
    Named per session (an attached server outlives sessions), dropped at the end."""
    name = f"harness_template_{_slug(worker_id(), 12)}_{uuid.uuid4().hex[:8]}"
    harness_postgres.create_database(name)
    yield name
    with contextlib.suppress(Exception):  # the server may be gone with the session's end
        harness_postgres.drop_database(name)


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
    if harness_aws.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:  # an attached environment's region, say
        s3.create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": harness_aws.region},  # type: ignore[typeddict-item]
        )
    yield name
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=name, Key=version["Key"], VersionId=version["VersionId"])
    s3.delete_bucket(Bucket=name)
