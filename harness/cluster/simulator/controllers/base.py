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

import logging
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.config import TimeScale
from harness.cluster.simulator.registry import Registry, ResourceType
from harness.cluster.simulator.store import Store, WatchEvent

__all__ = [
    "CONFLICT_RETRY",
    "Controller",
    "ControllerContext",
    "EventRecorder",
    "key_of",
    "meta_of",
    "split_key",
    "sync_latest",
]

Obj = dict[str, Any]

#: real seconds before retrying a key whose write hit a 409 (re-read on the next sync)
CONFLICT_RETRY: Final = 0.05


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


def meta_of(obj: Obj) -> dict[str, Any]:
    meta = obj.setdefault("metadata", {})
    assert isinstance(meta, dict)
    return meta


def key_of(obj: Obj) -> tuple[str, str]:
    """The work-queue key of a namespaced object: (namespace, name)."""
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def split_key(key: Hashable) -> tuple[str, str]:
    """A work-queue key: (namespace, name)."""
    if not isinstance(key, tuple) or len(key) != 2:
        raise TypeError(f"expected a (namespace, name) key, got {key!r}")
    return str(key[0]), str(key[1])


def sync_latest(
    store: Store, rt: ResourceType, key: Hashable, reconcile: Callable[[Obj], float | None]
) -> float | None:
    """Reconcile the current version of the object `key` names: gone means nothing to do, and
    a 409 from a write means re-read and retry shortly (level-triggered, as upstream)."""
    namespace, name = split_key(key)
    try:
        obj = store.get(rt, namespace, name)
    except ApiError as error:
        if error.code == 404:
            return None
        raise
    try:
        return reconcile(obj)
    except ApiError as error:
        if error.code == 409:
            logging.getLogger(__name__).debug(
                "%s %s/%s: %s; retrying", rt.plural, namespace, name, error.message
            )
            return CONFLICT_RETRY
        raise
