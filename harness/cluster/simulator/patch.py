"""PATCH bodies applied to stored objects: the entry point for every patch type, with JSON
patch (RFC 6902) and merge patch (RFC 7386) here and strategic merge in strategicmerge.py.

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
    merge_patch(target, patch) -> value                 RFC 7386
    Strategic merge is driven by x-kubernetes-patch-merge-key / -patch-strategy /
    x-kubernetes-list-map-keys from the kubernetes-validate package's schemas (schemas.py).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import jsonpointer

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.patcherrors import go_json_kind, invalid_patch
from harness.cluster.simulator.registry import ResourceType
from harness.cluster.simulator.schemas import kind_schema
from harness.cluster.simulator.strategicmerge import drop_directive_keys, strategic_merge_patch

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
    schema = None
    if patch_type == STRATEGIC_MERGE_PATCH:
        schema = kind_schema(rt.group, rt.version, rt.kind)
        if schema is None:
            # A kind without a Go struct has no patch metadata: like a custom resource.
            raise _unsupported_media_type(rt, strategic=False)
    document = _decode(body)
    if patch_type == JSON_PATCH:
        return _json_patch(obj, document)
    if patch_type == MERGE_PATCH:
        if not isinstance(document, dict):
            # evanphx/json-patch MergePatch: ErrBadJSONPatch -> 400
            raise ApiError(400, "BadRequest", "Invalid JSON Patch")
        result = merge_patch(obj, document)
        assert isinstance(result, dict)
        return result
    assert schema is not None
    if not isinstance(document, dict):
        # apiserver strategicPatchObject: unmarshal into map[string]interface{} fails -> 400
        raise ApiError(
            400,
            "BadRequest",
            f"json: cannot unmarshal {go_json_kind(document)} into Go value of type "
            "map[string]interface {}",
        )
    result = strategic_merge_patch(obj, document, schema)
    if b'"$' in body:
        # The apiserver decodes the merged map into the Go struct, which drops directive
        # keys a patch left behind (e.g. inside a replaced list); we have no struct.
        drop_directive_keys(result)
    return result


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
    # apiserver installer.go: json, merge, strategic (built-ins only), apply; the CRD
    # handler (apiextensions customresource_handler.go) leaves strategic out.
    if rt.custom:
        return (JSON_PATCH, MERGE_PATCH, APPLY_PATCH)
    return (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)


def _unsupported_media_type(rt: ResourceType, *, strategic: bool = True) -> ApiError:
    # negotiation.NewUnsupportedMediaTypeError(patchTypes)
    accepted = [t for t in _accepted_types(rt) if strategic or t != STRATEGIC_MERGE_PATCH]
    if not rt.custom and strategic:
        accepted.remove(APPLY_PATCH)  # we do not serve it to built-ins yet; don't offer it
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted),
    )


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        # apiserver validateAndTranscodePatch: json.Valid fails -> 400 "invalid JSON patch"
        raise ApiError(400, "BadRequest", "invalid JSON patch") from None


def _json_patch(obj: dict[str, Any], operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list):
        # evanphx DecodePatch fails to unmarshal into []Operation -> 400
        raise ApiError(
            400,
            "BadRequest",
            f"json: cannot unmarshal {go_json_kind(operations)} into Go value of type "
            "jsonpatch.Patch",
        )
    for op in operations:
        if not isinstance(op, dict):
            raise ApiError(
                400,
                "BadRequest",
                f"json: cannot unmarshal {go_json_kind(op)} into Go value of type "
                "jsonpatch.Operation",
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
        # the generic one: the json-patch error text is not passed through.
        raise invalid_patch() from None
    if not isinstance(result, dict):
        raise invalid_patch()
    return result
