"""The kubelet: a node agent that registers its Node, heartbeats, and runs the pods bound to it.

It speaks only the Kubernetes API (lightkube: list/watch pods by spec.nodeName, pods/status,
events, the final delete), like pkg/kubelet; the pods themselves run in pods.py's PodRuntime.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import platform
import shutil
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import psutil
from lightkube import ApiError, AsyncClient
from lightkube.operators import BinaryOperator, SequenceOperator
from lightkube.resources.core_v1 import ConfigMap, Event, Node, Pod, Secret, Service
from lightkube.types import PatchType

from harness._process import service_user
from harness.cluster.agents.agent import NodeSpec
from harness.cluster.agents.pods import (
    AGENT_STOP_GRACE,
    ContainerConfigError,
    NodeContext,
    PodRuntime,
    ProcessSandbox,
)
from harness.cluster.config import ClusterConfig
from harness.cluster.podlogs import PodLogs

__all__ = ["HEARTBEAT_PERIOD", "EventRecorder", "Kubelet", "KubeletApi", "PodAddressPool"]

log = logging.getLogger("harness.kubelet")

JSON = dict[str, Any]

#: Kubernetes seconds between Node heartbeats (nodeStatusUpdateFrequency)
HEARTBEAT_PERIOD = 10.0
#: the kubelet version reported when the server's /version cannot be read
FALLBACK_VERSION = "v1.31.0"
_MAX_PODS = 110
_STATUS_RETRIES = 5


def _rfc3339(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _code(error: ApiError) -> int:
    return int(getattr(error.status, "code", 0) or 0)


class PodAddressPool:
    """Pod IPs from the node's block, handed out round robin (like host-local IPAM), so a
    released address is not reused at once."""

    def __init__(self, cidr: str) -> None:
        network = ipaddress.ip_network(cidr)
        self._first = int(network.network_address) + 1
        self._size = max(1, network.num_addresses - 2)
        self._next = 0
        self._used: set[str] = set()
        self.network = network

    def allocate(self, preferred: str | None = None) -> str:
        if preferred and preferred not in self._used:
            with contextlib.suppress(ValueError):
                address = ipaddress.ip_address(preferred)
                if address in self.network and address != self.network.network_address:
                    self._used.add(preferred)
                    return preferred
        for _ in range(self._size):
            candidate = str(ipaddress.ip_address(self._first + self._next))
            self._next = (self._next + 1) % self._size
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate
        raise RuntimeError(f"no free pod IP left in {self.network}")

    def release(self, address: str) -> None:
        self._used.discard(address)

    @property
    def in_use(self) -> frozenset[str]:
        return frozenset(self._used)


class EventRecorder:
    """Events as the kubelet's recorder writes them; a repeat of the same event bumps its
    count and lastTimestamp (the EventCorrelator's aggregation) instead of a new object."""

    def __init__(self, api: AsyncClient, node: str, limit: int = 4096) -> None:
        self.api = api
        self.node = node
        self.limit = limit
        self._seen: OrderedDict[tuple[str, ...], tuple[str, str, int]] = OrderedDict()
        self._lock = asyncio.Lock()

    async def record(
        self, pod: JSON, event_type: str, reason: str, message: str, field_path: str = ""
    ) -> None:
        metadata = pod.get("metadata") or {}
        namespace = str(metadata.get("namespace") or "default")
        uid = str(metadata.get("uid", ""))
        key = (uid, field_path, event_type, reason, message)
        now = _rfc3339()
        async with self._lock:
            try:
                seen = self._seen.get(key)
                if seen is not None:
                    name, first, count = seen
                    try:
                        await self.api.patch(
                            Event,
                            name,
                            {"count": count + 1, "lastTimestamp": now},
                            namespace=namespace,
                            patch_type=PatchType.MERGE,
                        )
                        self._remember(key, (name, first, count + 1))
                        return
                    except ApiError as error:
                        if _code(error) != 404:
                            raise
                name = f"{metadata.get('name', 'pod')}.{time.time_ns():x}"
                involved: JSON = {
                    "kind": "Pod",
                    "namespace": namespace,
                    "name": metadata.get("name"),
                    "uid": uid,
                    "apiVersion": "v1",
                    "resourceVersion": metadata.get("resourceVersion"),
                }
                if field_path:
                    involved["fieldPath"] = field_path
                body = {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {"name": name, "namespace": namespace},
                    "involvedObject": involved,
                    "reason": reason,
                    "message": message,
                    "type": event_type,
                    "count": 1,
                    "firstTimestamp": now,
                    "lastTimestamp": now,
                    "source": {"component": "kubelet", "host": self.node},
                    "reportingComponent": "kubelet",
                    "reportingInstance": self.node,
                }
                event = cast(Event, Event.from_dict(body))
                await self.api.create(event)
                self._remember(key, (name, now, 1))
            except ApiError as error:
                log.warning(
                    "event %s %s on %s/%s not recorded: %s",
                    event_type,
                    reason,
                    namespace,
                    metadata.get("name"),
                    error,
                )
            except Exception as error:  # the API is unreachable: events are best effort
                log.warning("event %s not recorded: %s", reason, error)

    def _remember(self, key: tuple[str, ...], value: tuple[str, str, int]) -> None:
        self._seen[key] = value
        self._seen.move_to_end(key)
        while len(self._seen) > self.limit:
            self._seen.popitem(last=False)


class KubeletApi:
    """The PodApi of pods.py over lightkube: status writes with optimistic concurrency,
    events, ConfigMaps, Secrets, Services, and the final delete with a uid precondition."""

    def __init__(self, api: AsyncClient, recorder: EventRecorder) -> None:
        self.api = api
        self.recorder = recorder

    async def patch_status(self, pod: JSON, status: JSON) -> JSON | None:
        """A merge patch of pods/status carrying the resourceVersion it was computed against
        (the conditions list is replaced whole, so another writer's condition must not be
        lost); a 409 re-reads the pod and merges again."""
        metadata = pod["metadata"]
        name, namespace = str(metadata["name"]), str(metadata.get("namespace") or "default")
        current = pod
        for _ in range(_STATUS_RETRIES):
            mine = {c["type"]: c for c in status.get("conditions") or []}
            theirs = [
                c
                for c in (current.get("status") or {}).get("conditions") or []
                if c.get("type") not in mine
            ]
            body = {
                "metadata": {
                    "uid": current["metadata"].get("uid"),
                    "resourceVersion": current["metadata"].get("resourceVersion"),
                },
                "status": {**status, "conditions": [*mine.values(), *theirs]},
            }
            try:
                stored = await self.api.patch(
                    Pod.Status, name, body, namespace=namespace, patch_type=PatchType.MERGE
                )
                return stored.to_dict()
            except ApiError as error:
                if _code(error) == 404:
                    return None
                if _code(error) != 409:
                    log.warning("status of pod %s/%s not written: %s", namespace, name, error)
                    return current
            try:
                fresh = (await self.api.get(Pod, name, namespace=namespace)).to_dict()
            except ApiError as error:
                if _code(error) == 404:
                    return None
                raise
            if fresh["metadata"].get("uid") != metadata.get("uid"):
                return None  # a new pod of the same name
            current = fresh
        return current

    async def record_event(
        self, pod: JSON, event_type: str, reason: str, message: str, field_path: str = ""
    ) -> None:
        await self.recorder.record(pod, event_type, reason, message, field_path)

    async def _get(self, kind: Any, namespace: str, name: str) -> JSON | None:
        try:
            found = await self.api.get(kind, name, namespace=namespace)
        except ApiError as error:
            if _code(error) == 404:
                return None
            raise ContainerConfigError(str(error)) from error
        return found.to_dict()  # type: ignore[no-any-return]

    async def get_config_map(self, namespace: str, name: str) -> JSON | None:
        return await self._get(ConfigMap, namespace, name)

    async def get_secret(self, namespace: str, name: str) -> JSON | None:
        return await self._get(Secret, namespace, name)

    async def list_services(self, namespace: str) -> list[JSON]:
        try:
            return [s.to_dict() async for s in self.api.list(Service, namespace=namespace)]
        except ApiError as error:
            raise ContainerConfigError(str(error)) from error

    async def delete_pod(self, pod: JSON) -> None:
        metadata = pod["metadata"]
        name, namespace = str(metadata["name"]), str(metadata.get("namespace") or "default")
        options = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": metadata.get("uid")},
        }
        try:
            await self._delete_with_options(name, namespace, options)
        except ApiError as error:
            if _code(error) not in (404, 409):
                log.warning("pod %s/%s not deleted: %s", namespace, name, error)

    async def _delete_with_options(self, name: str, namespace: str, options: JSON) -> None:
        """lightkube's delete() sends no body, and preconditions live only in the body: build
        the same request and attach the DeleteOptions."""
        generic: Any = getattr(self.api, "_client", None)
        if generic is None or not hasattr(generic, "prepare_request"):
            await self.api.delete(Pod, name, namespace=namespace, grace_period=0)
            return
        request = generic.prepare_request(
            "delete", res=Pod, name=name, namespace=namespace, params={"gracePeriodSeconds": 0}
        )
        request.data = options
        response = await generic.send(generic.build_adapter_request(request))
        generic.raise_for_status(response)

    async def server_version(self) -> str:
        generic: Any = getattr(self.api, "_client", None)
        try:
            response = await generic._client.get("version")
            return str(response.json()["gitVersion"])
        except Exception:
            return FALLBACK_VERSION


class Kubelet:
    """One simulated node's kubelet (the Agent protocol of agent.py)."""

    def __init__(
        self,
        api: AsyncClient,
        config: ClusterConfig,
        node: NodeSpec,
        logs_dir: Path,
        state_dir: Path,
    ) -> None:
        self.api = api
        self.config = config
        self.node = node
        self.name = f"kubelet {node.name}"
        self.logs = PodLogs(Path(logs_dir))
        self.state_dir = Path(state_dir)
        self.pool = PodAddressPool(node.pod_cidr)
        self.recorder = EventRecorder(api, node.name)
        self.pod_api = KubeletApi(api, self.recorder)
        self.pods: dict[str, PodRuntime] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._registered = asyncio.Event()
        self._failed: BaseException | None = None
        self._ctx: NodeContext | None = None
        self._conditions: list[JSON] = []

    # -- the Agent protocol -------------------------------------------------------------------
    async def ready(self) -> None:
        """Returns once the Node is registered; raises what stopped the registration."""
        await self._registered.wait()
        if self._failed is not None:
            raise self._failed

    async def run(self, stop: asyncio.Event) -> None:
        try:
            self._ctx = await self._node_context()
            await self._register()
        except BaseException as error:
            self._failed = error
            self._registered.set()
            raise
        self._registered.set()
        background = [
            asyncio.create_task(self._heartbeat(), name=f"{self.name} heartbeat"),
            asyncio.create_task(self._watch_pods(), name=f"{self.name} pods"),
        ]
        try:
            await stop.wait()
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await self._stop_pods()

    # -- node -----------------------------------------------------------------------------------
    async def _node_context(self) -> NodeContext:
        user = service_user(("nobody",))
        isolate = user is not None and await _private_mounts_work()
        if user is not None and not isolate:
            log.warning(
                "%s: cannot start pods in private mount namespaces (unshare, nsenter, setpriv "
                "or mount missing, or not permitted); pods run as %s with the machine's "
                "/etc/hosts, so Service names will not resolve in them",
                self.name,
                user.name,
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return NodeContext(
            config=self.config,
            node=self.node,
            logs=self.logs,
            state_dir=self.state_dir,
            sandbox=ProcessSandbox(user, isolate=isolate),
            memory_capacity=psutil.virtual_memory().total,
        )

    def _node_conditions(self, now: str) -> list[JSON]:
        previous = {c["type"]: c.get("lastTransitionTime") for c in self._conditions}

        def condition(kind: str, status: str, reason: str, message: str) -> JSON:
            return {
                "type": kind,
                "status": status,
                "lastHeartbeatTime": now,
                "lastTransitionTime": previous.get(kind) or now,
                "reason": reason,
                "message": message,
            }

        self._conditions = [
            condition(
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
            condition(
                "DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"
            ),
            condition(
                "PIDPressure",
                "False",
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
            ),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
        return self._conditions

    async def _node_status(self) -> JSON:
        assert self._ctx is not None
        version = await self.pod_api.server_version()
        capacity = {
            "cpu": str(self._ctx.cpu_capacity),
            "memory": f"{self._ctx.memory_capacity // 1024}Ki",
            "pods": str(_MAX_PODS),
            "ephemeral-storage": f"{shutil.disk_usage(self.state_dir).total // 1024}Ki",
        }
        machine = platform.machine()
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
        return {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "addresses": [
                {"type": "InternalIP", "address": self.node.address},
                {"type": "Hostname", "address": self.node.name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": uuid.uuid5(uuid.NAMESPACE_DNS, self.node.name).hex,
                "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, self.node.name)),
                "bootID": str(uuid.uuid4()),
                "kernelVersion": platform.release(),
                "osImage": "harness simulated node",
                "containerRuntimeVersion": "harness-process://0.1.0",
                "kubeletVersion": version,
                "kubeProxyVersion": version,
                "operatingSystem": "linux",
                "architecture": arch,
            },
            "conditions": self._node_conditions(_rfc3339()),
        }

    def _labels(self) -> dict[str, str]:
        machine = platform.machine()
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
        return {
            "kubernetes.io/hostname": self.node.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": arch,
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": arch,
            "topology.kubernetes.io/zone": self.node.zone,
        }

    async def _register(self) -> None:
        """registerWithAPIServer: create the Node, or adopt an existing one of that name."""
        status = await self._node_status()
        body = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.node.name, "labels": self._labels()},
            "spec": {"podCIDR": self.node.pod_cidr, "podCIDRs": [self.node.pod_cidr]},
            "status": status,
        }
        try:
            node = cast(Node, Node.from_dict(body))
            await self.api.create(node)
            log.info("%s registered node %s", self.name, self.node.name)
            return
        except ApiError as error:
            if _code(error) != 409:
                raise
        await self.api.patch(
            Node,
            self.node.name,
            {"metadata": {"labels": self._labels()}},
            patch_type=PatchType.MERGE,
        )
        await self.api.patch(
            Node.Status, self.node.name, {"status": status}, patch_type=PatchType.MERGE
        )

    async def _heartbeat(self) -> None:
        period = self.config.time_scale.real(HEARTBEAT_PERIOD)
        while True:
            await asyncio.sleep(period)
            try:
                conditions = self._node_conditions(_rfc3339())
                await self.api.patch(
                    Node.Status,
                    self.node.name,
                    {"status": {"conditions": conditions}},
                    patch_type=PatchType.MERGE,
                )
            except ApiError as error:
                if _code(error) == 404:
                    with contextlib.suppress(Exception):
                        await self._register()
                else:
                    log.warning("%s heartbeat failed: %s", self.name, error)
            except Exception as error:
                log.warning("%s heartbeat failed: %s", self.name, error)

    # -- pods -----------------------------------------------------------------------------------
    async def _watch_pods(self) -> None:
        """A reflector: list pods bound here, then watch from the list's resourceVersion;
        relist after any error (410 Expired included)."""
        fields: dict[str, str | BinaryOperator | SequenceOperator] = {
            "spec.nodeName": self.node.name
        }
        while True:
            try:
                listing = self.api.list(Pod, namespace="*", fields=fields)
                pods = [p.to_dict() async for p in listing]
                self._reconcile(pods)
                version = listing.resourceVersion
                async for kind, obj in self.api.watch(
                    Pod, namespace="*", fields=fields, resource_version=version
                ):
                    pod = obj.to_dict()
                    if kind == "DELETED":
                        self._pod_removed(pod)
                    elif kind in ("ADDED", "MODIFIED"):
                        self._pod_seen(pod)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("%s: pod watch ended (%s); listing again", self.name, error)
                await asyncio.sleep(min(1.0, self.config.time_scale.real(1.0)) + 0.05)

    def _reconcile(self, pods: list[JSON]) -> None:
        present = {str(p["metadata"].get("uid")) for p in pods}
        for uid, runtime in list(self.pods.items()):
            if uid not in present:
                runtime.removed()
        for pod in pods:
            self._pod_seen(pod)

    def _pod_seen(self, pod: JSON) -> None:
        uid = str(pod["metadata"].get("uid", ""))
        runtime = self.pods.get(uid)
        if runtime is not None:
            runtime.update(pod)
            return
        if uid in self._tasks:
            return  # finishing
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            return  # finished before this kubelet started; nothing to run
        assert self._ctx is not None
        preferred = status.get("podIP")
        try:
            address = self.pool.allocate(str(preferred) if preferred else None)
        except RuntimeError as error:
            log.error("%s: pod %s not started: %s", self.name, pod["metadata"].get("name"), error)
            return
        runtime = PodRuntime(pod, self._ctx, self.pod_api, address)
        self.pods[uid] = runtime
        self._tasks[uid] = asyncio.create_task(self._run_pod(uid, runtime), name=f"pod {uid}")

    def _pod_removed(self, pod: JSON) -> None:
        runtime = self.pods.get(str(pod["metadata"].get("uid", "")))
        if runtime is not None:
            runtime.removed()

    async def _run_pod(self, uid: str, runtime: PodRuntime) -> None:
        try:
            await runtime.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: pod %s/%s failed", self.name, runtime.namespace, runtime.name)
        finally:
            self.pods.pop(uid, None)
            self._tasks.pop(uid, None)
            self.pool.release(runtime.pod_ip)
            same_name = any(
                (r.namespace, r.name) == (runtime.namespace, runtime.name)
                for r in self.pods.values()
            )
            if runtime.pod_deleted and not same_name:
                self.logs.remove_pod(runtime.namespace, runtime.name)

    async def _stop_pods(self) -> None:
        """The agent stops: every container gets SIGTERM, then SIGKILL after a short grace."""
        runtimes = list(self.pods.values())
        for runtime in runtimes:
            runtime.exit_grace = min(AGENT_STOP_GRACE, self.config.time_scale.real(30.0))
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _private_mounts_work() -> bool:
    """Root, the util-linux tools, and an actual trial of a private mount namespace."""
    if os.geteuid() != 0:
        return False
    if not all(shutil.which(tool) for tool in ("unshare", "nsenter", "setpriv", "mount", "sh")):
        return False
    try:
        process = await asyncio.create_subprocess_exec(
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            "mount --bind /dev/null /dev/null",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return await asyncio.wait_for(process.wait(), 10.0) == 0
    except (OSError, TimeoutError):
        return False
