"""The API server end to end against an in-process server: authentication, health, routing,
and the official Python client (list, watch, 410, conflicts)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest


# -- authentication, health, routing ------------------------------------------------------
@pytest.mark.integration
def test_health_needs_no_token_but_rejects_a_wrong_one(api: Any) -> None:
    assert api.request("GET", "/readyz", token=None)[0] == 200
    assert api.request("GET", "/healthz", token=None)[0] == 200
    assert api.request("GET", "/livez", token=None)[0] == 200
    assert api.request("GET", "/healthz", token="wrong")[0] == 401


@pytest.mark.integration
@pytest.mark.parametrize("token", [None, "wrong", ""])
@pytest.mark.parametrize("path", ["/version", "/api", "/apis", "/api/v1/namespaces", "/openapi/v3"])
def test_every_api_path_needs_the_token(api: Any, token: str | None, path: str) -> None:
    status, _, body = api.request("GET", path, token=token)
    assert status == 401
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


@pytest.mark.integration
@pytest.mark.parametrize(
    "path",
    [
        "/apis/nope.example.com/v1/things",
        "/api/v1/namespaces/default/frobs",
        "/openapi/v1",
        "/nothing",
    ],
)
def test_unknown_paths_are_404_like_the_real_server(api: Any, path: str) -> None:
    status, _, body = api.request("GET", path)
    assert status == 404
    assert body["reason"] == "NotFound"
    assert body["message"] == "the server could not find the requested resource"
    assert body["details"]["causes"][0]["reason"] == "UnexpectedServerResponse"


def _stream(watcher: Any, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """kubernetes.watch.Watch.stream (untyped upstream)."""
    events: Iterator[dict[str, Any]] = watcher.stream(*args, **kwargs)
    return events


# -- the official Python client -------------------------------------------------------------
@pytest.fixture(scope="module")
def core(api: Any) -> Any:
    kubernetes = pytest.importorskip("kubernetes")
    configuration = kubernetes.client.Configuration()
    configuration.host = api.url
    configuration.api_key = {"authorization": api.token}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    return kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))


@pytest.mark.integration
def test_python_client_list_and_watch_from_a_resource_version(
    core: Any, make_configmap: Any
) -> None:
    watch: Any = pytest.importorskip("kubernetes.watch")

    core.create_namespaced_config_map("default", make_configmap("py-1", py="yes"))
    listed = core.list_namespaced_config_map("default", label_selector="py=yes")
    assert [c.metadata.name for c in listed.items] == ["py-1"]
    rv = listed.metadata.resource_version
    core.create_namespaced_config_map("default", make_configmap("py-2", py="yes"))
    seen = []
    for event in _stream(
        watch.Watch(),
        core.list_namespaced_config_map,
        "default",
        label_selector="py=yes",
        resource_version=rv,
        timeout_seconds=1,
    ):
        seen.append((event["type"], event["object"].metadata.name))
    assert seen == [("ADDED", "py-2")]
    by_field = core.list_namespaced_config_map("default", field_selector="metadata.name=py-2")
    assert [c.metadata.name for c in by_field.items] == ["py-2"]


@pytest.mark.integration
def test_python_client_sees_410_for_a_too_old_resource_version(
    core: Any, make_configmap: Any
) -> None:
    watch: Any = pytest.importorskip("kubernetes.watch")
    from kubernetes.client.exceptions import ApiException

    created = core.create_namespaced_config_map("default", make_configmap("py-old"))
    for i in range(60):
        core.patch_namespaced_config_map("py-old", "default", {"data": {"i": str(i)}})
    with pytest.raises(ApiException) as caught:
        for _ in _stream(
            watch.Watch(),
            core.list_namespaced_config_map,
            "default",
            resource_version=created.metadata.resource_version,
            timeout_seconds=2,
        ):
            pass
    assert caught.value.status == 410


@pytest.mark.integration
def test_python_client_optimistic_concurrency_conflict(core: Any, make_configmap: Any) -> None:
    from kubernetes.client.exceptions import ApiException

    created = core.create_namespaced_config_map("default", make_configmap("py-occ"))
    created.data = {"k": "first"}
    core.replace_namespaced_config_map("py-occ", "default", created)
    created.data = {"k": "second"}
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("py-occ", "default", created)
    assert caught.value.status == 409
    assert json.loads(caught.value.body or "{}")["reason"] == "Conflict"
