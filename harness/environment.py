"""An Environment: a Topology from infrastructure/ started on one backend, with its endpoints.

`Environment(load_topology("staging")).start()` brings up PostgreSQL (with its replica),
Redis, the AWS emulator with the topology's keys, buckets and secrets, and the cluster,
then applies the app's manifests with the real endpoints and waits until the app serves.
"""

from __future__ import annotations

import concurrent.futures
import copy
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import yaml

from harness._wait import Deadline, wait_until
from harness.backends import Backend, resolve_backend
from harness.errors import ConfigurationError, HarnessError, ServiceError
from harness.services.base import Service
from harness.topology import Topology

if TYPE_CHECKING:
    from harness.cluster.simulated import SimulatedCluster
    from harness.services.aws import AwsService
    from harness.services.postgres import PostgresService
    from harness.services.redis import RedisService

__all__ = ["Endpoints", "Environment", "Progress"]

#: the AWS emulator's credentials: dummies, never real ones
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

#: called with (component, phase, seconds since start) as components come up
Progress = Callable[[str, str, float], None]


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
        data = json.loads(text)
        return cls(**data)


class Environment(Service):
    """A Topology started on a backend. A Service: start() -> Self, stop(), context manager.

    Start order: the AWS emulator first (the database password is generated into its
    Secrets Manager and read back from there), PostgreSQL after it; Redis and the cluster
    concurrently with both; then the manifests, with the real endpoints in the app's
    ConfigMap and Secret; ready when the app's Deployment is Available and its
    LoadBalancer Service has an address.
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
        the pyproject.toml beside infrastructure/); `progress`: told as components come up."""
        super().__init__()
        self.topology = topology
        self.backend = resolve_backend(backend)
        self.time_scale = time_scale
        self.name = name or topology.name
        self.config_file = config_file or _default_config(topology)
        self._progress = progress
        self._began = 0.0
        self.postgres: PostgresService | None = None
        self.redis: RedisService | None = None
        self.aws: AwsService | None = None
        self.cluster: SimulatedCluster | None = None
        self._endpoints: Endpoints | None = None
        self.kms_keys: dict[str, str] = {}
        self.db_password = ""

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

    def _start(self, deadline: Deadline) -> None:
        if self.backend is not Backend.LOCAL:
            raise ConfigurationError(
                f"the {self.backend} backend cannot run a whole environment yet: its cluster "
                "(kind) comes in a later issue; use backend='local'"
            )
        for warning in self.topology.warnings:
            self._report("topology", f"warning: {warning}")
        self._began = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            futures = {
                pool.submit(self._start_data_tier, deadline): "aws+postgres",
                pool.submit(self._start_redis, deadline): "redis",
                pool.submit(self._start_cluster, deadline): "cluster",
            }
            errors: list[BaseException] = []
            for future in concurrent.futures.as_completed(futures):
                exc = future.exception()
                if exc is not None:
                    errors.append(exc)
            if errors:
                for extra in errors[1:]:
                    errors[0].add_note(f"also failed: {type(extra).__name__}: {extra}")
                raise errors[0]
        self._apply_manifests()
        self._report("manifests", "applied")

    def wait_ready(self, deadline: Deadline | None = None) -> None:
        deadline = deadline or Deadline.after(self.default_timeout)
        app = self.topology.app
        cluster = self._require(self.cluster, "cluster")
        address = wait_until(
            lambda: self._app_address(cluster),
            deadline=deadline,
            service=f"{app.deployment_name} in {app.namespace}",
            endpoint=cluster.server,
            condition=(
                f"Deployment {app.deployment_name} Available with every replica updated, and "
                f"Service {app.service_name} with a load-balancer address"
            ),
            interval=0.05,
            max_interval=0.5,
            hint=f"kubectl --kubeconfig {cluster.kubeconfig} -n {app.namespace} get pods,events",
        )
        self._endpoints = self._collect_endpoints(address)
        self._report("app", f"serving at {self._endpoints.app_url}")

    # -- components -----------------------------------------------------------------------
    def _start_data_tier(self, deadline: Deadline) -> None:
        from harness.services.aws import AwsService
        from harness.services.postgres import PostgresService

        aws = AwsService(f"{self.name}-aws", region=self.topology.region, backend=self.backend)
        self.aws = aws
        self.on_stop("stop the AWS emulator", aws.stop)
        aws.start(timeout=deadline.remaining())
        self._report("aws", f"ready at {aws.endpoint_url}")
        self._create_aws_resources(aws)
        self._report("aws", "keys, buckets and secrets created")

        spec = self.topology.postgres
        postgres = PostgresService(
            name=f"{self.name}-postgres",
            version=spec.version,
            user=spec.username,
            password=self.db_password,
            dbname=spec.database,
            auth="scram-sha-256",
            backend=self.backend,
        )
        if spec.replica:
            postgres.with_replica()
        self.postgres = postgres
        self.on_stop("stop PostgreSQL", postgres.stop)
        postgres.start(timeout=deadline.remaining())
        self._report(
            "postgres", f"ready at {postgres.endpoint}" + (" with replica" if spec.replica else "")
        )

    def _start_redis(self, deadline: Deadline) -> None:
        from harness.services.redis import RedisService

        redis = RedisService(f"{self.name}-redis", backend=self.backend)
        self.redis = redis
        self.on_stop("stop Redis", redis.stop)
        redis.start(timeout=deadline.remaining())
        self._report("redis", f"ready at {redis.endpoint}")

    def _start_cluster(self, deadline: Deadline) -> None:
        from harness.cluster.simulated import SimulatedCluster

        cluster = SimulatedCluster(
            f"{self.name}-cluster",
            config_file=self.config_file,
            time_scale=self.time_scale,
            node_count=self.topology.cluster.node_count,
            zones=self.topology.cluster.zones,
        )
        self.cluster = cluster
        self.on_stop("stop the cluster", cluster.stop)
        cluster.start(timeout=deadline.remaining())
        self._report(
            "cluster", f"ready at {cluster.server} with {self.topology.cluster.node_count} nodes"
        )

    def _create_aws_resources(self, aws: AwsService) -> None:
        kms = aws.client("kms")
        for key in self.topology.kms_keys:
            key_id = kms.create_key(Description=key.description)["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=key.alias, TargetKeyId=key_id)
            self.kms_keys[key.alias] = key_id
        s3 = aws.client("s3")
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
        manager = aws.client("secretsmanager")
        for secret in self.topology.secrets:
            if secret.kind == "secretsmanager":
                value = secrets.token_urlsafe(24) if secret.generated else ""
                manager.create_secret(
                    Name=secret.name, Description=secret.description, SecretString=value
                )
        # What the app gets is what Secrets Manager holds, read back as the platform does.
        name = self.topology.postgres.password_secret
        self.db_password = manager.get_secret_value(SecretId=name)["SecretString"]
        if not self.db_password:
            raise ConfigurationError(f"secret {name} holds no database password")

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
        postgres = self._require(self.postgres, "postgres")
        redis = self._require(self.redis, "redis")
        aws = self._require(self.aws, "aws")
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
        aws = self._require(self.aws, "aws")
        manager = aws.client("secretsmanager")
        for spec in self.topology.secrets:
            if spec.kind == "secretsmanager" and word in spec.name:
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

    def _apply_manifests(self) -> None:
        cluster = self._require(self.cluster, "cluster")
        documents = self.rendered_documents()
        first = [d for d in documents if d.get("kind") in ("CustomResourceDefinition", "Namespace")]
        rest = [d for d in documents if d not in first]
        for batch in (first, rest):
            if not batch:
                continue
            text = yaml.safe_dump_all(batch, sort_keys=False)
            result = cluster.kubectl("apply", "-f", "-", input=text, check=False)
            if result.returncode != 0:
                stderr = _redact(result.stderr.strip(), self.db_password)
                raise ServiceError(
                    f"kubectl apply of the {self.topology.name} manifests failed "
                    f"(exit {result.returncode}): {stderr}",
                    service=self.label,
                    endpoint=cluster.server,
                )
            crds = [d for d in batch if d.get("kind") == "CustomResourceDefinition"]
            if crds:  # the custom resources of the next batch need them established
                names = [f"crd/{d['metadata']['name']}" for d in crds]
                cluster.kubectl("wait", "--for=condition=Established", "--timeout=30s", *names)

    def _app_address(self, cluster: SimulatedCluster) -> str | None:
        app = self.topology.app
        from kubernetes import client as kube

        api = cluster.api_client()
        try:
            deployment: dict[str, Any] = api.sanitize_for_serialization(
                kube.AppsV1Api(api).read_namespaced_deployment(app.deployment_name, app.namespace)
            )
            service: dict[str, Any] = api.sanitize_for_serialization(
                kube.CoreV1Api(api).read_namespaced_service(app.service_name, app.namespace)
            )
        finally:
            api.close()
        status = deployment.get("status") or {}
        desired = deployment["spec"].get("replicas", 1)
        available = status.get("availableReplicas", 0)
        updated = status.get("updatedReplicas", 0)
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        if (
            conditions.get("Available") != "True"
            or status.get("observedGeneration", 0) < deployment["metadata"].get("generation", 0)
            or updated < desired
            or available < desired
        ):
            raise ServiceError(
                f"{available}/{desired} available, {updated} updated", service=app.deployment_name
            )
        ingress = (service.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
        if not ingress or not ingress[0].get("ip"):
            raise ServiceError("no load-balancer address yet", service=app.service_name)
        return f"{ingress[0]['ip']}:{service['spec']['ports'][0]['port']}"

    def _collect_endpoints(self, address: str) -> Endpoints:
        postgres = self._require(self.postgres, "postgres")
        redis = self._require(self.redis, "redis")
        aws = self._require(self.aws, "aws")
        cluster = self._require(self.cluster, "cluster")
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

    def _require(self, component: Any, what: str) -> Any:
        if component is None:
            raise HarnessError(f"environment {self.name}: {what} is not started")
        return component

    @property
    def label(self) -> str:
        return f"environment {self.name}"

    def __enter__(self) -> Self:
        return self.start()


def _default_config(topology: Topology) -> Path | None:
    candidates = [Path.cwd() / "pyproject.toml"]
    if topology.app.files:
        root = topology.app.files[0].resolve()
        candidates = [parent / "pyproject.toml" for parent in root.parents] + candidates
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def _redact(text: str, *secrets_: str) -> str:
    for value in secrets_:
        if value:
            text = text.replace(value, "***")
    return text
