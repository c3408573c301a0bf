"""harness.cluster.podlogs: CRI log lines, tails read backwards, and a cursor that waits for
complete lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from harness.cluster import podlogs


def test_cri_lines_parse_and_plain_lines_pass_through() -> None:
    line = podlogs.parse_line(b"2024-05-01T10:00:00.123456789Z stdout F hello\n")
    assert line.text == b"hello\n"
    assert line.raw_timestamp == "2024-05-01T10:00:00.123456789Z"
    assert line.timestamp == datetime(2024, 5, 1, 10, 0, 0, 123456, UTC)
    partial = podlogs.parse_line(b"2024-05-01T10:00:00Z stderr P par\n")
    assert (partial.text, partial.stream) == (b"par", "stderr")
    plain = podlogs.parse_line(b"just text\n")
    assert plain.text == b"just text\n" and plain.timestamp is None


def test_tail_reads_backwards_and_cursor_waits_for_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(b"".join(f"line {i}\n".encode() for i in range(10000)))
    assert podlogs.tail_lines(path, 2) == [b"line 9998\n", b"line 9999\n"]
    cursor = podlogs.LogCursor(path, path.stat().st_size)
    with path.open("ab") as handle:
        handle.write(b"half")
    assert cursor.read_new() == []
    with path.open("ab") as handle:
        handle.write(b" done\nnext\n")
    assert [line.text for line in cursor.read_new()] == [b"half done\n", b"next\n"]
