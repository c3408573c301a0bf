"""Following a Deployment's rollout by its conditions, as `kubectl rollout status` does,
failing fast on ProgressDeadlineExceeded or a new pod that cannot run (CrashLoopBackOff...).

The evaluation (`rollout_state`) is a pure function of the Deployment and its new pods;
`RolloutWatch` polls the API with one deadline and returns the final state.
"""

from __future__ import annotations

import copy
import enum
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness._wait import Deadline
from harness.deploy._kube import JSON, KubeApi

__all__ = [
    "REVISION_ANNOTATION",
    "RolloutFailure",
    "RolloutState",
    "RolloutWatch",
    "find_new_replica_set",
    "owned_replica_sets",
    "revision",
    "rollout_state",
    "templates_equal",
]

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"


class RolloutFailure(enum.Enum):
    """Why a rollout will not complete by waiting longer."""

    PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
    CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
    IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
    ERR_IMAGE_PULL = "ErrImagePull"
    INVALID_IMAGE_NAME = "InvalidImageName"
    CREATE_CONTAINER_ERROR = "CreateContainerError"
    CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
    REPLICA_FAILURE = "ReplicaFailure"  # the ReplicaSet cannot create pods (quota, admission)
    TIMEOUT = "Timeout"  # our own deadline passed first
    DELETED = "Deleted"  # the Deployment went away while we watched


#: container waiting reasons that waiting longer does not cure
FATAL_WAITING_REASONS: Mapping[str, RolloutFailure] = {
    failure.value: failure
    for failure in (
        RolloutFailure.CRASH_LOOP_BACK_OFF,
        RolloutFailure.IMAGE_PULL_BACK_OFF,
        RolloutFailure.ERR_IMAGE_PULL,
        RolloutFailure.INVALID_IMAGE_NAME,
        RolloutFailure.CREATE_CONTAINER_ERROR,
        RolloutFailure.CREATE_CONTAINER_CONFIG_ERROR,
    )
}


@dataclass(frozen=True)
class RolloutState:
    """One look at a rollout: complete, still going (with kubectl's words), or failed."""

    complete: bool
    message: str
    failure: RolloutFailure | None = None
    pod: str = ""  # the pod that showed the failure, when a pod did
    updated: int = 0
    available: int = 0
    desired: int = 0

    @property
    def failed(self) -> bool:
        return self.failure is not None


def revision(obj: Mapping[str, Any]) -> int | None:
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _normalised(value: Any) -> Any:
    """Drop None, empty maps and empty lists recursively: `null` and `{}` mean the same."""
    if isinstance(value, Mapping):
        out = {k: _normalised(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    return value


def templates_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Pod templates equal once the pod-template-hash label is dropped (EqualIgnoreHash)."""
    left, right = copy.deepcopy(dict(a)), copy.deepcopy(dict(b))
    for template in (left, right):
        labels = (template.get("metadata") or {}).get("labels")
        if isinstance(labels, dict):
            labels.pop(HASH_LABEL, None)
        (template.get("metadata") or {}).pop("creationTimestamp", None)
    return bool(_normalised(left) == _normalised(right))


def selector_string(selector: Mapping[str, Any]) -> str:
    """A label selector query from `matchLabels` (and `In`/`Exists` expressions)."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = ",".join(expression.get("values") or [])
        parts.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }[operator]
        )
    return ",".join(parts)


def owned_replica_sets(deployment: Mapping[str, Any], replica_sets: Sequence[JSON]) -> list[JSON]:
    """The ReplicaSets whose controller ownerRef is this Deployment (by uid), oldest first."""
    uid = deployment["metadata"].get("uid")
    owned = [
        rs
        for rs in replica_sets
        if any(
            ref.get("controller") and ref.get("uid") == uid
            for ref in rs["metadata"].get("ownerReferences") or []
        )
    ]
    return sorted(
        owned,
        key=lambda rs: (rs["metadata"].get("creationTimestamp") or "", rs["metadata"]["name"]),
    )


def find_new_replica_set(
    deployment: Mapping[str, Any], replica_sets: Sequence[JSON]
) -> JSON | None:
    """The oldest owned ReplicaSet whose template is the Deployment's (FindNewReplicaSet)."""
    template = deployment["spec"]["template"]
    for rs in owned_replica_sets(deployment, replica_sets):
        if templates_equal(rs["spec"]["template"], template):
            return rs
    return None


def _condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition  # type: ignore[no-any-return]
    return None


def pod_failure(pod: Mapping[str, Any]) -> tuple[RolloutFailure, str] | None:
    """A container of `pod` waiting for a reason that waiting does not cure, and its message."""
    status = pod.get("status") or {}
    for container in [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]:
        waiting = (container.get("state") or {}).get("waiting") or {}
        failure = FATAL_WAITING_REASONS.get(str(waiting.get("reason", "")))
        if failure is not None:
            message = str(waiting.get("message") or "")
            last = (container.get("lastState") or {}).get("terminated") or {}
            if last:
                message += (
                    f" (last exit code {last.get('exitCode')}"
                    + (f": {last.get('message')}" if last.get("message") else "")
                    + ")"
                )
            return failure, f"container {container.get('name')}: {failure.value}: {message}".strip()
    return None


def rollout_state(
    deployment: Mapping[str, Any], new_pods: Sequence[Mapping[str, Any]]
) -> RolloutState:
    """kubectl's DeploymentStatusViewer, plus the fail-fast checks on the new pods."""
    name = deployment["metadata"]["name"]
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    desired = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas", 0))
    replicas = int(status.get("replicas", 0))
    available = int(status.get("availableReplicas", 0))

    def state(
        complete: bool, message: str, failure: RolloutFailure | None = None, pod: str = ""
    ) -> RolloutState:
        return RolloutState(complete, message, failure, pod, updated, available, desired)

    for pod in new_pods:
        found = pod_failure(pod)
        if found is not None:
            failure, message = found
            return state(
                False,
                f"pod {pod['metadata']['name']} of the new ReplicaSet: {message}",
                failure,
                pod["metadata"]["name"],
            )
    generation = int(deployment["metadata"].get("generation", 0))
    if generation > int(status.get("observedGeneration", 0)):
        return state(False, "Waiting for deployment spec update to be observed...")
    progressing = _condition(deployment, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return state(
            False,
            f'deployment "{name}" exceeded its progress deadline: {progressing.get("message", "")}',
            RolloutFailure.PROGRESS_DEADLINE_EXCEEDED,
        )
    replica_failure = _condition(deployment, "ReplicaFailure")
    if replica_failure and replica_failure.get("status") == "True":
        return state(
            False,
            f"{replica_failure.get('reason')}: {replica_failure.get('message', '')}",
            RolloutFailure.REPLICA_FAILURE,
        )
    if updated < desired:
        message = (
            f'Waiting for deployment "{name}" rollout to finish: {updated} out of {desired} '
            "new replicas have been updated..."
        )
    elif replicas > updated:
        message = (
            f'Waiting for deployment "{name}" rollout to finish: {replicas - updated} old '
            "replicas are pending termination..."
        )
    elif available < updated:
        message = (
            f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} '
            "updated replicas are available..."
        )
    else:
        return state(True, f'deployment "{name}" successfully rolled out')
    return state(False, message)


class RolloutWatch:
    """Polls one Deployment until its rollout completes or fails, within one deadline."""

    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        name: str,
        *,
        interval: float = 0.1,
        on_change: Callable[[RolloutState], None] | None = None,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.interval = interval
        self.on_change = on_change
        self.states: list[RolloutState] = []

    def observe(self) -> RolloutState:
        deployment = self.api.find("Deployment", self.namespace, self.name)
        if deployment is None:
            return RolloutState(
                False, f"deployment {self.name} was deleted", RolloutFailure.DELETED
            )
        new_pods: list[JSON] = []
        generation = int(deployment["metadata"].get("generation", 0))
        observed = int((deployment.get("status") or {}).get("observedGeneration", 0))
        if observed >= generation:
            selector = selector_string(deployment["spec"]["selector"])
            replica_sets = self.api.list("ReplicaSet", self.namespace, labels=selector)
            new_rs = find_new_replica_set(deployment, replica_sets)
            if new_rs is not None:
                pod_hash = (new_rs["metadata"].get("labels") or {}).get(HASH_LABEL, "")
                labels = selector + (f",{HASH_LABEL}={pod_hash}" if pod_hash else "")
                new_pods = self.api.list("Pod", self.namespace, labels=labels)
        return rollout_state(deployment, new_pods)

    def wait(self, deadline: Deadline) -> RolloutState:
        """The first complete or failed state; TIMEOUT when the deadline passes first."""
        state: RolloutState | None = None
        while True:
            state = self.observe()
            if not self.states or self.states[-1].message != state.message:
                self.states.append(state)
                if self.on_change is not None:
                    self.on_change(state)
            if state.complete or state.failed:
                return state
            if deadline.expired():
                return RolloutState(
                    False,
                    f"timed out after {deadline.elapsed():.1f}s: {state.message}",
                    RolloutFailure.TIMEOUT,
                    updated=state.updated,
                    available=state.available,
                    desired=state.desired,
                )
            time.sleep(min(self.interval, deadline.remaining()))
