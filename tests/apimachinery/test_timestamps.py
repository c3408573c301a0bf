"""RFC3339Nano as Go prints and reads it (the timestamps of pod log lines)."""

from __future__ import annotations

from datetime import UTC, datetime

from harness.apimachinery.timestamps import format_nano, parse_nano


def test_timestamps_print_like_go_rfc3339nano() -> None:
    assert format_nano(datetime(2024, 5, 1, 10, 0, 0, 120000, UTC)) == (
        "2024-05-01T10:00:00.12Z"
    )
    assert (
        format_nano(datetime(2024, 5, 1, 10, 0, 0, 0, UTC)) == "2024-05-01T10:00:00Z"
    )
    stamp = datetime(2024, 5, 1, 10, 0, 0, 5, UTC)
    assert parse_nano(format_nano(stamp)) == stamp
