"""`harness doctor`: one report of what the local backend needs, each gap with its fix.

Checks are plain functions returning frozen Check records, so the report is testable
without the machine it describes.
"""

from __future__ import annotations

import enum
import glob
import os
import platform
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Check", "Status", "platform_check", "run_checks"]


class Status(enum.Enum):
    OK = "ok"
    WARN = "warn"
    MISSING = "missing"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""
    required: bool = True


def _version_of(argv: Sequence[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"v?(\d+\.\d+(?:\.\d+)?)", out.stdout + out.stderr)
    return match.group(1) if match else None


def platform_check(system: str, release: str, proc_version: str = "") -> Check:
    """Linux and WSL2 run everything; macOS needs loopback aliases; native Windows is refused."""
    if system == "Linux":
        wsl = "microsoft" in proc_version.lower()
        return Check("platform", Status.OK, f"{'WSL2' if wsl else 'Linux'} {release}")
    if system == "Darwin":
        return Check(
            "platform",
            Status.WARN,
            f"macOS {release}: only 127.0.0.1 is configured on lo0, and the cluster simulator "
            "gives each pod and Service its own 127.x address",
            "alias the addresses the simulator uses, e.g. "
            "`for i in $(seq 2 254); do sudo ifconfig lo0 alias 127.0.0.$i up; done` "
            "(and the same for the 127.100.0.x Service block)",
        )
    if system == "Windows":
        return Check(
            "platform",
            Status.MISSING,
            "native Windows is not supported: the harness needs POSIX process groups and "
            "the whole 127.0.0.0/8 loopback range",
            "run it inside WSL2 (Ubuntu), where everything works",
        )
    return Check("platform", Status.WARN, f"{system} {release} is untested", "use Linux or WSL2")


def _postgres_check() -> Check:
    found: dict[str, str] = {}
    for binary in sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres")):
        version = _version_of([binary, "--version"])
        if version:
            found[version] = binary
    on_path = shutil.which("postgres")
    if on_path:
        version = _version_of([on_path, "--version"])
        if version:
            found.setdefault(version, on_path)
    if not found:
        return Check(
            "postgresql",
            Status.MISSING,
            "no postgres server binary on PATH or in /usr/lib/postgresql/*/bin",
            "apt-get install postgresql (make scenarios does it when run as root)",
        )
    listing = ", ".join(f"{v} ({p})" for v, p in sorted(found.items()))
    return Check("postgresql", Status.OK, listing)


def _binary_check(name: str, binary: str, fix: str, *, required: bool = True) -> Check:
    path = shutil.which(binary)
    if path is None:
        return Check(
            name, Status.MISSING if required else Status.WARN, f"{binary} not found", fix, required
        )
    version = _version_of([path, "--version"]) or "unknown version"
    return Check(name, Status.OK, f"{version} ({path})", required=required)


def _kubectl_check() -> Check:
    path = shutil.which("kubectl")
    if path is None:
        return Check(
            "kubectl",
            Status.MISSING,
            "kubectl not found",
            "install kubectl 1.29 or newer (apt-get install kubectl from the Kubernetes repo)",
        )
    real = Path(path).resolve()
    versions = sorted(
        {m.group(1) for p in glob.glob(f"{real}.1.*") if (m := re.search(r"\.(1\.\d+)$", p))},
        key=lambda v: tuple(int(x) for x in v.split(".")),
    )
    client = _version_of([path, "version", "--client"]) or "unknown"
    usable = [v for v in versions if int(v.split(".")[1]) >= 29]
    detail = f"{client} ({path})" + (
        f"; versioned binaries {', '.join(versions)}" if versions else ""
    )
    if versions and not usable:
        return Check("kubectl", Status.MISSING, detail, "the simulator needs kubectl 1.29 or newer")
    return Check("kubectl", Status.OK, detail)


def _k6_check() -> Check:
    from harness.load.errors import K6NotFoundError
    from harness.load.k6 import find_k6

    try:
        binary = find_k6()
    except K6NotFoundError as exc:
        return Check(
            "k6", Status.WARN, f"{exc.binary} not found (needed by load gates only)", exc.hint,
            required=False,
        )  # fmt: skip
    return Check("k6", Status.OK, str(binary), required=False)


def _loopback_check() -> Check:
    failed = []
    for address in ("127.0.0.2", "127.1.2.3", "127.100.0.1"):
        with socket.socket() as sock:
            try:
                sock.bind((address, 0))
            except OSError:
                failed.append(address)
    if failed:
        return Check(
            "loopback addresses",
            Status.MISSING,
            f"cannot bind {', '.join(failed)}: only part of 127.0.0.0/8 is usable",
            "on macOS alias them on lo0 (`sudo ifconfig lo0 alias 127.0.0.2 up`); on Linux "
            "check that lo carries 127.0.0.1/8",
        )
    return Check("loopback addresses", Status.OK, "127.0.0.0/8 bindable beyond 127.0.0.1")


def _ports_check() -> Check:
    from harness.errors import PortError
    from harness.ports import claim_port

    try:
        claim = claim_port()
    except PortError as exc:
        return Check("free ports", Status.MISSING, str(exc), "stop what holds ports 20000-32000")
    claim.release()
    return Check("free ports", Status.OK, f"claimed and released {claim.port}")


def _privileges_check() -> Check:
    from harness._process import service_user
    from harness.errors import BinaryNotFoundError

    if os.geteuid() != 0:
        return Check("privileges", Status.OK, f"not root: servers run as uid {os.geteuid()}")
    try:
        user = service_user()
    except BinaryNotFoundError as exc:
        return Check("privileges", Status.MISSING, "root, and no unprivileged user", exc.hint)
    assert user is not None
    return Check(
        "privileges", Status.OK, f"root: servers and pods run as {user.name} (uid {user.uid})"
    )


def _docker_check() -> Check:
    from harness.services._docker import docker_unavailable_reason

    reason = docker_unavailable_reason()
    if reason is None:
        return Check(
            "docker engine", Status.OK, "answers (the docker backend can run)", required=False
        )
    return Check(
        "docker engine",
        Status.WARN,
        f"{reason}; only the docker backend needs it",
        "start Docker to use --harness-backend=docker",
        required=False,
    )


def run_checks() -> list[Check]:
    proc_version = ""
    if os.path.exists("/proc/version"):
        proc_version = Path("/proc/version").read_text(errors="replace")
    checks: list[Check] = [platform_check(platform.system(), platform.release(), proc_version)]
    probes: list[Callable[[], Check]] = [
        _postgres_check,
        lambda: _binary_check(
            "redis-server",
            "redis-server",
            "apt-get install redis-server (make scenarios does it when run as root)",
        ),
        _kubectl_check,
        _k6_check,
        lambda: _binary_check(
            "node", "node", "install Node.js 20 (the platform app's runtime)", required=False
        ),
        _loopback_check,
        _ports_check,
        _privileges_check,
        _docker_check,
    ]
    checks.extend(probe() for probe in probes)
    return checks
