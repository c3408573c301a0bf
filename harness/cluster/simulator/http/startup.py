"""What a simulator needs before it serves: the objects a fresh cluster holds (bootstrap), the
server's settings (ServerConfig), its throwaway TLS on 127.0.0.1, and the ready line it prints.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from harness.cluster.kubeconfig import ServingCertificate, make_serving_certificate
from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.store import Store

__all__ = [
    "HOST",
    "SYSTEM_NAMESPACES",
    "ServerConfig",
    "bootstrap",
    "bound_port",
    "ready_line",
    "serving_tls",
]

#: the only address the simulator listens on
HOST = "127.0.0.1"

#: the namespaces a fresh cluster has
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


def bootstrap(store: Store) -> None:
    """Create what a fresh kube-apiserver has before anyone asks: the system namespaces."""
    namespaces = store.registry.lookup("", "v1", "namespaces")
    assert namespaces is not None
    for name in SYSTEM_NAMESPACES:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        try:
            store.create(namespaces, None, body)
        except ApiError as error:
            if error.code != 409:
                raise


@dataclass(frozen=True)
class ServerConfig:
    """How one simulator serves; the token is hidden from repr so it never reaches a log."""

    token: str = field(repr=False)
    logs_dir: Path
    #: how often a watch that allows bookmarks gets one (kube-apiserver: about a minute)
    bookmark_interval: float = 60.0
    #: live events one watch may have queued before it is closed with a 410 ERROR event
    watch_queue_limit: int = 1000
    #: how often `logs -f` looks for new lines
    log_poll_interval: float = 0.1


def serving_tls(kubeconfig: Path) -> tuple[ssl.SSLContext, ServingCertificate]:
    """A fresh throwaway CA and serving certificate for HOST, kept in <kubeconfig>-pki beside
    the kubeconfig, and the TLS 1.2+ server context that serves it (kubectl sends a token only
    over TLS)."""
    certificate = make_serving_certificate(kubeconfig.parent / f"{kubeconfig.name}-pki", HOST)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(certificate.cert_path, certificate.key_path)
    return tls, certificate


def bound_port(runner: web.AppRunner, requested: int) -> int:
    """The port the server listens on (the one the OS chose when `requested` is 0)."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested


def ready_line(url: str, kubeconfig: Path) -> str:
    """The one line the simulator prints once it serves (SimulatedCluster waits for it)."""
    return f"simulator ready {url} kubeconfig={kubeconfig}"
