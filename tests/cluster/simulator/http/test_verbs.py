"""The object verbs over HTTP: create, get, list (pages, Table), update, patch, delete and
deletecollection, dry runs, and strategy warnings as Warning headers."""

from __future__ import annotations

from typing import Any

import pytest

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"


# -- verbs ----------------------------------------------------------------------------------
@pytest.mark.integration
def test_create_get_list_with_the_real_list_kind(api: Any, make_deployment: Any) -> None:
    status, _, created = api.request("POST", f"{APPS}/deployments", make_deployment("crud"))
    assert status == 201, created
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    status, _, got = api.request("GET", f"{APPS}/deployments/crud")
    assert status == 200 and got["metadata"]["uid"] == created["metadata"]["uid"]
    status, _, listed = api.request(
        "GET", f"{APPS}/deployments?fieldSelector=metadata.name%3Dcrud&limit=500&resourceVersion=0"
    )
    assert status == 200
    assert listed["kind"] == "DeploymentList" and listed["apiVersion"] == "apps/v1"
    assert listed["metadata"]["resourceVersion"]
    assert [d["metadata"]["name"] for d in listed["items"]] == ["crud"]
    status, _, every = api.request("GET", "/apis/apps/v1/deployments")
    assert status == 200 and "crud" in [d["metadata"]["name"] for d in every["items"]]
    status, _, again = api.request("POST", f"{APPS}/deployments", make_deployment("crud"))
    assert status == 409 and again["reason"] == "AlreadyExists"


@pytest.mark.integration
def test_list_pages_with_limit_and_continue(api: Any, make_configmap: Any) -> None:
    for i in range(5):
        assert (
            api.request("POST", f"{NS}/configmaps", make_configmap(f"page-{i}", group="paged"))[0]
            == 201
        )
    names: list[str] = []
    path = f"{NS}/configmaps?labelSelector=group%3Dpaged&limit=2"
    status, _, page = api.request("GET", path)
    pages = 1
    names += [c["metadata"]["name"] for c in page["items"]]
    while page["metadata"].get("continue"):
        status, _, page = api.request("GET", f"{path}&continue={page['metadata']['continue']}")
        assert status == 200
        names += [c["metadata"]["name"] for c in page["items"]]
        pages += 1
    assert sorted(names) == [f"page-{i}" for i in range(5)] and pages == 3


@pytest.mark.integration
def test_dry_run_create_and_patch_change_nothing(api: Any, make_configmap: Any) -> None:
    status, _, body = api.request("POST", f"{NS}/configmaps?dryRun=All", make_configmap("dry"))
    assert status == 201 and body["metadata"]["name"] == "dry"
    assert api.request("GET", f"{NS}/configmaps/dry")[0] == 404
    api.request("POST", f"{NS}/configmaps", make_configmap("dry"))
    status, _, body = api.request(
        "PATCH",
        f"{NS}/configmaps/dry?dryRun=All",
        {"data": {"k": "changed"}},
        content_type="application/merge-patch+json",
    )
    assert status == 200 and body["data"]["k"] == "changed"
    assert api.request("GET", f"{NS}/configmaps/dry")[2]["data"]["k"] == "v"
    assert api.request("POST", f"{NS}/configmaps?dryRun=Some", make_configmap("x"))[0] == 400


@pytest.mark.integration
def test_update_checks_names_and_resource_versions(api: Any, make_configmap: Any) -> None:
    _, _, created = api.request("POST", f"{NS}/configmaps", make_configmap("upd"))
    stale = dict(created, data={"k": "1"})
    status, _, body = api.request("PUT", f"{NS}/configmaps/upd", stale)
    assert status == 200 and body["data"] == {"k": "1"}
    status, _, body = api.request("PUT", f"{NS}/configmaps/upd", stale)
    assert status == 409 and body["reason"] == "Conflict"
    status, _, body = api.request("PUT", f"{NS}/configmaps/other", body | {"data": {}})
    assert status == 400
    status, _, body = api.request(
        "POST",
        "/api/v1/namespaces/kube-system/configmaps",
        make_configmap("x") | {"metadata": {"name": "x", "namespace": "default"}},
    )
    assert status == 400 and "does not match the namespace" in body["message"]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json-patch+json", [{"op": "replace", "path": "/data/k", "value": "j"}]),
        ("application/merge-patch+json", {"data": {"k": "j"}}),
        ("application/strategic-merge-patch+json", {"data": {"k": "j"}}),
    ],
)
def test_patch_types(api: Any, content_type: str, body: Any, make_configmap: Any) -> None:
    name = "patch-" + content_type.split("/")[1].split("+")[0]
    api.request("POST", f"{NS}/configmaps", make_configmap(name))
    status, _, patched = api.request(
        "PATCH", f"{NS}/configmaps/{name}", body, content_type=content_type
    )
    assert status == 200, patched
    assert patched["data"] == {"k": "j"}


@pytest.mark.integration
def test_server_side_apply_is_unsupported_media_type(api: Any, make_configmap: Any) -> None:
    api.request("POST", f"{NS}/configmaps", make_configmap("ssa"))
    for name in ("ssa", "ssa-missing"):
        status, _, body = api.request(
            "PATCH",
            f"{NS}/configmaps/{name}?fieldManager=kubectl&force=false",
            make_configmap(name),
            content_type="application/apply-patch+yaml",
        )
        assert status == 415, body
        assert body["reason"] == "UnsupportedMediaType"


@pytest.mark.integration
def test_delete_answers_status_or_object_as_upstream(
    api: Any, make_deployment: Any, make_pod: Any
) -> None:
    api.request("POST", f"{APPS}/deployments", make_deployment("gone"))
    status, _, body = api.request(
        "DELETE", f"{APPS}/deployments/gone", {"propagationPolicy": "Background"}
    )
    assert status == 200
    assert body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"]["name"] == "gone" and body["details"]["kind"] == "deployments"
    assert api.request("GET", f"{APPS}/deployments/gone")[0] == 404
    api.request("POST", f"{NS}/pods", make_pod("gone-pod", ["app"]))
    status, _, body = api.request("DELETE", f"{NS}/pods/gone-pod?gracePeriodSeconds=0")
    assert status == 200 and body["kind"] == "Pod"
    status, _, body = api.request("DELETE", f"{APPS}/deployments/gone")
    assert status == 404 and body["reason"] == "NotFound"


@pytest.mark.integration
def test_delete_collection_by_label(api: Any, make_configmap: Any) -> None:
    for i in range(3):
        api.request("POST", f"{NS}/configmaps", make_configmap(f"coll-{i}", group="coll"))
    status, _, body = api.request("DELETE", f"{NS}/configmaps?labelSelector=group%3Dcoll")
    assert status == 200 and body["kind"] == "ConfigMapList"
    assert sorted(i["metadata"]["name"] for i in body["items"]) == ["coll-0", "coll-1", "coll-2"]
    assert api.request("GET", f"{NS}/configmaps?labelSelector=group%3Dcoll")[2]["items"] == []


@pytest.mark.integration
def test_table_view_for_get_and_list(api: Any, make_deployment: Any) -> None:
    api.request("POST", f"{APPS}/deployments", make_deployment("table"))
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    status, _, table = api.request("GET", f"{APPS}/deployments/table", headers=accept)
    assert status == 200 and table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]][:1] == ["Name"]
    assert len(table["rows"]) == 1
    status, _, table = api.request(
        "GET", f"{APPS}/deployments?includeObject=Object", headers=accept
    )
    assert status == 200 and table["kind"] == "Table"
    assert any(r["object"]["metadata"]["name"] == "table" for r in table["rows"])


@pytest.mark.integration
def test_strategy_warnings_become_warning_headers(api: Any, make_deployment: Any) -> None:
    deployment = make_deployment("warned")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"] = {"runAsNonRoot": True}
    status, headers, _ = api.request("POST", f"{APPS}/deployments", deployment)
    assert status == 201
    assert headers.get_all("Warning") == [
        '299 - "spec.template.spec.containers[0].securityContext: '
        'stored but not acted on by the cluster simulator"'
    ]
