"""Label selectors as text: metav1.LabelSelector rendered as labels.Selector.String() does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["selector_string"]


def selector_string(spec: Mapping[str, Any] | None) -> str:
    """A metav1.LabelSelector as a `labelSelector` query (requirements sorted by key, the
    values of a set requirement sorted), as labels.Selector.String() prints it."""
    if not spec:
        return ""
    requirements: list[tuple[str, str]] = []
    for key, value in (spec.get("matchLabels") or {}).items():
        requirements.append((key, f"{key}={value}"))
    for expression in spec.get("matchExpressions") or []:
        key = expression.get("key", "")
        values = ",".join(sorted(expression.get("values") or []))
        operator = expression.get("operator")
        if operator == "In":
            requirements.append((key, f"{key} in ({values})"))
        elif operator == "NotIn":
            requirements.append((key, f"{key} notin ({values})"))
        elif operator == "Exists":
            requirements.append((key, key))
        elif operator == "DoesNotExist":
            requirements.append((key, f"!{key}"))
    requirements.sort(key=lambda item: item[0])
    return ",".join(text for _, text in requirements)
