"""Pod status as podutil reads it: conditions, readiness, and the waits that never end."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from harness.apimachinery.meta import status

__all__ = [
    "FATAL_WAITING_REASONS",
    "container_statuses",
    "get_condition",
    "is_pod_ready",
    "ready_condition",
]

#: container waiting reasons that waiting longer does not cure: a starting workload in one of
#: them has failed (kubectl rollout status would wait out its deadline; we say so at once)
FATAL_WAITING_REASONS: Final = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerError",
        "CreateContainerConfigError",
    }
)


def get_condition(obj_status: Mapping[str, Any], type_: str) -> dict[str, Any] | None:
    """The condition of `type_` in a status' `conditions`, or None."""
    for condition in obj_status.get("conditions") or ():
        if isinstance(condition, dict) and condition.get("type") == type_:
            return condition
    return None


def ready_condition(pod: Mapping[str, Any]) -> dict[str, Any] | None:
    return get_condition(status(pod), "Ready")


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    condition = ready_condition(pod)
    return condition is not None and condition.get("status") == "True"


def container_statuses(pod: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Init container statuses, then the app containers'."""
    pod_status = status(pod)
    for key in ("initContainerStatuses", "containerStatuses"):
        for item in pod_status.get(key) or ():
            if isinstance(item, dict):
                yield item
