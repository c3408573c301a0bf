"""The scheduler node agent: binds each unscheduled pod of default-scheduler to a Ready node,
spreading pods over zones then nodes, through pods/binding like kube-scheduler.

    Scheduler(api, config)          the Agent (name "default-scheduler")
        await run(stop)             reflect Nodes, unscheduled Pods (spec.nodeName=) and
                                    assigned Pods (spec.nodeName!=); schedule until `stop`
        await ready()               returns once all three have been listed

Filters, in upstream's plugin order (the first that fails names the node's reason):
NodeUnschedulable (spec.unschedulable, unless tolerated), TaintToleration (NoSchedule and
NoExecute taints; a node whose Ready condition is not True counts as tainted
node.kubernetes.io/not-ready:NoSchedule, as the node lifecycle controller would taint it),
NodeAffinity (spec.nodeSelector only; affinity is ignored). Score: the fewest pods in the
node's zone (topology.kubernetes.io/zone), then on the node, then the node name. A pod that
fits nowhere gets PodScheduled=False reason Unschedulable with upstream's FitError message and
a FailedScheduling event, and is tried again whenever Nodes or pending Pods change (and at
least every UNSCHEDULABLE_RETRY seconds). A bound pod gets a Scheduled event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, cast

import msgspec
from lightkube import ALL_NS, ApiError, AsyncClient
from lightkube.models.core_v1 import ObjectReference
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.operators import not_equal
from lightkube.resources.core_v1 import Event, Node, Pod, PodBinding
from lightkube.types import PatchType

from harness.cluster.config import ClusterConfig

__all__ = ["SCHEDULER_NAME", "Scheduler", "fit_error_message", "pick_node"]

_log = logging.getLogger("harness.scheduler")

JSON = dict[str, Any]

SCHEDULER_NAME: Final = "default-scheduler"
LABEL_ZONE: Final = "topology.kubernetes.io/zone"
TAINT_NOT_READY: Final = "node.kubernetes.io/not-ready"
TAINT_UNSCHEDULABLE: Final = "node.kubernetes.io/unschedulable"
#: real seconds between attempts at pods that fit nowhere, even without a change
UNSCHEDULABLE_RETRY: Final = 5.0
_RELIST_PAUSE: Final = 0.2

REASON_UNSCHEDULABLE: Final = "node(s) were unschedulable"
REASON_SELECTOR: Final = "node(s) didn't match Pod's node affinity/selector"


def _rfc3339(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _code(error: ApiError) -> int:
    return int(getattr(error.status, "code", 0) or 0)


# ==================================================================== filters and score


def _tolerates(tolerations: Sequence[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    """v1helper.TolerationsTolerateTaint."""
    for toleration in tolerations:
        effect = toleration.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        operator = toleration.get("operator") or "Equal"
        key = toleration.get("key") or ""
        if not key and operator == "Exists":
            return True
        if key != taint.get("key"):
            continue
        if operator == "Exists" or (toleration.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _node_ready(node: Mapping[str, Any]) -> bool:
    for condition in (node.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def _taints(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    taints = list((node.get("spec") or {}).get("taints") or ())
    if not _node_ready(node) and not any(t.get("key") == TAINT_NOT_READY for t in taints):
        taints.append({"key": TAINT_NOT_READY, "effect": "NoSchedule"})
    return taints


def filter_node(pod: Mapping[str, Any], node: Mapping[str, Any]) -> str | None:
    """None when the pod fits the node; else the reason, as the failing filter plugin says."""
    spec = pod.get("spec") or {}
    tolerations = spec.get("tolerations") or ()
    if (node.get("spec") or {}).get("unschedulable") and not _tolerates(
        tolerations, {"key": TAINT_UNSCHEDULABLE, "effect": "NoSchedule"}
    ):
        return REASON_UNSCHEDULABLE
    for taint in _taints(node):
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not _tolerates(tolerations, taint):
            return (
                f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value') or ''}}}"
            )
    labels = _meta(node).get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return REASON_SELECTOR
    return None


def fit_error_message(node_count: int, reasons: Mapping[str, int]) -> str:
    """FitError.Error(), with the default preemption plugin's post-filter message."""
    if node_count == 0:
        return "no nodes available to schedule pods"
    histogram = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
    return (
        f"0/{node_count} nodes are available: {histogram}. preemption: 0/{node_count} nodes "
        f"are available: {node_count} Preemption is not helpful for scheduling.."
    )


def pick_node(
    pod: Mapping[str, Any],
    nodes: Sequence[Mapping[str, Any]],
    pods_per_node: Mapping[str, int],
) -> tuple[str | None, dict[str, int]]:
    """The node for `pod` (fewest pods in its zone, then on it, then by name), or None and
    the count of nodes per failure reason."""
    reasons: dict[str, int] = {}
    feasible: list[Mapping[str, Any]] = []
    for node in nodes:
        reason = filter_node(pod, node)
        if reason is None:
            feasible.append(node)
        else:
            reasons[reason] = reasons.get(reason, 0) + 1
    if not feasible:
        return None, reasons

    def zone(node: Mapping[str, Any]) -> str:
        return str((_meta(node).get("labels") or {}).get(LABEL_ZONE) or "")

    per_zone: dict[str, int] = {}
    for node in nodes:
        name = str(_meta(node).get("name"))
        per_zone[zone(node)] = per_zone.get(zone(node), 0) + pods_per_node.get(name, 0)
    best = min(
        feasible,
        key=lambda n: (
            per_zone.get(zone(n), 0),
            pods_per_node.get(str(_meta(n).get("name")), 0),
            str(_meta(n).get("name")),
        ),
    )
    return str(_meta(best).get("name")), reasons


# ==================================================================== the agent


@dataclass
class _Caches:
    nodes: dict[str, JSON] = field(default_factory=dict)
    pending: dict[tuple[str, str], JSON] = field(default_factory=dict)
    assigned: dict[tuple[str, str], str] = field(default_factory=dict)  # pod -> node


def _pod_key(pod: Mapping[str, Any]) -> tuple[str, str]:
    meta = _meta(pod)
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _is_terminal(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


class Scheduler:
    """kube-scheduler's essentials as a node agent (the Agent protocol of agent.py)."""

    name = SCHEDULER_NAME

    def __init__(self, api: AsyncClient, config: ClusterConfig) -> None:
        self.api = api
        self.config = config
        self.caches = _Caches()
        self.instance = f"{SCHEDULER_NAME}-{socket.gethostname()}"
        self._wake = asyncio.Event()
        self._synced = {
            "nodes": asyncio.Event(),
            "pending": asyncio.Event(),
            "assigned": asyncio.Event(),
        }
        self._unschedulable: dict[tuple[str, str], str] = {}  # pod -> message written

    async def ready(self) -> None:
        for event in self._synced.values():
            await event.wait()

    async def run(self, stop: asyncio.Event) -> None:
        tasks = [
            asyncio.create_task(self._reflect("nodes", self._list_nodes, self._watch_nodes)),
            asyncio.create_task(self._reflect("pending", self._list_pending, self._watch_pending)),
            asyncio.create_task(
                self._reflect("assigned", self._list_assigned, self._watch_assigned)
            ),
            asyncio.create_task(self._schedule_loop()),
        ]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # ------------------------------------------------------------ reflectors

    def _list_nodes(self) -> Any:
        return self.api.list(Node)

    def _watch_nodes(self, rv: str) -> Any:
        return self.api.watch(Node, resource_version=rv)

    def _list_pending(self) -> Any:
        return self.api.list(Pod, namespace=ALL_NS, fields={"spec.nodeName": ""})

    def _watch_pending(self, rv: str) -> Any:
        return self.api.watch(
            Pod, namespace=ALL_NS, fields={"spec.nodeName": ""}, resource_version=rv
        )

    def _list_assigned(self) -> Any:
        return self.api.list(Pod, namespace=ALL_NS, fields={"spec.nodeName": not_equal("")})

    def _watch_assigned(self, rv: str) -> Any:
        return self.api.watch(
            Pod, namespace=ALL_NS, fields={"spec.nodeName": not_equal("")}, resource_version=rv
        )

    async def _reflect(
        self,
        kind: str,
        lister: Callable[[], Any],
        watcher: Callable[[str], Any],
    ) -> None:
        """List, replace the cache, then watch from the list's resourceVersion; list again
        after any error (410 Expired included)."""
        while True:
            try:
                listing = lister()
                items = [obj.to_dict() async for obj in listing]
                self._replace(kind, items)
                self._synced[kind].set()
                self._wake.set()
                stream = cast(AsyncIterator[tuple[str, Any]], watcher(listing.resourceVersion))
                async for event_type, obj in stream:
                    self._apply(kind, event_type, obj.to_dict())
                    self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                _log.warning("scheduler: %s watch ended (%s); listing again", kind, error)
                await asyncio.sleep(_RELIST_PAUSE)

    def _replace(self, kind: str, items: list[JSON]) -> None:
        if kind == "nodes":
            self.caches.nodes = {str(_meta(n).get("name")): n for n in items}
        elif kind == "pending":
            self.caches.pending = {_pod_key(p): p for p in items}
        else:
            self.caches.assigned = {
                _pod_key(p): str((p.get("spec") or {}).get("nodeName"))
                for p in items
                if not _is_terminal(p)
            }

    def _apply(self, kind: str, event_type: str, obj: JSON) -> None:
        if kind == "nodes":
            name = str(_meta(obj).get("name"))
            if event_type == "DELETED":
                self.caches.nodes.pop(name, None)
            else:
                self.caches.nodes[name] = obj
            return
        key = _pod_key(obj)
        if kind == "pending":
            if event_type == "DELETED":
                self.caches.pending.pop(key, None)
                self._unschedulable.pop(key, None)
            else:
                self.caches.pending[key] = obj
            return
        if event_type == "DELETED" or _is_terminal(obj):
            self.caches.assigned.pop(key, None)
        else:
            self.caches.assigned[key] = str((obj.get("spec") or {}).get("nodeName"))

    # ------------------------------------------------------------ scheduling

    async def _schedule_loop(self) -> None:
        await self.ready()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), UNSCHEDULABLE_RETRY)
            self._wake.clear()
            try:
                await self.schedule_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.warning("scheduler: a scheduling pass failed", exc_info=True)
                await asyncio.sleep(_RELIST_PAUSE)
                self._wake.set()

    def _queue(self) -> list[JSON]:
        """activeQ order (PrioritySort): higher priority first, then older first."""
        wanted = [
            p
            for p in self.caches.pending.values()
            if (p.get("spec") or {}).get("schedulerName", SCHEDULER_NAME) == SCHEDULER_NAME
            and not _meta(p).get("deletionTimestamp")
            and not (p.get("spec") or {}).get("nodeName")
            and not (p.get("spec") or {}).get("schedulingGates")
            and not _is_terminal(p)
        ]
        return sorted(
            wanted,
            key=lambda p: (
                -int((p.get("spec") or {}).get("priority") or 0),
                str(_meta(p).get("creationTimestamp") or ""),
                _pod_key(p),
            ),
        )

    async def schedule_pending(self) -> None:
        """One pass over the pending pods, in queue order."""
        for pod in self._queue():
            key = _pod_key(pod)
            if key not in self.caches.pending:
                continue
            nodes = [self.caches.nodes[n] for n in sorted(self.caches.nodes)]
            counts: dict[str, int] = {}
            for node_name in self.caches.assigned.values():
                counts[node_name] = counts.get(node_name, 0) + 1
            chosen, reasons = pick_node(pod, nodes, counts)
            if chosen is None:
                await self._unschedulable_pod(pod, fit_error_message(len(nodes), reasons))
                continue
            await self._bind(pod, chosen)

    async def _bind(self, pod: JSON, node: str) -> None:
        namespace, name = _pod_key(pod)
        binding = PodBinding(
            metadata=ObjectMeta(name=name, namespace=namespace, uid=_meta(pod).get("uid")),
            target=ObjectReference(kind="Node", name=node, apiVersion="v1"),
        )
        try:
            await self.api.create(binding, name=name, namespace=namespace)
        except msgspec.ValidationError:
            # The apiserver answers a binding with a Status (201), which lightkube cannot
            # decode as a Binding; the error only comes after a 2xx, so the bind happened.
            pass
        except ApiError as error:
            if _code(error) in (404, 409):  # gone, or bound meanwhile: nothing to do
                _log.info("scheduler: binding %s/%s: %s", namespace, name, error.status.message)
                self.caches.pending.pop((namespace, name), None)
                return
            raise
        self.caches.pending.pop((namespace, name), None)
        self._unschedulable.pop((namespace, name), None)
        self.caches.assigned[(namespace, name)] = node
        _log.info("scheduler: assigned %s/%s to %s", namespace, name, node)
        await self._event(
            pod, "Normal", "Scheduled", f"Successfully assigned {namespace}/{name} to {node}"
        )

    async def _unschedulable_pod(self, pod: JSON, message: str) -> None:
        key = _pod_key(pod)
        if self._unschedulable.get(key) == message:
            return  # already reported; retried on every change
        condition = next(
            (
                c
                for c in (pod.get("status") or {}).get("conditions") or ()
                if c.get("type") == "PodScheduled"
            ),
            None,
        )
        if not (
            condition is not None
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
            and condition.get("message") == message
        ):
            transition = (
                condition.get("lastTransitionTime")
                if condition is not None and condition.get("status") == "False"
                else _rfc3339()
            )
            patch = {
                "status": {
                    "conditions": [
                        {
                            "type": "PodScheduled",
                            "status": "False",
                            "reason": "Unschedulable",
                            "message": message,
                            "lastProbeTime": None,
                            "lastTransitionTime": transition,
                        }
                    ]
                }
            }
            try:
                await self.api.patch(
                    Pod.Status, key[1], patch, namespace=key[0], patch_type=PatchType.STRATEGIC
                )
            except ApiError as error:
                if _code(error) == 404:
                    self.caches.pending.pop(key, None)
                    return
                raise
        self._unschedulable[key] = message
        _log.info("scheduler: %s/%s is unschedulable: %s", key[0], key[1], message)
        await self._event(pod, "Warning", "FailedScheduling", message)

    async def _event(self, pod: JSON, type_: str, reason: str, message: str) -> None:
        """A core/v1 Event as the scheduler's recorder writes it; failures only logged."""
        meta = _meta(pod)
        now = _rfc3339()
        body: JSON = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "generateName": f"{meta.get('name')}.",
                "namespace": meta.get("namespace"),
            },
            "involvedObject": {
                "kind": "Pod",
                "apiVersion": "v1",
                "namespace": meta.get("namespace"),
                "name": meta.get("name"),
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "type": type_,
            "reason": reason,
            "message": message,
            "source": {"component": SCHEDULER_NAME},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "action": "Binding" if reason == "Scheduled" else "Scheduling",
            "reportingComponent": SCHEDULER_NAME,
            "reportingInstance": self.instance,
        }
        try:
            event = cast(Event, Event.from_dict(body))
            await self.api.create(event)
        except (ApiError, msgspec.MsgspecError) as error:
            _log.info("scheduler: event %s for %s not written: %s", reason, meta.get("name"), error)
