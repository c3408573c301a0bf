"""Timestamps on the wire: metav1.Time (RFC 3339, whole seconds, UTC) and RFC3339Nano.

`parse_time` reads what any client may send (fractions, Z or an offset) and answers None for
an unset or unreadable value, as a nil *metav1.Time; `parse_nano` is strict, for log lines.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["format_nano", "format_time", "now", "parse_nano", "parse_time"]

_NANO = re.compile(r"^(.*?T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime | None = None) -> str:
    """metav1.Time's wire format: RFC 3339 in UTC, whole seconds (now when not given)."""
    return (moment or now()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any) -> datetime | None:
    """An RFC 3339 timestamp (seconds or fractional, Z or offset) in UTC, or None when unset
    or unreadable. A timestamp without a zone is taken as UTC."""
    if not text or not isinstance(text, str):
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_nano(text: str) -> datetime:
    """RFC 3339 with up to nanosecond precision (Python keeps microseconds); ValueError when
    the text is not one."""
    match = _NANO.match(text)
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    base, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{base}.{micro}{zone}").astimezone(UTC)


def format_nano(moment: datetime) -> str:
    """RFC3339Nano as Go prints it: trailing zeros of the fraction dropped."""
    moment = moment.astimezone(UTC)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}000".rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"
