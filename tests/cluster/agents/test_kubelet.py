"""The kubelet against a real simulator process: registration, pods as processes, probes,
restarts with CrashLoopBackOff, logs, env sources, graceful deletion, and clean stops.

The test side talks to the API with the official client, not lightkube: lightkube (msgspec)
crashed the interpreter when the kubelet's thread and the test's thread decoded at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness._process import reachable_by, service_user
from harness.cluster.agents.agent import NodeSpec, node_specs
from harness.cluster.agents.client import api_client
from harness.cluster.agents.kubelet import Kubelet, PodAddressPool
from harness.cluster.config import CLUSTER_SLOTS, ClusterConfig
from harness.cluster.simulated import SimulatedCluster
from harness.ports import claim_slot
from harness.timescale import TimeScale

JSON = dict[str, Any]
ROOT = Path(__file__).resolve().parents[3]
SCALE = 0.1


def test_address_pool_is_round_robin_and_honours_a_preferred_address() -> None:
    pool = PodAddressPool("127.16.0.0/16")
    first, second = pool.allocate(), pool.allocate()
    assert (first, second) == ("127.16.0.1", "127.16.0.2")
    pool.release(first)
    assert pool.allocate() == "127.16.0.3"  # a released address is not reused at once
    assert pool.allocate("127.16.9.9") == "127.16.9.9"
    assert pool.allocate("127.16.9.9") != "127.16.9.9"  # taken
    assert pool.allocate("10.0.0.1") not in ("10.0.0.1",)  # outside the block


# -- an in-process kubelet against a simulator process -------------------------------------------
def _pod_python() -> str:
    """A Python the pods' user can execute (root's pyenv is not reachable by nobody)."""
    user = service_user(("nobody",))
    for candidate in (sys.executable, "/usr/bin/python3"):
        real = Path(os.path.realpath(candidate))
        if user is None or (real.exists() and reachable_by(real.parent, user)):
            return candidate
    pytest.skip("no Python interpreter the unprivileged pod user can run")


class KubeletThread:
    """A Kubelet running on its own event loop in a thread, stopped through its stop event."""

    def __init__(
        self, cluster: SimulatedCluster, node: NodeSpec, config: ClusterConfig, state: Path
    ):
        self.spec = node
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.kubelet: Kubelet | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(
            target=self._main, args=(cluster, node, config, state), daemon=True
        )

    def start(self) -> KubeletThread:
        self._thread.start()
        assert self._ready.wait(30), "kubelet did not register in 30 s"
        if self.error:
            raise self.error
        return self

    def _main(
        self, cluster: SimulatedCluster, node: NodeSpec, config: ClusterConfig, state: Path
    ) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            api = api_client(cluster.kubeconfig, field_manager="kubelet")
            self.kubelet = Kubelet(api, config, node, cluster.logs_dir, state)
            self.stop_event = asyncio.Event()
            task = asyncio.create_task(self.kubelet.run(self.stop_event))
            try:
                await self.kubelet.ready()
            except BaseException as error:
                self.error = error
            finally:
                self._ready.set()
            await task
            await api.close()

        try:
            self.loop.run_until_complete(main())
        except BaseException as error:
            self.error = error
            self._ready.set()

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the kubelet's loop (its state is not thread-safe)."""

        async def wrapper() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(10)

    def stop(self) -> None:
        if self.stop_event is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "kubelet did not stop in 30 s"


@pytest.fixture(scope="module")
def cluster() -> Iterator[SimulatedCluster]:
    with SimulatedCluster("kubelet-test", agents=False) as started:
        yield started


@pytest.fixture(scope="module")
def config() -> Iterator[ClusterConfig]:
    # Address blocks of a slot of our own, so parallel workers' pods never share an address.
    slot = claim_slot("cluster", CLUSTER_SLOTS)
    yield ClusterConfig(
        time_scale=TimeScale(SCALE),
        images={"webapp": [_pod_python(), "fixtures/images/webapp.py"]},
        base_dir=ROOT,
        node_count=2,
        zones=("zone-a", "zone-b"),
    ).in_slot(slot.index)
    slot.release()


@pytest.fixture(scope="module")
def node(
    cluster: SimulatedCluster, config: ClusterConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KubeletThread]:
    spec = node_specs(config)[0]
    runner = KubeletThread(cluster, spec, config, tmp_path_factory.mktemp("kubelet-state")).start()
    yield runner
    runner.stop()


class Client:
    """The few calls these tests make, through the official client, answering plain dicts."""

    def __init__(self, cluster: SimulatedCluster) -> None:
        from kubernetes import client

        self.raw = cluster.api_client()
        self.core = client.CoreV1Api(self.raw)

    def plain(self, model: Any) -> JSON:
        return self.raw.sanitize_for_serialization(model)  # type: ignore[no-any-return]

    def create_pod(self, body: JSON) -> JSON:
        return self.plain(self.core.create_namespaced_pod("default", body))

    def pod(self, name: str) -> JSON | None:
        from kubernetes.client.exceptions import ApiException

        try:
            return self.plain(self.core.read_namespaced_pod(name, "default"))
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def delete_pod(self, name: str, grace: int | None = None) -> None:
        self.core.delete_namespaced_pod(name, "default", grace_period_seconds=grace)

    def node(self, name: str) -> JSON:
        return self.plain(self.core.read_node(name))

    def events(self, name: str) -> list[tuple[str, str]]:
        listed = self.core.list_namespaced_event("default")
        return [
            (str(e.reason), str(e.message)) for e in listed.items if e.involved_object.name == name
        ]


@pytest.fixture(scope="module")
def client(cluster: SimulatedCluster) -> Client:
    return Client(cluster)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _create_pod(
    client: Client, name: str, containers: list[JSON], node: str = "node-1", **spec: Any
) -> JSON:
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "containers": containers, **spec},
    }
    return client.create_pod(body)


def _get(client: Client, name: str) -> JSON | None:
    return client.pod(name)


def _wait(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


def _condition(pod: JSON | None, kind: str) -> str | None:
    for condition in ((pod or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return str(condition.get("status"))
    return None


def _container(pod: JSON | None) -> JSON:
    statuses = ((pod or {}).get("status") or {}).get("containerStatuses") or [{}]
    return statuses[0]  # type: ignore[no-any-return]


def _events(client: Client, name: str) -> list[tuple[str, str]]:
    return client.events(name)


def _webapp(tag: str = "good", **extra: Any) -> JSON:
    return {
        "name": "app",
        "image": f"webapp:{tag}",
        "env": [{"name": "PORT", "value": "8080"}],
        "ports": [{"containerPort": 8080}],
        **extra,
    }


pytestmark = pytest.mark.integration


def test_node_is_registered_with_labels_addresses_and_version(
    node: KubeletThread, client: Client
) -> None:
    found = client.node("node-1")
    labels = found["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "node-1"
    assert labels["kubernetes.io/os"] == "linux"
    assert labels["topology.kubernetes.io/zone"] == "zone-a"
    addresses = {a["type"]: a["address"] for a in found["status"]["addresses"]}
    assert addresses == {"InternalIP": node.spec.address, "Hostname": "node-1"}
    assert found["status"]["nodeInfo"]["kubeletVersion"].startswith("v1.")
    assert {"cpu", "memory", "pods"} <= set(found["status"]["allocatable"])
    ready = next(c for c in found["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
    first_beat = ready["lastHeartbeatTime"]

    def beat() -> bool:
        node_now = client.node("node-1")
        ready_now = next(c for c in node_now["status"]["conditions"] if c["type"] == "Ready")
        return bool(ready_now["lastHeartbeatTime"] != first_beat)

    _wait("a heartbeat (10 s x time scale)", beat, timeout=5)


def test_pod_becomes_ready_with_its_own_ip_and_logs(
    node: KubeletThread, client: Client, cluster: SimulatedCluster
) -> None:
    name = _name("web")
    probe = {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1}
    _create_pod(client, name, [_webapp(readinessProbe=probe)])
    pod = _wait(
        "Ready", lambda: (p := _get(client, name)) and _condition(p, "Ready") == "True" and p
    )
    status = pod["status"]
    assert ipaddress.ip_address(status["podIP"]) in ipaddress.ip_network(node.spec.pod_cidr)
    assert status["hostIP"] == node.spec.address and status["phase"] == "Running"
    assert _condition(pod, "ContainersReady") == "True"
    assert _container(pod)["ready"] is True and _container(pod)["started"] is True
    import urllib.request

    with urllib.request.urlopen(f"http://{status['podIP']}:8080/", timeout=5) as response:
        assert f"hello from {name} (good)" in response.read().decode()
    logs = cluster.kubectl("logs", name).stdout
    assert f"listening on {status['podIP']}:8080" in logs
    reasons = [reason for reason, _ in _events(client, name)]
    assert {"Pulled", "Created", "Started"} <= set(reasons)
    client.delete_pod(name)


def test_unready_container_keeps_the_pod_not_ready(node: KubeletThread, client: Client) -> None:
    name = _name("unready")
    probe = {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1}
    _create_pod(client, name, [_webapp("unready", readinessProbe=probe)])
    failed = ("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503")
    _wait("a 503 Unhealthy event", lambda: failed in _events(client, name))
    pod = _get(client, name)
    assert _condition(pod, "Ready") == "False"
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")  # type: ignore[index]
    assert ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [app]"
    client.delete_pod(name, grace=0)


def test_crashing_container_goes_to_crash_loop_back_off(
    node: KubeletThread, client: Client, cluster: SimulatedCluster
) -> None:
    name = _name("crash")
    created = _create_pod(client, name, [_webapp("crash")])
    uid = created["metadata"]["uid"]

    def backing_off_20s() -> JSON | None:
        pod = _get(client, name)
        waiting = (_container(pod).get("state") or {}).get("waiting") or {}
        return pod if "back-off 20s" in str(waiting.get("message")) else None

    pod = _wait("back-off 20s", backing_off_20s, timeout=20)
    status = _container(pod)
    assert status["state"]["waiting"] == {
        "reason": "CrashLoopBackOff",
        "message": f"back-off 20s restarting failed container=app pod={name}_default({uid})",
    }
    assert status["restartCount"] == 2
    terminated = status["lastState"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (1, "Error")
    assert pod["status"]["phase"] == "Running"
    assert "crashing at start" in cluster.kubectl("logs", name).stdout
    assert "crashing at start" in cluster.kubectl("logs", name, "--previous").stdout
    assert (
        "BackOff",
        f"Back-off restarting failed container app in pod {name}_default({uid})",
    ) in (_events(client, name))
    client.delete_pod(name, grace=0)


def test_liveness_failure_restarts_the_container(node: KubeletThread, client: Client) -> None:
    name = _name("live")
    probe = {
        "httpGet": {"path": "/ready", "port": 8080},
        "periodSeconds": 1,
        "failureThreshold": 2,
    }
    _create_pod(client, name, [_webapp("unready", livenessProbe=probe)])
    _wait(
        "a restart", lambda: _container(_get(client, name)).get("restartCount", 0) >= 1, timeout=20
    )
    events = _events(client, name)
    assert ("Killing", "Container app failed liveness probe, will be restarted") in events
    assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 503") in events
    client.delete_pod(name, grace=0)


def test_deletion_runs_pre_stop_then_sigterm_then_deletes(
    node: KubeletThread, client: Client
) -> None:
    # a directory the pod's unprivileged user can write (pytest's tmp_path is root-only)
    shared = Path(tempfile.mkdtemp(prefix="kubelet-test-", dir="/tmp"))
    shared.chmod(0o777)
    mark = shared / "order"
    name = _name("graceful")
    container = {
        "name": "app",
        "image": "busybox",
        "command": [
            "sh",
            "-c",
            'trap "echo TERM >> $MARK; exit 0" TERM; echo up; while true; do sleep 0.05; done',
        ],
        "env": [{"name": "MARK", "value": str(mark)}],
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "echo PRESTOP >> $MARK"]}}},
    }
    _create_pod(client, name, [container], terminationGracePeriodSeconds=30)
    _wait("running", lambda: (_container(_get(client, name)).get("state") or {}).get("running"))
    pid = node.call(
        lambda: (
            next(r for r in node.kubelet.pods.values() if r.name == name).containers[0].current.pid
        )
    )  # type: ignore[union-attr]
    client.delete_pod(name)
    deleting = _get(client, name)
    assert deleting is not None and deleting["metadata"].get("deletionTimestamp")
    _wait("the pod to be gone", lambda: _get(client, name) is None, timeout=10)
    assert mark.read_text().split() == ["PRESTOP", "TERM"]
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert ("Killing", "Stopping container app") in _events(client, name)
    shutil.rmtree(shared, ignore_errors=True)


def test_unmapped_image_is_err_image_pull(node: KubeletThread, client: Client) -> None:
    name = _name("noimage")
    _create_pod(client, name, [{"name": "app", "image": "ghcr.io/acme/api:1.2"}])

    def waiting() -> JSON | None:
        state = _container(_get(client, name)).get("state") or {}
        return (
            state.get("waiting")
            if (state.get("waiting") or {}).get("reason") == "ErrImagePull"
            else None
        )

    found = _wait("ErrImagePull", waiting)
    assert (
        '[tool.harness.images] in pyproject.toml, e.g. "api" = ["python", "app.py"]'
        in found["message"]
    )
    events = _events(client, name)
    assert ("Failed", "Error: ErrImagePull") in events
    client.delete_pod(name, grace=0)


def test_env_sources_and_a_missing_key_that_appears_later(
    node: KubeletThread, client: Client, cluster: SimulatedCluster
) -> None:
    config_name, secret_name = _name("cfg"), _name("sec")
    client.core.create_namespaced_config_map(
        "default", {"metadata": {"name": config_name}, "data": {"GREETING": "hi"}}
    )
    client.core.create_namespaced_secret(
        "default",
        {"metadata": {"name": secret_name}, "data": {"TOKEN": "dDBr"}},  # "t0k"
    )
    name = _name("env")
    container = {
        "name": "app",
        "image": "busybox",
        "command": ["sh", "-c", "env | sort; sleep 30"],
        "envFrom": [{"configMapRef": {"name": config_name}, "prefix": "CM_"}],
        "env": [
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": secret_name, "key": "TOKEN"}}},
            {"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "MYIP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "MSG", "value": "$(CM_GREETING) from $(ME)"},
            {
                "name": "LATER",
                "valueFrom": {"configMapKeyRef": {"name": config_name, "key": "LATER"}},
            },
        ],
    }
    _create_pod(client, name, [container])

    def config_error() -> JSON | None:
        waiting = (_container(_get(client, name)).get("state") or {}).get("waiting") or {}
        return waiting if waiting.get("reason") == "CreateContainerConfigError" else None

    error = _wait("CreateContainerConfigError", config_error)
    assert error["message"] == f"couldn't find key LATER in ConfigMap default/{config_name}"
    client.core.patch_namespaced_config_map(config_name, "default", {"data": {"LATER": "now"}})
    pod = _wait(
        "running",
        lambda: (
            (p := _get(client, name)) and (_container(p).get("state") or {}).get("running") and p
        ),
    )
    logs = _wait(
        "the env in the logs",
        lambda: (
            (out := cluster.kubectl("logs", name, check=False).stdout) and "TOKEN" in out and out
        ),
    )
    lines = set(logs.splitlines())
    assert {
        "CM_GREETING=hi",
        "TOKEN=t0k",
        f"ME={name}",
        f"MSG=hi from {name}",
        "LATER=now",
    } <= lines
    assert f"MYIP={pod['status']['podIP']}" in lines and f"POD_IP={pod['status']['podIP']}" in lines
    assert "IMAGE_TAG=latest" in lines and "KUBECONFIG" not in logs
    client.delete_pod(name, grace=0)


@pytest.mark.skipif(os.geteuid() != 0, reason="private mount namespaces need root")
def test_pod_sees_the_namespace_hosts_file_as_etc_hosts(
    node: KubeletThread, client: Client, cluster: SimulatedCluster
) -> None:
    name = _name("hosts")
    container = {
        "name": "app",
        "image": "busybox",
        "command": ["sh", "-c", "id -un; cat /etc/hosts; sleep 30"],
    }
    _create_pod(client, name, [container])
    logs = _wait(
        "logs",
        lambda: (
            (out := cluster.kubectl("logs", name, check=False).stdout)
            and "localhost" in out
            and out
        ),
    )
    assert "Kubernetes-managed hosts file" in logs
    assert logs.splitlines()[0] == "nobody"
    client.delete_pod(name, grace=0)


def test_no_process_is_left_after_the_kubelet_stops_and_a_new_one_restarts_the_pod(
    cluster: SimulatedCluster, config: ClusterConfig, client: Client, tmp_path: Path
) -> None:
    spec = node_specs(config)[1]
    first = KubeletThread(cluster, spec, config, tmp_path).start()
    name = _name("survivor")
    try:
        _create_pod(client, name, [_webapp()], node="node-2")
        _wait("running", lambda: (_container(_get(client, name)).get("state") or {}).get("running"))
        pid = first.call(lambda: next(iter(first.kubelet.pods.values())).containers[0].current.pid)  # type: ignore[union-attr]
        assert psutil.pid_exists(pid)
    finally:
        first.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    before = _get(client, name)
    second = KubeletThread(cluster, spec, config, tmp_path).start()
    try:
        pod = _wait(
            "the pod restarted by the new kubelet",
            lambda: (
                (p := _get(client, name))
                and _container(p).get("restartCount") == 1
                and (_container(p).get("state") or {}).get("running")
                and p
            ),
        )
        assert pod["status"]["podIP"] == before["status"]["podIP"]  # type: ignore[index]
        assert _container(pod)["lastState"]["terminated"]["reason"] == "ContainerStatusUnknown"
        client.delete_pod(name, grace=0)
        _wait("the pod to be gone", lambda: _get(client, name) is None)
    finally:
        second.stop()
