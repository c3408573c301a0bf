"""harness.environment: staging and production start from the repository's infrastructure/ on
the local backend, the app works through its load balancer, and bad input fails clearly.

One environment per module and environment, at time scale 0.1; the bad-input cases start
their own and check that everything they started is gone again.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from harness._reaper import tagged_processes
from harness._run import current_run
from harness.environment import Endpoints, Environment
from harness.errors import ConfigurationError, ManifestRejectedError, WorkloadFailedError
from harness.pytest_plugin import worker_id
from harness.topology import DEFAULT_INFRASTRUCTURE, load_topology

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.xdist_group("environment"),  # one worker runs this module's environments
]

REPO = DEFAULT_INFRASTRUCTURE.parent
CONFIG = REPO / "pyproject.toml"
SCALE = 0.1


def _name(prefix: str) -> str:
    return f"{prefix}-{worker_id()}"


@pytest.fixture(scope="module")
def staging() -> Iterator[Environment]:
    with Environment(load_topology("staging"), time_scale=SCALE, name=_name("t-stg")) as env:
        yield env


@pytest.fixture(scope="module")
def production() -> Iterator[Environment]:
    with Environment(load_topology("production"), time_scale=SCALE, name=_name("t-prd")) as env:
        yield env


def _nodes(env: Environment) -> list[tuple[str, str]]:
    out = env.kubectl(
        "get",
        "nodes",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} "
        "{.metadata.labels.topology\\.kubernetes\\.io/zone}{'\\n'}{end}",
    ).stdout
    return [(line.split()[0], line.split()[1]) for line in out.strip().splitlines()]


# -- staging ------------------------------------------------------------------------------


def test_staging_runs_the_platforms_manifests(staging: Environment) -> None:
    nodes = _nodes(staging)
    assert len(nodes) == 2
    assert {zone for _, zone in nodes} == {"eu-central-1a"}
    deploy = staging.kubectl("get", "deploy", "aicode-api", "-n", "aicode-staging").stdout
    assert "2/2" in deploy
    rules = staging.kubectl("get", "prometheusrules", "-n", "aicode-staging").stdout
    assert "aicode-api" in rules
    assert staging.endpoints.app_url.startswith("http://127.")


def test_database_password_comes_from_secrets_manager(staging: Environment) -> None:
    manager = staging.aws_client("secretsmanager")
    password = manager.get_secret_value(SecretId="aicode-staging/db-password")["SecretString"]
    assert f":{password}@" in staging.postgres_dsn
    with psycopg.connect(staging.postgres_dsn, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("aicode",)
    replica = staging.postgres_replica_dsn
    assert replica is not None
    with psycopg.connect(replica, connect_timeout=5) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
    wrong = staging.postgres_dsn.replace(password, "harness-bootstrap")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=5).close()


def test_endpoints_round_trip_and_never_show_the_password(staging: Environment) -> None:
    endpoints = staging.endpoints
    assert Endpoints.from_json(endpoints.to_json()) == endpoints
    wrapped = '{"pid": 1, "endpoints": ' + endpoints.to_json() + ', "extra": true}'
    assert Endpoints.from_json(wrapped) == endpoints
    password = staging.db_password
    assert password not in repr(endpoints)
    assert password not in str(endpoints.redacted())
    exports = endpoints.exports()
    assert exports["DATABASE_URL"] == endpoints.postgres_dsn
    assert exports["KUBECONFIG"] == endpoints.kubeconfig
    assert exports["AWS_ENDPOINT_URL"] == endpoints.aws_endpoint_url
    assert (
        endpoints.buckets["aicode-staging-uploads"]
        == endpoints.kms_keys["alias/aicode-staging-data"]
    )
    with pytest.raises(ConfigurationError, match=r"missing .*postgres_dsn"):
        Endpoints.from_json('{"environment": "staging"}')


def test_app_crud_round_trip_through_the_load_balancer(staging: Environment) -> None:
    created = staging.app_request("POST", "/items", {"name": "first"})
    assert created.status == 201, created.body
    item = created.json()
    assert staging.app_request("GET", f"/items/{item['id']}").json()["name"] == "first"
    updated = staging.app_request("PUT", f"/items/{item['id']}", {"name": "second"})
    assert updated.status == 200 and updated.json()["name"] == "second"
    assert staging.app_request("DELETE", f"/items/{item['id']}").status == 204
    assert staging.app_request("GET", f"/items/{item['id']}").status == 404


def test_app_reads_through_the_redis_cache(staging: Environment) -> None:
    item = staging.app_request("POST", "/items", {"name": "cached"}).json()
    first = staging.app_request("GET", f"/items/{item['id']}")
    second = staging.app_request("GET", f"/items/{item['id']}")
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert second.json() == first.json()


def test_app_uploads_to_s3_with_the_kms_key(staging: Environment) -> None:
    answer = staging.app_request("POST", "/uploads/report-a.txt", b"hello")
    assert answer.status == 201, answer.body
    head = staging.aws_client("s3").head_object(Bucket="aicode-staging-uploads", Key="report-a.txt")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(staging.endpoints.kms_keys["alias/aicode-staging-data"])
    assert staging.app_request("GET", "/uploads/report-a.txt").body == b"hello"


def test_health_answers_for_every_component(staging: Environment) -> None:
    health = {h.component: h for h in staging.health()}
    assert set(health) == {"postgres", "postgres replica", "redis", "aws", "cluster", "app"}
    assert all(h.answers for h in health.values()), health
    assert staging.db_password not in str(health)


# -- production ---------------------------------------------------------------------------


def test_production_has_three_nodes_in_three_zones(production: Environment) -> None:
    nodes = _nodes(production)
    assert len(nodes) == 3
    assert {zone for _, zone in nodes} == {"eu-central-1a", "eu-central-1b", "eu-central-1c"}
    assert "3/3" in production.kubectl("get", "deploy", "-n", "aicode-production").stdout
    assert production.warnings[0] == (
        "ElastiCache cluster mode (3 shards) runs as a single Redis node locally"
    )
    created = production.app_request("POST", "/items", {"name": "prod"})
    assert created.status == 201


# -- bad input ----------------------------------------------------------------------------


def _infrastructure_copy(tmp_path: Path) -> Path:
    root = tmp_path / "infrastructure"
    shutil.copytree(DEFAULT_INFRASTRUCTURE, root)
    return root


def _run_processes() -> set[int]:
    return {p.pid for p in tagged_processes(current_run().id).get(current_run().id, [])}


def _assert_cleaned_up(before: set[int]) -> None:
    deadline = time.monotonic() + 10
    left = _run_processes() - before
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _run_processes() - before
    assert not left, f"processes left by the failed start: {sorted(left)}"


def test_a_manifest_the_api_rejects_names_the_object_and_the_field(tmp_path: Path) -> None:
    root = _infrastructure_copy(tmp_path)
    deployment = root / "k8s" / "staging" / "deployment.yaml"
    text = deployment.read_text()
    assert "containerPort: 3000" in text
    deployment.write_text(text.replace("containerPort: 3000", "containerPort: 70000"))
    before = _run_processes()
    env = Environment(
        load_topology("staging", root), time_scale=SCALE, config_file=CONFIG, name=_name("t-bad")
    )
    with pytest.raises(ManifestRejectedError) as caught:
        env.start(timeout=60)
    message = str(caught.value)
    assert "Deployment aicode-staging/aicode-api" in message
    assert str(deployment) in message
    assert "containerPort" in message
    assert "422" in message
    _assert_cleaned_up(before)


def test_an_image_without_a_mapping_fails_fast_naming_errimagepull(tmp_path: Path) -> None:
    root = _infrastructure_copy(tmp_path)
    deployment = root / "k8s" / "staging" / "deployment.yaml"
    deployment.write_text(deployment.read_text().replace("aicode-api:1.0.0", "no-such-image:1"))
    before = _run_processes()
    env = Environment(
        load_topology("staging", root), time_scale=SCALE, config_file=CONFIG, name=_name("t-img")
    )
    began = time.monotonic()
    with pytest.raises(WorkloadFailedError) as caught:
        env.start(timeout=60)
    assert time.monotonic() - began < 30, "an unmapped image must not wait out the deadline"
    message = str(caught.value)
    assert "ErrImagePull" in message
    assert "[tool.harness.images]" in message
    assert '"no-such-image"' in message
    assert str(CONFIG) in message
    assert env.db_password and env.db_password not in message
    _assert_cleaned_up(before)


def test_a_broken_topology_names_the_file_and_the_resource(tmp_path: Path) -> None:
    root = _infrastructure_copy(tmp_path)
    overlay = Path(__file__).parent / "fixtures" / "topology" / "unsupported_engine"
    shutil.copytree(overlay, root, dirs_exist_ok=True)
    with pytest.raises(ConfigurationError) as caught:
        Environment(load_topology("staging", root))
    assert "legacy_db.tf" in str(caught.value)
    assert "aws_db_instance.legacy" in str(caught.value)


def test_bad_arguments_are_refused_before_anything_starts(tmp_path: Path) -> None:
    topology = load_topology("staging")
    with pytest.raises(ConfigurationError, match="needs a Topology"):
        Environment("staging")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="time_scale must be > 0"):
        Environment(topology, time_scale=0)
    with pytest.raises(ConfigurationError, match="no such file"):
        Environment(topology, config_file=tmp_path / "missing.toml")
    with pytest.raises(ConfigurationError, match="docker backend cannot run a whole environment"):
        Environment(topology, "docker").start()
