"""What a Table view is made of: column definitions (with the NAME and AGE every kind has),
ages as kubectl prints them (HumanDuration), and the cell formats printers.go shares.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from harness.apimachinery.timestamps import parse_time

__all__ = [
    "AGE",
    "AGE_DOC",
    "NAME",
    "NAME_DOC",
    "Cells",
    "Clock",
    "Column",
    "Obj",
    "Printer",
    "View",
    "containers_cells",
    "format_labels",
    "format_selector",
    "human_duration",
    "int_or_zero",
]

Obj = Mapping[str, Any]
Cells = list[Any]

NAME_DOC: Final = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
AGE_DOC: Final = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


@dataclass(frozen=True)
class Column:
    """A TableColumnDefinition: the header, type and description of one column."""

    name: str
    type: str = "string"
    description: str = ""
    priority: int = 0
    format: str = ""

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


NAME = Column("Name", format="name", description=NAME_DOC)
AGE = Column("Age", description=AGE_DOC)


def human_duration(seconds: float) -> str:
    """duration.HumanDuration: "5s", "3m10s", "70m", "2d1h", "2y1d"."""
    whole = math.trunc(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = int(seconds // 60)
    if minutes < 10:
        s = int(seconds) % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = int(seconds // 3600)
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


class Clock:
    """Ages relative to one moment, the Table's "now"."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def since(self, value: Any) -> str:
        """translateTimestampSince: "<unknown>" for a zero time."""
        when = parse_time(value)
        if when is None:
            return "<unknown>"
        return human_duration((self.now - when).total_seconds())


def format_labels(labels: Mapping[str, Any] | None) -> str:
    """labels.FormatLabels: sorted k=v pairs, "<none>" when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def format_selector(selector: Mapping[str, Any] | None) -> str:
    """metav1.FormatLabelSelector: "<none>" for nil or empty, "<error>" when malformed."""
    if not selector:
        return "<none>"
    parts: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        parts.append((str(key), f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key, op = str(expr.get("key", "")), expr.get("operator")
        values = ",".join(sorted(str(v) for v in expr.get("values") or []))
        if op == "In":
            parts.append((key, f"{key} in ({values})"))
        elif op == "NotIn":
            parts.append((key, f"{key} notin ({values})"))
        elif op == "Exists":
            parts.append((key, key))
        elif op == "DoesNotExist":
            parts.append((key, f"!{key}"))
        else:
            return "<error>"
    if not parts:
        return "<none>"
    return ",".join(text for _, text in sorted(parts, key=lambda p: p[0]))


def containers_cells(containers: Sequence[Any] | None) -> tuple[str, str]:
    """layoutContainerCells: comma-joined names and images."""
    names = [str(c.get("name", "")) for c in containers or [] if isinstance(c, Mapping)]
    images = [str(c.get("image", "")) for c in containers or [] if isinstance(c, Mapping)]
    return ",".join(names), ",".join(images)


def int_or_zero(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


Printer = Callable[[Obj, Clock], Cells]


@dataclass(frozen=True)
class View:
    """How one kind prints: its columns, and the printer of one object's cells."""

    columns: tuple[Column, ...]
    printer: Printer
