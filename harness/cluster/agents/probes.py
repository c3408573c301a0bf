"""Probe workers: liveness, readiness and startup probes of one container, as the kubelet runs them.

ProbeWorker is upstream pkg/kubelet/prober/worker.go (initial results, thresholds, startup gating,
hold after a kill); the http/tcp/exec probers follow pkg/probe, messages included.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import signal
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness._process import ServiceUser
from harness.timescale import TimeScale

__all__ = [
    "PROBE_USER_AGENT",
    "ContainerView",
    "ProbeKind",
    "ProbeOutcome",
    "ProbeResult",
    "ProbeSpec",
    "ProbeWorker",
    "exec_probe",
    "http_probe",
    "tcp_probe",
]

log = logging.getLogger("harness.kubelet.probes")

#: what kubelet 1.31 sends (pkg/probe/http/request.go: "kube-probe/<major>.<minor>")
PROBE_USER_AGENT = "kube-probe/1.31"
_MAX_BODY = 10 * 1024


class ProbeKind(enum.Enum):
    LIVENESS = "Liveness"
    READINESS = "Readiness"
    STARTUP = "Startup"

    @property
    def initial(self) -> ProbeResult:
        """worker.go newWorker: readiness starts failed, liveness passed, startup unknown."""
        return {
            ProbeKind.READINESS: ProbeResult.FAILURE,
            ProbeKind.LIVENESS: ProbeResult.SUCCESS,
            ProbeKind.STARTUP: ProbeResult.UNKNOWN,
        }[self]


class ProbeResult(enum.Enum):
    SUCCESS = "Success"
    FAILURE = "Failure"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class ProbeOutcome:
    """One probe's verdict and the text upstream puts into the Unhealthy event."""

    result: ProbeResult
    output: str = ""


@dataclass(frozen=True)
class ProbeSpec:
    """A container probe with the defaults of pkg/apis/core/v1/defaults.go (rule 27)."""

    handler: Mapping[str, Any]
    initial_delay_seconds: int = 0
    period_seconds: int = 10
    timeout_seconds: int = 1
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def from_manifest(cls, probe: Mapping[str, Any], kind: ProbeKind) -> ProbeSpec:
        def positive(key: str, default: int) -> int:
            value = probe.get(key)
            return int(value) if isinstance(value, int) and value > 0 else default

        success = positive("successThreshold", 1)
        if kind is not ProbeKind.READINESS:
            success = 1  # validation requires 1 for liveness and startup
        handler = {k: v for k, v in probe.items() if k in ("httpGet", "tcpSocket", "exec", "grpc")}
        delay = probe.get("initialDelaySeconds")
        return cls(
            handler=handler,
            initial_delay_seconds=int(delay) if isinstance(delay, int) and delay > 0 else 0,
            period_seconds=positive("periodSeconds", 10),
            timeout_seconds=positive("timeoutSeconds", 1),
            success_threshold=success,
            failure_threshold=positive("failureThreshold", 3),
        )


@dataclass(frozen=True)
class ContainerView:
    """What a probe worker reads of its container on each tick (the kubelet's status cache)."""

    container_id: str  # "" while no container exists
    running: bool
    terminated: bool
    started: bool  # the container's startup probe passed (or it has none)
    running_for: float  # Kubernetes seconds since the current run started
    restart_never: bool
    deleting: bool
    pod_terminal: bool = False


Prober = Callable[[], Awaitable[ProbeOutcome]]


class ProbeWorker:
    """One probe of one container (worker.go). `step()` is doProbe; `run()` ticks it every
    period. `on_result(worker, result)` is called whenever the stored result is set to a new
    value, and for every failure that kills (liveness, startup) so the owner restarts."""

    def __init__(
        self,
        kind: ProbeKind,
        spec: ProbeSpec,
        prober: Prober,
        on_result: Callable[[ProbeWorker, ProbeResult], None],
    ) -> None:
        self.kind = kind
        self.spec = spec
        self.prober = prober
        self.on_result = on_result
        self.result = kind.initial
        self.container_id = ""
        self.on_hold = False
        self.last_result = ProbeResult.UNKNOWN
        self.result_run = 0

    def _set(self, result: ProbeResult, *, always: bool = False) -> None:
        changed = result != self.result
        self.result = result
        if changed or always:
            self.on_result(self, result)

    async def step(self, view: ContainerView) -> bool:
        """One doProbe; False means the worker should stop."""
        if view.pod_terminal:
            return False
        if not view.container_id:
            return True  # no container yet: wait for more information
        if view.container_id != self.container_id:
            self.container_id = view.container_id
            self._set(self.kind.initial)
            self.on_hold = False  # a new container: resume probing
            self.last_result = ProbeResult.UNKNOWN
            self.result_run = 0
        if self.on_hold:
            return True
        if not view.running:
            self._set(ProbeResult.FAILURE)
            return not view.terminated or not view.restart_never
        if view.deleting and self.kind in (ProbeKind.LIVENESS, ProbeKind.STARTUP):
            self._set(ProbeResult.SUCCESS)  # quiet shutdown
            return False
        if int(view.running_for) < self.spec.initial_delay_seconds:
            return True
        if view.started:
            if self.kind is ProbeKind.STARTUP:
                return True
        elif self.kind is not ProbeKind.STARTUP:
            return True
        outcome = await self.prober()
        result = outcome.result
        if result is ProbeResult.UNKNOWN:
            return True  # a prober error: the result is thrown away
        if result == self.last_result:
            self.result_run += 1
        else:
            self.last_result = result
            self.result_run = 1
        if (result is ProbeResult.FAILURE and self.result_run < self.spec.failure_threshold) or (
            result is ProbeResult.SUCCESS and self.result_run < self.spec.success_threshold
        ):
            return True
        kills = result is ProbeResult.FAILURE and self.kind in (
            ProbeKind.LIVENESS,
            ProbeKind.STARTUP,
        )
        self._set(result, always=kills)
        if kills:
            # Hold until a new container ID appears (worker.go, kubernetes#21751).
            self.on_hold = True
            self.result_run = 0
        return True

    async def run(
        self, view: Callable[[], ContainerView], time_scale: TimeScale, stop: asyncio.Event
    ) -> None:
        """Probe once at once, then every period (scaled), until stopped or told to stop."""
        period = time_scale.real(self.spec.period_seconds)
        while not stop.is_set():
            try:
                if not await self.step(view()):
                    return
            except asyncio.CancelledError:
                raise
            except Exception:  # a probe bug must not end the pod's probing
                log.exception("%s probe failed unexpectedly", self.kind.value)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), period)


# -- probers (pkg/probe/http, tcp, exec) -------------------------------------------------------
def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def http_probe(
    *,
    scheme: str,
    host: str,
    port: int,
    path: str,
    headers: Sequence[Mapping[str, str]] = (),
    timeout: float,
) -> ProbeOutcome:
    """GET with Connection: close; 200-399 is success (pkg/probe/http/http.go)."""
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme.lower()}://{_host_port(host, port)}{path}"
    sent = {
        "Host": _host_port(host, port),
        "User-Agent": PROBE_USER_AGENT,
        "Accept": "*/*",
    }
    for header in headers:
        name, value = str(header.get("name", "")), str(header.get("value", ""))
        if name:
            # a header named in the probe replaces the default of that name
            sent = {k: v for k, v in sent.items() if k.lower() != name.lower()}
            sent[name] = value
    request = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in sent.items())
    request += "Connection: close\r\n\r\n"

    async def exchange() -> tuple[int, bytes]:
        context = None
        if scheme.upper() == "HTTPS":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the kubelet skips verification too
        reader, writer = await asyncio.open_connection(host, port, ssl=context)
        try:
            writer.write(request.encode("latin-1"))
            await writer.drain()
            status_line = await reader.readline()
            parts = status_line.decode("latin-1").split()
            if len(parts) < 2 or not parts[1].isdigit():
                raise ConnectionError("malformed HTTP response")
            body = b""
            with contextlib.suppress(Exception):
                body = await asyncio.wait_for(reader.read(_MAX_BODY), 0.05)
            return int(parts[1]), body
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    try:
        code, _ = await asyncio.wait_for(exchange(), timeout)
    except TimeoutError:
        return ProbeOutcome(
            ProbeResult.FAILURE,
            f'Get "{url}": context deadline exceeded '
            "(Client.Timeout exceeded while awaiting headers)",
        )
    except ConnectionRefusedError:
        return ProbeOutcome(
            ProbeResult.FAILURE,
            f'Get "{url}": dial tcp {_host_port(host, port)}: connect: connection refused',
        )
    except OSError as exc:
        return ProbeOutcome(ProbeResult.FAILURE, f'Get "{url}": {exc.strerror or exc}')
    if 200 <= code < 400:
        return ProbeOutcome(ProbeResult.SUCCESS)
    return ProbeOutcome(ProbeResult.FAILURE, f"HTTP probe failed with statuscode: {code}")


async def tcp_probe(*, host: str, port: int, timeout: float) -> ProbeOutcome:
    """A connect that succeeds is success (pkg/probe/tcp/tcp.go)."""
    address = _host_port(host, port)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return ProbeOutcome(ProbeResult.FAILURE, f"dial tcp {address}: i/o timeout")
    except ConnectionRefusedError:
        return ProbeOutcome(ProbeResult.FAILURE, f"dial tcp {address}: connect: connection refused")
    except OSError as exc:
        return ProbeOutcome(ProbeResult.FAILURE, f"dial tcp {address}: {exc.strerror or exc}")
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return ProbeOutcome(ProbeResult.SUCCESS)


async def exec_probe(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None,
    timeout: float,
    command: Sequence[str] | None = None,
    user: ServiceUser | None = None,
) -> ProbeOutcome:
    """Run `argv` (the command, already wrapped to run as the pod's user in its namespace);
    exit 0 is success, the output is the message (pkg/probe/exec/exec.go). `command` is the
    probe's own command, for the timeout message; `user`: the account the fork switches to."""
    switch: dict[str, Any] = {}
    if user is not None:
        switch = {"user": user.uid, "group": user.gid, "extra_groups": []}
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            **switch,
        )
    except OSError as exc:
        return ProbeOutcome(ProbeResult.FAILURE, f"exec: {exc.strerror or exc}")
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            await process.wait()
        shown = " ".join(command if command is not None else argv)
        return ProbeOutcome(ProbeResult.FAILURE, f'command "{shown}" timed out')
    text = output.decode("utf-8", errors="replace")[:_MAX_BODY]
    if process.returncode == 0:
        return ProbeOutcome(ProbeResult.SUCCESS, text)
    return ProbeOutcome(ProbeResult.FAILURE, text)
