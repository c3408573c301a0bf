"""One k6 process: its environment, a wrapper script around the user's script, and the
watch on it (hard timeout, CPU sampling, k6's own error message out of its log)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from harness._process import ManagedProcess, read_tail
from harness.load.k6 import K6Binary
from harness.load.result import TREND_STATS, K6Usage
from harness.load.thresholds import Threshold

__all__ = ["K6Process", "write_wrapper"]

#: the k6 exit codes (k6/errext/exitcodes) the harness tells apart; any other is a K6RunError
EXIT_OK = 0
EXIT_THRESHOLDS_FAILED = 99
EXIT_INVALID_CONFIG = 104
EXIT_EXTERNAL_ABORT = 105
EXIT_SCRIPT_EXCEPTION = 107

_WRAPPER = """\
// Written by harness.load for one run; the harness' wrapper around {script_name}.
// Its own exports win over the script's: thresholds and summary statistics from Python,
// and handleSummary() writing k6's end-of-test data as JSON (not --summary-export).
import * as script from {script_url};
export * from {script_url};

const harnessThresholds = {thresholds};
export const options = Object.assign({{}}, script.options || {{}}, {{
  thresholds: Object.assign({{}}, (script.options || {{}}).thresholds || {{}}, harnessThresholds),
  summaryTrendStats: {trend_stats},
}});

export default script.default;

export function handleSummary(data) {{
  return {{ [{summary_path}]: JSON.stringify(data, null, 1) }};
}}
"""


def write_wrapper(
    path: Path, script: Path, thresholds: Sequence[Threshold], summary_path: Path
) -> Path:
    """The wrapper k6 runs: the script with the harness' thresholds and handleSummary()."""
    grouped: dict[str, list[str | dict[str, object]]] = {}
    for threshold in thresholds:
        grouped.setdefault(threshold.metric, []).append(threshold.k6())
    stats = list(TREND_STATS)
    for threshold in thresholds:
        if threshold.percentile is not None and threshold.aggregation not in stats:
            stats.append(threshold.aggregation)
    path.write_text(
        _WRAPPER.format(
            script_name=script.name,
            script_url=json.dumps(script.resolve().as_uri()),
            thresholds=json.dumps(grouped, indent=2),
            trend_stats=json.dumps(stats),
            summary_path=json.dumps(str(summary_path)),
        )
    )
    return path


_LOG_LINE = re.compile(r'level=(?P<level>\w+) msg="(?P<msg>(?:[^"\\]|\\.)*)"(?P<rest>.*)$')


def k6_message(log_path: Path, lines: int = 400) -> str:
    """k6's own error lines (level=error, with their hints), unescaped; else the log's tail."""
    tail = read_tail(log_path, lines=lines, max_bytes=256 * 1024)
    messages = []
    for line in tail.splitlines():
        match = _LOG_LINE.search(line)
        if match is None or match.group("level") not in ("error", "fatal"):
            continue
        try:
            text = json.loads(f'"{match.group("msg")}"')
        except ValueError:
            text = match.group("msg")
        hint = re.search(r'hint="((?:[^"\\]|\\.)*)"', match.group("rest"))
        text = str(text).rstrip()
        if hint:
            text += f" (hint: {hint.group(1)})"
        messages.append(text)
    if messages:
        return "\n".join(messages[-10:])
    return "\n".join(tail.splitlines()[-15:])


class K6Process:
    """k6 running one wrapper script, in its own process group and tagged with the run id
    (ManagedProcess), its output in `log_path`, its CPU use sampled while it runs."""

    def __init__(
        self,
        binary: K6Binary,
        wrapper: Path,
        *,
        env: Mapping[str, str],
        log_path: Path,
        extra_args: Sequence[str] = (),
        label: str = "k6",
    ) -> None:
        self.binary = binary
        self.log_path = log_path
        argv = [
            str(binary.path),
            "run",
            "--quiet",
            "--no-color",
            "--no-usage-report",
            "--address=",  # no REST API port (k6 opens localhost:6565 by default)
            *extra_args,
            str(wrapper),
        ]
        self._process = ManagedProcess(
            label,
            argv,
            log_path=log_path,
            env=env,
            cwd=wrapper.parent,
            stop_signal=signal.SIGINT,  # k6 stops generating, still runs handleSummary()
        )
        self._cpu_seconds = 0.0
        self._peak_rss = 0
        self._began = 0.0
        self._ended = 0.0
        self._stop_sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    @property
    def argv(self) -> list[str]:
        return self._process.argv

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> K6Process:
        self.log_path.unlink(missing_ok=True)
        self._process.start()
        self._began = time.monotonic()
        self._sampler = threading.Thread(target=self._sample, name="k6-cpu", daemon=True)
        self._sampler.start()
        return self

    def _sample(self) -> None:
        pid = self._process.pid
        if pid is None:
            return
        try:
            process = psutil.Process(pid)
            while not self._stop_sampling.is_set():
                with process.oneshot():
                    times = process.cpu_times()
                    self._cpu_seconds = times.user + times.system
                    self._peak_rss = max(self._peak_rss, process.memory_info().rss)
                self._stop_sampling.wait(0.2)
        except psutil.Error:
            return  # it exited: the last sample stands

    def poll(self) -> int | None:
        return self._process.poll()

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None when it still runs after `timeout` seconds."""
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._finish()
        return code

    def interrupt(self, grace: float) -> int | None:
        """SIGINT (k6 ends the test and writes its summary), SIGKILL after `grace` seconds."""
        code = self._process.stop(timeout=grace)
        self._finish()
        return code

    def _finish(self) -> None:
        if not self._ended:
            self._ended = time.monotonic()
        self._stop_sampling.set()
        if self._sampler is not None:
            self._sampler.join(timeout=2)
        self._process.stop(timeout=1)  # reaps the group and the pid record

    def usage(self) -> K6Usage:
        end = self._ended or time.monotonic()
        return K6Usage(
            cpu_seconds=self._cpu_seconds,
            wall_seconds=max(0.0, end - self._began),
            peak_rss_mb=self._peak_rss / 2**20,
            cpu_count=os.cpu_count() or 1,
        )

    def message(self) -> str:
        return k6_message(self.log_path)
