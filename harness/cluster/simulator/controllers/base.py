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

import copy
import logging
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.registry import Registry, ResourceType
from harness.cluster.simulator.store import Store, WatchEvent
from harness.timescale import TimeScale

__all__ = [
    "CONFLICT_RETRY",
    "Controller",
    "ControllerContext",
    "ControllerRefManager",
    "EventRecorder",
    "controller_reference",
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


def controller_reference(owner: Obj, api_version: str, kind: str) -> Obj:
    """The ownerReference a controller puts on what it creates or adopts."""
    meta = meta_of(owner)
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "controller": True,
        "blockOwnerDeletion": True,
    }


@dataclass(frozen=True)
class ControllerRefManager:
    """pkg/controller/controller_ref_manager.go: which of the objects a controller's selector
    matches are its own. Owned matches are kept, matching orphans adopted, owned objects that
    no longer match released; a deleting owner adopts and releases nothing, and objects being
    deleted are not adopted. `write` stores a changed dependent (with the resourceVersion it
    was read at); a dependent gone meanwhile (404) or refused (422) is skipped."""

    owner: Obj
    api_version: str
    kind: str
    selector: Any  # selectors.LabelSelector (kept loose: base must not import the parsers)
    write: Callable[[Obj], Obj]

    def claim(self, candidates: Iterable[Obj]) -> list[Obj]:
        uid = meta_of(self.owner).get("uid")
        deleting = bool(meta_of(self.owner).get("deletionTimestamp"))
        claimed: list[Obj] = []
        for obj in candidates:
            meta = obj.get("metadata") or {}
            matches = self.selector.matches(meta.get("labels") or {})
            ref = next((r for r in meta.get("ownerReferences") or () if r.get("controller")), None)
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    claimed.append(obj)
                elif not deleting:
                    self._write_refs(obj, [r for r in meta["ownerReferences"] if r is not ref])
                continue
            if matches and not deleting and not meta.get("deletionTimestamp"):
                refs = [*meta.get("ownerReferences", ()), self.reference()]
                adopted = self._write_refs(obj, refs)
                if adopted is not None:
                    claimed.append(adopted)
        return claimed

    def reference(self) -> Obj:
        return controller_reference(self.owner, self.api_version, self.kind)

    def _write_refs(self, obj: Obj, refs: list[Obj]) -> Obj | None:
        updated = copy.deepcopy(obj)
        if refs:
            meta_of(updated)["ownerReferences"] = refs
        else:
            meta_of(updated).pop("ownerReferences", None)
        try:
            return self.write(updated)
        except ApiError as error:
            if error.code in (404, 422):
                return None
            raise
