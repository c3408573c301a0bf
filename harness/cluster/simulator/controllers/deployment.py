"""The Deployment controller: rolls a Deployment's pod template out through ReplicaSets.
A port of upstream pkg/controller/deployment (KUBE_SPEC rules 3-20) over the store API.

Upstream files: deployment_controller.go (syncDeployment, adoption, event handlers), sync.go
(getNewReplicaSet, scale, cleanupDeployment, calculateStatus), rolling.go, recreate.go and
progress.go. The arithmetic lives in deployment_util.py; this module reads the store, applies
those plans with optimistic concurrency, records events and writes status through /status.
Keys are (namespace, name) tuples.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Hashable, Iterable, Sequence
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

__all__ = ["DeploymentController"]

_log = logging.getLogger(__name__)

_DEPLOYMENTS: Final = ("apps", "deployments")
_REPLICA_SETS: Final = ("apps", "replicasets")
_PODS: Final = ("", "pods")





class DeploymentController:
    """kube-controller-manager's deployment controller; see the module docstring."""

    name = "deployment"

    def __init__(self, ctx: ControllerContext) -> None:
        self._ctx = ctx
        self._store = ctx.store
        self._deployments = self._rt("apps", "v1", "deployments")
        self._replica_sets = self._rt("apps", "v1", "replicasets")
        self._pods = self._rt("", "v1", "pods")

    def _rt(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self._ctx.registry.lookup(group, version, plural)
        if rt is None:
            raise LookupError(f"the registry has no {plural}.{group or 'core'}/{version}")
        return rt

    # ------------------------------------------------------------------ controller contract

    def watches(self) -> Sequence[tuple[str, str]]:
        return (_DEPLOYMENTS, _REPLICA_SETS, _PODS)

    def keys_for(self, event: WatchEvent) -> Iterable[Hashable]:
        if event.rt is None or event.type not in ("ADDED", "MODIFIED", "DELETED"):
            return []
        kind = (event.rt.group, event.rt.plural)
        obj = event.object
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        if kind == _DEPLOYMENTS:
            return [key_of(obj)]
        if kind == _REPLICA_SETS:
            ref = util.controller_ref(obj)
            if ref is not None:
                return (
                    [(namespace, str(ref.get("name")))] if ref.get("kind") == "Deployment" else []
                )
            if event.type == "DELETED":
                return []
            # An orphan: every Deployment that might adopt it (getDeploymentsForReplicaSet).
            return self._deployments_selecting(namespace, obj)
        if kind == _PODS and event.type == "DELETED":
            return self._recreate_deployment_of_pod(namespace, obj)
        return []

    def resync_keys(self) -> Iterable[Hashable]:
        return [key_of(d) for d in self._store.list(self._deployments, None).items]

    def sync(self, key: Hashable) -> float | None:
        return sync_latest(self._store, self._deployments, key, self._sync_deployment)

    # ------------------------------------------------------------------ event helpers

    def _deployments_selecting(self, namespace: str, rs: Obj) -> list[Hashable]:
        labels = (rs.get("metadata") or {}).get("labels") or {}
        if not labels:
            return []
        keys: list[Hashable] = []
        for d in self._store.list(self._deployments, namespace).items:
            selector = LabelSelector.from_spec((d.get("spec") or {}).get("selector"))
            if not selector.empty and selector.matches(labels):
                keys.append(key_of(d))
        return keys

    def _recreate_deployment_of_pod(self, namespace: str, pod: Obj) -> list[Hashable]:
        """deletePod: a Recreate Deployment may be waiting for its old pods to go."""
        ref = util.controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return []
        try:
            rs = self._store.get(self._replica_sets, namespace, str(ref.get("name")))
        except ApiError:
            return []
        rs_ref = util.controller_ref(rs)
        if rs_ref is None or rs_ref.get("kind") != "Deployment":
            return []
        try:
            d = self._store.get(self._deployments, namespace, str(rs_ref.get("name")))
        except ApiError:
            return []
        if ((d.get("spec") or {}).get("strategy") or {}).get("type") != "Recreate":
            return []
        return [key_of(d)]

    # ------------------------------------------------------------------ syncDeployment

    def _sync_deployment(self, d: Obj) -> float | None:
        spec = d.get("spec") or {}
        selector_spec = spec.get("selector")
        if (
            isinstance(selector_spec, dict)
            and not selector_spec.get("matchLabels")
            and not (selector_spec.get("matchExpressions"))
        ):
            self._ctx.events.record(
                d,
                "Warning",
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            )
            status = d.setdefault("status", {})
            generation = int(meta_of(d).get("generation") or 0)
            if int(status.get("observedGeneration") or 0) < generation:
                status["observedGeneration"] = generation
                self._update_status(d)
            return None
        rs_list = self._replica_sets_for(d)
        if meta_of(d).get("deletionTimestamp"):
            new_rs, old_rss = self._get_all_replica_sets_and_sync_revision(d, rs_list, False)
            self._sync_deployment_status([*old_rss, new_rs], new_rs, d)
            return None
        self._check_paused_conditions(d)
        if spec.get("paused"):
            return self._sync(d, rs_list)
        # The legacy rollback-to annotation (extensions/v1beta1 rollback) is not supported.
        if self._is_scaling_event(d, rs_list):
            return self._sync(d, rs_list)
        strategy = (spec.get("strategy") or {}).get("type")
        if strategy == "Recreate":
            return self._rollout_recreate(d, rs_list, self._pod_map(d, rs_list))
        if strategy == "RollingUpdate":
            return self._rollout_rolling(d, rs_list)
        raise ValueError(f"unexpected deployment strategy type: {strategy}")

    def _replica_sets_for(self, d: Obj) -> list[Obj]:
        """getReplicaSetsForDeployment: owned RSs matching the selector, adopting orphans that
        match and releasing owned ones that no longer do (ClaimReplicaSets)."""
        namespace = str(meta_of(d).get("namespace") or "")
        selector = LabelSelector.from_spec((d.get("spec") or {}).get("selector"))
        manager = ControllerRefManager(d, "apps/v1", "Deployment", selector, self._write_rs)
        return manager.claim(self._store.list(self._replica_sets, namespace).items)

    def _pod_map(self, d: Obj, rs_list: Sequence[Obj]) -> dict[str, list[Obj]]:
        """getPodMapForDeployment: the Deployment's pods by their controlling RS's uid."""
        selector = LabelSelector.from_spec((d.get("spec") or {}).get("selector"))
        pod_map: dict[str, list[Obj]] = {str(meta_of(rs).get("uid")): [] for rs in rs_list}
        namespace = str(meta_of(d).get("namespace") or "")
        for pod in self._store.list(self._pods, namespace, label_selector=selector).items:
            ref = util.controller_ref(pod)
            if ref is not None and str(ref.get("uid")) in pod_map:
                pod_map[str(ref.get("uid"))].append(pod)
        return pod_map

    # ------------------------------------------------------------------ writes

    def _update_status(self, d: Obj) -> None:
        """UpdateStatus with d's resourceVersion; d picks up the new one."""
        namespace, name = key_of(d)
        written = self._store.update(self._deployments, namespace, name, d, subresource="status")
        meta_of(d)["resourceVersion"] = meta_of(written).get("resourceVersion")

    def _write_rs(self, rs: Obj) -> Obj:
        namespace, name = key_of(rs)
        return self._store.update(self._replica_sets, namespace, name, rs)

    def _scale_replica_set(
        self, rs: Obj, new_scale: int, d: Obj, operation: str
    ) -> tuple[bool, Obj]:
        """scaleReplicaSet: set spec.replicas and the desired/max-replicas annotations."""
        replicas = util.spec_replicas(d)
        maximum = replicas + util.max_surge(d)
        old_scale = util.spec_replicas(rs)
        size_changes = old_scale != new_scale
        if not size_changes and not util.replicas_annotations_need_update(rs, replicas, maximum):
            return False, rs
        updated = copy.deepcopy(rs)
        updated.setdefault("spec", {})["replicas"] = new_scale
        util.set_replicas_annotations(updated, replicas, maximum)
        written = self._write_rs(updated)
        if size_changes:
            self._ctx.events.record(
                d,
                "Normal",
                "ScalingReplicaSet",
                f"Scaled {operation} replica set {meta_of(written).get('name')} from {old_scale} "
                f"to {new_scale}",
            )
        return size_changes, written

    def _scale_and_record(self, rs: Obj, new_scale: int, d: Obj) -> tuple[bool, Obj]:
        """scaleReplicaSetAndRecordEvent."""
        current = util.spec_replicas(rs)
        if current == new_scale:
            return False, rs
        return self._scale_replica_set(rs, new_scale, d, "up" if current < new_scale else "down")

    # ------------------------------------------------------------------ sync.go

    def _check_paused_conditions(self, d: Obj) -> None:
        if not util.has_progress_deadline(d):
            return
        status = d.setdefault("status", {})
        condition = util.get_condition(status, util.PROGRESSING)
        if condition is not None and condition.get("reason") == util.TIMED_OUT_REASON:
            return
        paused_exists = (
            condition is not None and condition.get("reason") == util.PAUSED_DEPLOY_REASON
        )
        paused = bool((d.get("spec") or {}).get("paused"))
        now = self._ctx.clock()
        if paused and not paused_exists:
            util.set_condition(
                status,
                util.new_condition(
                    util.PROGRESSING,
                    "Unknown",
                    util.PAUSED_DEPLOY_REASON,
                    "Deployment is paused",
                    now,
                ),
            )
        elif not paused and paused_exists:
            util.set_condition(
                status,
                util.new_condition(
                    util.PROGRESSING,
                    "Unknown",
                    util.RESUMED_DEPLOY_REASON,
                    "Deployment is resumed",
                    now,
                ),
            )
        else:
            return
        self._update_status(d)

    def _get_all_replica_sets_and_sync_revision(
        self, d: Obj, rs_list: Sequence[Obj], create: bool
    ) -> tuple[Obj | None, list[Obj]]:
        _, all_old = util.find_old_replica_sets(d, rs_list)
        new_rs = self._get_new_replica_set(d, rs_list, all_old, create)
        return new_rs, all_old

    def _get_new_replica_set(
        self, d: Obj, rs_list: Sequence[Obj], old_rss: Sequence[Obj], create: bool
    ) -> Obj | None:
        existing = util.find_new_replica_set(d, rs_list)
        new_revision = str(util.max_revision(old_rss) + 1)
        spec = d.get("spec") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        status = d.setdefault("status", {})
        now = self._ctx.clock()
        if existing is not None:
            rs_copy = copy.deepcopy(existing)
            annotations_updated = util.set_new_replica_set_annotations(
                d, rs_copy, new_revision, True
            )
            rs_spec = rs_copy.setdefault("spec", {})
            if annotations_updated or int(rs_spec.get("minReadySeconds") or 0) != min_ready:
                if min_ready:
                    rs_spec["minReadySeconds"] = min_ready
                else:
                    rs_spec.pop("minReadySeconds", None)
                return self._write_rs(rs_copy)
            revision = str(util.annotations_of(rs_copy).get(util.REVISION_ANNOTATION, ""))
            needs_update = util.set_deployment_revision(d, revision)
            if (
                util.has_progress_deadline(d)
                and util.get_condition(status, util.PROGRESSING) is None
            ):
                util.set_condition(
                    status,
                    util.new_condition(
                        util.PROGRESSING,
                        "True",
                        util.FOUND_NEW_RS_REASON,
                        f'Found new replica set "{meta_of(rs_copy).get("name")}"',
                        now,
                    ),
                )
                needs_update = True
            if needs_update:
                self._update_status(d)
            return rs_copy
        if not create:
            return None
        return self._create_new_replica_set(d, old_rss, new_revision)

    def _create_new_replica_set(self, d: Obj, old_rss: Sequence[Obj], new_revision: str) -> Obj:
        meta = meta_of(d)
        spec = d.get("spec") or {}
        status = d.setdefault("status", {})
        collision_count = status.get("collisionCount")
        template = copy.deepcopy(spec.get("template") or {})
        pod_hash = util.pod_template_hash(template, collision_count)
        template_meta = template.setdefault("metadata", {})
        template_meta["labels"] = {
            **(template_meta.get("labels") or {}),
            util.POD_TEMPLATE_HASH_LABEL: pod_hash,
        }
        selector = copy.deepcopy(spec.get("selector") or {})
        selector["matchLabels"] = {
            **(selector.get("matchLabels") or {}),
            util.POD_TEMPLATE_HASH_LABEL: pod_hash,
        }
        name = f"{meta.get('name')}-{pod_hash}"
        namespace = str(meta.get("namespace") or "")
        rs_spec: Obj = {"replicas": 0, "selector": selector, "template": template}
        if spec.get("minReadySeconds"):
            rs_spec["minReadySeconds"] = spec["minReadySeconds"]
        new_rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "ownerReferences": [controller_reference(d, "apps/v1", "Deployment")],
                "labels": dict(template_meta["labels"]),
            },
            "spec": rs_spec,
        }
        replicas = util.new_rs_new_replicas(d, [*old_rss, new_rs], new_rs)
        rs_spec["replicas"] = replicas
        util.set_new_replica_set_annotations(d, new_rs, new_revision, False)
        now = self._ctx.clock()
        already_exists = False
        try:
            created = self._store.create(self._replica_sets, namespace, new_rs)
        except ApiError as error:
            if error.reason == "AlreadyExists":
                found = self._store.get(self._replica_sets, namespace, name)
                ref = util.controller_ref(found)
                if (
                    ref is not None
                    and ref.get("uid") == meta.get("uid")
                    and util.equal_ignore_hash(
                        spec.get("template"), (found.get("spec") or {}).get("template")
                    )
                ):
                    created, already_exists = found, True
                else:
                    # A hash collision: bump collisionCount and let the next sync retry.
                    status["collisionCount"] = int(collision_count or 0) + 1
                    self._update_status(d)
                    raise
            elif error.code == 403:
                raise  # a terminating namespace: every later create fails too
            else:
                message = f'Failed to create new replica set "{name}": {error.message}'
                if util.has_progress_deadline(d):
                    util.set_condition(
                        status,
                        util.new_condition(
                            util.PROGRESSING, "False", util.FAILED_RS_CREATE_REASON, message, now
                        ),
                    )
                    with contextlib.suppress(ApiError):  # the bigger problem is reported below
                        self._update_status(d)
                self._ctx.events.record(d, "Warning", util.FAILED_RS_CREATE_REASON, message)
                raise
        if not already_exists and replicas > 0:
            self._ctx.events.record(
                d,
                "Normal",
                "ScalingReplicaSet",
                f"Scaled up replica set {meta_of(created).get('name')} from 0 to {replicas}",
            )
        needs_update = util.set_deployment_revision(d, new_revision)
        if not already_exists and util.has_progress_deadline(d):
            util.set_condition(
                status,
                util.new_condition(
                    util.PROGRESSING,
                    "True",
                    util.NEW_REPLICA_SET_REASON,
                    f'Created new replica set "{meta_of(created).get("name")}"',
                    now,
                ),
            )
            needs_update = True
        if needs_update:
            self._update_status(d)
        return created

    def _sync(self, d: Obj, rs_list: Sequence[Obj]) -> float | None:
        """sync: scaling events and paused Deployments (never a new RS)."""
        new_rs, old_rss = self._get_all_replica_sets_and_sync_revision(d, rs_list, False)
        self._scale(d, new_rs, old_rss)
        if (d.get("spec") or {}).get("paused"):
            self._cleanup_deployment(old_rss, d)
        self._sync_deployment_status([*old_rss, new_rs], new_rs, d)
        return None

    def _scale(self, d: Obj, new_rs: Obj | None, old_rss: Sequence[Obj]) -> None:
        for rs, size, operation in util.proportional_scale_plan(d, new_rs, old_rss):
            self._scale_replica_set(rs, size, d, operation)

    def _is_scaling_event(self, d: Obj, rs_list: Sequence[Obj]) -> bool:
        new_rs, old_rss = self._get_all_replica_sets_and_sync_revision(d, rs_list, False)
        replicas = util.spec_replicas(d)
        for rs in util.filter_active_replica_sets([*old_rss, new_rs]):
            desired = util.desired_replicas_annotation(rs)
            if desired is not None and desired != replicas:
                return True
        return False

    def _cleanup_deployment(self, old_rss: Sequence[Obj], d: Obj) -> None:
        for rs in util.cleanup_candidates(old_rss, d):
            namespace, name = key_of(rs)
            try:
                self._store.delete(self._replica_sets, namespace, name)
            except ApiError as error:
                if error.code != 404:
                    raise

    def _sync_deployment_status(
        self, all_rss: Sequence[Obj | None], new_rs: Obj | None, d: Obj
    ) -> None:
        new_status = util.calculate_status(all_rss, new_rs, d, self._ctx.clock())
        if new_status == (d.get("status") or {}):
            return
        d["status"] = new_status
        self._update_status(d)

    # ------------------------------------------------------------------ rolling.go / recreate.go

    def _rollout_rolling(self, d: Obj, rs_list: Sequence[Obj]) -> float | None:
        new_rs, old_rss = self._get_all_replica_sets_and_sync_revision(d, rs_list, True)
        assert new_rs is not None  # creation raised otherwise
        all_rss: list[Obj | None] = [*old_rss, new_rs]
        target = util.reconcile_new_replica_set(all_rss, new_rs, d)
        if target is not None:
            scaled, _ = self._scale_and_record(new_rs, target, d)
            if scaled:
                return self._sync_rollout_status(all_rss, new_rs, d)
        steps = util.reconcile_old_replica_sets(
            all_rss, util.filter_active_replica_sets(old_rss), new_rs, d
        )
        latest: dict[str, Obj] = {}
        scaled_down = False
        for rs, size in steps:
            name = str(meta_of(rs).get("name"))
            current = latest.get(name, rs)
            scaled, written = self._scale_and_record(current, size, d)
            latest[name] = written
            scaled_down = scaled_down or scaled
        if scaled_down:
            return self._sync_rollout_status(all_rss, new_rs, d)
        if util.deployment_complete(d, d.get("status") or {}):
            self._cleanup_deployment(old_rss, d)
        return self._sync_rollout_status(all_rss, new_rs, d)

    def _rollout_recreate(
        self, d: Obj, rs_list: Sequence[Obj], pod_map: dict[str, list[Obj]]
    ) -> float | None:
        new_rs, old_rss = self._get_all_replica_sets_and_sync_revision(d, rs_list, False)
        all_rss: list[Obj | None] = [*old_rss, new_rs]
        scaled_down = False
        for rs in util.filter_active_replica_sets(old_rss):
            scaled, _ = self._scale_and_record(rs, 0, d)
            scaled_down = scaled_down or scaled
        if scaled_down:
            return self._sync_rollout_status(all_rss, new_rs, d)
        if util.old_pods_running(new_rs, old_rss, pod_map):
            return self._sync_rollout_status(all_rss, new_rs, d)
        if new_rs is None:
            new_rs, old_rss = self._get_all_replica_sets_and_sync_revision(d, rs_list, True)
            all_rss = [*old_rss, new_rs]
        assert new_rs is not None
        self._scale_and_record(new_rs, util.spec_replicas(d), d)
        if util.deployment_complete(d, d.get("status") or {}):
            self._cleanup_deployment(old_rss, d)
        return self._sync_rollout_status(all_rss, new_rs, d)

    # ------------------------------------------------------------------ progress.go

    def _sync_rollout_status(
        self, all_rss: Sequence[Obj | None], new_rs: Obj | None, d: Obj
    ) -> float | None:
        now = self._ctx.clock()
        time_scale = self._ctx.time_scale
        new_status = util.rollout_status(d, all_rss, new_rs, now, time_scale)
        if new_status == (d.get("status") or {}):
            after = util.requeue_stuck_deployment(d, new_status, now, time_scale)
            if after is None:
                return None
            # upstream adds a second against clock skew; scaled like every other duration
            return after + time_scale.real(1.0) if after > 0 else time_scale.real(1.0)
        d["status"] = new_status
        self._update_status(d)
        return None
