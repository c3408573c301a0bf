"""The service proxy node agent: kube-proxy for ClusterIPs and NodePorts plus the load-balancer
controller and ALB stand-in for LoadBalancer Services, driven only by the Kubernetes API.

It lists and watches Services, EndpointSlices and Namespaces through lightkube (never the
simulator's store) and patches `services/status`, so it runs against a real API server too.

    ServiceProxy(api, config, nodes, state_dir)       the Agent (name "kube-proxy")
        await run(stop)      work until `stop` is set; then close every listener and connection
        await ready()        returns after the first full sync of Services and EndpointSlices
    LoadBalancerAddresses(cidr)                        stable load-balancer IPs per Service

What it does with them (forwarding itself is `forwarding.py`, names are `hosts.py`):
    - every TCP port of a Service with a ClusterIP (ClusterIP, NodePort, LoadBalancer; not
      headless, not ExternalName): a listener on clusterIP:port; NodePort and LoadBalancer
      Services also on every node's address at the nodePort;
    - LoadBalancer Services: an address from `config.load_balancer_cidr`, kept for the life
      of the Service (and across proxy restarts, read back from status), listeners on it at
      each port, and status.loadBalancer.ingress [{ip}] patched through services/status;
    - EndpointSlice changes reach the forwarder after
      `config.time_scale.real(config.endpoint_propagation_delay)` seconds, in order; the
      first sync applies at once. Service changes move listeners at once;
    - `<state_dir>/hosts/<namespace>` for every namespace and "default", rewritten in place.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from lightkube import ALL_NS, AsyncClient
from lightkube.core.exceptions import ApiError
from lightkube.core.generic_client import ListAsyncIterable
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, Service
from lightkube.resources.discovery_v1 import EndpointSlice
from lightkube.types import PatchType

from harness.cluster.agents.agent import NodeSpec
from harness.cluster.agents.forwarding import (
    Endpoint,
    Frontend,
    FrontendKind,
    ServiceForwarder,
    ServicePortName,
    ServiceRef,
)
from harness.cluster.agents.hosts import HostsFiles, ServiceAddress
from harness.cluster.config import ClusterConfig

__all__ = ["LoadBalancerAddresses", "ServiceProxy"]

_log = logging.getLogger(__name__)

SERVICE_NAME_LABEL: Final = "kubernetes.io/service-name"
_FORWARDED_TYPES: Final = ("ClusterIP", "NodePort", "LoadBalancer")
_RETRY_FIRST, _RETRY_MAX = 0.1, 5.0

_R = TypeVar("_R")


# -- what the proxy reads from API objects ---------------------------------------------------
@dataclass(frozen=True)
class _ServicePort:
    name: str
    port: int
    protocol: str
    node_port: int | None


@dataclass(frozen=True)
class _ServiceView:
    """The fields of a Service the proxy acts on."""

    ref: ServiceRef
    type: str
    cluster_ip: str | None  # None: headless or ExternalName
    ports: tuple[_ServicePort, ...]
    ingress_ips: tuple[str, ...]

    @classmethod
    def of(cls, svc: Service) -> _ServiceView:
        meta = svc.metadata or ObjectMeta()
        spec = svc.spec
        ip = spec.clusterIP if spec is not None else None
        ports = tuple(
            _ServicePort(p.name or "", p.port, p.protocol or "TCP", p.nodePort)
            for p in ((spec.ports if spec is not None else None) or [])
        )
        balancer = svc.status.loadBalancer if svc.status is not None else None
        ingress = tuple(i.ip for i in (balancer.ingress if balancer else None) or [] if i.ip)
        return cls(
            ref=ServiceRef(meta.namespace or "default", meta.name or ""),
            type=(spec.type if spec is not None else None) or "ClusterIP",
            cluster_ip=ip if ip and ip != "None" else None,
            ports=ports,
            ingress_ips=ingress,
        )

    @property
    def forwarded(self) -> bool:
        return self.cluster_ip is not None and self.type in _FORWARDED_TYPES

    def frontends(self, nodes: Sequence[NodeSpec], balancer_ip: str | None) -> set[Frontend]:
        if not self.forwarded or self.cluster_ip is None:
            return set()
        found: set[Frontend] = set()
        for port in self.ports:
            if port.protocol != "TCP":
                continue  # UDP and SCTP are not forwarded (docs/NETWORKING.md)
            name = ServicePortName(self.ref, port.name)
            found.add(Frontend(self.cluster_ip, port.port, name, FrontendKind.CLUSTER_IP))
            if port.node_port and self.type in ("NodePort", "LoadBalancer"):
                found.update(
                    Frontend(node.address, port.node_port, name, FrontendKind.NODE_PORT)
                    for node in nodes
                )
            if balancer_ip is not None:
                found.add(Frontend(balancer_ip, port.port, name, FrontendKind.LOAD_BALANCER))
        return found


@dataclass(frozen=True)
class _SliceView:
    """An EndpointSlice as kube-proxy reads it: its Service and, per port name, endpoints."""

    service: ServiceRef
    by_port: tuple[tuple[str, tuple[Endpoint, ...]], ...]

    @classmethod
    def of(cls, eps: EndpointSlice) -> _SliceView | None:
        meta = eps.metadata or ObjectMeta()
        service = (meta.labels or {}).get(SERVICE_NAME_LABEL)
        if not service or eps.addressType != "IPv4":
            return None  # not a Service's slice, or addresses we cannot listen for
        endpoints: list[tuple[str, bool, bool, bool]] = []
        for endpoint in eps.endpoints or []:
            if not endpoint.addresses:
                continue
            conditions = endpoint.conditions
            ready = conditions.ready if conditions else None
            serving = conditions.serving if conditions else None
            terminating = conditions.terminating if conditions else None
            endpoints.append(
                (
                    endpoint.addresses[0],  # kube-proxy uses only the first address
                    ready is None or ready,
                    serving is None or serving,
                    bool(terminating),
                )
            )
        by_port = tuple(
            (
                port.name or "",
                tuple(Endpoint(a, port.port, r, s, t) for a, r, s, t in endpoints),
            )
            for port in eps.ports or []
            if port.port is not None and (port.protocol or "TCP") == "TCP"
        )
        return cls(ServiceRef(meta.namespace or "default", service), by_port)


# -- load-balancer addresses -------------------------------------------------------------------
class LoadBalancerAddresses:
    """Addresses for LoadBalancer Services from one block, one per Service, stable for the life
    of the Service: a Service keeps the address it holds, and one that already shows an address
    of the block in its status (a restarted proxy) gets that address back when it is free."""

    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.IPv4Network(cidr)
        self._by_service: dict[ServiceRef, str] = {}
        self._owners: dict[str, ServiceRef] = {}
        self._next = 1

    def address_of(self, service: ServiceRef) -> str | None:
        return self._by_service.get(service)

    def usable(self, address: str) -> bool:
        try:
            ip = ipaddress.IPv4Address(address)
        except ValueError:
            return False
        return ip in self.network and ip not in (
            self.network.network_address,
            self.network.broadcast_address,
        )

    def allocate(self, service: ServiceRef, preferred: Iterable[str] = ()) -> str | None:
        """The Service's address, allocated now if it has none; None when the block is full."""
        held = self._by_service.get(service)
        if held is not None:
            return held
        for address in preferred:
            if self.usable(address) and address not in self._owners:
                return self._claim(service, address)
        size = self.network.num_addresses - 2
        for _ in range(size):
            offset = self._next
            self._next = offset % size + 1
            address = str(self.network.network_address + offset)
            if address not in self._owners:
                return self._claim(service, address)
        return None

    def release(self, service: ServiceRef) -> str | None:
        address = self._by_service.pop(service, None)
        if address is not None:
            self._owners.pop(address, None)
        return address

    def _claim(self, service: ServiceRef, address: str) -> str:
        self._by_service[service] = address
        self._owners[address] = service
        return address


# -- the agent ---------------------------------------------------------------------------------
class ServiceProxy:
    """kube-proxy and the load-balancer stand-in as one node agent; see the module docstring."""

    name = "kube-proxy"

    def __init__(
        self,
        api: AsyncClient,
        config: ClusterConfig,
        nodes: Sequence[NodeSpec],
        state_dir: Path,
    ) -> None:
        self.api = api
        self.config = config
        self.nodes = tuple(nodes)
        self.state_dir = Path(state_dir)
        scale = config.time_scale
        self.forwarder = ServiceForwarder(
            propagation_delay=scale.real(config.endpoint_propagation_delay),
            deregistration_delay=scale.real(config.deregistration_delay),
        )
        self.hosts = HostsFiles(self.state_dir / "hosts")
        self.balancers = LoadBalancerAddresses(config.load_balancer_cidr)
        self._services: dict[ServiceRef, _ServiceView] = {}
        self._slices: dict[tuple[str, str], _SliceView] = {}
        self._slices_of: dict[ServiceRef, set[tuple[str, str]]] = {}
        self._namespaces: set[str] = set()
        self._status_tasks: dict[ServiceRef, asyncio.Task[None]] = {}
        self._synced = {kind: asyncio.Event() for kind in ("services", "slices", "namespaces")}
        self._ready = asyncio.Event()
        self.last_error: str | None = None

    # -- Agent -------------------------------------------------------------------------------
    async def ready(self) -> None:
        await self._ready.wait()

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        reflectors = [
            loop.create_task(
                self._reflect(
                    "services",
                    lambda: self.api.list(Service, namespace=ALL_NS),
                    lambda rv: self.api.watch(Service, namespace=ALL_NS, resource_version=rv),
                    self._replace_services,
                    self._on_service,
                ),
                name="kube-proxy services",
            ),
            loop.create_task(
                self._reflect(
                    "slices",
                    lambda: self.api.list(EndpointSlice, namespace=ALL_NS),
                    lambda rv: self.api.watch(EndpointSlice, namespace=ALL_NS, resource_version=rv),
                    self._replace_slices,
                    self._on_slice,
                ),
                name="kube-proxy endpointslices",
            ),
            loop.create_task(
                self._reflect(
                    "namespaces",
                    lambda: self.api.list(Namespace),
                    lambda rv: self.api.watch(Namespace, resource_version=rv),
                    self._replace_namespaces,
                    self._on_namespace,
                ),
                name="kube-proxy namespaces",
            ),
        ]
        try:
            await stop.wait()
        finally:
            tasks = [*reflectors, *self._status_tasks.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.forwarder.aclose()

    # -- list and watch ----------------------------------------------------------------------
    async def _reflect(
        self,
        kind: str,
        list_objects: Callable[[], ListAsyncIterable[_R]],
        watch_objects: Callable[[str], AsyncIterable[tuple[str, _R]]],
        replace: Callable[[list[_R], bool], Awaitable[None]],
        update: Callable[[str, _R], Awaitable[None]],
    ) -> None:
        """List, then watch from the list's resourceVersion; on any error (410 Gone included)
        list again after a back-off, as client-go's reflector does."""
        synced = self._synced[kind]
        delay = _RETRY_FIRST
        while True:
            try:
                listing = list_objects()
                items = [item async for item in listing]
                first = not synced.is_set()
                await replace(items, first)
                synced.set()
                if all(event.is_set() for event in self._synced.values()):
                    self._ready.set()
                delay = _RETRY_FIRST
                async for event, obj in watch_objects(listing.resourceVersion):
                    if event in ("ADDED", "MODIFIED", "DELETED"):
                        await update(event, obj)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the agent outlives any one failure, as kube-proxy does
                self.last_error = f"{kind}: {exc!r}"
                if isinstance(exc, ApiError) and exc.status.code == 410:
                    _log.info("%s watch expired; listing again", kind)
                else:
                    _log.warning("%s list/watch failed (%s); retrying in %.1fs", kind, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)

    # -- Services ----------------------------------------------------------------------------
    async def _replace_services(self, items: list[Service], first: bool) -> None:
        views = [_ServiceView.of(svc) for svc in items]
        for gone in set(self._services) - {v.ref for v in views}:
            await self._forget_service(gone)
        # Services already showing one of our addresses claim it before others are handed out.
        views.sort(key=lambda v: not any(self.balancers.usable(ip) for ip in v.ingress_ips))
        for view in views:
            await self._apply_service(view)
        self._write_hosts()

    async def _on_service(self, event: str, svc: Service) -> None:
        view = _ServiceView.of(svc)
        old = self._services.get(view.ref)
        if event == "DELETED":
            await self._forget_service(view.ref)
        else:
            await self._apply_service(view)
        if old is None or event == "DELETED" or old.cluster_ip != view.cluster_ip:
            self._write_hosts()

    async def _apply_service(self, view: _ServiceView) -> None:
        self._services[view.ref] = view
        balancer_ip: str | None = None
        if view.forwarded and view.type == "LoadBalancer":
            balancer_ip = self.balancers.allocate(view.ref, view.ingress_ips)
            if balancer_ip is None:
                _log.warning("%s: no free address in %s", view.ref, self.balancers.network)
        else:
            self.balancers.release(view.ref)
        await self.forwarder.set_frontends(view.ref, view.frontends(self.nodes, balancer_ip))
        wanted = (balancer_ip,) if balancer_ip else ()
        ours = tuple(ip for ip in view.ingress_ips if self.balancers.usable(ip))
        if wanted and view.ingress_ips != wanted:
            self._publish_ingress(view.ref, wanted)
        elif not wanted and ours:  # no longer a LoadBalancer: take our address back out
            self._publish_ingress(view.ref, ())

    async def _forget_service(self, ref: ServiceRef) -> None:
        self._services.pop(ref, None)
        self.balancers.release(ref)
        task = self._status_tasks.pop(ref, None)
        if task is not None:
            task.cancel()
        await self.forwarder.set_frontends(ref, ())

    def _publish_ingress(self, ref: ServiceRef, ips: tuple[str, ...]) -> None:
        previous = self._status_tasks.pop(ref, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.get_running_loop().create_task(self._patch_ingress(ref, ips))
        self._status_tasks[ref] = task
        task.add_done_callback(functools.partial(self._status_done, ref))

    def _status_done(self, ref: ServiceRef, task: asyncio.Task[None]) -> None:
        if self._status_tasks.get(ref) is task:
            del self._status_tasks[ref]

    async def _patch_ingress(self, ref: ServiceRef, ips: tuple[str, ...]) -> None:
        """Patch status.loadBalancer.ingress through services/status, as the AWS load-balancer
        controller does on EKS; retried with back-off, dropped when the Service is gone."""
        ingress: Any = [{"ip": ip} for ip in ips] if ips else None
        body = {"status": {"loadBalancer": {"ingress": ingress}}}
        delay = _RETRY_FIRST
        while ref in self._services:
            try:
                await self.api.patch(
                    Service.Status,
                    ref.name,
                    body,
                    namespace=ref.namespace,
                    patch_type=PatchType.MERGE,
                )
                return
            except ApiError as exc:
                if exc.status.code == 404:
                    return
                self.last_error = f"status of {ref}: {exc}"
            except Exception as exc:
                self.last_error = f"status of {ref}: {exc!r}"
            _log.warning("%s; retrying in %.1fs", self.last_error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)

    # -- EndpointSlices ----------------------------------------------------------------------
    async def _replace_slices(self, items: list[EndpointSlice], first: bool) -> None:
        listed = {_slice_key(eps): eps for eps in items}
        changed: set[ServiceRef] = set()
        for key in set(self._slices) - set(listed):
            changed |= self._store_slice(key, None)
        for key, eps in listed.items():
            changed |= self._store_slice(key, _SliceView.of(eps))
        for ref in sorted(changed):
            await self._emit_endpoints(ref, at_once=first)

    async def _on_slice(self, event: str, eps: EndpointSlice) -> None:
        view = None if event == "DELETED" else _SliceView.of(eps)
        for ref in sorted(self._store_slice(_slice_key(eps), view)):
            await self._emit_endpoints(ref, at_once=False)

    def _store_slice(self, key: tuple[str, str], view: _SliceView | None) -> set[ServiceRef]:
        """Record one slice; the Services whose endpoints that changed."""
        old = self._slices.get(key)
        if old == view:
            return set()
        if old is not None:
            self._slices.pop(key)
            keys = self._slices_of.get(old.service, set())
            keys.discard(key)
            if not keys:
                self._slices_of.pop(old.service, None)
        if view is not None:
            self._slices[key] = view
            self._slices_of.setdefault(view.service, set()).add(key)
        return {v.service for v in (old, view) if v is not None}

    async def _emit_endpoints(self, ref: ServiceRef, *, at_once: bool) -> None:
        by_port: dict[str, list[Endpoint]] = {}
        for key in sorted(self._slices_of.get(ref, ())):
            for port, endpoints in self._slices[key].by_port:
                by_port.setdefault(port, []).extend(endpoints)
        if at_once:
            await self.forwarder.apply_endpoints(ref, by_port)
        else:
            self.forwarder.observe_endpoints(ref, by_port)

    # -- Namespaces and names ----------------------------------------------------------------
    async def _replace_namespaces(self, items: list[Namespace], first: bool) -> None:
        self._namespaces = {ns.metadata.name for ns in items if ns.metadata and ns.metadata.name}
        self._write_hosts()

    async def _on_namespace(self, event: str, ns: Namespace) -> None:
        name = ns.metadata.name if ns.metadata else None
        if not name:
            return
        if event == "DELETED":
            self._namespaces.discard(name)
        elif name in self._namespaces:
            return
        else:
            self._namespaces.add(name)
        self._write_hosts()

    def _write_hosts(self) -> None:
        addresses = [
            ServiceAddress(ref.namespace, ref.name, view.cluster_ip)
            for ref, view in self._services.items()
            if view.cluster_ip is not None
        ]
        try:
            self.hosts.sync(self._namespaces, addresses)
        except OSError as exc:
            self.last_error = f"hosts files: {exc}"
            _log.warning("cannot write hosts files under %s: %s", self.hosts.directory, exc)


def _slice_key(eps: EndpointSlice) -> tuple[str, str]:
    meta = eps.metadata or ObjectMeta()
    return (meta.namespace or "default", meta.name or "")
