"""The controllers' event recorder: core/v1 Events written straight into the store, with
client-go's EventCorrelator basics (an identical repeat bumps count and lastTimestamp).

    StoreEventRecorder(store, component, clock).record(obj, type_, reason, message)

As client-go `tools/record/event.go` and `events_cache.go`: the Event lives in the involved
object's namespace ("default" for cluster-scoped objects) and is named
`<object name>.<unix nanoseconds as hex>`; its involvedObject carries kind, namespace, name,
uid, apiVersion and resourceVersion; source.component and reportingComponent name the
controller. A repeat of the same (source, object, type, reason, message) updates the first
Event's count and lastTimestamp instead of writing a new one (EventLogger); the cache is an
LRU of 4096 entries like upstream's. Recording never raises: a failed write is logged.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.registry import ResourceType
from harness.cluster.simulator.store import Store

__all__ = ["StoreEventRecorder"]

_log = logging.getLogger(__name__)

MAX_LRU_CACHE_ENTRIES: Final = 4096  # client-go events_cache.go maxLruCacheEntries
_TYPES: Final = ("Normal", "Warning")
_NAME_ATTEMPTS: Final = 64

_Key = tuple[str, ...]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StoreEventRecorder:
    """An EventRecorder (controllers/base.py) for one component, e.g. "deployment-controller"."""

    def __init__(
        self,
        store: Store,
        component: str,
        clock: Callable[[], datetime] | None = None,
        *,
        host: str = "",
    ) -> None:
        self.store = store
        self.component = component
        self.host = host
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        # aggregate key -> (namespace, event name, count); least recently used first
        self._seen: OrderedDict[_Key, tuple[str, str, int]] = OrderedDict()
        rt = store.registry.lookup("", "v1", "events")
        assert rt is not None, "the registry serves core/v1 events"
        self._rt: ResourceType = rt

    def record(self, obj: dict[str, object], type_: str, reason: str, message: str) -> None:
        if type_ not in _TYPES:
            _log.warning("unsupported event type %r (%s: %s)", type_, reason, message)
            return
        involved = _involved_object(obj)
        namespace = involved.get("namespace") or "default"
        key: _Key = (
            self.component,
            self.host,
            str(involved.get("kind", "")),
            str(involved.get("namespace", "")),
            str(involved.get("name", "")),
            str(involved.get("uid", "")),
            str(involved.get("apiVersion", "")),
            type_,
            reason,
            message,
        )
        now = self._clock()
        try:
            with self._lock:
                if self._bump(key, involved, now):
                    return
                event = self._new_event(involved, namespace, type_, reason, message, now)
                created = self._create(namespace, event, now)
                self._remember(key, namespace, str(created["metadata"]["name"]), 1)
        except ApiError as error:
            # e.g. 403 in a terminating namespace; upstream drops such events too
            _log.info(
                "event %s %s for %s/%s not written: %s",
                type_,
                reason,
                namespace,
                involved.get("name"),
                error.message,
            )

    def _bump(self, key: _Key, involved: Mapping[str, Any], now: datetime) -> bool:
        """EventLogger.eventObserve: an identical repeat updates the Event already written."""
        seen = self._seen.get(key)
        if seen is None:
            return False
        namespace, name, count = seen
        try:
            current = self.store.get(self._rt, namespace, name)
        except ApiError as error:
            if error.code != 404:
                raise
            del self._seen[key]
            return False
        current["count"] = count + 1
        current["lastTimestamp"] = _rfc3339(now)
        # the object may have moved on; the Event points at its latest state
        current["involvedObject"] = dict(involved)
        self.store.update(self._rt, namespace, name, current)
        self._remember(key, namespace, name, count + 1)
        return True

    def _create(self, namespace: str, event: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Write a new Event named <object>.<unix nanoseconds, hex>; a name taken (a fake or
        coarse clock) moves on by a nanosecond."""
        base = str(event["involvedObject"].get("name", ""))
        nanos = int(now.timestamp() * 1_000_000) * 1000
        for attempt in range(_NAME_ATTEMPTS):
            event["metadata"]["name"] = f"{base}.{nanos + attempt:x}"
            try:
                return self.store.create(self._rt, namespace, event)
            except ApiError as error:
                if error.reason != "AlreadyExists" or attempt == _NAME_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _remember(self, key: _Key, namespace: str, name: str, count: int) -> None:
        self._seen[key] = (namespace, name, count)
        self._seen.move_to_end(key)
        while len(self._seen) > MAX_LRU_CACHE_ENTRIES:
            self._seen.popitem(last=False)

    def _new_event(
        self,
        involved: Mapping[str, Any],
        namespace: str,
        type_: str,
        reason: str,
        message: str,
        now: datetime,
    ) -> dict[str, Any]:
        stamp = _rfc3339(now)
        source: dict[str, str] = {"component": self.component}
        if self.host:
            source["host"] = self.host
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"namespace": namespace},
            "involvedObject": dict(involved),
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }


def _involved_object(obj: Mapping[str, Any]) -> dict[str, str]:
    """reference.GetReference: kind, namespace, name, uid, apiVersion, resourceVersion."""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    ref: dict[str, str] = {}
    for field_name, value in (
        ("kind", obj.get("kind")),
        ("namespace", meta.get("namespace")),
        ("name", meta.get("name")),
        ("uid", meta.get("uid")),
        ("apiVersion", obj.get("apiVersion")),
        ("resourceVersion", meta.get("resourceVersion")),
    ):
        if value:
            ref[field_name] = str(value)
    return ref
