"""The pod runtime: one bound pod's containers as local processes, with restarts, probes and status.

A PodRuntime starts each container as a ContainerProcess (own process group, the pod user, a
private /etc/hosts where possible), restarts it with CrashLoopBackOff, terminates it gracefully,
and reports what it sees through a PodApi, as pkg/kubelet's pod worker and status manager do.

Image mapping: an image resolves to `[tool.harness.images]` argv (ClusterConfig.image_argv).
A container's `command` replaces that whole argv; its `args` then follow the command, or,
without a command, are appended to the image argv. Everything is `$(VAR)`-expanded against the
container's environment, as Kubernetes expands command and args.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import re
import shutil
import signal
import stat
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from harness._process import ManagedProcess, ServiceUser, reachable_by, read_tail
from harness._run import current_run
from harness.cluster.agents.agent import NodeSpec
from harness.cluster.agents.expand import expand, expand_all, mapping_for
from harness.cluster.agents.hosts import render_hosts
from harness.cluster.agents.probes import (
    ContainerView,
    ProbeKind,
    ProbeOutcome,
    ProbeResult,
    ProbeSpec,
    ProbeWorker,
    exec_probe,
    http_probe,
    tcp_probe,
)
from harness.cluster.config import ClusterConfig
from harness.cluster.podlogs import PodLogs

__all__ = [
    "BACKOFF_INITIAL",
    "BACKOFF_MAX",
    "BackOff",
    "Container",
    "ContainerConfigError",
    "ContainerProcess",
    "ImageNotMapped",
    "NodeContext",
    "PodApi",
    "PodRuntime",
    "ProcessSandbox",
    "build_env",
    "container_argv",
    "go_duration",
    "hosts_file",
    "pod_phase",
    "service_env",
]

log = logging.getLogger("harness.kubelet")

JSON = dict[str, Any]

#: pkg/kubelet/kubelet.go backOffPeriod and MaxContainerBackOff (Kubernetes seconds)
BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0
#: a pod worker that failed to prepare a container (config error) retries after this
RETRY_PERIOD = 10.0
#: after preStop, a container always gets at least this much grace (minimumGracePeriodInSeconds)
MIN_GRACE_AFTER_HOOK = 2.0
#: real seconds a stopping agent gives its containers between SIGTERM and SIGKILL
AGENT_STOP_GRACE = 2.0
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_ADDRESS_IN_USE = ("Address already in use", "EADDRINUSE", "address already in use")


# -- time -------------------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(UTC)


def _rfc3339(moment: datetime) -> str:
    """metav1.Time: seconds precision, UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_duration(seconds: float) -> str:
    """time.Duration.String() for whole seconds: 10s, 1m20s, 5m0s, 1h0m0s."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


class BackOff:
    """client-go util/flowcontrol.Backoff without jitter, in Kubernetes seconds.

    `clock()` returns Kubernetes seconds (the kubelet passes scaled monotonic time), so the
    10 s .. 300 s steps and the 10 min reset are compressed by the time scale like the rest.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        initial: float = BACKOFF_INITIAL,
        maximum: float = BACKOFF_MAX,
    ) -> None:
        self.clock = clock
        self.initial = initial
        self.maximum = maximum
        self._entries: dict[str, tuple[float, float]] = {}  # key -> (backoff, last update)

    def _expired(self, event_time: float, last_update: float) -> bool:
        return event_time - last_update > 2 * self.maximum  # stable for twice the maximum

    def next(self, key: str, event_time: float) -> None:
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry[1]):
            delay = self.initial
        else:
            delay = min(entry[0] * 2, self.maximum)
        self._entries[key] = (delay, self.clock())

    def get(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry[0] if entry else 0.0

    def in_backoff_since(self, key: str, event_time: float) -> bool:
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry[1]):
            return False
        return self.clock() - event_time < entry[0]

    def remaining(self, key: str, event_time: float) -> float:
        """Kubernetes seconds until `in_backoff_since` turns false."""
        entry = self._entries.get(key)
        return 0.0 if entry is None else max(0.0, event_time + entry[0] - self.clock())

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)


# -- what the pod runtime needs from the kubelet ------------------------------------------------
class PodApi(Protocol):
    """The Kubernetes API as a pod runtime uses it; the kubelet implements it with lightkube."""

    async def patch_status(self, pod: JSON, status: JSON) -> JSON | None:
        """Write the pod's status (pods/status); the pod as stored, or None when it is gone."""
        ...

    async def record_event(
        self, pod: JSON, event_type: str, reason: str, message: str, field_path: str = ""
    ) -> None: ...

    async def get_config_map(self, namespace: str, name: str) -> JSON | None:
        """None when it does not exist."""
        ...

    async def get_secret(self, namespace: str, name: str) -> JSON | None: ...

    async def list_services(self, namespace: str) -> list[JSON]: ...

    async def delete_pod(self, pod: JSON) -> None:
        """The kubelet's final delete: gracePeriodSeconds=0 with a uid precondition."""
        ...


# -- how container processes are launched ------------------------------------------------------
class ProcessSandbox:
    """How a container becomes a process: as the pod user, with only its own environment, and,
    when `isolate` (root, unshare works), in a private mount namespace whose /etc/hosts is the
    namespace's hosts file. Every form execs down to the app, so pid and process group stay."""

    def __init__(self, user: ServiceUser | None, *, isolate: bool) -> None:
        self.user = user
        self.isolate = isolate and user is not None

    def container_argv(self, argv: Sequence[str], env: Mapping[str, str], hosts: Path) -> list[str]:
        """The argv ManagedProcess runs. ManagedProcess starts from the agent's environment,
        so `env -u` drops every variable the container was not given (the run tag stays)."""
        keep = set(env) | set(current_run().tag_env())
        unset = [arg for name in sorted(os.environ) if name not in keep for arg in ("-u", name)]
        inner = ["env", *unset, "--", *argv]
        if not self.isolate:
            return inner
        assert self.user is not None
        script = 'mount --bind "$0" /etc/hosts && exec "$@"'
        return [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            script,
            str(hosts),
            *self._drop_privileges(),
            *inner,
        ]

    def process_user(self) -> ServiceUser | None:
        """The user= of ManagedProcess: the isolated form drops privileges itself."""
        return None if self.isolate else self.user

    def exec_argv(
        self, target_pid: int | None, argv: Sequence[str]
    ) -> tuple[list[str], ServiceUser | None]:
        """A command run "in" a running container (exec probes, exec hooks): the argv, and the
        user the fork must switch to when the argv does not drop privileges itself."""
        if self.isolate and target_pid is not None:
            nsenter = ["nsenter", "--target", str(target_pid), "--mount", "--"]
            return [*nsenter, *self._drop_privileges(), *argv], None
        return list(argv), self.user

    def _drop_privileges(self) -> list[str]:
        assert self.user is not None
        return [
            "setpriv",
            "--reuid",
            str(self.user.uid),
            "--regid",
            str(self.user.gid),
            "--clear-groups",
            "--",
        ]


def hosts_file(state_dir: Path, namespace: str) -> Path:
    """<state_dir>/hosts/<namespace>, created with localhost entries when the proxy has not
    written it yet (exclusively, so a concurrent proxy write is never clobbered)."""
    path = state_dir / "hosts" / namespace
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        path.parent.chmod(0o755)
    initial = render_hosts(namespace, [])
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as handle:
        handle.write(initial)
    return path


@dataclass(frozen=True)
class NodeContext:
    """Everything of the node a pod runtime uses besides the API."""

    config: ClusterConfig
    node: NodeSpec
    logs: PodLogs
    state_dir: Path
    sandbox: ProcessSandbox
    cpu_capacity: int = field(default_factory=lambda: os.cpu_count() or 1)
    memory_capacity: int = 8 * 1024**3

    def kube_now(self) -> float:
        """Monotonic time in Kubernetes seconds (the clock of back-off and probe delays)."""
        return self.config.time_scale.kube(time.monotonic())

    def real(self, kube_seconds: float) -> float:
        return self.config.time_scale.real(kube_seconds)


# -- environment (pkg/kubelet/kubelet_pods.go makeEnvironmentVariables) -------------------------
class ContainerConfigError(Exception):
    """CreateContainerConfigError: a referenced ConfigMap, Secret or key is missing."""


class ImageNotMapped(Exception):
    """ErrImagePull: the image has no argv in the harness configuration."""


class ContainerStartError(Exception):
    """CreateContainerError: the argv cannot be run by the pod's user."""


def _env_var_name(name: str) -> str:
    return name.upper().replace("-", "_")


def service_env(services: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """pkg/kubelet/envvars FromServices: {SVC}_SERVICE_HOST/_PORT[_NAME] and the Docker
    link variables, for Services with a cluster IP."""
    result: dict[str, str] = {}
    for service in services:
        spec = service.get("spec") or {}
        ip = spec.get("clusterIP")
        ports = spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        prefix = _env_var_name(str(service["metadata"]["name"]))
        result[f"{prefix}_SERVICE_HOST"] = str(ip)
        result[f"{prefix}_SERVICE_PORT"] = str(ports[0].get("port"))
        for port in ports:
            if port.get("name"):
                result[f"{prefix}_SERVICE_PORT_{_env_var_name(str(port['name']))}"] = str(
                    port.get("port")
                )
        for i, port in enumerate(ports):
            protocol = str(port.get("protocol") or "TCP")
            number = str(port.get("port"))
            host_port = f"[{ip}]:{number}" if ":" in str(ip) else f"{ip}:{number}"
            url = f"{protocol.lower()}://{host_port}"
            if i == 0:
                result[f"{prefix}_PORT"] = url
            port_prefix = f"{prefix}_PORT_{number}_{protocol.upper()}"
            result[port_prefix] = url
            result[f"{port_prefix}_PROTO"] = protocol.lower()
            result[f"{port_prefix}_PORT"] = number
            result[f"{port_prefix}_ADDR"] = str(ip)
    return result


async def _service_env(pod: Mapping[str, Any], api: PodApi) -> dict[str, str]:
    """getServiceEnvVarMap: the pod's namespace (with enableServiceLinks) plus the master
    service `kubernetes` of the default namespace."""
    namespace = str(pod["metadata"].get("namespace") or "default")
    enabled = (pod.get("spec") or {}).get("enableServiceLinks", True) is not False
    chosen: dict[str, Mapping[str, Any]] = {}
    if enabled:
        for service in await api.list_services(namespace):
            chosen[str(service["metadata"]["name"])] = service
    if namespace != "default" or not enabled:
        for service in await api.list_services("default"):
            if service["metadata"]["name"] == "kubernetes" and "kubernetes" not in chosen:
                chosen["kubernetes"] = service
    return service_env(list(chosen.values()))


_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


def _quantity(text: Any) -> Decimal:
    match = _QUANTITY.match(str(text).strip())
    if not match or match.group(2) not in _SUFFIXES:
        raise ContainerConfigError(f"quantities must match the regular expression: {text!r}")
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2)]
    except InvalidOperation as exc:
        raise ContainerConfigError(f"invalid quantity {text!r}") from exc


def _resource_value(
    ref: Mapping[str, Any], pod: Mapping[str, Any], container: Mapping[str, Any], ctx: NodeContext
) -> str:
    """resourceFieldRef, best effort: limits fall back to node allocatable, requests to limits."""
    target = container
    if ref.get("containerName"):
        for c in (pod.get("spec") or {}).get("containers") or []:
            if c.get("name") == ref["containerName"]:
                target = c
    resource = str(ref.get("resource", ""))
    kind, _, name = resource.partition(".")
    resources = target.get("resources") or {}
    value = (resources.get(kind) or {}).get(name)
    if value is None and kind == "requests":
        value = (resources.get("limits") or {}).get(name)
    divisor = _quantity(ref.get("divisor") or "1")
    if divisor == 0:
        divisor = Decimal(1)
    if value is None:
        allocatable = {"cpu": ctx.cpu_capacity, "memory": ctx.memory_capacity}
        if name not in allocatable:
            return "0"
        amount = Decimal(allocatable[name])
    else:
        amount = _quantity(value)
    return str(math.ceil(amount / divisor))


def _field_value(path: str, pod: Mapping[str, Any]) -> str:
    """podFieldSelectorRuntimeValue and the downward API field paths."""
    metadata = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    subscript = re.match(r"^metadata\.(labels|annotations)\['(.+)'\]$", path)
    if subscript:
        return str((metadata.get(subscript.group(1)) or {}).get(subscript.group(2), ""))
    simple: dict[str, Any] = {
        "metadata.name": metadata.get("name"),
        "metadata.namespace": metadata.get("namespace"),
        "metadata.uid": metadata.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": status.get("hostIP"),
        "status.podIP": status.get("podIP"),
        "status.hostIPs": ",".join(i.get("ip", "") for i in status.get("hostIPs") or []),
        "status.podIPs": ",".join(i.get("ip", "") for i in status.get("podIPs") or []),
    }
    if path in ("metadata.labels", "metadata.annotations"):
        items = metadata.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    if path not in simple:
        raise ContainerConfigError(f'unsupported fieldPath: "{path}"')
    return str(simple[path] or "")


def _decode_secret_value(value: Any) -> str:
    import base64

    return base64.b64decode(str(value)).decode("utf-8", errors="replace")


async def build_env(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    api: PodApi,
    ctx: NodeContext,
    *,
    warn: Callable[[str, str], None] | None = None,
) -> dict[str, str]:
    """The container's environment as makeEnvironmentVariables builds it: envFrom first,
    then env in order ($(VAR) against what is declared so far and the service variables),
    then the service variables not overridden. ContainerConfigError carries upstream's text.
    `warn(reason, message)` receives InvalidEnvironmentVariableNames warnings."""
    namespace = str(pod["metadata"].get("namespace") or "default")
    services = await _service_env(pod, api)
    config_maps: dict[str, JSON] = {}
    secrets: dict[str, JSON] = {}
    declared: dict[str, str] = {}

    async def config_map(name: str, optional: bool) -> JSON | None:
        if name not in config_maps:
            found = await api.get_config_map(namespace, name)
            if found is None:
                if optional:
                    return None
                raise ContainerConfigError(f'configmap "{name}" not found')
            config_maps[name] = found
        return config_maps[name]

    async def secret(name: str, optional: bool) -> JSON | None:
        if name not in secrets:
            found = await api.get_secret(namespace, name)
            if found is None:
                if optional:
                    return None
                raise ContainerConfigError(f'secret "{name}" not found')
            secrets[name] = found
        return secrets[name]

    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix") or "")
        if source.get("configMapRef"):
            ref = source["configMapRef"]
            kind, found = (
                "configMap",
                await config_map(ref.get("name", ""), bool(ref.get("optional"))),
            )
            values = {k: str(v) for k, v in ((found or {}).get("data") or {}).items()}
        elif source.get("secretRef"):
            ref = source["secretRef"]
            kind, found = "secret", await secret(ref.get("name", ""), bool(ref.get("optional")))
            values = {
                k: _decode_secret_value(v) for k, v in ((found or {}).get("data") or {}).items()
            }
        else:
            continue
        if found is None:
            continue
        invalid = []
        for key, value in values.items():
            name = prefix + key
            if not _ENV_NAME.match(name):
                invalid.append(name)
                continue
            declared[name] = value
        if invalid and warn is not None:
            warn(
                "InvalidEnvironmentVariableNames",
                f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {kind} "
                f"{namespace}/{ref.get('name', '')} were skipped since they are considered "
                "invalid environment variable names.",
            )
    mapping = mapping_for(declared, services)
    for var in container.get("env") or []:
        name = str(var.get("name", ""))
        value = var.get("value")
        source = var.get("valueFrom")
        if value:
            runtime_value = expand(str(value), mapping)
        elif source:
            if source.get("fieldRef"):
                runtime_value = _field_value(str(source["fieldRef"].get("fieldPath", "")), pod)
            elif source.get("resourceFieldRef"):
                runtime_value = _resource_value(source["resourceFieldRef"], pod, container, ctx)
            elif source.get("configMapKeyRef"):
                ref = source["configMapKeyRef"]
                optional = bool(ref.get("optional"))
                found = await config_map(str(ref.get("name", "")), optional)
                if found is None:
                    continue
                data = found.get("data") or {}
                key = str(ref.get("key", ""))
                if key not in data:
                    if optional:
                        continue
                    raise ContainerConfigError(
                        f"couldn't find key {key} in ConfigMap {namespace}/{ref.get('name')}"
                    )
                runtime_value = str(data[key])
            elif source.get("secretKeyRef"):
                ref = source["secretKeyRef"]
                optional = bool(ref.get("optional"))
                found = await secret(str(ref.get("name", "")), optional)
                if found is None:
                    continue
                data = found.get("data") or {}
                key = str(ref.get("key", ""))
                if key not in data:
                    if optional:
                        continue
                    raise ContainerConfigError(
                        f"couldn't find key {key} in Secret {namespace}/{ref.get('name')}"
                    )
                runtime_value = _decode_secret_value(data[key])
            else:
                runtime_value = ""
        else:
            runtime_value = ""
        declared[name] = runtime_value
    result = dict(declared)
    for name, value in services.items():
        result.setdefault(name, value)
    return result


def _image_key(image: str) -> str:
    name = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[0]


def container_argv(
    config: ClusterConfig, container: Mapping[str, Any], env: Mapping[str, str]
) -> list[str]:
    """The process argv of a container (see the module docstring for the mapping)."""
    image = str(container.get("image") or "")
    command = [str(a) for a in container.get("command") or []]
    args = [str(a) for a in container.get("args") or []]
    if command:
        argv = command + args
    else:
        base = config.image_argv(image)
        if base is None:
            key = _image_key(image)
            raise ImageNotMapped(
                f'image "{image}" has no command in the harness configuration: add it to '
                f'[tool.harness.images] in pyproject.toml, e.g. "{key}" = ["python", "app.py"]'
            )
        argv = base + args
    return expand_all(argv, env)


def _readable_by(path: Path, user: ServiceUser, want: int) -> bool:
    """Mode-bit check (like reachable_by) that `user` may read (and execute) `path`."""
    if not reachable_by(path.parent, user):
        return False
    try:
        info = path.stat()
    except OSError:
        return False
    if info.st_uid == user.uid:
        bits = {os.R_OK: stat.S_IRUSR, os.X_OK: stat.S_IXUSR}
    elif info.st_gid == user.gid:
        bits = {os.R_OK: stat.S_IRGRP, os.X_OK: stat.S_IXGRP}
    else:
        bits = {os.R_OK: stat.S_IROTH, os.X_OK: stat.S_IXOTH}
    return all(info.st_mode & bits[flag] for flag in (os.R_OK, os.X_OK) if want & flag)


def check_runnable(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path, user: ServiceUser | None
) -> list[str]:
    """The argv to exec, its program resolved on PATH as exec would resolve it for the pod's
    user (entries that user may not execute are skipped, as execvp skips EACCES: root's
    pyenv shims, say). ContainerStartError when the program is missing, or the pod's user
    cannot run it or read a script the argv names (pods run unprivileged when we are root)."""
    program = argv[0]
    hint = (
        f"the harness runs pods as user {user.name} (uid {user.uid}) because it runs as root; "
        "make the file and every directory above it readable by others (chmod o+rX), "
        "or point the image at a copy that is, e.g. under /usr/local or /opt"
        if user is not None
        else ""
    )
    if "/" in program:
        candidate = (cwd / program) if not os.path.isabs(program) else Path(program)
        if not candidate.exists():
            raise ContainerStartError(f'exec: "{program}": no such file or directory')
        found = str(candidate)
        if user is not None and not _runnable_by(Path(os.path.realpath(found)), user):
            raise ContainerStartError(f"{found} cannot be executed by the pod's user: {hint}")
    else:
        path = env.get("PATH", os.defpath)
        candidates = [
            c
            for entry in path.split(os.pathsep)
            if entry and (c := shutil.which(program, path=entry)) is not None
        ]
        if not candidates:
            raise ContainerStartError(f'exec: "{program}": executable file not found in $PATH')
        usable = [
            c
            for c in candidates
            if user is None or _runnable_by(Path(os.path.realpath(c)), user)
        ]
        if not usable:
            raise ContainerStartError(
                f"{candidates[0]} cannot be executed by the pod's user, and no other "
                f'"{program}" on PATH can: {hint}'
            )
        found = usable[0]
    if user is not None:
        for arg in argv[1:]:
            if arg.startswith("-") or ("/" not in arg and not arg.endswith((".py", ".js", ".sh"))):
                continue
            if "\n" in arg or "\0" in arg:
                continue  # inline code (python -c "..."), not a path
            candidate = Path(arg) if os.path.isabs(arg) else cwd / arg
            try:
                unreadable = candidate.is_file() and not _readable_by(
                    Path(os.path.realpath(candidate)), user, os.R_OK
                )
            except OSError:  # not a usable path (too long, say): nothing to check
                continue
            if unreadable:
                raise ContainerStartError(f"{candidate} is not readable by the pod's user: {hint}")
    return [found if "/" not in program else program, *argv[1:]]


def _runnable_by(path: Path, user: ServiceUser) -> bool:
    return _readable_by(path, user, os.R_OK | os.X_OK) or _readable_by(path, user, os.X_OK)


# -- one container run -------------------------------------------------------------------------
class ContainerProcess:
    """One run of a container: a ManagedProcess in its own process group, its id, its times,
    and an asyncio event set when it exits (a pidfd watched by the loop, else polling)."""

    def __init__(self, process: ManagedProcess, restart_count: int) -> None:
        self.process = process
        self.restart_count = restart_count
        self.container_id = "harness://" + uuid.uuid4().hex + uuid.uuid4().hex
        self.started_at = _now()
        self.started_mono = 0.0
        self.finished_at: datetime | None = None
        self.exit_code: int | None = None
        self.exited = asyncio.Event()
        self._pidfd: int | None = None
        self._poller: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.exit_code is None

    def start(self) -> ContainerProcess:
        self.process.start()
        self.started_at = _now()
        self.started_mono = time.monotonic()
        loop = asyncio.get_running_loop()
        pid = self.process.pid
        assert pid is not None
        try:
            self._pidfd = os.pidfd_open(pid)
            loop.add_reader(self._pidfd, self._reap)
        except (OSError, AttributeError, NotImplementedError):
            self._pidfd = None
            self._poller = loop.create_task(self._poll())
        return self

    def _reap(self) -> None:
        code = self.process.poll()
        if code is None:
            return
        self._finish(code)

    async def _poll(self) -> None:
        while self.exit_code is None:
            code = self.process.poll()
            if code is not None:
                self._finish(code)
                return
            await asyncio.sleep(0.05)

    def _finish(self, code: int) -> None:
        if self.exit_code is not None:
            return
        self.exit_code = 128 - code if code < 0 else code  # killed by a signal: 128 + signal
        self.finished_at = _now()
        self._close_pidfd()
        with contextlib.suppress(Exception):
            self.process.stop(0.1)  # reaps leftovers in the group, drops the pid record
        self.exited.set()

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._pidfd)
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
            self._pidfd = None

    def signal(self, sig: signal.Signals) -> None:
        if self.exit_code is None:
            self.process.signal_group(sig)

    async def wait(self, timeout: float | None) -> bool:
        """True once exited; False when `timeout` real seconds passed first."""
        if self.exit_code is not None:
            return True
        try:
            await asyncio.wait_for(self.exited.wait(), timeout)
        except TimeoutError:
            # a pidfd event can be missed only if the loop is gone; poll once to be sure
            self._reap()
            return self.exit_code is not None
        return True

    async def kill(self, grace: float) -> None:
        """SIGTERM the group, SIGKILL after `grace` real seconds, wait for the exit."""
        if self.exit_code is not None:
            return
        if grace > 0:
            self.signal(signal.SIGTERM)
            if await self.wait(grace):
                return
        self.signal(signal.SIGKILL)
        if not await self.wait(5.0):
            log.warning("container process %s survived SIGKILL", self.pid)

    def close(self) -> None:
        self._close_pidfd()
        if self._poller is not None:
            self._poller.cancel()

    def terminated_state(self) -> JSON:
        code = self.exit_code if self.exit_code is not None else 137
        state: JSON = {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": _rfc3339(self.started_at),
            "finishedAt": _rfc3339(self.finished_at or _now()),
            "containerID": self.container_id,
        }
        if code > 128 and code - 128 < 65:
            state["signal"] = code - 128
        return state


# -- a container across its runs ---------------------------------------------------------------
class Container:
    """One container of the pod spec across its runs: restart count, last state, probes."""

    def __init__(self, spec: Mapping[str, Any], previous: Mapping[str, Any] | None) -> None:
        self.spec = spec
        self.name = str(spec.get("name", ""))
        self.image = str(spec.get("image", ""))
        self.current: ContainerProcess | None = None
        self.restart_count = 0
        self.last_terminated: JSON | None = None
        self.waiting: tuple[str, str] = ("ContainerCreating", "")
        self.terminated: JSON | None = None  # a final state (not restarting)
        self.exit_seen = False
        self.env: dict[str, str] = {}
        self.next_attempt = 0.0  # kube clock: retry preparation after a config error
        self.workers: dict[ProbeKind, ProbeWorker] = {}
        self.image_failed = False
        self.address_warned = False
        self.killing_for: str | None = None  # a probe kill in progress
        if previous is not None:
            # A restarted agent: the old process is gone with the old agent.
            state = previous.get("state") or {}
            if state.get("running") or state.get("terminated"):
                self.restart_count = int(previous.get("restartCount") or 0) + 1
                self.last_terminated = state.get("terminated") or {
                    "exitCode": 137,
                    "reason": "ContainerStatusUnknown",
                    "message": "The container could not be located when the kubelet restarted",
                    "startedAt": (state.get("running") or {}).get("startedAt"),
                    "finishedAt": _rfc3339(_now()),
                }
            else:
                self.restart_count = int(previous.get("restartCount") or 0)
                last = (previous.get("lastState") or {}).get("terminated")
                self.last_terminated = dict(last) if last else None

    @property
    def field_path(self) -> str:
        return f"spec.containers{{{self.name}}}"

    def probe_spec(self, kind: ProbeKind) -> ProbeSpec | None:
        key = {
            ProbeKind.LIVENESS: "livenessProbe",
            ProbeKind.READINESS: "readinessProbe",
            ProbeKind.STARTUP: "startupProbe",
        }[kind]
        probe = self.spec.get(key)
        return ProbeSpec.from_manifest(probe, kind) if isinstance(probe, Mapping) else None

    @property
    def running(self) -> bool:
        return self.current is not None and self.current.running

    @property
    def started(self) -> bool:
        if not self.running:
            return False
        worker = self.workers.get(ProbeKind.STARTUP)
        return worker is None or worker.result is ProbeResult.SUCCESS

    def ready(self, terminating: bool) -> bool:
        if terminating or not self.started:
            return False
        worker = self.workers.get(ProbeKind.READINESS)
        return worker is None or worker.result is ProbeResult.SUCCESS

    def status(self, terminating: bool) -> JSON:
        """v1.ContainerStatus with exactly one state, as a real API server stores it: the
        kubelet merge-patches pods/status, which replaces the containerStatuses list whole, so
        a null state key would be stored as null (and read as present by `"x" in state`)."""
        state: JSON = {}
        current = self.current
        if current is not None and current.running:
            state["running"] = {"startedAt": _rfc3339(current.started_at)}
        elif self.terminated is not None:
            state["terminated"] = self.terminated
        else:
            reason, message = self.waiting
            state["waiting"] = {"reason": reason, **({"message": message} if message else {})}
        digest = hashlib.sha256(self.image.encode()).hexdigest()
        result: JSON = {
            "name": self.name,
            "image": self.image,
            "imageID": f"{self.image.split(':', 1)[0]}@sha256:{digest}",
            "ready": self.ready(terminating),
            "restartCount": self.restart_count,
            "started": self.started,
            "state": state,
            "lastState": {"terminated": self.last_terminated} if self.last_terminated else {},
        }
        if current is not None:
            result["containerID"] = current.container_id
        return result

    def view(
        self, ctx: NodeContext, *, restart_never: bool, deleting: bool, terminal: bool
    ) -> ContainerView:
        current = self.current
        running_for = 0.0
        if current is not None and current.running:
            running_for = ctx.config.time_scale.kube(time.monotonic() - current.started_mono)
        return ContainerView(
            container_id=current.container_id if current else "",
            running=self.running,
            terminated=current is not None and not current.running,
            started=self.started,
            running_for=running_for,
            restart_never=restart_never,
            deleting=deleting,
            pod_terminal=terminal,
        )


def pod_phase(
    statuses: Sequence[Mapping[str, Any]], restart_policy: str, *, terminal: bool = False
) -> str:
    """pkg/kubelet/kubelet_pods.go getPhase (no init containers)."""
    running = waiting = stopped = succeeded = 0
    for status in statuses:
        state = status.get("state") or {}
        if state.get("running") is not None:
            running += 1
        elif state.get("terminated") is not None:
            stopped += 1
            if state["terminated"].get("exitCode") == 0:
                succeeded += 1
        elif state.get("waiting") is not None:
            if (status.get("lastState") or {}).get("terminated"):
                stopped += 1
            else:
                waiting += 1
    if waiting > 0 and not terminal:
        return "Pending"
    if running > 0 and not terminal:
        return "Running"
    if stopped > 0 or terminal:
        if terminal:
            return (
                "Succeeded" if stopped == succeeded and running == 0 and waiting == 0 else "Failed"
            )
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


# -- the pod ----------------------------------------------------------------------------------
class PodRuntime:
    """One pod bound to this node, from its first sync to its final delete (the pod worker).

    `update(pod)` feeds it the pod as the watch sees it; `removed()` says the API object is
    gone; `run()` is its task. Cancelling that task (the agent stops) stops the containers:
    SIGTERM, then SIGKILL after `exit_grace` real seconds; the pod object is left alone.
    """

    def __init__(self, pod: JSON, ctx: NodeContext, api: PodApi, pod_ip: str) -> None:
        self.pod = pod
        self.ctx = ctx
        self.api = api
        self.pod_ip = pod_ip
        metadata = pod["metadata"]
        self.namespace = str(metadata.get("namespace") or "default")
        self.name = str(metadata["name"])
        self.uid = str(metadata.get("uid", ""))
        spec = pod.get("spec") or {}
        self.restart_policy = str(spec.get("restartPolicy") or "Always")
        previous = {
            s.get("name"): s for s in (pod.get("status") or {}).get("containerStatuses") or []
        }
        self.containers = [
            Container(c, previous.get(c.get("name"))) for c in spec.get("containers") or []
        ]
        self.backoff = BackOff(ctx.kube_now)
        status = pod.get("status") or {}
        self.start_time = str(status.get("startTime") or _rfc3339(_now()))
        self.transitions: dict[str, tuple[str, str]] = {
            str(c.get("type")): (str(c.get("status")), str(c.get("lastTransitionTime") or ""))
            for c in status.get("conditions") or []
        }
        self.terminating = False
        self.terminal = False
        #: real seconds between SIGTERM and SIGKILL when the task ends without a deletion
        #: (the agent stops); 0 when the pod object is gone
        self.exit_grace = 0.0
        #: the API object is gone (deleted by this kubelet, or removed by someone else)
        self.pod_deleted = False
        self.finished = asyncio.Event()
        self._wake = asyncio.Event()
        self._gone = asyncio.Event()
        self._stop_probes = asyncio.Event()
        self._probe_tasks: list[asyncio.Task[None]] = []
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self._last_status: JSON | None = None
        self.hosts = hosts_file(ctx.state_dir, self.namespace)

    # -- inputs -------------------------------------------------------------------------------
    @property
    def full_name(self) -> str:
        return f"{self.name}_{self.namespace}({self.uid})"

    def update(self, pod: JSON) -> None:
        old_rv = str(self.pod["metadata"].get("resourceVersion", ""))
        new_rv = str(pod["metadata"].get("resourceVersion", ""))
        if old_rv.isdigit() and new_rv.isdigit() and int(new_rv) < int(old_rv):
            return  # an older copy than the one a status write returned
        self.pod = pod
        self._wake.set()

    def removed(self) -> None:
        self.pod_deleted = True
        self._gone.set()
        self._wake.set()

    @property
    def deleting(self) -> bool:
        return bool(self.pod["metadata"].get("deletionTimestamp"))

    # -- events -------------------------------------------------------------------------------
    def _event(
        self, event_type: str, reason: str, message: str, container: Container | None = None
    ) -> None:
        path = container.field_path if container else ""
        task = asyncio.get_running_loop().create_task(
            self.api.record_event(self.pod, event_type, reason, message, path)
        )
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    # -- the worker loop ----------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self._report()
            while not self._gone.is_set():
                if self.deleting:
                    await self._terminate()
                    return
                wait_for = await self._sync_containers()
                await self._report()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait_for)
            await self._kill_all(0.0)  # the object is gone (grace 0): kill at once
        finally:
            await self._cleanup()
            self.finished.set()

    async def _cleanup(self) -> None:
        self._stop_probes.set()
        for task in self._probe_tasks:
            task.cancel()
        await asyncio.gather(*self._probe_tasks, return_exceptions=True)
        await self._kill_all(self.exit_grace)
        for container in self.containers:
            if container.current is not None:
                container.current.close()
        pending = set(self._side_tasks)
        if pending:  # let event writes finish, then drop the rest (hooks, bind checks)
            _, late = await asyncio.wait(pending, timeout=2.0)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def _wake_soon(self) -> None:
        self._wake.set()

    async def _sync_containers(self) -> float | None:
        """Start or restart what should run; the real seconds until the next deadline."""
        next_wait: float | None = None
        for container in self.containers:
            delay = await self._sync_container(container)
            if delay is not None:
                next_wait = delay if next_wait is None else min(next_wait, delay)
        self.terminal = self._all_done()
        if self.terminal:
            self._stop_probes.set()
        return next_wait

    def _all_done(self) -> bool:
        return bool(self.containers) and all(c.terminated is not None for c in self.containers)

    def _should_restart(self, exit_code: int) -> bool:
        return self.restart_policy == "Always" or (
            self.restart_policy == "OnFailure" and exit_code != 0
        )

    async def _sync_container(self, container: Container) -> float | None:
        current = container.current
        if container.terminated is not None or container.image_failed:
            return None
        if current is not None and current.running:
            return None
        if current is not None and not container.exit_seen:
            container.exit_seen = True
            self._on_exit(container, current)
            if container.terminated is not None:
                return None
        if current is not None:
            assert current.exit_code is not None
            key = container.name
            finished = self._kube_time_of(current)
            if self.backoff.in_backoff_since(key, finished):
                delay = self.backoff.get(key)
                message = (
                    f"back-off {go_duration(delay)} restarting failed "
                    f"container={container.name} pod={self.full_name}"
                )
                if container.waiting != ("CrashLoopBackOff", message):
                    container.waiting = ("CrashLoopBackOff", message)
                    self._event(
                        "Warning",
                        "BackOff",
                        f"Back-off restarting failed container {container.name} in pod "
                        f"{self.full_name}",
                        container,
                    )
                return self.ctx.real(self.backoff.remaining(key, finished)) + 0.01
            self.backoff.next(key, finished)
        now = self.ctx.kube_now()
        if now < container.next_attempt:
            return self.ctx.real(container.next_attempt - now)
        return await self._start(container)

    def _kube_time_of(self, process: ContainerProcess) -> float:
        """The kube-clock moment the process finished (the back-off event time)."""
        assert process.finished_at is not None
        ago = (_now() - process.finished_at).total_seconds()
        return self.ctx.kube_now() - self.ctx.config.time_scale.kube(max(0.0, ago))

    def _on_exit(self, container: Container, process: ContainerProcess) -> None:
        terminated = process.terminated_state()
        container.last_terminated = terminated
        assert process.exit_code is not None
        tail = read_tail(process.process.log_path, 30)
        if process.exit_code != 0 and any(marker in tail for marker in _ADDRESS_IN_USE):
            self._warn_address_in_use(container)
        killed = container.killing_for is not None and self.restart_policy != "Never"
        if not self._should_restart(process.exit_code) and not killed:
            container.terminated = terminated
            container.last_terminated = None
            container.waiting = ("", "")
        else:
            container.waiting = ("ContainerCreating", "")
        container.killing_for = None

    def _ports(self, container: Container) -> str:
        ports = [str(p.get("containerPort")) for p in container.spec.get("ports") or []]
        return ", ".join(ports) or "its port"

    def _warn_address_in_use(self, container: Container) -> None:
        self._event(
            "Warning",
            "AddressInUse",
            f'Container {container.name} exited with "Address already in use": pods share '
            f"this machine's network stack, each on its own loopback pod IP, so bind "
            f"$(POD_IP) ({self.pod_ip}) on {self._ports(container)}, not 0.0.0.0 or 127.0.0.1 "
            "(another pod, or another process, holds that address)",
            container,
        )

    async def _start(self, container: Container) -> float | None:
        """Prepare and start one run; on a preparation error, the retry delay (real s)."""
        pod = self._pod_for_env()
        try:
            env = await build_env(
                pod,
                container.spec,
                self.api,
                self.ctx,
                warn=lambda reason, message: self._event("Warning", reason, message),
            )
        except ContainerConfigError as error:
            return self._prepare_failed(container, "CreateContainerConfigError", str(error))
        env.setdefault("HOSTNAME", self.name)
        env.setdefault("PATH", os.environ.get("PATH", os.defpath))
        user = self.ctx.sandbox.user
        env.setdefault("HOME", (user.home if user else os.environ.get("HOME")) or "/")
        if user is not None:
            env.setdefault("USER", user.name)
            env.setdefault("LOGNAME", user.name)
        env.setdefault("POD_IP", self.pod_ip)  # the design's contract; a manifest value wins
        env["IMAGE_TAG"] = ClusterConfig.image_tag(container.image)
        try:
            argv = container_argv(self.ctx.config, container.spec, env)
        except ImageNotMapped as error:
            container.image_failed = True
            container.waiting = ("ErrImagePull", str(error))
            self._event("Normal", "Pulling", f'Pulling image "{container.image}"', container)
            self._event(
                "Warning", "Failed", f'Failed to pull image "{container.image}": {error}', container
            )
            self._event("Warning", "Failed", "Error: ErrImagePull", container)
            return None
        try:
            argv = check_runnable(argv, env, self.ctx.config.base_dir, user)
        except ContainerStartError as error:
            return self._prepare_failed(container, "CreateContainerError", str(error))
        self._event(
            "Normal",
            "Pulled",
            f'Container image "{container.image}" already present on machine',
            container,
        )
        restart_count = container.restart_count
        if container.current is not None:
            restart_count += 1
            container.current.close()
        log_path = self.ctx.logs.writable_path(
            self.namespace, self.name, container.name, restart_count
        )
        sandbox = self.ctx.sandbox
        process = ManagedProcess(
            f"pod {self.namespace}/{self.name} container {container.name}",
            sandbox.container_argv(argv, env, self.hosts),
            log_path=log_path,
            env=env,
            cwd=self.ctx.config.base_dir,
            user=sandbox.process_user(),
        )
        run = ContainerProcess(process, restart_count)
        self._event("Normal", "Created", f"Created container {container.name}", container)
        try:
            run.start()
        except Exception as error:  # OSError, BinaryNotFoundError: the start itself failed
            return self._prepare_failed(container, "RunContainerError", f"failed to start: {error}")
        container.current = run
        container.restart_count = restart_count
        container.env = env
        container.exit_seen = False
        container.waiting = ("", "")
        self._watch_exit(run)
        self._event("Normal", "Started", f"Started container {container.name}", container)
        self._start_probes(container)
        post_start = (container.spec.get("lifecycle") or {}).get("postStart")
        if isinstance(post_start, Mapping):
            self._spawn(self._post_start(container, run, post_start))
        self._spawn(self._check_bind_address(container, run))
        return None

    def _pod_for_env(self) -> JSON:
        """The pod as fieldRefs see it: with the IPs this kubelet assigned."""
        pod = dict(self.pod)
        status = dict(pod.get("status") or {})
        status.setdefault("podIP", self.pod_ip)
        status["podIP"] = status.get("podIP") or self.pod_ip
        status.setdefault("podIPs", [{"ip": self.pod_ip}])
        status["hostIP"] = self.ctx.node.address
        status["hostIPs"] = [{"ip": self.ctx.node.address}]
        pod["status"] = status
        return pod

    def _prepare_failed(self, container: Container, reason: str, message: str) -> float:
        if container.waiting != (reason, message):
            container.waiting = (reason, message)
        self._event("Warning", "Failed", f"Error: {message}", container)
        container.next_attempt = self.ctx.kube_now() + RETRY_PERIOD
        return self.ctx.real(RETRY_PERIOD)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def _watch_exit(self, run: ContainerProcess) -> None:
        async def wake_on_exit() -> None:
            await run.exited.wait()
            self._wake_soon()

        self._spawn(wake_on_exit())

    async def _check_bind_address(self, container: Container, run: ContainerProcess) -> None:
        """Warn once when a container listens on 0.0.0.0 or 127.0.0.1 instead of its pod IP:
        on one machine that address is shared by every pod."""
        import psutil

        for delay in (0.3, 1.0, 3.0):
            await asyncio.sleep(delay)
            if not run.running or container.address_warned or run.pid is None:
                return
            try:
                root = psutil.Process(run.pid)
                processes = [root, *root.children(recursive=True)]
                wrong = sorted(
                    {
                        f"{c.laddr.ip}:{c.laddr.port}"
                        for p in processes
                        for c in p.net_connections(kind="inet")
                        if c.status == psutil.CONN_LISTEN
                        and c.laddr
                        and c.laddr.ip in ("0.0.0.0", "::", "127.0.0.1", "::1")
                    }
                )
            except (psutil.Error, OSError):
                return
            if wrong:
                container.address_warned = True
                self._event(
                    "Warning",
                    "BindAddress",
                    f"Container {container.name} listens on {', '.join(wrong)}: pods share "
                    f"this machine's network stack, so bind $(POD_IP) ({self.pod_ip}) instead, "
                    'or a second pod on this port fails with "Address already in use"',
                    container,
                )
                return

    # -- probes -------------------------------------------------------------------------------
    def _start_probes(self, container: Container) -> None:
        if container.workers:
            return  # workers follow the container across runs (by container ID)
        for kind in (ProbeKind.STARTUP, ProbeKind.LIVENESS, ProbeKind.READINESS):
            spec = container.probe_spec(kind)
            if spec is None:
                continue
            worker = ProbeWorker(
                kind, spec, self._prober(container, kind, spec), self._on_probe_result(container)
            )
            container.workers[kind] = worker

            def view(c: Container = container) -> ContainerView:
                return c.view(
                    self.ctx,
                    restart_never=self.restart_policy == "Never",
                    deleting=self.deleting,
                    terminal=self.terminal,
                )

            task = asyncio.get_running_loop().create_task(
                worker.run(view, self.ctx.config.time_scale, self._stop_probes)
            )
            self._probe_tasks.append(task)

    def _on_probe_result(self, container: Container) -> Callable[[ProbeWorker, ProbeResult], None]:
        def changed(worker: ProbeWorker, result: ProbeResult) -> None:
            if result is ProbeResult.FAILURE and worker.kind in (
                ProbeKind.LIVENESS,
                ProbeKind.STARTUP,
            ):
                run = container.current
                if run is not None and run.running and not self.terminating:
                    which = worker.kind.value.lower()
                    container.killing_for = which
                    self._event(
                        "Normal",
                        "Killing",
                        f"Container {container.name} failed {which} probe, will be restarted",
                        container,
                    )
                    probe = container.spec.get(f"{which}Probe") or {}
                    grace = probe.get("terminationGracePeriodSeconds")
                    if not isinstance(grace, int):
                        grace = int(
                            (self.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
                        )
                    self._spawn(self._kill_container(container, float(grace)))
            self._wake_soon()

        return changed

    def _prober(self, container: Container, kind: ProbeKind, spec: ProbeSpec) -> Callable[[], Any]:
        async def probe() -> ProbeOutcome:
            outcome = await self._run_handler(
                container, spec.handler, self.ctx.real(spec.timeout_seconds)
            )
            if outcome.result is ProbeResult.FAILURE:
                self._event(
                    "Warning",
                    "Unhealthy",
                    f"{kind.value} probe failed: {outcome.output}".rstrip(),
                    container,
                )
            return outcome

        return probe

    def _port(self, container: Container, port: Any) -> int | None:
        if isinstance(port, int):
            return port
        text = str(port)
        if text.isdigit():
            return int(text)
        for declared in container.spec.get("ports") or []:
            if declared.get("name") == text:
                return int(declared.get("containerPort"))
        return None

    async def _run_handler(
        self, container: Container, handler: Mapping[str, Any], timeout: float
    ) -> ProbeOutcome:
        """Run a probe or hook handler (httpGet, tcpSocket, exec; grpc as tcp)."""
        if "httpGet" in handler:
            get = handler["httpGet"]
            port = self._port(container, get.get("port"))
            if port is None:
                return ProbeOutcome(ProbeResult.FAILURE, f"unknown port {get.get('port')!r}")
            return await http_probe(
                scheme=str(get.get("scheme") or "HTTP"),
                host=str(get.get("host") or self.pod_ip),
                port=port,
                path=str(get.get("path") or "/"),
                headers=get.get("httpHeaders") or [],
                timeout=timeout,
            )
        if "tcpSocket" in handler or "grpc" in handler:
            socket_spec = handler.get("tcpSocket") or handler.get("grpc") or {}
            port = self._port(container, socket_spec.get("port"))
            if port is None:
                return ProbeOutcome(
                    ProbeResult.FAILURE, f"unknown port {socket_spec.get('port')!r}"
                )
            host = str(socket_spec.get("host") or self.pod_ip)
            return await tcp_probe(host=host, port=port, timeout=timeout)
        if "exec" in handler:
            command = [str(a) for a in (handler["exec"] or {}).get("command") or []]
            if not command:
                return ProbeOutcome(ProbeResult.FAILURE, "exec: no command")
            run = container.current
            argv, user = self.ctx.sandbox.exec_argv(run.pid if run else None, command)
            env = dict(container.env)
            env.update(current_run().tag_env())
            return await exec_probe(
                argv,
                env=env,
                cwd=str(self.ctx.config.base_dir),
                timeout=timeout,
                command=command,
                user=user,
            )
        return ProbeOutcome(ProbeResult.UNKNOWN, "no handler")

    # -- lifecycle hooks and termination -------------------------------------------------------
    async def _post_start(
        self, container: Container, run: ContainerProcess, hook: Mapping[str, Any]
    ) -> None:
        grace = int((self.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
        outcome = await self._run_hook(container, hook, self.ctx.real(max(grace, 1)))
        if outcome.result is ProbeResult.FAILURE and run.running:
            self._event(
                "Warning",
                "FailedPostStartHook",
                f"PostStartHook failed: {outcome.output}".rstrip(),
                container,
            )
            container.killing_for = "postStart"
            await self._kill_container(container, float(grace), hooks=False)

    async def _run_hook(
        self, container: Container, hook: Mapping[str, Any], timeout: float
    ) -> ProbeOutcome:
        if "sleep" in hook:
            seconds = float((hook["sleep"] or {}).get("seconds") or 0)
            await asyncio.sleep(self.ctx.real(seconds))
            return ProbeOutcome(ProbeResult.SUCCESS)
        return await self._run_handler(container, hook, timeout)

    async def _kill_container(
        self, container: Container, grace_kube: float, *, hooks: bool = True
    ) -> None:
        """killContainer: preStop within the grace, SIGTERM, the rest of the grace, SIGKILL."""
        run = container.current
        if run is None or not run.running:
            return
        if not self.terminating and container.killing_for is None:
            container.killing_for = "kill"
        if self.terminating:
            self._event("Normal", "Killing", f"Stopping container {container.name}", container)
        deadline = time.monotonic() + self.ctx.real(grace_kube)
        pre_stop = (container.spec.get("lifecycle") or {}).get("preStop")
        if hooks and grace_kube > 0 and isinstance(pre_stop, Mapping):
            try:
                outcome = await asyncio.wait_for(
                    self._run_hook(container, pre_stop, self.ctx.real(grace_kube)),
                    self.ctx.real(grace_kube),
                )
            except TimeoutError:
                outcome = ProbeOutcome(ProbeResult.FAILURE, "timed out")
            if outcome.result is ProbeResult.FAILURE:
                self._event(
                    "Warning",
                    "FailedPreStopHook",
                    f"PreStopHook failed: {outcome.output}".rstrip(),
                    container,
                )
            deadline = max(deadline, time.monotonic() + self.ctx.real(MIN_GRACE_AFTER_HOOK))
        if self._gone.is_set():
            await run.kill(0.0)
            return
        remaining = max(0.0, deadline - time.monotonic()) if grace_kube > 0 else 0.0
        if remaining > 0:
            run.signal(signal.SIGTERM)
            exited = asyncio.ensure_future(run.exited.wait())
            gone = asyncio.ensure_future(self._gone.wait())
            try:
                await asyncio.wait(
                    {exited, gone}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                exited.cancel()
                gone.cancel()
        await run.kill(0.0)

    async def _kill_all(self, grace: float) -> None:
        await asyncio.gather(
            *(c.current.kill(grace) for c in self.containers if c.current and c.current.running),
            return_exceptions=True,
        )

    async def _terminate(self) -> None:
        """Graceful deletion (rule 31), then the kubelet's final delete."""
        self.terminating = True
        await self._report()
        grace = self.pod["metadata"].get("deletionGracePeriodSeconds")
        grace_kube = (
            float(grace)
            if isinstance(grace, int)
            else float((self.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
        )
        await asyncio.gather(
            *(self._kill_container(c, grace_kube) for c in self.containers if c.running),
            return_exceptions=True,
        )
        self._stop_probes.set()
        for container in self.containers:
            run = container.current
            if run is not None and not run.running:
                container.terminated = run.terminated_state()
            elif container.terminated is None:
                container.terminated = {
                    "exitCode": 137,
                    "reason": "ContainerStatusUnknown",
                    "message": "The container could not be located when the pod was terminated",
                    "startedAt": None,
                    "finishedAt": _rfc3339(_now()),
                }
        self.terminal = True
        if not self._gone.is_set():
            await self._report()
            await self.api.delete_pod(self.pod)
        self.pod_deleted = True

    # -- status -------------------------------------------------------------------------------
    def _condition(self, kind: str, ok: bool, reason: str = "", message: str = "") -> JSON:
        status = "True" if ok else "False"
        previous = self.transitions.get(kind)
        if previous is None or previous[0] != status or not previous[1]:
            self.transitions[kind] = (status, _rfc3339(_now()))
        condition: JSON = {
            "type": kind,
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": self.transitions[kind][1],
        }
        if reason:
            condition["reason"] = reason
        if message:
            condition["message"] = message
        return condition

    def status(self) -> JSON:
        """The pod status this kubelet owns (generateAPIPodStatus)."""
        statuses = [c.status(self.terminating) for c in self.containers]
        terminal = self.terminal and self.terminating
        phase = pod_phase(statuses, self.restart_policy, terminal=terminal)
        if self.terminal and not self.terminating:
            phase = pod_phase(statuses, self.restart_policy)
        unready = [c.name for c in self.containers if not c.ready(self.terminating)]
        all_ready = not unready
        completed = phase == "Succeeded"
        reason = "PodCompleted" if completed else ("" if all_ready else "ContainersNotReady")
        message = (
            ""
            if all_ready or completed
            else f"containers with unready status: [{' '.join(unready)}]"
        )
        conditions = [
            self._condition("PodReadyToStartContainers", not (self.terminal and self.terminating)),
            self._condition("Initialized", True, "PodCompleted" if completed else ""),
            self._condition("Ready", all_ready, reason, message),
            self._condition("ContainersReady", all_ready, reason, message),
        ]
        return {
            "phase": phase,
            "hostIP": self.ctx.node.address,
            "hostIPs": [{"ip": self.ctx.node.address}],
            "podIP": self.pod_ip,
            "podIPs": [{"ip": self.pod_ip}],
            "startTime": self.start_time,
            "conditions": conditions,
            "containerStatuses": statuses,
        }

    async def _report(self) -> None:
        status = self.status()
        if status == self._last_status or self._gone.is_set():
            return
        stored = await self.api.patch_status(self.pod, status)
        self._last_status = status
        if stored is None:
            if not self.terminating:
                self.removed()
            return
        self.update(stored)
