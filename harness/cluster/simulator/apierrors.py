"""API errors as the real kube-apiserver reports them: a metav1.Status with reason and causes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "Cause", "already_exists", "conflict", "gone", "invalid", "not_found"]


@dataclass(frozen=True)
class Cause:
    """One field cause of a 422 Invalid: a reason (FieldValueRequired), a message, a field."""

    reason: str
    message: str
    field: str

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


@dataclass
class ApiError(Exception):
    """Raised by the store, strategies and patch code; the HTTP layer renders `status()`."""

    code: int
    reason: str  # NotFound, AlreadyExists, Conflict, Invalid, BadRequest, Gone/Expired, ...
    message: str
    group: str = ""
    kind: str = ""  # the resource plural, as the real server puts in details.kind
    name: str = ""
    causes: list[Cause] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def status(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body


def _resource(group: str, plural: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{_resource(group, plural)} "{name}" not found', group, plural, name
    )


def already_exists(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{_resource(group, plural)} "{name}" already exists',
        group,
        plural,
        name,
    )


def conflict(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_resource(group, plural)} "{name}": '
        "the object has been modified; please apply your changes to the latest version and "
        "try again",
        group,
        plural,
        name,
    )


def invalid(group: str, kind: str, plural: str, name: str, causes: list[Cause]) -> ApiError:
    """422 with the real server's message shape: `Deployment.apps "web" is invalid: [...]`."""
    qualified = f"{kind}.{group}" if group else kind
    parts = [f"{c.field}: {c.message}" for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return ApiError(
        422, "Invalid", f'{qualified} "{name}" is invalid: {joined}', group, kind, name, causes
    )


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)
