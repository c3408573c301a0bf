"""Strategic merge patch: the port of apimachinery strategicpatch.StrategicMergeMapPatch
(patch.go, read at kubernetes/apimachinery 2026 head), with MergeParallelList and
IgnoreUnmatchedNulls as the apiserver runs it.

Lists merge by x-kubernetes-patch-merge-key and -patch-strategy from a SchemaNode, with the
$patch, $setElementOrder, $retainKeys and $deleteFromPrimitiveList directives; errors are
ApiError mapped like the apiserver's interpretStrategicMergePatchError.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from harness.cluster.simulator.patcherrors import (
    bad_arg_type,
    bad_request,
    go_fmt,
    internal,
    invalid_patch,
    no_merge_key,
)
from harness.cluster.simulator.schemas import PatchMeta, SchemaNode

__all__ = ["drop_directive_keys", "strategic_merge_patch"]

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
_ERR_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
_ERR_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
_ERR_BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"


def strategic_merge_patch(
    original: Mapping[str, Any], patch: Mapping[str, Any], schema: SchemaNode
) -> dict[str, Any]:
    """StrategicMergeMapPatch with MergeParallelList and IgnoreUnmatchedNulls, as the server.

    Returns a new dict; neither argument is mutated.
    """
    return _merge_map(copy.deepcopy(dict(original)), copy.deepcopy(dict(patch)), schema)


def drop_directive_keys(value: Any) -> None:
    """Remove the directive keys a merge left behind (inside a replaced list, say), in place,
    as decoding the merged map into the Go struct does on the apiserver."""
    if isinstance(value, dict):
        for key in [k for k in value if isinstance(k, str) and _is_directive_key(k)]:
            del value[key]
        for child in value.values():
            drop_directive_keys(child)
    elif isinstance(value, list):
        for child in value:
            drop_directive_keys(child)


def _is_directive_key(key: str) -> bool:
    return key in (_DIRECTIVE, _RETAIN_KEYS) or key.startswith(
        (_SET_ELEMENT_ORDER + "/", _DELETE_FROM_PRIMITIVE_LIST + "/")
    )


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
    raise internal(f"unknown patch type: {go_fmt(directive)} in map: {go_fmt(patch)}")


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if _RETAIN_KEYS not in patch:
        return
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise bad_request(_ERR_BAD_RETAIN_KEYS)
    keep = {_go_key(k) for k in retain}
    for key, value in patch.items():
        if value is None or key.startswith((_DELETE_FROM_PRIMITIVE_LIST, _SET_ELEMENT_ORDER)):
            continue
        if _go_key(key) not in keep:
            raise bad_request(_ERR_BAD_RETAIN_KEYS)
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
            raise internal(bad_arg_type([], order))
        key = _extract_key(directive_key, _SET_ELEMENT_ORDER)
        found_original, found_patch = key in original, key in patch
        original_list: list[Any] = []
        patch_list: list[Any] = []
        if found_original:
            if not isinstance(original[key], list):
                raise internal(bad_arg_type([], original[key]))
            original_list = original[key]
        if found_patch:
            if not isinstance(patch[key], list):
                raise internal(bad_arg_type([], patch[key]))
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
        raise internal(
            f"The order in patch list:\n{go_fmt(patch_list)}\n doesn't match "
            f"{_SET_ELEMENT_ORDER} list:\n{go_fmt(order)}\n"
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
        raise internal(bad_arg_type([], original))
    if not isinstance(patch, list):
        raise internal(bad_arg_type([], patch))
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
            raise internal("cannot merge lists without merge key for struct")
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
                raise internal(no_merge_key(item, merge_key))
            live.delete_matching(merge_key, item[merge_key])
        elif directive == _REPLACE:
            replace = True  # keep scanning: other $patch elements are still pruned
        elif directive == _MERGE:
            raise internal("merging lists cannot yet be specified in the patch")
        else:
            raise internal(f"unknown patch type: {go_fmt(directive)} in map: {go_fmt(item)}")
    if replace:
        live.replace_with(plain)
        return []
    return plain


def _merge_slice_without_special_elements(
    live: _GoSlice, patch: list[Any], merge_key: str, schema: SchemaNode
) -> list[Any]:
    for item in patch:
        if merge_key not in item:
            raise internal(no_merge_key(item, merge_key))
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
            raise internal(f"value for key {index} is not a map")
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
            raise internal(bad_arg_type({}, item))
        if merge_key not in item:
            raise internal(no_merge_key(item, merge_key))
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
                raise internal(bad_arg_type({}, item))
            if merge_key not in item:
                raise internal(no_merge_key(item, merge_key))
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
            raise internal(bad_arg_type({}, item))
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
                    raise invalid_patch()
            elif current is not found:
                raise internal(
                    "list element types are not identical: " + go_fmt([list(v) for v in lists])
                )
    if found is None:
        raise internal("no elements in any of the given slices")
    return found


def _merge_key_value_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _go_equal(left, right)
    if not isinstance(left, dict):
        raise internal(bad_arg_type({}, left))
    if not isinstance(right, dict):
        raise internal(bad_arg_type({}, right))
    if merge_key not in left:
        raise internal(no_merge_key(left, merge_key))
    if merge_key not in right:
        raise internal(no_merge_key(right, merge_key))
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
            raise bad_request(_ERR_BAD_PRIMITIVE_LIST)
        raise bad_request(_ERR_BAD_SET_ELEMENT_ORDER)
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
    raise internal(f"unexpected patch strategy: {go_fmt(list(strategies))}")


# --------------------------------------------------------------------------- Go semantics


def _go_key(value: Any) -> Any:
    """A hashable key with Go interface{} equality: 1, 1.0 and True are all different."""
    if isinstance(value, dict | list):
        return (type(value), json.dumps(value, sort_keys=True))
    return (type(value), value)


def _go_equal(left: Any, right: Any) -> bool:
    return type(left) is type(right) and bool(left == right)

