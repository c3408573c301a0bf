"""RedisService: binary lookup, URLs and backend choice without a server; then real
redis-server processes (password, flush, replica and promotion, failures) and the container."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from harness._run import RUN_ID_ENV, current_run
from harness.errors import (
    BinaryNotFoundError,
    ConfigurationError,
    DockerUnavailableError,
    HarnessError,
    PortError,
    ProcessExitedError,
    UnknownBackendError,
)
from harness.ports import claim_port, port_is_free
from harness.services._docker import docker_unavailable_reason
from harness.services.redis import (
    REDIS_SERVER_ENV,
    DockerRedis,
    LocalRedis,
    RedisService,
    find_redis_server,
    redis_url,
)

# -- without a server ----------------------------------------------------------------------


def test_missing_binary_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(REDIS_SERVER_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BinaryNotFoundError) as caught:
        RedisService().start()
    message = str(caught.value)
    assert "redis-server not found" in message
    assert str(tmp_path) in message
    assert "apt-get install redis-server" in message
    assert "make scenarios" in message and "when root" in message


def test_override_names_the_variable_when_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REDIS_SERVER_ENV, "/nonexistent/redis-server")
    with pytest.raises(BinaryNotFoundError, match=REDIS_SERVER_ENV):
        find_redis_server()


def test_override_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "my-redis"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv(REDIS_SERVER_ENV, str(fake))
    assert find_redis_server() == str(fake)


@pytest.mark.parametrize(
    ("password", "db", "expected"),
    [
        (None, 0, "redis://127.0.0.1:6400/0"),
        ("s3cret", 0, "redis://:s3cret@127.0.0.1:6400/0"),
        ("p w@d/:", 2, "redis://:p%20w%40d%2F%3A@127.0.0.1:6400/2"),
    ],
)
def test_url(password: str | None, db: int, expected: str) -> None:
    url = redis_url("127.0.0.1", 6400, password, db)
    assert url == expected
    parsed = redis.ConnectionPool.from_url(url).connection_kwargs
    assert parsed.get("password") == password
    assert parsed["port"] == 6400 and parsed["db"] == db


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_BACKEND", raising=False)
    local = RedisService()
    assert type(local) is LocalRedis and isinstance(local, RedisService)
    docker = RedisService("cache", backend="docker", password="x")
    assert type(docker) is DockerRedis and docker.name == "cache" and docker.password == "x"
    monkeypatch.setenv("HARNESS_BACKEND", "docker")
    assert type(RedisService()) is DockerRedis
    with pytest.raises(UnknownBackendError, match="nope"):
        RedisService(backend="nope")


def test_docker_variant_needs_an_engine() -> None:
    reason = docker_unavailable_reason()
    if reason is None:
        pytest.skip("a Docker engine answers here")
    service = RedisService(backend="docker")
    with pytest.raises(DockerUnavailableError) as caught:
        service.start()
    assert caught.value.reason == reason
    assert not service.running


def test_malformed_config_is_refused_before_start() -> None:
    with pytest.raises(ConfigurationError, match="maxmemory"):
        RedisService(config={"maxmemory": "1mb\nrequirepass x"})
    with pytest.raises(ConfigurationError):
        RedisService(config={"max memory": "1mb"})


def test_no_address_before_start_and_replica_only_before_start() -> None:
    service = RedisService()
    with pytest.raises(HarnessError, match="start"):
        _ = service.url
    with pytest.raises(HarnessError, match="with_replica"):
        _ = service.replica
    with pytest.raises(HarnessError, match="not a replica"):
        service.promote()


def test_container_command_carries_the_options() -> None:
    service = RedisService(backend="docker", password="pw", config={"save": "900 1", "hz": 20})
    assert isinstance(service, DockerRedis)
    argv = service._command()
    assert argv[0] == "redis-server"
    assert argv[argv.index("--requirepass") + 1] == "pw"
    assert argv[argv.index("--masterauth") + 1] == "pw"
    assert argv[argv.index("--appendonly") + 1] == "no"
    assert argv[-5:] == ["--save", "900", "1", "--hz", "20"]  # last, so the caller's win


# -- real redis-server processes -------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[RedisService]:
    with RedisService("plain") as service:
        yield service


@pytest.mark.integration
def test_set_get_on_loopback(server: RedisService) -> None:
    assert server.host == "127.0.0.1"
    assert server.endpoint == f"127.0.0.1:{server.port}"
    assert server.url == f"redis://127.0.0.1:{server.port}/0"
    client = server.client()
    client.set("greeting", "hello")
    assert client.get("greeting") == b"hello"
    assert redis.Redis.from_url(server.url).get("greeting") == b"hello"
    info = client.info("server")
    assert info["redis_version"].startswith(("6.", "7.", "8."))
    # No persistence: nothing is ever written to disk by itself.
    assert client.config_get("save") == {"save": ""}
    assert client.config_get("appendonly") == {"appendonly": "no"}


@pytest.mark.integration
def test_never_runs_as_root(server: RedisService) -> None:
    assert isinstance(server, LocalRedis) and server.process is not None
    assert server.process.pid is not None
    uids = psutil.Process(server.process.pid).uids()
    if os.geteuid() == 0:
        assert uids.real != 0 and uids.effective != 0
    else:
        assert uids.effective == os.geteuid()


@pytest.mark.integration
def test_carries_the_run_tag_the_reaper_looks_for(server: RedisService) -> None:
    # Redis' proc title would overwrite /proc/<pid>/environ; set-proc-title no keeps it.
    assert isinstance(server, LocalRedis) and server.process is not None
    assert server.process.pid is not None
    environ = psutil.Process(server.process.pid).environ()
    assert environ.get(RUN_ID_ENV) == current_run().id


@pytest.mark.integration
def test_password_is_required_and_carried_by_the_url() -> None:
    password = 'p "w\\ d@/:'  # quotes, backslash, space: redis.conf quoting and URL encoding
    with RedisService("secured", password=password) as service:
        # AuthenticationError is a ConnectionError, which redis-py retries with back-off.
        anonymous = redis.Redis(host=service.host, port=service.port, retry=Retry(NoBackoff(), 0))
        with pytest.raises(redis.AuthenticationError):
            anonymous.set("k", "v")
        assert ":p%20%22w%5C%20d%40%2F%3A@" in service.url
        by_url = redis.Redis.from_url(service.url)
        by_url.set("k", "v")
        assert service.client().get("k") == b"v"


@pytest.mark.integration
def test_flushall_empties_every_database(server: RedisService) -> None:
    server.client(db=0).set("a", "1")
    server.client(db=3).set("b", "2")
    server.flushall()
    assert server.client(db=0).dbsize() == 0
    assert server.client(db=3).dbsize() == 0


@pytest.mark.integration
def test_extra_config_is_applied() -> None:
    with RedisService(
        "tuned", config={"maxmemory": "64mb", "maxmemory-policy": "allkeys-lru"}
    ) as s:
        assert s.client().config_get("maxmemory") == {"maxmemory": str(64 * 2**20)}
        assert s.client().config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}


@pytest.mark.integration
def test_replica_follows_and_promote_makes_it_writable() -> None:
    with RedisService("primary", password="pw").with_replica() as primary:
        replica = primary.replica
        assert replica.is_replica and replica.port != primary.port
        assert replica.client().info("replication")["role"] == "slave"
        # The fast cron rate used for the initial sync is gone once start() returns.
        assert primary.client().config_get("hz") == {"hz": "10"}
        primary.client().set("order:1", "paid")
        # Readiness waited for the primary to stream to the replica: the write is there.
        assert replica.client().get("order:1") == b"paid"
        with pytest.raises(redis.ReadOnlyError):
            replica.client().set("order:2", "x")

        # The failover drill: the primary dies, the replica is promoted and takes writes.
        assert isinstance(primary, LocalRedis) and primary.process is not None
        primary.process.signal_group(signal.SIGKILL)
        primary.process.wait(5)
        replica.promote()
        assert not replica.is_replica
        assert replica.client().info("replication")["role"] == "master"
        replica.client().set("order:2", "paid")
        assert replica.client().get("order:1") == b"paid"
        assert replica.client().get("order:2") == b"paid"
    assert not replica.running and not primary.running


@pytest.mark.integration
def test_bad_config_option_reports_the_exit_and_the_log() -> None:
    service = RedisService("broken", config={"no-such-directive": "yes"})
    with pytest.raises(ProcessExitedError) as caught:
        service.start()
    error = caught.value
    assert error.exit_code == 1
    assert "exited with code 1" in str(error)
    assert "last lines of the log" in str(error)
    assert "no-such-directive" in error.log_tail
    assert "Bad directive" in str(error) or "FATAL CONFIG FILE ERROR" in str(error)
    assert not service.running
    # The failed start released what it took: its port can be claimed again.
    assert isinstance(service, LocalRedis)
    claim_port(service.port).release()


@pytest.mark.integration
def test_taken_port_is_a_port_error() -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        service = RedisService(port=port)
        with pytest.raises(PortError) as caught:
            service.start()
        assert caught.value.port == port
        assert str(port) in str(caught.value)
    finally:
        holder.close()


@pytest.mark.integration
def test_after_stop_the_process_and_port_are_gone() -> None:
    service = RedisService("short-lived").start()
    assert isinstance(service, LocalRedis) and service.process is not None
    pid, port = service.process.pid, service.port
    assert pid is not None
    service.stop()
    service.stop()  # idempotent
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert port_is_free(port)
    with pytest.raises(HarnessError, match="cannot be restarted"):
        service.start()


@pytest.mark.integration
def test_logs_and_config_live_with_the_run() -> None:
    with RedisService("logged") as service:
        assert isinstance(service, LocalRedis) and service.process is not None
        assert service.process.log_path.is_relative_to(current_run().directory)
        assert "Ready to accept connections" in service.process.log_tail(50)


# -- the container ------------------------------------------------------------------------


@pytest.fixture
def docker_engine() -> None:
    reason = docker_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.mark.integration
@pytest.mark.docker
@pytest.mark.usefixtures("docker_engine")
def test_docker_redis_same_interface() -> None:
    with RedisService("dockered", backend="docker", password="pw") as service:
        assert isinstance(service, DockerRedis)
        service.client().set("k", "v")
        assert redis.Redis.from_url(service.url).get("k") == b"v"
        service.flushall()
        assert service.client().dbsize() == 0


@pytest.mark.integration
@pytest.mark.docker
@pytest.mark.usefixtures("docker_engine")
def test_docker_replica_promotes() -> None:
    with RedisService("dockered", backend="docker").with_replica() as primary:
        primary.client().set("k", "v")
        assert primary.replica.client().get("k") == b"v"
        primary.replica.promote()
        primary.replica.client().set("k2", "v2")
