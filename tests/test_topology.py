"""Tests of harness.topology: the repository's environments load as described, and broken
Terraform or manifests give a ConfigurationError naming the file and the resource."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.errors import ConfigurationError
from harness.topology import (
    APP_CONFIG_KEYS,
    APP_SECRET_KEYS,
    DEFAULT_INFRASTRUCTURE,
    BucketSpec,
    ClusterSpec,
    PostgresSpec,
    RedisSpec,
    Topology,
    load_topology,
)

FIXTURES = Path(__file__).parent / "fixtures" / "topology"
ENVIRONMENTS = ("staging", "production")


@pytest.fixture(scope="module")
def staging() -> Topology:
    return load_topology("staging")


@pytest.fixture(scope="module")
def production() -> Topology:
    return load_topology("production")


def _overlay(tmp_path: Path, case: str) -> Path:
    """A copy of the repository's infrastructure/ with one broken-input overlay on top."""
    root = tmp_path / "infrastructure"
    shutil.copytree(DEFAULT_INFRASTRUCTURE, root)
    shutil.copytree(FIXTURES / case, root, dirs_exist_ok=True)
    return root


def _document(topology: Topology, kind: str) -> dict[str, object]:
    (found,) = [d for d in topology.app.documents if d["kind"] == kind]
    return found


# --- the repository's environments ------------------------------------------------------


def test_staging_database_has_a_replica_in_one_zone(staging: Topology) -> None:
    assert staging.name == "staging"
    assert staging.region == "eu-central-1"
    assert staging.postgres == PostgresSpec(
        version=15,
        replica=True,
        multi_az=False,
        database="aicode",
        username="aicode",
        password_secret="aicode-staging/db-password",
    )
    assert staging.cluster == ClusterSpec(
        node_count=2, zones=("eu-central-1a",), kubernetes_version="1.31"
    )


def test_staging_redis_is_one_node_without_cluster_mode(staging: Topology) -> None:
    assert staging.redis == RedisSpec(
        version="7.1", cluster_mode=False, shards=1, replicas_per_shard=0
    )
    assert staging.warnings == ()


def test_production_is_multi_az_across_three_zones(production: Topology) -> None:
    assert production.postgres.version == 15
    assert production.postgres.replica is True
    assert production.postgres.multi_az is True
    assert production.cluster.node_count >= 3
    assert production.cluster.zones == ("eu-central-1a", "eu-central-1b", "eu-central-1c")


def test_production_redis_cluster_mode_runs_as_one_node_with_a_warning(
    production: Topology,
) -> None:
    assert production.redis == RedisSpec(
        version="7.1", cluster_mode=True, shards=3, replicas_per_shard=1
    )
    assert production.warnings == (
        "ElastiCache cluster mode (3 shards) runs as a single Redis node locally",
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_buckets_are_encrypted_with_the_data_key(env: str) -> None:
    topology = load_topology(env)
    data_key = f"alias/aicode-{env}-data"
    assert topology.buckets == (
        BucketSpec(f"aicode-{env}-uploads", kms_key=data_key, versioning=True),
        BucketSpec(f"aicode-{env}-backups", kms_key=data_key, versioning=True),
    )
    assert data_key in {key.alias for key in topology.kms_keys}
    assert all(key.description for key in topology.kms_keys)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secrets_hold_generated_passwords_and_ssm_settings(env: str) -> None:
    secrets = {s.name: s for s in load_topology(env).secrets}
    for name in (f"aicode-{env}/db-password", f"aicode-{env}/jwt-secret"):
        assert secrets[name].kind == "secretsmanager"
        assert secrets[name].generated is True
    parameters = [s for s in secrets.values() if s.kind == "ssm"]
    assert f"/aicode-{env}/db/host" in {p.name for p in parameters}
    assert not any(p.generated for p in parameters)
    assert all(s.description for s in secrets.values())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_manifests_come_in_apply_order(env: str) -> None:
    app = load_topology(env).app
    kinds = [d["kind"] for d in app.documents]
    assert kinds[:2] == ["CustomResourceDefinition", "Namespace"]
    assert kinds.index("CustomResourceDefinition") < kinds.index("PrometheusRule")
    assert kinds.index("ConfigMap") < kinds.index("Deployment")
    assert kinds.index("Secret") < kinds.index("Deployment")
    assert app.namespace == f"aicode-{env}"
    assert (app.image, app.container_port) == ("aicode-api:1.0.0", 3000)
    assert (app.deployment_name, app.service_name) == ("aicode-api", "aicode-api")
    assert {f.name for f in app.files} == {
        "namespace.yaml",
        "configmap.yaml",
        "secret.yaml",
        "deployment.yaml",
        "service.yaml",
        "pdb.yaml",
        "monitoring.yaml",
    }


@pytest.mark.parametrize(("env", "replicas"), [("staging", 2), ("production", 3)])
def test_deployment_follows_the_rollout_contract(env: str, replicas: int) -> None:
    topology = load_topology(env)
    spec = _document(topology, "Deployment")["spec"]
    assert isinstance(spec, dict)
    assert spec["replicas"] == replicas
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 30
    (container,) = pod["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    assert {"requests", "limits"} <= set(container["resources"])
    assert container["env"] == [
        {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
    ]
    assert container["envFrom"] == [
        {"configMapRef": {"name": "aicode-api-config"}},
        {"secretRef": {"name": "aicode-api-secrets"}},
    ]
    service = _document(topology, "Service")["spec"]
    assert isinstance(service, dict)
    assert service["type"] == "LoadBalancer"
    assert service["ports"][0]["port"] == 80
    assert service["ports"][0]["targetPort"] == "http"
    pdb = _document(topology, "PodDisruptionBudget")["spec"]
    assert isinstance(pdb, dict)
    assert pdb["minAvailable"] == 1


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_configmap_and_secret_carry_exactly_the_env_contract(env: str) -> None:
    topology = load_topology(env)
    config = _document(topology, "ConfigMap")["data"]
    secret = _document(topology, "Secret")["stringData"]
    assert isinstance(config, dict)
    assert isinstance(secret, dict)
    assert tuple(config) == APP_CONFIG_KEYS
    assert config["PORT"] == "3000"
    assert config["AWS_ENDPOINT_URL"] == ""
    assert config["S3_BUCKET"] == f"aicode-{env}-uploads"
    assert tuple(secret) == APP_SECRET_KEYS
    assert set(secret.values()) == {"REPLACED_AT_DEPLOY"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alerts_use_the_apps_metrics(env: str) -> None:
    rule = _document(load_topology(env), "PrometheusRule")["spec"]
    assert isinstance(rule, dict)
    alerts = {r["alert"]: r for group in rule["groups"] for r in group["rules"]}
    assert set(alerts) == {
        "AicodeApiHighErrorRate",
        "AicodeApiHighLatencyP95",
        "AicodeApiPodRestartLoop",
    }
    error_rate = alerts["AicodeApiHighErrorRate"]
    assert "http_requests_total" in error_rate["expr"]
    assert "0.05" in error_rate["expr"]
    assert error_rate["for"] == "5m"
    latency = alerts["AicodeApiHighLatencyP95"]
    assert "http_request_duration_seconds_bucket" in latency["expr"]
    assert "histogram_quantile(0.95" in latency["expr"]
    assert latency["for"] == "10m"


def test_topology_is_frozen(staging: Topology) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        staging.name = "production"  # type: ignore[misc]


# --- the files are valid for their tools ------------------------------------------------


def test_terraform_is_formatted() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH; `terraform fmt -check` cannot run")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", str(DEFAULT_INFRASTRUCTURE / "terraform")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"unformatted files:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_manifests_validate_against_kubernetes_1_31(env: str) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    for document in load_topology(env).app.documents:
        if document["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # a custom resource: its schema is the CRD in the same file
        kubernetes_validate.validate(document, "1.31.0", strict=True)


# --- broken inputs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "names"),
    [
        (
            "broken_hcl",
            ["infrastructure/terraform/staging/reports.tf:5:", "aws_s3_bucket.reports", "HCL"],
        ),
        (
            "unsupported_engine",
            [
                "infrastructure/terraform/staging/legacy_db.tf",
                "aws_db_instance.legacy",
                'engine "mysql" is not supported',
            ],
        ),
        (
            "yaml_syntax_error",
            [
                "infrastructure/k8s/staging/feature-flags.yaml:8:",
                "ConfigMap/aicode-feature-flags",
                "YAML syntax error",
            ],
        ),
        (
            "manifest_without_kind",
            ["infrastructure/k8s/staging/worker.yaml", "document 2 (aicode-worker)", "no kind"],
        ),
    ],
)
def test_broken_input_names_the_file_and_the_resource(
    tmp_path: Path, case: str, names: list[str]
) -> None:
    root = _overlay(tmp_path, case)
    with pytest.raises(ConfigurationError) as caught:
        load_topology("staging", root)
    for name in names:
        assert name in str(caught.value)


def test_missing_environment_names_the_directory_and_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"infrastructure/terraform/qa") as caught:
        load_topology("qa")
    assert "'qa'" in str(caught.value)
    assert "production, staging" in str(caught.value)


def test_missing_manifest_directory_is_named(tmp_path: Path) -> None:
    root = tmp_path / "infrastructure"
    shutil.copytree(DEFAULT_INFRASTRUCTURE, root)
    shutil.rmtree(root / "k8s" / "staging")
    with pytest.raises(ConfigurationError, match=r"infrastructure/k8s/staging: no k8s directory"):
        load_topology("staging", root)


# --- how Terraform expressions are read -------------------------------------------------


def _environment(tmp_path: Path, terraform: str) -> Path:
    """The staging manifests next to a replaced staging Terraform directory."""
    root = tmp_path / "infrastructure"
    shutil.copytree(DEFAULT_INFRASTRUCTURE / "k8s", root / "k8s")
    (root / "terraform" / "staging").mkdir(parents=True)
    (root / "terraform" / "staging" / "main.tf").write_text(terraform)
    return root


_MINIMAL = """
variable "zones" {
  default = 2
}

provider "aws" {
  region = "us-east-1"
}

data "aws_availability_zones" "available" {}

locals {
  azs = slice(data.aws_availability_zones.available.names, 0, var.zones)
}

resource "random_password" "db" {
  length = 16
}

resource "aws_secretsmanager_secret" "db" {
  for_each = toset(["db"])
  name     = "app/${each.key}-password"
}

resource "aws_secretsmanager_secret_version" "db" {
  secret_id     = aws_secretsmanager_secret.db["db"].id
  secret_string = jsonencode({ password = random_password.db.result })
}

resource "aws_db_instance" "main" {
  engine         = "postgres"
  engine_version = "16"
  username       = "app"
  password       = random_password.db.result
}

resource "aws_elasticache_replication_group" "cache" {
  engine_version     = "7.0"
  num_cache_clusters = 2
}

resource "aws_subnet" "nodes" {
  count             = length(local.azs)
  availability_zone = local.azs[count.index]
}

resource "aws_eks_cluster" "main" {
  version = "1.30"
}

resource "aws_eks_node_group" "a" {
  subnet_ids = [aws_subnet.nodes[1].id]

  scaling_config {
    desired_size = var.zones > 1 ? 4 : 1
  }
}
"""


def test_expressions_resolve_variables_locals_counts_and_for_each(tmp_path: Path) -> None:
    topology = load_topology("staging", _environment(tmp_path, _MINIMAL))
    assert topology.region == "us-east-1"
    assert topology.postgres.version == 16
    assert topology.postgres.replica is False
    assert topology.postgres.database == "postgres"
    assert topology.postgres.password_secret == "app/db-password"
    assert topology.secrets[0].generated is True
    assert topology.redis == RedisSpec("7.0", cluster_mode=False, shards=1, replicas_per_shard=1)
    assert topology.cluster == ClusterSpec(4, ("us-east-1b",), "1.30")
    assert topology.buckets == ()


def test_an_unresolvable_value_names_the_resource_and_the_reason(tmp_path: Path) -> None:
    terraform = _MINIMAL.replace('engine_version = "16"', "engine_version = var.pg_version")
    with pytest.raises(ConfigurationError) as caught:
        load_topology("staging", _environment(tmp_path, terraform))
    message = str(caught.value)
    assert "infrastructure/terraform/staging/main.tf: aws_db_instance.main" in message
    assert "variable 'pg_version' is not declared" in message


def test_a_node_group_on_an_unknown_subnet_is_refused(tmp_path: Path) -> None:
    terraform = _MINIMAL.replace(
        "subnet_ids = [aws_subnet.nodes[1].id]", 'subnet_ids = ["subnet-0123"]'
    )
    with pytest.raises(ConfigurationError, match=r"aws_eks_node_group\.a: subnet_ids"):
        load_topology("staging", _environment(tmp_path, terraform))
