"""scale and pods/binding over HTTP, and the Scale view of an object."""

from __future__ import annotations

from typing import Any

import pytest

from harness.cluster.simulator.http.subresources import scale_of
from harness.cluster.simulator.registry import Registry

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"


def test_scale_selector_prints_like_labels_selector_string() -> None:
    deployments = Registry.builtin().lookup("apps", "v1", "deployments")
    assert deployments is not None
    selector = {
        "matchLabels": {"b": "2", "a": "1"},
        "matchExpressions": [
            {"key": "c", "operator": "In", "values": ["y", "x"]},
            {"key": "d", "operator": "DoesNotExist"},
        ],
    }
    deployment = {"metadata": {"name": "web"}, "spec": {"replicas": 3, "selector": selector}}
    scale = scale_of(deployments, deployment)
    assert scale["status"]["selector"] == "a=1,b=2,c in (x,y),!d"
    assert scale["spec"] == {"replicas": 3} and scale["status"]["replicas"] == 0


# -- scale ----------------------------------------------------------------------------------
@pytest.mark.integration
def test_scale_subresource(api: Any, make_deployment: Any) -> None:
    api.request("POST", f"{APPS}/deployments", make_deployment("scaled", replicas=2))
    status, _, scale = api.request("GET", f"{APPS}/deployments/scaled/scale")
    first = scale
    assert status == 200
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 2}
    assert scale["status"]["selector"] == "app=scaled"
    status, _, scale = api.request(
        "PATCH",
        f"{APPS}/deployments/scaled/scale",
        {"spec": {"replicas": 5}},
        content_type="application/merge-patch+json",
    )
    assert status == 200 and scale["spec"]["replicas"] == 5
    assert api.request("GET", f"{APPS}/deployments/scaled")[2]["spec"]["replicas"] == 5
    scale["spec"]["replicas"] = 1
    status, _, scale = api.request("PUT", f"{APPS}/deployments/scaled/scale", scale)
    assert status == 200 and scale["spec"]["replicas"] == 1
    status, _, body = api.request("PUT", f"{APPS}/deployments/scaled/scale", first)
    assert status == 409, body  # the resourceVersion in the Scale is stale now
    status, _, body = api.request(
        "PATCH",
        f"{APPS}/deployments/scaled/scale",
        {"spec": {"replicas": -1}},
        content_type="application/merge-patch+json",
    )
    assert status == 422 and body["reason"] == "Invalid"


# -- pods/binding (the scheduler's write) ---------------------------------------------------
def _binding(pod: str, node: str, kind: str = "Node") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": pod},
        "target": {"kind": kind, "name": node},
    }


@pytest.mark.integration
def test_binding_sets_node_name_and_pod_scheduled(api: Any, make_pod: Any) -> None:
    assert api.request("POST", f"{NS}/pods", make_pod("bind-1", ["app"], node=None))[0] == 201
    status, _, body = api.request("POST", f"{NS}/pods/bind-1/binding", _binding("bind-1", "n1"))
    assert status == 201
    assert body["kind"] == "Status" and body["status"] == "Success"
    pod = api.request("GET", f"{NS}/pods/bind-1")[2]
    assert pod["spec"]["nodeName"] == "n1"
    scheduled = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert len(scheduled) == 1 and scheduled[0]["status"] == "True"
    assert scheduled[0]["lastTransitionTime"]


@pytest.mark.integration
def test_binding_an_assigned_pod_is_a_conflict(api: Any, make_pod: Any) -> None:
    assert api.request("POST", f"{NS}/pods", make_pod("bind-2", ["app"], node="n1"))[0] == 201
    status, _, body = api.request("POST", f"{NS}/pods/bind-2/binding", _binding("bind-2", "n2"))
    assert status == 409
    assert body["reason"] == "Conflict"
    assert body["message"] == (
        'Operation cannot be fulfilled on pods/binding "bind-2": pod bind-2 is already '
        'assigned to node "n1"'
    )
    assert body["details"] == {"name": "bind-2", "kind": "pods/binding"}
    assert api.request("GET", f"{NS}/pods/bind-2")[2]["spec"]["nodeName"] == "n1"


@pytest.mark.integration
def test_binding_errors_and_discovery(api: Any, make_pod: Any) -> None:
    assert api.request("POST", f"{NS}/pods", make_pod("bind-3", ["app"], node=None))[0] == 201
    assert api.request("POST", f"{NS}/pods/nope/binding", _binding("nope", "n1"))[0] == 404
    assert api.request("POST", f"{NS}/pods/bind-3/binding", _binding("other", "n1"))[0] == 400
    status, _, body = api.request(
        "POST", f"{NS}/pods/bind-3/binding", _binding("bind-3", "n1", "Pod")
    )
    assert status == 422 and body["details"]["causes"][0]["field"] == "target.kind"
    assert api.request("GET", f"{NS}/pods/bind-3/binding")[0] == 405
    assert (
        api.request("POST", f"{NS}/pods/bind-3/binding?dryRun=All", _binding("bind-3", "n1"))[0]
        == 201
    )
    assert "nodeName" not in api.request("GET", f"{NS}/pods/bind-3")[2]["spec"]
    resources = api.request("GET", "/api/v1")[2]["resources"]
    binding = next(r for r in resources if r["name"] == "pods/binding")
    assert binding == {
        "name": "pods/binding",
        "singularName": "",
        "namespaced": True,
        "kind": "Binding",
        "verbs": ["create"],
    }
