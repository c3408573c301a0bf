"""Patch failures as kube-apiserver reports them: the ApiError each one maps to, and Go's
renderings of values and types (fmt's %v, json's type names) that the messages quote.
"""

from __future__ import annotations

from typing import Any

from harness.cluster.simulator.apierrors import ApiError

__all__ = [
    "bad_arg_type",
    "bad_request",
    "go_fmt",
    "go_json_kind",
    "go_type_name",
    "internal",
    "invalid_patch",
    "no_merge_key",
]

#: NewGenericServerResponse's text for a 422: the patch error's own text is not passed on
_INVALID_MESSAGE = "the server rejected our request due to an error in our request"


def invalid_patch() -> ApiError:
    """422 Invalid with the generic message, as patch.go answers a patch it cannot apply."""
    return ApiError(422, "Invalid", _INVALID_MESSAGE)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def internal(message: str) -> ApiError:
    # ErrorToAPIStatus of a plain Go error: 500, reason StatusReasonUnknown (""), its text.
    return ApiError(500, "", message)


def no_merge_key(item: Any, merge_key: str) -> str:
    return f"map: {go_fmt(item)} does not contain declared merge key: {merge_key}"


def bad_arg_type(expected: Any, actual: Any) -> str:
    return f"expected a {go_type_name(expected)}, but received a {go_type_name(actual)}"


def go_type_name(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "string"


def go_json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    return "number"


def go_fmt(value: Any) -> str:
    """fmt's %v of a decoded JSON value, for error messages that quote the patch."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        inner = " ".join(f"{k}:{go_fmt(value[k])}" for k in sorted(value))
        return f"map[{inner}]"
    if isinstance(value, list):
        return "[" + " ".join(go_fmt(v) for v in value) + "]"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        text = repr(value)
        mantissa, _, exponent = text.partition("e")
        if exponent:
            sign = "-" if exponent.startswith("-") else "+"
            return f"{mantissa}e{sign}{exponent.lstrip('+-').zfill(2)}"
        return text
    return str(value)
