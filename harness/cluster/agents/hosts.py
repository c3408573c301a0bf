"""Cluster DNS names without a DNS server: one hosts(5) file per namespace naming every
Service's ClusterIP, rewritten in place so a bind mount over a pod's /etc/hosts sees updates.

    <state_dir>/hosts/<namespace>:
        the localhost lines a kubelet writes, then one line per Service with a ClusterIP:
        <clusterIP> <svc>.<ns>.svc.cluster.local <svc>.<ns>.svc <svc>.<ns> [<svc>]
        (the short name only in the file of the Service's own namespace)

    HostsFiles(directory).sync(namespaces, services) -> list[Path]   the files it rewrote
    render_hosts(namespace, services) -> str
    write_in_place(path, text) -> bool                               False when unchanged
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CLUSTER_DOMAIN",
    "HostsFiles",
    "ServiceAddress",
    "render_hosts",
    "write_in_place",
]

CLUSTER_DOMAIN = "cluster.local"

# What the kubelet writes at the top of a pod's managed /etc/hosts (pkg/kubelet/kubelet_pods.go).
_HEADER = (
    "# Kubernetes-managed hosts file (harness service proxy): Service names of the cluster.\n"
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)


@dataclass(frozen=True, order=True)
class ServiceAddress:
    namespace: str
    name: str
    cluster_ip: str


def render_hosts(namespace: str, services: Iterable[ServiceAddress]) -> str:
    """The hosts file of one namespace: every Service by its qualified names, the Services
    of `namespace` also by their short name."""
    lines = [_HEADER]
    for svc in sorted(services):
        names = [
            f"{svc.name}.{svc.namespace}.svc.{CLUSTER_DOMAIN}",
            f"{svc.name}.{svc.namespace}.svc",
            f"{svc.name}.{svc.namespace}",
        ]
        if svc.namespace == namespace:
            names.append(svc.name)
        lines.append(f"{svc.cluster_ip}\t{' '.join(names)}\n")
    return "".join(lines)


def write_in_place(path: Path, text: str) -> bool:
    """Replace the content of `path` without replacing the file: a bind mount holds the inode,
    so a rename would leave mounted pods reading the old content for ever. New text is written
    over the old and the rest cut off after, so a reader never finds the file empty."""
    data = text.encode()
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        try:
            handle = path.open("x+b")
        except FileExistsError:  # the kubelet created it meanwhile
            handle = path.open("r+b")
        else:  # readable by pods running as an unprivileged user, whatever the umask
            os.fchmod(handle.fileno(), 0o644)
    with handle:
        if handle.read() == data:
            return False
        handle.seek(0)
        handle.write(data)
        handle.truncate()
        handle.flush()
    return True


class HostsFiles:
    """The hosts files of every namespace under one directory (`<state_dir>/hosts`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._written: dict[str, str] = {}

    def path(self, namespace: str) -> Path:
        return self.directory / namespace

    def sync(self, namespaces: Iterable[str], services: Iterable[ServiceAddress]) -> list[Path]:
        """Bring the file of every namespace in `namespaces` (and "default") up to date and
        remove the files of namespaces that are gone; the paths rewritten."""
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True)
            self.directory.chmod(0o755)
        wanted = set(namespaces) | {"default"}
        addresses = list(services)
        rewritten: list[Path] = []
        for namespace in sorted(wanted):
            text = render_hosts(namespace, addresses)
            if self._written.get(namespace) == text:
                continue
            path = self.path(namespace)
            if write_in_place(path, text):
                rewritten.append(path)
            self._written[namespace] = text
        for namespace in set(self._written) - wanted:
            del self._written[namespace]
            # A pod still running in a deleted namespace keeps the mounted inode.
            with contextlib.suppress(FileNotFoundError):
                self.path(namespace).unlink()
        return rewritten
