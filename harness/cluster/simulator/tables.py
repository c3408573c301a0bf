"""meta.k8s.io/v1 Table views, so `kubectl get` prints the columns a real server gives.

CONTRACT:
    to_table(rt, objects: list[dict], *, resource_version: str, continue_token: str|None,
             include_object: str = "Metadata", now: datetime | None = None) -> dict
        Columns for pods, deployments, replicasets, services, namespaces, nodes, events as
        upstream pkg/printers/internalversion/printers.go; other kinds NAME and AGE (and the
        additionalPrinterColumns of a CRD).
Also: configmaps, secrets, serviceaccounts, endpoints, endpointslices and PDBs print as
upstream does; CRDs print NAME and CREATED AT (the default table convertor).
human_duration(seconds) is duration.HumanDuration.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from harness.cluster.simulator.registry import ResourceType

__all__ = ["human_duration", "jsonpath_first", "to_table"]

Obj = Mapping[str, Any]
Cells = list[Any]

_NAME_DOC: Final = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_AGE_DOC: Final = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    description: str = ""
    priority: int = 0
    format: str = ""

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


NAME = Column("Name", format="name", description=_NAME_DOC)
AGE = Column("Age", description=_AGE_DOC)
_CONTAINERS = Column(
    "Containers", priority=1, description="Names of each container in the template."
)
_IMAGES = Column(
    "Images", priority=1, description="Images referenced by each container in the template."
)


# ======================================================================= time


def human_duration(seconds: float) -> str:
    """duration.HumanDuration: "5s", "3m10s", "70m", "2d1h", "2y1d"."""
    whole = math.trunc(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = int(seconds // 60)
    if minutes < 10:
        s = int(seconds) % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = int(seconds // 3600)
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def since(self, value: Any) -> str:
        """translateTimestampSince: "<unknown>" for a zero time."""
        when = _parse_time(value)
        if when is None:
            return "<unknown>"
        return human_duration((self.now - when).total_seconds())


# ======================================================================= helpers


def _get(obj: Any, *path: str) -> Any:
    cur = obj
    for part in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


def _name(obj: Obj) -> str:
    return str(_get(obj, "metadata", "name") or "")


def _format_labels(labels: Mapping[str, Any] | None) -> str:
    """labels.FormatLabels: sorted k=v pairs, "<none>" when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _format_selector(selector: Mapping[str, Any] | None) -> str:
    """metav1.FormatLabelSelector: "<none>" for nil or empty, "<error>" when malformed."""
    if not selector:
        return "<none>"
    parts: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        parts.append((str(key), f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key, op = str(expr.get("key", "")), expr.get("operator")
        values = ",".join(sorted(str(v) for v in expr.get("values") or []))
        if op == "In":
            parts.append((key, f"{key} in ({values})"))
        elif op == "NotIn":
            parts.append((key, f"{key} notin ({values})"))
        elif op == "Exists":
            parts.append((key, key))
        elif op == "DoesNotExist":
            parts.append((key, f"!{key}"))
        else:
            return "<error>"
    if not parts:
        return "<none>"
    return ",".join(text for _, text in sorted(parts, key=lambda p: p[0]))


def _containers_cells(containers: Sequence[Any] | None) -> tuple[str, str]:
    """layoutContainerCells: comma-joined names and images."""
    names = [str(c.get("name", "")) for c in containers or [] if isinstance(c, Mapping)]
    images = [str(c.get("image", "")) for c in containers or [] if isinstance(c, Mapping)]
    return ",".join(names), ",".join(images)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# ======================================================================= printers


def _pod_row(pod: Obj, clock: _Clock) -> tuple[Cells, list[dict[str, str]]]:
    """printPod: READY, STATUS reason, RESTARTS with "(Xm ago)", then the wide cells."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    containers = spec.get("containers") or []
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(containers)
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: datetime | None = None
    sidecar_last_restart: datetime | None = None
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or phase)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    conditions: list[dict[str, str]] = []
    if phase == "Succeeded":
        conditions = [_row_completed("Succeeded", "The pod has completed successfully.")]
    elif phase == "Failed":
        conditions = [_row_completed("Failed", "The pod failed.")]

    def restartable(name: Any) -> bool:
        return (init_specs.get(name) or {}).get("restartPolicy") == "Always"

    for c in init_specs.values():
        if c.get("restartPolicy") == "Always":
            total += 1

    def later(current: datetime | None, cs: Obj) -> datetime | None:
        finished = _parse_time(_get(cs, "lastState", "terminated", "finishedAt"))
        if finished is not None and (current is None or current < finished):
            return finished
        return current

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += _int(cs.get("restartCount"))
        last_restart = later(last_restart, cs)
        if restartable(cs.get("name")):
            sidecar_restarts += _int(cs.get("restartCount"))
            sidecar_last_restart = later(sidecar_last_restart, cs)
        state = cs.get("state") or {}
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        if terminated is not None and _int(terminated.get("exitCode")) == 0:
            continue
        if restartable(cs.get("name")) and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            if not terminated.get("reason"):
                if _int(terminated.get("signal")):
                    reason = f"Init:Signal:{terminated['signal']}"
                else:
                    reason = f"Init:ExitCode:{_int(terminated.get('exitCode'))}"
            else:
                reason = f"Init:{terminated['reason']}"
        elif waiting and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    initialized = any(
        c.get("type") == "Initialized" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    if not initializing or initialized:
        restarts = sidecar_restarts
        last_restart = sidecar_last_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += _int(cs.get("restartCount"))
            last_restart = later(last_restart, cs)
            state = cs.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated is not None and terminated.get("reason"):
                reason = str(terminated["reason"])
            elif terminated is not None:
                if _int(terminated.get("signal")):
                    reason = f"Signal:{terminated['signal']}"
                else:
                    reason = f"ExitCode:{_int(terminated.get('exitCode'))}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in status.get("conditions") or []
            )
            reason = "Running" if pod_ready else "NotReady"

    deleting = _get(pod, "metadata", "deletionTimestamp") is not None
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        restarts_cell = f"{restarts} ({clock.since(last_restart.isoformat())} ago)"

    pod_ips = status.get("podIPs") or []
    pod_ip = (pod_ips[0].get("ip") if pod_ips else None) or "<none>"
    gates = spec.get("readinessGates") or []
    gates_cell = "<none>"
    if gates:
        true_count = 0
        for gate in gates:
            for condition in status.get("conditions") or []:
                if condition.get("type") == gate.get("conditionType"):
                    true_count += condition.get("status") == "True"
                    break
        gates_cell = f"{true_count}/{len(gates)}"
    cells: Cells = [
        _name(pod),
        f"{ready}/{total}",
        reason,
        restarts_cell,
        clock.since(_get(pod, "metadata", "creationTimestamp")),
        pod_ip,
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        gates_cell,
    ]
    return cells, conditions


def _row_completed(reason: str, message: str) -> dict[str, str]:
    return {"type": "Completed", "status": "True", "reason": reason, "message": message}


def _deployment_row(obj: Obj, clock: _Clock) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_cells(_get(spec, "template", "spec", "containers"))
    return [
        _name(obj),
        f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'))}",
        _int(status.get("updatedReplicas")),
        _int(status.get("availableReplicas")),
        clock.since(_get(obj, "metadata", "creationTimestamp")),
        names,
        images,
        _format_selector(spec.get("selector")),
    ]


def _replicaset_row(obj: Obj, clock: _Clock) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_cells(_get(spec, "template", "spec", "containers"))
    return [
        _name(obj),
        _int(spec.get("replicas")),
        _int(status.get("replicas")),
        _int(status.get("readyReplicas")),
        clock.since(_get(obj, "metadata", "creationTimestamp")),
        names,
        images,
        _format_selector(spec.get("selector")),
    ]


def _service_external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    external = [str(ip) for ip in spec.get("externalIPs") or []]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        found = set()
        for ingress in _get(svc, "status", "loadBalancer", "ingress") or []:
            if ingress.get("ip"):
                found.add(str(ingress["ip"]))
            elif ingress.get("hostname"):
                found.add(str(ingress["hostname"]))
        lb = sorted(found)
        if external:
            return ",".join([*lb, *external])
        return ",".join(lb) if lb else "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def _service_row(svc: Obj, clock: _Clock) -> Cells:
    spec = svc.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or []
    pieces = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        if _int(port.get("nodePort")) > 0:
            pieces.append(f"{_int(port.get('port'))}:{port['nodePort']}/{protocol}")
        else:
            pieces.append(f"{_int(port.get('port'))}/{protocol}")
    return [
        _name(svc),
        str(spec.get("type") or ""),
        cluster_ips[0] if cluster_ips else "<none>",
        _service_external_ip(svc),
        ",".join(pieces) or "<none>",
        clock.since(_get(svc, "metadata", "creationTimestamp")),
        _format_labels(spec.get("selector")),
    ]


def _namespace_row(obj: Obj, clock: _Clock) -> Cells:
    return [
        _name(obj),
        str(_get(obj, "status", "phase") or ""),
        clock.since(_get(obj, "metadata", "creationTimestamp")),
    ]


def _node_row(node: Obj, clock: _Clock) -> Cells:
    status = node.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    states = []
    if "Ready" in conditions:
        states.append("Ready" if conditions["Ready"].get("status") == "True" else "NotReady")
    if not states:
        states.append("Unknown")
    if _get(node, "spec", "unschedulable"):
        states.append("SchedulingDisabled")
    roles: set[str] = set()
    for key, value in (_get(node, "metadata", "labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key[len("node-role.kubernetes.io/") :]
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(str(value))
    info = status.get("nodeInfo") or {}

    def address(kind: str) -> str:
        for a in status.get("addresses") or []:
            if a.get("type") == kind:
                return str(a.get("address"))
        return "<none>"

    return [
        _name(node),
        ",".join(states),
        ",".join(sorted(roles)) or "<none>",
        clock.since(_get(node, "metadata", "creationTimestamp")),
        str(info.get("kubeletVersion") or ""),
        address("InternalIP"),
        address("ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def _event_row(event: Obj, clock: _Clock) -> Cells:
    first = (
        clock.since(event.get("firstTimestamp"))
        if event.get("firstTimestamp")
        else clock.since(event.get("eventTime"))
    )
    last = clock.since(event.get("lastTimestamp")) if event.get("lastTimestamp") else first
    count = _int(event.get("count"))
    series = event.get("series")
    if series:
        last = clock.since(series.get("lastObservedTime"))
        count = _int(series.get("count"))
    elif count == 0:
        count = 1  # singleton events of the events.k8s.io API carry no count
    involved = event.get("involvedObject") or {}
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    host = source.get("host") or event.get("reportingInstance") or ""
    return [
        last,
        str(event.get("type") or ""),
        str(event.get("reason") or ""),
        target,
        str(involved.get("fieldPath") or ""),
        f"{component}, {host}" if host else str(component),
        str(event.get("message") or "").strip(),
        first,
        count,
        _name(event),
    ]


def _configmap_row(obj: Obj, clock: _Clock) -> Cells:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [_name(obj), count, clock.since(_get(obj, "metadata", "creationTimestamp"))]


def _secret_row(obj: Obj, clock: _Clock) -> Cells:
    return [
        _name(obj),
        str(obj.get("type") or ""),
        len(obj.get("data") or {}),
        clock.since(_get(obj, "metadata", "creationTimestamp")),
    ]


def _service_account_row(obj: Obj, clock: _Clock) -> Cells:
    return [
        _name(obj),
        len(obj.get("secrets") or []),
        clock.since(_get(obj, "metadata", "creationTimestamp")),
    ]


def _endpoints_row(obj: Obj, clock: _Clock) -> Cells:
    """formatEndpoints: up to three ip:port pairs, then "+ N more..."."""
    subsets = obj.get("subsets") or []
    shown: list[str] = []
    count = 0
    more = False
    for subset in subsets:
        addresses = [str(a.get("ip")) for a in subset.get("addresses") or []]
        ports = subset.get("ports") or []
        # headless services may have no ports: then the addresses alone are listed
        groups = (
            [addresses]
            if not ports
            else [[_join_host_port(ip, _int(p.get("port"))) for ip in addresses] for p in ports]
        )
        for group in groups:
            count += len(group)
            for item in group:
                if len(shown) == 3:
                    more = True
                    break
                shown.append(item)
    text = ",".join(shown)
    if not subsets:
        text = "<none>"
    elif more:
        text = f"{text} + {count - 3} more..."
    return [_name(obj), text, clock.since(_get(obj, "metadata", "creationTimestamp"))]


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _endpoint_slice_row(obj: Obj, clock: _Clock) -> Cells:
    ports = obj.get("ports") or []
    if not ports:
        ports_cell = "<unset>"
    else:
        shown = [str(p.get("port")) if p.get("port") is not None else "<unset>" for p in ports]
        ports_cell = ",".join(shown[:3]) + (
            f" + {len(shown) - 3} more..." if len(shown) > 3 else ""
        )
    addresses = [str(a) for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    if not addresses:
        endpoints_cell = "<unset>"
    else:
        endpoints_cell = ",".join(addresses[:3]) + (
            f" + {len(addresses) - 3} more..." if len(addresses) > 3 else ""
        )
    return [
        _name(obj),
        str(obj.get("addressType") or ""),
        ports_cell,
        endpoints_cell,
        clock.since(_get(obj, "metadata", "creationTimestamp")),
    ]


def _pdb_row(obj: Obj, clock: _Clock) -> Cells:
    spec = obj.get("spec") or {}
    min_available = spec.get("minAvailable")
    max_unavailable = spec.get("maxUnavailable")
    return [
        _name(obj),
        "N/A" if min_available is None else str(min_available),
        "N/A" if max_unavailable is None else str(max_unavailable),
        _int(_get(obj, "status", "disruptionsAllowed")),
        clock.since(_get(obj, "metadata", "creationTimestamp")),
    ]


def _default_row(obj: Obj, clock: _Clock) -> Cells:
    return [_name(obj), clock.since(_get(obj, "metadata", "creationTimestamp"))]


def _created_at_row(obj: Obj, clock: _Clock) -> Cells:
    # rest.defaultTableConvertor prints creationTimestamp as RFC3339 in UTC
    when = _parse_time(_get(obj, "metadata", "creationTimestamp"))
    return [_name(obj), when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None]


Printer = Callable[[Obj, _Clock], Cells]


@dataclass(frozen=True)
class _View:
    columns: tuple[Column, ...]
    printer: Printer


_VIEWS: Final[Mapping[tuple[str, str], _View]] = {
    ("", "pods"): _View(
        (
            NAME,
            Column(
                "Ready",
                description="The aggregate readiness state of this pod for accepting traffic.",
            ),
            Column("Status", description="The aggregate status of the containers in this pod."),
            Column(
                "Restarts",
                description="The number of times the containers in this pod have been restarted "
                "and when the last container in this pod has restarted.",
            ),
            AGE,
            Column("IP", priority=1, description="podIP address allocated to the pod."),
            Column(
                "Node", priority=1, description="NodeName is the name of the node the pod runs on."
            ),
            Column("Nominated Node", priority=1, description="nominatedNodeName of the pod."),
            Column("Readiness Gates", priority=1, description="Readiness gates of the pod."),
        ),
        lambda o, c: _pod_row(o, c)[0],
    ),
    ("apps", "deployments"): _View(
        (
            NAME,
            Column("Ready", description="Number of the pod with ready state"),
            Column(
                "Up-to-date",
                description="Total number of non-terminated pods targeted by this deployment "
                "that have "
                "the desired template spec.",
            ),
            Column(
                "Available",
                description="Total number of available pods (ready for at least minReadySeconds) "
                "targeted by this deployment.",
            ),
            AGE,
            _CONTAINERS,
            _IMAGES,
            Column("Selector", priority=1, description="Label selector for pods."),
        ),
        _deployment_row,
    ),
    ("apps", "replicasets"): _View(
        (
            NAME,
            Column("Desired", "integer", "Replicas is the number of desired replicas."),
            Column(
                "Current", "integer", "Replicas is the most recently observed number of replicas."
            ),
            Column("Ready", "integer", "The number of ready replicas for this replica set."),
            AGE,
            _CONTAINERS,
            _IMAGES,
            Column("Selector", priority=1, description="Selector is a label query over pods."),
        ),
        _replicaset_row,
    ),
    ("", "services"): _View(
        (
            NAME,
            Column("Type", description="type determines how the Service is exposed."),
            Column("Cluster-IP", description="clusterIP is the IP address of the service."),
            Column("External-IP", description="externalIPs of the service."),
            Column("Port(s)", description="The list of ports that are exposed by this service."),
            AGE,
            Column(
                "Selector",
                priority=1,
                description="Route service traffic to pods with label keys and values matching "
                "this selector.",
            ),
        ),
        _service_row,
    ),
    ("", "namespaces"): _View(
        (NAME, Column("Status", description="The status of the namespace"), AGE),
        _namespace_row,
    ),
    ("", "nodes"): _View(
        (
            NAME,
            Column("Status", description="The status of the node"),
            Column("Roles", description="The roles of the node"),
            AGE,
            Column("Version", description="Kubelet Version reported by the node."),
            Column(
                "Internal-IP", priority=1, description="List of addresses reachable to the node."
            ),
            Column(
                "External-IP", priority=1, description="List of addresses reachable to the node."
            ),
            Column("OS-Image", priority=1, description="OS Image reported by the node."),
            Column(
                "Kernel-Version", priority=1, description="Kernel Version reported by the node."
            ),
            Column(
                "Container-Runtime",
                priority=1,
                description="ContainerRuntime Version reported by the node.",
            ),
        ),
        _node_row,
    ),
    ("", "events"): _View(
        (
            Column(
                "Last Seen",
                description="The time at which the most recent occurrence of this event was "
                "recorded.",
            ),
            Column("Type", description="Type of this event (Normal, Warning)."),
            Column(
                "Reason",
                description="This should be a short, machine understandable string that gives the "
                "reason for the transition into the object's current status.",
            ),
            Column("Object", description="The object that this event is about."),
            Column(
                "Subobject", priority=1, description="The field of the object the event is about."
            ),
            Column("Source", priority=1, description="The component reporting this event."),
            Column(
                "Message",
                description="A human-readable description of the status of this operation.",
            ),
            Column(
                "First Seen",
                priority=1,
                description="The time at which the event was first recorded.",
            ),
            Column("Count", priority=1, description="The number of times this event has occurred."),
            Column("Name", priority=1, format="name", description=_NAME_DOC),
        ),
        _event_row,
    ),
    ("", "configmaps"): _View(
        (NAME, Column("Data", description="Data contains the configuration data."), AGE),
        _configmap_row,
    ),
    ("", "secrets"): _View(
        (
            NAME,
            Column("Type", description="Used to facilitate programmatic handling of secret data."),
            Column("Data", description="Data contains the secret data."),
            AGE,
        ),
        _secret_row,
    ),
    ("", "serviceaccounts"): _View(
        (NAME, Column("Secrets", description="Secrets of the service account."), AGE),
        _service_account_row,
    ),
    ("", "endpoints"): _View(
        (
            NAME,
            Column(
                "Endpoints", description="The set of all endpoints is the union of all subsets."
            ),
            AGE,
        ),
        _endpoints_row,
    ),
    ("discovery.k8s.io", "endpointslices"): _View(
        (
            NAME,
            Column(
                "AddressType",
                description="addressType specifies the type of address carried by this "
                "EndpointSlice.",
            ),
            Column(
                "Ports",
                description="ports specifies the list of network ports exposed by each endpoint in "
                "this slice.",
            ),
            Column(
                "Endpoints", description="endpoints is a list of unique endpoints in this slice."
            ),
            AGE,
        ),
        _endpoint_slice_row,
    ),
    ("policy", "poddisruptionbudgets"): _View(
        (
            NAME,
            Column(
                "Min Available", description="The minimum number of pods that must be available."
            ),
            Column(
                "Max Unavailable", description="The maximum number of pods that may be unavailable."
            ),
            Column(
                "Allowed Disruptions",
                "integer",
                "Calculated number of pods that may be disrupted at this time.",
            ),
            AGE,
        ),
        _pdb_row,
    ),
    ("apiextensions.k8s.io", "customresourcedefinitions"): _View(
        (
            NAME,
            Column("Created At", "date", _AGE_DOC),
        ),
        _created_at_row,
    ),
}


# ======================================================================= JSONPath

_SEGMENT_RE: Final = re.compile(
    r"\.(?P<field>[A-Za-z0-9_\-/]+)"
    r"|\[(?P<index>-?\d+)\]"
    r"|\[(?P<star>\*)\]"
    r"|\[\?\(@\.(?P<fkey>[A-Za-z0-9_.\-]+)\s*==\s*(?P<fq>['\"])(?P<fval>.*?)(?P=fq)\)\]"
    r"|\[['\"](?P<qfield>[^'\"]+)['\"]\]"
)


def jsonpath_first(obj: Any, path: str) -> tuple[bool, Any]:
    """The first result of a CRD printer column's JSONPath ({found}, {value}).

    Supports .field, ['field'], [n], [*] and [?(@.key=="value")], which is what
    additionalPrinterColumns use in practice.
    """
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if text.startswith("$"):
        text = text[1:]
    current: list[Any] = [obj]
    pos = 0
    while pos < len(text):
        m = _SEGMENT_RE.match(text, pos)
        if not m:
            return False, None
        pos = m.end()
        nxt: list[Any] = []
        for value in current:
            if m.group("field") is not None or m.group("qfield") is not None:
                key = m.group("field") or m.group("qfield")
                if isinstance(value, Mapping) and key in value:
                    nxt.append(value[key])
            elif m.group("index") is not None:
                index = int(m.group("index"))
                if isinstance(value, list) and -len(value) <= index < len(value):
                    nxt.append(value[index])
            elif m.group("star") is not None:
                if isinstance(value, list):
                    nxt.extend(value)
                elif isinstance(value, Mapping):
                    nxt.extend(value.values())
            else:
                keys = m.group("fkey").split(".")
                for item in value if isinstance(value, list) else []:
                    if str(_get(item, *keys)) == m.group("fval"):
                        nxt.append(item)
        current = nxt
    if not current:
        return False, None
    return True, current[0]


def _custom_columns(rt: ResourceType) -> tuple[Column, ...]:
    columns = rt.printer_columns
    if not columns:
        return (NAME, Column("Age", "date", _AGE_DOC))
    return (
        NAME,
        *(
            Column(
                c.name,
                c.type,
                c.description
                or f"Custom resource definition column (in JSONPath format): {c.json_path}",
                c.priority,
                c.format,
            )
            for c in columns
        ),
    )


def _custom_row(rt: ResourceType, obj: Obj, clock: _Clock) -> Cells:
    """The CRD table convertor: each column's first JSONPath result, typed."""
    columns = rt.printer_columns or ()
    paths = [c.json_path for c in columns] or [".metadata.creationTimestamp"]
    types = [c.type for c in columns] or ["date"]
    cells: Cells = [_name(obj)]
    for path, kind in zip(paths, types, strict=True):
        found, value = jsonpath_first(obj, path)
        if not found or value is None:
            cells.append(None)
        elif kind == "date":
            cells.append(clock.since(value) if isinstance(value, str) else None)
        elif kind == "integer":
            cells.append(value if isinstance(value, int) and not isinstance(value, bool) else None)
        elif kind == "number":
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            cells.append(value if is_number else None)
        elif kind == "boolean":
            cells.append(value if isinstance(value, bool) else None)
        elif isinstance(value, str):
            cells.append(value)
        else:
            cells.append(json.dumps(value, separators=(",", ":")))
    return cells


# ======================================================================= the table


def _row_object(rt: ResourceType, obj: Obj, include_object: str) -> Any:
    if include_object == "None":
        return None
    if include_object == "Object":
        full = dict(obj)
        full.setdefault("apiVersion", rt.api_version)
        full.setdefault("kind", rt.kind)
        return full
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(obj.get("metadata") or {}),
    }


def to_table(
    rt: ResourceType,
    objects: list[dict[str, Any]],
    *,
    resource_version: str,
    continue_token: str | None,
    include_object: str = "Metadata",
    now: datetime | None = None,
    remaining_item_count: int | None = None,
) -> dict[str, Any]:
    """A Table for a list (or, with one object, a get); cells carry the wide columns too,
    since the server renders with Wide and kubectl hides priority-1 columns itself."""
    clock = _Clock(now or datetime.now(UTC))
    view = None if rt.custom else _VIEWS.get((rt.group, rt.plural))
    if view is not None:
        columns = view.columns
    elif rt.custom:
        columns = _custom_columns(rt)
    else:
        columns = (NAME, AGE)
    rows: list[dict[str, Any]] = []
    for obj in objects:
        conditions: list[dict[str, str]] = []
        if rt.custom:
            cells = _custom_row(rt, obj, clock)
        elif (rt.group, rt.plural) == ("", "pods"):
            cells, conditions = _pod_row(obj, clock)
        elif view is not None:
            cells = view.printer(obj, clock)
        else:
            cells = _default_row(obj, clock)
        row: dict[str, Any] = {"cells": cells}
        if conditions:
            row["conditions"] = conditions
        row["object"] = _row_object(rt, obj, include_object)
        rows.append(row)
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    if remaining_item_count is not None:
        metadata["remainingItemCount"] = remaining_item_count
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [c.definition() for c in columns],
        "rows": rows,
    }
