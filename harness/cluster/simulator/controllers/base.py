"""The contract every controller follows, and the clock they share.

A controller turns store events into work-queue keys and reconciles one key at a time,
level-triggered like upstream's: `sync(key)` reads the current state from the store and
writes what should change; it returns how long to wait before syncing the key again
(upstream's AddAfter, e.g. requeueStuckDeployment or minReadySeconds), or None.

CONTRACT (manager.py runs controllers; every controller module implements this):
    class Controller(Protocol):
        name: str                                   # "deployment", "replicaset", ...
        def watches(self) -> Sequence[tuple[str, str]]
            (group, plural) pairs whose events this controller reacts to
        def keys_for(self, event: WatchEvent) -> Iterable[Hashable]
            the keys to (re)sync for one store event (e.g. the owning Deployment of a
            ReplicaSet; every Service selecting a Pod)
        def sync(self, key: Hashable) -> float | None
            reconcile; return real seconds until the next sync of this key, or None.
            Raising requeues the key with back-off (the manager logs the error).
        def resync_keys(self) -> Iterable[Hashable]
            every key, for the initial sync at start-up

    ControllerContext(store, registry, clock, time_scale, events)
        clock() -> datetime in UTC (real wall clock; tests inject a fake)
        time_scale: TimeScale — spec durations (minReadySeconds, progressDeadlineSeconds)
            are compared as  elapsed_real >= time_scale.real(spec_seconds)
        events: EventRecorder — record(obj, type, reason, message) writes a core/v1 Event
            like client-go's recorder (aggregating repeats by count)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from harness.cluster.simulator.config import TimeScale
from harness.cluster.simulator.registry import Registry
from harness.cluster.simulator.store import Store, WatchEvent

__all__ = ["Controller", "ControllerContext", "EventRecorder"]


class EventRecorder(Protocol):
    def record(self, obj: dict[str, object], type_: str, reason: str, message: str) -> None: ...


class Controller(Protocol):
    name: str

    def watches(self) -> Sequence[tuple[str, str]]: ...

    def keys_for(self, event: WatchEvent) -> Iterable[Hashable]: ...

    def sync(self, key: Hashable) -> float | None: ...

    def resync_keys(self) -> Iterable[Hashable]: ...


@dataclass(frozen=True)
class ControllerContext:
    store: Store
    registry: Registry
    clock: Callable[[], datetime]
    time_scale: TimeScale
    events: EventRecorder
