"""K6Run: one k6 run against a loopback target, gated or not, into a typed LoadResult.

It checks the target answers before k6 starts, holds the machine-wide measurement lock,
bounds k6 in time, keeps k6's HTML report and summary in the run's report directory.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import os
import re
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from harness import settings
from harness._wait import Deadline, poll
from harness.errors import ConfigurationError
from harness.load.background import BackgroundLoad
from harness.load.errors import (
    K6RunError,
    K6ScriptError,
    LoadTargetError,
    TargetUnreachableError,
    TimeScaleError,
)
from harness.load.gate import PLATFORM_GATE, LoadGate
from harness.load.k6 import K6Binary, find_k6
from harness.load.lock import MeasurementLock
from harness.load.process import (
    EXIT_EXTERNAL_ABORT,
    EXIT_INVALID_CONFIG,
    EXIT_OK,
    EXIT_SCRIPT_EXCEPTION,
    EXIT_THRESHOLDS_FAILED,
    K6Process,
    write_wrapper,
)
from harness.load.result import LoadResult, MachineLoad, SummaryError, Verdict, parse_summary
from harness.load.shape import LoadShape
from harness.load.thresholds import Threshold

__all__ = ["REPORTS_ENV", "SCRIPTS_DIR", "K6Run", "LoadTarget", "default_report_dir"]

REPORTS_ENV = settings.REPORTS_DIR.name
#: the repository's k6 scripts; a script given by bare name is looked up here
SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "k6"
#: k6 needs a moment to start and to write its summary and report after the load ends
_START_AND_FINISH = 30.0
_STOP_GRACE = 20.0


class LoadTarget(Protocol):
    """Anything with the app's URL and the cluster's time scale: Endpoints, an Environment's
    endpoints, an attached environment's."""

    @property
    def app_url(self) -> str: ...

    @property
    def time_scale(self) -> float: ...


def default_report_dir(name: str) -> Path:
    """reports/<name>/ under the working directory (or $HARNESS_REPORTS_DIR/<name>/)."""
    root = settings.reports_root()
    return (root / _slug(name)).resolve()


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")
    if not slug:
        raise ConfigurationError(f"load run name {name!r} has no usable characters")
    return slug


def _resolve_script(script: str | Path) -> Path:
    path = Path(script)
    candidates = [path] if path.is_absolute() or path.parent != Path() else []
    candidates += [SCRIPTS_DIR / path, Path.cwd() / "fixtures" / "k6" / path, path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigurationError(
        f"k6 script {script} not found (looked in {', '.join(str(c) for c in candidates)})"
    )


def check_loopback(url: str) -> None:
    """Loads stay on this machine: an http(s) URL whose host is a loopback address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LoadTargetError(url, "expected http://host:port")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise LoadTargetError(url, f"{parts.hostname} does not resolve: {exc}") from exc
    addresses = {str(info[4][0]) for info in infos}
    remote = sorted(a for a in addresses if not ipaddress.ip_address(a).is_loopback)
    if remote:
        raise LoadTargetError(
            url,
            f"{parts.hostname} resolves to {', '.join(remote)}, not a loopback address; loads "
            "target this machine only (pass allow_remote=True to K6Run to load another host)",
        )


def probe_target(url: str, path: str, timeout: float) -> float:
    """Fail fast when nothing answers at `url`: any HTTP answer will do. Seconds it took."""
    deadline = Deadline.after(timeout)
    parts = urlsplit(url)
    connection_type = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )

    def answers() -> bool:
        connection = connection_type(
            parts.hostname or "", parts.port, timeout=max(0.2, min(2.0, deadline.remaining()))
        )
        try:
            connection.request("GET", path, headers={"User-Agent": "harness-load-probe"})
            connection.getresponse().read()
            return True
        finally:
            connection.close()

    # The last try starts while 0.3 s are left: a connection timeout never outlives the caller.
    outcome = poll(
        answers,
        deadline=Deadline.after(max(0.0, timeout - 0.3)),
        interval=0.25,
        max_interval=0.25,
    )
    if not outcome.done:
        raise TargetUnreachableError(
            f"{url.rstrip('/')}{path}", deadline.elapsed(), outcome.last_error or "no attempt"
        )
    return deadline.elapsed()


class K6Run:
    """One k6 run: `run()` for a measured run into a LoadResult, `background()` for load
    kept up while something else happens (a switch, a rolling update).

    `gate` (default: the platform's) and `baseline` (the serving release's result, for the
    relative gate) become k6 thresholds, plus any `thresholds` given; gate=None runs
    without the gate. A gated run at a time scale other than 1.0 is refused unless
    `allow_time_scale`. The report directory (default reports/<name>/) receives
    k6-report.html, summary.json, result.json, k6.log and the wrapper script.
    """

    def __init__(
        self,
        name: str,
        target_url: str,
        *,
        shape: LoadShape | None = None,
        script: str | Path = "steady.js",
        gate: LoadGate | None = PLATFORM_GATE,
        baseline: LoadResult | None = None,
        thresholds: Sequence[Threshold] = (),
        time_scale: float = 1.0,
        allow_time_scale: bool = False,
        report_dir: Path | None = None,
        k6: K6Binary | None = None,
        lock: MeasurementLock | None = None,
        allow_remote: bool = False,
        probe_timeout: float = 3.0,
        html_report: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.target_url = target_url.rstrip("/")
        self.shape = shape or LoadShape()
        self.script = _resolve_script(script)
        self.gate = gate
        self.baseline = baseline
        self.extra_thresholds = tuple(thresholds)
        self.time_scale = time_scale
        self.allow_time_scale = allow_time_scale
        self.report_dir = report_dir.resolve() if report_dir else default_report_dir(name)
        self._k6 = k6
        self.lock = lock or MeasurementLock()
        self.allow_remote = allow_remote
        self.probe_timeout = probe_timeout
        self.html_report = html_report
        self.extra_env = dict(env or {})
        if baseline is not None:
            self._require_comparable(baseline)

    def _require_comparable(self, baseline: LoadResult) -> None:
        if self.gate is None:
            raise ConfigurationError(f"load run {self.name}: a baseline needs a gate")
        differences = []
        if baseline.shape != self.shape:
            differences.append(f"load {baseline.shape} vs {self.shape}")
        if baseline.script != self.script:
            differences.append(f"script {baseline.script.name} vs {self.script.name}")
        if baseline.time_scale != self.time_scale:
            differences.append(f"time scale {baseline.time_scale:g} vs {self.time_scale:g}")
        if differences:
            raise ConfigurationError(
                f"baseline {baseline.name} was not measured like {self.name}: "
                + "; ".join(differences)
                + ". A relative gate compares runs under the same load, back to back."
            )

    @classmethod
    def against(cls, name: str, target: LoadTarget, **options: Any) -> K6Run:
        """A run against an environment's app (its load-balancer URL), at its time scale."""
        return cls(name, target.app_url, time_scale=target.time_scale, **options)

    # -- what k6 is given -------------------------------------------------------------------
    @property
    def k6(self) -> K6Binary:
        if self._k6 is None:
            self._k6 = find_k6()
        return self._k6

    @property
    def thresholds(self) -> tuple[Threshold, ...]:
        gated = self.gate.k6_thresholds(self.baseline) if self.gate is not None else ()
        return gated + self.extra_thresholds

    @property
    def summary_path(self) -> Path:
        return self.report_dir / "summary.json"

    @property
    def html_path(self) -> Path:
        return self.report_dir / "k6-report.html"

    @property
    def log_path(self) -> Path:
        return self.report_dir / "k6.log"

    @property
    def wrapper_path(self) -> Path:
        return self.report_dir / "wrapper.js"

    @property
    def hard_timeout(self) -> float:
        """k6's own duration, its graceful stop, and time to start and finish."""
        return self.shape.duration + self.shape.graceful_stop + _START_AND_FINISH

    def k6_env(self) -> dict[str, str]:
        """k6's environment: ours without inherited K6_* settings (so a stray K6_VUS cannot
        change the load), the load shape, and the dashboard's export with its port off."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("K6_")}
        env.update(self.shape.k6_env(self.target_url))
        env["K6_NO_USAGE_REPORT"] = "true"
        if self.html_report:
            env.update(
                K6_WEB_DASHBOARD="true",
                K6_WEB_DASHBOARD_EXPORT=str(self.html_path),
                K6_WEB_DASHBOARD_PORT="-1",  # export only: no dashboard port is opened
                K6_WEB_DASHBOARD_PERIOD="1s" if self.shape.duration < 60 else "5s",
            )
        env.update(self.extra_env)
        return env

    # -- the phases of a run (run() and BackgroundLoad walk them in order) ---------------------
    def prepare(self, extra_files: Sequence[Path] = ()) -> K6Binary:
        """Everything before k6 starts: the target is a loopback address, a gate runs at time
        scale 1.0, the k6 binary is found, stale outputs (and `extra_files`) are removed, the
        wrapper script is written and the target answers. Returns the k6 to run."""
        if not self.allow_remote:
            check_loopback(self.target_url)
        gated = self.gate is not None or bool(self.extra_thresholds)
        if gated and self.time_scale != 1.0 and not self.allow_time_scale:
            raise TimeScaleError(self.name, self.time_scale)
        binary = self.k6
        self.report_dir.mkdir(parents=True, exist_ok=True)
        for stale in (self.summary_path, self.html_path, self.log_path, *extra_files):
            stale.unlink(missing_ok=True)
        (self.report_dir / "result.json").unlink(missing_ok=True)
        write_wrapper(self.wrapper_path, self.script, self.thresholds, self.summary_path)
        probe_target(self.target_url, self.shape.paths[0].replace("{n}", "0"), self.probe_timeout)
        return binary

    def start_k6(
        self, binary: K6Binary, *, extra_args: Sequence[str] = (), label: str = ""
    ) -> K6Process:
        """k6 started on the wrapper script, its output in the run's log."""
        return K6Process(
            binary,
            self.wrapper_path,
            env=self.k6_env(),
            log_path=self.log_path,
            extra_args=list(extra_args),
            label=label or f"k6 {self.name}",
        ).start()

    # -- a measured run -------------------------------------------------------------------------
    def run(self) -> LoadResult:
        """Run k6 to the end of its duration. A crossed threshold (exit 99) is a result with
        verdict FAILED; k6 refusing the script is K6ScriptError; anything else K6RunError."""
        binary = self.prepare()
        lock_wait = self.lock.acquire(self.name)
        try:
            load_before = MachineLoad.sample().load_after
            started_at = dt.datetime.now(dt.UTC)
            process = self.start_k6(binary)
            code = process.wait(self.hard_timeout)
            if code is None:
                process.interrupt(_STOP_GRACE)
                raise K6RunError(
                    f"k6 run {self.name} did not end within {self.hard_timeout:.0f}s "
                    f"({self.shape}); it was stopped",
                    script=str(self.script),
                    exit_code=None,
                    k6_message=process.message(),
                    log_path=str(self.log_path),
                )
            machine = MachineLoad.sample(load_before)
        finally:
            self.lock.release()
        return self.result(process, code, started_at, machine, lock_wait)

    def result(
        self,
        process: K6Process,
        code: int,
        started_at: dt.datetime,
        machine: MachineLoad,
        lock_wait: float,
        accept: Sequence[int] = (EXIT_OK, EXIT_THRESHOLDS_FAILED),
    ) -> LoadResult:
        """The LoadResult of an ended k6 (exit `code`), saved as result.json; a refused script
        is K6ScriptError, an exit code outside `accept` or an unusable summary K6RunError."""
        if code in (EXIT_SCRIPT_EXCEPTION, EXIT_INVALID_CONFIG):
            raise K6ScriptError(
                script=str(self.script),
                exit_code=code,
                k6_message=process.message(),
                log_path=str(self.log_path),
            )
        if code not in accept:
            raise K6RunError(
                f"k6 run {self.name} exited with code {code}",
                script=str(self.script),
                exit_code=code,
                k6_message=process.message(),
                log_path=str(self.log_path),
            )
        try:
            data = json.loads(self.summary_path.read_text())
            figures = parse_summary(data, self.thresholds)
        except (OSError, ValueError, SummaryError) as exc:
            raise K6RunError(
                f"k6 run {self.name} exited with code {code} but its summary "
                f"{self.summary_path} is unusable ({exc})",
                script=str(self.script),
                exit_code=code,
                k6_message=process.message(),
                log_path=str(self.log_path),
            ) from exc
        crossed = code == EXIT_THRESHOLDS_FAILED or not all(t.passed for t in figures.thresholds)
        result = LoadResult(
            name=self.name,
            script=self.script,
            target_url=self.target_url,
            shape=self.shape,
            started_at=started_at,
            duration=figures.duration,
            latency=figures.latency,
            requests=figures.requests,
            failed_requests=figures.failed_requests,
            requests_per_second=figures.requests_per_second,
            dropped_iterations=figures.dropped_iterations,
            thresholds=figures.thresholds,
            verdict=Verdict.FAILED if crossed else Verdict.PASSED,
            aborted=code == EXIT_EXTERNAL_ABORT
            or (code == EXIT_THRESHOLDS_FAILED and "stopping test prematurely" in _log(process)),
            exit_code=code,
            time_scale=self.time_scale,
            machine=machine,
            k6_version=self.k6.version_text,
            report_dir=self.report_dir,
            summary_path=self.summary_path,
            log_path=self.log_path,
            html_report=self.html_path if self.html_path.is_file() else None,
            k6_usage=process.usage(),
            lock_wait=lock_wait,
            statistics=figures.statistics,
        )
        (self.report_dir / "result.json").write_text(result.to_json())
        return result

    # -- load in the background -----------------------------------------------------------------
    def background(self, *, settle: float = 0.5, warmup_timeout: float = 15.0) -> BackgroundLoad:
        """A context manager keeping this load up while the block runs; see BackgroundLoad."""
        return BackgroundLoad(self, settle=settle, warmup_timeout=warmup_timeout)


def _log(process: K6Process) -> str:
    try:
        return process.log_path.read_text(errors="replace")
    except OSError:
        return ""
