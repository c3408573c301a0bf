"""Scenario: the platform's staging environment, from infrastructure/, serves locally.

The `staging` fixture starts it once per session (or attaches with --harness-attach); these
are the checks a platform engineer runs after a deploy: manifests applied, app answering
through the load balancer, data written and read back.
"""

from __future__ import annotations

from harness.environment import EnvironmentAccess


def test_the_platforms_manifests_are_applied(staging: EnvironmentAccess) -> None:
    deployments = staging.kubectl("get", "deploy", "-n", "aicode-staging").stdout
    line = next(row for row in deployments.splitlines() if row.startswith("aicode-api "))
    assert line.split()[1] == "2/2", deployments
    service = staging.kubectl("get", "svc", "aicode-api", "-n", "aicode-staging").stdout
    assert "LoadBalancer" in service


def test_the_app_serves_through_the_load_balancer(staging: EnvironmentAccess) -> None:
    assert staging.app_request("GET", "/health").json() == {"status": "ok"}
    assert staging.app_request("GET", "/ready").status == 200
    assert "http_requests_total" in staging.app_request("GET", "/metrics").body.decode()


def test_crud_round_trip(staging: EnvironmentAccess) -> None:
    created = staging.app_request("POST", "/items", {"name": "scenario"})
    assert created.status == 201, created.body
    item_id = created.json()["id"]
    assert staging.app_request("GET", f"/items/{item_id}").json()["name"] == "scenario"
    renamed = staging.app_request("PUT", f"/items/{item_id}", {"name": "renamed"})
    assert renamed.json()["name"] == "renamed"
    assert staging.app_request("DELETE", f"/items/{item_id}").status == 204
    assert staging.app_request("GET", f"/items/{item_id}").status == 404
