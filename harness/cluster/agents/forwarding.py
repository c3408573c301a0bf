"""The service proxy's TCP forwarding engine: listeners on Service frontends that hand each
connection to one endpoint, with kube-proxy's lag and the load balancer's deregistration delay.

It knows nothing of the Kubernetes API; `proxy.py` feeds it frontends and endpoints.

    ServiceForwarder(*, propagation_delay=0.0, deregistration_delay=0.0, backlog=1024)
        await set_frontends(service, frontends)   listeners of one Service follow at once
        observe_endpoints(service, by_port)       applied after `propagation_delay`, in order
        await apply_endpoints(service, by_port)   applied now (the proxy's first sync)
        await aclose()                            every listener and connection, for good
        listening() / endpoints(name) / bind_errors() / connection_count   what it does now

Behaviour, as a real cluster behaves (KUBE_SPEC rules 24-26, 31):
    - A connection goes to one endpoint of its Service port, round-robin (per frontend) over
      the endpoints whose `ready` condition holds; when none is ready, over those both serving and
      terminating (KEP-1669). Keep-alive connections stay with their endpoint.
    - ClusterIP and NodePort frontends listen only while their port has such an endpoint, so
      a connection without one is refused at once, as kube-proxy's REJECT rule refuses it.
      Their connect to a dead endpoint resets the client: kube-proxy does not retry.
    - LoadBalancer frontends listen for the Service's whole life. A target stays in rotation
      for `deregistration_delay` seconds after its removal was applied; a target that refuses
      fails that connection (the client is reset, as an ALB answers 502), and with no target
      at all the client is reset too.
    - A connection once forwarded is never cut by endpoint changes: it lasts until the client
      or the endpoint closes it (or `aclose()`), so a switched or terminating backend keeps
      its in-flight requests exactly as long as its process keeps them.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import socket
import struct
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "Endpoint",
    "EndpointsByPort",
    "Frontend",
    "FrontendKind",
    "ServiceForwarder",
    "ServicePortName",
    "ServiceRef",
    "eligible_endpoints",
]

_log = logging.getLogger(__name__)

# Each side buffers this much before the other side stops being read (flow control).
_WRITE_HIGH_WATER = 1 << 20
# SO_LINGER on, 0 seconds: close() sends RST instead of FIN, as a rejected connection gets.
_LINGER_RESET = struct.pack("ii", 1, 0)


@dataclass(frozen=True, order=True)
class ServiceRef:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, order=True)
class ServicePortName:
    """One port of a Service, by its name ("" for the single unnamed port), as EndpointSlice
    ports name it."""

    service: ServiceRef
    port: str

    def __str__(self) -> str:
        return f"{self.service}:{self.port}" if self.port else str(self.service)


class FrontendKind(enum.Enum):
    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"


@dataclass(frozen=True)
class Frontend:
    """An address and port the proxy listens on for one Service port."""

    address: str
    port: int
    target: ServicePortName
    kind: FrontendKind

    def __str__(self) -> str:
        return f"{self.kind.value} {self.address}:{self.port} -> {self.target}"


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of a Service port: a pod address, the port number from its EndpointSlice,
    and the slice's conditions (nil already read as kube-proxy reads it)."""

    address: str
    port: int
    ready: bool = True
    serving: bool = True
    terminating: bool = False

    @property
    def target(self) -> tuple[str, int]:
        return (self.address, self.port)


#: Service port name -> that port's endpoints
EndpointsByPort = Mapping[str, Sequence[Endpoint]]


def eligible_endpoints(endpoints: Iterable[Endpoint]) -> tuple[Endpoint, ...]:
    """The endpoints new connections may use: the ready ones; when none is ready, the ones
    serving and terminating (KEP-1669). One entry per address and port."""
    unique: dict[tuple[str, int], Endpoint] = {}
    for endpoint in endpoints:
        unique.setdefault(endpoint.target, endpoint)
    ready = tuple(e for e in unique.values() if e.ready)
    if ready:
        return ready
    return tuple(e for e in unique.values() if e.serving and e.terminating)


class _EndpointPool:
    """The endpoints of one Service port as applied, plus the load balancer's targets that are
    still within their deregistration delay (target -> loop time it ends)."""

    __slots__ = ("_cursors", "draining", "eligible", "endpoints")

    def __init__(self) -> None:
        self.endpoints: tuple[Endpoint, ...] = ()
        self.eligible: tuple[Endpoint, ...] = ()
        self.draining: dict[tuple[str, int], float] = {}
        # One rotation per frontend, as IPVS keeps one per virtual service and an ALB one per
        # target group: a shared cursor let two clients taking turns on the ClusterIP and the
        # load balancer each see a single pod.
        self._cursors: dict[Frontend, int] = {}

    def apply(self, endpoints: Sequence[Endpoint], now: float, deregistration: float) -> None:
        eligible = eligible_endpoints(endpoints)
        kept = {e.target for e in eligible}
        if deregistration > 0:
            for old in self.eligible:
                if old.target not in kept:
                    self.draining[old.target] = now + deregistration
        for target in kept:
            self.draining.pop(target, None)
        self.endpoints, self.eligible = tuple(endpoints), eligible

    def expire(self, now: float) -> float | None:
        """Drop finished deregistrations; the loop time the next one ends, if any."""
        self.draining = {t: until for t, until in self.draining.items() if until > now}
        return min(self.draining.values(), default=None)

    def targets(self, kind: FrontendKind, now: float) -> list[tuple[str, int]]:
        targets = [e.target for e in self.eligible]
        if kind is FrontendKind.LOAD_BALANCER:
            targets += [t for t, until in self.draining.items() if until > now]
        return targets

    def candidates(self, frontend: Frontend, now: float) -> list[tuple[str, int]]:
        """Every target, rotated so that successive connections to `frontend` start at
        successive ones."""
        targets = self.targets(frontend.kind, now)
        if not targets:
            return []
        cursor = self._cursors.get(frontend, 0)
        self._cursors[frontend] = cursor + 1
        start = cursor % len(targets)
        return targets[start:] + targets[:start]

    def forget(self, frontend: Frontend) -> None:
        self._cursors.pop(frontend, None)

    @property
    def idle(self) -> bool:
        return not self.endpoints and not self.draining


class _Listener:
    __slots__ = ("error", "frontend", "server")

    def __init__(self, frontend: Frontend) -> None:
        self.frontend = frontend
        self.server: asyncio.AbstractServer | None = None
        self.error: str | None = None


def _reset(transport: asyncio.Transport | None) -> None:
    """Close with RST, so the peer sees a reset rather than an orderly end of stream."""
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    transport.abort()


class _Side(asyncio.Protocol):
    """One socket of a forwarded connection; what it reads it writes to its peer."""

    __slots__ = ("eof", "peer", "splice", "transport")

    def __init__(self, splice: _Splice) -> None:
        self.splice = splice
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=_WRITE_HIGH_WATER)
        self.splice.connected(self)

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is None or peer.transport is None or peer.eof:
            self.splice.close()
            return True
        if peer.transport.can_write_eof():
            peer.transport.write_eof()  # half-close, as it travels through NAT
        return True

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.splice.lost(self, exc)


class _Splice:
    """One forwarded connection: the client's socket joined to an endpoint's socket."""

    __slots__ = ("backend", "client", "closed", "connecting", "forwarder", "frontend")

    def __init__(self, forwarder: ServiceForwarder, frontend: Frontend) -> None:
        self.forwarder = forwarder
        self.frontend = frontend
        self.client = _Side(self)
        self.backend: _Side | None = None
        self.connecting: asyncio.Task[None] | None = None
        self.closed = False

    def connected(self, side: _Side) -> None:
        if side is self.client:
            self._accepted()
        else:  # join at once: a server that speaks first may write before connect returns
            side.peer, self.client.peer = self.client, side

    def _accepted(self) -> None:
        client = self.client.transport
        assert client is not None
        candidates = self.forwarder._candidates(self.frontend)
        if not candidates or self.forwarder.closed:
            _reset(client)
            return
        client.pause_reading()  # until the endpoint answers; the kernel buffers meanwhile
        self.forwarder._splices.add(self)
        self.connecting = asyncio.get_running_loop().create_task(self._connect(candidates))

    async def _connect(self, candidates: list[tuple[str, int]]) -> None:
        loop = asyncio.get_running_loop()
        # kube-proxy DNATs to one endpoint and a refusal reaches the client; an ALB does not
        # retry a target that refuses either (the client gets a 502): one target, one try.
        for address, port in candidates[:1]:
            backend = _Side(self)
            self.backend = backend
            try:
                await loop.create_connection(_factory(backend), address, port)
            except OSError as exc:
                _log.debug("%s: endpoint %s:%s refused: %s", self.frontend, address, port, exc)
                self.backend = None
                continue
            self.connecting = None
            if self.closed:
                _reset(backend.transport)
            elif self.client.transport is not None:
                self.client.transport.resume_reading()
            return
        self.connecting = None
        self.reset()

    def close(self) -> None:
        """Both sides have ended their stream: close both, flushing what is buffered."""
        self._finish()
        for side in (self.client, self.backend):
            if side is not None and side.transport is not None:
                side.transport.close()

    def reset(self) -> None:
        self._finish()
        for side in (self.client, self.backend):
            if side is not None:
                _reset(side.transport)

    def lost(self, side: _Side, exc: Exception | None) -> None:
        if self.closed:
            return
        self._finish()
        other = self.backend if side is self.client else self.client
        if other is None or other.transport is None:
            return
        if exc is None:
            other.transport.close()
        else:
            _reset(other.transport)

    def _finish(self) -> None:
        self.closed = True
        self.forwarder._splices.discard(self)
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None


def _factory(protocol: _Side) -> Callable[[], _Side]:
    return lambda: protocol


class ServiceForwarder:
    """Listeners on Service frontends forwarding to endpoints; see the module docstring."""

    def __init__(
        self,
        *,
        propagation_delay: float = 0.0,
        deregistration_delay: float = 0.0,
        backlog: int = 1024,
    ) -> None:
        self.propagation_delay = propagation_delay
        self.deregistration_delay = deregistration_delay
        self.backlog = backlog
        self.closed = False
        self._listeners: dict[Frontend, _Listener] = {}
        self._frontends: dict[ServiceRef, set[Frontend]] = {}
        self._pools: dict[ServicePortName, _EndpointPool] = {}
        self._ports: dict[ServiceRef, set[str]] = {}
        self._pending: deque[tuple[float, ServiceRef, dict[str, tuple[Endpoint, ...]]]] = deque()
        self._pending_added: asyncio.Event | None = None
        self._propagation: asyncio.Task[None] | None = None
        self._expiries: dict[ServicePortName, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._splices: set[_Splice] = set()
        self._lock = asyncio.Lock()

    # -- what it does now ----------------------------------------------------------------
    def listening(self) -> list[Frontend]:
        """Frontends with a bound listener now."""
        return [f for f, lst in self._listeners.items() if lst.server is not None]

    def bind_errors(self) -> dict[Frontend, str]:
        return {f: lst.error for f, lst in self._listeners.items() if lst.error}

    def endpoints(self, name: ServicePortName) -> tuple[Endpoint, ...]:
        """The endpoints of a Service port as applied (not as last observed)."""
        pool = self._pools.get(name)
        return pool.endpoints if pool else ()

    @property
    def connection_count(self) -> int:
        return len(self._splices)

    @property
    def pending_changes(self) -> int:
        """Observed endpoint changes still waiting out the propagation delay."""
        return len(self._pending)

    # -- frontends -----------------------------------------------------------------------
    async def set_frontends(self, service: ServiceRef, frontends: Collection[Frontend]) -> None:
        """Make `frontends` the whole set of one Service's frontends (empty: it is gone).
        Listeners of removed frontends stop accepting; their connections carry on."""
        async with self._lock:
            if self.closed:
                return
            old = self._frontends.get(service, set())
            new = set(frontends)
            for frontend in old - new:
                self._unbind(self._listeners.pop(frontend))
                pool = self._pools.get(frontend.target)
                if pool is not None:
                    pool.forget(frontend)
            for frontend in new - old:
                self._listeners[frontend] = _Listener(frontend)
            if new:
                self._frontends[service] = new
            else:
                self._frontends.pop(service, None)
            self._forget_idle(service)
            await self._refresh(new)
            if old - new:  # a freed address:port may be what another frontend waited for
                await self._refresh(f for f, lst in self._listeners.items() if lst.error)

    # -- endpoints -----------------------------------------------------------------------
    def observe_endpoints(self, service: ServiceRef, by_port: EndpointsByPort) -> None:
        """An endpoint change as seen in the API; it takes effect after the propagation delay,
        after every change observed before it."""
        if self.closed:
            return
        loop = asyncio.get_running_loop()
        frozen = {port: tuple(endpoints) for port, endpoints in by_port.items()}
        self._pending.append((loop.time() + self.propagation_delay, service, frozen))
        if self._propagation is None:
            self._pending_added = asyncio.Event()
            self._propagation = loop.create_task(self._propagate())
        assert self._pending_added is not None
        self._pending_added.set()

    async def apply_endpoints(self, service: ServiceRef, by_port: EndpointsByPort) -> None:
        """Make `by_port` the endpoints of every port of `service` now; ports it leaves out
        have none."""
        async with self._lock:
            if self.closed:
                return
            now = asyncio.get_running_loop().time()
            ports = self._ports.setdefault(service, set())
            ports.update(by_port)
            for port in ports:
                name = ServicePortName(service, port)
                pool = self._pools.setdefault(name, _EndpointPool())
                pool.apply(by_port.get(port, ()), now, self.deregistration_delay)
                self._schedule_expiry(name, pool.expire(now))
            self._forget_idle(service)
            await self._refresh(self._frontends.get(service, ()))

    async def _propagate(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._pending_added is not None
        while True:
            if not self._pending:
                self._pending_added.clear()
                await self._pending_added.wait()
                continue
            due, service, by_port = self._pending[0]
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)  # the delay is constant, so the head stays first
                continue
            self._pending.popleft()
            try:
                await self.apply_endpoints(service, by_port)
            except Exception:  # one bad change must not stop every later one
                _log.exception("applying endpoints of %s failed", service)

    def _schedule_expiry(self, name: ServicePortName, when: float | None) -> None:
        handle = self._expiries.pop(name, None)
        if handle is not None:
            handle.cancel()
        if when is not None:
            loop = asyncio.get_running_loop()
            self._expiries[name] = loop.call_at(when, self._expired, name)

    def _expired(self, name: ServicePortName) -> None:
        self._expiries.pop(name, None)
        task = asyncio.get_running_loop().create_task(self._after_expiry(name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after_expiry(self, name: ServicePortName) -> None:
        async with self._lock:
            pool = self._pools.get(name)
            if pool is None or self.closed:
                return
            self._schedule_expiry(name, pool.expire(asyncio.get_running_loop().time()))
            self._forget_idle(name.service)
            await self._refresh(self._frontends.get(name.service, ()))

    def _forget_idle(self, service: ServiceRef) -> None:
        """Drop empty pools of Services that have no frontends left, so nothing leaks."""
        if service in self._frontends:
            return
        ports = self._ports.get(service, set())
        for port in list(ports):
            name = ServicePortName(service, port)
            pool = self._pools.get(name)
            if pool is None or pool.idle:
                self._pools.pop(name, None)
                ports.discard(port)
        if not ports:
            self._ports.pop(service, None)

    # -- listeners -----------------------------------------------------------------------
    def _candidates(self, frontend: Frontend) -> list[tuple[str, int]]:
        pool = self._pools.get(frontend.target)
        if pool is None:
            return []
        return pool.candidates(frontend, asyncio.get_running_loop().time())

    def _wants_listener(self, frontend: Frontend, now: float) -> bool:
        if frontend.kind is FrontendKind.LOAD_BALANCER:
            return True  # a load balancer exists whether or not it has targets
        pool = self._pools.get(frontend.target)
        return pool is not None and bool(pool.targets(frontend.kind, now))

    async def _refresh(self, frontends: Iterable[Frontend]) -> None:
        now = asyncio.get_running_loop().time()
        for frontend in list(frontends):
            listener = self._listeners.get(frontend)
            if listener is None:
                continue
            wanted = self._wants_listener(frontend, now)
            if wanted and listener.server is None:
                await self._bind(listener)
            elif not wanted and listener.server is not None:
                self._unbind(listener)

    async def _bind(self, listener: _Listener) -> None:
        frontend = listener.frontend
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((frontend.address, frontend.port))
            sock.listen(self.backlog)
            sock.setblocking(False)
            listener.server = await asyncio.get_running_loop().create_server(
                lambda: _Splice(self, frontend).client, sock=sock
            )
        except OSError as exc:
            sock.close()
            if listener.error is None:
                _log.warning("cannot listen for %s: %s", frontend, exc)
            listener.error = str(exc)
            return
        listener.error = None

    @staticmethod
    def _unbind(listener: _Listener) -> None:
        # Server.close() stops accepting and leaves accepted connections alone; waiting for
        # wait_closed() would (on 3.12+) wait for those connections too, so it is not awaited.
        if listener.server is not None:
            listener.server.close()
            listener.server = None
        listener.error = None

    # -- lifecycle -----------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close every listener and every forwarded connection; idempotent."""
        async with self._lock:
            self.closed = True
            for listener in self._listeners.values():
                self._unbind(listener)
            self._listeners.clear()
            self._frontends.clear()
        tasks = [t for t in (self._propagation, *self._tasks) if t is not None]
        for handle in self._expiries.values():
            handle.cancel()
        self._expiries.clear()
        self._pending.clear()
        for task in tasks:
            task.cancel()
        for splice in list(self._splices):
            splice.reset()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> ServiceForwarder:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
