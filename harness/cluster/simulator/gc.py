"""The garbage collector: deletes dependents whose owners are gone, runs foreground and orphan
deletion, as kube-controller-manager's `pkg/controller/garbagecollector` does.

Model (upstream `garbagecollector.go` attemptToDeleteItem / processDeletingDependentsItem /
orphanDependents): a dependent is an object whose metadata.ownerReferences name an owner's
uid. Owner references are namespace-local; a cluster-scoped owner may own namespaced objects.

    GarbageCollector(store).start() -> Self     subscribes and starts one daemon thread
    .stop()                                     idempotent; a stopped collector stays stopped
    .drain(timeout) -> bool                     True once the queue is empty and idle
    .run_until_idle(max_items=10_000) -> int    process the queue on the calling thread
                                                (deterministic tests, no thread needed)

For each queued object the collector
    - with deletionTimestamp and the "orphan" finalizer: removes its ownerReference from every
      dependent, then the finalizer;
    - with deletionTimestamp and "foregroundDeletion": queues its dependents for deletion and
      removes the finalizer once no dependent with blockOwnerDeletion=true is left;
    - with ownerReferences: classifies owners as solid, dangling (absent, other uid, other
      namespace) or waiting (being deleted in foreground). No solid owner: delete it
      (Foreground when an owner waits and it has dependents of its own; else by its own
      finalizers, else Background). Solid and dangling/waiting: drop those references.
A reference whose kind the registry does not serve is left alone (upstream retries it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final, Self

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.registry import ResourceType
from harness.cluster.simulator.store import (
    BACKGROUND,
    DELETED,
    FINALIZER_FOREGROUND,
    FINALIZER_ORPHAN,
    FOREGROUND,
    ORPHAN,
    Store,
    Watch,
    WatchEvent,
)

__all__ = ["GarbageCollector"]

_log = logging.getLogger(__name__)

Obj = dict[str, Any]
_Task = tuple[str, str]  # (action, uid)

_ITEM: Final = "item"  # re-examine one object
_OWNER_GONE: Final = "owner-gone"  # an owner left the store: examine its dependents
_MAX_ATTEMPTS: Final = 5
_UPDATE_ATTEMPTS: Final = 5


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _owner_refs(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [r for r in _meta(obj).get("ownerReferences") or () if isinstance(r, dict)]


def _gc_finalizing(obj: Mapping[str, Any]) -> bool:
    meta = _meta(obj)
    finalizers = meta.get("finalizers") or ()
    return bool(meta.get("deletionTimestamp")) and (
        FINALIZER_ORPHAN in finalizers or FINALIZER_FOREGROUND in finalizers
    )


class GarbageCollector:
    """Background, foreground and orphan cascading deletion over one Store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cond = threading.Condition()
        self._queue: dict[_Task, int] = {}  # insertion-ordered, deduplicated; value: attempts
        self._busy = False
        self._state = "new"  # new -> running -> stopped
        self._thread: threading.Thread | None = None
        self._subscription: Watch | None = None
        self._known_owners: dict[str, set[str]] = {}  # dependent uid -> owner uids seen
        self._finalizing: set[str] = set()  # owners with deletionTimestamp + a GC finalizer

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        with self._cond:
            if self._state != "new":
                raise RuntimeError(f"the garbage collector is {self._state}; it starts once")
            self._state = "running"
        self._subscribe()
        self._thread = threading.Thread(target=self._run, name="garbage-collector", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            if self._state == "stopped":
                return
            self._state = "stopped"
            self._cond.notify_all()
        if self._subscription is not None:
            self._subscription.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def drain(self, timeout: float) -> bool:
        """Wait until nothing is queued or being processed; False if `timeout` ran out."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def run_until_idle(self, max_items: int = 10_000) -> int:
        """Process queued work on this thread (subscribing first if needed); returns the count."""
        if self._subscription is None:
            self._subscribe()
        done = 0
        while done < max_items:
            with self._cond:
                if not self._queue:
                    return done
                task, attempts = self._pop()
            self._process(task, attempts)
            done += 1
        return done

    def _subscribe(self) -> None:
        # Subscribe before scanning, so nothing written in between is missed.
        self._subscription = self._store.subscribe(self._on_event)
        with self._cond:
            for uid in self._store.gc_candidate_uids():
                self._queue.setdefault((_ITEM, uid), 0)
            self._cond.notify_all()

    # ------------------------------------------------------------------ intake (store lock held)

    def _on_event(self, event: WatchEvent) -> None:
        """Called synchronously by the store: only bookkeeping and queueing, never blocking."""
        meta = _meta(event.object)
        uid = meta.get("uid")
        if not uid:
            return
        uid = str(uid)
        owners = {str(r["uid"]) for r in _owner_refs(event.object) if r.get("uid")}
        with self._cond:
            before = self._known_owners.pop(uid, set())
            if event.type == DELETED:
                self._finalizing.discard(uid)
                self._queue.setdefault((_OWNER_GONE, uid), 0)
            else:
                if owners:
                    self._known_owners[uid] = owners
                if _gc_finalizing(event.object):
                    self._finalizing.add(uid)
                    self._queue.setdefault((_ITEM, uid), 0)
                else:
                    self._finalizing.discard(uid)
                if owners and not meta.get("deletionTimestamp"):
                    self._queue.setdefault((_ITEM, uid), 0)
            # An owner waiting on its dependents re-checks whenever one changes or leaves.
            for owner in (owners | before) & self._finalizing:
                self._queue.setdefault((_ITEM, owner), 0)
            self._cond.notify_all()

    # ------------------------------------------------------------------ the worker

    def _pop(self) -> tuple[_Task, int]:
        task = next(iter(self._queue))
        return task, self._queue.pop(task)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._state == "stopped")
                if self._state == "stopped":
                    self._busy = False
                    self._cond.notify_all()
                    return
                task, attempts = self._pop()
                self._busy = True
            try:
                self._process(task, attempts)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _process(self, task: _Task, attempts: int) -> None:
        action, uid = task
        try:
            if action == _OWNER_GONE:
                for _, dependent in self._store.dependents_of(uid):
                    self._enqueue(_ITEM, str(_meta(dependent).get("uid")))
            else:
                self._examine(uid)
        except ApiError as error:
            if error.code in (404, 410):
                return
            if attempts + 1 < _MAX_ATTEMPTS:
                with self._cond:
                    self._queue.setdefault(task, attempts + 1)
                    self._cond.notify_all()
            else:
                _log.warning("garbage collector gave up on %s %s: %s", action, uid, error.message)
        except Exception:
            _log.exception("garbage collector failed on %s %s", action, uid)

    def _enqueue(self, action: str, uid: str) -> None:
        with self._cond:
            self._queue.setdefault((action, uid), 0)
            self._cond.notify_all()

    # ------------------------------------------------------------------ the rules

    def _examine(self, uid: str) -> None:
        found = self._store.get_by_uid(uid)
        if found is None:
            return
        rt, obj = found
        meta = _meta(obj)
        if _gc_finalizing(obj):
            # Also learnt here for objects that were finalizing before we subscribed.
            with self._cond:
                self._finalizing.add(uid)
        if meta.get("deletionTimestamp"):
            finalizers = meta.get("finalizers") or ()
            if FINALIZER_ORPHAN in finalizers:
                self._orphan_dependents(rt, obj)
            elif FINALIZER_FOREGROUND in finalizers:
                self._delete_dependents_first(rt, obj)
            return  # being deleted already: not a collection candidate
        if _owner_refs(obj):
            self._attempt_to_delete(rt, obj)

    def _orphan_dependents(self, rt: ResourceType, owner: Obj) -> None:
        """orphanDependents: drop the owner's reference from each dependent, then the finalizer."""
        owner_uid = str(_meta(owner)["uid"])
        for dep_rt, dependent in self._store.dependents_of(owner_uid):
            self._mutate(dep_rt, dependent, lambda o: _drop_refs(o, {owner_uid}))
        self._mutate(rt, owner, lambda o: _drop_finalizer(o, FINALIZER_ORPHAN))

    def _delete_dependents_first(self, rt: ResourceType, owner: Obj) -> None:
        """processDeletingDependentsItem: wait for blocking dependents, then drop the finalizer."""
        owner_uid = str(_meta(owner)["uid"])
        blocking = False
        for _, dependent in self._store.dependents_of(owner_uid):
            if any(
                r.get("uid") == owner_uid and r.get("blockOwnerDeletion") is True
                for r in _owner_refs(dependent)
            ):
                blocking = True
            dep_meta = _meta(dependent)
            if not dep_meta.get("deletionTimestamp") or _gc_finalizing(dependent):
                self._enqueue(_ITEM, str(dep_meta.get("uid")))
        if not blocking:
            self._mutate(rt, owner, lambda o: _drop_finalizer(o, FINALIZER_FOREGROUND))

    def _attempt_to_delete(self, rt: ResourceType, obj: Obj) -> None:
        meta = _meta(obj)
        uid = str(meta["uid"])
        solid: list[str] = []
        dangling: list[str] = []
        waiting: list[str] = []
        for ref in _owner_refs(obj):
            state = self._owner_state(obj, ref)
            {"solid": solid, "dangling": dangling, "waiting": waiting}[state].append(
                str(ref.get("uid"))
            )
        if solid:
            if dangling or waiting:
                # Waiting references must go, or their owners would wait on us forever.
                self._mutate(rt, obj, lambda o: _drop_refs(o, {*dangling, *waiting}))
            return
        if waiting and self._store.dependents_of(uid):
            policy = FOREGROUND
        else:
            finalizers = meta.get("finalizers") or ()
            if FINALIZER_ORPHAN in finalizers:
                policy = ORPHAN
            elif FINALIZER_FOREGROUND in finalizers:
                policy = FOREGROUND
            else:
                policy = BACKGROUND
        _log.debug("garbage collector deletes %s %s (%s)", rt.kind, meta.get("name"), policy)
        self._store.delete(
            rt,
            meta.get("namespace"),
            str(meta["name"]),
            propagation_policy=policy,
            preconditions={"uid": uid},
        )

    def _owner_state(self, dependent: Obj, ref: Mapping[str, Any]) -> str:
        """solid | dangling | waiting, as upstream classifies an owner reference."""
        ref_rt = self._store.registry.for_kind(
            str(ref.get("apiVersion") or ""), str(ref.get("kind"))
        )
        if ref_rt is None:
            # Upstream cannot map the kind and keeps retrying; we leave the object alone.
            return "solid"
        found = self._store.get_by_uid(str(ref.get("uid") or ""))
        if found is None:
            return "dangling"
        owner_rt, owner = found
        owner_meta = _meta(owner)
        # Upstream looks the owner up by name in the dependent's namespace (or cluster-wide
        # for a cluster-scoped owner) and compares uids.
        in_scope = not owner_rt.namespaced or owner_meta.get("namespace") == _meta(dependent).get(
            "namespace"
        )
        if owner_rt.key != ref_rt.key or owner_meta.get("name") != ref.get("name") or not in_scope:
            return "dangling"
        if owner_meta.get("deletionTimestamp") and FINALIZER_FOREGROUND in (
            owner_meta.get("finalizers") or ()
        ):
            return "waiting"
        return "solid"

    def _mutate(self, rt: ResourceType, obj: Obj, change: Callable[[Obj], bool]) -> None:
        """Apply `change` to the latest copy and update with its resourceVersion; retry 409s."""
        meta = _meta(obj)
        current = obj
        for _ in range(_UPDATE_ATTEMPTS):
            if not change(current):
                return
            try:
                self._store.update(rt, meta.get("namespace"), str(meta["name"]), current)
                return
            except ApiError as error:
                if error.code != 409:
                    raise
            refreshed = self._store.get_by_uid(str(meta["uid"]))
            if refreshed is None:
                return
            rt, current = refreshed
        raise ApiError(409, "Conflict", f"too many conflicts updating {meta.get('name')}")


def _drop_refs(obj: Obj, owner_uids: set[str]) -> bool:
    meta = _meta(obj)
    refs = _owner_refs(obj)
    kept = [r for r in refs if str(r.get("uid")) not in owner_uids]
    if len(kept) == len(refs):
        return False
    if kept:
        meta["ownerReferences"] = kept
    else:
        meta.pop("ownerReferences", None)
    return True


def _drop_finalizer(obj: Obj, finalizer: str) -> bool:
    meta = _meta(obj)
    finalizers = list(meta.get("finalizers") or ())
    if finalizer not in finalizers:
        return False
    kept = [f for f in finalizers if f != finalizer]
    if kept:
        meta["finalizers"] = kept
    else:
        meta.pop("finalizers", None)
    return True
