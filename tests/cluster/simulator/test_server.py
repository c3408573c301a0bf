"""The simulator's HTTP layer against an in-process server: auth, verbs, watch, logs, scale,
discovery, and the official Python client; plus the pure helpers (podlogs, kubeconfig).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness.apimachinery.timestamps import format_nano, parse_nano
from harness.cluster import podlogs
from harness.cluster.kubeconfig import (
    KubeconfigEntry,
    read_kubeconfig,
    write_kubeconfig,
)
from harness.cluster.simulator.server import (
    ApiServer,
    Rendering,
    ServerConfig,
    _rendering,
    _WatchChannel,
    bootstrap,
    selector_string,
)

TOKEN = "test-token-not-secret"


# -- pure helpers ---------------------------------------------------------------------------
def test_cri_lines_parse_and_plain_lines_pass_through() -> None:
    line = podlogs.parse_line(b"2024-05-01T10:00:00.123456789Z stdout F hello\n")
    assert line.text == b"hello\n"
    assert line.raw_timestamp == "2024-05-01T10:00:00.123456789Z"
    assert line.timestamp == datetime(2024, 5, 1, 10, 0, 0, 123456, UTC)
    partial = podlogs.parse_line(b"2024-05-01T10:00:00Z stderr P par\n")
    assert (partial.text, partial.stream) == (b"par", "stderr")
    plain = podlogs.parse_line(b"just text\n")
    assert plain.text == b"just text\n" and plain.timestamp is None


def test_timestamps_print_like_go_rfc3339nano() -> None:
    assert format_nano(datetime(2024, 5, 1, 10, 0, 0, 120000, UTC)) == (
        "2024-05-01T10:00:00.12Z"
    )
    assert (
        format_nano(datetime(2024, 5, 1, 10, 0, 0, 0, UTC)) == "2024-05-01T10:00:00Z"
    )
    stamp = datetime(2024, 5, 1, 10, 0, 0, 5, UTC)
    assert parse_nano(format_nano(stamp)) == stamp


def test_tail_reads_backwards_and_cursor_waits_for_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(b"".join(f"line {i}\n".encode() for i in range(10000)))
    assert podlogs.tail_lines(path, 2) == [b"line 9998\n", b"line 9999\n"]
    cursor = podlogs.LogCursor(path, path.stat().st_size)
    with path.open("ab") as handle:
        handle.write(b"half")
    assert cursor.read_new() == []
    with path.open("ab") as handle:
        handle.write(b" done\nnext\n")
    assert [line.text for line in cursor.read_new()] == [b"half done\n", b"next\n"]


def test_kubeconfig_is_private_and_round_trips(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kc", KubeconfigEntry("http://127.0.0.1:1", "s3cret"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entry = read_kubeconfig(path)
    assert (entry.server, entry.token, entry.context) == (
        "http://127.0.0.1:1",
        "s3cret",
        "harness-simulator",
    )
    assert "s3cret" not in repr(entry)


def test_selector_string_matches_labels_selector_string() -> None:
    spec = {
        "matchLabels": {"b": "2", "a": "1"},
        "matchExpressions": [
            {"key": "c", "operator": "In", "values": ["y", "x"]},
            {"key": "d", "operator": "DoesNotExist"},
        ],
    }
    assert selector_string(spec) == "a=1,b=2,c in (x,y),!d"


def test_accept_header_negotiation() -> None:
    kubectl_get = (
        "application/json;as=Table;v=v1;g=meta.k8s.io,"
        "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
    )
    assert _rendering(kubectl_get) == (Rendering.TABLE, "v1")
    aggregated = (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    )
    assert _rendering(aggregated)[0] is Rendering.OBJECT
    assert _rendering("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io")[0] is (
        Rendering.METADATA
    )


def test_watch_channel_is_bounded_for_live_events_only() -> None:
    loop = asyncio.new_event_loop()
    try:
        from harness.cluster.simulator.store import WatchEvent

        channel = _WatchChannel(loop, limit=2)
        for i in range(5):  # the replay of current state is not bounded
            channel.notify(WatchEvent("ADDED", {"metadata": {"resourceVersion": str(i)}}))
        channel.initial = False
        channel.notify(WatchEvent("MODIFIED", {}))
        channel.notify(WatchEvent("MODIFIED", {}))
        assert not channel.overflowed
        channel.notify(WatchEvent("MODIFIED", {}))
        assert channel.overflowed
        assert len(channel.drain()) == 7
    finally:
        loop.close()


# -- an in-process server -------------------------------------------------------------------
@dataclass
class Api:
    port: int
    server: ApiServer
    logs_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connection(self, timeout: float = 10.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = TOKEN,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, http.client.HTTPMessage, Any]:
        connection = self.connection()
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        payload = None
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent["Content-Type"] = content_type
        try:
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return response.status, response.headers, parsed

    def stream(self, path: str) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        connection = self.connection()
        connection.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
        return connection, connection.getresponse()


def _events(response: http.client.HTTPResponse, count: int | None = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while count is None or len(events) < count:
        line = response.readline()
        if not line:
            break
        events.append(json.loads(line))
    return events


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from aiohttp import web

    from harness.cluster.simulator.registry import Registry
    from harness.cluster.simulator.store import Store

    logs_dir = tmp_path_factory.mktemp("pod-logs")
    store = Store(Registry.builtin(), history_size=50)
    bootstrap(store)
    server = ApiServer(
        store,
        ServerConfig(
            token=TOKEN,
            logs_dir=logs_dir,
            bookmark_interval=0.3,
            watch_queue_limit=20,
            log_poll_interval=0.02,
        ),
    )
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        runner = web.AppRunner(server.application(), handler_cancellation=True, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        holder["runner"] = runner
        holder["port"] = runner.addresses[0][1]
        server.mark_ready()
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    yield Api(holder["port"], server, logs_dir)
    asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _deployment(
    name: str, replicas: int = 2, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "example/web:1"}]},
            },
        },
    }


def _configmap(name: str, data: dict[str, str] | None = None, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": data or {"k": "v"},
    }


def _pod(name: str, containers: list[str], node: str | None = "node-a") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": c, "image": "example/web:1"} for c in containers]
    }
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"


# -- auth, health, version, discovery -------------------------------------------------------
@pytest.mark.integration
def test_health_needs_no_token_but_rejects_a_wrong_one(api: Api) -> None:
    assert api.request("GET", "/readyz", token=None)[0] == 200
    assert api.request("GET", "/healthz", token=None)[0] == 200
    assert api.request("GET", "/livez", token=None)[0] == 200
    assert api.request("GET", "/healthz", token="wrong")[0] == 401


@pytest.mark.integration
@pytest.mark.parametrize("token", [None, "wrong", ""])
@pytest.mark.parametrize("path", ["/version", "/api", "/apis", "/api/v1/namespaces", "/openapi/v3"])
def test_every_api_path_needs_the_token(api: Api, token: str | None, path: str) -> None:
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
def test_version_reports_a_current_release(api: Api) -> None:
    status, _, body = api.request("GET", "/version")
    assert status == 200
    assert body["gitVersion"].startswith("v1.")
    assert int(body["minor"]) >= 31
    assert body["platform"].startswith("linux/")


@pytest.mark.integration
def test_discovery_is_plain_json_even_when_aggregated_is_asked(api: Api) -> None:
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
@pytest.mark.parametrize(
    "path",
    [
        "/apis/nope.example.com/v1/things",
        "/api/v1/namespaces/default/frobs",
        "/openapi/v1",
        "/nothing",
    ],
)
def test_unknown_paths_are_404_like_the_real_server(api: Api, path: str) -> None:
    status, _, body = api.request("GET", path)
    assert status == 404
    assert body["reason"] == "NotFound"
    assert body["message"] == "the server could not find the requested resource"
    assert body["details"]["causes"][0]["reason"] == "UnexpectedServerResponse"


@pytest.mark.integration
def test_openapi_v3_root_lists_group_versions(api: Api) -> None:
    status, _, body = api.request("GET", "/openapi/v3")
    assert status == 200
    assert "apis/apps/v1" in body["paths"]
    relative = body["paths"]["apis/apps/v1"]["serverRelativeURL"]
    status, _, document = api.request("GET", relative)
    assert status == 200 and "paths" in document


@pytest.mark.integration
def test_openapi_v2_is_an_empty_document(api: Api) -> None:
    protobuf = {"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}
    status, headers, body = api.request("GET", "/openapi/v2", headers=protobuf)
    assert (status, body) == (200, None)
    assert "protobuf" in headers["Content-Type"]
    status, _, body = api.request("GET", "/openapi/v2")
    assert status == 200 and body["paths"] == {}


# -- verbs ----------------------------------------------------------------------------------
@pytest.mark.integration
def test_create_get_list_with_the_real_list_kind(api: Api) -> None:
    status, _, created = api.request("POST", f"{APPS}/deployments", _deployment("crud"))
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
    status, _, again = api.request("POST", f"{APPS}/deployments", _deployment("crud"))
    assert status == 409 and again["reason"] == "AlreadyExists"


@pytest.mark.integration
def test_list_pages_with_limit_and_continue(api: Api) -> None:
    for i in range(5):
        assert (
            api.request("POST", f"{NS}/configmaps", _configmap(f"page-{i}", group="paged"))[0]
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
def test_dry_run_create_and_patch_change_nothing(api: Api) -> None:
    status, _, body = api.request("POST", f"{NS}/configmaps?dryRun=All", _configmap("dry"))
    assert status == 201 and body["metadata"]["name"] == "dry"
    assert api.request("GET", f"{NS}/configmaps/dry")[0] == 404
    api.request("POST", f"{NS}/configmaps", _configmap("dry"))
    status, _, body = api.request(
        "PATCH",
        f"{NS}/configmaps/dry?dryRun=All",
        {"data": {"k": "changed"}},
        content_type="application/merge-patch+json",
    )
    assert status == 200 and body["data"]["k"] == "changed"
    assert api.request("GET", f"{NS}/configmaps/dry")[2]["data"]["k"] == "v"
    assert api.request("POST", f"{NS}/configmaps?dryRun=Some", _configmap("x"))[0] == 400


@pytest.mark.integration
def test_update_checks_names_and_resource_versions(api: Api) -> None:
    _, _, created = api.request("POST", f"{NS}/configmaps", _configmap("upd"))
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
        _configmap("x") | {"metadata": {"name": "x", "namespace": "default"}},
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
def test_patch_types(api: Api, content_type: str, body: Any) -> None:
    name = "patch-" + content_type.split("/")[1].split("+")[0]
    api.request("POST", f"{NS}/configmaps", _configmap(name))
    status, _, patched = api.request(
        "PATCH", f"{NS}/configmaps/{name}", body, content_type=content_type
    )
    assert status == 200, patched
    assert patched["data"] == {"k": "j"}


@pytest.mark.integration
def test_server_side_apply_is_unsupported_media_type(api: Api) -> None:
    api.request("POST", f"{NS}/configmaps", _configmap("ssa"))
    for name in ("ssa", "ssa-missing"):
        status, _, body = api.request(
            "PATCH",
            f"{NS}/configmaps/{name}?fieldManager=kubectl&force=false",
            _configmap(name),
            content_type="application/apply-patch+yaml",
        )
        assert status == 415, body
        assert body["reason"] == "UnsupportedMediaType"


@pytest.mark.integration
def test_delete_answers_status_or_object_as_upstream(api: Api) -> None:
    api.request("POST", f"{APPS}/deployments", _deployment("gone"))
    status, _, body = api.request(
        "DELETE", f"{APPS}/deployments/gone", {"propagationPolicy": "Background"}
    )
    assert status == 200
    assert body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"]["name"] == "gone" and body["details"]["kind"] == "deployments"
    assert api.request("GET", f"{APPS}/deployments/gone")[0] == 404
    api.request("POST", f"{NS}/pods", _pod("gone-pod", ["app"]))
    status, _, body = api.request("DELETE", f"{NS}/pods/gone-pod?gracePeriodSeconds=0")
    assert status == 200 and body["kind"] == "Pod"
    status, _, body = api.request("DELETE", f"{APPS}/deployments/gone")
    assert status == 404 and body["reason"] == "NotFound"


@pytest.mark.integration
def test_delete_collection_by_label(api: Api) -> None:
    for i in range(3):
        api.request("POST", f"{NS}/configmaps", _configmap(f"coll-{i}", group="coll"))
    status, _, body = api.request("DELETE", f"{NS}/configmaps?labelSelector=group%3Dcoll")
    assert status == 200 and body["kind"] == "ConfigMapList"
    assert sorted(i["metadata"]["name"] for i in body["items"]) == ["coll-0", "coll-1", "coll-2"]
    assert api.request("GET", f"{NS}/configmaps?labelSelector=group%3Dcoll")[2]["items"] == []


@pytest.mark.integration
def test_table_view_for_get_and_list(api: Api) -> None:
    api.request("POST", f"{APPS}/deployments", _deployment("table"))
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
def test_strategy_warnings_become_warning_headers(api: Api) -> None:
    deployment = _deployment("warned")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"] = {"runAsNonRoot": True}
    status, headers, _ = api.request("POST", f"{APPS}/deployments", deployment)
    assert status == 201
    assert headers.get_all("Warning") == [
        '299 - "spec.template.spec.containers[0].securityContext: '
        'stored but not acted on by the cluster simulator"'
    ]


# -- scale ----------------------------------------------------------------------------------
@pytest.mark.integration
def test_scale_subresource(api: Api) -> None:
    api.request("POST", f"{APPS}/deployments", _deployment("scaled", replicas=2))
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


# -- watch ----------------------------------------------------------------------------------
@pytest.mark.integration
def test_watch_from_a_resource_version_sees_only_later_events(api: Api) -> None:
    _, _, created = api.request("POST", f"{NS}/configmaps", _configmap("w1"))
    rv = created["metadata"]["resourceVersion"]
    connection, response = api.stream(
        f"{NS}/configmaps?watch=true&resourceVersion={rv}&fieldSelector=metadata.name%3Dw1&timeoutSeconds=5"
    )
    try:
        assert response.status == 200
        api.request(
            "PATCH",
            f"{NS}/configmaps/w1",
            {"data": {"k": "2"}},
            content_type="application/merge-patch+json",
        )
        api.request("DELETE", f"{NS}/configmaps/w1")
        events = _events(response, 2)
    finally:
        connection.close()
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    assert events[0]["object"]["data"] == {"k": "2"}
    assert events[0]["object"]["kind"] == "ConfigMap"


@pytest.mark.integration
def test_watch_from_zero_replays_and_timeout_ends_the_stream(api: Api) -> None:
    api.request("POST", f"{NS}/configmaps", _configmap("w2"))
    started = time.monotonic()
    connection, response = api.stream(
        "/api/v1/watch/namespaces/default/configmaps/w2?timeoutSeconds=1"
    )
    try:
        events = _events(response)
    finally:
        connection.close()
    assert 0.9 <= time.monotonic() - started < 5
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "w2")]


@pytest.mark.integration
def test_watch_bookmarks_when_allowed(api: Api) -> None:
    connection, response = api.stream(
        f"{NS}/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=1&timeoutSeconds=3"
        "&labelSelector=none%3Dnone"
    )
    try:
        events = _events(response, 1)
    finally:
        connection.close()
    assert events[0]["type"] == "BOOKMARK"
    assert events[0]["object"]["kind"] == "ConfigMap"
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) >= 1


@pytest.mark.integration
def test_too_old_resource_version_is_an_error_event_in_a_200_stream(api: Api) -> None:
    _, _, first = api.request("POST", f"{NS}/configmaps", _configmap("old"))
    for i in range(60):  # the history window is 50 events
        api.request(
            "PATCH",
            f"{NS}/configmaps/old",
            {"data": {"i": str(i)}},
            content_type="application/merge-patch+json",
        )
    connection, response = api.stream(
        f"{NS}/configmaps?watch=true&resourceVersion={first['metadata']['resourceVersion']}"
    )
    try:
        assert response.status == 200
        events = _events(response)
    finally:
        connection.close()
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")


@pytest.mark.integration
def test_a_slow_watcher_is_cut_off_with_an_error_not_the_store(api: Api) -> None:
    _, _, first = api.request("POST", f"{NS}/configmaps", _configmap("slow-0"))
    connection = api.connection(timeout=30)
    connection.request(
        "GET",
        f"{NS}/configmaps?watch=true&resourceVersion={first['metadata']['resourceVersion']}"
        "&labelSelector=slow%3Dyes",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    response = connection.getresponse()
    big = "x" * 200_000
    started = time.monotonic()
    for i in range(60):  # never read: the socket buffers fill, then the queue (limit 20)
        status, _, _ = api.request(
            "POST", f"{NS}/configmaps", _configmap(f"slow-{i + 1}", {"big": big}, slow="yes")
        )
        assert status == 201
    assert time.monotonic() - started < 20  # writers were never blocked by the watcher
    try:
        events = _events(response)
    finally:
        connection.close()
    assert events[-1]["type"] == "ERROR"
    assert events[-1]["object"]["code"] == 410
    assert 20 <= len(events) - 1 < 60
    api.request("DELETE", f"{NS}/configmaps?labelSelector=slow%3Dyes")


# -- pod logs -------------------------------------------------------------------------------
def _write_log(api: Api, pod: str, container: str, run: int, lines: list[str]) -> Path:
    path = podlogs.PodLogs(api.logs_dir).writable_path("default", pod, container, run)
    with path.open("ab") as handle:
        for line in lines:
            handle.write(podlogs.cri_line(line))
    return path


@pytest.mark.integration
def test_logs_tail_previous_and_timestamps(api: Api) -> None:
    api.request("POST", f"{NS}/pods", _pod("logs-1", ["app"]))
    _write_log(api, "logs-1", "app", 0, ["first run"])
    _write_log(api, "logs-1", "app", 1, [f"line {i}" for i in range(5)])
    status, headers, body = api.request("GET", f"{NS}/pods/logs-1/log?tailLines=2")
    assert status == 200 and body == b"line 3\nline 4\n"
    assert headers["Content-Type"].startswith("text/plain")
    assert api.request("GET", f"{NS}/pods/logs-1/log?previous=true")[2] == b"first run\n"
    status, _, body = api.request(
        "GET", f"{NS}/pods/logs-1/log?container=app&timestamps=true&tailLines=1"
    )
    stamp, _, text = body.partition(b" ")
    assert text == b"line 4\n" and parse_nano(stamp.decode())
    assert api.request("GET", f"{NS}/pods/logs-1/log?limitBytes=3")[2] == b"lin"


@pytest.mark.integration
def test_logs_errors_carry_the_real_messages(api: Api) -> None:
    api.request("POST", f"{NS}/pods", _pod("logs-2", ["a", "b"]))
    status, _, body = api.request("GET", f"{NS}/pods/logs-2/log")
    assert status == 400 and body["reason"] == "BadRequest"
    assert (
        body["message"] == "a container name must be specified for pod logs-2, choose one of: [a b]"
    )
    status, _, body = api.request("GET", f"{NS}/pods/logs-2/log?container=c")
    assert (status, body["message"]) == (400, "container c is not valid for pod logs-2")
    status, _, body = api.request("GET", f"{NS}/pods/logs-2/log?container=a&previous=true")
    assert status == 400 and "previous terminated container" in body["message"]
    assert api.request("GET", f"{NS}/pods/nope/log")[0] == 404


@pytest.mark.integration
def test_logs_follow_streams_until_the_pod_is_gone(api: Api) -> None:
    api.request("POST", f"{NS}/pods", _pod("logs-3", ["app"]))
    path = _write_log(api, "logs-3", "app", 0, ["before"])
    connection, response = api.stream(f"{NS}/pods/logs-3/log?follow=true")
    try:
        assert response.readline() == b"before\n"
        with path.open("ab") as handle:
            handle.write(podlogs.cri_line("after"))
        assert response.readline() == b"after\n"
        api.request("DELETE", f"{NS}/pods/logs-3?gracePeriodSeconds=0")
        assert response.read() == b""  # the stream ends with the pod
    finally:
        connection.close()


@pytest.mark.integration
def test_logs_follow_a_running_container_whose_status_has_null_states(api: Api) -> None:
    """A merge patch can store `"terminated": null` (list elements are replaced whole); that is
    not a terminated container, so following goes on."""
    api.request("POST", f"{NS}/pods", _pod("logs-4", ["app"]))
    state = {"running": {"startedAt": "2026-01-01T00:00:00Z"}, "terminated": None, "waiting": None}
    status, _, _ = api.request(
        "PATCH",
        f"{NS}/pods/logs-4/status",
        {"status": {"containerStatuses": [{"name": "app", "restartCount": 0, "state": state}]}},
        content_type="application/merge-patch+json",
    )
    assert status == 200
    path = _write_log(api, "logs-4", "app", 0, ["before"])
    connection, response = api.stream(f"{NS}/pods/logs-4/log?follow=true")
    try:
        assert response.readline() == b"before\n"
        time.sleep(0.3)  # several polls of the log with nothing new: the stream stays open
        with path.open("ab") as handle:
            handle.write(podlogs.cri_line("after"))
        assert response.readline() == b"after\n"
    finally:
        connection.close()
        api.request("DELETE", f"{NS}/pods/logs-4?gracePeriodSeconds=0")


def _stream(watcher: Any, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """kubernetes.watch.Watch.stream (untyped upstream)."""
    events: Iterator[dict[str, Any]] = watcher.stream(*args, **kwargs)
    return events


# -- the official Python client -------------------------------------------------------------
@pytest.fixture(scope="module")
def core(api: Api) -> Any:
    kubernetes = pytest.importorskip("kubernetes")
    configuration = kubernetes.client.Configuration()
    configuration.host = api.url
    configuration.api_key = {"authorization": TOKEN}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    return kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))


@pytest.mark.integration
def test_python_client_list_and_watch_from_a_resource_version(core: Any) -> None:
    watch: Any = pytest.importorskip("kubernetes.watch")

    core.create_namespaced_config_map("default", _configmap("py-1", py="yes"))
    listed = core.list_namespaced_config_map("default", label_selector="py=yes")
    assert [c.metadata.name for c in listed.items] == ["py-1"]
    rv = listed.metadata.resource_version
    core.create_namespaced_config_map("default", _configmap("py-2", py="yes"))
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
def test_python_client_sees_410_for_a_too_old_resource_version(core: Any) -> None:
    watch: Any = pytest.importorskip("kubernetes.watch")
    from kubernetes.client.exceptions import ApiException

    created = core.create_namespaced_config_map("default", _configmap("py-old"))
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
def test_python_client_optimistic_concurrency_conflict(core: Any) -> None:
    from kubernetes.client.exceptions import ApiException

    created = core.create_namespaced_config_map("default", _configmap("py-occ"))
    created.data = {"k": "first"}
    core.replace_namespaced_config_map("py-occ", "default", created)
    created.data = {"k": "second"}
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("py-occ", "default", created)
    assert caught.value.status == 409
    assert json.loads(caught.value.body or "{}")["reason"] == "Conflict"


# -- pods/binding (the scheduler's write) ---------------------------------------------------
def _binding(pod: str, node: str, kind: str = "Node") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": pod},
        "target": {"kind": kind, "name": node},
    }


@pytest.mark.integration
def test_binding_sets_node_name_and_pod_scheduled(api: Api) -> None:
    assert api.request("POST", f"{NS}/pods", _pod("bind-1", ["app"], node=None))[0] == 201
    status, _, body = api.request("POST", f"{NS}/pods/bind-1/binding", _binding("bind-1", "n1"))
    assert status == 201
    assert body["kind"] == "Status" and body["status"] == "Success"
    pod = api.request("GET", f"{NS}/pods/bind-1")[2]
    assert pod["spec"]["nodeName"] == "n1"
    scheduled = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert len(scheduled) == 1 and scheduled[0]["status"] == "True"
    assert scheduled[0]["lastTransitionTime"]


@pytest.mark.integration
def test_binding_an_assigned_pod_is_a_conflict(api: Api) -> None:
    assert api.request("POST", f"{NS}/pods", _pod("bind-2", ["app"], node="n1"))[0] == 201
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
def test_binding_errors_and_discovery(api: Api) -> None:
    assert api.request("POST", f"{NS}/pods", _pod("bind-3", ["app"], node=None))[0] == 201
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
