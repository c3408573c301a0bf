"""Where pod container logs live on disk and how the API server reads them for `kubectl logs`.

Layout: <logs_dir>/<namespace>/<pod>/<container>/<restartCount>.log, one file per container
run, written by the kubelet; lines in the CRI format the real kubelet uses
(`<RFC3339Nano> <stdout|stderr> <P|F> <text>`) or plain text (then the file's mtime stands
in for the timestamp). The server only reads; the kubelet only appends.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.apimachinery.timestamps import format_nano, parse_nano

__all__ = [
    "LogCursor",
    "LogLine",
    "PodLogs",
    "cri_line",
    "parse_line",
    "render",
    "tail_lines",
]

_CRI = re.compile(
    rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([PF]) "
)
_TAIL_BLOCK = 64 * 1024


@dataclass(frozen=True)
class LogLine:
    """One line of a container log; `text` includes its trailing newline unless partial."""

    text: bytes
    timestamp: datetime | None  # None for plain lines (the caller substitutes the mtime)
    raw_timestamp: str = ""
    stream: str = "stdout"


def cri_line(text: str | bytes, *, stream: str = "stdout", at: datetime | None = None) -> bytes:
    """One complete line in the CRI format (what a kubelet writing these files should append)."""
    body = text.encode() if isinstance(text, str) else text
    stamp = format_nano(at or datetime.now(UTC)).encode()
    return stamp + b" " + stream.encode() + b" F " + body.rstrip(b"\n") + b"\n"


def parse_line(raw: bytes) -> LogLine:
    """A physical line (with or without its newline) as the API returns it."""
    match = _CRI.match(raw)
    if match is None:
        return LogLine(raw, None)
    stamp, stream, tag = match.group(1), match.group(2), match.group(3)
    text = raw[match.end() :]
    if tag == b"P":
        text = text.rstrip(b"\n")  # a partial line continues in the next record
    elif not text.endswith(b"\n"):
        text += b"\n"
    try:
        moment: datetime | None = parse_nano(stamp.decode())
    except ValueError:
        moment = None
    return LogLine(text, moment, stamp.decode(), stream.decode())


def tail_lines(path: Path, count: int) -> list[bytes]:
    """The last `count` physical lines of a file, reading backwards in blocks."""
    if count <= 0:
        return []
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        data = b""
        while position > 0 and data.count(b"\n") <= count:
            step = min(_TAIL_BLOCK, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    lines = data.splitlines(keepends=True)
    return lines[-count:]


def render(
    lines: Iterable[LogLine],
    *,
    timestamps: bool,
    fallback_time: datetime,
    since: datetime | None = None,
) -> bytes:
    """Concatenate lines for the response, filtering by `since` and prefixing timestamps."""
    out: list[bytes] = []
    for line in lines:
        moment = line.timestamp or fallback_time
        if since is not None and moment < since:
            continue
        if timestamps:
            stamp = line.raw_timestamp or format_nano(moment)
            out.append(stamp.encode() + b" " + line.text)
        else:
            out.append(line.text)
    return b"".join(out)


class LogCursor:
    """Follows one log file: each `read_new()` returns the complete lines appended since."""

    def __init__(self, path: Path, offset: int) -> None:
        self.path = path
        self.offset = offset
        self._pending = b""

    def read_new(self, max_bytes: int = 1 << 20) -> list[LogLine]:
        try:
            with self.path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size < self.offset:  # truncated or replaced: start over
                    self.offset = 0
                    self._pending = b""
                if size == self.offset:
                    return []
                handle.seek(self.offset)
                chunk = handle.read(max_bytes)
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        data = self._pending + chunk
        complete, _, rest = data.rpartition(b"\n")
        if not _:
            self._pending = data
            return []
        self._pending = rest
        return [parse_line(raw) for raw in (complete + b"\n").splitlines(keepends=True)]


class PodLogs:
    """The logs directory of one simulator; paths are derived, never stored."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def container_dir(self, namespace: str, pod: str, container: str) -> Path:
        return self.root / namespace / pod / container

    def path(self, namespace: str, pod: str, container: str, restart_count: int) -> Path:
        return self.container_dir(namespace, pod, container) / f"{restart_count}.log"

    def writable_path(self, namespace: str, pod: str, container: str, restart_count: int) -> Path:
        """For the kubelet: the file of this container run, its directories created."""
        target = self.path(namespace, pod, container, restart_count)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def restart_counts(self, namespace: str, pod: str, container: str) -> list[int]:
        """The runs that have a log file, oldest first."""
        directory = self.container_dir(namespace, pod, container)
        try:
            names = os.listdir(directory)
        except (FileNotFoundError, NotADirectoryError):
            return []
        counts = []
        for name in names:
            stem, dot, ext = name.partition(".")
            if dot and ext == "log" and stem.isdigit():
                counts.append(int(stem))
        return sorted(counts)

    def remove_pod(self, namespace: str, pod: str) -> None:
        """Drop a deleted pod's logs (the kubelet calls this once the pod is gone)."""
        shutil.rmtree(self.root / namespace / pod, ignore_errors=True)

    def read(
        self,
        path: Path,
        *,
        tail: int | None = None,
        timestamps: bool = False,
        since: datetime | None = None,
        limit_bytes: int | None = None,
        follow: bool = False,
    ) -> tuple[bytes, int]:
        """The selected part of a log file and the offset a follower continues from.

        When following, an unfinished last line is left for the follower to complete.
        """
        size = path.stat().st_size
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if tail is not None:
            raws = tail_lines(path, tail)
        else:
            with path.open("rb") as handle:
                raws = handle.read(size).splitlines(keepends=True)
        if follow and raws and not raws[-1].endswith(b"\n"):
            size -= len(raws[-1])  # an unfinished last line is left to the follower
            raws = raws[:-1]
        data = render(
            (parse_line(raw) for raw in raws),
            timestamps=timestamps,
            fallback_time=mtime,
            since=since,
        )
        if limit_bytes is not None:
            data = data[:limit_bytes]
        return data, size
