"""The object store: versioned objects, optimistic concurrency, deletion, and watch fan-out.

Behaviour follows kube-apiserver's generic registry (apiserver `pkg/registry/generic/registry/
store.go`, `pkg/registry/rest/{create,update,delete}.go`), its watch cache (`pkg/storage/cacher`)
and the etcd3 store's list pagination (`pkg/storage/etcd3/store.go`).

CONTRACT (server.py and, later, the controllers call exactly this; keep the signatures).
Objects are plain JSON dicts; every call takes and returns deep copies. All methods are
thread-safe (one RLock); watch callbacks are invoked synchronously under that lock and
must not block (the HTTP layer hands events to its event loop with call_soon_threadsafe).

    WatchEvent(type, object, rt)       type: ADDED | MODIFIED | DELETED | BOOKMARK | ERROR;
                                       rt: the ResourceType the object is shown as
    ListResult(items, resource_version, continue_token, remaining_item_count)
        resource_version is a str: the store RV for a first page, the snapshot's RV for a
        continued one (so a watch from it misses nothing, as upstream).
    Watch.close()
    Watch.bookmark()                   emit BOOKMARK {kind, apiVersion, metadata.resourceVersion}
                                       with the current RV (the HTTP layer calls it periodically
                                       when the client sent allowWatchBookmarks=true)
    Deletion(object, removed)          what delete_detailed returns; removed=False means the
                                       object stays (finalizers, graceful pod, namespace)

    Store(registry, *, history_size=10_000, clock=None)
    .registry
    .resource_version -> int                       the current (last written) RV
    .create(rt, namespace, obj, *, dry_run=False) -> dict
        fills uid, creationTimestamp, resourceVersion, generation (via strategy), honours
        generateName; 409 AlreadyExists; 404 when the namespace is missing; 403 Forbidden
        when it is terminating; 422 Invalid from strategy validation; registers CRDs.
    .get(rt, namespace, name) -> dict              404 NotFound
    .list(rt, namespace|None, *, label_selector=None, field_selector=None, limit=None,
          continue_token=None) -> ListResult     namespace None = all namespaces
        selectors may be given as text or as parsed LabelSelector / FieldSelector.
        A bad continue token is 400; one whose RV left the history is 410 Expired.
    .update(rt, namespace, name, obj, *, subresource=None, dry_run=False) -> dict
        subresource None, "status" or "finalize" (namespaces: only spec.finalizers); 409
        Conflict when obj's resourceVersion is set and stale; strategy rules for generation
        and status; a no-op update writes nothing (same RV, no event); an object whose
        deletionTimestamp is set and whose finalizers become empty is removed (DELETED).
    .patch(rt, namespace, name, patch_type, body, *, subresource=None, dry_run=False) -> dict
        patch_type is the request's content type; applies patch.apply_patch, then the
        same path as update (atomically, under the store lock).
    .delete(rt, namespace, name, *, propagation_policy=None, grace_period_seconds=None,
            preconditions=None, dry_run=False) -> dict
        returns the object as it is after the call (with deletionTimestamp when finalizers
        or a graceful pod deletion keep it); Background/Foreground/Orphan as upstream.
        preconditions: {"uid": ..., "resourceVersion": ...}, either optional.
    .delete_detailed(same arguments) -> Deletion   the same, saying whether it was removed
    .delete_collection(rt, namespace, *, label_selector=None, field_selector=None,
                       propagation_policy=None, grace_period_seconds=None, dry_run=False)
                       -> list[dict]
    .watch(rt, namespace|None, notify, *, resource_version=None, label_selector=None,
           field_selector=None, send_initial_events=None) -> Watch
        resource_version None/"0": synthetic ADDED for every current match first; "N":
        events after N; older than the history window: raises ApiError 410 Expired.
        send_initial_events=True: ADDED for every match, then a BOOKMARK annotated
        k8s.io/initial-events-end; False: only events after N (or from now).
        Objects leaving the selector arrive as DELETED, entering as ADDED.
    .subscribe(notify) -> Watch                    every event of every type (controllers, GC)
    .bind(namespace, name, node_name, *, uid=None, annotations=None, dry_run=False) -> dict
        pods/binding: sets spec.nodeName and PodScheduled=True; 409 Conflict when the pod is
        already assigned ('pod x is already assigned to node "y"'), deleting or gated.

    For the garbage collector and the namespace controller:
    .get_by_uid(uid) -> (rt, obj) | None
    .dependents_of(owner_uid) -> list[(rt, obj)]   objects whose ownerReferences name the uid
    .gc_candidate_uids() -> list[str]              objects with ownerReferences or a
                                                   foregroundDeletion/orphan finalizer
    .objects_in_namespace(namespace) -> list[(rt, obj)]   every namespaced object in it
"""

from __future__ import annotations

import base64
import binascii
import bisect
import builtins
import json
import logging
import random
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from harness.cluster.simulator import apierrors
from harness.cluster.simulator.apierrors import ApiError, Cause
from harness.cluster.simulator.patch import apply_patch
from harness.cluster.simulator.registry import Registry, ResourceType
from harness.cluster.simulator.selectors import FieldSelector, LabelSelector
from harness.cluster.simulator.strategy import ServiceAllocator, strategy_for

__all__ = [
    "Deletion",
    "ExpiredContinue",
    "ListResult",
    "Store",
    "Watch",
    "WatchEvent",
    "deep_copy",
]

_log = logging.getLogger(__name__)

Obj = dict[str, Any]
_Key = tuple[str, str]  # (group, plural)
_Loc = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects

ADDED: Final = "ADDED"
MODIFIED: Final = "MODIFIED"
DELETED: Final = "DELETED"
BOOKMARK: Final = "BOOKMARK"
ERROR: Final = "ERROR"

FOREGROUND: Final = "Foreground"
BACKGROUND: Final = "Background"
ORPHAN: Final = "Orphan"
FINALIZER_ORPHAN: Final = "orphan"
FINALIZER_FOREGROUND: Final = "foregroundDeletion"
INITIAL_EVENTS_END: Final = "k8s.io/initial-events-end"

_NAMESPACES: Final[_Key] = ("", "namespaces")
_PODS: Final[_Key] = ("", "pods")
_CRDS: Final[_Key] = ("apiextensions.k8s.io", "customresourcedefinitions")
_IMMORTAL_NAMESPACES: Final = frozenset({"default", "kube-system", "kube-public"})
# names.SimpleNameGenerator: 5 random characters from utilrand's alphabet, base cut to 58.
_NAME_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
_GENERATED_SUFFIX: Final = 5
_MAX_GENERATE_NAME_BASE: Final = 63 - _GENERATED_SUFFIX
_GENERATE_NAME_ATTEMPTS: Final = 8  # the RetryGenerateName feature retries on collision
_DEFAULT_POD_GRACE: Final = 30
_CONTINUE_VERSION: Final = "meta.k8s.io/v1"
# etcd3 store.go: the messages a client sees when its continue token is compacted away.
_CONTINUE_EXPIRED: Final = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)


def deep_copy(value: Any) -> Any:
    """Copy a JSON value; about twice as fast as copy.deepcopy or a json round-trip."""
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def _qualified(rt: ResourceType) -> str:
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


# ==================================================================== public records


@dataclass(frozen=True)
class WatchEvent:
    """One watch event; `rt` says which resource type (and version) the object is shown as."""

    type: str
    object: Obj
    rt: ResourceType | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "object": self.object}


@dataclass(frozen=True)
class ListResult:
    items: list[Obj]
    resource_version: str
    continue_token: str | None = None
    remaining_item_count: int | None = None


@dataclass(frozen=True)
class Deletion:
    """The outcome of a delete: the object as it is now, and whether it left the store."""

    object: Obj
    removed: bool


@dataclass
class ExpiredContinue(ApiError):
    """410 Expired for a compacted continue token, carrying the token to go on with anyway."""

    continue_token: str = ""

    def status(self) -> dict[str, Any]:
        body = super().status()
        if self.continue_token:
            body["metadata"] = {"continue": self.continue_token}
        return body


@dataclass(frozen=True)
class _Record:
    """One write as the history keeps it. `obj` and `prev` are stored dicts, never mutated."""

    rv: int
    type: str
    key: _Key
    rt: ResourceType
    obj: Obj
    prev: Obj | None


# ==================================================================== watches

Notify = Callable[[WatchEvent], None]


class Watch:
    """A registered watch (or subscription); events reach `notify` until `close()`."""

    def __init__(
        self,
        store: Store,
        rt: ResourceType | None,
        namespace: str | None,
        notify: Notify,
        label_selector: LabelSelector | None = None,
        field_selector: FieldSelector | None = None,
    ) -> None:
        self._store = store
        self.rt = rt
        self.namespace = namespace
        self._notify = notify
        self._labels = label_selector if label_selector and not label_selector.empty else None
        self._fields = field_selector if field_selector and not field_selector.empty else None
        self.closed = False

    def close(self) -> None:
        """Stop delivering events; idempotent."""
        if not self.closed:
            self.closed = True
            self._store._remove_watch(self)

    def bookmark(self, *, initial_events_end: bool = False) -> None:
        """Emit a BOOKMARK carrying the store's current resourceVersion."""
        with self._store._lock:
            if self.closed:
                return
            rt = self.rt
            meta: dict[str, Any] = {"resourceVersion": str(self._store._rv)}
            if initial_events_end:
                meta["annotations"] = {INITIAL_EVENTS_END: "true"}
            obj: Obj = {"metadata": meta}
            if rt is not None:
                obj = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}
            self._send(WatchEvent(BOOKMARK, obj, rt))

    # ------------------------------------------------------------ delivery (under the lock)

    def _matches(self, obj: Obj) -> bool:
        if self.namespace is not None and _meta(obj).get("namespace", "") != self.namespace:
            return False
        if self._labels is not None and not self._labels.matches(_meta(obj).get("labels")):
            return False
        return self._fields is None or self._fields.matches(obj)

    def _deliver(self, record: _Record) -> None:
        if self.rt is None:  # a subscription: every event, as it happened
            self._send(WatchEvent(record.type, _shown(record.obj, record.rt), record.rt))
            return
        if record.type == DELETED:
            if self._matches(record.obj):
                self._send(WatchEvent(DELETED, _shown(record.obj, self.rt), self.rt))
            return
        now = self._matches(record.obj)
        before = record.prev is not None and self._matches(record.prev)
        if now:
            kind = MODIFIED if before else ADDED
            self._send(WatchEvent(kind, _shown(record.obj, self.rt), self.rt))
        elif before and record.prev is not None:
            # cacher: leaving the selector is DELETED with the old object at the event's RV.
            gone = _shown(record.prev, self.rt)
            gone["metadata"]["resourceVersion"] = str(record.rv)
            self._send(WatchEvent(DELETED, gone, self.rt))

    def _send(self, event: WatchEvent) -> None:
        if self.closed:
            return
        try:
            self._notify(event)
        except Exception:
            _log.exception("watch callback failed; closing the watch")
            self.close()


def _shown(stored: Obj, rt: ResourceType) -> Obj:
    """A copy of a stored object as served through `rt` (its apiVersion and kind)."""
    obj: Obj = deep_copy(stored)
    obj["apiVersion"] = rt.api_version
    obj["kind"] = rt.kind
    return obj


# ==================================================================== storage


class _Bucket:
    """Objects of one group/resource, by namespace then name, with a cached sorted key list."""

    __slots__ = ("_sorted", "by_namespace")

    def __init__(self) -> None:
        self.by_namespace: dict[str, dict[str, Obj]] = {}
        self._sorted: list[_Loc] | None = None

    def get(self, loc: _Loc) -> Obj | None:
        names = self.by_namespace.get(loc[0])
        return names.get(loc[1]) if names else None

    def put(self, loc: _Loc, obj: Obj) -> None:
        names = self.by_namespace.setdefault(loc[0], {})
        if loc[1] not in names:
            self._sorted = None
        names[loc[1]] = obj

    def remove(self, loc: _Loc) -> None:
        names = self.by_namespace.get(loc[0])
        if names is not None and names.pop(loc[1], None) is not None:
            self._sorted = None
            if not names:
                del self.by_namespace[loc[0]]

    def locations(self, namespace: str | None) -> list[_Loc]:
        """Keys in (namespace, name) order, for one namespace or all."""
        if namespace is not None:
            return [(namespace, n) for n in sorted(self.by_namespace.get(namespace, ()))]
        if self._sorted is None:
            self._sorted = sorted(
                (ns, name) for ns, names in self.by_namespace.items() for name in names
            )
        return self._sorted

    def __len__(self) -> int:
        return sum(len(names) for names in self.by_namespace.values())


def _owner_uids(obj: Mapping[str, Any]) -> set[str]:
    return {
        str(ref["uid"])
        for ref in _meta(obj).get("ownerReferences") or ()
        if isinstance(ref, Mapping) and ref.get("uid")
    }


# ==================================================================== the store


class Store:
    """All objects of the simulated cluster; see the module docstring for the contract."""

    def __init__(
        self,
        registry: Registry,
        *,
        history_size: int = 10_000,
        clock: Callable[[], datetime] | None = None,
        service_cidr: str | None = None,
    ) -> None:
        self.registry = registry
        self._lock = threading.RLock()
        self._rv = 0
        self._clock = clock or (lambda: datetime.now(UTC))
        self._buckets: dict[_Key, _Bucket] = {}
        self._types: dict[_Key, ResourceType] = {}  # the rt an object key was last written as
        self._history: deque[_Record] = deque(maxlen=max(history_size, 0))
        self._watches: dict[_Key, builtins.list[Watch]] = {}
        self._subscribers: builtins.list[Watch] = []
        self._by_uid: dict[str, tuple[_Key, _Loc]] = {}
        self._dependents: dict[str, set[str]] = {}  # owner uid -> dependent uids
        self._random = random.SystemRandom()
        # ClusterIPs and node ports belong to this store, as upstream's to its apiserver.
        self._allocator = ServiceAllocator(service_cidr) if service_cidr else ServiceAllocator()

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._rv

    # ------------------------------------------------------------------ reads

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        with self._lock:
            stored = self._stored(rt, namespace, name)
            return _shown(stored, rt)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | LabelSelector | None = None,
        field_selector: str | FieldSelector | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListResult:
        labels = self._label_selector(label_selector)
        fields = self._field_selector(field_selector, rt)
        scope = namespace if rt.namespaced else None
        with self._lock:
            list_rv = self._rv
            start: _Loc | None = None
            objects: Mapping[_Loc, Obj] | None = None
            if continue_token:
                token_rv, start = _decode_continue(continue_token)
                if token_rv > 0 and token_rv != self._rv:
                    objects = self._snapshot(rt.key, token_rv, start)
                    list_rv = token_rv
            bucket = self._buckets.get(rt.key, _Bucket())
            if objects is None:
                locations = self._candidate_locations(bucket, scope, fields)
                lookup: Callable[[_Loc], Obj | None] = bucket.get
            else:
                locations = sorted(loc for loc in objects if scope is None or loc[0] == scope)
                lookup = objects.get
            if start is not None:
                locations = locations[bisect.bisect_right(locations, start) :]
            items: builtins.list[Obj] = []
            last: _Loc | None = None
            scanned = 0
            for loc in locations:
                if limit is not None and limit > 0 and len(items) >= limit:
                    break
                scanned += 1
                stored = lookup(loc)
                if stored is None or not _selected(stored, labels, fields):
                    continue
                items.append(_shown(stored, rt))
                last = loc
            remaining_locations = len(locations) - scanned
            next_token: str | None = None
            remaining: int | None = None
            if limit is not None and limit > 0 and remaining_locations > 0 and last is not None:
                next_token = _encode_continue(list_rv, last)
                if labels is None and fields is None:
                    remaining = remaining_locations
            return ListResult(items, str(list_rv), next_token, remaining)

    def get_by_uid(self, uid: str) -> tuple[ResourceType, Obj] | None:
        with self._lock:
            where = self._by_uid.get(uid)
            if where is None:
                return None
            stored = self._buckets[where[0]].get(where[1])
            if stored is None:
                return None
            rt = self._rt_for(where[0])
            return rt, _shown(stored, rt)

    def dependents_of(self, owner_uid: str) -> builtins.list[tuple[ResourceType, Obj]]:
        with self._lock:
            found: builtins.list[tuple[ResourceType, Obj]] = []
            for uid in sorted(self._dependents.get(owner_uid, ())):
                item = self.get_by_uid(uid)
                if item is not None:
                    found.append(item)
            return found

    def gc_candidate_uids(self) -> builtins.list[str]:
        with self._lock:
            uids: builtins.list[str] = []
            for bucket in self._buckets.values():
                for names in bucket.by_namespace.values():
                    for stored in names.values():
                        meta = _meta(stored)
                        finalizers = meta.get("finalizers") or ()
                        if meta.get("ownerReferences") or (
                            meta.get("deletionTimestamp")
                            and (
                                FINALIZER_ORPHAN in finalizers or FINALIZER_FOREGROUND in finalizers
                            )
                        ):
                            uids.append(str(meta.get("uid")))
            return uids

    def objects_in_namespace(self, namespace: str) -> builtins.list[tuple[ResourceType, Obj]]:
        with self._lock:
            found: builtins.list[tuple[ResourceType, Obj]] = []
            for key in sorted(self._buckets):
                names = self._buckets[key].by_namespace.get(namespace)
                if not names or key == _NAMESPACES:
                    continue
                rt = self._rt_for(key)
                if not rt.namespaced:
                    continue
                found.extend((rt, _shown(names[name], rt)) for name in sorted(names))
            return found

    # ------------------------------------------------------------------ create

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        obj: Mapping[str, Any],
        *,
        dry_run: bool = False,
    ) -> Obj:
        new = deep_copy(dict(obj))
        self._check_type(rt, new)
        meta = new.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise _bad_request("metadata must be an object")
        with self._lock:
            ns = self._create_namespace(rt, namespace, meta)
            self._admit_namespace(rt, ns, str(meta.get("name") or ""))
            if meta.get("resourceVersion"):
                # etcd3 store.Create: storage.ErrResourceVersionSetOnCreate, a 500.
                raise ApiError(
                    500,
                    "InternalError",
                    "resourceVersion should not be set on objects to be created",
                )
            # rest.BeforeCreate: deletion fields cleared, strategy first, then system fields.
            meta.pop("deletionTimestamp", None)
            meta.pop("deletionGracePeriodSeconds", None)
            strategy = strategy_for(rt, allocator=self._allocator)
            strategy.prepare_for_create(new)
            meta = new["metadata"]
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = _rfc3339(self._clock())
            if rt.key == _CRDS:
                _accept_crd_names(new, self._clock())
            generated = bool(meta.get("generateName")) and not meta.get("name")
            if generated:
                meta["name"] = self._generate_name(str(meta["generateName"]))
            self._validate(rt, strategy.validate(new), new)
            strategy.canonicalize(new)
            name = str(meta["name"])
            bucket = self._buckets.get(rt.key)
            attempts = _GENERATE_NAME_ATTEMPTS if generated else 1
            while bucket is not None and bucket.get((ns, name)) is not None:
                attempts -= 1
                if attempts <= 0:
                    raise apierrors.already_exists(rt.group, rt.plural, name)
                name = meta["name"] = self._generate_name(str(meta["generateName"]))
            if dry_run:
                return _shown(new, rt)
            self._write(rt, (ns, name), new, ADDED, None)
            if rt.key == _CRDS:
                self.registry.register_crd(deep_copy(new))
            return _shown(new, rt)

    # ------------------------------------------------------------------ update and patch

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        obj: Mapping[str, Any],
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        new = deep_copy(dict(obj))
        self._check_type(rt, new)
        with self._lock:
            return self._update_locked(rt, namespace, name, new, subresource, dry_run)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch_type: str,
        body: bytes,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        with self._lock:
            current = _shown(self._stored(rt, namespace, name), rt)
            patched = apply_patch(current, patch_type, body, rt)
            if not isinstance(patched, dict):
                raise _bad_request("the patch did not produce an object")
            self._check_type(rt, patched)
            return self._update_locked(rt, namespace, name, patched, subresource, dry_run)

    def bind(
        self,
        namespace: str,
        name: str,
        node_name: str,
        *,
        uid: str | None = None,
        annotations: Mapping[str, str] | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """pods/binding (BindingREST.setPodHostAndAnnotations): set spec.nodeName once, merge
        the Binding's annotations, and set PodScheduled=True; 409 when already bound, being
        deleted or gated."""
        rt = self.registry.lookup("", "v1", "pods")
        assert rt is not None
        with self._lock:
            loc = self._loc(rt, namespace, name)
            stored = self._stored(rt, namespace, name)
            meta = _meta(stored)
            spec = stored.get("spec") or {}
            reason = ""
            if uid and uid != meta.get("uid"):
                reason = (
                    f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                    f"{meta.get('uid')}"
                )
            elif meta.get("deletionTimestamp"):
                reason = f"pod {name} is being deleted, cannot be assigned to a host"
            elif spec.get("nodeName"):
                reason = f'pod {name} is already assigned to node "{spec["nodeName"]}"'
            elif spec.get("schedulingGates"):
                reason = f"pod {name} has non-empty .spec.schedulingGates"
            if reason:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on pods/binding "{name}": {reason}',
                    "",
                    "pods/binding",
                    name,
                )
            new = deep_copy(stored)
            new.setdefault("spec", {})["nodeName"] = node_name
            if annotations:
                new["metadata"].setdefault("annotations", {}).update(annotations)
            conditions = new.setdefault("status", {}).setdefault("conditions", [])
            current = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
            if current is None:
                conditions.append(
                    {
                        "type": "PodScheduled",
                        "status": "True",
                        "lastProbeTime": None,
                        "lastTransitionTime": _rfc3339(self._clock()),
                    }
                )
            elif current.get("status") != "True":
                # podutil.UpdatePodCondition: a status change moves lastTransitionTime; the
                # reason and message of the unschedulable attempt go.
                current.pop("reason", None)
                current.pop("message", None)
                current["status"] = "True"
                current["lastTransitionTime"] = _rfc3339(self._clock())
            if dry_run:
                return _shown(new, rt)
            self._write(rt, loc, new, MODIFIED, stored)
            return _shown(new, rt)

    def _update_locked(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        new: Obj,
        subresource: str | None,
        dry_run: bool,
    ) -> Obj:
        if subresource not in (None, "status", "finalize") or (
            subresource is not None and subresource not in rt.subresources
        ):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        loc = self._loc(rt, namespace, name)
        old = self._stored(rt, namespace, name)
        meta = new.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise _bad_request("metadata must be an object")
        given_name = meta.get("name") or name
        if given_name != name:
            raise _bad_request(
                f"the name of the object ({given_name}) does not match the name on the URL ({name})"
            )
        if rt.namespaced and meta.get("namespace") and meta["namespace"] != loc[0]:
            raise _bad_request(
                f"the namespace of the object ({meta['namespace']}) does not match the "
                f"namespace on the URL ({loc[0]})"
            )
        old_meta = _meta(old)
        rv = meta.get("resourceVersion")
        if rv and str(rv) != str(old_meta.get("resourceVersion")):
            raise apierrors.conflict(rt.group, rt.plural, name)
        if meta.get("uid") and meta["uid"] != old_meta.get("uid"):
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {_qualified(rt)} "{name}": Precondition '
                f"failed: UID in precondition: {old_meta.get('uid')}, UID in object meta: "
                f"{meta['uid']}",
                rt.group,
                rt.plural,
                name,
            )
        strategy = strategy_for(rt, allocator=self._allocator)
        if subresource == "finalize":
            finalizers = (new.get("spec") or {}).get("finalizers")
            new = deep_copy(old)
            if finalizers is None:
                new.setdefault("spec", {}).pop("finalizers", None)
            else:
                new.setdefault("spec", {})["finalizers"] = finalizers
        elif subresource == "status":
            strategy.prepare_for_status_update(new, old)
        else:
            meta["generation"] = old_meta.get("generation")
            strategy.prepare_for_update(new, old)
        meta = new.setdefault("metadata", {})
        # rest.BeforeUpdate: identity, creation and deletion fields cannot change.
        meta["name"] = name
        if rt.namespaced:
            meta["namespace"] = loc[0]
        else:
            meta.pop("namespace", None)
        meta["uid"] = old_meta.get("uid")
        meta["creationTimestamp"] = old_meta.get("creationTimestamp")
        for field_name in ("deletionTimestamp", "deletionGracePeriodSeconds"):
            if old_meta.get(field_name) is not None:
                meta[field_name] = old_meta[field_name]
            else:
                meta.pop(field_name, None)
        if meta.get("generation") is None:
            meta.pop("generation", None)
        causes = list(strategy.validate_update(new, old))
        if old_meta.get("deletionTimestamp"):
            added = sorted(
                set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
            )
            if added:
                shown = ", ".join(f'"{f}"' for f in added)
                causes.append(
                    Cause(
                        "FieldValueForbidden",
                        "Forbidden: no new finalizers can be added if the object is being "
                        f"deleted, found new finalizers []string{{{shown}}}",
                        "metadata.finalizers",
                    )
                )
        self._validate(rt, causes, new)
        meta["resourceVersion"] = old_meta.get("resourceVersion")
        if rt.key == _CRDS:
            _accept_crd_names(new, self._clock())
        if new == old:
            # etcd3 GuaranteedUpdate skips a write whose bytes equal the stored ones.
            return _shown(old, rt)
        if _should_delete_during_update(rt, new, old):
            if dry_run:
                return _shown(new, rt)
            return self._remove(rt, loc, new)
        if dry_run:
            return _shown(new, rt)
        self._write(rt, loc, new, MODIFIED, old)
        if rt.key == _CRDS:
            self.registry.register_crd(deep_copy(new))
        return _shown(new, rt)

    # ------------------------------------------------------------------ delete

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        preconditions: Mapping[str, Any] | None = None,
        dry_run: bool = False,
    ) -> Obj:
        return self.delete_detailed(
            rt,
            namespace,
            name,
            propagation_policy=propagation_policy,
            grace_period_seconds=grace_period_seconds,
            preconditions=preconditions,
            dry_run=dry_run,
        ).object

    def delete_detailed(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        preconditions: Mapping[str, Any] | None = None,
        dry_run: bool = False,
    ) -> Deletion:
        if propagation_policy not in (None, FOREGROUND, BACKGROUND, ORPHAN):
            raise apierrors.invalid(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                "",
                [
                    Cause(
                        "FieldValueNotSupported",
                        f'Unsupported value: "{propagation_policy}": supported values: '
                        '"Foreground", "Background", "Orphan"',
                        "propagationPolicy",
                    )
                ],
            )
        if grace_period_seconds is not None and grace_period_seconds < 0:
            grace_period_seconds = 1  # rest.BeforeDelete: negative means one second
        with self._lock:
            loc = self._loc(rt, namespace, name)
            stored = self._stored(rt, namespace, name)
            self._check_preconditions(rt, name, stored, preconditions)
            if rt.key == _NAMESPACES:
                return self._delete_namespace(rt, loc, stored, propagation_policy, dry_run)
            return self._delete_object(
                rt, loc, stored, propagation_policy, grace_period_seconds, dry_run
            )

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | LabelSelector | None = None,
        field_selector: str | FieldSelector | None = None,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        dry_run: bool = False,
    ) -> builtins.list[Obj]:
        with self._lock:
            listed = self.list(
                rt, namespace, label_selector=label_selector, field_selector=field_selector
            )
            deleted: builtins.list[Obj] = []
            for item in listed.items:
                meta = _meta(item)
                try:
                    deleted.append(
                        self.delete(
                            rt,
                            meta.get("namespace"),
                            str(meta.get("name")),
                            propagation_policy=propagation_policy,
                            grace_period_seconds=grace_period_seconds,
                            dry_run=dry_run,
                        )
                    )
                except ApiError as error:
                    if error.code != 404:
                        raise
            return deleted

    def _delete_object(
        self,
        rt: ResourceType,
        loc: _Loc,
        stored: Obj,
        policy: str | None,
        grace: int | None,
        dry_run: bool,
    ) -> Deletion:
        new = deep_copy(stored)
        meta = new["metadata"]
        graceful = False
        if rt.key == _PODS:
            outcome = self._pod_grace(new, grace)
            if outcome == "pending":
                return Deletion(_shown(stored, rt), False)
            graceful = outcome == "graceful"
        finalizers = _finalizers_for_deletion(meta.get("finalizers") or [], policy)
        if finalizers != list(meta.get("finalizers") or []):
            meta["finalizers"] = finalizers
        if not finalizers:
            meta.pop("finalizers", None)
        if not graceful:
            if not finalizers:
                if dry_run:
                    return Deletion(_shown(stored, rt), True)
                return Deletion(self._remove(rt, loc, stored), True)
            _mark_deleting(meta, self._clock())
        stays = bool(finalizers) or int(meta.get("deletionGracePeriodSeconds") or 0) > 0
        if dry_run:
            return Deletion(_shown(new, rt), not stays)
        if new != stored:
            self._write(rt, loc, new, MODIFIED, stored)
        if stays:
            return Deletion(_shown(new, rt), False)
        # A graceless pod deletion: the update above, then the removal (two events upstream).
        return Deletion(self._remove(rt, loc, new), True)

    def _pod_grace(self, pod: Obj, grace: int | None) -> str:
        """rest.BeforeDelete with the pod strategy: "graceful", "pending" or "immediate"."""
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            current = meta.get("deletionGracePeriodSeconds")
            if current is None or int(current) == 0:
                return "immediate"
            if grace is None or grace >= int(current):
                return "pending"
            started = _parse_time(str(meta["deletionTimestamp"])) - timedelta(seconds=int(current))
            meta["deletionTimestamp"] = _rfc3339(started + timedelta(seconds=grace))
            meta["deletionGracePeriodSeconds"] = grace
            return "graceful"
        spec = pod.get("spec") or {}
        status = pod.get("status") or {}
        # pod strategy CheckGracefulDelete: unscheduled or finished pods go at once.
        if grace is None:
            grace = int(spec.get("terminationGracePeriodSeconds", _DEFAULT_POD_GRACE))
        if not spec.get("nodeName") or status.get("phase") in ("Failed", "Succeeded"):
            grace = 0
        meta["deletionTimestamp"] = _rfc3339(self._clock() + timedelta(seconds=grace))
        meta["deletionGracePeriodSeconds"] = grace
        if int(meta.get("generation") or 0) > 0:
            meta["generation"] = int(meta["generation"]) + 1
        return "graceful"

    def _delete_namespace(
        self, rt: ResourceType, loc: _Loc, stored: Obj, policy: str | None, dry_run: bool
    ) -> Deletion:
        """Namespace REST Delete: the first call only marks it Terminating."""
        if loc[1] in _IMMORTAL_NAMESPACES:
            # NamespaceLifecycle admission refuses to delete the system namespaces.
            raise ApiError(
                403,
                "Forbidden",
                f'namespaces "{loc[1]}" is forbidden: this namespace may not be deleted',
                "",
                "namespaces",
                loc[1],
            )
        meta = _meta(stored)
        if not meta.get("deletionTimestamp"):
            new = deep_copy(stored)
            new_meta = new["metadata"]
            new_meta["deletionTimestamp"] = _rfc3339(self._clock())
            new.setdefault("status", {})["phase"] = "Terminating"
            finalizers = [
                f
                for f in new_meta.get("finalizers") or []
                if f not in (FINALIZER_ORPHAN, FINALIZER_FOREGROUND)
            ]
            had = set(new_meta.get("finalizers") or ())
            if policy == ORPHAN or (policy is None and FINALIZER_ORPHAN in had):
                finalizers.append(FINALIZER_ORPHAN)
            if policy == FOREGROUND or (policy is None and FINALIZER_FOREGROUND in had):
                finalizers.append(FINALIZER_FOREGROUND)
            if finalizers:
                new_meta["finalizers"] = finalizers
            else:
                new_meta.pop("finalizers", None)
            if not dry_run:
                self._write(rt, loc, new, MODIFIED, stored)
            return Deletion(_shown(new, rt), False)
        if (stored.get("spec") or {}).get("finalizers"):
            return Deletion(_shown(stored, rt), False)
        return self._delete_object(rt, loc, stored, policy, None, dry_run)

    # ------------------------------------------------------------------ watch

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        notify: Notify,
        *,
        resource_version: str | None = None,
        label_selector: str | LabelSelector | None = None,
        field_selector: str | FieldSelector | None = None,
        send_initial_events: bool | None = None,
    ) -> Watch:
        labels = self._label_selector(label_selector)
        fields = self._field_selector(field_selector, rt)
        scope = namespace if rt.namespaced else None
        watch = Watch(self, rt, scope, notify, labels, fields)
        with self._lock:
            since = _parse_rv(resource_version)
            if since:
                self._check_history(since)
            initial = send_initial_events is True or (send_initial_events is None and not since)
            if initial:
                bucket = self._buckets.get(rt.key)
                if bucket is not None:
                    for loc in self._candidate_locations(bucket, scope, fields):
                        stored = bucket.get(loc)
                        if stored is not None and watch._matches(stored):
                            watch._send(WatchEvent(ADDED, _shown(stored, rt), rt))
                if send_initial_events:
                    watch.bookmark(initial_events_end=True)
            elif since:
                for record in self._history:
                    if record.rv > since and record.key == rt.key:
                        watch._deliver(record)
            if not watch.closed:
                self._watches.setdefault(rt.key, []).append(watch)
            return watch

    def subscribe(self, notify: Notify) -> Watch:
        watch = Watch(self, None, None, notify)
        with self._lock:
            self._subscribers.append(watch)
        return watch

    def _remove_watch(self, watch: Watch) -> None:
        with self._lock:
            if watch.rt is None:
                if watch in self._subscribers:
                    self._subscribers.remove(watch)
                return
            watches = self._watches.get(watch.rt.key)
            if watches is not None and watch in watches:
                watches.remove(watch)

    def _check_history(self, since: int) -> None:
        if since > self._rv:
            raise ApiError(
                504,
                "Timeout",
                f"Too large resource version: {since}, current: {self._rv}",
            )
        if since == self._rv:
            return
        oldest = self._history[0].rv if self._history else self._rv + 1
        if since < oldest - 1:
            # watch_cache.go: "too old resource version: %d (%d)" with the oldest RV it can serve.
            raise apierrors.gone(f"too old resource version: {since} ({oldest - 1})")

    # ------------------------------------------------------------------ internals

    def _rt_for(self, key: _Key) -> ResourceType:
        known = self._types[key]
        if not known.custom:
            return known
        # a custom type: prefer what the registry serves now (CRD versions can change).
        for candidate in self.registry.types():
            if candidate.key == key and candidate.version == known.version:
                return candidate
        for candidate in self.registry.types():
            if candidate.key == key:
                return candidate
        return known

    def _loc(self, rt: ResourceType, namespace: str | None, name: str) -> _Loc:
        if not rt.namespaced:
            return ("", name)
        if not namespace:
            raise _bad_request(f"a namespace is required for {_qualified(rt)}")
        return (namespace, name)

    def _stored(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        loc = self._loc(rt, namespace, name)
        bucket = self._buckets.get(rt.key)
        stored = bucket.get(loc) if bucket is not None else None
        if stored is None:
            raise apierrors.not_found(rt.group, rt.plural, name)
        return stored

    @staticmethod
    def _check_type(rt: ResourceType, obj: Obj) -> None:
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        # Other versions of one group/resource share storage; objects show the served one.
        if api_version and str(api_version).rpartition("/")[0] != rt.group:
            raise _bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({rt.api_version})"
            )
        if kind and kind != rt.kind:
            raise _bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
            )
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind

    def _create_namespace(
        self, rt: ResourceType, namespace: str | None, meta: dict[str, Any]
    ) -> str:
        if not rt.namespaced:
            meta.pop("namespace", None)
            return ""
        given = meta.get("namespace")
        if namespace and given and given != namespace:
            raise _bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        ns = namespace or given
        if not ns:
            raise _bad_request(f"a namespace is required for {_qualified(rt)}")
        meta["namespace"] = ns
        return str(ns)

    def _admit_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        """The NamespaceLifecycle admission plugin, for creates."""
        if not rt.namespaced:
            return
        bucket = self._buckets.get(_NAMESPACES)
        ns_obj = bucket.get(("", namespace)) if bucket is not None else None
        if ns_obj is None:
            raise apierrors.not_found("", "namespaces", namespace)
        terminating = _meta(ns_obj).get("deletionTimestamp") or (
            (ns_obj.get("status") or {}).get("phase") == "Terminating"
        )
        if terminating:
            reason = (
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated"
            )
            target = f'{_qualified(rt)} "{name}"' if name else _qualified(rt)
            raise ApiError(
                403, "Forbidden", f"{target} is forbidden: {reason}", rt.group, rt.plural, name
            )

    def _generate_name(self, base: str) -> str:
        suffix = "".join(self._random.choice(_NAME_ALPHABET) for _ in range(_GENERATED_SUFFIX))
        return base[:_MAX_GENERATE_NAME_BASE] + suffix

    @staticmethod
    def _validate(rt: ResourceType, causes: builtins.list[Cause], obj: Obj) -> None:
        if not _meta(obj).get("name") and not any(c.field == "metadata.name" for c in causes):
            causes = [
                Cause(
                    "FieldValueRequired",
                    "Required value: name or generateName is required",
                    "metadata.name",
                ),
                *causes,
            ]
        if causes:
            name = str(_meta(obj).get("name") or "")
            raise apierrors.invalid(rt.group, rt.kind, rt.plural, name, causes)

    @staticmethod
    def _check_preconditions(
        rt: ResourceType, name: str, stored: Obj, preconditions: Mapping[str, Any] | None
    ) -> None:
        if not preconditions:
            return
        meta = _meta(stored)
        for field_name, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted = preconditions.get(field_name)
            if wanted and str(wanted) != str(meta.get(field_name)):
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {_qualified(rt)} "{name}": Precondition '
                    f"failed: {label} in precondition: {wanted}, {label} in object meta: "
                    f"{meta.get(field_name)}",
                    rt.group,
                    rt.plural,
                    name,
                )

    def _label_selector(self, selector: str | LabelSelector | None) -> LabelSelector | None:
        if selector is None:
            return None
        parsed = LabelSelector.parse(selector) if isinstance(selector, str) else selector
        return None if parsed.empty else parsed

    def _field_selector(
        self, selector: str | FieldSelector | None, rt: ResourceType
    ) -> FieldSelector | None:
        if selector is None:
            return None
        parsed = (
            FieldSelector.parse(selector, rt.kind, custom=rt.custom, namespaced=rt.namespaced)
            if isinstance(selector, str)
            else selector
        )
        return None if parsed.empty else parsed

    @staticmethod
    def _candidate_locations(
        bucket: _Bucket, scope: str | None, fields: FieldSelector | None
    ) -> builtins.list[_Loc]:
        """Index use: a field selector naming one namespace or one name narrows the scan."""
        if fields is not None and scope is None:
            wanted_ns = fields.exact("metadata.namespace")
            if wanted_ns is not None:
                scope = wanted_ns
        if fields is not None and scope is not None:
            wanted_name = fields.exact("metadata.name")
            if wanted_name is not None:
                loc = (scope, wanted_name)
                return [loc] if bucket.get(loc) is not None else []
        return bucket.locations(scope)

    def _snapshot(self, key: _Key, rv: int, start: _Loc | None) -> dict[_Loc, Obj]:
        """The objects of `key` as they were at `rv`, by undoing later history records."""
        oldest = self._history[0].rv if self._history else self._rv + 1
        if rv < oldest - 1:
            retry = _encode_continue(-1, start) if start is not None else ""
            raise ExpiredContinue(410, "Expired", _CONTINUE_EXPIRED, continue_token=retry)
        bucket = self._buckets.get(key, _Bucket())
        objects: dict[_Loc, Obj] = {
            (ns, name): obj
            for ns, names in bucket.by_namespace.items()
            for name, obj in names.items()
        }
        for record in reversed(self._history):
            if record.rv <= rv:
                break
            if record.key != key:
                continue
            loc = (str(_meta(record.obj).get("namespace") or ""), str(_meta(record.obj)["name"]))
            if record.type == ADDED:
                objects.pop(loc, None)
            elif record.prev is not None:
                objects[loc] = record.prev
        return objects

    def _write(self, rt: ResourceType, loc: _Loc, new: Obj, kind: str, old: Obj | None) -> None:
        """Store `new` (which the store now owns) with the next RV and fan the event out."""
        self._rv += 1
        new["metadata"]["resourceVersion"] = str(self._rv)
        bucket = self._buckets.setdefault(rt.key, _Bucket())
        bucket.put(loc, new)
        self._types[rt.key] = rt
        uid = str(new["metadata"]["uid"])
        self._by_uid[uid] = (rt.key, loc)
        self._index_owners(uid, _owner_uids(old) if old is not None else set(), _owner_uids(new))
        self._emit(_Record(self._rv, kind, rt.key, rt, new, old))

    def _remove(self, rt: ResourceType, loc: _Loc, last: Obj) -> Obj:
        """Remove an object; the DELETED event carries its last state at a new RV."""
        stored = self._buckets[rt.key].get(loc)
        if stored is None:
            return _shown(last, rt)
        gone = deep_copy(last) if last is not stored else deep_copy(stored)
        self._rv += 1
        gone["metadata"]["resourceVersion"] = str(self._rv)
        self._buckets[rt.key].remove(loc)
        uid = str(_meta(stored).get("uid"))
        self._by_uid.pop(uid, None)
        self._index_owners(uid, _owner_uids(stored), set())
        strategy_for(rt, allocator=self._allocator).released(stored)
        self._emit(_Record(self._rv, DELETED, rt.key, rt, gone, stored))
        if rt.key == _CRDS:
            self._drop_custom_resources(stored)
        return _shown(gone, rt)

    def _drop_custom_resources(self, crd: Obj) -> None:
        """A deleted CRD takes its custom resources with it (the CRD finalizer's job upstream)."""
        spec = crd.get("spec") or {}
        key = (str(spec.get("group", "")), str((spec.get("names") or {}).get("plural", "")))
        bucket = self._buckets.get(key)
        if bucket is not None and key in self._types:
            rt = self._rt_for(key)
            for loc in list(bucket.locations(None)):
                stored = bucket.get(loc)
                if stored is not None:
                    self._remove(rt, loc, stored)
        self.registry.unregister_crd(deep_copy(crd))

    def _index_owners(self, uid: str, before: set[str], after: set[str]) -> None:
        for owner in before - after:
            dependents = self._dependents.get(owner)
            if dependents is not None:
                dependents.discard(uid)
                if not dependents:
                    del self._dependents[owner]
        for owner in after - before:
            self._dependents.setdefault(owner, set()).add(uid)

    def _emit(self, record: _Record) -> None:
        self._history.append(record)
        for watch in list(self._watches.get(record.key, ())):
            watch._deliver(record)
        for subscriber in list(self._subscribers):
            subscriber._deliver(record)

    def __iter__(self) -> Iterator[tuple[ResourceType, Obj]]:
        """Every stored object (copies), by type then (namespace, name); for debugging."""
        with self._lock:
            snapshot = [
                (self._rt_for(key), self._buckets[key].get(loc))
                for key in sorted(self._buckets)
                for loc in self._buckets[key].locations(None)
            ]
        for rt, stored in snapshot:
            if stored is not None:
                yield rt, _shown(stored, rt)


# ==================================================================== helpers


def _selected(
    obj: Mapping[str, Any], labels: LabelSelector | None, fields: FieldSelector | None
) -> bool:
    if labels is not None and not labels.matches(_meta(obj).get("labels")):
        return False
    return fields is None or fields.matches(obj)


def _parse_rv(text: str | None) -> int:
    if text is None or text in ("", "0"):
        return 0
    try:
        value = int(text)
    except ValueError:
        raise ApiError(
            400,
            "BadRequest",
            f'resourceVersion: Invalid value: "{text}": strconv.ParseUint: parsing '
            f'"{text}": invalid syntax',
        ) from None
    if value < 0:
        raise ApiError(400, "BadRequest", f'resourceVersion: Invalid value: "{text}"')
    return value


def _encode_continue(rv: int, last: _Loc) -> str:
    # storage.EncodeContinue: base64url (no padding) of {"v","rv","start"}; start is the key
    # just past the last one returned.
    start = f"{last[0]}/{last[1]}\x00"
    raw = json.dumps({"v": _CONTINUE_VERSION, "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, _Loc]:
    def invalid(detail: str) -> ApiError:
        return _bad_request(f"invalid continue token: continue key is not valid: {detail}")

    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise invalid(str(error)) from None
    if not isinstance(decoded, dict):
        raise invalid("not an object")
    if decoded.get("v") != _CONTINUE_VERSION:
        raise invalid(f'server does not recognize this encoded version "{decoded.get("v")}"')
    rv = decoded.get("rv")
    start = decoded.get("start")
    if not isinstance(rv, int) or rv == 0:
        raise invalid("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    if not isinstance(start, str) or not start.endswith("\x00") or "/" not in start:
        raise invalid("encoded start key is not valid")
    namespace, _, name = start[:-1].partition("/")
    return rv, (namespace, name)


def _finalizers_for_deletion(finalizers: Iterable[str], policy: str | None) -> list[str]:
    """deletionFinalizersForGarbageCollection: orphan / foregroundDeletion per policy."""
    current = list(finalizers)
    if policy is None:
        orphan = FINALIZER_ORPHAN in current
        foreground = not orphan and FINALIZER_FOREGROUND in current
    else:
        orphan = policy == ORPHAN
        foreground = policy == FOREGROUND
    kept = [f for f in current if f not in (FINALIZER_ORPHAN, FINALIZER_FOREGROUND)]
    if orphan:
        kept.append(FINALIZER_ORPHAN)
    if foreground:
        kept.append(FINALIZER_FOREGROUND)
    if set(kept) == set(current):
        return current
    return kept


def _mark_deleting(meta: dict[str, Any], now: datetime) -> None:
    """markAsDeleting: generation bump once, deletionTimestamp kept if earlier, grace 0."""
    existing = meta.get("deletionTimestamp")
    if existing is None and int(meta.get("generation") or 0) > 0:
        meta["generation"] = int(meta["generation"]) + 1
    if existing is None or _parse_time(str(existing)) > now:
        meta["deletionTimestamp"] = _rfc3339(now)
    meta["deletionGracePeriodSeconds"] = 0


def _should_delete_during_update(rt: ResourceType, new: Obj, old: Obj) -> bool:
    """ShouldDeleteDuringUpdate (and the namespace variant, which also needs spec.finalizers)."""
    if _meta(new).get("finalizers"):
        return False
    old_meta = _meta(old)
    if not old_meta.get("deletionTimestamp"):
        return False
    if rt.key == _NAMESPACES and (new.get("spec") or {}).get("finalizers"):
        return False
    grace = old_meta.get("deletionGracePeriodSeconds")
    return grace is None or int(grace) == 0


def _accept_crd_names(crd: Obj, now: datetime) -> None:
    """What the CRD naming and establishing controllers write, done at once."""
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    if names.get("kind"):
        names.setdefault("singular", str(names["kind"]).lower())
        names.setdefault("listKind", f"{names['kind']}List")
    status = crd.setdefault("status", {})
    status["acceptedNames"] = names
    storage = [str(v.get("name")) for v in spec.get("versions") or [] if v.get("storage")]
    stored_versions = list(status.get("storedVersions") or [])
    for version in storage:
        if version not in stored_versions:
            stored_versions.append(version)
    status["storedVersions"] = stored_versions
    conditions = [
        c
        for c in status.get("conditions") or []
        if c.get("type") not in ("NamesAccepted", "Established")
    ]
    existing = {c.get("type"): c for c in status.get("conditions") or []}
    for kind, reason, message in (
        ("NamesAccepted", "NoConflicts", "no conflicts found"),
        ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
    ):
        previous = existing.get(kind)
        if previous is not None and previous.get("status") == "True":
            conditions.append(previous)
        else:
            conditions.append(
                {
                    "type": kind,
                    "status": "True",
                    "lastTransitionTime": _rfc3339(now),
                    "reason": reason,
                    "message": message,
                }
            )
    status["conditions"] = conditions
