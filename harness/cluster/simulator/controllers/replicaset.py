"""The ReplicaSet controller: keeps spec.replicas active pods per ReplicaSet and reports status.
A port of upstream pkg/controller/replicaset (KUBE_SPEC rules 21-23) over the store API.

Upstream files: replica_set.go (syncReplicaSet, manageReplicas, slowStartBatch,
getPodsToDelete, claimPods), replica_set_utils.go (calculateStatus, updateReplicaSetStatus)
and controller_utils.go (GetPodFromTemplate, ActivePodsWithRanks). Reads come straight from
the store, so upstream's creation/deletion expectations (which guard a lagging informer cache)
are not needed. Keys are (namespace, name) tuples.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Hashable, Iterable, Sequence
from datetime import datetime
from typing import Final

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.controllers import deployment_util as util
from harness.cluster.simulator.controllers.base import (
    ControllerContext,
    ControllerRefManager,
    controller_reference,
    key_of,
    meta_of,
    sync_latest,
)
from harness.cluster.simulator.controllers.deployment_util import Obj
from harness.cluster.simulator.registry import ResourceType
from harness.cluster.simulator.selectors import LabelSelector
from harness.cluster.simulator.store import WatchEvent
from harness.timescale import TimeScale

__all__ = ["BURST_REPLICAS", "ReplicaSetController", "ReplicaSetSyncError"]

_log = logging.getLogger(__name__)

#: kube-controller-manager's --concurrent-replicaset-syncs burst: at most this many pods are
#: created or deleted per sync
BURST_REPLICAS: Final = 500
#: updateReplicaSetStatus retries a conflicting status write once after a fresh read
_STATUS_UPDATE_RETRIES: Final = 1
_REPLICA_SETS: Final = ("apps", "replicasets")
_PODS: Final = ("", "pods")


class ReplicaSetSyncError(Exception):
    """manageReplicas failed to create or delete some pods; the sync is retried with back-off
    after the ReplicaFailure condition has been written."""




class ReplicaSetController:
    """kube-controller-manager's replicaset controller; see the module docstring."""

    name = "replicaset"

    def __init__(self, ctx: ControllerContext, *, burst_replicas: int = BURST_REPLICAS) -> None:
        self._ctx = ctx
        self._store = ctx.store
        self._burst = burst_replicas
        self._replica_sets = self._rt("apps", "v1", "replicasets")
        self._pods = self._rt("", "v1", "pods")

    def _rt(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self._ctx.registry.lookup(group, version, plural)
        if rt is None:
            raise LookupError(f"the registry has no {plural}.{group or 'core'}/{version}")
        return rt

    # ------------------------------------------------------------------ controller contract

    def watches(self) -> Sequence[tuple[str, str]]:
        return (_REPLICA_SETS, _PODS)

    def keys_for(self, event: WatchEvent) -> Iterable[Hashable]:
        if event.rt is None or event.type not in ("ADDED", "MODIFIED", "DELETED"):
            return []
        kind = (event.rt.group, event.rt.plural)
        obj = event.object
        if kind == _REPLICA_SETS:
            return [key_of(obj)]
        if kind != _PODS:
            return []
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        ref = util.controller_ref(obj)
        if ref is not None:
            if ref.get("kind") != "ReplicaSet":
                return []
            return [(namespace, str(ref.get("name")))]
        if event.type == "DELETED":
            return []
        # An orphan pod: every ReplicaSet that might adopt it (getPodReplicaSets).
        labels = (obj.get("metadata") or {}).get("labels") or {}
        keys: list[Hashable] = []
        for rs in self._store.list(self._replica_sets, namespace).items:
            selector = LabelSelector.from_spec((rs.get("spec") or {}).get("selector"))
            if not selector.empty and selector.matches(labels):
                keys.append(key_of(rs))
        return keys

    def resync_keys(self) -> Iterable[Hashable]:
        return [key_of(rs) for rs in self._store.list(self._replica_sets, None).items]

    def sync(self, key: Hashable) -> float | None:
        return sync_latest(self._store, self._replica_sets, key, self._sync_replica_set)

    # ------------------------------------------------------------------ syncReplicaSet

    def _sync_replica_set(self, rs: Obj) -> float | None:
        namespace = str(meta_of(rs).get("namespace") or "")
        selector = LabelSelector.from_spec((rs.get("spec") or {}).get("selector"))
        pods = [p for p in self._store.list(self._pods, namespace).items if util.is_pod_active(p)]
        pods = self._claim_pods(rs, selector, pods)
        manage_error: ReplicaSetSyncError | None = None
        if not meta_of(rs).get("deletionTimestamp"):
            try:
                self._manage_replicas(pods, rs)
            except ReplicaSetSyncError as error:
                manage_error = error
        now = self._ctx.clock()
        new_status = calculate_replica_set_status(rs, pods, manage_error, now, self._ctx.time_scale)
        updated = self._update_status(rs, new_status)
        if manage_error is not None:
            raise manage_error
        return self._availability_check_after(updated, pods, now)

    def _availability_check_after(
        self, rs: Obj, pods: Sequence[Obj], now: datetime
    ) -> float | None:
        """When ready pods await minReadySeconds, resync as the first becomes available (the
        role of upstream's AddAfter(minReadySeconds) in updatePod and syncReplicaSet)."""
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready <= 0:
            return None
        scale = self._ctx.time_scale
        waits: list[float] = []
        for pod in pods:
            if not util.is_pod_ready(pod) or util.is_pod_available(pod, min_ready, now, scale):
                continue
            ready = util.get_condition(pod.get("status") or {}, "Ready") or {}
            since = util.parse_time(ready.get("lastTransitionTime"))
            elapsed = (now - since).total_seconds() if since is not None else 0.0
            waits.append(max(0.0, scale.real(float(min_ready)) - elapsed))
        if not waits:
            return None
        # upstream adds a second against millisecond skew; scaled like every other duration
        return min(waits) + scale.real(1.0)

    def _claim_pods(self, rs: Obj, selector: LabelSelector, pods: Sequence[Obj]) -> list[Obj]:
        """ClaimPods: owned pods that match; adopt matching orphans, release non-matching."""

        def write(pod: Obj) -> Obj:
            namespace, name = key_of(pod)
            return self._store.update(self._pods, namespace, name, pod)

        return ControllerRefManager(rs, "apps/v1", "ReplicaSet", selector, write).claim(pods)

    # ------------------------------------------------------------------ manageReplicas

    def _manage_replicas(self, pods: Sequence[Obj], rs: Obj) -> None:
        diff = len(pods) - util.spec_replicas(rs)
        if diff < 0:
            self._create_pods(rs, min(-diff, self._burst))
        elif diff > 0:
            count = min(diff, self._burst)
            related = self._indirectly_related_pods(rs)
            doomed = util.pods_to_delete(pods, related, count, self._ctx.clock())
            self._delete_pods(rs, doomed)

    def _create_pods(self, rs: Obj, count: int) -> int:
        """slowStartBatch: batches of 1, 2, 4, ...; a batch with a failure ends the run."""
        created = 0
        for batch in util.slow_start_batches(count):
            failures: list[ApiError] = []
            for _ in range(batch):
                error = self._create_pod(rs)
                if error is None:
                    created += 1
                else:
                    failures.append(error)
            if failures:
                raise ReplicaSetSyncError(failures[0].message)
        return created

    def _create_pod(self, rs: Obj) -> ApiError | None:
        """RealPodControl.CreatePods: a pod from the template, generateName `<rs>-`."""
        template = (rs.get("spec") or {}).get("template") or {}
        template_meta = template.get("metadata") or {}
        namespace, name = key_of(rs)
        metadata: Obj = {
            "generateName": f"{name}-",
            "namespace": namespace,
            "ownerReferences": [controller_reference(rs, "apps/v1", "ReplicaSet")],
        }
        if template_meta.get("labels"):
            metadata["labels"] = dict(template_meta["labels"])
        if template_meta.get("annotations"):
            metadata["annotations"] = dict(template_meta["annotations"])
        if template_meta.get("finalizers"):
            metadata["finalizers"] = list(template_meta["finalizers"])
        pod: Obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": metadata,
            "spec": copy.deepcopy(template.get("spec") or {}),
        }
        if not metadata.get("labels"):
            error = ApiError(500, "InternalError", "unable to create pods, no labels")
            self._ctx.events.record(rs, "Warning", "FailedCreate", f"Error creating: {error}")
            return error
        try:
            created = self._store.create(self._pods, namespace, pod)
        except ApiError as error:
            if _namespace_terminating(error):
                return None  # every create fails from now on; nothing to report
            self._ctx.events.record(rs, "Warning", "FailedCreate", f"Error creating: {error}")
            return error
        self._ctx.events.record(
            rs, "Normal", "SuccessfulCreate", f"Created pod: {meta_of(created).get('name')}"
        )
        return None

    def _delete_pods(self, rs: Obj, pods: Sequence[Obj]) -> None:
        first: ApiError | None = None
        for pod in pods:
            namespace, name = key_of(pod)
            try:
                self._store.delete(self._pods, namespace, name)
            except ApiError as error:
                if error.code == 404:
                    continue
                self._ctx.events.record(rs, "Warning", "FailedDelete", f"Error deleting: {error}")
                first = first or error
                continue
            self._ctx.events.record(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
        if first is not None:
            raise ReplicaSetSyncError(f"unable to delete pods: {first.message}")

    def _indirectly_related_pods(self, rs: Obj) -> list[Obj]:
        """getIndirectlyRelatedPods: pods of every RS sharing this RS's controller."""
        ref = util.controller_ref(rs)
        if ref is None:
            return []
        namespace = str(meta_of(rs).get("namespace") or "")
        seen: set[str] = set()
        related: list[Obj] = []
        for sibling in self._store.list(self._replica_sets, namespace).items:
            sibling_ref = util.controller_ref(sibling)
            if sibling_ref is None or sibling_ref.get("uid") != ref.get("uid"):
                continue
            selector = LabelSelector.from_spec((sibling.get("spec") or {}).get("selector"))
            if selector.matches_nothing:
                continue
            for pod in self._store.list(self._pods, namespace, label_selector=selector).items:
                uid = str(meta_of(pod).get("uid"))
                if uid not in seen:
                    seen.add(uid)
                    related.append(pod)
        return related

    # ------------------------------------------------------------------ status

    def _update_status(self, rs: Obj, new_status: Obj) -> Obj:
        """updateReplicaSetStatus: skip when nothing changed, else write (retrying once)."""
        old = rs.get("status") or {}
        generation = int(meta_of(rs).get("generation") or 0)
        unchanged = all(
            int(old.get(k) or 0) == int(new_status.get(k) or 0)
            for k in ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")
        )
        if (
            unchanged
            and generation == int(old.get("observedGeneration") or 0)
            and (old.get("conditions") or None) == (new_status.get("conditions") or None)
        ):
            return rs
        current = rs
        attempt = 0
        while True:
            status = dict(new_status)
            current_generation = int(meta_of(current).get("generation") or 0)
            if current_generation:
                status["observedGeneration"] = current_generation
            written = copy.deepcopy(current)
            written["status"] = status
            namespace, name = key_of(current)
            try:
                return self._store.update(
                    self._replica_sets, namespace, name, written, subresource="status"
                )
            except ApiError as error:
                if error.code != 409 or attempt >= _STATUS_UPDATE_RETRIES:
                    raise
                attempt += 1
                current = self._store.get(self._replica_sets, namespace, name)


def _namespace_terminating(error: ApiError) -> bool:
    return error.code == 403 and "being terminated" in error.message


def calculate_replica_set_status(
    rs: Obj,
    pods: Sequence[Obj],
    manage_error: Exception | None,
    now: datetime,
    time_scale: TimeScale,
) -> Obj:
    """calculateStatus (replica_set_utils.go): counts over the claimed active pods and the
    ReplicaFailure condition (FailedCreate / FailedDelete) while manageReplicas fails."""
    status: Obj = copy.deepcopy(rs.get("status") or {})
    template_labels = (((rs.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
        "labels"
    ) or {}
    template_selector = LabelSelector.from_set(template_labels)
    min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
    fully_labeled = ready = available = 0
    for pod in pods:
        if template_selector.matches((pod.get("metadata") or {}).get("labels") or {}):
            fully_labeled += 1
        if util.is_pod_ready(pod):
            ready += 1
            if util.is_pod_available(pod, min_ready, now, time_scale):
                available += 1
    failure = util.get_condition(status, util.REPLICA_FAILURE)
    if manage_error is not None and failure is None:
        diff = len(pods) - util.spec_replicas(rs)
        reason = "FailedCreate" if diff < 0 else ("FailedDelete" if diff > 0 else "")
        condition = {
            "type": util.REPLICA_FAILURE,
            "status": "True",
            "lastTransitionTime": util.format_time(now),
            "reason": reason,
            "message": str(manage_error),
        }
        status["conditions"] = [
            *(c for c in status.get("conditions") or () if c.get("type") != util.REPLICA_FAILURE),
            condition,
        ]
    elif manage_error is None and failure is not None:
        util.remove_condition(status, util.REPLICA_FAILURE)
    # ReplicaSetStatus.replicas is always serialised; the other counts are omitempty.
    status["replicas"] = len(pods)
    for key, value in (
        ("fullyLabeledReplicas", fully_labeled),
        ("readyReplicas", ready),
        ("availableReplicas", available),
    ):
        if value:
            status[key] = value
        else:
            status.pop(key, None)
    return status
