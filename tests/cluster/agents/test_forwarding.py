"""The forwarding engine with real sockets on loopback addresses and stand-in pods: routing to
ready endpoints, fallback, refusal, the propagation and deregistration delays, open connections."""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec

import pytest

from harness.cluster.agents.forwarding import (
    Endpoint,
    Frontend,
    FrontendKind,
    ServiceForwarder,
    ServicePortName,
    ServiceRef,
    eligible_endpoints,
)

P = ParamSpec("P")
SERVICE = ServiceRef("default", "web")
HTTP = ServicePortName(SERVICE, "http")


def run_async(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    @functools.wraps(test)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), 20))

    return wrapper


def random_address(second_octet: int) -> str:
    """A loopback address unlikely to be in use by a parallel test worker."""
    return f"127.{second_octet}.{random.randint(0, 255)}.{random.randint(2, 254)}"


class Pod:
    """A stand-in pod: answers every line with its name, keeps connections open (keep-alive)
    until the client closes them or the pod stops."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.address = random_address(17)
        self.port = 0
        self.accepted = 0
        self.open: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> Pod:
        self.server = await asyncio.start_server(self._serve, self.address, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open.add(writer)
        try:
            while line := await reader.readline():
                writer.write(f"{self.name} {line.decode().strip()}\n".encode())
                await writer.drain()
            writer.write(b"bye\n")  # after the client's half-close, still heard
            await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.open.discard(writer)
            writer.close()

    def endpoint(self, **conditions: bool) -> Endpoint:
        return Endpoint(self.address, self.port, **conditions)

    def stop_listening(self) -> None:
        assert self.server is not None
        self.server.close()

    def close_connections(self) -> None:
        for writer in list(self.open):
            writer.close()


class Client:
    """One client connection that sends requests and reads the one-line answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, frontend: Frontend) -> Client:
        return cls(*await asyncio.open_connection(frontend.address, frontend.port))

    async def ask(self, text: str = "ping") -> str:
        self.writer.write(f"{text}\n".encode())
        await self.writer.drain()
        return (await asyncio.wait_for(self.reader.readline(), 5)).decode().strip()

    def close(self) -> None:
        self.writer.close()


async def ask_once(frontend: Frontend) -> str:
    client = await Client.connect(frontend)
    try:
        return (await client.ask()).split()[0]
    finally:
        client.close()


async def answers(frontend: Frontend, count: int) -> list[str]:
    return [await ask_once(frontend) for _ in range(count)]


def cluster_ip(kind: FrontendKind = FrontendKind.CLUSTER_IP, port: int = 8080) -> Frontend:
    return Frontend(random_address(99), port, HTTP, kind)


async def pods(*names: str) -> list[Pod]:
    return [await Pod(name).start() for name in names]


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# -- choosing endpoints ------------------------------------------------------------------------
def test_eligible_endpoints_are_ready_else_serving_and_terminating() -> None:
    ready = Endpoint("127.16.0.1", 80)
    not_ready = Endpoint("127.16.0.2", 80, ready=False, serving=False)
    draining = Endpoint("127.16.0.3", 80, ready=False, serving=True, terminating=True)
    dying = Endpoint("127.16.0.4", 80, ready=False, serving=False, terminating=True)
    assert eligible_endpoints([ready, not_ready, draining, dying]) == (ready,)
    assert eligible_endpoints([not_ready, draining, dying]) == (draining,)
    assert eligible_endpoints([not_ready, dying]) == ()
    assert eligible_endpoints([ready, ready]) == (ready,)


@run_async
async def test_connections_reach_ready_endpoints_only_round_robin() -> None:
    a, b, c = await pods("a", "b", "c")
    frontend = cluster_ip()
    async with ServiceForwarder() as forwarder:
        await forwarder.set_frontends(SERVICE, [frontend])
        endpoints = [a.endpoint(), b.endpoint(), c.endpoint(ready=False, serving=False)]
        await forwarder.apply_endpoints(SERVICE, {"http": endpoints})
        seen = await answers(frontend, 10)
    assert seen.count("a") == seen.count("b") == 5
    assert c.accepted == 0


@run_async
async def test_each_frontend_rotates_on_its_own() -> None:
    """Clients taking turns on the ClusterIP and the load balancer of one Service port each
    still reach every endpoint (a cursor shared by the frontends gave each client one pod)."""
    a, b = await pods("a", "b")
    ip, balancer = cluster_ip(), cluster_ip(FrontendKind.LOAD_BALANCER)
    async with ServiceForwarder() as forwarder:
        await forwarder.set_frontends(SERVICE, [ip, balancer])
        await forwarder.apply_endpoints(SERVICE, {"http": [a.endpoint(), b.endpoint()]})
        seen: dict[Frontend, list[str]] = {ip: [], balancer: []}
        for _ in range(4):
            for frontend in (ip, balancer):
                seen[frontend].append(await ask_once(frontend))
    assert sorted(seen[ip]) == sorted(seen[balancer]) == ["a", "a", "b", "b"]


@run_async
async def test_without_ready_endpoints_serving_terminating_ones_take_traffic() -> None:
    old, broken = await pods("old", "broken")
    frontend = cluster_ip()
    async with ServiceForwarder() as forwarder:
        await forwarder.set_frontends(SERVICE, [frontend])
        endpoints = [
            old.endpoint(ready=False, serving=True, terminating=True),
            broken.endpoint(ready=False, serving=False, terminating=True),
        ]
        await forwarder.apply_endpoints(SERVICE, {"http": endpoints})
        assert set(await answers(frontend, 4)) == {"old"}


@run_async
async def test_a_port_without_endpoints_refuses_at_once() -> None:
    (a,) = await pods("a")
    frontend = cluster_ip()
    async with ServiceForwarder() as forwarder:
        await forwarder.set_frontends(SERVICE, [frontend])
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(frontend.address, frontend.port)
        await forwarder.apply_endpoints(SERVICE, {"http": [a.endpoint()]})
        assert await ask_once(frontend) == "a"
        await forwarder.apply_endpoints(SERVICE, {"http": [a.endpoint(ready=False)]})
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(frontend.address, frontend.port)
        assert forwarder.listening() == []


@run_async
async def test_an_endpoint_that_refuses_resets_the_client_without_retry() -> None:
    alive, dead = await pods("alive", "dead")
    dead.stop_listening()
    frontend = cluster_ip()
    async with ServiceForwarder() as forwarder:
        await forwarder.set_frontends(SERVICE, [frontend])
        await forwarder.apply_endpoints(SERVICE, {"http": [dead.endpoint(), alive.endpoint()]})
        outcomes = []
        for _ in range(4):
            try:
                outcomes.append(await ask_once(frontend))
            except (ConnectionError, IndexError):
                outcomes.append("reset")
    assert outcomes.count("reset") == 2 and outcomes.count("alive") == 2


@run_async
async def test_endpoint_changes_take_effect_after_the_propagation_delay_in_order() -> None:
    blue, green, next_ = await pods("blue", "green", "next")
    frontend = cluster_ip()
    async with ServiceForwarder(propagation_delay=0.8) as forwarder:
        await forwarder.set_frontends(SERVICE, [frontend])
        await forwarder.apply_endpoints(SERVICE, {"http": [blue.endpoint()]})
        loop = asyncio.get_running_loop()
        observed = loop.time()
        forwarder.observe_endpoints(SERVICE, {"http": [green.endpoint()]})
        await asyncio.sleep(0.1)
        forwarder.observe_endpoints(SERVICE, {"http": [next_.endpoint()]})
        assert set(await answers(frontend, 3)) == {"blue"}
        assert forwarder.pending_changes == 2

        async def switched() -> bool:
            return await ask_once(frontend) != "blue"

        await wait_for(switched)
        assert loop.time() - observed >= 0.8
        assert await ask_once(frontend) == "green"  # the later change waits its own delay
        await wait_for(lambda: _answers_only(frontend, "next"))
        assert forwarder.pending_changes == 0


async def _answers_only(frontend: Frontend, name: str) -> bool:
    return await ask_once(frontend) == name


@run_async
async def test_a_switch_moves_new_connections_and_leaves_open_ones_with_their_pod() -> None:
    blue, green = await pods("blue", "green")
    frontend = cluster_ip()
    async with ServiceForwarder() as forwarder:
        await forwarder.set_frontends(SERVICE, [frontend])
        await forwarder.apply_endpoints(SERVICE, {"http": [blue.endpoint()]})
        keep_alive = await Client.connect(frontend)
        assert await keep_alive.ask("1") == "blue 1"
        await forwarder.apply_endpoints(SERVICE, {"http": [green.endpoint()]})
        assert set(await answers(frontend, 3)) == {"green"}
        assert await keep_alive.ask("2") == "blue 2"  # the old connection sticks to blue
        keep_alive.close()


@run_async
async def test_a_connection_to_a_removed_pod_lasts_until_the_pod_closes_it() -> None:
    (old,) = await pods("old")
    frontend = cluster_ip()
    async with ServiceForwarder() as forwarder:
        await forwarder.set_frontends(SERVICE, [frontend])
        await forwarder.apply_endpoints(SERVICE, {"http": [old.endpoint()]})
        client = await Client.connect(frontend)
        assert await client.ask("before") == "old before"
        await forwarder.apply_endpoints(SERVICE, {})  # the pod is terminating and removed
        await asyncio.sleep(0.1)
        assert await client.ask("during") == "old during"  # the proxy never cuts it
        old.close_connections()  # the process exits (or drains) and closes it
        assert await asyncio.wait_for(client.reader.read(), 5) == b""
        client.close()  # half-closed until the client closes too, as through NAT
        await wait_for(lambda: _no_connections(forwarder))


async def _no_connections(forwarder: ServiceForwarder) -> bool:
    return forwarder.connection_count == 0


@run_async
async def test_half_close_travels_through() -> None:
    (a,) = await pods("a")
    frontend = cluster_ip()
    async with ServiceForwarder() as forwarder:
        await forwarder.set_frontends(SERVICE, [frontend])
        await forwarder.apply_endpoints(SERVICE, {"http": [a.endpoint()]})
        client = await Client.connect(frontend)
        client.writer.write(b"last\n")
        client.writer.write_eof()
        assert await asyncio.wait_for(client.reader.read(), 5) == b"a last\nbye\n"
        client.close()


@run_async
async def test_large_transfers_keep_flow_control() -> None:
    received = bytearray()
    done = asyncio.Event()

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(1 << 16):
            received.extend(chunk)
            await asyncio.sleep(0)  # a slow reader, so buffers fill
        writer.close()
        done.set()

    address = random_address(17)
    server = await asyncio.start_server(sink, address, 0)
    port = server.sockets[0].getsockname()[1]
    frontend = cluster_ip()
    payload = random.randbytes(8 << 20)
    async with ServiceForwarder() as forwarder:
        await forwarder.set_frontends(SERVICE, [frontend])
        await forwarder.apply_endpoints(SERVICE, {"http": [Endpoint(address, port)]})
        _, writer = await asyncio.open_connection(frontend.address, frontend.port)
        writer.write(payload)
        await writer.drain()
        writer.write_eof()
        await done.wait()
        writer.close()
    server.close()
    assert bytes(received) == payload


@run_async
async def test_listeners_follow_the_service_ports() -> None:
    (a,) = await pods("a")
    before = cluster_ip(port=8080)
    after = Frontend(before.address, 9090, HTTP, FrontendKind.CLUSTER_IP)
    async with ServiceForwarder() as forwarder:
        await forwarder.apply_endpoints(SERVICE, {"http": [a.endpoint()]})
        await forwarder.set_frontends(SERVICE, [before])
        assert await ask_once(before) == "a"
        await forwarder.set_frontends(SERVICE, [after])
        assert await ask_once(after) == "a"
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(before.address, before.port)
        await forwarder.set_frontends(SERVICE, [])
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(after.address, after.port)


@run_async
async def test_aclose_closes_listeners_and_open_connections() -> None:
    (a,) = await pods("a")
    frontend = cluster_ip()
    forwarder = ServiceForwarder()
    await forwarder.set_frontends(SERVICE, [frontend])
    await forwarder.apply_endpoints(SERVICE, {"http": [a.endpoint()]})
    client = await Client.connect(frontend)
    assert await client.ask() == "a ping"
    await forwarder.aclose()
    with pytest.raises(ConnectionError):
        data = await asyncio.wait_for(client.reader.read(), 5)
        if data == b"":
            raise ConnectionResetError("closed")
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(frontend.address, frontend.port)
    await forwarder.aclose()  # idempotent


# -- the load-balancer path --------------------------------------------------------------------
@run_async
async def test_load_balancer_keeps_a_removed_target_for_the_deregistration_delay() -> None:
    old, new = await pods("old", "new")
    frontend = cluster_ip(FrontendKind.LOAD_BALANCER, port=80)
    clusterip = cluster_ip()
    async with ServiceForwarder(deregistration_delay=1.0) as forwarder:
        await forwarder.set_frontends(SERVICE, [frontend, clusterip])
        await forwarder.apply_endpoints(SERVICE, {"http": [old.endpoint(), new.endpoint()]})
        await forwarder.apply_endpoints(SERVICE, {"http": [new.endpoint()]})
        removed_at = asyncio.get_running_loop().time()
        assert set(await answers(clusterip, 4)) == {"new"}  # kube-proxy: at once
        assert set(await answers(frontend, 4)) == {"old", "new"}  # the ALB: not yet
        await asyncio.sleep(max(0.0, removed_at + 1.05 - asyncio.get_running_loop().time()))
        assert set(await answers(frontend, 4)) == {"new"}


@run_async
async def test_load_balancer_fails_connections_to_a_draining_target_that_exited() -> None:
    # Not kinder than an ALB: a deregistering target that no longer accepts costs the
    # connections sent to it (a 502 there, a reset here) until the delay has passed.
    old, new = await pods("old", "new")
    frontend = cluster_ip(FrontendKind.LOAD_BALANCER, port=80)
    async with ServiceForwarder(deregistration_delay=30) as forwarder:
        await forwarder.set_frontends(SERVICE, [frontend])
        await forwarder.apply_endpoints(SERVICE, {"http": [old.endpoint(), new.endpoint()]})
        await forwarder.apply_endpoints(SERVICE, {"http": [new.endpoint()]})
        old.stop_listening()  # the pod exited
        outcomes = []
        for _ in range(6):
            try:
                outcomes.append(await ask_once(frontend))
            except (ConnectionError, IndexError, asyncio.IncompleteReadError):
                outcomes.append("reset")
        assert set(outcomes) == {"new", "reset"}, outcomes


@run_async
async def test_load_balancer_without_targets_accepts_and_resets() -> None:
    frontend = cluster_ip(FrontendKind.LOAD_BALANCER, port=80)
    async with ServiceForwarder() as forwarder:
        await forwarder.set_frontends(SERVICE, [frontend])
        reader, writer = await asyncio.open_connection(frontend.address, frontend.port)
        with pytest.raises(ConnectionResetError):
            writer.write(b"GET / HTTP/1.1\r\n\r\n")
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), 5)
            assert data == b"", "nothing must be answered"
            raise ConnectionResetError("orderly close instead of reset")
        writer.close()
