"""Pure helpers of the Deployment and ReplicaSet controllers, ported from upstream
pkg/controller/deployment/util/deployment_util.go, controller_utils.go and pod/util.go.

Nothing here touches the store: functions take Deployment, ReplicaSet and Pod dicts (as the
API serves them) and return values or plans; deployment.py and replicaset.py apply them.
Time comparisons take `now` and a TimeScale, so spec durations are compared in real seconds
(elapsed_real >= time_scale.real(spec_seconds)); timestamps are real wall-clock times.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from harness.cluster.simulator.strategy import semantic_equal
from harness.timescale import TimeScale

__all__ = [
    "AVAILABLE",
    "DESIRED_REPLICAS_ANNOTATION",
    "MAX_REPLICAS_ANNOTATION",
    "POD_TEMPLATE_HASH_LABEL",
    "PROGRESSING",
    "REPLICA_FAILURE",
    "REVISION_ANNOTATION",
    "REVISION_HISTORY_ANNOTATION",
    "Obj",
    "active_pods_less",
    "annotations_of",
    "calculate_status",
    "cleanup_candidates",
    "controller_ref",
    "deployment_complete",
    "deployment_progressing",
    "deployment_timed_out",
    "desired_replicas_annotation",
    "equal_ignore_hash",
    "filter_active_replica_sets",
    "find_active_or_latest",
    "find_new_replica_set",
    "find_old_replica_sets",
    "format_time",
    "get_condition",
    "get_proportion",
    "is_pod_active",
    "is_pod_available",
    "is_pod_ready",
    "is_saturated",
    "max_revision",
    "max_surge",
    "max_unavailable",
    "min_available",
    "new_condition",
    "new_rs_new_replicas",
    "old_pods_running",
    "parse_time",
    "pod_template_hash",
    "proportional_scale_plan",
    "reconcile_new_replica_set",
    "reconcile_old_replica_sets",
    "remove_condition",
    "replicas_annotations_need_update",
    "requeue_stuck_deployment",
    "resolve_fenceposts",
    "revision",
    "rollout_status",
    "set_condition",
    "set_deployment_revision",
    "set_new_replica_set_annotations",
    "set_replicas_annotations",
    "slow_start_batches",
    "sort_by_creation",
    "spec_replicas",
]

Obj = dict[str, Any]

REVISION_ANNOTATION: Final = "deployment.kubernetes.io/revision"
REVISION_HISTORY_ANNOTATION: Final = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS_ANNOTATION: Final = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION: Final = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED_ANNOTATION: Final = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO_ANNOTATION: Final = "deprecated.deployment.rollback.to"
POD_DELETION_COST_ANNOTATION: Final = "controller.kubernetes.io/pod-deletion-cost"
POD_TEMPLATE_HASH_LABEL: Final = "pod-template-hash"
#: limit revision history length to 100 elements (~2000 chars), as upstream
MAX_REV_HISTORY_CHARS: Final = 2000
MAX_INT32: Final = 2**31 - 1

PROGRESSING: Final = "Progressing"
AVAILABLE: Final = "Available"
REPLICA_FAILURE: Final = "ReplicaFailure"

# Progressing / Available reasons (deployment_util.go).
REPLICA_SET_UPDATED_REASON: Final = "ReplicaSetUpdated"
FAILED_RS_CREATE_REASON: Final = "ReplicaSetCreateError"
NEW_REPLICA_SET_REASON: Final = "NewReplicaSetCreated"
FOUND_NEW_RS_REASON: Final = "FoundNewReplicaSet"
NEW_RS_AVAILABLE_REASON: Final = "NewReplicaSetAvailable"
TIMED_OUT_REASON: Final = "ProgressDeadlineExceeded"
PAUSED_DEPLOY_REASON: Final = "DeploymentPaused"
RESUMED_DEPLOY_REASON: Final = "DeploymentResumed"
MINIMUM_REPLICAS_AVAILABLE: Final = "MinimumReplicasAvailable"
MINIMUM_REPLICAS_UNAVAILABLE: Final = "MinimumReplicasUnavailable"

_ANNOTATIONS_TO_SKIP: Final = frozenset(
    {
        LAST_APPLIED_ANNOTATION,
        REVISION_ANNOTATION,
        REVISION_HISTORY_ANNOTATION,
        DESIRED_REPLICAS_ANNOTATION,
        MAX_REPLICAS_ANNOTATION,
        ROLLBACK_TO_ANNOTATION,
    }
)
# utilrand.SafeEncodeString's alphabet: no vowels, no 0/1/3 (no bad words, no confusion).
_HASH_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
_ZERO_TIME: Final = datetime.min.replace(tzinfo=UTC)
_POD_PHASE_ORDINAL: Final = {"Pending": 0, "Unknown": 1, "Running": 2}
SLOW_START_INITIAL_BATCH: Final = 1


# ======================================================================= small accessors


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _status(obj: Mapping[str, Any]) -> dict[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, dict) else {}


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    found = _meta(obj).get("annotations")
    return found if isinstance(found, dict) else {}


def spec_replicas(obj: Mapping[str, Any] | None) -> int:
    """`*spec.replicas` (the API server defaults it to 1; a missing value reads as 1)."""
    if obj is None:
        return 0
    value = _spec(obj).get("replicas")
    return 1 if value is None else int(value)


def status_int(obj: Mapping[str, Any] | None, key: str) -> int:
    if obj is None:
        return 0
    return int(_status(obj).get(key) or 0)


def parse_time(text: Any) -> datetime | None:
    """An RFC 3339 timestamp (seconds or fractional, Z or offset), or None when unset."""
    if not text or not isinstance(text, str):
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """metav1.Time's wire format: RFC 3339 in UTC, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _creation(obj: Mapping[str, Any]) -> datetime:
    return parse_time(_meta(obj).get("creationTimestamp")) or _ZERO_TIME


def sort_by_creation(replica_sets: Iterable[Obj], *, reverse: bool = False) -> list[Obj]:
    """controller.ReplicaSetsByCreationTimestamp: creation time, then name."""
    return sorted(
        replica_sets, key=lambda rs: (_creation(rs), str(_meta(rs).get("name"))), reverse=reverse
    )


def controller_ref(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """metav1.GetControllerOf: the ownerReference with controller=true."""
    for ref in _meta(obj).get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


# ======================================================================= int-or-percent


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent; ValueError for a malformed value."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        raise ValueError(
            f'invalid value for IntOrString: invalid type: string is not a percentage: "{text}"'
        )
    try:
        percent = int(text[:-1])
    except ValueError:
        raise ValueError(f'invalid value "{text}": not a percentage') from None
    scaled = percent * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


def resolve_fenceposts(
    max_surge_value: Any, max_unavailable_value: Any, desired: int
) -> tuple[int, int]:
    """ResolveFenceposts: surge rounds up, unavailable down; both zero makes unavailable 1."""
    surge = scaled_value(max_surge_value, desired, True)
    unavailable = scaled_value(max_unavailable_value, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def is_rolling_update(deployment: Mapping[str, Any]) -> bool:
    return (_spec(deployment).get("strategy") or {}).get("type") == "RollingUpdate"


def _rolling(deployment: Mapping[str, Any]) -> dict[str, Any]:
    rolling = (_spec(deployment).get("strategy") or {}).get("rollingUpdate")
    return rolling if isinstance(rolling, dict) else {}


def max_unavailable(deployment: Mapping[str, Any]) -> int:
    replicas = spec_replicas(deployment)
    if not is_rolling_update(deployment) or replicas == 0:
        return 0
    rolling = _rolling(deployment)
    _, unavailable = resolve_fenceposts(
        rolling.get("maxSurge"), rolling.get("maxUnavailable"), replicas
    )
    return min(unavailable, replicas)


def min_available(deployment: Mapping[str, Any]) -> int:
    if not is_rolling_update(deployment):
        return 0
    return spec_replicas(deployment) - max_unavailable(deployment)


def max_surge(deployment: Mapping[str, Any]) -> int:
    if not is_rolling_update(deployment):
        return 0
    rolling = _rolling(deployment)
    surge, _ = resolve_fenceposts(
        rolling.get("maxSurge"), rolling.get("maxUnavailable"), spec_replicas(deployment)
    )
    return surge


def has_progress_deadline(deployment: Mapping[str, Any]) -> bool:
    deadline = _spec(deployment).get("progressDeadlineSeconds")
    return deadline is not None and int(deadline) != MAX_INT32


def has_revision_history_limit(deployment: Mapping[str, Any]) -> bool:
    limit = _spec(deployment).get("revisionHistoryLimit")
    return limit is not None and int(limit) != MAX_INT32


# ======================================================================= replica set sets


def filter_active_replica_sets(replica_sets: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in replica_sets if rs is not None and spec_replicas(rs) > 0]


def replica_count(replica_sets: Iterable[Obj | None]) -> int:
    return sum(spec_replicas(rs) for rs in replica_sets if rs is not None)


def actual_replica_count(replica_sets: Iterable[Obj | None]) -> int:
    return sum(status_int(rs, "replicas") for rs in replica_sets if rs is not None)


def ready_replica_count(replica_sets: Iterable[Obj | None]) -> int:
    return sum(status_int(rs, "readyReplicas") for rs in replica_sets if rs is not None)


def available_replica_count(replica_sets: Iterable[Obj | None]) -> int:
    return sum(status_int(rs, "availableReplicas") for rs in replica_sets if rs is not None)


def _template_without_hash(template: Any) -> Any:
    copied = copy.deepcopy(template) if isinstance(template, dict) else {}
    labels = (copied.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    return copied


def equal_ignore_hash(template1: Any, template2: Any) -> bool:
    """EqualIgnoreHash: semantic equality (null == {} == []) without pod-template-hash."""
    return semantic_equal(_template_without_hash(template1), _template_without_hash(template2))


def find_new_replica_set(deployment: Mapping[str, Any], rs_list: Iterable[Obj]) -> Obj | None:
    """FindNewReplicaSet: the oldest RS whose template equals the Deployment's."""
    template = _spec(deployment).get("template")
    for rs in sort_by_creation(rs_list):
        if equal_ignore_hash(_spec(rs).get("template"), template):
            return rs
    return None


def find_old_replica_sets(
    deployment: Mapping[str, Any], rs_list: Sequence[Obj]
) -> tuple[list[Obj], list[Obj]]:
    """FindOldReplicaSets: (old RSs with pods, every old RS)."""
    new_rs = find_new_replica_set(deployment, rs_list)
    new_uid = _meta(new_rs).get("uid") if new_rs is not None else None
    all_old: list[Obj] = []
    required: list[Obj] = []
    for rs in rs_list:
        if new_rs is not None and (rs is new_rs or _meta(rs).get("uid") == new_uid):
            continue
        all_old.append(rs)
        if spec_replicas(rs) != 0:
            required.append(rs)
    return required, all_old


def find_active_or_latest(new_rs: Obj | None, old_rss: Sequence[Obj]) -> Obj | None:
    """FindActiveOrLatest: the only active RS, else the newest one when none is active."""
    if new_rs is None and not old_rss:
        return None
    newest_first = sort_by_creation(old_rss, reverse=True)
    active = filter_active_replica_sets([*newest_first, new_rs])
    if not active:
        return new_rs if new_rs is not None else newest_first[0]
    return active[0] if len(active) == 1 else None


# ======================================================================= revisions and annotations


def revision(obj: Mapping[str, Any]) -> int:
    """Revision: the revision annotation as an int (0 when absent); ValueError if malformed."""
    value = annotations_of(obj).get(REVISION_ANNOTATION)
    if value is None:
        return 0
    return int(str(value))


def _revision_or_none(obj: Mapping[str, Any]) -> int | None:
    try:
        return revision(obj)
    except ValueError:
        return None


def max_revision(replica_sets: Iterable[Obj]) -> int:
    """MaxRevision: unparseable revisions are skipped."""
    found = [_revision_or_none(rs) for rs in replica_sets]
    return max((v for v in found if v is not None), default=0)


def set_deployment_revision(deployment: Obj, revision_text: str) -> bool:
    meta = deployment.setdefault("metadata", {})
    current = meta.setdefault("annotations", {})
    if current.get(REVISION_ANNOTATION) != revision_text:
        current[REVISION_ANNOTATION] = revision_text
        return True
    return False


def _copy_deployment_annotations(deployment: Mapping[str, Any], rs: Obj) -> bool:
    rs_annotations = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for key, value in annotations_of(deployment).items():
        if key in _ANNOTATIONS_TO_SKIP or rs_annotations.get(key) == value:
            continue
        rs_annotations[key] = value
        changed = True
    return changed


def set_replicas_annotations(rs: Obj, desired: int, maximum: int) -> bool:
    rs_annotations = rs.setdefault("metadata", {}).setdefault("annotations", {})
    updated = False
    for key, value in ((DESIRED_REPLICAS_ANNOTATION, desired), (MAX_REPLICAS_ANNOTATION, maximum)):
        if rs_annotations.get(key) != str(value):
            rs_annotations[key] = str(value)
            updated = True
    return updated


def replicas_annotations_need_update(rs: Mapping[str, Any], desired: int, maximum: int) -> bool:
    current = _meta(rs).get("annotations")
    if not isinstance(current, dict):
        return True
    return current.get(DESIRED_REPLICAS_ANNOTATION) != str(desired) or current.get(
        MAX_REPLICAS_ANNOTATION
    ) != str(maximum)


def _int_annotation(rs: Mapping[str, Any], key: str) -> int | None:
    value = annotations_of(rs).get(key)
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def desired_replicas_annotation(rs: Mapping[str, Any]) -> int | None:
    return _int_annotation(rs, DESIRED_REPLICAS_ANNOTATION)


def set_new_replica_set_annotations(
    deployment: Mapping[str, Any],
    rs: Obj,
    new_revision: str,
    exists: bool,
    history_limit_chars: int = MAX_REV_HISTORY_CHARS,
) -> bool:
    """SetNewReplicaSetAnnotations: copy annotations, raise the revision (recording the old one
    in revision-history), and for a new RS set desired/max replicas. True if anything changed."""
    changed = _copy_deployment_annotations(deployment, rs)
    rs_annotations = rs.setdefault("metadata", {}).setdefault("annotations", {})
    had_revision = REVISION_ANNOTATION in rs_annotations
    old_revision = str(rs_annotations.get(REVISION_ANNOTATION, ""))
    try:
        old_int = int(old_revision) if old_revision else 0
    except ValueError:
        return False
    try:
        new_int = int(new_revision)
    except ValueError:
        return False
    if old_int < new_int:
        rs_annotations[REVISION_ANNOTATION] = new_revision
        changed = True
    if had_revision and old_int < new_int:
        history = str(rs_annotations.get(REVISION_HISTORY_ANNOTATION, ""))
        old_revisions = history.split(",")
        if not old_revisions[0]:
            rs_annotations[REVISION_HISTORY_ANNOTATION] = old_revision
        else:
            total = len(history) + len(old_revision) + 1
            start = 0
            while total > history_limit_chars and start < len(old_revisions):
                total -= len(old_revisions[start]) + 1
                start += 1
            if total <= history_limit_chars:
                rs_annotations[REVISION_HISTORY_ANNOTATION] = ",".join(
                    [*old_revisions[start:], old_revision]
                )
    replicas = spec_replicas(deployment)
    if not exists and set_replicas_annotations(rs, replicas, replicas + max_surge(deployment)):
        changed = True
    return changed


def is_saturated(deployment: Mapping[str, Any], rs: Mapping[str, Any] | None) -> bool:
    if rs is None:
        return False
    desired = desired_replicas_annotation(rs)
    if desired is None:
        return False
    replicas = spec_replicas(deployment)
    return (
        spec_replicas(rs) == replicas
        and desired == replicas
        and status_int(rs, "availableReplicas") == replicas
    )


def pod_template_hash(template: Mapping[str, Any], collision_count: int | None) -> str:
    """controller.ComputeHash's role: FNV-32a over a canonical dump of the template (plus the
    collision count), encoded as upstream's SafeEncodeString does with the decimal digits."""
    hasher = 0x811C9DC5
    dump = json.dumps(template, sort_keys=True, separators=(",", ":"))
    if collision_count is not None:
        dump += f"|{collision_count}"
    for byte in dump.encode():
        hasher ^= byte
        hasher = (hasher * 0x01000193) & 0xFFFFFFFF
    return "".join(_HASH_ALPHABET[int(d) % len(_HASH_ALPHABET)] for d in str(hasher))


# ======================================================================= scaling arithmetic


def new_rs_new_replicas(
    deployment: Mapping[str, Any], all_rss: Iterable[Obj | None], new_rs: Obj
) -> int:
    """NewRSNewReplicas: how far the new RS may grow now."""
    kind = (_spec(deployment).get("strategy") or {}).get("type")
    replicas = spec_replicas(deployment)
    if kind == "RollingUpdate":
        surge = scaled_value(_rolling(deployment).get("maxSurge"), replicas, True)
        current = replica_count(all_rss)
        max_total = replicas + surge
        if current >= max_total:
            return spec_replicas(new_rs)
        scale_up = min(max_total - current, replicas - spec_replicas(new_rs))
        return spec_replicas(new_rs) + scale_up
    if kind == "Recreate":
        return replicas
    raise ValueError(f"deployment type {kind} isn't supported")


def _replica_set_fraction(rs: Mapping[str, Any], deployment: Mapping[str, Any]) -> int:
    if spec_replicas(deployment) == 0:
        return -spec_replicas(rs)
    deployment_replicas = spec_replicas(deployment) + max_surge(deployment)
    annotated = _int_annotation(rs, MAX_REPLICAS_ANNOTATION)
    if annotated is None:
        annotated = status_int(deployment, "replicas")
    if annotated == 0:
        # Go's float division by zero gives ±Inf, which saturates in RoundToInt32.
        return MAX_INT32 - spec_replicas(rs)
    size = spec_replicas(rs) * deployment_replicas / annotated
    return _round_half_away(size) - spec_replicas(rs)


def _round_half_away(value: float) -> int:
    """integer.RoundToInt32 uses math.Round: halves away from zero (Python rounds to even)."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def get_proportion(
    rs: Mapping[str, Any] | None, deployment: Mapping[str, Any], to_add: int, added: int
) -> int:
    """GetProportion: this RS's share of `to_add`, never more than what is left."""
    if rs is None or spec_replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _replica_set_fraction(rs, deployment)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def proportional_scale_plan(
    deployment: Mapping[str, Any], new_rs: Obj | None, old_rss: Sequence[Obj]
) -> list[tuple[Obj, int, str]]:
    """DeploymentController.scale as a plan: (rs, new size, "up"/"down") in the order upstream
    calls scaleReplicaSet. Each step updates the RS when its size or its desired/max-replicas
    annotations differ."""
    replicas = spec_replicas(deployment)
    active_or_latest = find_active_or_latest(new_rs, old_rss)
    if active_or_latest is not None:
        current = spec_replicas(active_or_latest)
        if current == replicas:
            return []
        return [(active_or_latest, replicas, "up" if current < replicas else "down")]
    if is_saturated(deployment, new_rs):
        return [(rs, 0, "down") for rs in filter_active_replica_sets(old_rss)]
    if not is_rolling_update(deployment):
        return []
    active = filter_active_replica_sets([*old_rss, new_rs])
    allowed = replicas + max_surge(deployment) if replicas > 0 else 0
    to_add = allowed - replica_count(active)
    operation = ""
    if to_add > 0:
        # ReplicaSetsBySizeNewer: larger first, newer first on ties.
        active.sort(key=lambda rs: (_creation(rs), str(_meta(rs).get("name"))), reverse=True)
        active.sort(key=lambda rs: -spec_replicas(rs))
        operation = "up"
    elif to_add < 0:
        # ReplicaSetsBySizeOlder: larger first, older first on ties.
        active.sort(key=lambda rs: (_creation(rs), str(_meta(rs).get("name"))))
        active.sort(key=lambda rs: -spec_replicas(rs))
        operation = "down"
    sizes: list[int] = []
    added = 0
    for rs in active:
        if to_add != 0:
            proportion = get_proportion(rs, deployment, to_add, added)
            sizes.append(spec_replicas(rs) + proportion)
            added += proportion
        else:
            sizes.append(spec_replicas(rs))
    if active and to_add != 0:
        sizes[0] = max(0, sizes[0] + to_add - added)
    return [(rs, size, operation) for rs, size in zip(active, sizes, strict=True)]


def reconcile_new_replica_set(
    all_rss: Sequence[Obj | None], new_rs: Obj, deployment: Mapping[str, Any]
) -> int | None:
    """reconcileNewReplicaSet's decision: the new RS's target size, or None to leave it."""
    replicas = spec_replicas(deployment)
    current = spec_replicas(new_rs)
    if current == replicas:
        return None
    if current > replicas:
        return replicas
    target = new_rs_new_replicas(deployment, all_rss, new_rs)
    return None if target == current else target


def _with_replicas(rs: Obj, replicas: int) -> Obj:
    updated = copy.deepcopy(rs)
    updated.setdefault("spec", {})["replicas"] = replicas
    return updated


def cleanup_unhealthy_replicas(
    old_rss: Sequence[Obj], max_cleanup: int
) -> tuple[list[Obj], list[tuple[Obj, int]], int]:
    """cleanupUnhealthyReplicas: scale old RSs (oldest first) down by their unavailable pods.
    Returns (old RSs as they will be, the scaling steps, how many were removed)."""
    ordered = sort_by_creation(old_rss)
    steps: list[tuple[Obj, int]] = []
    total = 0
    for index, rs in enumerate(ordered):
        if total >= max_cleanup:
            break
        current = spec_replicas(rs)
        available = status_int(rs, "availableReplicas")
        if current == 0 or current == available:
            continue
        count = min(max_cleanup - total, current - available)
        steps.append((rs, current - count))
        ordered[index] = _with_replicas(rs, current - count)
        total += count
    return ordered, steps, total


def scale_down_old_replica_sets_for_rolling_update(
    all_rss: Sequence[Obj | None], old_rss: Sequence[Obj], deployment: Mapping[str, Any]
) -> list[tuple[Obj, int]]:
    """scaleDownOldReplicaSetsForRollingUpdate: remove available old pods above minAvailable."""
    min_avail = spec_replicas(deployment) - max_unavailable(deployment)
    available = available_replica_count(all_rss)
    if available <= min_avail:
        return []
    budget = available - min_avail
    steps: list[tuple[Obj, int]] = []
    done = 0
    for rs in sort_by_creation(old_rss):
        if done >= budget:
            break
        current = spec_replicas(rs)
        if current == 0:
            continue
        count = min(current, budget - done)
        steps.append((rs, current - count))
        done += count
    return steps


def reconcile_old_replica_sets(
    all_rss: Sequence[Obj | None],
    old_rss: Sequence[Obj],
    new_rs: Obj,
    deployment: Mapping[str, Any],
) -> list[tuple[Obj, int]]:
    """reconcileOldReplicaSets as a plan: cleanup of unhealthy old replicas, then scale-down of
    available ones, both within maxUnavailable. Steps may name one RS twice (apply in order)."""
    if replica_count(old_rss) == 0:
        return []
    min_avail = spec_replicas(deployment) - max_unavailable(deployment)
    new_unavailable = spec_replicas(new_rs) - status_int(new_rs, "availableReplicas")
    max_scaled_down = replica_count(all_rss) - min_avail - new_unavailable
    if max_scaled_down <= 0:
        return []
    cleaned, steps, _ = cleanup_unhealthy_replicas(old_rss, max_scaled_down)
    steps += scale_down_old_replica_sets_for_rolling_update([*cleaned, new_rs], cleaned, deployment)
    return steps


def cleanup_candidates(old_rss: Sequence[Obj], deployment: Mapping[str, Any]) -> list[Obj]:
    """cleanupDeployment: the old RSs to delete beyond revisionHistoryLimit, lowest revision
    first, skipping any with pods, replicas, unobserved changes or a deletionTimestamp."""
    if not has_revision_history_limit(deployment):
        return []
    alive = [rs for rs in old_rss if not _meta(rs).get("deletionTimestamp")]
    diff = len(alive) - int(_spec(deployment)["revisionHistoryLimit"])
    if diff <= 0:
        return []

    def by_revision(a: Obj, b: Obj) -> int:
        ra, rb = _revision_or_none(a), _revision_or_none(b)
        if ra is None or rb is None or ra == rb:
            ka = (_creation(a), str(_meta(a).get("name")))
            kb = (_creation(b), str(_meta(b).get("name")))
            return -1 if ka < kb else (1 if ka > kb else 0)
        return -1 if ra < rb else 1

    ordered = sorted(alive, key=functools.cmp_to_key(by_revision))
    doomed: list[Obj] = []
    for rs in ordered[:diff]:
        if (
            status_int(rs, "replicas") != 0
            or spec_replicas(rs) != 0
            or int(_meta(rs).get("generation") or 0) > status_int(rs, "observedGeneration")
            or _meta(rs).get("deletionTimestamp")
        ):
            continue
        doomed.append(rs)
    return doomed


def old_pods_running(
    new_rs: Mapping[str, Any] | None,
    old_rss: Sequence[Obj],
    pod_map: Mapping[str, Sequence[Obj]],
) -> bool:
    """oldPodsRunning (Recreate): old RSs report pods, or an old RS owns a non-terminal pod."""
    if actual_replica_count(old_rss) > 0:
        return True
    new_uid = _meta(new_rs).get("uid") if new_rs is not None else None
    for rs_uid, pods in pod_map.items():
        if new_uid is not None and rs_uid == new_uid:
            continue
        for pod in pods:
            if _status(pod).get("phase") not in ("Failed", "Succeeded"):
                return True
    return False


# ======================================================================= conditions


def new_condition(type_: str, status: str, reason: str, message: str, now: datetime) -> Obj:
    stamp = format_time(now)
    return {
        "type": type_,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def get_condition(status: Mapping[str, Any], type_: str) -> Obj | None:
    for condition in status.get("conditions") or ():
        if isinstance(condition, dict) and condition.get("type") == type_:
            return condition
    return None


def set_condition(status: Obj, condition: Obj) -> None:
    """SetDeploymentCondition: no-op when status and reason are unchanged; lastTransitionTime
    kept while the status stays the same."""
    current = get_condition(status, str(condition["type"]))
    if (
        current is not None
        and current.get("status") == condition.get("status")
        and current.get("reason") == condition.get("reason")
    ):
        return
    condition = dict(condition)
    if current is not None and current.get("status") == condition.get("status"):
        condition["lastTransitionTime"] = current.get("lastTransitionTime")
    remove_condition(status, str(condition["type"]))
    status.setdefault("conditions", []).append(condition)


def remove_condition(status: Obj, type_: str) -> None:
    kept = [c for c in status.get("conditions") or () if c.get("type") != type_]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def replica_set_to_deployment_condition(condition: Mapping[str, Any]) -> Obj:
    return {
        "type": condition.get("type"),
        "status": condition.get("status"),
        "lastUpdateTime": condition.get("lastTransitionTime"),
        "lastTransitionTime": condition.get("lastTransitionTime"),
        "reason": condition.get("reason"),
        "message": condition.get("message"),
    }


# ======================================================================= status and progress


def _put(status: Obj, key: str, value: int) -> None:
    # DeploymentStatus fields are omitempty: zero values are not serialised.
    if value:
        status[key] = value
    else:
        status.pop(key, None)


def calculate_status(
    all_rss: Sequence[Obj | None], new_rs: Obj | None, deployment: Mapping[str, Any], now: datetime
) -> Obj:
    """calculateStatus: counts from the RSs and the Available condition."""
    available = available_replica_count(all_rss)
    unavailable = max(0, replica_count(all_rss) - available)
    old = _status(deployment)
    status: Obj = {}
    _put(status, "observedGeneration", int(_meta(deployment).get("generation") or 0))
    _put(status, "replicas", actual_replica_count(all_rss))
    _put(status, "updatedReplicas", actual_replica_count([new_rs]))
    _put(status, "readyReplicas", ready_replica_count(all_rss))
    _put(status, "availableReplicas", available)
    _put(status, "unavailableReplicas", unavailable)
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if old.get("conditions"):
        status["conditions"] = [dict(c) for c in old["conditions"]]
    if available >= spec_replicas(deployment) - max_unavailable(deployment):
        set_condition(
            status,
            new_condition(
                AVAILABLE,
                "True",
                MINIMUM_REPLICAS_AVAILABLE,
                "Deployment has minimum availability.",
                now,
            ),
        )
    else:
        set_condition(
            status,
            new_condition(
                AVAILABLE,
                "False",
                MINIMUM_REPLICAS_UNAVAILABLE,
                "Deployment does not have minimum availability.",
                now,
            ),
        )
    return status


def deployment_complete(deployment: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    replicas = spec_replicas(deployment)
    return (
        int(status.get("updatedReplicas") or 0) == replicas
        and int(status.get("replicas") or 0) == replicas
        and int(status.get("availableReplicas") or 0) == replicas
        and int(status.get("observedGeneration") or 0)
        >= int(_meta(deployment).get("generation") or 0)
    )


def deployment_progressing(deployment: Mapping[str, Any], new_status: Mapping[str, Any]) -> bool:
    old = _status(deployment)

    def num(status: Mapping[str, Any], key: str) -> int:
        return int(status.get(key) or 0)

    old_old = num(old, "replicas") - num(old, "updatedReplicas")
    new_old = num(new_status, "replicas") - num(new_status, "updatedReplicas")
    return (
        num(new_status, "updatedReplicas") > num(old, "updatedReplicas")
        or new_old < old_old
        or num(new_status, "readyReplicas") > num(old, "readyReplicas")
        or num(new_status, "availableReplicas") > num(old, "availableReplicas")
    )


def _deadline_real(deployment: Mapping[str, Any], time_scale: TimeScale) -> float:
    return time_scale.real(float(_spec(deployment).get("progressDeadlineSeconds") or 0))


def deployment_timed_out(
    deployment: Mapping[str, Any],
    new_status: Mapping[str, Any],
    now: datetime,
    time_scale: TimeScale,
) -> bool:
    """DeploymentTimedOut: lastUpdateTime + progressDeadlineSeconds is before now."""
    if not has_progress_deadline(deployment):
        return False
    condition = get_condition(new_status, PROGRESSING)
    if condition is None:
        return False
    if condition.get("reason") == NEW_RS_AVAILABLE_REASON:
        return False
    if condition.get("reason") == TIMED_OUT_REASON:
        return True
    since = parse_time(condition.get("lastUpdateTime")) or _ZERO_TIME
    return (now - since).total_seconds() > _deadline_real(deployment, time_scale)


def rollout_status(
    deployment: Mapping[str, Any],
    all_rss: Sequence[Obj | None],
    new_rs: Obj | None,
    now: datetime,
    time_scale: TimeScale,
) -> Obj:
    """syncRolloutStatus's new status: counts, Available, Progressing and ReplicaFailure."""
    status = calculate_status(all_rss, new_rs, deployment, now)
    name = _meta(deployment).get("name")
    deadline = has_progress_deadline(deployment)
    if not deadline:
        remove_condition(status, PROGRESSING)
    current = get_condition(_status(deployment), PROGRESSING)
    complete_already = (
        int(status.get("replicas") or 0) == int(status.get("updatedReplicas") or 0)
        and current is not None
        and current.get("reason") == NEW_RS_AVAILABLE_REASON
    )
    subject = (
        f'ReplicaSet "{_meta(new_rs).get("name")}"'
        if new_rs is not None
        else f'Deployment "{name}"'
    )
    if deadline and not complete_already:
        if deployment_complete(deployment, status):
            set_condition(
                status,
                new_condition(
                    PROGRESSING,
                    "True",
                    NEW_RS_AVAILABLE_REASON,
                    f"{subject} has successfully progressed.",
                    now,
                ),
            )
        elif deployment_progressing(deployment, status):
            condition = new_condition(
                PROGRESSING, "True", REPLICA_SET_UPDATED_REASON, f"{subject} is progressing.", now
            )
            if current is not None:
                if current.get("status") == "True":
                    condition["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(status, PROGRESSING)
            set_condition(status, condition)
        elif deployment_timed_out(deployment, status, now, time_scale):
            set_condition(
                status,
                new_condition(
                    PROGRESSING,
                    "False",
                    TIMED_OUT_REASON,
                    f"{subject} has timed out progressing.",
                    now,
                ),
            )
    failures = replica_failures(all_rss, new_rs)
    if failures:
        set_condition(status, failures[0])
    else:
        remove_condition(status, REPLICA_FAILURE)
    return status


def replica_failures(all_rss: Sequence[Obj | None], new_rs: Obj | None) -> list[Obj]:
    """getReplicaFailures: the new RS's ReplicaFailure conditions, else any RS's."""
    sources = [new_rs] if new_rs is not None else []
    for group in (sources, list(all_rss)):
        found = [
            replica_set_to_deployment_condition(c)
            for rs in group
            if rs is not None
            for c in _status(rs).get("conditions") or ()
            if c.get("type") == REPLICA_FAILURE
        ]
        if found:
            return found
    return []


def requeue_stuck_deployment(
    deployment: Mapping[str, Any],
    new_status: Mapping[str, Any],
    now: datetime,
    time_scale: TimeScale,
) -> float | None:
    """requeueStuckDeployment: real seconds until the progress deadline passes (0 when under a
    scaled second, so check now); None when no check is needed."""
    current = get_condition(_status(deployment), PROGRESSING)
    if not has_progress_deadline(deployment) or current is None:
        return None
    if deployment_complete(deployment, new_status) or current.get("reason") == TIMED_OUT_REASON:
        return None
    since = parse_time(current.get("lastUpdateTime")) or _ZERO_TIME
    after = (since - now).total_seconds() + _deadline_real(deployment, time_scale)
    if after < time_scale.real(1.0):
        return 0.0
    return after


# ======================================================================= pods


def _pod_ready_condition(pod: Mapping[str, Any]) -> Obj | None:
    return get_condition(_status(pod), "Ready")


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    condition = _pod_ready_condition(pod)
    return condition is not None and condition.get("status") == "True"


def is_pod_available(
    pod: Mapping[str, Any],
    min_ready_seconds: int,
    now: datetime,
    time_scale: TimeScale | None = None,
) -> bool:
    """IsPodAvailable (newest upstream: lastTransitionTime + minReadySeconds <= now)."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds == 0:
        return True
    condition = _pod_ready_condition(pod) or {}
    since = parse_time(condition.get("lastTransitionTime"))
    if since is None:
        return False
    scale = time_scale or TimeScale()
    return (now - since).total_seconds() >= scale.real(float(min_ready_seconds))


def is_pod_active(pod: Mapping[str, Any]) -> bool:
    return _status(pod).get("phase") not in ("Succeeded", "Failed") and not _meta(pod).get(
        "deletionTimestamp"
    )


def _pod_ready_time(pod: Mapping[str, Any]) -> datetime | None:
    condition = _pod_ready_condition(pod)
    if condition is None or condition.get("status") != "True":
        return None
    return parse_time(condition.get("lastTransitionTime"))


def _max_restarts(pod: Mapping[str, Any]) -> int:
    return max(
        (int(c.get("restartCount") or 0) for c in _status(pod).get("containerStatuses") or ()),
        default=0,
    )


def _deletion_cost(pod: Mapping[str, Any]) -> int:
    try:
        return int(str(annotations_of(pod).get(POD_DELETION_COST_ANNOTATION, "0")))
    except ValueError:
        return 0


def _after_or_zero(t1: datetime | None, t2: datetime | None) -> bool:
    if t1 is None or t2 is None:
        return t1 is None
    return t1 > t2


def _log_rank_diff(t1: datetime, t2: datetime, now: datetime) -> int:
    def rank(moment: datetime) -> int:
        nanos = (now - moment).total_seconds() * 1e9
        return int(math.log2(nanos)) if nanos > 0 else -1

    return rank(t1) - rank(t2)


def active_pods_less(
    pod_i: Mapping[str, Any],
    rank_i: int,
    pod_j: Mapping[str, Any],
    rank_j: int,
    now: datetime | None,
) -> bool:
    """ActivePodsWithRanks.Less (PodDeletionCost and LogarithmicScaleDown on): True when
    pod_i should be deleted before pod_j."""
    node_i = str(_spec(pod_i).get("nodeName") or "")
    node_j = str(_spec(pod_j).get("nodeName") or "")
    if node_i != node_j and (not node_i or not node_j):
        return not node_i
    phase_i = _POD_PHASE_ORDINAL.get(str(_status(pod_i).get("phase")), 0)
    phase_j = _POD_PHASE_ORDINAL.get(str(_status(pod_j).get("phase")), 0)
    if phase_i != phase_j:
        return phase_i < phase_j
    ready_i, ready_j = is_pod_ready(pod_i), is_pod_ready(pod_j)
    if ready_i != ready_j:
        return not ready_i
    cost_i, cost_j = _deletion_cost(pod_i), _deletion_cost(pod_j)
    if cost_i != cost_j:
        return cost_i < cost_j
    if rank_i != rank_j:
        return rank_i > rank_j
    uid_i, uid_j = str(_meta(pod_i).get("uid") or ""), str(_meta(pod_j).get("uid") or "")
    if ready_i and ready_j:
        time_i, time_j = _pod_ready_time(pod_i), _pod_ready_time(pod_j)
        if time_i != time_j:
            if now is None or time_i is None or time_j is None:
                return _after_or_zero(time_i, time_j)
            diff = _log_rank_diff(time_i, time_j, now)
            return uid_i < uid_j if diff == 0 else diff < 0
    restarts_i, restarts_j = _max_restarts(pod_i), _max_restarts(pod_j)
    if restarts_i != restarts_j:
        return restarts_i > restarts_j
    created_i = parse_time(_meta(pod_i).get("creationTimestamp"))
    created_j = parse_time(_meta(pod_j).get("creationTimestamp"))
    if created_i != created_j:
        if now is None or created_i is None or created_j is None:
            return _after_or_zero(created_i, created_j)
        diff = _log_rank_diff(created_i, created_j, now)
        return uid_i < uid_j if diff == 0 else diff < 0
    return False


def pods_to_delete(
    pods: Sequence[Obj], related_pods: Sequence[Obj], diff: int, now: datetime | None
) -> list[Obj]:
    """getPodsToDelete: rank by active related pods on the same node, then sort by Less."""
    if diff >= len(pods):
        return list(pods[:diff])
    on_node: dict[str, int] = {}
    for pod in related_pods:
        if is_pod_active(pod):
            node = str(_spec(pod).get("nodeName") or "")
            on_node[node] = on_node.get(node, 0) + 1
    ranked = [(pod, on_node.get(str(_spec(pod).get("nodeName") or ""), 0)) for pod in pods]

    def compare(a: tuple[Obj, int], b: tuple[Obj, int]) -> int:
        if active_pods_less(a[0], a[1], b[0], b[1], now):
            return -1
        if active_pods_less(b[0], b[1], a[0], a[1], now):
            return 1
        return 0

    ranked.sort(key=functools.cmp_to_key(compare))
    return [pod for pod, _ in ranked[:diff]]


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH) -> list[int]:
    """slowStartBatch's batch sizes: initial, then doubling, capped by what remains."""
    sizes: list[int] = []
    remaining = count
    size = min(remaining, initial)
    while size > 0:
        sizes.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return sizes
