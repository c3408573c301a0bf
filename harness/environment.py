"""An Environment: a Topology from infrastructure/ started on one backend, with its endpoints.

`Environment(load_topology("staging")).start()` brings up PostgreSQL (with its replica),
Redis, the AWS emulator with the topology's keys, buckets and secrets, and the cluster,
then applies the app's manifests with the real endpoints and waits until the app serves.
`EnvironmentAccess` is what scenarios use, on a started Environment or an attached one.
"""

from __future__ import annotations

import concurrent.futures
import copy
import dataclasses
import http.client
import json
import os
import secrets
import ssl
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import yaml

from harness._wait import Deadline, wait_until
from harness.backends import Backend, resolve_backend
from harness.errors import (
    ConfigurationError,
    HarnessError,
    ManifestRejectedError,
    ServiceError,
    WorkloadFailedError,
)
from harness.lifecycle import Service
from harness.topology import Topology

if TYPE_CHECKING:
    import boto3

    from harness.cluster.simulated import SimulatedCluster
    from harness.services.aws import AwsService
    from harness.services.postgres import PostgresService
    from harness.services.redis import RedisService

__all__ = [
    "AppResponse",
    "ComponentHealth",
    "Endpoints",
    "Environment",
    "EnvironmentAccess",
    "Progress",
]

#: the AWS emulator's credentials: dummies, never real ones
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

#: called with (component, phase, seconds since start) as components come up; from threads
Progress = Callable[[str, str, float], None]

#: PostgreSQL starts from its cached template with this password (a per-environment one
#: would mean an initdb each time); the role gets the Secrets Manager value right after.
_BOOTSTRAP_PASSWORD = "harness-bootstrap"  # replaced before anyone connects
#: kinds that need the data tier's endpoints: applied once PostgreSQL, Redis and AWS answer
_NEEDS_ENDPOINTS = frozenset(
    {"ConfigMap", "Secret", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
     "CronJob", "Pod"}
)  # fmt: skip
#: container states a starting workload does not recover from by waiting
_FATAL_WAITING = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
     "CreateContainerError", "CrashLoopBackOff"}
)  # fmt: skip
_FIELD_MANAGER = "kubectl-client-side-apply"  # so that kubectl apply takes over cleanly
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass(frozen=True)
class Endpoints:
    """Where everything of a running environment is, and the exports that reach it."""

    environment: str
    backend: str
    namespace: str
    postgres_dsn: str
    postgres_replica_dsn: str | None
    redis_url: str
    aws_endpoint_url: str
    aws_region: str
    kubeconfig: str
    app_url: str
    buckets: Mapping[str, str] = field(default_factory=dict)  # bucket -> KMS key id
    kms_keys: Mapping[str, str] = field(default_factory=dict)  # alias -> key id
    time_scale: float = 1.0

    def exports(self) -> dict[str, str]:
        """Environment variables with which kubectl, the aws CLI, psql and the app's own
        steps reach this environment as written."""
        exports = {
            "KUBECONFIG": self.kubeconfig,
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
            "AWS_REGION": self.aws_region,
            "AWS_DEFAULT_REGION": self.aws_region,
            **EMULATOR_CREDENTIALS,
            "DATABASE_URL": self.postgres_dsn,
            "REDIS_URL": self.redis_url,
            "APP_URL": self.app_url,
            "APP_NAMESPACE": self.namespace,
        }
        if self.postgres_replica_dsn:
            exports["DATABASE_READ_URL"] = self.postgres_replica_dsn
        return exports

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Endpoints:
        """From `to_json()` output, or from a document holding it under "endpoints" (the
        .harness/env.json of `harness up`). Unknown keys are ignored, missing ones named."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigurationError(f"endpoints: not JSON: {exc}") from exc
        if isinstance(data, dict) and isinstance(data.get("endpoints"), dict):
            data = data["endpoints"]
        if not isinstance(data, dict):
            raise ConfigurationError("endpoints: expected a JSON object")
        known = {f.name: f for f in dataclasses.fields(cls)}
        required = [
            name
            for name, f in known.items()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = [name for name in required if name not in data]
        if missing:
            raise ConfigurationError(f"endpoints: missing {', '.join(missing)}")
        return cls(**{k: v for k, v in data.items() if k in known})

    def redacted(self) -> dict[str, str]:
        """Every endpoint as text with passwords masked: what logs and tables may show."""
        shown = {
            "postgres": _mask_url(self.postgres_dsn),
            "redis": _mask_url(self.redis_url),
            "aws": self.aws_endpoint_url,
            "kubeconfig": self.kubeconfig,
            "app": self.app_url,
        }
        if self.postgres_replica_dsn:
            shown["postgres replica"] = _mask_url(self.postgres_replica_dsn)
        return shown

    def __repr__(self) -> str:  # DSNs carry the database password: never in a log
        fields = ", ".join(f"{k}={v!r}" for k, v in self.redacted().items())
        return f"Endpoints(environment={self.environment!r}, {fields})"


@dataclass(frozen=True)
class AppResponse:
    """An HTTP answer of the app: status, headers (lower-case names) and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class ComponentHealth:
    """Whether one component of an environment answers, as `harness status` shows it."""

    component: str
    endpoint: str  # passwords masked
    answers: bool
    detail: str


class EnvironmentAccess:
    """What scenarios use of an environment, started here or attached: the endpoints and
    clients bound to them. Subclasses provide `endpoints`."""

    @property
    def endpoints(self) -> Endpoints:
        raise NotImplementedError

    @property
    def namespace(self) -> str:
        return self.endpoints.namespace

    @property
    def app_url(self) -> str:
        """http://<load-balancer address>:<port>: the app as its users reach it."""
        return self.endpoints.app_url

    @property
    def postgres_dsn(self) -> str:
        return self.endpoints.postgres_dsn

    @property
    def postgres_replica_dsn(self) -> str | None:
        return self.endpoints.postgres_replica_dsn

    @property
    def redis_url(self) -> str:
        return self.endpoints.redis_url

    @property
    def aws_endpoint_url(self) -> str:
        return self.endpoints.aws_endpoint_url

    @property
    def kubeconfig(self) -> Path:
        return Path(self.endpoints.kubeconfig)

    def exports(self) -> dict[str, str]:
        return self.endpoints.exports()

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl (1.29+) against this environment's cluster; KubectlError when `check`
        and it exits non-zero."""
        from harness.cluster.simulated import KubectlError, find_kubectl

        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        # kubectl caches discovery per host:port for 6 h, and clusters reuse ports.
        env["KUBECACHEDIR"] = str(self.kubeconfig.parent / "kubecache")
        completed = subprocess.run(
            [find_kubectl().path, *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
        if check and completed.returncode != 0:
            raise KubectlError(args, completed.returncode, completed.stdout, completed.stderr)
        return completed

    def api_client(self) -> Any:
        """A `kubernetes.client.ApiClient` from the environment's kubeconfig; close() it."""
        from kubernetes import config

        factory: Any = config.new_client_from_config
        return factory(config_file=str(self.kubeconfig))

    def aws_session(self) -> boto3.Session:
        """A boto3 session with the emulator's dummy credentials and the region; hermetic
        (no profile or ~/.aws). Clients need endpoint_url: use aws_client()."""
        import boto3
        import botocore.session

        hermetic = botocore.session.Session(
            session_vars={
                "profile": (None, None, None, None),
                "config_file": (None, None, os.devnull, None),
                "credentials_file": (None, None, os.devnull, None),
            }
        )
        return boto3.Session(
            botocore_session=hermetic,
            aws_access_key_id=EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=self.endpoints.aws_region,
        )

    def aws_client(self, service_name: str, **kwargs: Any) -> Any:
        """A boto3 client of `service_name` sent to the emulator (S3 path-style)."""
        from botocore.config import Config

        kwargs.setdefault("endpoint_url", self.endpoints.aws_endpoint_url)
        if service_name == "s3":
            path_style = Config(s3={"addressing_style": "path"})
            given = kwargs.get("config")
            kwargs["config"] = path_style.merge(given) if given is not None else path_style
        session: Any = self.aws_session()
        return session.client(service_name, **kwargs)

    def health(self, timeout: float = 3.0) -> list[ComponentHealth]:
        """Ask every component once, concurrently, each within `timeout` seconds."""
        shown = self.endpoints.redacted()
        checks: dict[str, tuple[str, Callable[[], str]]] = {
            "postgres": (shown["postgres"], lambda: _ask_postgres(self.postgres_dsn, timeout)),
            "redis": (shown["redis"], lambda: _ask_redis(self.redis_url, timeout)),
            "aws": (shown["aws"], lambda: self._ask_aws(timeout)),
            "cluster": (shown["kubeconfig"], lambda: self._ask_cluster(timeout)),
            "app": (shown["app"], lambda: self._ask_app(timeout)),
        }
        replica = self.postgres_replica_dsn
        if replica:
            checks["postgres replica"] = (
                shown["postgres replica"],
                lambda: _ask_postgres(replica, timeout),
            )
        results: dict[str, ComponentHealth] = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(checks)) as pool:
            futures = {pool.submit(check): name for name, (_, check) in checks.items()}
            for future in concurrent.futures.as_completed(futures, timeout=timeout * 4 + 10):
                name = futures[future]
                try:
                    detail, answers = future.result(), True
                except Exception as exc:
                    detail, answers = f"{type(exc).__name__}: {exc}".strip(), False
                results[name] = ComponentHealth(name, checks[name][0], answers, detail[:200])
        return [results[name] for name in checks]

    def _ask_aws(self, timeout: float) -> str:
        from botocore.config import Config

        config = Config(retries={"max_attempts": 1}, connect_timeout=timeout, read_timeout=timeout)
        buckets = self.aws_client("s3", config=config).list_buckets()["Buckets"]
        return f"{len(buckets)} bucket(s)"

    def _ask_cluster(self, timeout: float) -> str:
        answer = self.kubectl("get", "--raw=/readyz", timeout=timeout + 5).stdout.strip()
        nodes = self.kubectl("get", "nodes", "-o", "name", timeout=timeout + 5).stdout.split()
        return f"/readyz {answer}, {len(nodes)} node(s)"

    def _ask_app(self, timeout: float) -> str:
        response = self.app_request("GET", "/health", timeout=timeout)
        if response.status != 200:
            raise ServiceError(f"/health answered {response.status}", service="app")
        version = self.app_request("GET", "/version", timeout=timeout).json().get("version")
        return f"/health 200, version {version}"

    def app_request(
        self,
        method: str,
        path: str,
        body: bytes | str | Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> AppResponse:
        """One HTTP request to the app through its load-balancer address (no proxy); a
        mapping body is sent as JSON."""
        parsed = urllib.parse.urlsplit(self.endpoints.app_url)
        sent = dict(headers or {})
        data: bytes | None
        if isinstance(body, Mapping):
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        connection = http.client.HTTPConnection(
            parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=timeout
        )
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            payload = response.read()
            received = {name.lower(): value for name, value in response.getheaders()}
            return AppResponse(response.status, received, payload)
        finally:
            connection.close()


class Environment(EnvironmentAccess, Service):
    """A Topology started on a backend. A Service: start() -> Self, stop(), context manager.

    Start: the AWS emulator, PostgreSQL (with its replica), Redis and the cluster start
    concurrently; the emulator gets the topology's keys, buckets and secrets, and the
    database role gets the password read back from Secrets Manager (PostgreSQL starts from
    its cached template, then ALTER ROLE). Manifests that need no endpoints (namespace,
    CRDs, Service, PDB, rules) are applied as soon as the cluster answers; the ConfigMap,
    Secret and workloads once the data tier does, with the real endpoints. Ready when the
    app's Deployment is Available and its LoadBalancer Service has an address; pods that
    cannot run (ErrImagePull, CrashLoopBackOff...) fail the start at once.
    """

    kind = "environment"
    default_timeout = 180.0

    def __init__(
        self,
        topology: Topology,
        backend: str | Backend | None = None,
        *,
        time_scale: float = 1.0,
        config_file: Path | None = None,
        progress: Progress | None = None,
        name: str | None = None,
    ) -> None:
        """`config_file`: the TOML with `[tool.harness.images]` for the cluster (default:
        the pyproject.toml beside infrastructure/, else in the current directory);
        `progress`: told as components come up; `name`: label in paths and logs."""
        super().__init__()
        if not isinstance(topology, Topology):
            raise ConfigurationError(
                f"Environment needs a Topology (load_topology(...)), not {type(topology).__name__}"
            )
        if not time_scale > 0:
            raise ConfigurationError(f"time_scale must be > 0, not {time_scale!r}")
        self.topology = topology
        self.backend = resolve_backend(backend)
        self.time_scale = float(time_scale)
        self.name = name or topology.name
        if config_file is not None and not Path(config_file).is_file():
            raise ConfigurationError(f"config_file {config_file}: no such file")
        self.config_file = Path(config_file) if config_file else _default_config(topology)
        self._progress = progress
        self._began = time.monotonic()
        self.postgres: PostgresService | None = None
        self.redis: RedisService | None = None
        self.aws: AwsService | None = None
        self.cluster: SimulatedCluster | None = None
        self._endpoints: Endpoints | None = None
        self.kms_keys: dict[str, str] = {}
        self.db_password = ""
        self._secret_values: dict[str, str] = {}
        self._api: _ClusterApi | None = None
        self.warnings: list[str] = []
        self.timings: dict[str, float] = {}  # component -> seconds from start to ready

    # -- the Service contract -----------------------------------------------------------
    @property
    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            raise HarnessError(f"environment {self.name} has no endpoints yet: start() it first")
        return self._endpoints

    @property
    def endpoint(self) -> str:
        return self.endpoints.app_url.removeprefix("http://")

    @property
    def url(self) -> str:
        return self.endpoints.app_url

    def _report(self, component: str, phase: str) -> None:
        if self._progress is not None:
            self._progress(component, phase, time.monotonic() - self._began)

    def _ready(self, component: str, phase: str) -> None:
        self.timings[component] = time.monotonic() - self._began
        self._report(component, phase)

    def _start(self, deadline: Deadline) -> None:
        if self.backend is not Backend.LOCAL:
            raise ConfigurationError(
                f"the {self.backend} backend cannot run a whole environment yet: its cluster "
                "(kind) comes in a later issue; use backend='local'"
            )
        self._began = time.monotonic()
        for warning in self.topology.warnings:
            self.warnings.append(warning)
            self._report("topology", f"warning: {warning}")
        self._on_threads(
            deadline,
            {
                "aws": self._start_aws,
                "postgres": self._start_postgres,
                "redis": self._start_redis,
                "cluster": self._start_cluster,
            },
        )
        postgres = _require(self.postgres, "postgres", self.name)
        postgres.set_password(self.db_password)
        self._report("postgres", "password set from Secrets Manager")
        late = [
            (rendered, original)
            for rendered, original in zip(
                self.rendered_documents(), self.topology.app.documents, strict=True
            )
            if rendered.get("kind") in _NEEDS_ENDPOINTS
        ]
        self._apply(late, deadline)
        self._ready("manifests", f"applied ({len(self.topology.app.documents)} documents)")

    def _on_threads(
        self, deadline: Deadline, tasks: Mapping[str, Callable[[Deadline], None]]
    ) -> None:
        """Run `tasks` concurrently; raise the first failure with the others as notes."""
        errors: list[BaseException] = []
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=len(tasks), thread_name_prefix=f"env-{self.name}"
        ) as pool:
            futures = {pool.submit(task, deadline): name for name, task in tasks.items()}
            for future in concurrent.futures.as_completed(
                futures, timeout=deadline.remaining() + 30
            ):
                exc = future.exception()
                if exc is not None:
                    self._report(futures[future], f"failed: {type(exc).__name__}")
                    errors.append(exc)
        if errors:
            for extra in errors[1:]:
                errors[0].add_note(f"also failed: {type(extra).__name__}: {extra}")
            raise errors[0]

    def wait_ready(self, deadline: Deadline | None = None) -> None:
        deadline = deadline or Deadline.after(self.default_timeout)
        app = self.topology.app
        cluster = _require(self.cluster, "cluster", self.name)
        api = self._cluster_api()
        outcome = wait_until(
            lambda: self._app_state(api),
            deadline=deadline,
            service=f"{app.deployment_name} in {app.namespace}",
            endpoint=cluster.server,
            condition=(
                f"Deployment {app.deployment_name} Available with every replica updated, and "
                f"Service {app.service_name} with a load-balancer address"
            ),
            interval=0.02,
            max_interval=0.05,
            hint=f"kubectl --kubeconfig {cluster.kubeconfig} -n {app.namespace} get pods,events",
        )
        if isinstance(outcome, WorkloadFailedError):
            raise outcome
        self._endpoints = self._collect_endpoints(str(outcome))
        # Available pods reach the proxy only after its propagation delay: ready means the
        # load-balancer address itself answers, as a user's first request expects.
        wait_until(
            self._serves_through_load_balancer,
            deadline=deadline,
            service=f"{app.service_name} in {app.namespace}",
            endpoint=self._endpoints.app_url,
            condition="GET /ready answers 200 through the load-balancer address 3 times in a row",
            interval=0.02,
            max_interval=0.1,
            hint=f"kubectl --kubeconfig {cluster.kubeconfig} -n {app.namespace} get endpointslices",
        )
        self._ready("app", f"serving at {self._endpoints.app_url}")

    def _serves_through_load_balancer(self) -> bool:
        for _ in range(3):
            answer = self.app_request("GET", "/ready", timeout=2.0)
            if answer.status != 200:
                raise ServiceError(
                    f"GET /ready answered {answer.status}", service=self.topology.app.service_name
                )
        return True

    # -- components -----------------------------------------------------------------------
    def _start_aws(self, deadline: Deadline) -> None:
        from harness.services.aws import AwsService

        self._report("aws", "starting")
        aws = AwsService(f"{self.name}-aws", region=self.topology.region, backend=self.backend)
        self.aws = aws
        self.on_stop("stop the AWS emulator", aws.stop)
        aws.start(timeout=deadline.remaining())
        self._report("aws", f"ready at {aws.endpoint_url}")
        self._create_aws_resources(aws)
        self._ready("aws", "keys, buckets and secrets created")

    def _start_postgres(self, deadline: Deadline) -> None:
        from harness.services.postgres import PostgresService

        self._report("postgres", "starting")
        spec = self.topology.postgres
        postgres = PostgresService(
            name=f"{self.name}-postgres",
            version=spec.version,
            user=spec.username,
            password=_BOOTSTRAP_PASSWORD,
            dbname=spec.database,
            auth="scram-sha-256",
            backend=self.backend,
        )
        if spec.replica:
            postgres.with_replica()
        self.postgres = postgres
        self.on_stop("stop PostgreSQL", postgres.stop)
        postgres.start(timeout=deadline.remaining())
        self._ready(
            "postgres", f"ready at {postgres.endpoint}" + (" with replica" if spec.replica else "")
        )

    def _start_redis(self, deadline: Deadline) -> None:
        from harness.services.redis import RedisService

        self._report("redis", "starting")
        redis = RedisService(f"{self.name}-redis", backend=self.backend)
        self.redis = redis
        self.on_stop("stop Redis", redis.stop)
        redis.start(timeout=deadline.remaining())
        self._ready("redis", f"ready at {redis.endpoint}")

    def _start_cluster(self, deadline: Deadline) -> None:
        from harness.cluster.simulated import SimulatedCluster

        self._report("cluster", "starting")
        spec = self.topology.cluster
        cluster = SimulatedCluster(
            f"{self.name}-cluster",
            config_file=self.config_file,
            time_scale=self.time_scale,
            node_count=spec.node_count,
            zones=spec.zones,
        )
        self.cluster = cluster
        self.on_stop("stop the cluster", cluster.stop)
        cluster.start(timeout=deadline.remaining())
        self._ready(
            "cluster",
            f"ready at {cluster.server} with {spec.node_count} node(s) in {', '.join(spec.zones)}",
        )
        early = [
            (d, d) for d in self.topology.app.documents if d.get("kind") not in _NEEDS_ENDPOINTS
        ]
        self._apply(early, deadline)
        self._report("manifests", f"{len(early)} applied before the data tier")

    def _create_aws_resources(self, aws: AwsService) -> None:
        from botocore.config import Config

        session: Any = aws.session()  # one session: its clients share the loaded models
        kms = session.client("kms", endpoint_url=aws.endpoint_url)
        for key in self.topology.kms_keys:
            key_id = kms.create_key(Description=key.description)["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=key.alias, TargetKeyId=key_id)
            self.kms_keys[key.alias] = key_id
        s3 = session.client(
            "s3", endpoint_url=aws.endpoint_url, config=Config(s3={"addressing_style": "path"})
        )
        for bucket in self.topology.buckets:
            options: dict[str, Any] = {"Bucket": bucket.name}
            if aws.region != "us-east-1":
                options["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
            s3.create_bucket(**options)
            if bucket.versioning:
                s3.put_bucket_versioning(
                    Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"}
                )
            if bucket.kms_key:
                key_id = self._kms_key_id(bucket.kms_key)
                s3.put_bucket_encryption(
                    Bucket=bucket.name,
                    ServerSideEncryptionConfiguration={
                        "Rules": [
                            {
                                "ApplyServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": "aws:kms",
                                    "KMSMasterKeyID": key_id,
                                }
                            }
                        ]
                    },
                )
        manager = session.client("secretsmanager", endpoint_url=aws.endpoint_url)
        for secret in self.topology.secrets:
            if secret.kind == "secretsmanager":
                value = secrets.token_urlsafe(24) if secret.generated else ""
                manager.create_secret(
                    Name=secret.name, Description=secret.description, SecretString=value
                )
        # What the database and the app get is what Secrets Manager holds, read back as the
        # platform's deploy step does.
        for secret in self.topology.secrets:
            if secret.kind == "secretsmanager":
                answer = manager.get_secret_value(SecretId=secret.name)
                self._secret_values[secret.name] = str(answer["SecretString"])
        name = self.topology.postgres.password_secret
        self.db_password = self._secret_values.get(name, "")
        if not self.db_password:
            raise ConfigurationError(
                f"the {self.topology.name} topology's database password secret {name} "
                "holds no value in Secrets Manager"
            )

    def _kms_key_id(self, alias_or_id: str) -> str:
        if alias_or_id in self.kms_keys:
            return self.kms_keys[alias_or_id]
        if alias_or_id.startswith("alias/"):
            raise ConfigurationError(
                f"KMS key {alias_or_id} is used by a bucket but no aws_kms_alias defines it"
            )
        return alias_or_id

    # -- manifests ------------------------------------------------------------------------
    def app_settings(self) -> tuple[dict[str, str], dict[str, str]]:
        """The app's ConfigMap and Secret values with this environment's real endpoints."""
        postgres = _require(self.postgres, "postgres", self.name)
        redis = _require(self.redis, "redis", self.name)
        aws = _require(self.aws, "aws", self.name)
        replica = postgres.replica if self.topology.postgres.replica else None
        uploads = self.topology.buckets[0] if self.topology.buckets else None
        config = {
            "DB_HOST": postgres.host,
            "DB_PORT": str(postgres.port),
            "DB_NAME": self.topology.postgres.database,
            "DB_USER": self.topology.postgres.username,
            "DB_READ_HOST": replica.host if replica else postgres.host,
            "DB_READ_PORT": str(replica.port if replica else postgres.port),
            "REDIS_URL": redis.url,
            "S3_BUCKET": uploads.name if uploads else "",
            "KMS_KEY_ID": self._kms_key_id(uploads.kms_key) if uploads and uploads.kms_key else "",
            "AWS_REGION": aws.region,
            "AWS_ENDPOINT_URL": aws.endpoint_url,
        }
        jwt = self._secret_value("jwt")
        secret = {"DB_PASSWORD": self.db_password, "JWT_SECRET": jwt, **EMULATOR_CREDENTIALS}
        return config, secret

    def _secret_value(self, word: str) -> str:
        """The Secrets Manager value of the topology's secret whose name has `word`."""
        for spec in self.topology.secrets:
            if spec.kind == "secretsmanager" and word in spec.name:
                if spec.name in self._secret_values:
                    return self._secret_values[spec.name]
                manager = _require(self.aws, "aws", self.name).client("secretsmanager")
                return str(manager.get_secret_value(SecretId=spec.name)["SecretString"])
        raise ConfigurationError(
            f"the {self.topology.name} topology has no Secrets Manager secret for {word!r}"
        )

    def rendered_documents(self) -> list[dict[str, Any]]:
        """The app's manifests, ConfigMap and Secret filled with the real endpoints."""
        config, secret = self.app_settings()
        documents = []
        for document in self.topology.app.documents:
            rendered = copy.deepcopy(document)
            if rendered.get("kind") == "ConfigMap":
                data = rendered.setdefault("data", {})
                data.update({k: v for k, v in config.items() if k in data or not data})
            elif rendered.get("kind") == "Secret":
                rendered.pop("data", None)
                string_data = rendered.setdefault("stringData", {})
                string_data.update(secret)
            documents.append(rendered)
        return documents

    def _cluster_api(self) -> _ClusterApi:
        if self._api is None:
            cluster = _require(self.cluster, "cluster", self.name)
            self._api = _ClusterApi(cluster.kubeconfig)
            self.on_stop("close the API connection", self._api.close)
        return self._api

    def _apply(
        self, documents: Sequence[tuple[dict[str, Any], Mapping[str, Any]]], deadline: Deadline
    ) -> None:
        """Create each (rendered, original) document in order, as `kubectl apply` would; a
        custom resource waits until its CRD is served.

        The last-applied annotation holds the original from infrastructure/ (placeholders,
        no secrets), so the platform's own `kubectl apply -f infrastructure/k8s/<env>/`
        later patches only what changed in the files and keeps the real endpoints.
        """
        api = self._cluster_api()
        for rendered, original in documents:
            document = copy.deepcopy(rendered)
            annotations = document.setdefault("metadata", {}).setdefault("annotations", {})
            annotations[_LAST_APPLIED] = json.dumps(original, separators=(",", ":")) + "\n"
            kind = str(document.get("kind"))
            metadata = document.get("metadata") or {}
            what = f"{kind} {metadata.get('namespace', '')}/{metadata.get('name', '?')}".replace(
                " /", " "
            )
            api_version = str(document.get("apiVersion"))
            resource = wait_until(
                lambda v=api_version, k=kind: api.resource(v, k),  # type: ignore[misc]
                deadline=deadline,
                service=self.label,
                endpoint=api.server,
                condition=f"the API serves {kind} in {api_version} (its CRD established)",
                interval=0.01,
                max_interval=0.05,
            )
            status, answer, warnings = api.apply(resource, document)
            for warning in warnings:
                self.warnings.append(f"{what}: {warning}")
                self._report("manifests", f"warning: {what}: {warning}")
            if status >= 400:
                raise self._rejected(document, what, status, answer)

    def _rejected(
        self, document: Mapping[str, Any], what: str, status: int, answer: Mapping[str, Any]
    ) -> ManifestRejectedError:
        details = answer.get("details") or {}
        causes = [
            f"{c.get('field', '')}: {c.get('message', '')}".strip(": ")
            for c in details.get("causes") or []
        ]
        message = _redact(str(answer.get("message") or answer or ""), self.db_password)
        if message and not causes:
            causes = [message]
        return ManifestRejectedError(
            resource=what,
            source=_source_file(self.topology, document),
            status=status,
            reason=str(answer.get("reason") or "Error"),
            causes=[_redact(c, self.db_password) for c in causes],
        )

    def _app_state(self, api: _ClusterApi) -> str | WorkloadFailedError | None:
        """The app's load-balancer address once it serves; a WorkloadFailedError when its
        pods cannot run; else raises what it waits for (the poll loop's last error)."""
        app = self.topology.app
        base = f"/apis/apps/v1/namespaces/{app.namespace}/deployments/{app.deployment_name}"
        deployment = api.get_json(base)
        status = deployment.get("status") or {}
        desired = deployment["spec"].get("replicas", 1)
        available = status.get("availableReplicas", 0)
        updated = status.get("updatedReplicas", 0)
        conditions = {c["type"]: c for c in status.get("conditions") or []}
        if (
            (conditions.get("Available") or {}).get("status") != "True"
            or status.get("observedGeneration", 0) < deployment["metadata"].get("generation", 0)
            or updated < desired
            or available < desired
        ):
            failure = self._workload_failure(api, deployment, conditions)
            if failure is not None:
                return failure
            raise ServiceError(
                f"{available}/{desired} available, {updated} updated", service=app.deployment_name
            )
        service = api.get_json(f"/api/v1/namespaces/{app.namespace}/services/{app.service_name}")
        ingress = (service.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
        if not ingress or not ingress[0].get("ip"):
            raise ServiceError("no load-balancer address yet", service=app.service_name)
        return f"{ingress[0]['ip']}:{service['spec']['ports'][0]['port']}"

    def _workload_failure(
        self, api: _ClusterApi, deployment: Mapping[str, Any], conditions: Mapping[str, Any]
    ) -> WorkloadFailedError | None:
        app = self.topology.app
        where = f"Deployment {app.namespace}/{app.deployment_name}"
        progressing = conditions.get("Progressing") or {}
        if progressing.get("reason") == "ProgressDeadlineExceeded":
            return WorkloadFailedError(
                f"{where}: ProgressDeadlineExceeded: {progressing.get('message', '')}",
                service=where,
                endpoint=api.server,
                reason="ProgressDeadlineExceeded",
            )
        labels = (deployment["spec"].get("selector") or {}).get("matchLabels") or {}
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        pods = api.get_json(
            f"/api/v1/namespaces/{app.namespace}/pods?"
            + urllib.parse.urlencode({"labelSelector": selector})
        )
        for pod in pods.get("items") or []:
            pod_status = pod.get("status") or {}
            statuses = (pod_status.get("initContainerStatuses") or []) + (
                pod_status.get("containerStatuses") or []
            )
            for container in statuses:
                waiting = (container.get("state") or {}).get("waiting") or {}
                reason = waiting.get("reason")
                if reason not in _FATAL_WAITING:
                    continue
                pod_name = pod["metadata"]["name"]
                message = (
                    f"{where} cannot start: pod {pod_name} container {container.get('name')}: "
                    f"{reason}: {waiting.get('message', '')}"
                )
                if reason in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
                    message += (
                        f"\n  image mappings are read from {self.config_file or 'no config file'}"
                        " ([tool.harness.images])"
                    )
                if reason == "CrashLoopBackOff":
                    message += "\n" + api.log_tail(app.namespace, pod_name, container.get("name"))
                return WorkloadFailedError(
                    _redact(message, self.db_password),
                    service=where,
                    endpoint=api.server,
                    reason=str(reason),
                )
        return None

    def _collect_endpoints(self, address: str) -> Endpoints:
        postgres = _require(self.postgres, "postgres", self.name)
        redis = _require(self.redis, "redis", self.name)
        aws = _require(self.aws, "aws", self.name)
        cluster = _require(self.cluster, "cluster", self.name)
        replica = postgres.replica if self.topology.postgres.replica else None
        return Endpoints(
            environment=self.topology.name,
            backend=self.backend.value,
            namespace=self.topology.app.namespace,
            postgres_dsn=postgres.dsn,
            postgres_replica_dsn=replica.dsn if replica else None,
            redis_url=redis.url,
            aws_endpoint_url=aws.endpoint_url,
            aws_region=aws.region,
            kubeconfig=str(cluster.kubeconfig),
            app_url=f"http://{address}",
            buckets={
                b.name: self._kms_key_id(b.kms_key) if b.kms_key else ""
                for b in self.topology.buckets
            },
            kms_keys=dict(self.kms_keys),
            time_scale=self.time_scale,
        )

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """kubectl bound to this environment's cluster (its own discovery cache)."""
        cluster: SimulatedCluster = _require(self.cluster, "cluster", self.name)
        return cluster.kubectl(*args, check=check, input=input, timeout=timeout)

    def processes(self) -> dict[str, int | None]:
        """The server processes of the environment, component -> pid (None: not running)."""
        found: dict[str, int | None] = {}
        for component, service in (
            ("postgres", self.postgres),
            ("redis", self.redis),
            ("aws", self.aws),
            ("cluster", self.cluster),
        ):
            process = getattr(service, "process", None) or getattr(service, "_process", None)
            poll = getattr(process, "poll", None)
            pid = getattr(process, "pid", None)
            found[component] = pid if callable(poll) and poll() is None else None
        return found

    @property
    def label(self) -> str:
        return f"environment {self.name}"

    def __enter__(self) -> Self:
        return self.start()


class _ClusterApi:
    """One keep-alive HTTPS connection to the cluster's API with the kubeconfig's token:
    server-side apply and reads without a kubectl process. One thread at a time."""

    def __init__(self, kubeconfig: Path) -> None:
        from harness.cluster.kubeconfig import CONTEXT_NAME, read_kubeconfig

        entry = read_kubeconfig(kubeconfig, CONTEXT_NAME)
        self.server = entry.server
        parsed = urllib.parse.urlsplit(entry.server)
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or 443
        self._token = entry.token
        self._tls = ssl.create_default_context(
            cadata=entry.certificate_authority.decode() if entry.certificate_authority else None
        )
        self._connection: http.client.HTTPSConnection | None = None
        self._resources: dict[tuple[str, str], tuple[str, bool]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = ""
    ) -> tuple[int, bytes, list[str]]:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        with self._lock:
            for attempt in (1, 2):  # a keep-alive connection the server closed: once more
                if self._connection is None:
                    self._connection = http.client.HTTPSConnection(
                        self._host, self._port, timeout=10, context=self._tls
                    )
                try:
                    self._connection.request(method, path, body=body, headers=headers)
                    response = self._connection.getresponse()
                    payload = response.read()
                except (http.client.HTTPException, OSError):
                    self.close()
                    if attempt == 2:
                        raise
                    continue
                warnings = [
                    w.split('"', 1)[-1].rstrip('"')
                    for w in response.headers.get_all("Warning") or []
                ]
                return response.status, payload, warnings
        raise AssertionError("unreachable")

    def get_json(self, path: str) -> dict[str, Any]:
        status, payload, _ = self.request("GET", path)
        answer = json.loads(payload or b"{}")
        if status >= 400:
            raise ServiceError(
                f"GET {path}: {status} {answer.get('message', '')}", service="kubernetes api"
            )
        return dict(answer)

    def resource(self, api_version: str, kind: str) -> tuple[str, bool] | None:
        """(collection path prefix, namespaced) of `kind`, by discovery; None until served."""
        key = (api_version, kind)
        if key not in self._resources:
            prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            status, payload, _ = self.request("GET", prefix)
            if status == 404:
                return None
            if status >= 400:
                raise ServiceError(
                    f"discovery of {api_version}: {status}", service="kubernetes api"
                )
            for item in json.loads(payload).get("resources") or []:
                if "/" not in item["name"]:
                    self._resources[(api_version, item["kind"])] = (
                        f"{prefix}/{{namespace}}{item['name']}",
                        bool(item["namespaced"]),
                    )
        return self._resources.get(key)

    def apply(
        self, resource: tuple[str, bool], document: Mapping[str, Any]
    ) -> tuple[int, dict[str, Any], list[str]]:
        """Create the object; when it exists, merge-patch it with the document (the
        simulator answers server-side apply with 415 so far, so this is client-side)."""
        template, namespaced = resource
        metadata = document.get("metadata") or {}
        namespace = f"namespaces/{metadata.get('namespace') or 'default'}/" if namespaced else ""
        collection = template.format(namespace=namespace)
        body = json.dumps(document).encode()
        query = urllib.parse.urlencode({"fieldManager": _FIELD_MANAGER})
        status, payload, warnings = self.request(
            "POST", f"{collection}?{query}", body, "application/json"
        )
        if status == 409:
            name = urllib.parse.quote(str(metadata.get("name", "")), safe="")
            status, payload, warnings = self.request(
                "PATCH", f"{collection}/{name}?{query}", body, "application/merge-patch+json"
            )
        try:
            answer = json.loads(payload or b"{}")
        except ValueError:
            answer = {"message": payload.decode(errors="replace")[:500]}
        return status, answer if isinstance(answer, dict) else {}, warnings

    def log_tail(self, namespace: str, pod: str, container: str | None, lines: int = 10) -> str:
        query = urllib.parse.urlencode(
            {"container": container or "", "previous": "true", "tailLines": str(lines)}
        )
        try:
            status, payload, _ = self.request(
                "GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/log?{query}"
            )
        except (OSError, http.client.HTTPException) as exc:
            return f"  (its log could not be read: {exc})"
        if status >= 400 or not payload.strip():
            return "  (no log from its last run)"
        text = payload.decode(errors="replace").rstrip()
        return "  last lines of its log:\n" + "\n".join("    " + line for line in text.splitlines())


def _ask_postgres(dsn: str, timeout: float) -> str:
    import psycopg

    with psycopg.connect(dsn, connect_timeout=max(1, round(timeout))) as conn:
        row = conn.execute("SELECT pg_is_in_recovery(), current_setting('server_version')")
        recovery, version = row.fetchone() or (False, "?")
    return f"PostgreSQL {version}" + (" (replica)" if recovery else "")


def _ask_redis(url: str, timeout: float) -> str:
    import redis

    with redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout) as c:
        version = c.info("server").get("redis_version", "?")
    return f"Redis {version}"


def _require(component: Any, what: str, name: str) -> Any:
    if component is None:
        raise HarnessError(f"environment {name}: {what} is not started")
    return component


def _default_config(topology: Topology) -> Path | None:
    candidates = [Path.cwd() / "pyproject.toml"]
    if topology.app.files:
        root = topology.app.files[0].resolve()
        candidates = [parent / "pyproject.toml" for parent in root.parents] + candidates
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def _source_file(topology: Topology, document: Mapping[str, Any]) -> str:
    """The manifest file a document came from, found again by kind and name."""
    metadata = document.get("metadata") or {}
    for path in topology.app.files:
        try:
            loaded = list(yaml.safe_load_all(path.read_text()))
        except (OSError, yaml.YAMLError):
            continue
        for candidate in loaded:
            if (
                isinstance(candidate, dict)
                and candidate.get("kind") == document.get("kind")
                and (candidate.get("metadata") or {}).get("name") == metadata.get("name")
            ):
                return str(path)
    return ""


def _mask_url(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parsed._replace(netloc=netloc))


def _redact(text: str, *secrets_: str) -> str:
    for value in secrets_:
        if value:
            text = text.replace(value, "***")
    return text
