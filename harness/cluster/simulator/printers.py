"""The columns and rows of the built-in kinds `kubectl get` prints, as upstream's
pkg/printers/internalversion/printers.go has them (pods: podprinter.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from harness.apimachinery.meta import dig, name_of
from harness.apimachinery.timestamps import format_time, parse_time
from harness.cluster.simulator.columns import (
    AGE,
    AGE_DOC,
    NAME,
    NAME_DOC,
    Cells,
    Clock,
    Column,
    Obj,
    View,
    containers_cells,
    format_labels,
    format_selector,
    int_or_zero,
)
from harness.cluster.simulator.podprinter import POD_COLUMNS, pod_row

__all__ = ["BUILTIN_VIEWS"]

_CONTAINERS = Column(
    "Containers", priority=1, description="Names of each container in the template."
)
_IMAGES = Column(
    "Images", priority=1, description="Images referenced by each container in the template."
)


def _deployment_row(obj: Obj, clock: Clock) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = containers_cells(dig(spec, "template", "spec", "containers"))
    return [
        name_of(obj),
        f"{int_or_zero(status.get('readyReplicas'))}/{int_or_zero(spec.get('replicas'))}",
        int_or_zero(status.get("updatedReplicas")),
        int_or_zero(status.get("availableReplicas")),
        clock.since(dig(obj, "metadata", "creationTimestamp")),
        names,
        images,
        format_selector(spec.get("selector")),
    ]


def _replicaset_row(obj: Obj, clock: Clock) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = containers_cells(dig(spec, "template", "spec", "containers"))
    return [
        name_of(obj),
        int_or_zero(spec.get("replicas")),
        int_or_zero(status.get("replicas")),
        int_or_zero(status.get("readyReplicas")),
        clock.since(dig(obj, "metadata", "creationTimestamp")),
        names,
        images,
        format_selector(spec.get("selector")),
    ]


def _service_external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    external = [str(ip) for ip in spec.get("externalIPs") or []]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        found = set()
        for ingress in dig(svc, "status", "loadBalancer", "ingress") or []:
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


def _service_row(svc: Obj, clock: Clock) -> Cells:
    spec = svc.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or []
    pieces = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        if int_or_zero(port.get("nodePort")) > 0:
            pieces.append(f"{int_or_zero(port.get('port'))}:{port['nodePort']}/{protocol}")
        else:
            pieces.append(f"{int_or_zero(port.get('port'))}/{protocol}")
    return [
        name_of(svc),
        str(spec.get("type") or ""),
        cluster_ips[0] if cluster_ips else "<none>",
        _service_external_ip(svc),
        ",".join(pieces) or "<none>",
        clock.since(dig(svc, "metadata", "creationTimestamp")),
        format_labels(spec.get("selector")),
    ]


def _namespace_row(obj: Obj, clock: Clock) -> Cells:
    return [
        name_of(obj),
        str(dig(obj, "status", "phase") or ""),
        clock.since(dig(obj, "metadata", "creationTimestamp")),
    ]


def _node_row(node: Obj, clock: Clock) -> Cells:
    status = node.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    states = []
    if "Ready" in conditions:
        states.append("Ready" if conditions["Ready"].get("status") == "True" else "NotReady")
    if not states:
        states.append("Unknown")
    if dig(node, "spec", "unschedulable"):
        states.append("SchedulingDisabled")
    roles: set[str] = set()
    for key, value in (dig(node, "metadata", "labels") or {}).items():
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
        name_of(node),
        ",".join(states),
        ",".join(sorted(roles)) or "<none>",
        clock.since(dig(node, "metadata", "creationTimestamp")),
        str(info.get("kubeletVersion") or ""),
        address("InternalIP"),
        address("ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def _event_row(event: Obj, clock: Clock) -> Cells:
    first = (
        clock.since(event.get("firstTimestamp"))
        if event.get("firstTimestamp")
        else clock.since(event.get("eventTime"))
    )
    last = clock.since(event.get("lastTimestamp")) if event.get("lastTimestamp") else first
    count = int_or_zero(event.get("count"))
    series = event.get("series")
    if series:
        last = clock.since(series.get("lastObservedTime"))
        count = int_or_zero(series.get("count"))
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
        name_of(event),
    ]


def _configmap_row(obj: Obj, clock: Clock) -> Cells:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [name_of(obj), count, clock.since(dig(obj, "metadata", "creationTimestamp"))]


def _secret_row(obj: Obj, clock: Clock) -> Cells:
    return [
        name_of(obj),
        str(obj.get("type") or ""),
        len(obj.get("data") or {}),
        clock.since(dig(obj, "metadata", "creationTimestamp")),
    ]


def _service_account_row(obj: Obj, clock: Clock) -> Cells:
    return [
        name_of(obj),
        len(obj.get("secrets") or []),
        clock.since(dig(obj, "metadata", "creationTimestamp")),
    ]


def _endpoints_row(obj: Obj, clock: Clock) -> Cells:
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
            else [
                [_join_host_port(ip, int_or_zero(p.get("port"))) for ip in addresses] for p in ports
            ]
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
    return [name_of(obj), text, clock.since(dig(obj, "metadata", "creationTimestamp"))]


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _endpoint_slice_row(obj: Obj, clock: Clock) -> Cells:
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
        name_of(obj),
        str(obj.get("addressType") or ""),
        ports_cell,
        endpoints_cell,
        clock.since(dig(obj, "metadata", "creationTimestamp")),
    ]


def _pdb_row(obj: Obj, clock: Clock) -> Cells:
    spec = obj.get("spec") or {}
    min_available = spec.get("minAvailable")
    max_unavailable = spec.get("maxUnavailable")
    return [
        name_of(obj),
        "N/A" if min_available is None else str(min_available),
        "N/A" if max_unavailable is None else str(max_unavailable),
        int_or_zero(dig(obj, "status", "disruptionsAllowed")),
        clock.since(dig(obj, "metadata", "creationTimestamp")),
    ]


def _created_at_row(obj: Obj, clock: Clock) -> Cells:
    # rest.defaultTableConvertor prints creationTimestamp as RFC3339 in UTC
    when = parse_time(dig(obj, "metadata", "creationTimestamp"))
    return [name_of(obj), format_time(when) if when else None]


BUILTIN_VIEWS: Final[Mapping[tuple[str, str], View]] = {
    ("", "pods"): View(POD_COLUMNS, lambda o, c: pod_row(o, c)[0]),
    ("apps", "deployments"): View(
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
    ("apps", "replicasets"): View(
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
    ("", "services"): View(
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
    ("", "namespaces"): View(
        (NAME, Column("Status", description="The status of the namespace"), AGE),
        _namespace_row,
    ),
    ("", "nodes"): View(
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
    ("", "events"): View(
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
            Column("Name", priority=1, format="name", description=NAME_DOC),
        ),
        _event_row,
    ),
    ("", "configmaps"): View(
        (NAME, Column("Data", description="Data contains the configuration data."), AGE),
        _configmap_row,
    ),
    ("", "secrets"): View(
        (
            NAME,
            Column("Type", description="Used to facilitate programmatic handling of secret data."),
            Column("Data", description="Data contains the secret data."),
            AGE,
        ),
        _secret_row,
    ),
    ("", "serviceaccounts"): View(
        (NAME, Column("Secrets", description="Secrets of the service account."), AGE),
        _service_account_row,
    ),
    ("", "endpoints"): View(
        (
            NAME,
            Column(
                "Endpoints", description="The set of all endpoints is the union of all subsets."
            ),
            AGE,
        ),
        _endpoints_row,
    ),
    ("discovery.k8s.io", "endpointslices"): View(
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
    ("policy", "poddisruptionbudgets"): View(
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
    ("apiextensions.k8s.io", "customresourcedefinitions"): View(
        (
            NAME,
            Column("Created At", "date", AGE_DOC),
        ),
        _created_at_row,
    ),
}
