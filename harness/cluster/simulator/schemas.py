"""The built-in kinds' schemas and the patch metadata they carry: kubernetes-validate's type
definitions (v1.31 or later), found by group/version/kind, and a $ref-resolving SchemaNode that
reads x-kubernetes-patch-strategy and -patch-merge-key for strategic merge.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "PatchMeta",
    "SchemaNode",
    "definition_name",
    "kind_schema",
    "kube_definitions",
    "schema_directory",
]

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
