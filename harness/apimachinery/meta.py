"""Object access: metadata, spec and status of an object held as a JSON dict, and nested reads.

Every accessor tolerates a missing or malformed part (it reads as empty), as the API's own
defaulting would have filled it, so callers never branch on `None` for these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "JSON",
    "annotations_of",
    "dig",
    "labels_of",
    "meta",
    "name_of",
    "namespace_of",
    "spec",
    "status",
]

#: an API object (or part of one) decoded from JSON
JSON = dict[str, Any]


def _part(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    """`metadata`, or an empty dict when it is missing."""
    return _part(obj, "metadata")


def spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    """`spec`, or an empty dict when it is missing."""
    return _part(obj, "spec")


def status(obj: Mapping[str, Any]) -> dict[str, Any]:
    """`status`, or an empty dict when it is missing."""
    return _part(obj, "status")


def name_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("name") or "")


def namespace_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("namespace") or "")


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    found = meta(obj).get("labels")
    return found if isinstance(found, dict) else {}


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    found = meta(obj).get("annotations")
    return found if isinstance(found, dict) else {}


def dig(obj: Any, *path: str) -> Any:
    """obj[path[0]][path[1]]...; None as soon as a step is missing or not a mapping."""
    current = obj
    for part in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current
