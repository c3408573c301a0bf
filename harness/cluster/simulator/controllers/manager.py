"""Runs controllers beside the store, as kube-controller-manager runs beside kube-apiserver:
one worker thread and one de-duplicating, rate-limited work queue per controller.

    ControllerManager(ctx, controllers, *, max_backoff=30.0).start() -> Self
    .stop()                     idempotent; joins every worker (a sync in progress finishes)
    .wait_idle(timeout) -> bool True once no event is unrouted, no key is queued and no sync
                                runs (keys waiting out a delay or a back-off do not count)

Queue semantics follow client-go `util/workqueue`: a key is queued once however often it is
added; a key added while it is being synced is synced once more afterwards (the dirty set);
`sync` returning N seconds is AddAfter(N), and of two pending delays the earlier wins; an
exception requeues the key after 5 ms doubling per consecutive failure (the default
controller rate limiter's per-item exponential back-off), capped at `max_backoff`, and a
successful sync forgets the failures. The store's subscription callback runs under the store
lock, so it only appends the event to the controller's inbox; the worker thread asks the
controller's `keys_for` outside the lock. At start every controller's `resync_keys()` is
queued (the informers' initial list).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Self

from harness.cluster.simulator.controllers.base import Controller, ControllerContext
from harness.cluster.simulator.store import Watch, WatchEvent

__all__ = ["ControllerManager"]

_log = logging.getLogger(__name__)

BASE_BACKOFF: Final = 0.005  # client-go DefaultControllerRateLimiter: 5 ms ...
MAX_BACKOFF: Final = 30.0  # ... doubling to 1000 s upstream; capped lower here (real seconds)


@dataclass(frozen=True)
class _Due:
    """A key taken off the queue for syncing."""

    key: Hashable


class _Worker:
    """One controller's queue and thread. All state is guarded by the manager's lock."""

    def __init__(
        self,
        controller: Controller,
        lock: threading.Lock,
        idle: threading.Condition,
        monotonic: Callable[[], float],
        max_backoff: float,
    ) -> None:
        self.controller = controller
        self.name = controller.name
        self.watched = frozenset(controller.watches())
        self._lock = lock
        self._idle = idle
        self._wake = threading.Condition(lock)
        self._monotonic = monotonic
        self._max_backoff = max_backoff
        self.inbox: deque[WatchEvent] = deque()
        self.queue: deque[Hashable] = deque()
        self.queued: set[Hashable] = set()
        self.processing: set[Hashable] = set()
        self.dirty: set[Hashable] = set()
        self.waiting: dict[Hashable, float] = {}  # key -> monotonic time it is due
        self.heap: list[tuple[float, int, Hashable]] = []
        self.failures: dict[Hashable, int] = {}
        self.resync_pending = True
        self.stopping = False
        self._sequence = 0
        self.thread = threading.Thread(
            target=self._run, name=f"controller-{self.name}", daemon=True
        )

    # ------------------------------------------------------------ under the lock

    def busy(self) -> bool:
        return bool(self.resync_pending or self.inbox or self.queue or self.processing)

    def notify(self, event: WatchEvent) -> None:
        self.inbox.append(event)
        self._wake.notify()

    def add(self, key: Hashable) -> None:
        """workqueue.Add: de-duplicated; deferred while the key is being synced."""
        if key in self.processing:
            self.dirty.add(key)
            return
        if key not in self.queued:
            self.queued.add(key)
            self.queue.append(key)
            self._wake.notify()

    def add_after(self, key: Hashable, delay: float) -> None:
        """delayingQueue.AddAfter: at once when delay <= 0; else the earliest due time wins."""
        if delay <= 0:
            self.add(key)
            return
        due = self._monotonic() + delay
        current = self.waiting.get(key)
        if current is not None and current <= due:
            return
        self.waiting[key] = due
        self._sequence += 1
        heapq.heappush(self.heap, (due, self._sequence, key))
        self._wake.notify()

    def _promote_due(self) -> float | None:
        """Queue the keys whose delay is over; return seconds until the next one is due."""
        now = self._monotonic()
        while self.heap:
            due, _, key = self.heap[0]
            if self.waiting.get(key) != due:  # superseded by an earlier AddAfter, or done
                heapq.heappop(self.heap)
                continue
            if due > now:
                return due - now
            heapq.heappop(self.heap)
            del self.waiting[key]
            self.add(key)
        return None

    def stop(self) -> None:
        self.stopping = True
        self._wake.notify_all()

    # ------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            self._initial_sync()
            while True:
                work = self._next()
                if work is None:
                    return
                if isinstance(work, WatchEvent):
                    self._route(work)
                else:
                    self._sync(work.key)
        finally:
            with self._lock:
                self.resync_pending = False
                self.inbox.clear()
                self.queue.clear()
                self.queued.clear()
                self._idle.notify_all()

    def _initial_sync(self) -> None:
        try:
            keys = list(self.controller.resync_keys())
        except Exception:
            _log.warning(
                "controller %s: listing keys for the initial sync failed", self.name, exc_info=True
            )
            keys = []
        with self._lock:
            for key in keys:
                self.add(key)
            self.resync_pending = False
            self._idle.notify_all()

    def _next(self) -> WatchEvent | _Due | None:
        with self._lock:
            while not self.stopping:
                if self.inbox:
                    return self.inbox.popleft()
                timeout = self._promote_due()
                if self.queue:
                    key = self.queue.popleft()
                    self.queued.discard(key)
                    self.processing.add(key)
                    return _Due(key)
                self._idle.notify_all()
                self._wake.wait(timeout)
            return None

    def _route(self, event: WatchEvent) -> None:
        try:
            keys: Iterable[Hashable] = list(self.controller.keys_for(event))
        except Exception:
            _log.warning("controller %s: keys_for(%s) failed", self.name, event.type, exc_info=True)
            keys = []
        with self._lock:
            for key in keys:
                self.add(key)

    def _sync(self, key: Hashable) -> None:
        delay: float | None = None
        failed = False
        try:
            delay = self.controller.sync(key)
        except Exception:
            failed = True
            _log.warning(
                "controller %s: syncing %r failed; retrying with back-off",
                self.name,
                key,
                exc_info=True,
            )
        with self._lock:
            self.processing.discard(key)
            if failed:
                count = self.failures.get(key, 0)
                self.failures[key] = count + 1
                backoff = min(BASE_BACKOFF * 2.0**count, self._max_backoff)
                self.add_after(key, backoff)
            else:
                self.failures.pop(key, None)  # workqueue.Forget
                if delay is not None:
                    self.add_after(key, delay)
            if key in self.dirty:
                self.dirty.discard(key)
                self.add(key)


class ControllerManager:
    """Controllers on worker threads fed by the store; see the module docstring."""

    def __init__(
        self,
        ctx: ControllerContext,
        controllers: Sequence[Controller],
        *,
        max_backoff: float = MAX_BACKOFF,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ctx = ctx
        self.controllers = list(controllers)
        names = [c.name for c in self.controllers]
        if len(set(names)) != len(names):
            raise ValueError(f"controller names must be unique: {names}")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._workers = [
            _Worker(c, self._lock, self._idle, monotonic, max_backoff) for c in self.controllers
        ]
        self._routes: dict[tuple[str, str], list[_Worker]] = {}
        for worker in self._workers:
            for key in worker.watched:
                self._routes.setdefault(key, []).append(worker)
        self._subscription: Watch | None = None
        self._state = "new"  # new -> running -> stopped; a stopped manager stays stopped

    def start(self) -> Self:
        if self._state == "running":
            return self
        if self._state == "stopped":
            raise RuntimeError("a stopped ControllerManager cannot be restarted")
        self._state = "running"
        try:
            self._subscription = self.ctx.store.subscribe(self._on_event)
            for worker in self._workers:
                worker.thread.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._state == "stopped":
            return
        self._state = "stopped"
        if self._subscription is not None:
            self._subscription.close()
        with self._lock:
            for worker in self._workers:
                worker.stop()
        for worker in self._workers:
            if worker.thread.is_alive():
                worker.thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_idle(self, timeout: float) -> bool:
        """True once every controller has routed its events and synced its queued keys."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while any(w.busy() and not w.stopping for w in self._workers):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
            return True

    def _on_event(self, event: WatchEvent) -> None:
        # Under the store lock: only hand the event over.
        if event.rt is None:
            return
        workers = self._routes.get(event.rt.key)
        if not workers:
            return
        with self._lock:
            for worker in workers:
                worker.notify(event)
