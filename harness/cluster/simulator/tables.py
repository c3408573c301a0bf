"""meta.k8s.io/v1 Table views, so `kubectl get` prints the columns a real server gives.

CONTRACT:
    to_table(rt, objects: list[dict], *, resource_version: str, continue_token: str|None,
             include_object: str = "Metadata", now: datetime | None = None) -> dict
        Columns for pods, deployments, replicasets, services, namespaces, nodes, events as
        upstream pkg/printers/internalversion/printers.go (printers.py, podprinter.py); other
        kinds NAME and AGE (and the additionalPrinterColumns of a CRD, read by jsonpath_first).
Also: configmaps, secrets, serviceaccounts, endpoints, endpointslices and PDBs print as
upstream does; CRDs print NAME and CREATED AT (the default table convertor).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from harness.apimachinery.meta import dig, name_of
from harness.apimachinery.timestamps import now as current_time
from harness.cluster.simulator.columns import AGE, AGE_DOC, NAME, Cells, Clock, Column, Obj
from harness.cluster.simulator.podprinter import pod_row
from harness.cluster.simulator.printers import BUILTIN_VIEWS
from harness.cluster.simulator.registry import ResourceType

__all__ = ["jsonpath_first", "to_table"]


# ======================================================================= the table


def _row_object(rt: ResourceType, obj: Obj, include_object: str) -> Any:
    if include_object == "None":
        return None
    if include_object == "Object":
        full = dict(obj)
        full.setdefault("apiVersion", rt.api_version)
        full.setdefault("kind", rt.kind)
        return full
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(obj.get("metadata") or {}),
    }


def _default_row(obj: Obj, clock: Clock) -> Cells:
    return [name_of(obj), clock.since(dig(obj, "metadata", "creationTimestamp"))]


def to_table(
    rt: ResourceType,
    objects: list[dict[str, Any]],
    *,
    resource_version: str,
    continue_token: str | None,
    include_object: str = "Metadata",
    now: datetime | None = None,
    remaining_item_count: int | None = None,
) -> dict[str, Any]:
    """A Table for a list (or, with one object, a get); cells carry the wide columns too,
    since the server renders with Wide and kubectl hides priority-1 columns itself."""
    clock = Clock(now or current_time())
    view = None if rt.custom else BUILTIN_VIEWS.get((rt.group, rt.plural))
    if view is not None:
        columns = view.columns
    elif rt.custom:
        columns = _custom_columns(rt)
    else:
        columns = (NAME, AGE)
    rows: list[dict[str, Any]] = []
    for obj in objects:
        conditions: list[dict[str, str]] = []
        if rt.custom:
            cells = _custom_row(rt, obj, clock)
        elif (rt.group, rt.plural) == ("", "pods"):
            cells, conditions = pod_row(obj, clock)
        elif view is not None:
            cells = view.printer(obj, clock)
        else:
            cells = _default_row(obj, clock)
        row: dict[str, Any] = {"cells": cells}
        if conditions:
            row["conditions"] = conditions
        row["object"] = _row_object(rt, obj, include_object)
        rows.append(row)
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    if remaining_item_count is not None:
        metadata["remainingItemCount"] = remaining_item_count
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [c.definition() for c in columns],
        "rows": rows,
    }


# ======================================================================= custom resources

_SEGMENT_RE: Final = re.compile(
    r"\.(?P<field>[A-Za-z0-9_\-/]+)"
    r"|\[(?P<index>-?\d+)\]"
    r"|\[(?P<star>\*)\]"
    r"|\[\?\(@\.(?P<fkey>[A-Za-z0-9_.\-]+)\s*==\s*(?P<fq>['\"])(?P<fval>.*?)(?P=fq)\)\]"
    r"|\[['\"](?P<qfield>[^'\"]+)['\"]\]"
)


def jsonpath_first(obj: Any, path: str) -> tuple[bool, Any]:
    """The first result of a CRD printer column's JSONPath ({found}, {value}).

    Supports .field, ['field'], [n], [*] and [?(@.key=="value")], which is what
    additionalPrinterColumns use in practice.
    """
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if text.startswith("$"):
        text = text[1:]
    current: list[Any] = [obj]
    pos = 0
    while pos < len(text):
        m = _SEGMENT_RE.match(text, pos)
        if not m:
            return False, None
        pos = m.end()
        nxt: list[Any] = []
        for value in current:
            if m.group("field") is not None or m.group("qfield") is not None:
                key = m.group("field") or m.group("qfield")
                if isinstance(value, Mapping) and key in value:
                    nxt.append(value[key])
            elif m.group("index") is not None:
                index = int(m.group("index"))
                if isinstance(value, list) and -len(value) <= index < len(value):
                    nxt.append(value[index])
            elif m.group("star") is not None:
                if isinstance(value, list):
                    nxt.extend(value)
                elif isinstance(value, Mapping):
                    nxt.extend(value.values())
            else:
                keys = m.group("fkey").split(".")
                for item in value if isinstance(value, list) else []:
                    if str(dig(item, *keys)) == m.group("fval"):
                        nxt.append(item)
        current = nxt
    if not current:
        return False, None
    return True, current[0]


def _custom_columns(rt: ResourceType) -> tuple[Column, ...]:
    columns = rt.printer_columns
    if not columns:
        return (NAME, Column("Age", "date", AGE_DOC))
    return (
        NAME,
        *(
            Column(
                c.name,
                c.type,
                c.description
                or f"Custom resource definition column (in JSONPath format): {c.json_path}",
                c.priority,
                c.format,
            )
            for c in columns
        ),
    )


def _custom_row(rt: ResourceType, obj: Obj, clock: Clock) -> Cells:
    """The CRD table convertor: each column's first JSONPath result, typed."""
    columns = rt.printer_columns or ()
    paths = [c.json_path for c in columns] or [".metadata.creationTimestamp"]
    types = [c.type for c in columns] or ["date"]
    cells: Cells = [name_of(obj)]
    for path, kind in zip(paths, types, strict=True):
        found, value = jsonpath_first(obj, path)
        if not found or value is None:
            cells.append(None)
        elif kind == "date":
            cells.append(clock.since(value) if isinstance(value, str) else None)
        elif kind == "integer":
            cells.append(value if isinstance(value, int) and not isinstance(value, bool) else None)
        elif kind == "number":
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            cells.append(value if is_number else None)
        elif kind == "boolean":
            cells.append(value if isinstance(value, bool) else None)
        elif isinstance(value, str):
            cells.append(value)
        else:
            cells.append(json.dumps(value, separators=(",", ":")))
    return cells
