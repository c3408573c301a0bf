"""What an environment contains, read from ``infrastructure/``: the Terraform of its AWS side
and the manifests of its app, mapped to a frozen ``Topology`` the local backends start from.

Whatever cannot be mapped is a ``ConfigurationError`` naming the file and the resource.
Terraform is read with python-hcl2 8.x, whose output keeps HCL source text: quoted strings
stay quoted (``'"postgres"'``) and expressions come as ``"${...}"``. A small evaluator
resolves what the topology needs: literals, ``var.*`` defaults, ``local.*``, ``count`` and
``for_each`` literals, string templates, indexes and splats over resources, a handful of
functions (``slice``, ``length``, ``toset``...), and ``data.aws_availability_zones`` as the
region's zones ``<region>a``, ``<region>b``... References to resources stay references, so
a bucket's encryption finds its KMS key and a node group its subnets' zones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

import yaml

from harness._terraform import (
    _Block,
    _display,
    _Instance,
    _mentions,
    _mentions_type,
    _Ref,
    _TerraformModule,
)
from harness.errors import ConfigurationError

__all__ = [
    "APP_CONFIG_KEYS",
    "APP_SECRET_KEYS",
    "DEFAULT_INFRASTRUCTURE",
    "AppManifests",
    "BucketSpec",
    "ClusterSpec",
    "KmsKeySpec",
    "PostgresSpec",
    "RedisSpec",
    "SecretSpec",
    "Topology",
    "load_topology",
]

DEFAULT_INFRASTRUCTURE = Path(__file__).resolve().parent.parent / "infrastructure"

# The app's environment contract: the keys it reads from its ConfigMap and its Secret.
APP_CONFIG_KEYS = (
    "PORT",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_READ_HOST",
    "DB_READ_PORT",
    "REDIS_URL",
    "S3_BUCKET",
    "KMS_KEY_ID",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "LOG_LEVEL",
)
APP_SECRET_KEYS = ("DB_PASSWORD", "JWT_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")

Manifest: TypeAlias = dict[str, Any]


# ---------------------------------------------------------------------------------------
# The topology
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostgresSpec:
    """The RDS PostgreSQL primary, and whether it has a read replica and a standby."""

    version: int
    replica: bool
    multi_az: bool
    database: str
    username: str
    password_secret: str  # the Secrets Manager secret holding the master password


@dataclass(frozen=True, slots=True)
class RedisSpec:
    """The ElastiCache Redis replication group; locally always one node."""

    version: str
    cluster_mode: bool
    shards: int
    replicas_per_shard: int


@dataclass(frozen=True, slots=True)
class BucketSpec:
    name: str
    kms_key: str | None  # alias of the SSE-KMS key ("alias/aws/s3" for the AWS managed key)
    versioning: bool


@dataclass(frozen=True, slots=True)
class KmsKeySpec:
    alias: str
    description: str


@dataclass(frozen=True, slots=True)
class SecretSpec:
    name: str
    kind: Literal["secretsmanager", "ssm"]
    generated: bool  # the value comes from a random_password: the harness makes one up
    description: str


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """The EKS cluster: nodes summed over its managed node groups, and their zones."""

    node_count: int
    zones: tuple[str, ...]
    kubernetes_version: str


@dataclass(frozen=True, slots=True)
class AppManifests:
    """The app's manifests: every document in apply order, and the names scenarios need."""

    namespace: str
    documents: tuple[Manifest, ...]
    files: tuple[Path, ...]
    image: str
    container_port: int
    service_name: str
    deployment_name: str


@dataclass(frozen=True, slots=True)
class Topology:
    name: str
    region: str
    postgres: PostgresSpec
    redis: RedisSpec
    buckets: tuple[BucketSpec, ...]
    kms_keys: tuple[KmsKeySpec, ...]
    secrets: tuple[SecretSpec, ...]
    cluster: ClusterSpec
    app: AppManifests
    warnings: tuple[str, ...] = ()


def load_topology(env: str = "staging", root: Path = DEFAULT_INFRASTRUCTURE) -> Topology:
    """Read ``root/terraform/<env>`` and ``root/k8s/<env>`` into a Topology."""
    root = Path(root)
    if not env or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", env):
        raise ConfigurationError(f"environment name {env!r} is not a directory name")
    terraform_dir = _environment_dir(root, "terraform", env)
    k8s_dir = _environment_dir(root, "k8s", env)
    module = _TerraformModule.read(terraform_dir, root)
    postgres = _map_postgres(module)
    redis, redis_warnings = _map_redis(module)
    kms_keys, kms_warnings = _map_kms_keys(module)
    buckets = _map_buckets(module)
    secrets = _map_secrets(module)
    cluster = _map_cluster(module)
    app, app_warnings = _read_manifests(k8s_dir, root)
    return Topology(
        name=env,
        region=module.region,
        postgres=postgres,
        redis=redis,
        buckets=buckets,
        kms_keys=kms_keys,
        secrets=secrets,
        cluster=cluster,
        app=app,
        warnings=(*module.warnings, *redis_warnings, *kms_warnings, *app_warnings),
    )


def _environment_dir(root: Path, kind: str, env: str) -> Path:
    directory = root / kind / env
    if not directory.is_dir():
        parent = root / kind
        found = sorted(p.name for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []
        known = f"environments found: {', '.join(found)}" if found else f"{parent} has none"
        raise ConfigurationError(
            f"{_display(directory, root)}: no {kind} directory for environment {env!r} ({known})"
        )
    return directory


# ---------------------------------------------------------------------------------------
# Mapping Terraform resources to the topology
# ---------------------------------------------------------------------------------------


def _map_postgres(module: _TerraformModule) -> PostgresSpec:
    for block in module.of_type("aws_rds_cluster", "aws_rds_cluster_instance"):
        raise module.error(
            block,
            "Aurora clusters are not supported; the local backend runs PostgreSQL "
            "as aws_db_instance (one primary, optional replicate_source_db replica)",
        )
    instances = module.of_type("aws_db_instance")
    for block in instances:
        if "engine" in block.attributes:
            engine = module.string(block, "engine")
            if engine != "postgres":
                raise module.error(
                    block, f'engine "{engine}" is not supported; the local backend runs PostgreSQL'
                )
    primaries = [b for b in instances if "replicate_source_db" not in b.attributes]
    if not primaries:
        raise ConfigurationError(
            f"{module.directory}: no aws_db_instance without replicate_source_db: "
            "the environment needs a PostgreSQL primary"
        )
    if len(primaries) > 1:
        names = ", ".join(b.address for b in primaries)
        raise module.error(primaries[1], f"more than one PostgreSQL primary ({names})")
    primary = primaries[0]
    if "engine" not in primary.attributes:
        raise module.error(primary, 'engine is required (engine = "postgres")')
    if "engine_version" not in primary.attributes:
        raise module.error(
            primary, "engine_version is required: the local major version follows it"
        )
    engine_version = module.string(primary, "engine_version")
    major = engine_version.split(".")[0]
    if not major.isdigit():
        raise module.error(primary, f"engine_version {engine_version!r} has no major version")
    replicas = [b for b in instances if b is not primary]
    for replica in replicas:
        if not _mentions(replica, "replicate_source_db", primary.address):
            source = module.evaluate(replica, "replicate_source_db")
            if source != module.optional(primary, "identifier", None):
                raise module.error(
                    replica,
                    f"replicate_source_db = {replica.sources['replicate_source_db']} "
                    f"is not {primary.address}",
                )
    if "username" not in primary.attributes:
        raise module.error(primary, "username is required")
    return PostgresSpec(
        version=int(major),
        replica=bool(replicas),
        multi_az=module.optional(primary, "multi_az", False) is True,
        database=_database_of(module, primary),
        username=module.string(primary, "username"),
        password_secret=_password_secret(module, primary),
    )


def _database_of(module: _TerraformModule, primary: _Block) -> str:
    # Without db_name RDS creates no database; clients then use the default "postgres".
    return module.string(primary, "db_name") if "db_name" in primary.attributes else "postgres"


def _password_secret(module: _TerraformModule, primary: _Block) -> str:
    """The Secrets Manager secret whose value is the same random_password as the primary's."""
    generators = _mentions_type(primary, "password", "random_password")
    if not generators:
        raise module.error(
            primary,
            "password must come from a random_password stored in an "
            "aws_secretsmanager_secret (the harness generates it and writes the secret)",
        )
    for version in module.of_type("aws_secretsmanager_secret_version"):
        stored = _mentions_type(version, "secret_string", "random_password")
        if not set(stored) & set(generators) or "secret_id" not in version.attributes:
            continue
        for instance in module.instances(version):
            secret = module.evaluate(version, "secret_id", instance)
            if isinstance(secret, _Ref) and secret.address.startswith("aws_secretsmanager_secret."):
                block, secret_instance = module.instance_of(secret)
                return module.string(block, "name", secret_instance)
    raise module.error(
        primary,
        f"no aws_secretsmanager_secret_version stores {generators[0]}: "
        "the database password needs a Secrets Manager secret",
    )


def _map_redis(module: _TerraformModule) -> tuple[RedisSpec, list[str]]:
    for block in module.of_type("aws_elasticache_serverless_cache"):
        raise module.error(
            block, "ElastiCache Serverless is not supported; use a replication group"
        )
    candidates = module.of_type("aws_elasticache_replication_group") + [
        b
        for b in module.of_type("aws_elasticache_cluster")
        if "replication_group_id" not in b.attributes
    ]
    if not candidates:
        raise ConfigurationError(
            f"{module.directory}: no aws_elasticache_replication_group: the environment needs Redis"
        )
    if len(candidates) > 1:
        names = ", ".join(b.address for b in candidates)
        raise module.error(candidates[1], f"more than one Redis ({names}); the harness runs one")
    block = candidates[0]
    engine = module.string(block, "engine") if "engine" in block.attributes else "redis"
    if engine != "redis":
        raise module.error(
            block, f'engine "{engine}" is not supported; the local backend runs Redis'
        )
    if "engine_version" not in block.attributes:
        raise module.error(block, "engine_version is required: the local Redis follows it")
    version = module.string(block, "engine_version")
    settings = block.nested("cluster_mode")  # provider 4.x spelled it as a block
    source = settings[0] if settings else block
    shards = _as_int_attr(module, source, "num_node_groups", 1)
    replicas = _as_int_attr(module, source, "replicas_per_node_group", -1)
    if replicas < 0:
        replicas = max(_as_int_attr(module, block, "num_cache_clusters", 1) - 1, 0)
    mode = module.optional(block, "cluster_mode", None) if not settings else None
    parameter_group = module.optional(block, "parameter_group_name", "")
    cluster_mode = (
        mode in ("enabled", "compatible")
        or shards > 1
        or (isinstance(parameter_group, str) and ".cluster.on" in parameter_group)
    )
    warnings = []
    if cluster_mode:
        warnings.append(
            f"ElastiCache cluster mode ({shards} shards) runs as a single Redis node locally"
        )
    spec = RedisSpec(version, cluster_mode, shards, replicas)
    return spec, warnings


def _as_int_attr(module: _TerraformModule, block: _Block, attribute: str, default: int) -> int:
    value = module.optional(block, attribute, default)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise module.error(block, f"{attribute} = {block.sources[attribute]} is not a whole number")


def _kms_aliases(module: _TerraformModule) -> dict[str, str]:
    """KMS key address -> alias name."""
    aliases: dict[str, str] = {}
    for alias in module.of_type("aws_kms_alias"):
        for key in _mentions_type(alias, "target_key_id", "aws_kms_key"):
            aliases.setdefault(key, module.string(alias, "name"))
    return aliases


def _map_kms_keys(module: _TerraformModule) -> tuple[tuple[KmsKeySpec, ...], list[str]]:
    aliases = _kms_aliases(module)
    keys: list[KmsKeySpec] = []
    warnings: list[str] = []
    for block in module.of_type("aws_kms_key"):
        alias = aliases.get(block.address)
        if alias is None:
            alias = f"alias/{block.labels[1]}"
            warnings.append(
                f"{block.file}: {block.address} has no aws_kms_alias; it is {alias} locally"
            )
        description = module.optional(block, "description", "")
        keys.append(KmsKeySpec(alias, description if isinstance(description, str) else ""))
    return tuple(keys), warnings


def _map_buckets(module: _TerraformModule) -> tuple[BucketSpec, ...]:
    aliases = _kms_aliases(module)
    buckets: list[BucketSpec] = []
    for block in module.of_type("aws_s3_bucket"):
        if "bucket" not in block.attributes:
            raise module.error(block, "bucket (a fixed name) is required; bucket_prefix is not")
        for instance in module.instances(block):
            buckets.append(
                BucketSpec(
                    name=module.string(block, "bucket", instance),
                    kms_key=_bucket_kms_key(module, block, aliases),
                    versioning=_bucket_versioning(module, block),
                )
            )
    return tuple(buckets)


def _bucket_versioning(module: _TerraformModule, bucket: _Block) -> bool:
    for legacy in bucket.nested("versioning"):
        return module.optional(legacy, "enabled", False) is True
    for block in module.of_type("aws_s3_bucket_versioning"):
        if _mentions(block, "bucket", bucket.address):
            for configuration in block.nested("versioning_configuration"):
                return module.optional(configuration, "status", "") == "Enabled"
    return False


def _bucket_kms_key(
    module: _TerraformModule, bucket: _Block, aliases: dict[str, str]
) -> str | None:
    for block in module.of_type("aws_s3_bucket_server_side_encryption_configuration"):
        if not _mentions(block, "bucket", bucket.address):
            continue
        for rule in block.nested("rule"):
            for default in rule.nested("apply_server_side_encryption_by_default"):
                algorithm = module.optional(default, "sse_algorithm", "")
                if algorithm not in ("aws:kms", "aws:kms:dsse"):
                    continue
                if "kms_master_key_id" not in default.attributes:
                    return "alias/aws/s3"
                keys = _mentions_type(default, "kms_master_key_id", "aws_kms_key")
                if keys:
                    if keys[0] not in aliases:
                        return f"alias/{keys[0].split('.')[1]}"
                    return aliases[keys[0]]
                literal = module.evaluate(default, "kms_master_key_id")
                if not isinstance(literal, str):
                    raise module.error(default, "kms_master_key_id is not a key id, ARN or alias")
                return literal
    return None


def _map_secrets(module: _TerraformModule) -> tuple[SecretSpec, ...]:
    secrets: list[SecretSpec] = []
    versions = module.of_type("aws_secretsmanager_secret_version")
    for block in module.of_type("aws_secretsmanager_secret"):
        if "name" not in block.attributes:
            raise module.error(block, "name (a fixed name) is required; name_prefix is not")
        generated = any(
            _mentions(v, "secret_id", block.address)
            and (
                _mentions_type(v, "secret_string", "random_password")
                or _mentions_type(v, "secret_binary", "random_password")
            )
            for v in versions
        )
        for instance in module.instances(block):
            secrets.append(
                SecretSpec(
                    name=module.string(block, "name", instance),
                    kind="secretsmanager",
                    generated=generated,
                    description=_description(module, block, instance),
                )
            )
    for block in module.of_type("aws_ssm_parameter"):
        for instance in module.instances(block):
            secrets.append(
                SecretSpec(
                    name=module.string(block, "name", instance),
                    kind="ssm",
                    generated=bool(_mentions_type(block, "value", "random_password")),
                    description=_description(module, block, instance),
                )
            )
    return tuple(secrets)


def _description(module: _TerraformModule, block: _Block, instance: _Instance) -> str:
    value = module.optional(block, "description", "", instance)
    return value if isinstance(value, str) else ""


def _map_cluster(module: _TerraformModule) -> ClusterSpec:
    clusters = module.of_type("aws_eks_cluster")
    if len(clusters) != 1:
        found = ", ".join(b.address for b in clusters) or "none"
        raise ConfigurationError(
            f"{module.directory}: the environment needs exactly one aws_eks_cluster (found {found})"
        )
    cluster = clusters[0]
    if "version" not in cluster.attributes:
        raise module.error(cluster, "version is required: the simulator reports it")
    groups = module.of_type("aws_eks_node_group")
    if not groups:
        raise ConfigurationError(
            f"{module.directory}: no aws_eks_node_group: the simulator needs nodes to run pods"
        )
    node_count = 0
    zones: list[str] = []
    for group in groups:
        for instance in module.instances(group):
            scaling = group.nested("scaling_config")
            if not scaling or "desired_size" not in scaling[0].attributes:
                raise module.error(group, "scaling_config.desired_size is required")
            node_count += _as_int_attr(module, scaling[0], "desired_size", 0)
            for zone in _node_group_zones(module, group, instance):
                if zone not in zones:
                    zones.append(zone)
    return ClusterSpec(node_count, tuple(zones), module.string(cluster, "version"))


def _node_group_zones(module: _TerraformModule, group: _Block, instance: _Instance) -> list[str]:
    if "subnet_ids" not in group.attributes:
        raise module.error(group, "subnet_ids is required: node zones follow the subnets")
    subnets = module.evaluate(group, "subnet_ids", instance)
    zones: list[str] = []
    for subnet in subnets if isinstance(subnets, list) else [subnets]:
        if not isinstance(subnet, _Ref) or not subnet.address.startswith("aws_subnet."):
            raise module.error(
                group,
                f"subnet_ids = {group.sources['subnet_ids']}: {subnet!r} is not an "
                "aws_subnet of this configuration, so its zone is unknown",
            )
        block, subnet_instance = module.instance_of(subnet)
        if "availability_zone" not in block.attributes:
            raise module.error(block, "availability_zone is required: node zones follow it")
        zones.append(module.string(block, "availability_zone", subnet_instance))
    return zones


# ---------------------------------------------------------------------------------------
# Kubernetes manifests
# ---------------------------------------------------------------------------------------

# Helm's install order, with CRDs first so that custom resources in the same set apply.
_APPLY_ORDER = (
    "CustomResourceDefinition",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
)
_CLUSTER_SCOPED = frozenset(
    {
        "CustomResourceDefinition",
        "Namespace",
        "StorageClass",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "IngressClass",
        "PriorityClass",
    }
)


@dataclass(frozen=True, slots=True)
class _Document:
    manifest: Manifest
    file: str
    number: int  # 1-based position in its file

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    def error(self, message: str) -> ConfigurationError:
        return ConfigurationError(f"{self.file}: {self.kind}/{self.name}: {message}")


def _read_manifests(directory: Path, root: Path) -> tuple[AppManifests, list[str]]:
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise ConfigurationError(f"{_display(directory, root)}: no .yaml manifests")
    documents = [d for path in files for d in _documents_of(path, _display(path, root))]
    ordered = sorted(
        enumerate(documents),
        key=lambda item: (
            _APPLY_ORDER.index(item[1].kind) if item[1].kind in _APPLY_ORDER else len(_APPLY_ORDER),
            item[0],
        ),
    )
    documents = [d for _, d in ordered]
    namespace = _namespace_of(documents, _display(directory, root))
    deployment = _single(documents, "Deployment", _display(directory, root))
    services = [d for d in documents if d.kind == "Service"]
    public = [d for d in services if d.manifest.get("spec", {}).get("type") == "LoadBalancer"]
    if not services:
        raise ConfigurationError(f"{_display(directory, root)}: no Service for the app")
    image, port = _container_of(deployment)
    app = AppManifests(
        namespace=namespace,
        documents=tuple(d.manifest for d in documents),
        files=tuple(files),
        image=image,
        container_port=port,
        service_name=(public or services)[0].name,
        deployment_name=deployment.name,
    )
    return app, _contract_warnings(documents, _display(directory, root))


def _documents_of(path: Path, display: str) -> Iterator[_Document]:
    text = path.read_text(encoding="utf-8")
    try:
        loaded = [d for d in yaml.safe_load_all(text)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        where = f"{display}:{line}:{mark.column + 1}" if mark else display
        problem = exc.problem or exc.context or "invalid YAML"
        resource = _resource_near(text, line)
        raise ConfigurationError(f"{where}: {resource}: YAML syntax error: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{display}: YAML error: {exc}") from exc
    for number, manifest in enumerate(loaded, start=1):
        if manifest is None:
            continue  # an empty document between separators
        yield _checked(manifest, display, number)


def _checked(manifest: object, display: str, number: int) -> _Document:
    if not isinstance(manifest, dict):
        raise ConfigurationError(
            f"{display}: document {number}: a manifest is a mapping, not {type(manifest).__name__}"
        )
    metadata = manifest.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    label = f"document {number} ({name})" if name else f"document {number}"
    for required in ("apiVersion", "kind"):
        if not isinstance(manifest.get(required), str) or not manifest[required]:
            raise ConfigurationError(
                f"{display}: {label}: no {required}; every manifest needs apiVersion and kind"
            )
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"{display}: {label}: {manifest['kind']} has no metadata.name")
    return _Document(_json_safe(manifest), display, number)


def _resource_near(text: str, line: int) -> str:
    """``Kind/name (document N)`` of the document a YAML error sits in, read from its text."""
    lines = text.splitlines()[: max(line, 1)]
    starts = [i for i, content in enumerate(lines) if content.startswith("---")]
    first = starts[-1] + 1 if starts else 0
    number = len(starts) + (0 if text.lstrip().startswith("---") else 1)
    kind = name = None
    for content in lines[first:]:
        kind = kind or _first(r"^kind:\s*(\S+)", content)
        name = name or _first(r"^\s{2}name:\s*(\S+)", content)
    if kind and name:
        return f"{kind}/{name} (document {number})"
    return f"{kind or 'document'} {number}" if kind else f"document {number}"


def _first(pattern: str, text: str) -> str | None:
    match = re.match(pattern, text)
    return match.group(1).strip("'\"") if match else None


def _namespace_of(documents: list[_Document], directory: str) -> str:
    namespace = _single(documents, "Namespace", directory).name
    for document in documents:
        if document.kind in _CLUSTER_SCOPED:
            continue
        declared = document.manifest["metadata"].get("namespace", namespace)
        if declared != namespace:
            raise document.error(
                f"namespace {declared!r} differs from the environment's Namespace {namespace!r}"
            )
    return namespace


def _single(documents: list[_Document], kind: str, directory: str) -> _Document:
    found = [d for d in documents if d.kind == kind]
    if len(found) != 1:
        where = ", ".join(f"{d.file}: {d.kind}/{d.name}" for d in found) or "none"
        raise ConfigurationError(f"{directory}: expected exactly one {kind}, found {where}")
    return found[0]


def _container_of(deployment: _Document) -> tuple[str, int]:
    spec = deployment.manifest.get("spec", {}).get("template", {}).get("spec", {})
    containers = spec.get("containers") or []
    if not containers or not isinstance(containers[0], dict) or "image" not in containers[0]:
        raise deployment.error("spec.template.spec.containers[0].image is required")
    container = containers[0]
    ports = [p for p in container.get("ports") or [] if isinstance(p, dict)]
    named = [p for p in ports if p.get("name") == "http"] or ports
    if not named or not isinstance(named[0].get("containerPort"), int):
        raise deployment.error(f"container {container.get('name')!r} declares no containerPort")
    return str(container["image"]), int(named[0]["containerPort"])


def _contract_warnings(documents: list[_Document], directory: str) -> list[str]:
    """Keys of the app's env contract that no ConfigMap or Secret carries."""
    warnings = []
    for kind, keys in (("ConfigMap", APP_CONFIG_KEYS), ("Secret", APP_SECRET_KEYS)):
        present: set[str] = set()
        for document in documents:
            if document.kind == kind:
                for section in ("data", "stringData"):
                    present.update(document.manifest.get(section) or {})
        missing = [k for k in keys if k not in present]
        if missing:
            warnings.append(
                f"{directory}: no {kind} carries {', '.join(missing)} of the app's env contract"
            )
    return warnings


def _json_safe(manifest: Manifest) -> Manifest:
    """Documents round-trip through JSON so YAML dates and the like become plain strings."""
    result: Manifest = json.loads(json.dumps(manifest, default=str))
    return result
