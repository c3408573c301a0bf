"""Scenario: 2.0.0-breaking's migration renames a column the serving 1.x still reads. The
blue-green check sees 1.x item reads fail with 500 while green runs, before any traffic
moves, and aborts: the Service keeps selecting blue and green is removed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis

from harness.deploy import (
    BlueGreenAbortedError,
    BlueGreenDeploy,
    DeployTarget,
    Outcome,
    Phase,
    PhaseStatus,
    SmokeCheck,
    SteadyTraffic,
)
from scenarios.conftest import APP, BASELINE_VERSION


@pytest.fixture
def schema_restored(staging: Any) -> Iterator[None]:
    """Undo migration 002 after the test (no release ships a down migration) and drop the
    cached rows, so the 1.x baseline reads its column again."""
    yield
    with psycopg.connect(staging.postgres_dsn, autocommit=True) as conn:
        renamed = conn.execute(
            "SELECT 1 FROM information_schema.columns "
            "WHERE table_name = 'items' AND column_name = 'title'"
        ).fetchone()
        if renamed:
            conn.execute("ALTER TABLE items RENAME COLUMN title TO name")
        conn.execute("DELETE FROM schema_migrations WHERE version = 2")
    redis.Redis.from_url(staging.redis_url).flushdb()


def test_breaking_migration_is_caught_before_traffic_moves(
    staging: Any, deploy_target: DeployTarget, schema_restored: None
) -> None:
    created = staging.app_request("POST", "/items", {"name": "written by 1.0.0"})
    assert created.status == 201
    item = created.json()["id"]
    # uncached reads (lists come from the replica; this item was never read, so not cached)
    item_reads = (SmokeCheck("/items?limit=5"), SmokeCheck(f"/items/{item}"))
    deploy = BlueGreenDeploy(
        deploy_target,
        APP,
        tag="2.0.0-breaking",
        smoke=(SmokeCheck("/ready"), SmokeCheck("/items?limit=5")),
        serving_checks=item_reads,
        marker=SmokeCheck("/version", body_contains='"version":"{tag}"'),
    )
    with (
        SteadyTraffic(staging.app_url, "/version", max_seconds=60) as traffic,
        pytest.raises(BlueGreenAbortedError) as aborted,
    ):
        deploy.run()
    error, report = aborted.value, traffic.report
    result = error.result
    print(error)
    print(report.summary())

    assert result.outcome is Outcome.ABORTED
    check = result.phase(Phase.CHECK_BLUE)
    assert check is not None and check.status is PhaseStatus.FAILED
    assert ": 500 " in check.detail and "/items" in check.detail  # 1.x item reads fail
    assert not result.ran(Phase.SWITCH)  # traffic never moved
    assert result.serving == APP
    cleanup = result.phase(Phase.CLEANUP)
    assert cleanup is not None and cleanup.status is PhaseStatus.SUCCEEDED
    assert error.report_dir is not None and str(error.report_dir) in str(error)
    # the Service still selects blue, which serves 1.0.0 (and shows the broken reads)
    service = json.loads(
        staging.kubectl("-n", staging.namespace, "get", "service", APP, "-o", "json").stdout
    )
    assert service["spec"]["selector"]["colour"] == "blue"
    assert staging.app_request("GET", "/version").json() == {"version": BASELINE_VERSION}
    assert staging.app_request("GET", "/items?limit=5").status == 500
    green = staging.kubectl("-n", staging.namespace, "get", "deployment", f"{APP}-green",
                            check=False)  # fmt: skip
    assert green.returncode != 0 and "NotFound" in green.stderr
    assert set(report.bodies) == {f'{{"version":"{BASELINE_VERSION}"}}'}
    assert report.failures == (), report.summary()
