"""The service proxy agent: how it reads Services and EndpointSlices, load-balancer addresses,
and (integration) the agent against an in-process API server with stand-in pods."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import random
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, cast

import pytest
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Namespace, Service
from lightkube.resources.discovery_v1 import EndpointSlice
from lightkube.types import PatchType

from harness.cluster.agents.agent import NodeSpec
from harness.cluster.agents.client import api_client
from harness.cluster.agents.forwarding import (
    Endpoint,
    Frontend,
    FrontendKind,
    ServicePortName,
    ServiceRef,
)
from harness.cluster.agents.proxy import (
    LoadBalancerAddresses,
    ServiceProxy,
    _ServiceView,
    _SliceView,
)
from harness.cluster.config import CLUSTER_SLOTS, ClusterConfig
from harness.ports import claim_slot
from harness.timescale import TimeScale

P = ParamSpec("P")
TOKEN = "proxy-test-token-not-secret"


def run_async(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    @functools.wraps(test)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), 30))

    return wrapper


def as_service(body: dict[str, Any]) -> Service:
    return cast(Service, Service.from_dict(body))


def as_slice(body: dict[str, Any]) -> EndpointSlice:
    return cast(EndpointSlice, EndpointSlice.from_dict(body))


def as_namespace(name: str) -> Namespace:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    return cast(Namespace, Namespace.from_dict(body))


def octet() -> int:
    return random.randint(2, 254)


# -- reading API objects -----------------------------------------------------------------------
def _service(**spec: Any) -> Service:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"type": "ClusterIP", "clusterIP": "127.96.0.7", **spec},
    }
    return as_service(body)


def test_service_frontends_per_type() -> None:
    nodes = [
        NodeSpec("node-1", "a", "127.0.10.1", "127.16.0.0/16"),
        NodeSpec("node-2", "b", "127.0.10.2", "127.17.0.0/16"),
    ]
    ports = [
        {"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080},
        {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053},
    ]
    http = ServicePortName(ServiceRef("shop", "web"), "http")
    plain = _ServiceView.of(_service(ports=[{"port": 80, "protocol": "TCP"}]))
    assert plain.frontends(nodes, None) == {
        Frontend(
            "127.96.0.7",
            80,
            ServicePortName(ServiceRef("shop", "web"), ""),
            FrontendKind.CLUSTER_IP,
        )
    }
    balanced = _ServiceView.of(_service(type="LoadBalancer", ports=ports))
    assert balanced.frontends(nodes, "127.250.0.1") == {
        Frontend("127.96.0.7", 80, http, FrontendKind.CLUSTER_IP),
        Frontend("127.0.10.1", 30080, http, FrontendKind.NODE_PORT),
        Frontend("127.0.10.2", 30080, http, FrontendKind.NODE_PORT),
        Frontend("127.250.0.1", 80, http, FrontendKind.LOAD_BALANCER),
    }
    assert _ServiceView.of(_service(clusterIP="None", ports=ports)).frontends(nodes, None) == set()
    external = _service(type="ExternalName", externalName="db.example.com", clusterIP=None)
    assert _ServiceView.of(external).frontends(nodes, None) == set()


def test_slice_conditions_read_as_kube_proxy_reads_them() -> None:
    body = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "web-abc",
            "namespace": "shop",
            "labels": {"kubernetes.io/service-name": "web"},
        },
        "addressType": "IPv4",
        "ports": [
            {"name": "http", "port": 8080, "protocol": "TCP"},
            {"name": "udp", "port": 53, "protocol": "UDP"},
        ],
        "endpoints": [
            {"addresses": ["127.16.0.1"]},
            {
                "addresses": ["127.16.0.2"],
                "conditions": {"ready": False, "serving": True, "terminating": True},
            },
        ],
    }
    view = _SliceView.of(as_slice(body))
    assert view is not None and view.service == ServiceRef("shop", "web")
    assert view.by_port == (
        (
            "http",
            (
                Endpoint("127.16.0.1", 8080, True, True, False),
                Endpoint("127.16.0.2", 8080, False, True, True),
            ),
        ),
    )
    del body["metadata"]["labels"]  # type: ignore[attr-defined]
    assert _SliceView.of(as_slice(body)) is None


def test_load_balancer_addresses_are_stable_and_prefer_what_status_shows() -> None:
    pool = LoadBalancerAddresses("127.250.0.0/30")
    web, api, other = ServiceRef("a", "web"), ServiceRef("a", "api"), ServiceRef("b", "x")
    assert pool.allocate(web, ["127.250.0.2"]) == "127.250.0.2"  # a restarted proxy
    assert pool.allocate(api) == "127.250.0.1"
    assert pool.allocate(web) == "127.250.0.2"
    assert pool.allocate(other) is None  # two usable addresses only
    assert pool.release(api) == "127.250.0.1"
    assert pool.allocate(other, ["10.0.0.1", "127.250.0.2"]) == "127.250.0.1"


# -- against an in-process API server ----------------------------------------------------------
@dataclass
class Api:
    url: str
    kubeconfig: Path
    blocks: ClusterConfig  # this module's own cluster slot: no collision with parallel workers

    def address(self, cidr: str) -> str:
        """A random address of one of the slot's blocks."""
        network = ipaddress.IPv4Network(getattr(self.blocks, cidr))
        return str(network[random.randint(2, network.num_addresses - 2)])

    def client(self) -> AsyncClient:
        return api_client(self.kubeconfig, field_manager="kube-proxy")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from aiohttp import web

    from harness.cluster.kubeconfig import KubeconfigEntry, write_kubeconfig
    from harness.cluster.simulator.http.server import ApiServer
    from harness.cluster.simulator.http.startup import ServerConfig, bootstrap
    from harness.cluster.simulator.registry import Registry
    from harness.cluster.simulator.store import Store

    directory = tmp_path_factory.mktemp("proxy-api")
    slot = claim_slot("cluster", CLUSTER_SLOTS)
    blocks = ClusterConfig().in_slot(slot.index)
    store = Store(Registry.builtin(), service_cidr=blocks.service_cidr)
    bootstrap(store)
    server = ApiServer(store, ServerConfig(token=TOKEN, logs_dir=directory))
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
    url = f"http://127.0.0.1:{holder['port']}"
    kubeconfig = write_kubeconfig(directory / "kubeconfig", KubeconfigEntry(url, TOKEN))
    yield Api(url, kubeconfig, blocks)
    asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    slot.release()


class Pod:
    """A stand-in pod on its own loopback address: answers each line with its name."""

    def __init__(self, name: str, api: Api) -> None:
        self.name = name
        self.address = api.address("pod_cidr")
        self.port = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> Pod:
        self.server = await asyncio.start_server(self._serve, self.address, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readline():
                writer.write(f"{self.name}\n".encode())
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def ask(address: str, port: int) -> str:
    reader, writer = await asyncio.open_connection(address, port)
    try:
        writer.write(b"ping\n")
        return (await asyncio.wait_for(reader.readline(), 5)).decode().strip()
    finally:
        writer.close()


async def eventually(probe: Callable[[], Coroutine[Any, Any, bool]], timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            if await probe():
                return
        except OSError:
            pass
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def slice_body(
    name: str, service: str, pods: list[Pod], namespace: str = "default"
) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "kubernetes.io/service-name": service,
                "endpointslice.kubernetes.io/managed-by": "test",
            },
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": pods[0].port if pods else 8080, "protocol": "TCP"}],
        "endpoints": [
            {
                "addresses": [p.address],
                "conditions": {"ready": True, "serving": True, "terminating": False},
            }
            for p in pods
        ],
    }


def service_body(
    api: Api, name: str, kind: str = "ClusterIP", selector: str = "blue"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "type": kind,
            # a ClusterIP of our own choosing, so parallel workers' proxies never collide
            "clusterIP": api.address("service_cidr"),
            "selector": {"app": name, "colour": selector},
            "ports": [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}],
        },
    }


@dataclass
class RunningProxy:
    proxy: ServiceProxy
    client: AsyncClient
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 10)
        await self.client.close()


async def start_proxy(api: Api, state_dir: Path, propagation: float = 0.0) -> RunningProxy:
    node = NodeSpec("node-1", "zone-a", api.address("node_cidr"), api.blocks.pod_cidr)
    config = ClusterConfig(
        time_scale=TimeScale(0.5),
        endpoint_propagation_delay=propagation * 2,  # real = kube seconds x 0.5
        deregistration_delay=0.2,
        load_balancer_cidr=api.blocks.load_balancer_cidr,
    )
    client = api.client()
    proxy = ServiceProxy(client, config, [node], state_dir)
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(proxy.run(stop))
    await asyncio.wait_for(proxy.ready(), 10)
    return RunningProxy(proxy, client, stop, task)


@pytest.mark.integration
@run_async
async def test_traffic_to_the_cluster_ip_and_load_balancer_reaches_the_pods(
    api: Api, tmp_path: Path
) -> None:
    pod = await Pod("blue-1", api).start()
    client = api.client()
    svc = await client.create(as_service(service_body(api, "shop", "LoadBalancer")))
    await client.create(as_slice(slice_body("shop-1", "shop", [pod])))
    assert svc.spec is not None and svc.spec.clusterIP and svc.spec.ports
    ip = svc.spec.clusterIP
    running = await start_proxy(api, tmp_path)
    try:
        assert await ask(ip, 8080) == "blue-1"  # ready() means synced

        async def ingress() -> bool:
            got = await client.get(Service, "shop", namespace="default")
            lb = got.status.loadBalancer if got.status else None
            return bool(lb and lb.ingress and lb.ingress[0].ip)

        await eventually(ingress)
        got = await client.get(Service, "shop", namespace="default")
        assert got.status and got.status.loadBalancer and got.status.loadBalancer.ingress
        balancer = got.status.loadBalancer.ingress[0].ip
        assert balancer == running.proxy.balancers.address_of(ServiceRef("default", "shop"))
        assert balancer is not None and await ask(balancer, 8080) == "blue-1"
        node_port = svc.spec.ports[0].nodePort
        assert (
            node_port is not None
            and await ask(running.proxy.nodes[0].address, node_port) == "blue-1"
        )

        hosts = (tmp_path / "hosts" / "default").read_text()
        names = "shop.default.svc.cluster.local shop.default.svc shop.default shop"
        assert f"{ip}\t{names}\n" in hosts
        assert "shop.default.svc.cluster.local" in (tmp_path / "hosts" / "kube-system").read_text()

        await client.delete(Service, "shop", namespace="default")

        async def refused() -> bool:
            try:
                await ask(ip, 8080)
            except ConnectionRefusedError:
                return True
            return False

        await eventually(refused)
        assert "shop.default" not in (tmp_path / "hosts" / "default").read_text()
    finally:
        await running.close()
        await client.delete(EndpointSlice, "shop-1", namespace="default")
        await client.close()
        pod.close()


@pytest.mark.integration
@run_async
async def test_a_selector_switch_moves_new_connections_after_the_delay(
    api: Api, tmp_path: Path
) -> None:
    blue, green = await Pod("blue", api).start(), await Pod("green", api).start()
    green.port = blue.port  # one targetPort for both colours, as with real pods
    green.close()
    green.server = await asyncio.start_server(green._serve, green.address, blue.port)
    client = api.client()
    svc = await client.create(as_service(service_body(api, "switch")))
    assert svc.spec is not None and svc.spec.clusterIP
    ip = svc.spec.clusterIP
    await client.create(as_slice(slice_body("switch-1", "switch", [blue])))
    running = await start_proxy(api, tmp_path, propagation=0.6)
    try:
        reader, writer = await asyncio.open_connection(ip, 8080)  # a keep-alive client
        writer.write(b"1\n")
        assert (await reader.readline()).strip() == b"blue"

        # the blue/green switch: the Service selector, then the endpoints controller's update
        await client.patch(
            Service,
            "switch",
            {"spec": {"selector": {"app": "switch", "colour": "green"}}},
            namespace="default",
            patch_type=PatchType.MERGE,
        )
        await client.patch(
            EndpointSlice,
            "switch-1",
            {"endpoints": slice_body("switch-1", "switch", [green])["endpoints"]},
            namespace="default",
            patch_type=PatchType.MERGE,
        )
        loop = asyncio.get_running_loop()
        changed = loop.time()
        assert await ask(ip, 8080) == "blue"  # kube-proxy has not caught up yet

        async def green_now() -> bool:
            return await ask(ip, 8080) == "green"

        await eventually(green_now)
        assert loop.time() - changed >= 0.55
        writer.write(b"2\n")
        assert (await reader.readline()).strip() == b"blue"  # the open connection stays
        writer.close()
    finally:
        await running.close()
        await client.delete(Service, "switch", namespace="default")
        await client.delete(EndpointSlice, "switch-1", namespace="default")
        await client.close()
        blue.close()
        green.close()


@pytest.mark.integration
@run_async
async def test_a_new_namespace_gets_a_hosts_file(api: Api, tmp_path: Path) -> None:
    running = await start_proxy(api, tmp_path)
    client = api.client()
    name = f"team-{octet()}"
    try:
        assert (tmp_path / "hosts" / "default").is_file()
        await client.create(as_namespace(name))

        async def written() -> bool:
            return (tmp_path / "hosts" / name).is_file()

        await eventually(written)
    finally:
        await running.close()
        await client.delete(Namespace, name)
        await client.close()
