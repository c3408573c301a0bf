"""Free loopback ports, claimed atomically so parallel pytest-xdist workers never collide.

A claim is a lock file created with O_EXCL under the state directory, holding the
claimant's pid and start time; claims of dead processes are taken over.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from harness._run import owner_alive, owner_token
from harness.errors import PortError

__all__ = [
    "PortClaim",
    "SlotClaim",
    "claim_locks",
    "claim_port",
    "claim_slot",
    "port_is_free",
]

# Below Linux' ephemeral range (32768-60999), so outgoing connections do not take them.
_RANGE = (20000, 32000)
_ATTEMPTS = 200


def _locks_dir(kind: str = "ports") -> Path:
    """Claims are machine-wide (ports and addresses are), so they live in the system temp
    folder, not under HARNESS_HOME, which differs between runs and tests."""
    root = Path(tempfile.gettempdir()) / "harness-claims"
    root.mkdir(exist_ok=True)
    with contextlib.suppress(PermissionError):
        root.chmod(0o1777)  # like /tmp: every user may claim, none may steal
    path = root / kind
    path.mkdir(exist_ok=True)
    with contextlib.suppress(PermissionError):
        path.chmod(0o1777)
    return path


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class PortClaim:
    host: str
    port: int
    _lock: Path = field(repr=False)

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._lock.unlink()

    def __int__(self) -> int:
        return self.port


def _try_lock(path: Path) -> bool:
    token = owner_token(os.getpid())
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = path.read_text().strip()
            except OSError:
                continue
            if holder and owner_alive(holder):
                return False
            # A dead claimant: take the claim over. Renaming first keeps it atomic.
            stale = path.with_suffix(f".stale{os.getpid()}")
            try:
                os.rename(path, stale)
            except OSError:
                return False
            stale.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(token)
        return True
    return False


def claim_port(port: int | None = None, host: str = "127.0.0.1") -> PortClaim:
    """Claim `port`, or a free one when None. Raises PortError naming the holder if taken."""
    locks = _locks_dir()
    if port is not None:
        lock = locks / f"{host}-{port}.lock"
        if not port_is_free(port, host) or not _try_lock(lock):
            raise PortError(
                f"port {port} on {host} is already in use{_holder(port)}; "
                "choose another port or leave it unset for a free one",
                host=host,
                port=port,
            )
        return PortClaim(host, port, lock)
    rng = random.Random()
    for _ in range(_ATTEMPTS):
        candidate = rng.randrange(*_RANGE)
        lock = locks / f"{host}-{candidate}.lock"
        if not _try_lock(lock):
            continue
        if port_is_free(candidate, host):
            return PortClaim(host, candidate, lock)
        lock.unlink(missing_ok=True)
    raise PortError(
        f"no free port on {host} in {_RANGE[0]}-{_RANGE[1]} after {_ATTEMPTS} tries", host=host
    )


def _holder(port: int) -> str:
    """' (held by pid N, name)' when the holder can be seen."""
    try:
        import psutil

        for conn in psutil.net_connections("tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
                if conn.pid:
                    return f" (held by pid {conn.pid}, {psutil.Process(conn.pid).name()})"
                return ""
    except Exception as exc:  # diagnostics only; never hide the real error
        if getattr(exc, "errno", None) not in (errno.EACCES, errno.EPERM, None):
            return ""
    return ""


def claim_locks() -> list[Path]:
    """Every claim file of every kind (for `harness cleanup`)."""
    root = _locks_dir().parent
    return sorted(root.glob("*/*.lock"))


@dataclass
class SlotClaim:
    """One of `count` numbered slots of a kind, e.g. the address blocks of a cluster."""

    kind: str
    index: int
    _lock: Path = field(repr=False)

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._lock.unlink()


def claim_slot(kind: str, count: int) -> SlotClaim:
    """The lowest free slot of `kind` in range(count), claimed like a port."""
    locks = _locks_dir(kind)
    for index in range(count):
        lock = locks / f"{index}.lock"
        if _try_lock(lock):
            return SlotClaim(kind, index, lock)
    raise PortError(
        f"all {count} {kind} slots are taken by running processes; stop some (harness cleanup "
        "removes those of dead runs)"
    )
