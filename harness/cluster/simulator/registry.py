"""Resource types the simulator serves: built-in kinds and those CustomResourceDefinitions add.

CONTRACT (shared by store.py, strategy.py, server.py; keep the signatures):
    ResourceType      one served group/version/resource, frozen
    Registry.builtin()                          the built-in kinds of issue 3
    Registry.lookup(group, version, plural)     -> ResourceType | None (plural, as in URLs)
    Registry.for_kind(api_version, kind)        -> ResourceType | None
    Registry.types()                            -> every served ResourceType
    Registry.groups()                           -> {group: [versions, preferred first]}
    Registry.register_crd(crd) / unregister_crd(crd)   called by the store when a CRD is
                                                written / deleted; returns what changed
    Registry.generation   int, bumped on any change (discovery/openapi caches key on it)
    Registry.api_versions() / api_group_list() / api_resource_list(group, version)
                          the discovery documents of /api, /apis and /api(s)/<gv>

Also: Registry.api_group(group) (the APIGroup of /apis/<group>), Registry.crd(group, plural)
(the CRD dict behind a custom type), ResourceType.printer_columns and ResourceType.scale
(from the CRD's additionalPrinterColumns and scale subresource).
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ALL_VERBS",
    "PrinterColumn",
    "Registry",
    "RegistryChange",
    "ResourceType",
    "ScalePaths",
    "storage_version_hash",
]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# The CRD discovery controller lists verbs in this (unsorted) order.
CUSTOM_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")
_NO_COLLECTION_DELETE = ("create", "delete", "get", "list", "patch", "update", "watch")
_SUBRESOURCE_VERBS: Mapping[str, tuple[str, ...]] = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "log": ("get",),
    "finalize": ("update",),
    "binding": ("create",),
}


@dataclass(frozen=True)
class PrinterColumn:
    """One CRD additionalPrinterColumns entry (apiextensions.k8s.io/v1)."""

    name: str
    type: str
    json_path: str
    description: str = ""
    format: str = ""
    priority: int = 0


@dataclass(frozen=True)
class ScalePaths:
    """A CRD's scale subresource: where replicas live in the custom object."""

    spec_replicas_path: str = ".spec.replicas"
    status_replicas_path: str = ".status.replicas"
    label_selector_path: str | None = None


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: frozenset[str] = field(default_factory=frozenset)  # "status", "scale", "log"
    custom: bool = False  # served because of a CRD
    printer_columns: tuple[PrinterColumn, ...] = ()  # CRD additionalPrinterColumns
    scale: ScalePaths | None = None  # CRD scale subresource paths; None for built-ins

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: objects of one group/resource share storage across versions."""
        return (self.group, self.plural)


@dataclass(frozen=True)
class RegistryChange:
    """What one register_crd / unregister_crd call did to the served types."""

    added: tuple[ResourceType, ...] = ()
    removed: tuple[ResourceType, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """The discovery storageVersionHash, computed as apiserver's storageversionhash package does."""
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _rt(
    group: str,
    kind: str,
    plural: str,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    subresources: tuple[str, ...] = (),
    verbs: tuple[str, ...] = ALL_VERBS,
    version: str = "v1",
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        short_names=short,
        categories=categories,
        verbs=verbs,
        subresources=frozenset(subresources),
    )


def _builtin_types() -> list[ResourceType]:
    # Names, short names, categories and verbs as `kubectl get --raw /api/v1` on v1.31 shows.
    endpoints = _rt("", "Endpoints", "endpoints", short=("ep",))
    return [
        _rt("", "ConfigMap", "configmaps", short=("cm",)),
        dataclasses.replace(endpoints, singular="endpoints"),
        _rt("", "Event", "events", short=("ev",)),
        _rt(
            "",
            "Namespace",
            "namespaces",
            namespaced=False,
            short=("ns",),
            subresources=("status", "finalize"),
            verbs=_NO_COLLECTION_DELETE,
        ),
        _rt("", "Node", "nodes", namespaced=False, short=("no",), subresources=("status",)),
        _rt(
            "",
            "Pod",
            "pods",
            short=("po",),
            categories=("all",),
            subresources=("status", "log", "binding"),
        ),
        _rt("", "Secret", "secrets"),
        _rt("", "ServiceAccount", "serviceaccounts", short=("sa",)),
        _rt(
            "", "Service", "services", short=("svc",), categories=("all",), subresources=("status",)
        ),
        _rt(
            "apps",
            "Deployment",
            "deployments",
            short=("deploy",),
            categories=("all",),
            subresources=("status", "scale"),
        ),
        _rt(
            "apps",
            "ReplicaSet",
            "replicasets",
            short=("rs",),
            categories=("all",),
            subresources=("status", "scale"),
        ),
        _rt("discovery.k8s.io", "EndpointSlice", "endpointslices"),
        _rt(
            "policy",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            short=("pdb",),
            subresources=("status",),
        ),
        _rt(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            namespaced=False,
            short=("crd", "crds"),
            categories=("api-extensions",),
            subresources=("status",),
        ),
    ]


# /apis lists built-in groups in the apiserver's priority order, then CRD groups by name.
_BUILTIN_GROUP_ORDER = (
    "apps",
    "events.k8s.io",
    "policy",
    "apiextensions.k8s.io",
    "discovery.k8s.io",
)


def _version_priority(version: str) -> tuple[int, int, int, str]:
    """Kube-aware version order (v1 > v1beta2 > v1beta1 > v1alpha1 > others), as CRDs sort."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0, version)  # non-kube versions last, alphabetical
    major = int(m.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, "")


class Registry:
    """The served resource types, with the discovery documents built from them.

    Thread-safe: the store registers CRDs while the HTTP layer reads discovery.
    """

    def __init__(self, types: list[ResourceType] | None = None) -> None:
        self._lock = threading.RLock()
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._crds: dict[tuple[str, str], dict[str, Any]] = {}
        self.generation = 0
        for rt in types or []:
            self._types[(rt.group, rt.version, rt.plural)] = rt

    @classmethod
    def builtin(cls) -> Registry:
        return cls(_builtin_types())

    # ----------------------------------------------------------------- lookups

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        with self._lock:
            return self._types.get((group, version, plural))

    def for_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        with self._lock:
            for rt in self._types.values():
                if rt.group == group and rt.version == version and rt.kind == kind:
                    return rt
        return None

    def types(self) -> list[ResourceType]:
        with self._lock:
            return list(self._types.values())

    def versions_of(self, group: str, plural: str) -> list[ResourceType]:
        """Every served version of one group/resource, kube-aware order (v1 before v1beta1)."""
        with self._lock:
            found = [rt for rt in self._types.values() if rt.group == group and rt.plural == plural]
        return sorted(found, key=lambda rt: _version_priority(rt.version))

    def storage_version(self, group: str, plural: str) -> str | None:
        """The version objects of group/resource are stored in (the CRD's storage version)."""
        with self._lock:
            crd = self._crds.get((group, plural))
            if crd is not None:
                for v in (crd.get("spec") or {}).get("versions") or []:
                    if v.get("storage"):
                        return str(v.get("name"))
            versions = [
                rt.version for k, rt in self._types.items() if k[0] == group and k[2] == plural
            ]
        return sorted(versions, key=_version_priority)[0] if versions else None

    def crd(self, group: str, plural: str) -> dict[str, Any] | None:
        """The CustomResourceDefinition behind a custom group/resource (a deep copy)."""
        with self._lock:
            found = self._crds.get((group, plural))
            return copy.deepcopy(found) if found is not None else None

    def groups(self) -> dict[str, list[str]]:
        """{group: [versions, preferred first]}; "" is the core group.

        Versions sort kube-aware and the first is preferred, as the CRD discovery
        controller does (upstream does not prefer the storage version).
        """
        with self._lock:
            versions: dict[str, set[str]] = {}
            for rt in self._types.values():
                versions.setdefault(rt.group, set()).add(rt.version)
        builtin = [g for g in ("", *_BUILTIN_GROUP_ORDER) if g in versions]
        custom = sorted(g for g in versions if g not in builtin)
        return {g: sorted(versions[g], key=_version_priority) for g in [*builtin, *custom]}

    # -------------------------------------------------------------- CRDs

    def register_crd(self, crd: Mapping[str, Any]) -> RegistryChange:
        """Serve every served version of a CRD, replacing what an older copy of it served.

        Upstream serves a CRD only once it is Established; the simulator's CRD strategy
        sets that condition on create, so the store may call this right after writing.
        """
        group, plural = _crd_key(crd)
        if not group or not plural:
            return RegistryChange()
        new_types = _crd_types(crd)
        with self._lock:
            old = [rt for k, rt in self._types.items() if k[0] == group and k[2] == plural]
            for rt in old:
                del self._types[(rt.group, rt.version, rt.plural)]
            for rt in new_types:
                self._types[(rt.group, rt.version, rt.plural)] = rt
            if new_types:
                self._crds[(group, plural)] = copy.deepcopy(dict(crd))
            else:
                self._crds.pop((group, plural), None)
            added = tuple(rt for rt in new_types if rt not in old)
            removed = tuple(rt for rt in old if rt not in new_types)
            changed = bool(added or removed) or any(
                a != b for a, b in zip(old, new_types, strict=False)
            )
            if changed:
                self.generation += 1
            return RegistryChange(added, removed)

    def unregister_crd(self, crd: Mapping[str, Any]) -> RegistryChange:
        group, plural = _crd_key(crd)
        with self._lock:
            removed = tuple(
                rt
                for k, rt in self._types.items()
                if k[0] == group and k[2] == plural and rt.custom
            )
            for rt in removed:
                del self._types[(rt.group, rt.version, rt.plural)]
            self._crds.pop((group, plural), None)
            if removed:
                self.generation += 1
            return RegistryChange(removed=removed)

    # -------------------------------------------------------------- discovery

    def api_versions(self, server_address: str | None = None) -> dict[str, Any]:
        """GET /api: APIVersions (no apiVersion field, as the real server answers)."""
        doc: dict[str, Any] = {"kind": "APIVersions", "versions": ["v1"]}
        if server_address:
            doc["serverAddressByClientCIDRs"] = [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
            ]
        return doc

    def api_group(self, group: str) -> dict[str, Any] | None:
        """GET /apis/<group>: APIGroup, or None when the group is not served."""
        entry = self._group_entry(group, self.groups().get(group))
        if entry is None:
            return None
        return {"kind": "APIGroup", "apiVersion": "v1", **entry}

    def api_group_list(self) -> dict[str, Any]:
        """GET /apis: APIGroupList of every named group."""
        groups = [
            entry
            for group, versions in self.groups().items()
            if group and (entry := self._group_entry(group, versions)) is not None
        ]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def api_resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        """GET /api/v1 or /apis/<g>/<v>: APIResourceList, or None when not served."""
        with self._lock:
            served = [
                rt for rt in self._types.values() if rt.group == group and rt.version == version
            ]
        if not served:
            return None
        builtin: list[dict[str, Any]] = []
        custom: list[dict[str, Any]] = []
        for rt in sorted(served, key=lambda t: t.plural):
            if rt.custom:
                # The CRD discovery controller: resource, then status, then scale; hash
                # of the storage version for every served version.
                storage = self.storage_version(rt.group, rt.plural) or rt.version
                custom.append(_resource_entry(rt, storage))
                custom.extend(
                    _subresource_entry(rt, s) for s in ("status", "scale") if s in rt.subresources
                )
            else:
                builtin.append(_resource_entry(rt, rt.version))
                builtin.extend(_subresource_entry(rt, s) for s in rt.subresources)
        # the built-in installer sorts its paths, so subresources follow their resource
        resources = sorted(builtin, key=lambda r: str(r["name"])) + custom
        group_version = f"{group}/{version}" if group else version
        doc: dict[str, Any] = {"kind": "APIResourceList"}
        if group:  # the core list carries no apiVersion on a real server
            doc["apiVersion"] = "v1"
        doc["groupVersion"] = group_version
        doc["resources"] = resources
        return doc

    @staticmethod
    def _group_entry(group: str, versions: list[str] | None) -> dict[str, Any] | None:
        if not group or not versions:
            return None
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def _resource_entry(rt: ResourceType, storage_version: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    entry["storageVersionHash"] = storage_version_hash(rt.group, storage_version, rt.kind)
    return entry


def _subresource_entry(rt: ResourceType, sub: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": f"{rt.plural}/{sub}",
        "singularName": "",
        "namespaced": rt.namespaced,
    }
    if sub == "scale":
        entry.update(group="autoscaling", version="v1", kind="Scale")
    elif sub == "binding":
        entry["kind"] = "Binding"
    else:
        entry["kind"] = rt.kind
    entry["verbs"] = list(_SUBRESOURCE_VERBS.get(sub, ("get",)))
    return entry


def _crd_key(crd: Mapping[str, Any]) -> tuple[str, str]:
    spec = crd.get("spec") or {}
    return str(spec.get("group", "")), str((spec.get("names") or {}).get("plural", ""))


def _crd_types(crd: Mapping[str, Any]) -> list[ResourceType]:
    """The ResourceTypes a CRD serves: one per served version."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = str(spec.get("group", ""))
    kind = str(names.get("kind", ""))
    plural = str(names.get("plural", ""))
    singular = str(names.get("singular") or kind.lower())
    namespaced = spec.get("scope", "Namespaced") != "Cluster"
    short = tuple(str(s) for s in names.get("shortNames") or ())
    categories = tuple(str(c) for c in names.get("categories") or ())
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    found: list[ResourceType] = []
    for v in versions:
        subs = v.get("subresources") or {}
        subresources = {s for s in ("status", "scale") if s in subs}
        scale: ScalePaths | None = None
        if "scale" in subs:
            sc = subs.get("scale") or {}
            scale = ScalePaths(
                spec_replicas_path=str(sc.get("specReplicasPath", ".spec.replicas")),
                status_replicas_path=str(sc.get("statusReplicasPath", ".status.replicas")),
                label_selector_path=sc.get("labelSelectorPath"),
            )
        columns = tuple(
            PrinterColumn(
                name=str(c.get("name", "")),
                type=str(c.get("type", "string")),
                json_path=str(c.get("jsonPath", "")),
                description=str(c.get("description", "")),
                format=str(c.get("format", "")),
                priority=int(c.get("priority", 0)),
            )
            for c in v.get("additionalPrinterColumns") or ()
        )
        found.append(
            ResourceType(
                group=group,
                version=str(v.get("name", "")),
                kind=kind,
                plural=plural,
                singular=singular,
                namespaced=namespaced,
                short_names=short,
                categories=categories,
                verbs=CUSTOM_VERBS,
                subresources=frozenset(subresources),
                custom=True,
                printer_columns=columns,
                scale=scale,
            )
        )
    return found
