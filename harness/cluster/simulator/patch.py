"""PATCH bodies applied to stored objects: JSON patch, merge patch, strategic merge patch.

CONTRACT:
    JSON_PATCH = "application/json-patch+json"
    MERGE_PATCH = "application/merge-patch+json"
    STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
    APPLY_PATCH = "application/apply-patch+yaml"
    apply_patch(obj, patch_type, body: bytes, rt: ResourceType) -> dict
        Returns a new dict; never mutates obj. Errors are ApiError: 400 BadRequest for a
        malformed body, 422 for a json-patch test/path failure as the real server reports
        it, 415 UnsupportedMediaType for apply-patch (server-side apply comes later) and
        for strategic merge on custom resources (as the real server answers).
    Strategic merge is driven by x-kubernetes-patch-merge-key / -patch-strategy /
    x-kubernetes-list-map-keys from the kubernetes-validate package's schemas, with the
    $patch, $setElementOrder, $retainKeys and $deleteFromPrimitiveList directives.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import jsonpointer

from .apierrors import ApiError
from .registry import ResourceType

__all__ = [
    "APPLY_PATCH",
    "JSON_PATCH",
    "MERGE_PATCH",
    "STRATEGIC_MERGE_PATCH",
    "apply_patch",
    "merge_patch",
]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# apiserver pkg/endpoints/handlers/patch.go maxJSONPatchOperations
_MAX_JSON_PATCH_OPERATIONS = 10000


def apply_patch(
    obj: dict[str, Any], patch_type: str, body: bytes, rt: ResourceType
) -> dict[str, Any]:
    """Apply a PATCH request body of content type `patch_type` to `obj` (left untouched)."""
    patch_type = patch_type.split(";", 1)[0].strip()
    if patch_type not in _accepted_types(rt):
        raise _unsupported_media_type(rt)
    if patch_type == APPLY_PATCH:
        # Server-side apply is not served yet; 415 makes kubectl say so plainly.
        raise _unsupported_media_type(rt)
    document = _decode(body)
    if patch_type == JSON_PATCH:
        return _json_patch(obj, document)
    if patch_type == MERGE_PATCH:
        if not isinstance(document, dict):
            # evanphx/json-patch MergePatch: ErrBadJSONPatch -> 400
            raise ApiError(400, "BadRequest", "Invalid JSON Patch")
        return merge_patch(obj, document)
    raise _unsupported_media_type(rt)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch; returns a new value and never mutates its arguments."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _accepted_types(rt: ResourceType) -> tuple[str, ...]:
    # apiserver installer.go lists json, merge, strategic (built-ins only), then apply.
    if rt.custom:
        return (JSON_PATCH, MERGE_PATCH, APPLY_PATCH)
    return (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)


def _unsupported_media_type(rt: ResourceType) -> ApiError:
    # apiserver negotiation.NewUnsupportedMediaTypeError; the list shows what we really serve.
    served = [t for t in _accepted_types(rt) if t != APPLY_PATCH]
    if rt.custom:
        served.append(APPLY_PATCH)  # the real CRD handler's exact message names it
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(served),
    )


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        # apiserver validateAndTranscodePatch: json.Valid fails -> 400 "invalid JSON patch"
        raise ApiError(400, "BadRequest", "invalid JSON patch") from None


def _json_patch(obj: dict[str, Any], operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        # evanphx DecodePatch fails to unmarshal into []Operation -> 400
        raise ApiError(
            400,
            "BadRequest",
            "json: cannot unmarshal " + _go_json_kind(operations) + " into Go value of type "
            "jsonpatch.Patch",
        )
    if len(operations) > _MAX_JSON_PATCH_OPERATIONS:
        raise ApiError(
            413,
            "RequestEntityTooLarge",
            f"The allowed maximum operations in a JSON patch is {_MAX_JSON_PATCH_OPERATIONS}, "
            f"got {len(operations)}",
        )
    try:
        result = jsonpatch.JsonPatch(operations).apply(obj, in_place=False)
    except (
        jsonpatch.JsonPatchException,
        jsonpointer.JsonPointerException,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
    ):
        # patch.go: any Apply error -> NewGenericServerResponse(422, ...), whose message is
        # the generic one (the json-patch error text is not passed through).
        raise ApiError(
            422, "Invalid", "the server rejected our request due to an error in our request"
        ) from None
    if not isinstance(result, dict):
        raise ApiError(400, "BadRequest", "Object 'Kind' is missing in the patched document")
    return result


def _go_json_kind(value: Any) -> str:
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
