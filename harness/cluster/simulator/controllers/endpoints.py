"""The EndpointSlice and Endpoints controllers: which pods back a Service, and whether each
may take traffic (KUBE_SPEC rules 24-26), as kube-controller-manager computes them.

Upstream: `pkg/controller/endpointslice/{endpointslice_controller,reconciler}.go`,
`staging/src/k8s.io/endpointslice/{reconciler,utils}.go` (podToEndpoint, getEndpointPorts,
setEndpointSliceLabels, getSliceToFill), `pkg/controller/util/endpoint/controller_utils.go`
(ShouldPodBeInEndpoints, ShouldSetHostname, the trigger-time tracker) and
`pkg/controller/endpoint/endpoints_controller.go` with `pkg/api/v1/endpoints/util.go`
(addEndpointSubset, RepackSubsets, truncateEndpoints).

    EndpointSliceController(ctx)    name "endpointslice"; key (namespace, service name)
    EndpointsController(ctx)        name "endpoints";     key (namespace, service name)

Both skip Services without a selector (their endpoints are written by hand) and of type
ExternalName. Slices are owned by their Service through a controller ownerReference, so the
garbage collector removes them with it; the legacy Endpoints carry no ownerReference
(as upstream) and the Endpoints controller deletes them when their Service is gone.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.controllers.base import ControllerContext
from harness.cluster.simulator.registry import ResourceType
from harness.cluster.simulator.selectors import LabelSelector
from harness.cluster.simulator.store import DELETED, WatchEvent, deep_copy

__all__ = [
    "LABEL_MANAGED_BY",
    "LABEL_SERVICE_NAME",
    "LAST_CHANGE_TRIGGER_TIME",
    "MAX_ENDPOINTS_PER_SLICE",
    "EndpointSliceController",
    "EndpointsController",
    "find_port",
    "should_pod_be_in_endpoints",
]

_log = logging.getLogger(__name__)

Obj = dict[str, Any]
_ServiceKey = tuple[str, str]

LABEL_SERVICE_NAME: Final = "kubernetes.io/service-name"
LABEL_MANAGED_BY: Final = "endpointslice.kubernetes.io/managed-by"
LABEL_HEADLESS: Final = "service.kubernetes.io/headless"
LABEL_ZONE: Final = "topology.kubernetes.io/zone"
SLICE_CONTROLLER_NAME: Final = "endpointslice-controller.k8s.io"
LAST_CHANGE_TRIGGER_TIME: Final = "endpoints.kubernetes.io/last-change-trigger-time"
OVER_CAPACITY: Final = "endpoints.kubernetes.io/over-capacity"
MAX_ENDPOINTS_PER_SLICE: Final = 100  # kube-controller-manager --max-endpoints-per-slice
MAX_ENDPOINTS_CAPACITY: Final = 1000  # endpoints_controller.go maxCapacity
_RESERVED_LABELS: Final = frozenset({LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS})
#: a Pod naming a Node that does not exist is left out and its Service retried this much later
_MISSING_NODE_RETRY: Final = 1.0


# ==================================================================== pod and port rules


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _ready_condition(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            return condition
    return None


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    condition = _ready_condition(pod)
    return condition is not None and condition.get("status") == "True"


def should_pod_be_in_endpoints(pod: Mapping[str, Any], include_terminating: bool) -> bool:
    """ShouldPodBeInEndpoints: not terminal, has an IP, and (if asked) not terminating."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    return include_terminating or not _meta(pod).get("deletionTimestamp")


def _should_set_hostname(pod: Mapping[str, Any], service: Mapping[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    return bool(
        spec.get("hostname")
        and spec.get("subdomain") == _meta(service).get("name")
        and _meta(pod).get("namespace") == _meta(service).get("namespace")
    )


def find_port(pod: Mapping[str, Any], service_port: Mapping[str, Any]) -> int | None:
    """podutil.FindPort: a numeric targetPort as is; a named one resolves against the pod's
    container (and restartable init container) port names of the same protocol."""
    target = service_port.get("targetPort", service_port.get("port"))
    protocol = service_port.get("protocol") or "TCP"
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    if not isinstance(target, str) or not target:
        return None
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    for container in [*(spec.get("containers") or ()), *sidecars]:
        for port in container.get("ports") or ():
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def _pod_ips(pod: Mapping[str, Any]) -> list[str]:
    """getEndpointAddresses for the IPv4 address type: the pod's IPv4 addresses."""
    status = pod.get("status") or {}
    ips = [str(p.get("ip")) for p in status.get("podIPs") or () if p.get("ip")]
    if not ips and status.get("podIP"):
        ips = [str(status["podIP"])]
    return [ip for ip in ips if ":" not in ip][:1]


def _selector(service: Mapping[str, Any]) -> dict[str, str] | None:
    """spec.selector, or None when the Service is not ours (no selector, ExternalName)."""
    spec = service.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return None
    selector = spec.get("selector")
    # an empty map does not survive the apiserver's protobuf storage: it means "no selector"
    if not isinstance(selector, Mapping) or not selector:
        return None
    return {str(k): str(v) for k, v in selector.items()}


def _service_ip_set(service: Mapping[str, Any]) -> bool:
    cluster_ip = (service.get("spec") or {}).get("clusterIP")
    return bool(cluster_ip) and cluster_ip != "None"


class TriggerTimeTracker:
    """endpointutil.TriggerTimeTracker: the earliest change (a pod's Ready transition, the
    Service's creation) that this sync of a Service is the result of."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[_ServiceKey, tuple[dict[str, datetime], datetime | None]] = {}

    def compute(
        self, key: _ServiceKey, service: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]
    ) -> datetime | None:
        with self._lock:
            state = self._states.get(key)
        known = state is not None
        last_pods, last_service = state if state is not None else ({}, None)
        earliest: datetime | None = None
        pod_times: dict[str, datetime] = {}
        for pod in pods:
            condition = _ready_condition(pod)
            moment = _parse_time(condition.get("lastTransitionTime")) if condition else None
            if moment is None:
                continue
            name = str(_meta(pod).get("name"))
            pod_times[name] = moment
            previous = last_pods.get(name)
            if previous is None or moment > previous:
                earliest = moment if earliest is None else min(earliest, moment)
        created = _parse_time(_meta(service).get("creationTimestamp"))
        if created is not None and (last_service is None or created > last_service):
            earliest = created if earliest is None else min(earliest, created)
        with self._lock:
            self._states[key] = (pod_times, created)
        if not known:
            return created
        return earliest

    def forget(self, key: _ServiceKey) -> None:
        with self._lock:
            self._states.pop(key, None)


# ==================================================================== shared plumbing


class _ServiceEndpointsBase:
    """Keys, routing and pod membership shared by both controllers."""

    name = ""

    def __init__(self, ctx: ControllerContext) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.services = self._type("", "v1", "services")
        self.pods = self._type("", "v1", "pods")
        self.nodes = self._type("", "v1", "nodes")
        self.triggers = TriggerTimeTracker()
        self._lock = threading.Lock()
        self._pod_services: dict[tuple[str, str], set[_ServiceKey]] = {}
        self._service_pods: dict[_ServiceKey, set[str]] = {}

    def _type(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.ctx.registry.lookup(group, version, plural)
        if rt is None:
            raise LookupError(f"the registry does not serve {group or 'core'}/{version} {plural}")
        return rt

    def resync_keys(self) -> Iterable[Hashable]:
        for service in self.store.list(self.services, None).items:
            meta = _meta(service)
            yield (str(meta["namespace"]), str(meta["name"]))

    def _pod_keys(self, pod: Mapping[str, Any]) -> set[_ServiceKey]:
        """getPodServiceMemberships: Services selecting the pod now, plus those it was in."""
        meta = _meta(pod)
        namespace = str(meta.get("namespace") or "")
        labels = meta.get("labels") or {}
        keys: set[_ServiceKey] = set()
        for service in self.store.list(self.services, namespace).items:
            selector = _selector(service)
            if selector is not None and LabelSelector.from_set(selector).matches(labels):
                keys.add((namespace, str(_meta(service)["name"])))
        with self._lock:
            keys |= self._pod_services.get((namespace, str(meta.get("name"))), set())
        return keys

    def _remember_members(self, key: _ServiceKey, pod_names: Iterable[str]) -> None:
        names = set(pod_names)
        with self._lock:
            for old in self._service_pods.pop(key, set()) - names:
                services = self._pod_services.get((key[0], old))
                if services is not None:
                    services.discard(key)
                    if not services:
                        del self._pod_services[(key[0], old)]
            if names:
                self._service_pods[key] = names
            for name in names:
                self._pod_services.setdefault((key[0], name), set()).add(key)

    def _forget(self, key: _ServiceKey) -> None:
        self._remember_members(key, ())
        self.triggers.forget(key)

    def _candidates(self, namespace: str, selector: Mapping[str, str]) -> list[Obj]:
        return self.store.list(
            self.pods, namespace, label_selector=LabelSelector.from_set(selector)
        ).items


# ==================================================================== EndpointSlices


def _port_key(ports: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, int, str, str], ...]:
    """endpointMeta's hash: the (sorted) port set a group of endpoints shares."""
    return tuple(
        sorted(
            (
                str(p.get("name") or ""),
                int(p.get("port") or 0),
                str(p.get("protocol") or "TCP"),
                str(p.get("appProtocol") or ""),
            )
            for p in ports
        )
    )


def _endpoint_id(endpoint: Mapping[str, Any]) -> tuple[object, ...]:
    """hashEndpoint: addresses, hostname and the target's namespace/name identify one."""
    ref = endpoint.get("targetRef") or {}
    return (
        tuple(endpoint.get("addresses") or ()),
        endpoint.get("hostname") or "",
        ref.get("namespace") or "",
        ref.get("name") or "",
    )


class EndpointSliceController(_ServiceEndpointsBase):
    """Keeps each selector Service's discovery.k8s.io/v1 EndpointSlices (rules 24 and 26)."""

    name = "endpointslice"

    def __init__(
        self, ctx: ControllerContext, *, max_endpoints_per_slice: int = MAX_ENDPOINTS_PER_SLICE
    ) -> None:
        super().__init__(ctx)
        self.slices = self._type("discovery.k8s.io", "v1", "endpointslices")
        self.max_endpoints = max_endpoints_per_slice
        self._node_services: dict[str, set[_ServiceKey]] = {}

    def watches(self) -> Sequence[tuple[str, str]]:
        return [self.services.key, self.pods.key, self.nodes.key, self.slices.key]

    def keys_for(self, event: WatchEvent) -> Iterable[Hashable]:
        rt = event.rt
        obj = event.object
        meta = _meta(obj)
        if rt is None:
            return []
        if rt.key == self.services.key:
            return [(str(meta.get("namespace")), str(meta.get("name")))]
        if rt.key == self.pods.key:
            return sorted(self._pod_keys(obj))
        if rt.key == self.nodes.key:
            with self._lock:
                return sorted(self._node_services.get(str(meta.get("name")), set()))
        if rt.key == self.slices.key:
            labels = meta.get("labels") or {}
            service = labels.get(LABEL_SERVICE_NAME)
            if service and labels.get(LABEL_MANAGED_BY) == SLICE_CONTROLLER_NAME:
                return [(str(meta.get("namespace")), str(service))]
        return []

    def sync(self, key: Hashable) -> float | None:
        assert isinstance(key, tuple) and len(key) == 2
        namespace, name = str(key[0]), str(key[1])
        try:
            service = self.store.get(self.services, namespace, name)
        except ApiError as error:
            if error.code != 404:
                raise
            # the slices go with the Service through their ownerReference (the GC's job)
            self._forget((namespace, name))
            return None
        selector = _selector(service)
        if selector is None or _meta(service).get("deletionTimestamp"):
            self._forget((namespace, name))
            return None
        pods = self._candidates(namespace, selector)
        trigger = self.triggers.compute((namespace, name), service, pods)
        desired, missing_node = self._desired(service, pods)
        self._remember_members(
            (namespace, name),
            [str(_meta(p)["name"]) for p in pods if should_pod_be_in_endpoints(p, True)],
        )
        self._reconcile(service, desired, trigger)
        return _MISSING_NODE_RETRY if missing_node else None

    # ------------------------------------------------------------ desired state

    def _desired(
        self, service: Obj, pods: Sequence[Obj]
    ) -> tuple[dict[tuple[tuple[str, int, str, str], ...], tuple[list[Obj], list[Obj]]], bool]:
        """Desired endpoints grouped by port set: {port key: (ports, endpoints)}."""
        key = (str(_meta(service)["namespace"]), str(_meta(service)["name"]))
        spec = service.get("spec") or {}
        publish_not_ready = bool(spec.get("publishNotReadyAddresses"))
        nodes: dict[str, Obj | None] = {}
        grouped: dict[tuple[tuple[str, int, str, str], ...], tuple[list[Obj], list[Obj]]] = {}
        missing = False
        node_services: dict[str, set[_ServiceKey]] = {}
        for pod in sorted(pods, key=lambda p: str(_meta(p).get("name"))):
            if not should_pod_be_in_endpoints(pod, True):
                continue
            node_name = str((pod.get("spec") or {}).get("nodeName") or "")
            node_services.setdefault(node_name, set()).add(key)
            if node_name not in nodes:
                nodes[node_name] = self._node(node_name)
            node = nodes[node_name]
            if node is None and not publish_not_ready:
                # reconciler.go: skip the pod, update the slices without it, retry later
                _log.info(
                    "skipping Pod %s/%s for Service %s/%s: Node %s Not Found",
                    key[0],
                    _meta(pod).get("name"),
                    key[0],
                    key[1],
                    node_name,
                )
                missing = True
                continue
            ports = self._endpoint_ports(service, pod)
            endpoint = _pod_to_endpoint(pod, node, service)
            if not endpoint["addresses"]:
                continue
            group = grouped.setdefault(_port_key(ports), (ports, []))
            group[1].append(endpoint)
        with self._lock:
            for services in self._node_services.values():
                services.discard(key)
            for node_name, services in node_services.items():
                self._node_services.setdefault(node_name, set()).update(services)
            for node_name in [n for n, s in self._node_services.items() if not s]:
                del self._node_services[node_name]
        return grouped, missing

    def _node(self, name: str) -> Obj | None:
        if not name:
            return None
        try:
            return self.store.get(self.nodes, None, name)
        except ApiError as error:
            if error.code != 404:
                raise
            return None

    @staticmethod
    def _endpoint_ports(service: Mapping[str, Any], pod: Mapping[str, Any]) -> list[Obj]:
        """getEndpointPorts: the Service's ports, each resolved against this pod."""
        spec = service.get("spec") or {}
        found: list[Obj] = []
        for service_port in spec.get("ports") or ():
            number = find_port(pod, service_port)
            if number is None:
                continue
            port: Obj = {
                "name": str(service_port.get("name") or ""),
                "port": number,
                "protocol": service_port.get("protocol") or "TCP",
            }
            if service_port.get("appProtocol"):
                port["appProtocol"] = service_port["appProtocol"]
            found.append(port)
        return found

    # ------------------------------------------------------------ reconcile

    def _reconcile(
        self,
        service: Obj,
        desired: dict[tuple[tuple[str, int, str, str], ...], tuple[list[Obj], list[Obj]]],
        trigger: datetime | None,
    ) -> None:
        meta = _meta(service)
        namespace, name, uid = str(meta["namespace"]), str(meta["name"]), str(meta["uid"])
        listed = self.store.list(
            self.slices,
            namespace,
            label_selector=LabelSelector.from_set(
                {LABEL_SERVICE_NAME: name, LABEL_MANAGED_BY: SLICE_CONTROLLER_NAME}
            ),
        ).items
        listed = [s for s in listed if not _meta(s).get("deletionTimestamp")]
        existing: dict[tuple[tuple[str, int, str, str], ...], list[Obj]] = {}
        to_delete: list[Obj] = []
        for item in sorted(listed, key=lambda s: str(_meta(s)["name"])):
            if _owned_by(item, uid) and item.get("addressType") == "IPv4":
                existing.setdefault(_port_key(item.get("ports") or ()), []).append(item)
            else:
                to_delete.append(item)
        to_create: list[Obj] = []
        to_update: list[Obj] = []
        for port_key, (ports, endpoints) in desired.items():
            created, updated, deleted = self._reconcile_ports(
                service, ports, endpoints, existing.pop(port_key, [])
            )
            to_create += created
            to_update += updated
            to_delete += deleted
        for leftovers in existing.values():  # port sets no longer wanted
            to_delete += leftovers
        owned_before = sum(1 for s in listed if _owned_by(s, uid))
        deleting_owned = sum(1 for s in to_delete if _owned_by(s, uid))
        if owned_before == deleting_owned and not to_create:
            placeholder = self._new_slice(service, [])
            if (
                len(to_delete) == 1
                and _owned_by(to_delete[0], uid)
                and _placeholder_equal(to_delete[0], placeholder)
            ):
                to_delete = []
            else:
                to_create.append(placeholder)
        # Creates become updates of slices that would otherwise be deleted.
        index = 0
        while index < len(to_delete) and to_create:
            doomed = to_delete[index]
            if doomed.get("addressType") == "IPv4" and _owned_by(doomed, uid):
                reused = to_create.pop()
                reused["metadata"] = {**deep_copy(_meta(doomed)), **reused["metadata"]}
                reused["metadata"]["name"] = _meta(doomed)["name"]
                reused["metadata"].pop("generateName", None)
                to_update.append(reused)
                del to_delete[index]
            else:
                index += 1
        for item in to_create:
            self._stamp(item, trigger)
            self.store.create(self.slices, namespace, item)
        for item in to_update:
            self._stamp(item, trigger)
            self.store.update(self.slices, namespace, str(_meta(item)["name"]), item)
        for item in to_delete:
            try:
                self.store.delete(self.slices, namespace, str(_meta(item)["name"]))
            except ApiError as error:
                if error.code != 404:
                    raise

    def _reconcile_ports(
        self,
        service: Obj,
        ports: list[Obj],
        endpoints: list[Obj],
        existing: list[Obj],
    ) -> tuple[list[Obj], list[Obj], list[Obj]]:
        """reconcileByPortMapping: keep, update and fill slices, then create new ones."""
        wanted: dict[tuple[object, ...], Obj] = {_endpoint_id(e): e for e in endpoints}
        by_name: dict[str, Obj] = {}
        to_update: list[str] = []
        unchanged: list[str] = []
        to_delete: list[Obj] = []
        for item in existing:
            item_name = str(_meta(item)["name"])
            kept: list[Obj] = []
            changed = False
            for endpoint in item.get("endpoints") or ():
                got = wanted.pop(_endpoint_id(endpoint), None)
                if got is not None:
                    kept.append(got)
                    changed = changed or got != endpoint
            labels, labels_changed = _slice_labels(item, service)
            if changed or len(item.get("endpoints") or ()) != len(kept):
                if not kept:
                    to_delete.append(item)
                    continue
                copy = deep_copy(item)
                copy["endpoints"] = kept
                copy["metadata"]["labels"] = labels
                by_name[item_name] = copy
                to_update.append(item_name)
            elif labels_changed:
                copy = deep_copy(item)
                copy["metadata"]["labels"] = labels
                by_name[item_name] = copy
                to_update.append(item_name)
            else:
                by_name[item_name] = item
                unchanged.append(item_name)
        remaining = list(wanted.values())  # in pod-name order, as computed
        if remaining and to_update:
            # fill the fullest slices first
            for item_name in sorted(to_update, key=lambda n: -len(by_name[n]["endpoints"])):
                item = by_name[item_name]
                while remaining and len(item["endpoints"]) < self.max_endpoints:
                    item["endpoints"].append(remaining.pop(0))
        to_create: list[Obj] = []
        while remaining:
            target: Obj | None = None
            if len(remaining) < self.max_endpoints and unchanged:
                target = _slice_to_fill(
                    [by_name[n] for n in unchanged], len(remaining), self.max_endpoints
                )
            if target is None:
                target = self._new_slice(service, ports)
            else:
                target = deep_copy(target)
                by_name[str(_meta(target)["name"])] = target
            target.setdefault("endpoints", [])
            while remaining and len(target["endpoints"]) < self.max_endpoints:
                target["endpoints"].append(remaining.pop(0))
            target_name = _meta(target).get("name")
            if target_name:
                to_update.append(str(target_name))
                unchanged.remove(str(target_name))
            else:
                to_create.append(target)
        return to_create, [by_name[n] for n in dict.fromkeys(to_update)], to_delete

    def _new_slice(self, service: Obj, ports: list[Obj]) -> Obj:
        meta = _meta(service)
        name = str(meta["name"])
        prefix = f"{name}-" if len(name) < 253 else "slice-"
        labels, _ = _slice_labels({"metadata": {}}, service)
        return {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "generateName": prefix,
                "namespace": meta["namespace"],
                "labels": labels,
                "ownerReferences": [_controller_ref(service)],
            },
            "addressType": "IPv4",
            "endpoints": [],
            "ports": deep_copy(ports),
        }

    @staticmethod
    def _stamp(item: Obj, trigger: datetime | None) -> None:
        annotations = item["metadata"].setdefault("annotations", {})
        if trigger is not None:
            annotations[LAST_CHANGE_TRIGGER_TIME] = _rfc3339(trigger)
        else:
            annotations.pop(LAST_CHANGE_TRIGGER_TIME, None)
        if not annotations:
            item["metadata"].pop("annotations", None)


def _pod_to_endpoint(pod: Obj, node: Obj | None, service: Obj) -> Obj:
    """podToEndpoint (rule 24): serving = Ready, terminating = deletionTimestamp set,
    ready = publishNotReadyAddresses or (serving and not terminating)."""
    meta = _meta(pod)
    serving = is_pod_ready(pod)
    terminating = bool(meta.get("deletionTimestamp"))
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    endpoint: Obj = {
        "addresses": _pod_ips(pod),
        "conditions": {
            "ready": publish or (serving and not terminating),
            "serving": serving,
            "terminating": terminating,
        },
        "targetRef": {
            "kind": "Pod",
            "namespace": meta.get("namespace"),
            "name": meta.get("name"),
            "uid": meta.get("uid"),
        },
    }
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        endpoint["nodeName"] = spec["nodeName"]
    zone = (_meta(node).get("labels") or {}).get(LABEL_ZONE) if node is not None else None
    if zone:
        endpoint["zone"] = zone
    if _should_set_hostname(pod, service):
        endpoint["hostname"] = spec["hostname"]
    return endpoint


def _slice_labels(
    item: Mapping[str, Any], service: Mapping[str, Any]
) -> tuple[dict[str, str], bool]:
    """setEndpointSliceLabels: the Service's labels, then the reserved ones on top."""
    current = {
        k: v for k, v in (_meta(item).get("labels") or {}).items() if k not in _RESERVED_LABELS
    }
    labels = {
        k: v for k, v in (_meta(service).get("labels") or {}).items() if k not in _RESERVED_LABELS
    }
    changed = current != labels
    if not _service_ip_set(service):
        labels[LABEL_HEADLESS] = ""
    labels[LABEL_SERVICE_NAME] = str(_meta(service)["name"])
    labels[LABEL_MANAGED_BY] = SLICE_CONTROLLER_NAME
    return labels, changed


def _controller_ref(service: Mapping[str, Any]) -> Obj:
    meta = _meta(service)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _owned_by(item: Mapping[str, Any], uid: str) -> bool:
    return any(
        ref.get("uid") == uid and ref.get("controller")
        for ref in _meta(item).get("ownerReferences") or ()
    )


def _placeholder_equal(item: Mapping[str, Any], placeholder: Mapping[str, Any]) -> bool:
    """placeholderSliceCompare: same address type, ports, endpoints, labels and owners."""
    return (
        item.get("addressType") == placeholder.get("addressType")
        and (item.get("ports") or []) == (placeholder.get("ports") or [])
        and (item.get("endpoints") or []) == (placeholder.get("endpoints") or [])
        and (_meta(item).get("labels") or {}) == (_meta(placeholder).get("labels") or {})
        and (_meta(item).get("ownerReferences") or [])
        == (_meta(placeholder).get("ownerReferences") or [])
    )


def _slice_to_fill(slices: Sequence[Obj], count: int, maximum: int) -> Obj | None:
    """getSliceToFill: the unchanged slice the remaining endpoints fit best."""
    closest_diff = maximum
    closest: Obj | None = None
    for item in slices:
        diff = maximum - (count + len(item.get("endpoints") or ()))
        if 0 <= diff < closest_diff:
            closest_diff, closest = diff, item
            if diff == 0:
                break
    return closest


# ==================================================================== legacy Endpoints


class EndpointsController(_ServiceEndpointsBase):
    """Keeps each selector Service's core/v1 Endpoints (rules 25 and 26)."""

    name = "endpoints"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.endpoints = self._type("", "v1", "endpoints")

    def watches(self) -> Sequence[tuple[str, str]]:
        return [self.services.key, self.pods.key, self.endpoints.key]

    def keys_for(self, event: WatchEvent) -> Iterable[Hashable]:
        rt = event.rt
        meta = _meta(event.object)
        if rt is None:
            return []
        if rt.key == self.pods.key:
            return sorted(self._pod_keys(event.object))
        if rt.key == self.services.key or (rt.key == self.endpoints.key and event.type == DELETED):
            return [(str(meta.get("namespace")), str(meta.get("name")))]
        return []

    def resync_keys(self) -> Iterable[Hashable]:
        keys = set(super().resync_keys())
        # checkLeftoverEndpoints: Endpoints whose Service is gone get deleted
        for item in self.store.list(self.endpoints, None).items:
            meta = _meta(item)
            keys.add((str(meta["namespace"]), str(meta["name"])))
        return sorted(keys, key=str)

    def sync(self, key: Hashable) -> float | None:
        assert isinstance(key, tuple) and len(key) == 2
        namespace, name = str(key[0]), str(key[1])
        try:
            service = self.store.get(self.services, namespace, name)
        except ApiError as error:
            if error.code != 404:
                raise
            self._forget((namespace, name))
            try:
                self.store.delete(self.endpoints, namespace, name)
            except ApiError as gone:
                if gone.code != 404:
                    raise
            return None
        selector = _selector(service)
        if selector is None:
            self._forget((namespace, name))
            return None
        pods = self._candidates(namespace, selector)
        trigger = self.triggers.compute((namespace, name), service, pods)
        spec = service.get("spec") or {}
        publish = bool(spec.get("publishNotReadyAddresses"))
        subsets: list[Obj] = []
        members: list[str] = []
        for pod in sorted(pods, key=lambda p: str(_meta(p).get("name"))):
            if not should_pod_be_in_endpoints(pod, publish):
                continue
            ips = _pod_ips(pod)
            if not ips:
                continue
            members.append(str(_meta(pod)["name"]))
            address = _endpoint_address(pod, ips[0], service)
            ready = publish or is_pod_ready(pod)
            service_ports = spec.get("ports") or []
            if not service_ports:
                if spec.get("clusterIP") == "None":
                    subsets.append(_subset(address, None, ready))
                continue
            for service_port in service_ports:
                number = find_port(pod, service_port)
                if number is None:
                    continue
                port: Obj = {"port": number, "protocol": service_port.get("protocol") or "TCP"}
                if service_port.get("name"):
                    port["name"] = service_port["name"]
                if service_port.get("appProtocol"):
                    port["appProtocol"] = service_port["appProtocol"]
                subsets.append(_subset(address, port, ready))
        self._remember_members((namespace, name), members)
        subsets = repack_subsets(subsets)
        self._write(service, subsets, trigger)
        return None

    def _write(self, service: Obj, subsets: list[Obj], trigger: datetime | None) -> None:
        meta = _meta(service)
        namespace, name = str(meta["namespace"]), str(meta["name"])
        service_labels = dict(meta.get("labels") or {})
        try:
            current: Obj | None = self.store.get(self.endpoints, namespace, name)
        except ApiError as error:
            if error.code != 404:
                raise
            current = None
        if current is not None:
            current_labels = dict(_meta(current).get("labels") or {})
            current_labels.pop(LABEL_HEADLESS, None)
            annotations = _meta(current).get("annotations") or {}
            total = sum(
                len(s.get("addresses") or ()) + len(s.get("notReadyAddresses") or ())
                for s in current.get("subsets") or ()
            )
            capacity_ok = total <= MAX_ENDPOINTS_CAPACITY and OVER_CAPACITY not in annotations
            if (
                (current.get("subsets") or []) == subsets
                and current_labels == service_labels
                and capacity_ok
            ):
                return
        new: Obj = (
            deep_copy(current)
            if current is not None
            else {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": name, "namespace": namespace},
            }
        )
        new_meta = new["metadata"]
        labels = dict(service_labels)
        annotations = dict(new_meta.get("annotations") or {})
        if trigger is not None:
            annotations[LAST_CHANGE_TRIGGER_TIME] = _rfc3339(trigger)
        else:
            annotations.pop(LAST_CHANGE_TRIGGER_TIME, None)
        if _truncate(subsets):
            annotations[OVER_CAPACITY] = "truncated"
        else:
            annotations.pop(OVER_CAPACITY, None)
        if not _service_ip_set(service):
            labels[LABEL_HEADLESS] = ""
        _set_or_drop(new_meta, "labels", labels)
        _set_or_drop(new_meta, "annotations", annotations)
        _set_or_drop(new, "subsets", subsets)
        if current is None:
            self.store.create(self.endpoints, namespace, new)
        else:
            self.store.update(self.endpoints, namespace, name, new)


def _set_or_drop(obj: Obj, key: str, value: Any) -> None:
    if value:
        obj[key] = value
    else:
        obj.pop(key, None)


def _endpoint_address(pod: Obj, ip: str, service: Obj) -> Obj:
    """podToEndpointAddressForService, with the hostname when ShouldSetHostname."""
    meta = _meta(pod)
    spec = pod.get("spec") or {}
    address: Obj = {
        "ip": ip,
        "nodeName": spec.get("nodeName") or "",
        "targetRef": {
            "kind": "Pod",
            "namespace": meta.get("namespace"),
            "name": meta.get("name"),
            "uid": meta.get("uid"),
        },
    }
    if _should_set_hostname(pod, service):
        address["hostname"] = spec["hostname"]
    return address


def _subset(address: Obj, port: Obj | None, ready: bool) -> Obj:
    """addEndpointSubset: one address with one port, ready or not."""
    subset: Obj = {"addresses" if ready else "notReadyAddresses": [address]}
    subset["ports"] = [port] if port is not None else []
    return subset


def _address_sort_key(address: Mapping[str, Any]) -> tuple[str, str]:
    return (str(address.get("ip")), str((address.get("targetRef") or {}).get("uid") or ""))


def _port_sort_key(port: Mapping[str, Any]) -> tuple[str, int, str]:
    return (str(port.get("name") or ""), int(port.get("port") or 0), str(port.get("protocol")))


def repack_subsets(subsets: Sequence[Obj]) -> list[Obj]:
    """endpoints.RepackSubsets: group addresses by the exact port set they serve; an
    address ready for a port in any subset counts as ready for it."""
    addresses: dict[tuple[str, str], Obj] = {}
    by_port: dict[tuple[str, int, str, str], dict[tuple[str, str], bool]] = {}
    port_objs: dict[tuple[str, int, str, str], Obj | None] = {}
    for subset in subsets:
        ports: list[Obj | None] = list(subset.get("ports") or []) or [None]
        for port in ports:
            pkey = (
                ("", -1, "", "")
                if port is None
                else (
                    str(port.get("name") or ""),
                    int(port["port"]),
                    str(port.get("protocol") or "TCP"),
                    str(port.get("appProtocol") or ""),
                )
            )
            port_objs[pkey] = port
            ready_map = by_port.setdefault(pkey, {})
            for field_name, ready in (("addresses", True), ("notReadyAddresses", False)):
                for address in subset.get(field_name) or ():
                    akey = _address_sort_key(address)
                    addresses.setdefault(akey, address)
                    if not ready_map.get(akey, False):
                        ready_map[akey] = ready
    groups: dict[tuple[tuple[tuple[str, str], bool], ...], list[Obj]] = {}
    for pkey, ready_map in by_port.items():
        group = tuple(sorted(ready_map.items()))
        ports_of = groups.setdefault(group, [])
        port = port_objs[pkey]
        if port is not None:
            ports_of.append(port)
    final: list[Obj] = []
    for group, ports_of in groups.items():
        packed: Obj = {}
        ready_list = [addresses[a] for a, ready in group if ready]
        not_ready_list = [addresses[a] for a, ready in group if not ready]
        if ready_list:
            packed["addresses"] = sorted(ready_list, key=_address_sort_key)
        if not_ready_list:
            packed["notReadyAddresses"] = sorted(not_ready_list, key=_address_sort_key)
        if ports_of:
            packed["ports"] = sorted(ports_of, key=_port_sort_key)
        final.append(packed)
    # SortSubsets orders by a hash; any stable order serves, so order by content.
    return sorted(final, key=lambda s: repr(s))


def _truncate(subsets: list[Obj]) -> bool:
    """truncateEndpoints: at most 1000 addresses, shared out in proportion per subset."""
    total_ready = sum(len(s.get("addresses") or ()) for s in subsets)
    total_not_ready = sum(len(s.get("notReadyAddresses") or ()) for s in subsets)
    if total_ready + total_not_ready <= MAX_ENDPOINTS_CAPACITY:
        return False
    truncate_ready = total_ready > MAX_ENDPOINTS_CAPACITY
    maximum = MAX_ENDPOINTS_CAPACITY if truncate_ready else MAX_ENDPOINTS_CAPACITY - total_ready
    total = total_ready if truncate_ready else total_not_ready
    can_add = maximum
    for subset in subsets:
        field_name = "addresses" if truncate_ready else "notReadyAddresses"
        current = list(subset.get(field_name) or ())
        share = min(math.ceil(len(current) / total * maximum), can_add)
        _set_or_drop(subset, field_name, current[:share])
        if truncate_ready:
            subset.pop("notReadyAddresses", None)
        can_add -= min(share, len(current))
    return True
