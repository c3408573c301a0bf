"""An in-process API server for the HTTP layer's tests (one per test module, on an event loop
thread), a small HTTP client for it, and builders of the objects the tests send."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.cluster.simulator.http.server import ApiServer
from harness.cluster.simulator.http.startup import ServerConfig, bootstrap

TOKEN = "test-token-not-secret"


@dataclass
class Api:
    port: int
    server: ApiServer
    logs_dir: Path
    token: str = TOKEN

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


@pytest.fixture
def make_deployment() -> Callable[..., dict[str, Any]]:
    """make_deployment(name, replicas=2, labels=None): an apps/v1 Deployment of one container."""
    return _deployment


@pytest.fixture
def make_configmap() -> Callable[..., dict[str, Any]]:
    """make_configmap(name, data=None, **labels): a ConfigMap ({"k": "v"} unless given)."""
    return _configmap


@pytest.fixture
def make_pod() -> Callable[..., dict[str, Any]]:
    """make_pod(name, containers, node="node-a"): a Pod, bound to `node` unless it is None."""
    return _pod
