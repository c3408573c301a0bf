"""Watch streams: the bounded channel from the store's thread, and watches over HTTP (from a
resourceVersion, from zero, bookmarks, 410 in a 200 stream, a slow watcher cut off)."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from typing import Any

import pytest

from harness.cluster.simulator.http.watchstream import WatchChannel

NS = "/api/v1/namespaces/default"


def test_watch_channel_is_bounded_for_live_events_only() -> None:
    loop = asyncio.new_event_loop()
    try:
        from harness.cluster.simulator.store import WatchEvent

        channel = WatchChannel(loop, limit=2)
        for i in range(5):  # the replay of current state is not bounded
            channel.notify(WatchEvent("ADDED", {"metadata": {"resourceVersion": str(i)}}))
        channel.initial = False
        channel.notify(WatchEvent("MODIFIED", {}))
        channel.notify(WatchEvent("MODIFIED", {}))
        assert not channel.overflowed
        channel.notify(WatchEvent("MODIFIED", {}))
        assert channel.overflowed
        assert len(channel.drain()) == 7
    finally:
        loop.close()


def _events(response: http.client.HTTPResponse, count: int | None = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while count is None or len(events) < count:
        line = response.readline()
        if not line:
            break
        events.append(json.loads(line))
    return events


# -- watch ----------------------------------------------------------------------------------
@pytest.mark.integration
def test_watch_from_a_resource_version_sees_only_later_events(
    api: Any, make_configmap: Any
) -> None:
    _, _, created = api.request("POST", f"{NS}/configmaps", make_configmap("w1"))
    rv = created["metadata"]["resourceVersion"]
    connection, response = api.stream(
        f"{NS}/configmaps?watch=true&resourceVersion={rv}&fieldSelector=metadata.name%3Dw1&timeoutSeconds=5"
    )
    try:
        assert response.status == 200
        api.request(
            "PATCH",
            f"{NS}/configmaps/w1",
            {"data": {"k": "2"}},
            content_type="application/merge-patch+json",
        )
        api.request("DELETE", f"{NS}/configmaps/w1")
        events = _events(response, 2)
    finally:
        connection.close()
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    assert events[0]["object"]["data"] == {"k": "2"}
    assert events[0]["object"]["kind"] == "ConfigMap"


@pytest.mark.integration
def test_watch_from_zero_replays_and_timeout_ends_the_stream(api: Any, make_configmap: Any) -> None:
    api.request("POST", f"{NS}/configmaps", make_configmap("w2"))
    started = time.monotonic()
    connection, response = api.stream(
        "/api/v1/watch/namespaces/default/configmaps/w2?timeoutSeconds=1"
    )
    try:
        events = _events(response)
    finally:
        connection.close()
    assert 0.9 <= time.monotonic() - started < 5
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "w2")]


@pytest.mark.integration
def test_watch_bookmarks_when_allowed(api: Any) -> None:
    connection, response = api.stream(
        f"{NS}/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=1&timeoutSeconds=3"
        "&labelSelector=none%3Dnone"
    )
    try:
        events = _events(response, 1)
    finally:
        connection.close()
    assert events[0]["type"] == "BOOKMARK"
    assert events[0]["object"]["kind"] == "ConfigMap"
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) >= 1


@pytest.mark.integration
def test_too_old_resource_version_is_an_error_event_in_a_200_stream(
    api: Any, make_configmap: Any
) -> None:
    _, _, first = api.request("POST", f"{NS}/configmaps", make_configmap("old"))
    for i in range(60):  # the history window is 50 events
        api.request(
            "PATCH",
            f"{NS}/configmaps/old",
            {"data": {"i": str(i)}},
            content_type="application/merge-patch+json",
        )
    connection, response = api.stream(
        f"{NS}/configmaps?watch=true&resourceVersion={first['metadata']['resourceVersion']}"
    )
    try:
        assert response.status == 200
        events = _events(response)
    finally:
        connection.close()
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")


@pytest.mark.integration
def test_a_slow_watcher_is_cut_off_with_an_error_not_the_store(
    api: Any, make_configmap: Any
) -> None:
    _, _, first = api.request("POST", f"{NS}/configmaps", make_configmap("slow-0"))
    connection = api.connection(timeout=30)
    connection.request(
        "GET",
        f"{NS}/configmaps?watch=true&resourceVersion={first['metadata']['resourceVersion']}"
        "&labelSelector=slow%3Dyes",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    response = connection.getresponse()
    big = "x" * 200_000
    started = time.monotonic()
    for i in range(60):  # never read: the socket buffers fill, then the queue (limit 20)
        status, _, _ = api.request(
            "POST", f"{NS}/configmaps", make_configmap(f"slow-{i + 1}", {"big": big}, slow="yes")
        )
        assert status == 201
    assert time.monotonic() - started < 20  # writers were never blocked by the watcher
    try:
        events = _events(response)
    finally:
        connection.close()
    assert events[-1]["type"] == "ERROR"
    assert events[-1]["object"]["code"] == 410
    assert 20 <= len(events) - 1 < 60
    api.request("DELETE", f"{NS}/configmaps?labelSelector=slow%3Dyes")
