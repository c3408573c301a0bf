"""ControllerManager: routing, de-duplication, dirty re-sync, delayed requeue, back-off,
the initial sync, wait_idle and a clean stop, with scripted controllers on a real Store."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.controllers.base import ControllerContext
from harness.cluster.simulator.controllers.events import StoreEventRecorder
from harness.cluster.simulator.controllers.manager import ControllerManager
from harness.cluster.simulator.http.startup import bootstrap
from harness.cluster.simulator.registry import Registry
from harness.cluster.simulator.store import Store, WatchEvent
from harness.timescale import TimeScale


def _context() -> ControllerContext:
    registry = Registry.builtin()
    store = Store(registry)
    bootstrap(store)

    def clock() -> datetime:
        return datetime(2024, 5, 1, tzinfo=UTC)

    return ControllerContext(
        store, registry, clock, TimeScale(), StoreEventRecorder(store, "test", clock)
    )


class Scripted:
    """Reacts to ConfigMaps: the key is the ConfigMap's name; `behaviour` decides sync's result."""

    def __init__(
        self,
        name: str = "scripted",
        behaviour: Callable[[Hashable], float | None] | None = None,
        initial: Sequence[Hashable] = (),
    ) -> None:
        self.name = name
        self.behaviour = behaviour or (lambda key: None)
        self.initial = list(initial)
        self.synced: list[Hashable] = []
        self.times: list[float] = []
        self.lock = threading.Lock()

    def watches(self) -> Sequence[tuple[str, str]]:
        return [("", "configmaps")]

    def keys_for(self, event: WatchEvent) -> Iterable[Hashable]:
        return [event.object["metadata"]["name"]]

    def sync(self, key: Hashable) -> float | None:
        with self.lock:
            self.synced.append(key)
            self.times.append(time.monotonic())
        return self.behaviour(key)

    def resync_keys(self) -> Iterable[Hashable]:
        return list(self.initial)


def _configmap(ctx: ControllerContext, name: str, value: str = "1") -> None:
    rt = ctx.registry.lookup("", "v1", "configmaps")
    assert rt is not None
    body: dict[str, Any] = {"metadata": {"name": name}, "data": {"k": value}}
    try:
        ctx.store.create(rt, "default", body)
    except ApiError:  # exists: update it
        current = ctx.store.get(rt, "default", name)
        current["data"] = {"k": value}
        ctx.store.update(rt, "default", name, current)


def test_initial_sync_routes_events_and_wait_idle() -> None:
    ctx = _context()
    controller = Scripted(initial=["a", "b"])
    with ControllerManager(ctx, [controller]) as manager:
        assert manager.wait_idle(5)
        assert sorted(map(str, controller.synced)) == ["a", "b"]
        _configmap(ctx, "c")
        assert manager.wait_idle(5)
        assert controller.synced[-1] == "c"


def test_unwatched_types_do_not_reach_the_controller() -> None:
    ctx = _context()
    controller = Scripted()
    with ControllerManager(ctx, [controller]) as manager:
        secrets = ctx.registry.lookup("", "v1", "secrets")
        assert secrets is not None
        ctx.store.create(secrets, "default", {"metadata": {"name": "s"}})
        assert manager.wait_idle(5)
        assert controller.synced == []


def test_a_key_queued_while_syncing_is_synced_once_more_after() -> None:
    ctx = _context()
    release = threading.Event()
    started = threading.Event()

    def slow(key: Hashable) -> None:
        started.set()
        release.wait(5)

    controller = Scripted(behaviour=slow)
    with ControllerManager(ctx, [controller]) as manager:
        _configmap(ctx, "x", "1")
        assert started.wait(5)
        for value in "234":  # three adds during the sync: de-duplicated to one more sync
            _configmap(ctx, "x", value)
        release.set()
        assert manager.wait_idle(5)
        assert controller.synced == ["x", "x"]


def test_delayed_requeue_earliest_wins() -> None:
    ctx = _context()
    calls: list[int] = []

    def requeue(key: Hashable) -> float | None:
        calls.append(1)
        return 0.05 if len(calls) == 1 else None

    controller = Scripted(behaviour=requeue, initial=["k"])
    with ControllerManager(ctx, [controller]) as manager:
        assert manager.wait_idle(5)
        deadline = time.monotonic() + 5
        while len(controller.synced) < 2 and time.monotonic() < deadline:
            manager.wait_idle(0.01)
            time.sleep(0.005)
        assert controller.synced == ["k", "k"]
        assert controller.times[1] - controller.times[0] >= 0.045


def test_add_after_keeps_the_earlier_due_time() -> None:
    ctx = _context()
    controller = Scripted()
    manager = ControllerManager(ctx, [controller])
    worker = manager._workers[0]
    with manager._lock:
        worker.add_after("k", 10.0)
        worker.add_after("k", 0.5)
        worker.add_after("k", 5.0)
        assert worker.waiting["k"] - time.monotonic() == pytest.approx(0.5, abs=0.1)
    manager.stop()


def test_failures_back_off_exponentially_and_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    ctx = _context()

    def flaky(key: Hashable) -> None:
        if len(controller.synced) < 5:
            raise RuntimeError("boom")

    controller = Scripted(behaviour=flaky, initial=["k"])
    with caplog.at_level(logging.WARNING), ControllerManager(ctx, [controller]) as manager:
        deadline = time.monotonic() + 5
        while len(controller.synced) < 5 and time.monotonic() < deadline:
            manager.wait_idle(0.05)
            time.sleep(0.01)
        assert manager.wait_idle(5)
    assert len(controller.synced) == 5
    gaps = [b - a for a, b in zip(controller.times, controller.times[1:], strict=False)]
    # 5, 10, 20, 40 ms
    assert gaps[3] >= 0.035 and gaps[3] > gaps[0]
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 4 and failures[0].exc_info is not None


def test_backoff_is_capped() -> None:
    ctx = _context()
    controller = Scripted()
    manager = ControllerManager(ctx, [controller], max_backoff=0.02)
    worker = manager._workers[0]
    worker.failures["k"] = 50
    with manager._lock:
        worker.processing.add("k")
    # a failing sync of "k" re-adds it after min(5 ms * 2**50, cap)
    controller.behaviour = lambda key: (_ for _ in ()).throw(RuntimeError("x"))
    worker._sync("k")
    assert worker.waiting["k"] - time.monotonic() <= 0.021
    manager.stop()


def test_stop_joins_threads_and_is_idempotent() -> None:
    ctx = _context()
    controllers = [Scripted("one", initial=["a"]), Scripted("two", initial=["b"])]
    manager = ControllerManager(ctx, controllers).start()
    assert manager.wait_idle(5)
    threads = [w.thread for w in manager._workers]
    manager.stop()
    manager.stop()
    assert not any(t.is_alive() for t in threads)
    _configmap(ctx, "after-stop")  # the subscription is closed: nothing is delivered
    assert controllers[0].synced == ["a"]
    with pytest.raises(RuntimeError):
        manager.start()


def test_duplicate_controller_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        ControllerManager(_context(), [Scripted("x"), Scripted("x")])
