"""Discovery over HTTP: /version, the group and resource lists, OpenAPI v3 and the empty v2."""

from __future__ import annotations

from typing import Any

import pytest

from harness.cluster.simulator.http.discovery import SERVER_VERSION, server_version


def test_version_document_names_the_server_version() -> None:
    document = server_version()
    assert document["gitVersion"] == SERVER_VERSION
    assert f"v{document['major']}.{document['minor']}." in SERVER_VERSION
    assert int(document["minCompatibilityMinor"]) == int(document["minor"]) - 1


@pytest.mark.integration
def test_version_reports_a_current_release(api: Any) -> None:
    status, _, body = api.request("GET", "/version")
    assert status == 200
    assert body["gitVersion"].startswith("v1.")
    assert int(body["minor"]) >= 31
    assert body["platform"].startswith("linux/")


@pytest.mark.integration
def test_discovery_is_plain_json_even_when_aggregated_is_asked(api: Any) -> None:
    aggregated = {
        "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
    }
    status, headers, body = api.request("GET", "/apis", headers=aggregated)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert body["kind"] == "APIGroupList"
    assert "apps" in [g["name"] for g in body["groups"]]
    status, _, body = api.request("GET", "/api/v1")
    assert status == 200 and body["kind"] == "APIResourceList"
    pods = next(r for r in body["resources"] if r["name"] == "pods")
    assert pods["namespaced"] and pods["kind"] == "Pod"
    assert api.request("GET", "/api")[2]["versions"] == ["v1"]
    assert api.request("GET", "/apis/apps")[2]["kind"] == "APIGroup"


@pytest.mark.integration
def test_openapi_v3_root_lists_group_versions(api: Any) -> None:
    status, _, body = api.request("GET", "/openapi/v3")
    assert status == 200
    assert "apis/apps/v1" in body["paths"]
    relative = body["paths"]["apis/apps/v1"]["serverRelativeURL"]
    status, _, document = api.request("GET", relative)
    assert status == 200 and "paths" in document


@pytest.mark.integration
def test_openapi_v2_is_an_empty_document(api: Any) -> None:
    protobuf = {"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}
    status, headers, body = api.request("GET", "/openapi/v2", headers=protobuf)
    assert (status, body) == (200, None)
    assert "protobuf" in headers["Content-Type"]
    status, _, body = api.request("GET", "/openapi/v2")
    assert status == 200 and body["paths"] == {}
