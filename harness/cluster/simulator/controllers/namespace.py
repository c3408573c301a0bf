"""The namespace controller: empties a Terminating namespace of every namespaced object, then
removes the "kubernetes" finalizer so the namespace itself goes.

Upstream: `pkg/controller/namespace/namespace_controller.go` (requeue after estimate/2 + 1 s)
and `pkg/controller/namespace/deletion/{namespaced_resources_deleter,status_condition_utils}.go`.

    NamespaceController(ctx)     name "namespace"; key: the namespace name

For a namespace with a deletionTimestamp: phase Terminating; for every namespaced resource the
registry serves (custom resources too) that supports delete, delete the collection with
Background propagation (pods terminate gracefully through their kubelet); count what remains;
write the five deletion conditions (NamespaceDeletionDiscoveryFailure,
NamespaceDeletionGroupVersionParsingFailure, NamespaceDeletionContentFailure,
NamespaceContentRemaining, NamespaceFinalizersRemaining) to status; while content remains,
sync again after (the longest pod grace period, or 15 s when only finalizers hold objects)
/ 2 + 1 kube seconds; once empty, finalize: spec.finalizers without "kubernetes", through the
store's finalize subresource, which removes the namespace when nothing else holds it.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.controllers.base import ControllerContext
from harness.cluster.simulator.registry import ResourceType
from harness.cluster.simulator.store import BACKGROUND, WatchEvent

__all__ = ["FINALIZER_KUBERNETES", "NamespaceController"]

_log = logging.getLogger(__name__)

Obj = dict[str, Any]

FINALIZER_KUBERNETES: Final = "kubernetes"
FINALIZER_ESTIMATE_SECONDS: Final = 15  # namespaced_resources_deleter.go finalizerEstimateSeconds

CONDITION_TYPES: Final = (
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
)
OK_REASONS: Final = {
    "NamespaceDeletionDiscoveryFailure": "ResourcesDiscovered",
    "NamespaceDeletionGroupVersionParsingFailure": "ParsedGroupVersions",
    "NamespaceDeletionContentFailure": "ContentDeleted",
    "NamespaceContentRemaining": "ContentRemoved",
    "NamespaceFinalizersRemaining": "ContentHasNoFinalizers",
}
OK_MESSAGES: Final = {
    "NamespaceDeletionDiscoveryFailure": "All resources successfully discovered",
    "NamespaceDeletionGroupVersionParsingFailure": "All legacy kube types successfully parsed",
    "NamespaceDeletionContentFailure": (
        "All content successfully deleted, may be waiting on finalization"
    ),
    "NamespaceContentRemaining": "All content successfully removed",
    "NamespaceFinalizersRemaining": "All content-preserving finalizers finished",
}


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NamespaceController:
    """Deletes the content of Terminating namespaces, then finalizes them."""

    name = "namespace"

    def __init__(self, ctx: ControllerContext) -> None:
        self.ctx = ctx
        self.store = ctx.store
        namespaces = ctx.registry.lookup("", "v1", "namespaces")
        pods = ctx.registry.lookup("", "v1", "pods")
        if namespaces is None or pods is None:
            raise LookupError("the registry does not serve core/v1 namespaces and pods")
        self.namespaces: ResourceType = namespaces
        self.pods: ResourceType = pods

    def watches(self) -> Sequence[tuple[str, str]]:
        return [self.namespaces.key]

    def keys_for(self, event: WatchEvent) -> Iterable[Hashable]:
        meta = _meta(event.object)
        if meta.get("deletionTimestamp"):
            return [str(meta.get("name"))]
        return []

    def resync_keys(self) -> Iterable[Hashable]:
        return [
            str(_meta(ns)["name"])
            for ns in self.store.list(self.namespaces, None).items
            if _meta(ns).get("deletionTimestamp")
        ]

    def sync(self, key: Hashable) -> float | None:
        name = str(key)
        namespace = self._get(name)
        if namespace is None or not _meta(namespace).get("deletionTimestamp"):
            return None
        namespace = self._ensure_terminating(namespace)
        if FINALIZER_KUBERNETES not in ((namespace.get("spec") or {}).get("finalizers") or ()):
            return None  # finalized already; other finalizers are not ours
        estimate, remaining = self._delete_all_content(namespace)
        if remaining:
            # namespace_controller.go: ResourcesRemainingError -> AddAfter(estimate/2 + 1 s)
            return self.ctx.time_scale.real(estimate // 2 + 1)
        self._finalize(name)
        return None

    # ------------------------------------------------------------ steps

    def _get(self, name: str) -> Obj | None:
        try:
            return self.store.get(self.namespaces, None, name)
        except ApiError as error:
            if error.code == 404:
                return None
            raise

    def _ensure_terminating(self, namespace: Obj) -> Obj:
        """updateNamespaceStatusFunc: phase Terminating once deletion started."""
        status = namespace.setdefault("status", {})
        if status.get("phase") == "Terminating":
            return namespace
        status["phase"] = "Terminating"
        return self.store.update(
            self.namespaces, None, str(_meta(namespace)["name"]), namespace, subresource="status"
        )

    def _resources(self) -> list[ResourceType]:
        """Discovery: the preferred version of every namespaced resource that can be deleted."""
        chosen: dict[tuple[str, str], ResourceType] = {}
        for rt in self.ctx.registry.types():
            if not rt.namespaced or "delete" not in rt.verbs or rt.key in chosen:
                continue
            versions = self.ctx.registry.versions_of(rt.group, rt.plural)
            chosen[rt.key] = versions[0] if versions else rt
        return [chosen[k] for k in sorted(chosen)]

    def _delete_all_content(self, namespace: Obj) -> tuple[int, bool]:
        """deleteAllContent: (estimate in kube seconds, whether anything remains)."""
        name = str(_meta(namespace)["name"])
        estimate = 0
        errors: list[str] = []
        remaining_by_resource: dict[str, int] = {}
        remaining_by_finalizer: dict[str, int] = {}
        for rt in self._resources():
            try:
                gvr_estimate = self._estimate_graceful_termination(rt, name)
                self._delete_collection(rt, name)
                items = self.store.list(rt, name).items
            except ApiError as error:
                errors.append(error.message)
                continue
            if not items:
                continue
            finalizers: dict[str, int] = {}
            for item in items:
                for finalizer in _meta(item).get("finalizers") or ():
                    finalizers[finalizer] = finalizers.get(finalizer, 0) + 1
            if gvr_estimate == 0 and finalizers:
                gvr_estimate = FINALIZER_ESTIMATE_SECONDS
            elif gvr_estimate == 0:
                errors.append(
                    f"unexpected items still remain in namespace: {name} for gvr: {_gvr_text(rt)}"
                )
            estimate = max(estimate, gvr_estimate)
            remaining_by_resource[f"{rt.plural}.{rt.group}"] = len(items)
            for finalizer, count in finalizers.items():
                remaining_by_finalizer[finalizer] = remaining_by_finalizer.get(finalizer, 0) + count
        self._update_conditions(name, errors, remaining_by_resource, remaining_by_finalizer)
        if errors:
            # an error requeues with back-off upstream; here the estimate delay serves
            _log.info("namespace %s: content deletion incomplete: %s", name, "; ".join(errors))
        return estimate, bool(remaining_by_resource or errors)

    def _estimate_graceful_termination(self, rt: ResourceType, namespace: str) -> int:
        """estimateGracefulTerminationForPods: the longest grace period of a live pod."""
        if rt.key != self.pods.key:
            return 0
        estimate = 0
        for pod in self.store.list(self.pods, namespace).items:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
            if isinstance(grace, int) and grace > estimate:
                estimate = grace
        return estimate

    def _delete_collection(self, rt: ResourceType, namespace: str) -> None:
        if "deletecollection" in rt.verbs:
            self.store.delete_collection(rt, namespace, propagation_policy=BACKGROUND)
            return
        for item in self.store.list(rt, namespace).items:  # deleteEachItem
            try:
                self.store.delete(
                    rt, namespace, str(_meta(item)["name"]), propagation_policy=BACKGROUND
                )
            except ApiError as error:
                if error.code != 404:
                    raise

    def _update_conditions(
        self,
        name: str,
        errors: list[str],
        by_resource: Mapping[str, int],
        by_finalizer: Mapping[str, int],
    ) -> None:
        """namespaceConditionUpdater.Update: every type set, failing or its "ok" variant."""
        new: dict[str, tuple[str, str, str]] = {}  # type -> (status, reason, message)
        if errors:
            new["NamespaceDeletionContentFailure"] = (
                "True",
                "ContentDeletionFailed",
                f"Failed to delete all resource types, {len(errors)} remaining: "
                + ", ".join(sorted(errors)),
            )
        if by_resource:
            parts = sorted(f"{r} has {n} resource instances" for r, n in by_resource.items() if n)
            new["NamespaceContentRemaining"] = (
                "True",
                "SomeResourcesRemain",
                "Some resources are remaining: " + ", ".join(parts),
            )
        if by_finalizer:
            parts = sorted(f"{f} in {n} resource instances" for f, n in by_finalizer.items() if n)
            new["NamespaceFinalizersRemaining"] = (
                "True",
                "SomeFinalizersRemain",
                "Some content in the namespace has finalizers remaining: " + ", ".join(parts),
            )
        namespace = self._get(name)
        if namespace is None:
            return
        status = namespace.setdefault("status", {})
        conditions: list[Obj] = list(status.get("conditions") or [])
        now = _rfc3339(self.ctx.clock())
        changed = False
        for kind in CONDITION_TYPES:
            wanted = new.get(kind, ("False", OK_REASONS[kind], OK_MESSAGES[kind]))
            old = next((c for c in conditions if c.get("type") == kind), None)
            if old is None:
                conditions.append(
                    {
                        "type": kind,
                        "status": wanted[0],
                        "lastTransitionTime": now,
                        "reason": wanted[1],
                        "message": wanted[2],
                    }
                )
                changed = True
            elif (old.get("status"), old.get("reason"), old.get("message")) != wanted:
                if old.get("status") != wanted[0]:
                    old["lastTransitionTime"] = now
                old.update(status=wanted[0], reason=wanted[1], message=wanted[2])
                changed = True
        if not changed:
            return
        status["conditions"] = conditions
        try:
            self.store.update(self.namespaces, None, name, namespace, subresource="status")
        except ApiError as error:
            # upstream: HandleError and go on; the next sync writes them again
            _log.info("namespace %s: status conditions not written: %s", name, error.message)

    def _finalize(self, name: str) -> None:
        """finalizeNamespace: spec.finalizers without ours, sorted, via /finalize."""
        namespace = self._get(name)
        if namespace is None:
            return
        spec = namespace.setdefault("spec", {})
        spec["finalizers"] = sorted(
            {f for f in spec.get("finalizers") or () if f != FINALIZER_KUBERNETES}
        )
        try:
            self.store.update(self.namespaces, None, name, namespace, subresource="finalize")
        except ApiError as error:
            if error.code != 404:
                raise


def _gvr_text(rt: ResourceType) -> str:
    """schema.GroupVersionResource printed with %v: {group version resource}."""
    return f"{rt.group}/{rt.version}, Resource={rt.plural}"
