"""The scheduler: filters, spreading and FitError messages as pure functions; then the agent
against an in-process API server (hand-made Nodes, no kubelets); then the whole simulator
with its agents (SimulatedCluster): nodes register, a bare pod is scheduled, and a Service's
EndpointSlice follows the readiness patched through the API."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cluster.agents.scheduler import (
    Scheduler,
    filter_node,
    fit_error_message,
    pick_node,
)
from harness.cluster.config import ClusterConfig
from harness.cluster.simulator.http.server import ApiServer
from harness.cluster.simulator.http.startup import ServerConfig, bootstrap
from harness.cluster.simulator.registry import Registry
from harness.cluster.simulator.store import Store

Obj = dict[str, Any]
TOKEN = "scheduler-test-token"


def node(name: str, zone: str = "zone-a", *, ready: bool = True, **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
        "spec": spec,
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def pod(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "web:1"}], **spec},
    }


# -- pure functions -------------------------------------------------------------------------
def test_filters_in_plugin_order() -> None:
    assert filter_node(pod("p"), node("n")) is None
    assert filter_node(pod("p"), node("n", unschedulable=True)) == "node(s) were unschedulable"
    tolerant = pod(
        "p", tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}]
    )
    assert filter_node(tolerant, node("n", unschedulable=True)) is None
    assert filter_node(pod("p"), node("n", ready=False)) == (
        "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
    )
    tainted = node("n", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    assert filter_node(pod("p"), tainted) == "node(s) had untolerated taint {dedicated: db}"
    assert filter_node(pod("p", tolerations=[{"operator": "Exists"}]), tainted) is None
    soft = node("n", taints=[{"key": "x", "effect": "PreferNoSchedule"}])
    assert filter_node(pod("p"), soft) is None
    assert filter_node(pod("p", nodeSelector={"disk": "ssd"}), node("n")) == (
        "node(s) didn't match Pod's node affinity/selector"
    )


def test_spread_by_zone_then_node_then_name() -> None:
    nodes = [node("node-1", "a"), node("node-2", "b"), node("node-3", "a")]
    assert pick_node(pod("p"), nodes, {})[0] == "node-1"
    # zone a holds 1 pod, zone b none: node-2
    assert pick_node(pod("p"), nodes, {"node-1": 1})[0] == "node-2"
    # zones even (a: 1, b: 1); in zone a node-3 is emptier than node-1, but ties go by pods
    assert pick_node(pod("p"), nodes, {"node-1": 1, "node-2": 1})[0] == "node-3"


def test_fit_error_message_matches_upstream() -> None:
    nodes = [node("a", unschedulable=True), node("b"), node("c", unschedulable=True)]
    chosen, reasons = pick_node(pod("p", nodeSelector={"disk": "ssd"}), nodes, {})
    assert chosen is None
    assert fit_error_message(3, reasons) == (
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "2 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is "
        "not helpful for scheduling.."
    )
    assert fit_error_message(0, {}) == "no nodes available to schedule pods"


# -- the agent against an in-process API server ---------------------------------------------
class LiveApi:
    def __init__(self, tmp: Path) -> None:
        from aiohttp import web

        self.store = Store(Registry.builtin())
        bootstrap(self.store)
        server = ApiServer(self.store, ServerConfig(token=TOKEN, logs_dir=tmp / "logs"))
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.holder: dict[str, Any] = {}

        async def serve() -> None:
            runner = web.AppRunner(server.application(), shutdown_timeout=1)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            self.holder["runner"] = runner
            self.holder["port"] = runner.addresses[0][1]
            server.mark_ready()
            started.set()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(serve())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(10)
        self.kubeconfig = tmp / "kubeconfig"
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "c",
                            "cluster": {"server": f"http://127.0.0.1:{self.holder['port']}"},
                        }
                    ],
                    "users": [{"name": "u", "user": {"token": TOKEN}}],
                    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                    "current-context": "x",
                }
            )
        )

    def rt(self, plural: str) -> Any:
        return self.store.registry.lookup("", "v1", plural)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.holder["runner"].cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveApi]:
    api = LiveApi(tmp_path)
    yield api
    api.close()


async def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def _condition(store_pod: Obj) -> Obj | None:
    for c in store_pod.get("status", {}).get("conditions") or []:
        if c["type"] == "PodScheduled":
            return dict(c)
    return None


@pytest.mark.integration
def test_scheduler_binds_spreads_and_retries_unschedulable_pods(live: LiveApi) -> None:
    from harness.cluster.agents.client import api_client

    store, pods, nodes, events = live.store, live.rt("pods"), live.rt("nodes"), live.rt("events")
    store.create(nodes, None, node("node-1", "zone-a"))
    store.create(nodes, None, node("node-2", "zone-b", unschedulable=True))

    def get(name: str) -> Obj:
        return store.get(pods, "default", name)

    async def scenario() -> None:
        api = api_client(live.kubeconfig, field_manager="default-scheduler")
        scheduler = Scheduler(api, ClusterConfig())
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop))
        try:
            await asyncio.wait_for(scheduler.ready(), 10)
            store.create(pods, "default", pod("a"))
            await _eventually(lambda: get("a")["spec"].get("nodeName") == "node-1")
            assert (_condition(get("a")) or {}).get("status") == "True"
            store.create(pods, "default", pod("picky", nodeSelector={"disk": "ssd"}))
            await _eventually(lambda: (_condition(get("picky")) or {}).get("status") == "False")
            condition = _condition(get("picky"))
            assert condition is not None and condition["reason"] == "Unschedulable"
            assert condition["message"].startswith(
                "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
                "1 node(s) were unschedulable."
            )
            store.create(pods, "default", pod("other", schedulerName="someone-else"))
            # a node change retries the pending pod
            ssd = store.get(nodes, None, "node-2")
            ssd["spec"] = {}
            ssd["metadata"]["labels"]["disk"] = "ssd"
            store.update(nodes, None, "node-2", ssd)
            await _eventually(lambda: get("picky")["spec"].get("nodeName") == "node-2")
            assert (_condition(get("picky")) or {}).get("status") == "True"
            # spreading: zone-b now holds one pod, zone-a one: node-1 wins by name
            store.create(pods, "default", pod("c"))
            await _eventually(lambda: bool(get("c")["spec"].get("nodeName")))
            assert get("c")["spec"]["nodeName"] == "node-1"
            await asyncio.sleep(0.2)
            assert "nodeName" not in get("other")["spec"]
            listed = store.list(events, "default").items
            reasons = sorted({(e["reason"], e["involvedObject"]["name"]) for e in listed})
            assert ("FailedScheduling", "picky") in reasons
            scheduled = [e for e in listed if e["reason"] == "Scheduled"]
            assert {e["message"] for e in scheduled} >= {
                "Successfully assigned default/a to node-1",
                "Successfully assigned default/picky to node-2",
            }
            assert all(e["reportingComponent"] == "default-scheduler" for e in scheduled)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            await api.close()

    asyncio.run(scenario())


# -- the whole simulator with its agents ----------------------------------------------------
@pytest.mark.integration
def test_simulator_with_agents_schedules_and_endpoints_follow_readiness() -> None:
    from harness.cluster.simulated import SimulatedCluster

    with SimulatedCluster("agents-e2e", time_scale=0.1, node_count=3) as cluster:
        nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
        assert sorted(n["metadata"]["name"] for n in nodes) == ["node-1", "node-2", "node-3"]
        cluster.kubectl("apply", "-f", "-", input=json.dumps(_service_and_pods()))
        deadline = time.monotonic() + 20

        def get(kind: str, name: str) -> Obj:
            return json.loads(cluster.kubectl("get", kind, name, "-o", "json").stdout)  # type: ignore[no-any-return]

        while True:
            pods = [get("pod", f"web-{i}") for i in range(2)]
            if all(p["spec"].get("nodeName") for p in pods):
                break
            assert time.monotonic() < deadline, "pods were not scheduled"
            time.sleep(0.1)
        assert {p["spec"]["nodeName"] for p in pods} <= {"node-1", "node-2", "node-3"}
        assert len({p["spec"]["nodeName"] for p in pods}) == 2  # spread

        def endpoint_ready() -> dict[str, bool]:
            listed = json.loads(
                cluster.kubectl(
                    "get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "json"
                ).stdout
            )["items"]
            return {
                e["targetRef"]["name"]: e["conditions"]["ready"]
                for s in listed
                for e in s.get("endpoints") or []
            }

        def pod_ready(name: str) -> bool:
            conditions = get("pod", name)["status"].get("conditions") or []
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

        def converge(wanted: dict[str, bool]) -> None:
            """Patch Ready through the API (again, should the kubelet have reported since)
            until the EndpointSlice shows exactly that readiness."""
            until = time.monotonic() + 20
            while True:
                for name, ready in wanted.items():
                    if pod_ready(name) != ready:
                        condition = {"type": "Ready", "status": "True" if ready else "False"}
                        cluster.kubectl(
                            "patch",
                            "pod",
                            name,
                            "--subresource=status",
                            "--type=strategic",
                            "-p",
                            json.dumps({"status": {"conditions": [condition]}}),
                        )
                if endpoint_ready() == wanted:
                    return
                assert time.monotonic() < until, f"endpoints {endpoint_ready()} != {wanted}"
                time.sleep(0.1)

        # The image maps to no command (ErrImagePull), so the kubelet never marks the pods
        # ready itself; they have their IPs, so they are listed, not ready.
        converge({"web-0": False, "web-1": False})
        converge({"web-0": True, "web-1": False})
        converge({"web-0": False, "web-1": True})


def _service_and_pods() -> Obj:
    items: list[Obj] = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        }
    ]
    for i in range(2):
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"web-{i}", "labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "no-such-image:1"}]},
            }
        )
    return {"apiVersion": "v1", "kind": "List", "items": items}
