"""pods/log: a container's log as the kubelet serves it (tail, since, timestamps, limitBytes,
previous), read from the node agents' CRI log files; `follow` streams until the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime

from aiohttp import web

from harness.apimachinery.meta import JSON, meta
from harness.apimachinery.timestamps import now, parse_nano
from harness.cluster.podlogs import LogCursor, PodLogs, render
from harness.cluster.simulator.apierrors import ApiError, Cause, invalid
from harness.cluster.simulator.http.wire import Target, bad_request, parse_bool, parse_int
from harness.cluster.simulator.store import Store

__all__ = ["PodLogStreams"]


class PodLogStreams:
    """GET pods/<name>/log for one server; `close()` (the server shutting down) ends the
    streams that follow a log."""

    def __init__(self, store: Store, pod_logs: PodLogs, poll_interval: float) -> None:
        self._store = store
        self._pod_logs = pod_logs
        #: how often `logs -f` looks for new lines
        self._poll_interval = poll_interval
        self._closing = False

    def close(self) -> None:
        self._closing = True

    async def serve(self, request: web.Request, target: Target) -> web.StreamResponse:
        assert target.name is not None and target.namespace is not None
        query = request.query
        pod = self._store.get(target.rt, target.namespace, target.name)
        spec = pod.get("spec") or {}
        container = _log_container(pod, query.get("container") or "")
        follow = bool(parse_bool(query, "follow"))
        previous = bool(parse_bool(query, "previous"))
        timestamps = bool(parse_bool(query, "timestamps"))
        tail = parse_int(query, "tailLines")
        limit_bytes = parse_int(query, "limitBytes")
        since_seconds = parse_int(query, "sinceSeconds")
        since_time = query.get("sinceTime")
        causes = []
        if tail is not None and tail < 0:
            causes.append(
                ("tailLines", f"Invalid value: {tail}: must be greater than or equal to 0")
            )
        if limit_bytes is not None and limit_bytes < 1:
            causes.append(("limitBytes", f"Invalid value: {limit_bytes}: must be greater than 0"))
        if since_seconds is not None and since_seconds < 1:
            causes.append(
                ("sinceSeconds", f"Invalid value: {since_seconds}: must be greater than 0")
            )
        if since_seconds is not None and since_time:
            causes.append(
                (
                    "sinceSeconds",
                    "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified",
                )
            )
        if causes:
            raise invalid(
                "",
                "PodLogOptions",
                "pods",
                target.name,
                [Cause("FieldValueInvalid", m, f) for f, m in causes],
            )
        since: datetime | None = None
        if since_seconds is not None:
            since = datetime.fromtimestamp(time.time() - since_seconds, UTC)
        elif since_time:
            try:
                since = parse_nano(since_time)
            except ValueError:
                raise bad_request(f'invalid sinceTime "{since_time}"') from None
        if not spec.get("nodeName"):
            raise bad_request(f"pod {target.name} does not have a host assigned")
        run = self._log_run(pod, container, previous)
        path = self._pod_logs.path(target.namespace, target.name, container, run)
        try:
            data, offset = self._pod_logs.read(
                path,
                tail=tail,
                timestamps=timestamps,
                since=since,
                limit_bytes=limit_bytes,
                follow=follow,
            )
        except FileNotFoundError:
            raise bad_request(
                f'container "{container}" in pod "{target.name}" is waiting to start - no logs yet'
            ) from None
        if not follow or previous:
            return web.Response(body=data, content_type="text/plain")
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        budget = None if limit_bytes is None else limit_bytes - len(data)
        uid = meta(pod).get("uid")
        cursor = LogCursor(path, offset)
        try:
            if data:
                await response.write(data)
            while (budget is None or budget > 0) and not self._closing:
                ended = self._follow_ended(target, uid, container, run)
                lines = cursor.read_new()
                if lines:
                    chunk = render(lines, timestamps=timestamps, fallback_time=now(), since=since)
                    if budget is not None:
                        chunk = chunk[:budget]
                        budget -= len(chunk)
                    if chunk:
                        await response.write(chunk)
                    continue
                if ended:
                    break
                await asyncio.sleep(self._poll_interval)
        except (ConnectionResetError, ConnectionError):
            pass
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write_eof()
        return response

    def _log_run(self, pod: JSON, container: str, previous: bool) -> int:
        """Which <restartCount>.log to read, following the kubelet's validateContainerLogStatus."""
        metadata = pod["metadata"]
        namespace, name = metadata.get("namespace", ""), metadata["name"]
        runs = self._pod_logs.restart_counts(namespace, name, container)
        status = _container_status(pod, container)
        state = (status or {}).get("state") or {}
        last_terminated = ((status or {}).get("lastState") or {}).get("terminated")
        # Absent and null mean the same (a merge patch can store a null).
        if (
            status is not None
            and state.get("waiting") is not None
            and state.get("running") is None
            and state.get("terminated") is None
        ):
            if last_terminated is None or not runs:
                reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
                raise bad_request(
                    f'container "{container}" in pod "{name}" is waiting to start: {reason}'
                )
            return runs[-1]  # crash-looping: both modes show the run that just ended
        if previous:
            if len(runs) < 2 or (status is not None and last_terminated is None):
                raise bad_request(
                    f'previous terminated container "{container}" in pod "{name}" not found'
                )
            return runs[-2]
        if not runs:
            if status is None:
                raise bad_request(
                    f'container "{container}" in pod "{name}" is waiting to start: '
                    "ContainerCreating"
                )
            raise bad_request(
                f'container "{container}" in pod "{name}" is waiting to start - no logs yet'
            )
        return runs[-1]

    def _follow_ended(self, target: Target, uid: str | None, container: str, run: int) -> bool:
        """Following stops when the pod is gone, the container restarted, or it terminated."""
        assert target.name is not None and target.namespace is not None
        try:
            pod = self._store.get(target.rt, target.namespace, target.name)
        except ApiError:
            return True
        if meta(pod).get("uid") != uid:
            return True
        runs = self._pod_logs.restart_counts(target.namespace, target.name, container)
        if runs and runs[-1] > run:
            return True
        status = _container_status(pod, container)
        state = (status or {}).get("state") or {}
        return state.get("terminated") is not None


def _container_status(pod: JSON, container: str) -> JSON | None:
    # Not harness.apimachinery.pods.container_statuses: logs are served for ephemeral
    # containers too, whose statuses that helper leaves out.
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for entry in status.get(key) or []:
            if isinstance(entry, dict) and entry.get("name") == container:
                return entry
    return None


def _log_container(pod: JSON, requested: str) -> str:
    """pkg/registry/core/pod/strategy.go validateContainer, messages included."""
    spec = pod.get("spec") or {}
    name = str(pod["metadata"]["name"])
    containers = [str(c.get("name", "")) for c in spec.get("containers") or []]
    every = (
        [c.get("name", "") for c in spec.get("initContainers") or []]
        + containers
        + [c.get("name", "") for c in spec.get("ephemeralContainers") or []]
    )
    if not requested:
        if len(containers) == 1:
            return containers[0]
        if not containers:
            raise bad_request(f"a container name must be specified for pod {name}")
        raise bad_request(
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(every)}]"
        )
    if requested not in every:
        raise bad_request(f"container {requested} is not valid for pod {name}")
    return requested
