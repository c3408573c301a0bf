"""SimulatedCluster: the embedded Kubernetes API simulator as a harness Service, with its
kubeconfig, an official-client factory and a kubectl (1.29 or newer) bound to it.

    with SimulatedCluster() as cluster:
        cluster.kubectl("apply", "-f", "deploy.yaml")
        apps = kubernetes.client.AppsV1Api(cluster.api_client())
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import settings
from harness._process import ManagedProcess
from harness._reaper import owned_run
from harness._wait import Deadline, wait_until
from harness.cluster.kubeconfig import CONTEXT_NAME, read_kubeconfig
from harness.errors import BinaryNotFoundError, HarnessError, ServiceError
from harness.lifecycle import Service
from harness.ports import claim_port

__all__ = [
    "KUBECTL_ENV",
    "MIN_KUBECTL",
    "KubectlBinary",
    "KubectlError",
    "SimulatedCluster",
    "find_kubectl",
    "kubectl_binaries",
]

KUBECTL_ENV = settings.KUBECTL.name
#: 1.27 and 1.28 validate with OpenAPI v2 protobuf, which the simulator does not serve
MIN_KUBECTL = (1, 29)
_HOST = "127.0.0.1"
_VERSIONED = re.compile(r"^kubectl[.-]v?(\d+)\.(\d+)$")
_KUBECTL_HINT = (
    f"install kubectl {MIN_KUBECTL[0]}.{MIN_KUBECTL[1]} or newer, or set {KUBECTL_ENV} to its path "
    "(1.27 and 1.28 need OpenAPI v2 protobuf, which the simulator does not serve)"
)


@dataclass(frozen=True, order=True)
class KubectlBinary:
    """A kubectl client binary and its (major, minor) version."""

    version: tuple[int, int]
    path: str

    def __str__(self) -> str:
        return f"kubectl {self.version[0]}.{self.version[1]} ({self.path})"


class KubectlError(ServiceError):
    """kubectl exited non-zero where the caller asked for success (check=True)."""

    def __init__(self, args: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        self.args_ = tuple(args)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(
            f"kubectl {' '.join(args)} exited with code {returncode}: "
            f"{stderr.strip() or stdout.strip() or '(no output)'}",
            service="kubectl",
        )


def _client_version(path: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [path, "version", "--client", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout
        info = json.loads(out)["clientVersion"]
        return int(info["major"]), int(re.sub(r"\D.*$", "", info["minor"]))
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None


@functools.cache
def kubectl_binaries() -> tuple[KubectlBinary, ...]:
    """Every kubectl found, oldest first: $HARNESS_KUBECTL, the kubectl on PATH, and the
    versioned binaries beside it (kubectl.1.33, as dispatcher installs ship them)."""
    found: dict[str, KubectlBinary] = {}
    candidates: list[str] = []
    override = settings.kubectl_override()
    if override:
        resolved = shutil.which(override)
        if resolved is None:
            raise BinaryNotFoundError("kubectl", [f"{KUBECTL_ENV}={override}"], _KUBECTL_HINT)
        candidates.append(resolved)
    on_path = shutil.which("kubectl")
    if on_path:
        directories = {Path(on_path).parent, Path(os.path.realpath(on_path)).parent}
        for directory in sorted(directories):
            try:
                names = sorted(os.listdir(directory))
            except OSError:
                continue
            for name in names:
                match = _VERSIONED.match(name)
                path = str(directory / name)
                if match and os.access(path, os.X_OK):
                    version = (int(match.group(1)), int(match.group(2)))
                    found[os.path.realpath(path)] = KubectlBinary(version, path)
        candidates.append(on_path)
    for path in candidates:
        real = os.path.realpath(path)
        if real in found:
            continue
        detected = _client_version(path)
        if detected is not None:
            found[real] = KubectlBinary(detected, path)
    return tuple(sorted(found.values()))


def find_kubectl(
    minimum: tuple[int, int] = MIN_KUBECTL, prefer: tuple[int, int] | None = None
) -> KubectlBinary:
    """$HARNESS_KUBECTL when set (it must be new enough); else the kubectl of version `prefer`
    (the server's, as a kubectl dispatcher would choose); else the newest one found."""
    binaries = kubectl_binaries()
    override = settings.kubectl_override()
    if override:
        chosen = [b for b in binaries if b.path == shutil.which(override)]
        if chosen and chosen[0].version >= minimum:
            return chosen[0]
    usable = [b for b in binaries if b.version >= minimum]
    matching = [b for b in usable if b.version == prefer]
    if matching:
        return matching[0]
    if not usable:
        searched = [str(b) for b in binaries] or ["PATH"]
        raise BinaryNotFoundError(f"kubectl >= {minimum[0]}.{minimum[1]}", searched, _KUBECTL_HINT)
    return usable[-1]


def _server_minor() -> tuple[int, int]:
    from harness.cluster.simulator.http.discovery import SERVER_VERSION

    major, minor = SERVER_VERSION.lstrip("v").split(".")[:2]
    return int(major), int(minor)


class SimulatedCluster(Service):
    """The simulator process on a claimed loopback port, ready when /readyz answers 200.

    `kubeconfig` is written by the simulator itself (mode 0600, a fresh token per start);
    `token` is read from it and never logged. `kubectl()` runs with this kubeconfig and a
    discovery cache of its own (kubectl caches discovery for 6 h per host:port).
    """

    kind = "cluster simulator"
    default_timeout = 30.0

    def __init__(
        self,
        name: str = "simulator",
        *,
        port: int | None = None,
        kubectl: str | KubectlBinary | None = None,
        bookmark_interval: float | None = None,
        watch_history: int | None = None,
        access_log: bool = False,
        config_file: str | Path | None = None,
        time_scale: float | None = None,
        node_count: int | None = None,
        zones: Sequence[str] | None = None,
        controllers: bool = True,
        agents: bool = True,
    ) -> None:
        """`port`: a fixed port (PortError when taken), else a free one; `kubectl`: the
        binary `kubectl()` runs (default: the one matching the server's minor version, as a
        kubectl dispatcher picks, else the newest >= 1.29); `bookmark_interval` and
        `watch_history` tune watch BOOKMARK frequency and the 410 window (tests);
        `config_file` (a TOML with [tool.harness]), `time_scale` and `node_count` set up the
        cluster (config.py); `controllers` and `agents` False serve a bare API server."""
        super().__init__()
        self._config_file = Path(config_file).resolve() if config_file is not None else None
        self._time_scale = time_scale
        self._node_count = node_count
        self._zones = tuple(zones) if zones else None
        self._controllers = controllers
        self._agents = agents
        self._ready_line = False
        self.name = name
        self._requested_port = port
        self._kubectl_choice = kubectl
        self._bookmark_interval = bookmark_interval
        self._watch_history = watch_history
        self._access_log = access_log
        self._port: int | None = None
        self._token: str | None = None
        self._directory: Path | None = None
        self.process: ManagedProcess | None = None
        self.exit_code: int | None = None

    # -- paths and addresses ------------------------------------------------------------
    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def port(self) -> int:
        if self._port is None:
            raise HarnessError(f"{self.label} has no port yet: start() it first")
        return self._port

    @property
    def endpoint(self) -> str:
        return f"{_HOST}:{self.port}"

    @property
    def url(self) -> str:
        return self.server

    @property
    def server(self) -> str:
        """The API server URL, as written in the kubeconfig (https: kubectl sends its token
        only over TLS)."""
        return f"https://{self.endpoint}"

    @property
    def directory(self) -> Path:
        if self._directory is None:
            raise HarnessError(f"{self.label} has no directory yet: start() it first")
        return self._directory

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    @property
    def logs_dir(self) -> Path:
        """Pod container logs: <ns>/<pod>/<container>/<restartCount>.log (see podlogs.py)."""
        return self.directory / "pod-logs"

    @property
    def agents_log_path(self) -> Path:
        """The node agents' process log (scheduler, kubelets, proxy)."""
        return self.directory / "agents.log"

    @property
    def kube_cache_dir(self) -> Path:
        return self.directory / "kubecache"

    @property
    def log_path(self) -> Path:
        return self.directory / "simulator.log"

    @property
    def token(self) -> str:
        """The bearer token of the kubeconfig user. Never log it."""
        if self._token is None:
            raise HarnessError(f"{self.label} has no token yet: start() it first")
        return self._token

    # -- lifecycle ------------------------------------------------------------------------
    def _start(self, deadline: Deadline) -> None:
        claim = claim_port(self._requested_port, _HOST)
        self.on_stop(f"release port {claim.port}", claim.release)
        self._port = claim.port
        self._directory = owned_run().path("cluster", f"{self.name}-{claim.port}")
        self.kubeconfig.unlink(missing_ok=True)
        argv = [
            sys.executable,
            "-m",
            "harness.cluster.simulator",
            "--kubeconfig",
            str(self.kubeconfig),
            "--port",
            str(claim.port),
            "--logs-dir",
            str(self.logs_dir),
        ]
        if self._bookmark_interval is not None:
            argv += ["--bookmark-interval", str(self._bookmark_interval)]
        if self._watch_history is not None:
            argv += ["--watch-history", str(self._watch_history)]
        if self._access_log:
            argv.append("--access-log")
        if self._config_file is not None:
            argv += ["--config", str(self._config_file)]
        if self._time_scale is not None:
            argv += ["--time-scale", repr(self._time_scale)]
        if self._node_count is not None:
            argv += ["--node-count", str(self._node_count)]
        if self._zones:
            argv += ["--zones", ",".join(self._zones)]
        if not self._controllers:
            argv.append("--no-controllers")
        if not self._agents:
            argv.append("--no-agents")
        self.process = ManagedProcess(
            self.label, argv, log_path=self.log_path, env={"PYTHONUNBUFFERED": "1"}
        )
        self.process.start()
        self.on_stop(f"stop {self.label} (pid {self.process.pid})", self._stop_process)

    def _stop_process(self) -> None:
        if self.process is not None:
            self.exit_code = self.process.stop()

    def wait_ready(self, deadline: Deadline | None = None) -> None:
        deadline = deadline or Deadline.after(self.default_timeout)
        wait_until(
            self._ready,
            deadline=deadline,
            service=self.label,
            endpoint=self.endpoint,
            condition=(
                "GET /readyz answered 200 and the simulator printed its ready line (after the "
                "node agents reported ready)"
            ),
            process=self.process,
            interval=0.01,
            max_interval=0.1,
            hint=(
                f"the simulator's log is {self.log_path}; the node agents' log is "
                f"{self.agents_log_path}"
            ),
        )
        self._token = read_kubeconfig(self.kubeconfig, CONTEXT_NAME).token

    def _ready(self) -> bool:
        # The probe carries no credentials, so it need not verify the throwaway CA.
        probe_tls = ssl._create_unverified_context()
        connection = http.client.HTTPSConnection(_HOST, self.port, timeout=1.0, context=probe_tls)
        try:
            connection.request("GET", "/readyz")
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise ServiceError(f"/readyz answered {response.status}", service=self.label)
        finally:
            connection.close()
        return self.kubeconfig.exists() and self._printed_ready()

    def _printed_ready(self) -> bool:
        """The ready line comes after the node agents are ready (when they run)."""
        if not self._ready_line:
            try:
                with self.log_path.open("rb") as handle:
                    self._ready_line = any(line.startswith(b"simulator ready ") for line in handle)
            except OSError:
                return False
        return self._ready_line

    # -- clients ---------------------------------------------------------------------------
    def api_client(self) -> Any:
        """A `kubernetes.client.ApiClient` configured from the kubeconfig."""
        from kubernetes import config

        factory: Any = config.new_client_from_config
        return factory(config_file=str(self.kubeconfig), context=CONTEXT_NAME)

    @functools.cached_property
    def kubectl_binary(self) -> KubectlBinary:
        choice = self._kubectl_choice
        if isinstance(choice, KubectlBinary):
            return choice
        if isinstance(choice, str):
            for binary in kubectl_binaries():
                if binary.path == choice or os.path.realpath(binary.path) == os.path.realpath(
                    choice
                ):
                    return binary
            version = _client_version(choice)
            if version is None:
                raise BinaryNotFoundError(choice, [], _KUBECTL_HINT)
            return KubectlBinary(version, choice)
        return find_kubectl(prefer=_server_minor())

    def kubectl_env(self) -> dict[str, str]:
        """The environment kubectl runs in: this kubeconfig and a per-cluster discovery cache."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["KUBECACHEDIR"] = str(self.kube_cache_dir)
        return env

    def kubectl(
        self,
        *args: str,
        check: bool = True,
        input: str | None = None,
        timeout: float = 60.0,
        binary: str | KubectlBinary | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster; KubectlError on a non-zero exit when `check`."""
        if binary is None:
            path = self.kubectl_binary.path
        else:
            path = binary.path if isinstance(binary, KubectlBinary) else binary
        completed = subprocess.run(
            [path, *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.kubectl_env(),
            timeout=timeout,
            check=False,
        )
        if check and completed.returncode != 0:
            raise KubectlError(args, completed.returncode, completed.stdout, completed.stderr)
        return completed
