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

Also public (used by openapi.py and tests):
    merge_patch(target, patch) -> value                 RFC 7386
    strategic_merge_patch(original, patch, schema) -> dict
        the port of apimachinery strategicpatch.StrategicMergeMapPatch (patch.go, read at
        kubernetes/apimachinery 2026 head); raises ApiError mapped like the apiserver's
        interpretStrategicMergePatchError.
    SchemaNode(definitions, node)                       a position in a schema ($ref-resolving)
    kube_definitions() -> dict[str, dict]               the built-in type schemas, loaded once
    kind_schema(group, version, kind) -> SchemaNode | None
    definition_name(group, version, kind) -> str | None  e.g. "io.k8s.api.apps.v1.Deployment"
    schema_directory() -> Path                          the kubernetes-validate version used
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
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
    "PatchMeta",
    "SchemaNode",
    "apply_patch",
    "definition_name",
    "kind_schema",
    "kube_definitions",
    "merge_patch",
    "schema_directory",
    "strategic_merge_patch",
]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# apiserver pkg/endpoints/handlers/patch.go maxJSONPatchOperations
_MAX_JSON_PATCH_OPERATIONS = 10000
_INVALID_MESSAGE = "the server rejected our request due to an error in our request"

# strategicpatch/patch.go constants
_DIRECTIVE = "$patch"
_DELETE = "delete"
_REPLACE = "replace"
_MERGE = "merge"
_RETAIN_KEYS_STRATEGY = "retainKeys"
_RETAIN_KEYS = "$retainKeys"
_DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
_SET_ELEMENT_ORDER = "$setElementOrder"

# mergepatch/errors.go: the ones apiserver interpretStrategicMergePatchError maps to 400
_ERR_BAD_JSON_DOC = "invalid JSON document"
_ERR_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
_ERR_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
_ERR_BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"
_ERR_UNSUPPORTED_SMP = "strategic merge patch format is not supported"


# --------------------------------------------------------------------------- entry point


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
            f"json: cannot unmarshal {_go_json_kind(document)} into Go value of type "
            "map[string]interface {}",
        )
    result = strategic_merge_patch(obj, document, schema)
    if b'"$' in body:
        # The apiserver decodes the merged map into the Go struct, which drops directive
        # keys a patch left behind (e.g. inside a replaced list); we have no struct.
        _drop_directive_keys(result)
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
            f"json: cannot unmarshal {_go_json_kind(operations)} into Go value of type "
            "jsonpatch.Patch",
        )
    for op in operations:
        if not isinstance(op, dict):
            raise ApiError(
                400,
                "BadRequest",
                f"json: cannot unmarshal {_go_json_kind(op)} into Go value of type "
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
        raise ApiError(422, "Invalid", _INVALID_MESSAGE) from None
    if not isinstance(result, dict):
        raise ApiError(422, "Invalid", _INVALID_MESSAGE)
    return result


def _drop_directive_keys(value: Any) -> None:
    if isinstance(value, dict):
        for key in [k for k in value if isinstance(k, str) and _is_directive_key(k)]:
            del value[key]
        for child in value.values():
            _drop_directive_keys(child)
    elif isinstance(value, list):
        for child in value:
            _drop_directive_keys(child)


def _is_directive_key(key: str) -> bool:
    return key in (_DIRECTIVE, _RETAIN_KEYS) or key.startswith(
        (_SET_ELEMENT_ORDER + "/", _DELETE_FROM_PRIMITIVE_LIST + "/")
    )


# --------------------------------------------------------------------------- schemas

_SCHEMA_ROOT = "kubernetes-json-schema"
_VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local$")


@functools.cache
def schema_directory() -> Path:
    """The newest non-strict kubernetes-validate schema directory (v1.31 or later)."""
    # find_spec, not import: importing kubernetes_validate pulls in jsonschema (~75 ms).
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the kubernetes-validate package is not installed")
    root = Path(next(iter(spec.submodule_search_locations))) / _SCHEMA_ROOT
    versions: list[tuple[tuple[int, int, int], Path]] = []
    for entry in root.iterdir():
        match = _VERSION_DIR.match(entry.name)
        if match and (entry / "_definitions.json").is_file():
            major, minor, patch = (int(g) for g in match.groups())
            versions.append(((major, minor, patch), entry))
    usable = [v for v in versions if v[0] >= (1, 31, 0)]
    if not usable:
        raise RuntimeError(f"no kubernetes-validate schemas for v1.31 or later under {root}")
    return max(usable)[1]


@functools.cache
def kube_definitions() -> dict[str, dict[str, Any]]:
    """All built-in type schemas by OpenAPI name; ~10 ms on first use, then cached."""
    with (schema_directory() / "_definitions.json").open("rb") as handle:
        document = json.load(handle)
    definitions: dict[str, dict[str, Any]] = document["$defs"]
    return definitions


@functools.cache
def _gvk_index() -> dict[tuple[str, str, str], str]:
    index: dict[tuple[str, str, str], str] = {}
    for name, schema in kube_definitions().items():
        gvks = schema.get("x-kubernetes-group-version-kind") or []
        if len(gvks) != 1:  # DeleteOptions, WatchEvent... are shared by every group
            continue
        gvk = gvks[0]
        index.setdefault((gvk.get("group", ""), gvk["version"], gvk["kind"]), name)
    return index


def definition_name(group: str, version: str, kind: str) -> str | None:
    """The OpenAPI definition name of a built-in kind, like io.k8s.api.apps.v1.Deployment."""
    return _gvk_index().get((group, version, kind))


def kind_schema(group: str, version: str, kind: str) -> SchemaNode | None:
    """The schema position of a built-in kind's root object, or None when it has none."""
    name = definition_name(group, version, kind)
    if name is None:
        return None
    definitions = kube_definitions()
    return SchemaNode(definitions, definitions[name])


@dataclass(frozen=True)
class PatchMeta:
    """x-kubernetes-patch-strategy (split on commas) and -patch-merge-key of one field."""

    strategies: tuple[str, ...] = ()
    merge_key: str = ""


_NO_META = PatchMeta()


class SchemaNode:
    """A position in an OpenAPI-style schema, resolving $ref by its last path segment.

    Works for kubernetes-validate's "#/$defs/X", OpenAPI v3's "#/components/schemas/X" and
    test schemas alike. A node of None is a field without schema: no patch metadata.
    """

    __slots__ = ("_definitions", "_node")

    def __init__(
        self, definitions: Mapping[str, Mapping[str, Any]], node: Mapping[str, Any] | None
    ) -> None:
        self._definitions = definitions
        self._node = self._resolve(node)

    def _resolve(self, node: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        for _ in range(64):  # a $ref chain; bounded so a cyclic alias cannot hang us
            if node is None:
                return None
            all_of = node.get("allOf")
            if all_of:
                node = all_of[0]  # meta.go resolve(): first allOf member
                continue
            ref = node.get("$ref")
            if not isinstance(ref, str):
                return node
            node = self._definitions.get(ref.rsplit("/", 1)[-1])
        return node

    def _property(self, key: str) -> tuple[Mapping[str, Any] | None, PatchMeta]:
        node = self._node
        if node is None:
            return None, _NO_META
        properties = node.get("properties")
        if isinstance(properties, Mapping) and key in properties:
            prop = properties[key]
            strategy = prop.get("x-kubernetes-patch-strategy")
            meta = PatchMeta(
                tuple(strategy.split(",")) if isinstance(strategy, str) and strategy else (),
                str(prop.get("x-kubernetes-patch-merge-key") or ""),
            )
            return prop, meta
        additional = node.get("additionalProperties")
        if isinstance(additional, Mapping):
            # map[string]T: forked json LookupPatchMetadataForStruct returns T, no metadata
            return additional, _NO_META
        # Unknown field: upstream errors for a Go struct, but the real server never has
        # one in the stored object; we merge it without metadata instead.
        return None, _NO_META

    def field(self, key: str) -> tuple[SchemaNode, PatchMeta]:
        """LookupPatchMetadataForStruct: the schema of a map-valued field and its metadata."""
        prop, meta = self._property(key)
        return SchemaNode(self._definitions, prop), meta

    def items(self, key: str) -> tuple[SchemaNode, PatchMeta]:
        """LookupPatchMetadataForSlice: the schema of a list field's items and its metadata."""
        prop, meta = self._property(key)
        resolved = self._resolve(prop)
        if resolved is None:
            return SchemaNode(self._definitions, None), meta
        item = resolved.get("items")
        # Without items (a pointer-to-struct field used as a list), the v3 lookup keeps
        # the field's own schema: meta.go LookupPatchMetadataForSlice.
        return SchemaNode(self._definitions, item if isinstance(item, Mapping) else resolved), meta


# --------------------------------------------------------------------------- strategic merge


def strategic_merge_patch(
    original: Mapping[str, Any], patch: Mapping[str, Any], schema: SchemaNode
) -> dict[str, Any]:
    """StrategicMergeMapPatch with MergeParallelList and IgnoreUnmatchedNulls, as the server.

    Returns a new dict; neither argument is mutated.
    """
    return _merge_map(copy.deepcopy(dict(original)), copy.deepcopy(dict(patch)), schema)


def _merge_map(
    original: dict[str, Any] | None, patch: dict[str, Any], schema: SchemaNode
) -> dict[str, Any]:
    # Works in place on `original` and `patch`, which the caller owns (deep copies).
    if _DIRECTIVE in patch:
        return _directive_in_map(patch[_DIRECTIVE], patch)
    if original is None:
        original = {}
    _apply_retain_keys(original, patch)
    _merge_set_element_order_lists(original, patch, schema)

    for key, patch_value in list(patch.items()):
        is_delete_list = False
        if key.startswith(_DELETE_FROM_PRIMITIVE_LIST):
            key = _extract_key(key, _DELETE_FROM_PRIMITIVE_LIST)
            is_delete_list = True
        if patch_value is None:
            original.pop(key, None)
            continue
        if key not in original or type(original[key]) is not type(patch_value):
            if not is_delete_list:
                _discard_null_values(patch_value)
                value, keep = _remove_directives(patch_value)
                if keep:
                    original[key] = value
                else:
                    original.pop(key, None)
            continue
        current = original[key]
        if isinstance(current, dict):
            sub, meta = schema.field(key)
            strategy = _strategy_without_retain_keys(meta)
            original[key] = (
                patch_value if strategy == _REPLACE else _merge_map(current, patch_value, sub)
            )
        elif isinstance(current, list):
            sub, meta = schema.items(key)
            original[key] = _merge_slice_handler(
                current,
                patch_value,
                sub,
                _strategy_without_retain_keys(meta),
                meta.merge_key,
                is_delete_list,
            )
        else:
            original[key] = patch_value  # a scalar: nothing to strip
    return original


def _directive_in_map(directive: Any, patch: dict[str, Any]) -> dict[str, Any]:
    if directive == _REPLACE:
        del patch[_DIRECTIVE]
        return patch
    if directive == _DELETE:
        return {}
    raise _internal(f"unknown patch type: {_go_fmt(directive)} in map: {_go_fmt(patch)}")


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if _RETAIN_KEYS not in patch:
        return
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise _bad_request(_ERR_BAD_RETAIN_KEYS)
    keep = {_go_key(k) for k in retain}
    for key, value in patch.items():
        if value is None or key.startswith((_DELETE_FROM_PRIMITIVE_LIST, _SET_ELEMENT_ORDER)):
            continue
        if _go_key(key) not in keep:
            raise _bad_request(_ERR_BAD_RETAIN_KEYS)
    for key in [k for k in original if _go_key(k) not in keep]:
        del original[key]


def _merge_set_element_order_lists(
    original: dict[str, Any], patch: dict[str, Any], schema: SchemaNode
) -> None:
    """mergePatchIntoOriginal: merge each list named by a $setElementOrder, then order it.

    The order precedence is $setElementOrder, then the patch list, then the live list.
    """
    for directive_key in [k for k in patch if k.startswith(_SET_ELEMENT_ORDER)]:
        order = patch.pop(directive_key)
        if not isinstance(order, list):
            raise _internal(_bad_arg_type([], order))
        key = _extract_key(directive_key, _SET_ELEMENT_ORDER)
        found_original, found_patch = key in original, key in patch
        original_list: list[Any] = []
        patch_list: list[Any] = []
        if found_original:
            if not isinstance(original[key], list):
                raise _internal(_bad_arg_type([], original[key]))
            original_list = original[key]
        if found_patch:
            if not isinstance(patch[key], list):
                raise _internal(_bad_arg_type([], patch[key]))
            patch_list = patch[key]
        sub, meta = schema.items(key)
        strategy = _strategy_without_retain_keys(meta)
        merge_key = meta.merge_key
        _validate_patch_with_set_order_list(patch_list, order, merge_key)

        if found_original and not found_patch:
            merged = original_list
        elif found_patch and not found_original:
            stripped, _ = _remove_directives(patch_list)
            merged = stripped
        elif found_original and found_patch:
            # Go shares original_list's backing array with the merge, which shifts it on
            # deletes and fills the freed tail on appends; original_list below is that
            # array seen through the old length, and _GoSlice reproduces it.
            merged = _merge_slice_handler(
                original_list, patch_list, sub, strategy, merge_key, False
            )
        else:
            continue

        if merge_key:
            patch_items, server_only = _partition_maps(merged, order, merge_key)
        else:
            patch_items, server_only = _partition_primitives(merged, order)
        element_type = _slice_element_type(original_list, patch_list)
        original[key] = _normalize_element_order(
            patch_items, server_only, order, original_list, merge_key, element_type
        )
        patch.pop(key, None)


def _validate_patch_with_set_order_list(
    patch_list: list[Any], order: list[Any], merge_key: str
) -> None:
    """The patch's items must appear in $setElementOrder, in the same relative order."""
    if not order or not patch_list:
        return
    items = _split_delete_items(patch_list)[0] if merge_key else patch_list
    patch_index = order_index = 0
    while patch_index < len(items) and order_index < len(order):
        if _has_directive(items[patch_index]):
            patch_index += 1
            continue
        if _merge_key_value_equal(items[patch_index], order[order_index], merge_key):
            patch_index += 1
        order_index += 1
    if patch_index < len(items) and order_index >= len(order):
        raise _internal(
            f"The order in patch list:\n{_go_fmt(patch_list)}\n doesn't match "
            f"{_SET_ELEMENT_ORDER} list:\n{_go_fmt(order)}\n"
        )


def _merge_slice_handler(
    original: Any,
    patch: Any,
    schema: SchemaNode,
    strategy: str,
    merge_key: str,
    is_delete_list: bool,
) -> list[Any]:
    if not isinstance(original, list):
        raise _internal(_bad_arg_type([], original))
    if not isinstance(patch, list):
        raise _internal(_bad_arg_type([], patch))
    # A $deleteFromPrimitiveList is honoured whatever the field's strategy.
    if strategy == _MERGE or is_delete_list:
        return _merge_slice(original, patch, schema, merge_key, is_delete_list)
    return patch


def _merge_slice(
    original: list[Any],
    patch: list[Any],
    schema: SchemaNode,
    merge_key: str,
    is_delete_list: bool,
) -> list[Any]:
    if not original and not patch:
        return original
    element_type = _slice_element_type(original, patch)
    if element_type is not dict:
        if is_delete_list:
            return _delete_from_slice(original, patch)
        merged = _deduplicate_scalars(original + patch)
    else:
        if not merge_key:
            raise _internal("cannot merge lists without merge key for struct")
        live = _GoSlice(original)
        patch = _merge_slice_with_special_elements(live, patch, merge_key)
        original = live.items()
        merged = _merge_slice_without_special_elements(live, patch, merge_key, schema)

    if merge_key:
        patch_items, server_only = _partition_maps(merged, patch, merge_key)
    else:
        patch_items, server_only = _partition_primitives(merged, patch)
    return _normalize_element_order(
        patch_items, server_only, patch, original, merge_key, element_type
    )


def _merge_slice_with_special_elements(
    live: _GoSlice, patch: list[Any], merge_key: str
) -> list[Any]:
    """Apply `$patch: delete|replace` elements to `live`; return the patch without them."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        if _DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == _DELETE:
            if merge_key not in item:
                raise _internal(_no_merge_key(item, merge_key))
            live.delete_matching(merge_key, item[merge_key])
        elif directive == _REPLACE:
            replace = True  # keep scanning: other $patch elements are still pruned
        elif directive == _MERGE:
            raise _internal("merging lists cannot yet be specified in the patch")
        else:
            raise _internal(f"unknown patch type: {_go_fmt(directive)} in map: {_go_fmt(item)}")
    if replace:
        live.replace_with(plain)
        return []
    return plain


def _merge_slice_without_special_elements(
    live: _GoSlice, patch: list[Any], merge_key: str, schema: SchemaNode
) -> list[Any]:
    for item in patch:
        if merge_key not in item:
            raise _internal(_no_merge_key(item, merge_key))
        index = _find_map_by_key(live.items(), merge_key, item[merge_key])
        if index >= 0:
            live.set(index, _merge_map(live.get(index), item, schema))
        else:
            live.append(item)
    return live.items()


class _GoSlice:
    """A Go []interface{} over a Python list used as its backing array (cap == len).

    Deletes shift the array in place (append(s[:k], s[k+1:]...)) and appends fill the
    capacity they freed before reallocating, so whoever still holds the list sees what a
    Go caller holding the old slice header sees. The live object's lists reach the
    apiserver's merge from runtime.ToUnstructured with cap == len, which we assume.
    """

    __slots__ = ("_array", "_length")

    def __init__(self, array: list[Any]) -> None:
        self._array = array
        self._length = len(array)

    def items(self) -> list[Any]:
        return self._array[: self._length]

    def get(self, index: int) -> Any:
        return self._array[index]

    def set(self, index: int, value: Any) -> None:
        self._array[index] = value

    def delete_matching(self, merge_key: str, value: Any) -> None:
        """deleteMatchingEntries: remove every map whose merge key equals `value`."""
        while True:
            index = _find_map_by_key(self.items(), merge_key, value)
            if index < 0:
                return
            self._array[index : self._length - 1] = self._array[index + 1 : self._length]
            self._length -= 1

    def append(self, value: Any) -> None:
        if self._length < len(self._array):
            self._array[self._length] = value
        else:
            self._array = [*self._array[: self._length], value]  # a new array, unshared
        self._length += 1

    def replace_with(self, values: list[Any]) -> None:
        self._array = list(values)
        self._length = len(values)


def _find_map_by_key(items: list[Any], merge_key: str, value: Any) -> int:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _internal(f"value for key {index} is not a map")
        if merge_key in item and _go_equal(item[merge_key], value):
            return index
    return -1


def _delete_from_slice(current: list[Any], to_delete: list[Any]) -> list[Any]:
    doomed = {_go_key(v) for v in to_delete}
    return [v for v in current if _go_key(v) not in doomed]


def _deduplicate_scalars(values: list[Any]) -> list[Any]:
    # patch.go deduplicateScalars, swap-with-last included: the order it leaves is what
    # the stable sort in normalizeSliceOrder starts from.
    s = list(values)
    length = len(s) - 1
    i = 0
    while i < length:
        j = i + 1
        while j <= length:
            if _go_equal(s[i], s[j]):
                s[j] = s[length]
                s = s[:length]
                length -= 1
                j -= 1
            j += 1
        i += 1
    return s


def _partition_primitives(items: list[Any], partition_by: list[Any]) -> tuple[list[Any], list[Any]]:
    wanted = {_go_key(v) for v in partition_by}
    inside = [v for v in items if _go_key(v) in wanted]
    outside = [v for v in items if _go_key(v) not in wanted]
    return inside, outside


def _partition_maps(
    items: list[Any], partition_by: list[Any], merge_key: str
) -> tuple[list[Any], list[Any]]:
    inside: list[Any] = []
    outside: list[Any] = []
    for item in items:
        if not isinstance(item, dict):
            raise _internal(_bad_arg_type({}, item))
        if merge_key not in item:
            raise _internal(_no_merge_key(item, merge_key))
        found = _find_map_by_key(partition_by, merge_key, item[merge_key]) >= 0
        (inside if found else outside).append(item)
    return inside, outside


def _normalize_element_order(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
    element_type: type,
) -> list[Any]:
    """Sort patch items by the patch, server-only items by the server, then interleave."""
    patch_items = _normalize_slice_order(patch_items, patch_order, merge_key, element_type)
    server_only = _normalize_slice_order(server_only, server_order, merge_key, element_type)
    return _merge_sorted_slice(server_only, patch_items, server_order, merge_key, element_type)


def _normalize_slice_order(
    to_sort: list[Any], order: list[Any], merge_key: str, element_type: type
) -> list[Any]:
    to_delete: list[Any] = []
    if element_type is dict:
        for item in [*to_sort, *order]:
            if not isinstance(item, dict):
                raise _internal(_bad_arg_type({}, item))
            if merge_key not in item:
                raise _internal(_no_merge_key(item, merge_key))
        to_sort, to_delete = _split_delete_items(to_sort)
    position = _positions(order, merge_key, element_type)
    keys = [position(item) for item in to_sort]
    return _stable_sort_like_go(to_sort, keys) + to_delete


def _stable_sort_like_go(items: list[Any], keys: list[int]) -> list[Any]:
    """sort.SliceStable with patch.go's less: by position, but "less" if either is absent."""
    if all(k >= 0 for k in keys):
        return [item for _, item in sorted(zip(keys, items, strict=True), key=lambda p: p[0])]
    # An inconsistent order (absent items): replay Go's insertion sort, which is exactly
    # what SliceStable runs on lists of up to 20 elements.
    pairs = list(zip(keys, items, strict=True))
    for i in range(1, len(pairs)):
        j = i
        while j > 0 and _go_less(pairs[j][0], pairs[j - 1][0]):
            pairs[j], pairs[j - 1] = pairs[j - 1], pairs[j]
            j -= 1
    return [item for _, item in pairs]


def _go_less(left: int, right: int) -> bool:
    if left >= 0 and right >= 0:
        return left < right
    return True


def _merge_sorted_slice(
    left: list[Any], right: list[Any], server_order: list[Any], merge_key: str, element_type: type
) -> list[Any]:
    """mergeSortedSlice: insert server-only items (left) among patch items (right)."""
    position = _positions(server_order, merge_key, element_type)
    merged: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            merged.append(right[j])
            j += 1
        elif j >= len(right):
            merged.append(left[i])
            i += 1
        else:
            li, ri = position(left[i]), position(right[j])
            if li >= 0 and ri >= 0 and li < ri:
                merged.append(left[i])
                i += 1
            else:
                merged.append(right[j])
                j += 1
    return merged


def _positions(order: list[Any], merge_key: str, element_type: type) -> Callable[[Any], int]:
    """patch.go index(): first position in `order` (maps compare their merge-key value)."""

    def value_of(item: Any) -> Any:
        if element_type is dict:
            return item.get(merge_key) if isinstance(item, dict) else None
        return item

    first: dict[Any, int] = {}
    for index, item in enumerate(order):
        first.setdefault(_go_key(value_of(item)), index)

    def position(item: Any) -> int:
        return first.get(_go_key(value_of(item)), -1)

    return position


def _split_delete_items(items: list[Any]) -> tuple[list[Any], list[Any]]:
    """extractToDeleteItems: (items to keep, `$patch: delete` items)."""
    keep: list[Any] = []
    delete: list[Any] = []
    for item in items:
        if not isinstance(item, dict):
            raise _internal(_bad_arg_type({}, item))
        (delete if item.get(_DIRECTIVE) == _DELETE else keep).append(item)
    return keep, delete


def _slice_element_type(*lists: Iterable[Any]) -> type:
    found: type | None = None
    for values in lists:
        for value in values:
            current = type(value)
            if found is None:
                found = current
                if current is list:
                    # mergepatch.ErrNoListOfLists -> 422 in the apiserver
                    raise ApiError(422, "Invalid", _INVALID_MESSAGE)
            elif current is not found:
                raise _internal(
                    "list element types are not identical: " + _go_fmt([list(v) for v in lists])
                )
    if found is None:
        raise _internal("no elements in any of the given slices")
    return found


def _merge_key_value_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _go_equal(left, right)
    if not isinstance(left, dict):
        raise _internal(_bad_arg_type({}, left))
    if not isinstance(right, dict):
        raise _internal(_bad_arg_type({}, right))
    if merge_key not in left:
        raise _internal(_no_merge_key(left, merge_key))
    if merge_key not in right:
        raise _internal(_no_merge_key(right, merge_key))
    return _go_equal(left[merge_key], right[merge_key])


def _has_directive(item: Any) -> bool:
    return isinstance(item, dict) and _DIRECTIVE in item


def _remove_directives(value: Any) -> tuple[Any, bool]:
    """removeDirectives: drop maps carrying `$patch` (and say whether to keep `value`)."""
    if isinstance(value, dict):
        if _DIRECTIVE in value:
            return None, False
        kept: dict[str, Any] = {}
        for key, child in value.items():
            child, keep = _remove_directives(child)
            if keep:
                kept[key] = child
        return kept, True
    if isinstance(value, list):
        items = []
        for child in value:
            child, keep = _remove_directives(child)
            if keep:
                items.append(child)
        return items, True
    return value, True


def _discard_null_values(value: Any) -> None:
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for child in value.values():
            _discard_null_values(child)
    elif isinstance(value, list):
        for child in value:
            _discard_null_values(child)


def _extract_key(key: str, prefix: str) -> str:
    parts = key.split("/", 1)
    if len(parts) <= 1 or parts[0] != prefix:
        if prefix == _DELETE_FROM_PRIMITIVE_LIST:
            raise _bad_request(_ERR_BAD_PRIMITIVE_LIST)
        raise _bad_request(_ERR_BAD_SET_ELEMENT_ORDER)
    return parts[1]


def _strategy_without_retain_keys(meta: PatchMeta) -> str:
    """extractRetainKeysPatchStrategy: the strategy besides retainKeys ("" for none)."""
    strategies = meta.strategies
    if not strategies:
        return ""
    if len(strategies) == 1:
        return "" if strategies[0] == _RETAIN_KEYS_STRATEGY else strategies[0]
    if len(strategies) == 2 and _RETAIN_KEYS_STRATEGY in strategies:
        return strategies[1] if strategies[0] == _RETAIN_KEYS_STRATEGY else strategies[0]
    raise _internal(f"unexpected patch strategy: {_go_fmt(list(strategies))}")


# --------------------------------------------------------------------------- Go semantics


def _go_key(value: Any) -> Any:
    """A hashable key with Go interface{} equality: 1, 1.0 and True are all different."""
    if isinstance(value, dict | list):
        return (type(value), json.dumps(value, sort_keys=True))
    return (type(value), value)


def _go_equal(left: Any, right: Any) -> bool:
    return type(left) is type(right) and bool(left == right)


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def _internal(message: str) -> ApiError:
    # ErrorToAPIStatus of a plain Go error: 500, reason StatusReasonUnknown (""), its text.
    return ApiError(500, "", message)


def _no_merge_key(item: Any, merge_key: str) -> str:
    return f"map: {_go_fmt(item)} does not contain declared merge key: {merge_key}"


def _bad_arg_type(expected: Any, actual: Any) -> str:
    return f"expected a {_go_type_name(expected)}, but received a {_go_type_name(actual)}"


def _go_type_name(value: Any) -> str:
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


def _go_fmt(value: Any) -> str:
    """fmt's %v of a decoded JSON value, for error messages that quote the patch."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        inner = " ".join(f"{k}:{_go_fmt(value[k])}" for k in sorted(value))
        return f"map[{inner}]"
    if isinstance(value, list):
        return "[" + " ".join(_go_fmt(v) for v in value) + "]"
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
