"""Redis for the harness (the ElastiCache stand-in): a local redis-server process or a
testcontainers container, with an optional replica that can be promoted for failover drills.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self
from urllib.parse import quote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from harness import settings
from harness._process import ManagedProcess, ServiceUser, reachable_by, service_user
from harness._reaper import owned_run
from harness._wait import Deadline, wait_until
from harness.backends import Backend
from harness.errors import BinaryNotFoundError, ConfigurationError, HarnessError
from harness.lifecycle import BackendChoice, Lifecycle, Service
from harness.ports import claim_port
from harness.services._docker import require_docker, wait_for_container

if TYPE_CHECKING:
    from testcontainers.community.redis import RedisContainer
    from testcontainers.core.network import Network

__all__ = [
    "REDIS_SERVER_ENV",
    "DockerRedis",
    "LocalRedis",
    "RedisService",
    "find_redis_server",
    "redis_url",
]

REDIS_SERVER_ENV = settings.REDIS_SERVER.name
DEFAULT_IMAGE = "redis:7-alpine"
_CONTAINER_PORT = 6379
_DEFAULT_HZ = 10
_INSTALL_HINT = (
    "install it with `apt-get install redis-server` (`make scenarios` does it when root), "
    f"or set {REDIS_SERVER_ENV} to the binary's path"
)

ConfigValue = str | int


def find_redis_server() -> str:
    """The redis-server binary: HARNESS_REDIS_SERVER when set, else the one on PATH."""
    override = settings.redis_server_override()
    if override:
        found = shutil.which(override)
        if found is None:
            raise BinaryNotFoundError(
                "redis-server", [f"{REDIS_SERVER_ENV}={override}"], _INSTALL_HINT
            )
        return found
    found = shutil.which("redis-server")
    if found is None:
        searched = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p]
        raise BinaryNotFoundError("redis-server", searched, _INSTALL_HINT)
    return found


def redis_url(host: str, port: int, password: str | None = None, db: int = 0) -> str:
    """redis://[:password@]host:port/db, the password percent-encoded as redis-py expects."""
    auth = f":{quote(password, safe='')}@" if password else ""
    return f"redis://{auth}{host}:{port}/{db}"


def _conf_quote(value: str) -> str:
    """A value as one redis.conf argument (double quotes, backslash escapes)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _conf_lines(options: Mapping[str, ConfigValue]) -> list[str]:
    lines = []
    for key, raw in options.items():
        value = str(raw)
        if not key or any(c.isspace() for c in key) or "\n" in value or "\r" in value:
            raise ConfigurationError(f"invalid redis config option {key!r}: {value!r}")
        # Multi-word values ("900 1 300 10") are several arguments, as in redis.conf.
        lines.append(f"{key} {value}" if value else f'{key} ""')
    return lines


def _replica_online(client: redis.Redis, port: int) -> bool:
    info = client.info("replication")
    return any(
        key.startswith("slave")
        and isinstance(value, dict)
        and value.get("state") == "online"
        and str(value.get("port")) == str(port)
        for key, value in info.items()
    )


class RedisService(BackendChoice, Service):
    """Redis with one interface on every backend: `RedisService()` is a LocalRedis,
    `RedisService(backend="docker")` a DockerRedis.

    Extra redis.conf directives go in `config` (`{"maxmemory": "64mb"}`); an option
    redis rejects makes the server exit at start, reported as ProcessExitedError.
    """

    kind = "redis"
    _variants: ClassVar[dict[Backend, str]] = {
        Backend.LOCAL: "harness.services.redis:LocalRedis",
        Backend.DOCKER: "harness.services.redis:DockerRedis",
    }

    def __init__(
        self,
        name: str = "redis",
        *,
        port: int | None = None,
        password: str | None = None,
        config: Mapping[str, ConfigValue] | None = None,
        binary: str | None = None,
        image: str = DEFAULT_IMAGE,
        backend: str | Backend | None = None,
    ) -> None:
        """`port`: a fixed port (PortError when taken), else a free one; `binary`: the
        redis-server to run (local only); `image`: the container image (docker only)."""
        super().__init__()
        self.name = name
        self.password = password
        self.config: dict[str, ConfigValue] = dict(config or {})
        _conf_lines(self.config)  # a malformed option fails here, not at start
        self._requested_port = port
        self._binary = binary
        self.image = image
        self._want_replica = False
        self._replica: RedisService | None = None
        self._is_replica = False

    # -- what a variant provides (no abc: the public class must be instantiable) --------
    @property
    def host(self) -> str:
        """The address clients connect to."""
        raise NotImplementedError

    @property
    def port(self) -> int:
        """The port clients connect to (the mapped one for a container)."""
        raise NotImplementedError

    @property
    def _replication_port(self) -> int:
        """The port the primary sees this replica listen on (the container port in docker)."""
        return self.port

    def _wait(self, check: Callable[[], object], deadline: Deadline, condition: str) -> None:
        """wait_until with what this variant knows (its process, its log)."""
        raise NotImplementedError

    # -- the shared interface ------------------------------------------------------------
    @property
    def label(self) -> str:
        return f"redis {self.name}"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return redis_url(self.host, self.port, self.password)

    def client(self, db: int = 0, **kwargs: Any) -> redis.Redis:
        """A redis-py client of this server; keyword arguments go to redis.Redis."""
        return redis.Redis(host=self.host, port=self.port, db=db, password=self.password, **kwargs)

    def flushall(self) -> None:
        """Empty every database: cheap per-test isolation on a shared server."""
        with self.client() as client:
            client.flushall()

    def with_replica(self) -> Self:
        """Start a replica (REPLICAOF this server) along with this one; call before start()."""
        if self.state is not Lifecycle.NEW:
            raise HarnessError(f"{self.label}: with_replica() must be called before start()")
        if self._is_replica:
            raise HarnessError(f"{self.label} is itself a replica")
        self._want_replica = True
        return self

    @property
    def replica(self) -> RedisService:
        if self._replica is None:
            raise HarnessError(
                f"{self.label} has no replica: call with_replica() before start()"
                if not self._want_replica
                else f"{self.label}: the replica exists once start() has returned"
            )
        return self._replica

    @property
    def is_replica(self) -> bool:
        return self._is_replica

    def promote(self, timeout: float = 10.0) -> None:
        """REPLICAOF NO ONE on this replica, then wait until it reports role:master."""
        if not self._is_replica:
            raise HarnessError(f"{self.label} is not a replica; only a replica can be promoted")
        deadline = Deadline.after(timeout)
        with self._probe_client() as client:
            client.execute_command("REPLICAOF", "NO", "ONE")
            self._wait(
                lambda: client.info("replication").get("role") == "master",
                deadline,
                "role:master after REPLICAOF NO ONE",
            )
        self._is_replica = False

    def wait_ready(self, deadline: Deadline | None = None) -> None:
        deadline = deadline or Deadline.after(self.default_timeout)
        with self._probe_client() as client:
            self._wait(client.ping, deadline, "PING answered")
            if self._is_replica:
                self._wait(
                    lambda: client.info("replication").get("master_link_status") == "up",
                    deadline,
                    "master_link_status:up (replica in sync with its primary)",
                )
        if self._replica is not None:
            self._replica.wait_ready(deadline)
            replica_port = self._replica._replication_port
            with self._probe_client() as client:
                self._wait(
                    lambda: _replica_online(client, replica_port),
                    deadline,
                    f"the primary streaming to its replica (state=online for port {replica_port})",
                )

    def _probe_client(self) -> redis.Redis:
        # No retries: the poll loop is the retry, and must see each failure at once.
        return self.client(
            socket_connect_timeout=0.5,
            socket_timeout=2.0,
            retry=Retry(NoBackoff(), 0),
        )

    def _start_replica(self, replica: RedisService, deadline: Deadline) -> None:
        replica._is_replica = True
        # The replica's own start() gets what is left of ours, so both fit in one deadline.
        replica.start(timeout=max(deadline.remaining(), 0.1))
        self.on_stop(f"stop {replica.label}", replica.stop)
        self._replica = replica


class LocalRedis(RedisService):
    """redis-server on a claimed loopback port, run as the unprivileged service user when root.

    No persistence (save "", appendonly no); its directory and config live in the run
    directory and its log is the ManagedProcess log.
    """

    def __init__(
        self,
        name: str = "redis",
        *,
        port: int | None = None,
        password: str | None = None,
        config: Mapping[str, ConfigValue] | None = None,
        binary: str | None = None,
        image: str = DEFAULT_IMAGE,
        backend: str | Backend | None = None,
    ) -> None:
        super().__init__(name, port=port, password=password, config=config, binary=binary)
        self._port: int | None = None
        self._primary: LocalRedis | None = None
        self.process: ManagedProcess | None = None
        self.directory: Path | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        if self._port is None:
            raise HarnessError(f"{self.label} has no port yet: start() it first")
        return self._port

    def _start(self, deadline: Deadline) -> None:
        binary = self._binary or find_redis_server()
        claim = claim_port(self._requested_port, self.host)
        self.on_stop(f"release port {claim.port}", claim.release)
        self._port = claim.port
        # The port keeps directories of successive instances apart, and their log tails.
        run_directory = owned_run().path("redis", f"{self.name}-{claim.port}")
        user = service_user()
        directory = self._server_directory(run_directory, user)
        self.directory = directory
        conf = directory / "redis.conf"
        conf.write_text("\n".join(self._conf_lines(directory)) + "\n")
        conf.chmod(0o600)  # it may hold the password
        if user is not None:
            for path in (directory, conf):
                os.chown(path, user.uid, user.gid)
        self.process = ManagedProcess(
            self.label,
            [binary, str(conf)],
            log_path=run_directory / "redis.log",
            cwd=directory,
            user=user,
        )
        self.process.start()
        self.on_stop(f"stop {self.label} (pid {self.process.pid})", self.process.stop)
        if self._want_replica:
            replica = LocalRedis(
                f"{self.name}-replica",
                password=self.password,
                config=self.config,
                binary=binary,
            )
            replica._primary = self
            with self._probe_client() as client:
                # The primary answers first, so the replica's first sync attempt succeeds.
                self._wait(client.ping, deadline, "PING answered")
                self._start_replica(replica, deadline)
                # Back to the configured cron rate (see _conf_lines) before anyone else
                # talks to the server.
                client.config_set("hz", self.config.get("hz", _DEFAULT_HZ))

    def _server_directory(self, run_directory: Path, user: ServiceUser | None) -> Path:
        """Where redis-server chdirs to and reads its config: the run directory, which the
        service user must be able to reach."""
        if user is not None and not reachable_by(run_directory, user):
            raise ConfigurationError(
                f"{run_directory} is not reachable by the service user {user.name}: set "
                "HARNESS_HOME to a directory whose parents it can traverse (e.g. /var/tmp/harness)"
            )
        return run_directory

    def _conf_lines(self, directory: Path) -> list[str]:
        options: dict[str, ConfigValue] = {
            "port": self.port,
            "bind": "127.0.0.1",
            "protected-mode": "yes",
            "daemonize": "no",
            "supervised": "no",
            "logfile": "",
            "always-show-logo": "no",
            # Redis' own proc title overwrites the environment block, and with it the run
            # tag the reaper finds leftovers by.
            "set-proc-title": "no",
            "save": "",
            "appendonly": "no",
            # Disk-based full sync: a diskless one leaves the new replica offline on the
            # primary until its next once-a-second REPLCONF ACK, so the first writes after
            # start would reach the replica up to a second late.
            "repl-diskless-sync": "no",
            "repl-diskless-load": "on-empty-db",
        }
        if self._want_replica:
            # The primary notices that the replica's sync snapshot is written on its next
            # cron tick (hz, 10/s by default): a fast tick until the replica is in sync saves
            # ~0.1 s per start. CONFIG SET takes effect only after the current tick, so the
            # fast rate has to be in the file; _start restores the configured one.
            options["hz"] = 100
        lines = _conf_lines(options)
        lines.append(f"dir {_conf_quote(str(directory))}")
        if self.password:
            lines.append(f"requirepass {_conf_quote(self.password)}")
            lines.append(f"masterauth {_conf_quote(self.password)}")
        if self._primary is not None:
            lines.append(f"replicaof {self._primary.host} {self._primary.port}")
        # Last, so the caller's options win over our defaults.
        lines.extend(_conf_lines(self.config))
        return lines

    def _wait(self, check: Callable[[], object], deadline: Deadline, condition: str) -> None:
        wait_until(
            check,
            deadline=deadline,
            service=self.label,
            endpoint=self.endpoint,
            condition=condition,
            process=self.process,
            hint=f"the server's config is {self.directory}/redis.conf" if self.directory else "",
        )


class DockerRedis(RedisService):
    """Redis in a testcontainers RedisContainer (redis:7-alpine by default).

    A replica runs in a second container on a private Docker network, REPLICAOF the primary
    by its network alias.
    """

    def __init__(
        self,
        name: str = "redis",
        *,
        port: int | None = None,
        password: str | None = None,
        config: Mapping[str, ConfigValue] | None = None,
        binary: str | None = None,
        image: str = DEFAULT_IMAGE,
        backend: str | Backend | None = None,
    ) -> None:
        super().__init__(name, port=port, password=password, config=config, image=image)
        self.container: RedisContainer | None = None
        self._network: Network | None = None
        self._alias: str | None = None
        self._primary_alias: str | None = None
        self._host: str | None = None
        self._port: int | None = None

    @property
    def host(self) -> str:
        if self._host is None:
            raise HarnessError(f"{self.label} has no address yet: start() it first")
        return self._host

    @property
    def port(self) -> int:
        if self._port is None:
            raise HarnessError(f"{self.label} has no port yet: start() it first")
        return self._port

    @property
    def _replication_port(self) -> int:
        return _CONTAINER_PORT

    def _command(self) -> list[str]:
        argv = ["redis-server", "--save", "", "--appendonly", "no", "--repl-diskless-sync", "no"]
        if self.password:
            argv += ["--requirepass", self.password, "--masterauth", self.password]
        if self._primary_alias is not None:
            argv += ["--replicaof", self._primary_alias, str(_CONTAINER_PORT)]
        for key, value in self.config.items():
            _conf_lines({key: value})  # the same validation as the local variant
            argv += [f"--{key}", *(str(value).split() or [""])]
        return argv

    def _start(self, deadline: Deadline) -> None:
        require_docker()
        try:
            from testcontainers.community.redis import RedisContainer
        except ImportError:  # testcontainers before the community namespace
            from testcontainers.redis import RedisContainer

        run = owned_run()
        container = RedisContainer(self.image, port=_CONTAINER_PORT, password=self.password)
        container.with_command(self._command())
        container.with_env("HARNESS_RUN_ID", run.id)
        container.with_kwargs(labels={"harness.run-id": run.id, "harness.service": self.label})
        if self._requested_port is not None:
            container.with_bind_ports(_CONTAINER_PORT, self._requested_port)
        if self._want_replica and self._network is None:
            from testcontainers.core.network import Network

            self._network = Network().create()
            self.on_stop("remove the replication network", self._network.remove)
        if self._network is not None:
            self._alias = f"redis-{uuid.uuid4().hex[:8]}"
            container.with_network(self._network).with_network_aliases(self._alias)
        self.on_stop(f"remove the {self.label} container", container.stop)
        self.container = container
        container.start()
        self._host = container.get_container_host_ip()
        self._port = int(container.get_exposed_port(_CONTAINER_PORT))
        if self._want_replica:
            replica = DockerRedis(
                f"{self.name}-replica", password=self.password, config=self.config, image=self.image
            )
            replica._network = self._network
            replica._primary_alias = self._alias
            self._start_replica(replica, deadline)

    def _wait(self, check: Callable[[], object], deadline: Deadline, condition: str) -> None:
        wait_for_container(
            check,
            container=self.container,
            deadline=deadline,
            service=self.label,
            endpoint=self.endpoint,
            condition=condition,
        )
