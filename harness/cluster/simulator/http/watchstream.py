"""Watch streams: the store's events for one watch, carried from the store's thread to a chunked
HTTP response as JSON lines, with bookmarks, timeouts, and a 410 for a client that falls behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections import deque

from aiohttp import web

from harness.apimachinery.meta import JSON, meta
from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.http.negotiation import render, rendering
from harness.cluster.simulator.http.startup import ServerConfig
from harness.cluster.simulator.http.wire import Target, dumps, parse_bool, parse_int, status_body
from harness.cluster.simulator.store import Store, WatchEvent

__all__ = ["WatchChannel", "WatchStreams"]


class WatchChannel:
    """Events from the store's thread to one watch stream: bounded, never blocks the store.

    Events delivered while the store replays the current state (the synthetic ADDED events
    of a watch from "0") do not count against the bound; live events do.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self._loop = loop
        self._limit = limit
        self._lock = threading.Lock()
        self._events: deque[WatchEvent] = deque()
        self._live = 0
        self._signalled = False
        self.initial = True
        self.overflowed = False
        self.closed = False
        self.wakeup = asyncio.Event()

    def notify(self, event: WatchEvent) -> None:
        """Called by the store (any thread, under its lock): queue and wake, never block."""
        with self._lock:
            if self.overflowed or self.closed:
                return
            if self.initial:
                self._events.append(event)
            elif self._live >= self._limit:
                self.overflowed = True
            else:
                self._events.append(event)
                self._live += 1
            if self._signalled:
                return
            self._signalled = True
        self._wake()

    def close(self) -> None:
        with self._lock:
            self.closed = True
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            self._loop.call_soon_threadsafe(self.wakeup.set)

    def drain(self) -> list[WatchEvent]:
        with self._lock:
            events = list(self._events)
            self._events.clear()
            self._live = 0
            self._signalled = False
        self.wakeup.clear()
        return events


class WatchStreams:
    """The open watches of one server: `serve()` answers a watch request until its timeout,
    the client leaving, or `close()` (the server shutting down) ends it."""

    def __init__(self, store: Store, config: ServerConfig) -> None:
        self._store = store
        self._config = config
        self._channels: set[WatchChannel] = set()
        self._closing = False

    def close(self) -> None:
        """End every open watch; new ones end at once."""
        self._closing = True
        for channel in list(self._channels):
            channel.close()

    async def serve(self, request: web.Request, target: Target) -> web.StreamResponse:
        query = request.query
        rt = target.rt
        loop = asyncio.get_running_loop()
        timeout = parse_int(query, "timeoutSeconds")
        duration = (
            float(timeout)
            if timeout is not None and timeout > 0
            else 1800.0 * (1 + random.random())
        )
        bookmarks = bool(parse_bool(query, "allowWatchBookmarks"))
        field_selector = query.get("fieldSelector") or ""
        if target.name is not None:
            by_name = f"metadata.name={target.name}"
            field_selector = f"{field_selector},{by_name}" if field_selector else by_name
        chosen, meta_version = rendering(request.headers.get("Accept", ""))
        include_object = query.get("includeObject") or "Metadata"
        channel = WatchChannel(loop, self._config.watch_queue_limit)
        early_error: JSON | None = None
        watch = None
        try:
            watch = self._store.watch(
                rt,
                target.namespace,
                channel.notify,
                resource_version=query.get("resourceVersion") or None,
                label_selector=query.get("labelSelector") or None,
                field_selector=field_selector or None,
                send_initial_events=parse_bool(query, "sendInitialEvents"),
            )
        except ApiError as error:
            if error.code != 410:
                raise
            # kube-apiserver starts the stream and reports "too old" as an ERROR event.
            early_error = error.status()
        finally:
            channel.initial = False
        self._channels.add(channel)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        last_rv = query.get("resourceVersion") or "0"

        def encode(event: WatchEvent) -> bytes:
            obj = event.object
            if event.type not in ("BOOKMARK", "ERROR"):
                obj = render(rt, obj, chosen, meta_version, include_object)
            return dumps({"type": event.type, "object": obj}) + b"\n"

        try:
            await response.prepare(request)
            if early_error is not None:
                await response.write(dumps({"type": "ERROR", "object": early_error}) + b"\n")
                return response
            deadline = loop.time() + duration
            next_bookmark = (
                loop.time() + self._config.bookmark_interval if bookmarks else float("inf")
            )
            while True:
                events = channel.drain()
                if events:
                    for event in events:
                        rv = meta(event.object).get("resourceVersion") if event.object else None
                        if rv and event.type != "ERROR":
                            last_rv = rv
                    await response.write(b"".join(encode(event) for event in events))
                if channel.overflowed:
                    status = status_body(
                        410,
                        "Expired",
                        "the watch was closed because its client fell behind; "
                        f"restart it from resourceVersion {last_rv}",
                    )
                    await response.write(dumps({"type": "ERROR", "object": status}) + b"\n")
                    break
                if channel.closed or self._closing:
                    break
                now = loop.time()
                if now >= deadline:
                    break
                if now >= next_bookmark and watch is not None:
                    # The store emits it under its lock, so it follows every event before it.
                    watch.bookmark()
                    next_bookmark = now + self._config.bookmark_interval
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        channel.wakeup.wait(), min(deadline, next_bookmark) - now
                    )
        except (ConnectionResetError, ConnectionError):
            pass  # the client went away
        finally:
            self._channels.discard(channel)
            channel.close()
            if watch is not None:
                watch.close()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write_eof()
        return response
