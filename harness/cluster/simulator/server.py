"""The simulator's HTTP layer: the Kubernetes REST API over aiohttp, parsing and delegating only.

Auth, routing, verbs, watch streams, pod logs, discovery, OpenAPI and Table views live here;
objects, versions and rules live in store.py and below (the moto split).

Routes, as kube-apiserver lays them out:
    /healthz /livez /readyz                      no credentials needed (anonymous health checks)
    /version                                     server version
    /api  /apis  /apis/<g>  /api/v1  /apis/<g>/<v>          discovery (plain v1 JSON)
    /openapi/v3  /openapi/v3/<api|apis/g>/<v>              OpenAPI v3 (v2: an empty document)
    /api/v1[/watch][/namespaces/<ns>]/<resource>[/<name>[/<subresource>]]
    /apis/<g>/<v>[/watch][/namespaces/<ns>]/<resource>[/<name>[/<subresource>]]
A wrong or missing bearer token is a 401 Status everywhere else; a presented but wrong token
is a 401 on the health paths too, as with a real server.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import hmac
import json
import logging
import random
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from multidict import CIMultiDict, MultiMapping

from harness.apimachinery.timestamps import parse_nano
from harness.cluster.podlogs import LogCursor, PodLogs, render
from harness.cluster.simulator import patch as patches
from harness.cluster.simulator.apierrors import ApiError, Cause, invalid
from harness.cluster.simulator.registry import Registry, ResourceType
from harness.cluster.simulator.store import Store, WatchEvent
from harness.cluster.simulator.strategy import strategy_for
from harness.cluster.simulator.tables import to_table

__all__ = [
    "SERVER_VERSION",
    "SYSTEM_NAMESPACES",
    "ApiServer",
    "ServerConfig",
    "bootstrap",
    "server_version",
]

log = logging.getLogger("harness.simulator.server")
_RECENT = 1000  # requests kept for /debug/requests

JSON = dict[str, Any]

#: The Kubernetes release the simulator reports; kubectl dispatchers pick their client by its
#: minor. 1.31 because kubectl 1.32+ sends protobuf bodies from its typed clients (`kubectl
#: create namespace|configmap|secret ...`), which the simulator cannot decode (it answers 415).
SERVER_VERSION = "v1.31.9"

_HEALTH_PATHS = ("/healthz", "/livez", "/readyz")
_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
# Kinds whose registry sets ReturnDeletedObject (pkg/registry/**/storage): DELETE answers
# with the object; the others answer with a Status once the object is gone.
_RETURNS_DELETED_OBJECT = frozenset(
    {
        ("", "pods"),
        ("", "services"),
        ("", "serviceaccounts"),
        ("", "namespaces"),
        ("storage.k8s.io", "storageclasses"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
    }
)
_SCALE_TYPE = ResourceType(
    group="autoscaling",
    version="v1",
    kind="Scale",
    plural="scales",
    singular="scale",
    namespaced=True,
    verbs=("get", "patch", "update"),
)
_UNKNOWN_FORMAT = (
    "the body of the request was in an unknown format - accepted media types include: "
)
_PATCH_TYPES = (
    patches.JSON_PATCH,
    patches.MERGE_PATCH,
    patches.STRATEGIC_MERGE_PATCH,
    patches.APPLY_PATCH,
)


#: the namespaces a fresh cluster has
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


def bootstrap(store: Store) -> None:
    """Create what a fresh kube-apiserver has before anyone asks: the system namespaces."""
    namespaces = store.registry.lookup("", "v1", "namespaces")
    assert namespaces is not None
    for name in SYSTEM_NAMESPACES:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        try:
            store.create(namespaces, None, body)
        except ApiError as error:
            if error.code != 409:
                raise


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def server_version() -> JSON:
    """The /version document of SERVER_VERSION on this machine's platform."""
    match = re.match(r"v(\d+)\.(\d+)\.(\d+)", SERVER_VERSION)
    assert match is not None
    major, minor = match.group(1), match.group(2)
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(_machine(), _machine())
    return {
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": str(int(minor) - 1),
        "gitVersion": SERVER_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-05-15T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": f"{'darwin' if sys.platform == 'darwin' else 'linux'}/{machine}",
    }


def _machine() -> str:
    import platform

    return platform.machine().lower()


def _status(code: int, reason: str, message: str, details: JSON | None = None) -> JSON:
    body: JSON = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details:
        body["details"] = details
    body["code"] = code
    return body


def _success(details: JSON) -> JSON:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


def _page_not_found() -> ApiError:
    # What client-go reports for kube-apiserver's plain "404 page not found".
    error = ApiError(404, "NotFound", "the server could not find the requested resource")
    return error


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def _json_response(
    body: Any, status: int = 200, headers: CIMultiDict[str] | None = None
) -> web.Response:
    response = web.Response(body=_dumps(body), status=status, content_type="application/json")
    if headers:
        for key, value in headers.items():
            response.headers.add(key, value)
    return response


def _error_response(error: ApiError) -> web.Response:
    body = error.status()
    if error.code == 404 and error.message == "the server could not find the requested resource":
        body = _status(
            404,
            "NotFound",
            error.message,
            {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]},
        )
    return _json_response(body, error.code)


def _warning_value(text: str) -> str:
    """RFC 7234 warn-value as kube-apiserver writes it: code 299, agent "-", quoted text."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'


def selector_string(spec: Mapping[str, Any] | None) -> str:
    """metav1.LabelSelector as labels.Selector.String() prints it (requirements sorted by key)."""
    if not spec:
        return ""
    requirements: list[tuple[str, str]] = []
    for key, value in (spec.get("matchLabels") or {}).items():
        requirements.append((key, f"{key}={value}"))
    for expression in spec.get("matchExpressions") or []:
        key = expression.get("key", "")
        values = ",".join(sorted(expression.get("values") or []))
        operator = expression.get("operator")
        if operator == "In":
            requirements.append((key, f"{key} in ({values})"))
        elif operator == "NotIn":
            requirements.append((key, f"{key} notin ({values})"))
        elif operator == "Exists":
            requirements.append((key, key))
        elif operator == "DoesNotExist":
            requirements.append((key, f"!{key}"))
    requirements.sort(key=lambda item: item[0])
    return ",".join(text for _, text in requirements)


class Rendering(Enum):
    """What the Accept header asked for."""

    OBJECT = "object"
    TABLE = "table"
    METADATA = "metadata"


def _rendering(accept: str) -> tuple[Rendering, str]:
    """The first acceptable rendering and its meta.k8s.io version (v1 or v1beta1)."""
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        params = dict(p.split("=", 1) for p in pieces[1:] if "=" in p)
        if pieces[0] not in ("application/json", "*/*", "application/*"):
            continue
        kind = params.get("as")
        if kind is None:
            return Rendering.OBJECT, ""
        if params.get("g") != "meta.k8s.io" or params.get("v") not in ("v1", "v1beta1"):
            continue
        if kind == "Table":
            return Rendering.TABLE, params["v"]
        if kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            return Rendering.METADATA, params["v"]
    return Rendering.OBJECT, ""


def _parse_bool(query: MultiMapping[str], name: str) -> bool | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _bad_request(f'invalid value "{value}" for boolean query parameter {name}')


def _parse_int(query: MultiMapping[str], name: str) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise _bad_request(f'invalid value "{value}" for integer query parameter {name}') from None


def _dry_run(values: Iterable[str]) -> bool:
    chosen = [v for v in values if v]
    for value in chosen:
        if value != "All":
            raise _bad_request(f'Invalid dry run value: "{value}"; only "All" is supported')
    return bool(chosen)


def _media_type(request: web.Request) -> str:
    return request.headers.get("Content-Type", "application/json").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class ServerConfig:
    """How one simulator serves; the token is hidden from repr so it never reaches a log."""

    token: str = field(repr=False)
    logs_dir: Path
    #: how often a watch that allows bookmarks gets one (kube-apiserver: about a minute)
    bookmark_interval: float = 60.0
    #: live events one watch may have queued before it is closed with a 410 ERROR event
    watch_queue_limit: int = 1000
    #: how often `logs -f` looks for new lines
    log_poll_interval: float = 0.1


@dataclass(frozen=True)
class Target:
    """A resource request, parsed from the URL as kube-apiserver's RequestInfoFactory does."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    watch: bool


class _WatchChannel:
    """Events from the store's thread to one watch stream: bounded, never blocks the store.

    Events delivered while the store replays the current state (the synthetic ADDED events
    of a watch from "0") do not count against the bound; live events do.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self._loop = loop
        self._limit = limit
        self._lock = threading.Lock()
        self._events: deque[WatchEvent] = deque()
        self._live = 0
        self._signalled = False
        self.initial = True
        self.overflowed = False
        self.closed = False
        self.wakeup = asyncio.Event()

    def notify(self, event: WatchEvent) -> None:
        """Called by the store (any thread, under its lock): queue and wake, never block."""
        with self._lock:
            if self.overflowed or self.closed:
                return
            if self.initial:
                self._events.append(event)
            elif self._live >= self._limit:
                self.overflowed = True
            else:
                self._events.append(event)
                self._live += 1
            if self._signalled:
                return
            self._signalled = True
        self._wake()

    def close(self) -> None:
        with self._lock:
            self.closed = True
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            self._loop.call_soon_threadsafe(self.wakeup.set)

    def drain(self) -> list[WatchEvent]:
        with self._lock:
            events = list(self._events)
            self._events.clear()
            self._live = 0
            self._signalled = False
        self.wakeup.clear()
        return events


Handler = Callable[[web.Request, Target], Awaitable[web.StreamResponse]]


class ApiServer:
    """One simulator's API: `application()` builds the aiohttp app around a Store."""

    def __init__(self, store: Store, config: ServerConfig) -> None:
        self.store = store
        self.registry: Registry = store.registry
        self.config = config
        self.pod_logs = PodLogs(config.logs_dir)
        self._token = config.token.encode()
        self._ready = False
        self._closing = False
        self._channels: set[_WatchChannel] = set()
        self._cache: dict[tuple[str, int], bytes] = {}
        # The recent requests, served at /debug/requests (authenticated) so a failed deploy
        # can save what the cluster was asked; query strings only, never headers or bodies.
        self._recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=_RECENT)

    # -- lifecycle -------------------------------------------------------------------------
    def application(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        app.on_shutdown.append(self._on_shutdown)
        return app

    def mark_ready(self) -> None:
        """/readyz answers 200 from now on (the kubeconfig is written by then)."""
        self._ready = True

    async def _on_shutdown(self, app: web.Application) -> None:
        self._ready = False
        self._closing = True
        for channel in list(self._channels):
            channel.close()

    # -- entry -----------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        status = 500
        try:
            response = await self._answer(request)
            status = response.status
            return response
        finally:
            if request.path not in _HEALTH_PATHS and request.path != "/debug/requests":
                self._recent.append(
                    {
                        "time": time.time(),
                        "method": request.method,
                        "path": request.path_qs,
                        "status": status,
                        "ms": round((time.monotonic() - started) * 1000, 1),
                        "userAgent": request.headers.get("User-Agent", ""),
                    }
                )

    def recent_requests(self) -> list[dict[str, Any]]:
        """The last requests the server answered, oldest first."""
        return list(self._recent)

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        try:
            presented = self._presented_token(request)
            if path in _HEALTH_PATHS or path.startswith(tuple(p + "/" for p in _HEALTH_PATHS)):
                if presented is not None and not self._token_ok(presented):
                    return self._unauthorized()
                return self._health(path)
            if presented is None or not self._token_ok(presented):
                return self._unauthorized()
            if path == "/debug/requests" and request.method == "GET":
                return _json_response({"kind": "RequestLog", "items": self.recent_requests()})
            return await self._route(request)
        except ApiError as error:
            return _error_response(error)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.exception("internal error serving %s %s", request.method, path)
            return _json_response(
                _status(500, "InternalError", f"Internal error occurred: {exc}"), 500
            )

    @staticmethod
    def _presented_token(request: web.Request) -> bytes | None:
        header = request.headers.get("Authorization")
        if header is None:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer":
            return b""
        return value.strip().encode()

    def _token_ok(self, presented: bytes) -> bool:
        return hmac.compare_digest(presented, self._token)

    @staticmethod
    def _unauthorized() -> web.Response:
        return _json_response(_status(401, "Unauthorized", "Unauthorized"), 401)

    def _health(self, path: str) -> web.Response:
        if path.startswith("/readyz") and not self._ready:
            return web.Response(
                status=500, text="[-]simulator-ready failed: not ready yet\nreadyz check failed\n"
            )
        return web.Response(text="ok", content_type="text/plain")

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in ("/version", "/version/"):
            return _json_response(server_version())
        parts = [p for p in path.split("/") if p]
        if not parts:
            return _json_response(
                {
                    "paths": [
                        "/api",
                        "/apis",
                        "/healthz",
                        "/livez",
                        "/openapi/v3",
                        "/readyz",
                        "/version",
                    ]
                }
            )
        head = parts[0]
        if head == "openapi":
            if parts[1:] == ["v2"]:
                return _openapi_v2(request.headers.get("Accept", ""))
            return self._openapi(parts)
        if head == "api":
            if len(parts) == 1:
                return self._cached(
                    ("/api", self.registry.generation),
                    lambda: self.registry.api_versions(request.host),
                )
            group, version, rest = "", parts[1], parts[2:]
        elif head == "apis":
            if len(parts) == 1:
                return self._cached(
                    ("/apis", self.registry.generation), self.registry.api_group_list
                )
            if len(parts) == 2:
                return self._api_group(parts[1])
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _page_not_found()
        if version not in self.registry.groups().get(group, []):
            raise _page_not_found()
        if not rest:
            return self._cached(
                (f"/{group}/{version}", self.registry.generation),
                lambda: self.registry.api_resource_list(group, version),
            )
        target = self._target(group, version, rest)
        return await self._serve(request, target)

    def _cached(self, key: tuple[str, int], build: Callable[[], Any]) -> web.Response:
        body = self._cache.get(key)
        if body is None:
            if len(self._cache) > 512:
                self._cache.clear()
            body = self._cache[key] = _dumps(build())
        return web.Response(body=body, content_type="application/json")

    def _api_group(self, group: str) -> web.Response:
        document = self.registry.api_group(group)
        if document is None:
            raise _page_not_found()
        return _json_response(document)

    def _openapi(self, parts: list[str]) -> web.Response:
        if len(parts) < 2 or parts[1] != "v3":
            raise _page_not_found()
        # Imported on first use: the schemas behind it are big, and startup should be fast.
        from harness.cluster.simulator.openapi import openapi_v3_document, openapi_v3_root

        generation = self.registry.generation
        if len(parts) == 2:
            return self._cached(("/openapi/v3", generation), lambda: openapi_v3_root(self.registry))
        rest = parts[2:]
        if rest[0] == "api" and len(rest) == 2:
            group, version = "", rest[1]
        elif rest[0] == "apis" and len(rest) == 3:
            group, version = rest[1], rest[2]
        else:
            raise _page_not_found()
        key = (f"/openapi/v3/{group}/{version}", generation)
        if key not in self._cache:
            document = openapi_v3_document(self.registry, group, version)
            if document is None:
                raise _page_not_found()
            self._cache[key] = _dumps(document)
        return web.Response(body=self._cache[key], content_type="application/json")

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        watch = False
        if rest[0] == "watch":
            watch, rest = True, rest[1:]
            if not rest:
                raise _page_not_found()
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) > 1:
            namespace = rest[1]
            if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
                rest = rest[2:]
        if len(rest) > 3:
            raise _page_not_found()
        rt = self.registry.lookup(group, version, rest[0])
        if rt is None:
            raise _page_not_found()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if rt.plural == "namespaces" and rt.group == "":
            namespace = None
        # cluster-scoped under a namespace, or one namespaced object without its namespace
        elif rt.namespaced != (namespace is not None) and (not rt.namespaced or name is not None):
            raise _page_not_found()
        if subresource is not None and not self._has_subresource(rt, subresource):
            raise _page_not_found()
        return Target(rt, namespace, name, subresource, watch)

    @staticmethod
    def _has_subresource(rt: ResourceType, subresource: str) -> bool:
        if subresource == "log":
            return rt.group == "" and rt.plural == "pods"
        return subresource in rt.subresources

    # -- verbs -----------------------------------------------------------------------------
    async def _serve(self, request: web.Request, target: Target) -> web.StreamResponse:
        method = request.method
        query = request.query
        if target.watch or (method == "GET" and _parse_bool(query, "watch")):
            if method != "GET" or target.subresource is not None:
                raise self._method_not_allowed()
            return await self._watch(request, target)
        if target.subresource == "log":
            if method != "GET":
                raise self._method_not_allowed()
            return await self._logs(request, target)
        if target.subresource == "scale":
            return await self._scale(request, target)
        if target.subresource == "binding":
            if method != "POST":
                raise self._method_not_allowed()
            return await self._bind(request, target)
        if target.name is None:
            if method == "GET":
                return self._list(request, target)
            if method == "POST":
                return await self._create(request, target)
            if method == "DELETE":
                return await self._delete_collection(request, target)
            raise self._method_not_allowed()
        if method == "GET":
            return self._get(request, target)
        if method == "PUT":
            return await self._update(request, target)
        if method == "PATCH":
            return await self._patch(request, target)
        if method == "DELETE" and target.subresource is None:
            return await self._delete(request, target)
        raise self._method_not_allowed()

    @staticmethod
    def _method_not_allowed() -> ApiError:
        return ApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )

    def _render_one(self, request: web.Request, rt: ResourceType, obj: JSON) -> JSON:
        rendering, meta_version = _rendering(request.headers.get("Accept", ""))
        if rendering is Rendering.TABLE:
            table = to_table(
                rt,
                [obj],
                resource_version=str(obj.get("metadata", {}).get("resourceVersion", "")),
                continue_token=None,
                include_object=request.query.get("includeObject") or "Metadata",
            )
            table["apiVersion"] = f"meta.k8s.io/{meta_version}"
            return dict(table)
        if rendering is Rendering.METADATA:
            return _partial_metadata(obj, meta_version)
        return obj

    def _get(self, request: web.Request, target: Target) -> web.Response:
        assert target.name is not None
        obj = self.store.get(target.rt, target.namespace, target.name)
        return _json_response(self._render_one(request, target.rt, obj))

    def _list(self, request: web.Request, target: Target) -> web.Response:
        query = request.query
        rt = target.rt
        limit = _parse_int(query, "limit")
        result = self.store.list(
            rt,
            target.namespace,
            label_selector=query.get("labelSelector") or None,
            field_selector=query.get("fieldSelector") or None,
            limit=limit if limit and limit > 0 else None,
            continue_token=query.get("continue") or None,
        )
        resource_version = str(result.resource_version)
        rendering, meta_version = _rendering(request.headers.get("Accept", ""))
        if rendering is Rendering.TABLE:
            body = to_table(
                rt,
                list(result.items),
                resource_version=resource_version,
                continue_token=result.continue_token or None,
                include_object=query.get("includeObject") or "Metadata",
                remaining_item_count=result.remaining_item_count,
            )
            body["apiVersion"] = f"meta.k8s.io/{meta_version}"
            return _json_response(body)
        metadata: JSON = {"resourceVersion": resource_version}
        if result.continue_token:
            metadata["continue"] = result.continue_token
        if result.remaining_item_count is not None:
            metadata["remainingItemCount"] = result.remaining_item_count
        if rendering is Rendering.METADATA:
            return _json_response(
                {
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": f"meta.k8s.io/{meta_version}",
                    "metadata": metadata,
                    "items": [_partial_metadata(item, meta_version) for item in result.items],
                }
            )
        return _json_response(
            {
                "kind": rt.list_kind,
                "apiVersion": rt.api_version,
                "metadata": metadata,
                "items": list(result.items),
            }
        )

    async def _read_object(self, request: web.Request, rt: ResourceType | None = None) -> JSON:
        raw = await request.read()
        media = _media_type(request)
        try:
            if media in ("application/yaml", "application/x-yaml", "text/yaml"):
                body = yaml.safe_load(raw)
            elif media in ("application/json", ""):
                body = json.loads(raw)
            else:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    f"{_UNKNOWN_FORMAT}application/json, application/yaml",
                )
        except (ValueError, yaml.YAMLError) as exc:
            raise _bad_request(
                f"the object provided is unrecognized (must be of type "
                f"{rt.kind if rt else 'Object'}): couldn't get version/kind; "
                f"json parse error: {exc}"
            ) from None
        if not isinstance(body, dict):
            raise _bad_request("the object provided is unrecognized: expected a JSON object")
        return body

    def _check_identity(self, body: JSON, rt: ResourceType) -> None:
        """kind/apiVersion default from the URL; a mismatch is a 400 as upstream."""
        api_version = body.get("apiVersion")
        kind = body.get("kind")
        if api_version and api_version != rt.api_version:
            raise _bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.api_version})"
            )
        if kind and kind != rt.kind:
            raise _bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
            )
        body["apiVersion"] = rt.api_version
        body["kind"] = rt.kind
        metadata = body.get("metadata")
        if metadata is None:
            body["metadata"] = {}
        elif not isinstance(metadata, dict):
            raise _bad_request("metadata must be an object")

    def _check_namespace(self, body: JSON, target: Target) -> None:
        metadata = body["metadata"]
        if not target.rt.namespaced:
            metadata.pop("namespace", None)
            return
        given = metadata.get("namespace")
        if given and given != target.namespace:
            raise _bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        metadata["namespace"] = target.namespace

    def _warnings(self, rt: ResourceType, obj: JSON) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict()
        try:
            texts = strategy_for(rt).warnings(obj)
        except Exception:  # warnings are advice; never fail a write over them
            log.exception("warnings for %s failed", rt.kind)
            texts = []
        for text in texts:
            headers.add("Warning", _warning_value(text))
        return headers

    async def _create(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        if rt.namespaced and target.namespace is None:
            raise self._method_not_allowed()
        body = await self._read_object(request, rt)
        self._check_identity(body, rt)
        self._check_namespace(body, target)
        dry_run = _dry_run(request.query.getall("dryRun", []))
        created = self.store.create(rt, target.namespace, body, dry_run=dry_run)
        return _json_response(
            self._render_one(request, rt, created), 201, self._warnings(rt, created)
        )

    async def _update(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        assert target.name is not None
        body = await self._read_object(request, rt)
        self._check_identity(body, rt)
        self._check_namespace(body, target)
        given = body["metadata"].get("name")
        if given and given != target.name:
            raise _bad_request(
                f"the name of the object ({given}) does not match the name on the URL "
                f"({target.name})"
            )
        body["metadata"]["name"] = target.name
        dry_run = _dry_run(request.query.getall("dryRun", []))
        updated = self.store.update(
            rt, target.namespace, target.name, body, subresource=target.subresource, dry_run=dry_run
        )
        headers = self._warnings(rt, updated) if target.subresource is None else None
        return _json_response(self._render_one(request, rt, updated), 200, headers)

    async def _patch(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        assert target.name is not None
        patch_type = _media_type(request)
        if patch_type not in _PATCH_TYPES:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types include: "
                f"{', '.join(_PATCH_TYPES)}",
            )
        body = await request.read()
        dry_run = _dry_run(request.query.getall("dryRun", []))
        status = 200
        try:
            patched = self.store.patch(
                rt,
                target.namespace,
                target.name,
                patch_type,
                body,
                subresource=target.subresource,
                dry_run=dry_run,
            )
        except ApiError as error:
            if not (
                error.code == 404
                and patch_type == patches.APPLY_PATCH
                and target.subresource is None
            ):
                raise
            # Server-side apply creates what is missing, when the patch code supports it (it
            # answers 415 while it does not, and kubectl then says SSA is unavailable).
            fresh = patches.apply_patch({}, patch_type, body, rt)
            self._check_identity(fresh, rt)
            fresh["metadata"].setdefault("name", target.name)
            self._check_namespace(fresh, target)
            patched = self.store.create(rt, target.namespace, fresh, dry_run=dry_run)
            status = 201
        headers = self._warnings(rt, patched) if target.subresource is None else None
        return _json_response(self._render_one(request, rt, patched), status, headers)

    async def _bind(self, request: web.Request, target: Target) -> web.Response:
        """POST pods/<name>/binding (BindingREST.Create): a v1 Binding naming a Node."""
        assert target.name is not None and target.namespace is not None
        body = await self._read_object(request)
        meta: JSON = body["metadata"] if isinstance(body.get("metadata"), dict) else {}
        if (meta.get("name") or target.name) != target.name:
            raise _bad_request("name in URL does not match name in Binding object")
        bound: JSON = body["target"] if isinstance(body.get("target"), dict) else {}
        causes: list[Cause] = []
        if bound.get("kind") not in (None, "", "Node"):
            causes.append(
                Cause(
                    "FieldValueNotSupported",
                    f'Unsupported value: "{bound.get("kind")}": supported values: "Node", ""',
                    "target.kind",
                )
            )
        if not bound.get("name"):
            causes.append(Cause("FieldValueRequired", "Required value", "target.name"))
        if causes:
            raise invalid("", "Binding", "bindings", target.name, causes)
        annotations: JSON = meta.get("annotations") or {}
        if not isinstance(annotations, dict):
            raise _bad_request("metadata.annotations must be an object")
        self.store.bind(
            target.namespace,
            target.name,
            str(bound["name"]),
            uid=str(meta["uid"]) if meta.get("uid") else None,
            annotations={str(k): str(v) for k, v in annotations.items()},
            dry_run=_dry_run(request.query.getall("dryRun", [])),
        )
        return _json_response(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "code": 201,
            },
            201,
        )

    async def _delete_options(self, request: web.Request) -> JSON:
        raw = await request.read()
        options: JSON = {}
        if raw.strip():
            try:
                parsed = json.loads(raw)
            except ValueError as exc:
                raise _bad_request(f"invalid DeleteOptions: {exc}") from None
            if isinstance(parsed, dict):
                options = parsed
        query = request.query
        if "propagationPolicy" in query:
            options["propagationPolicy"] = query["propagationPolicy"]
        grace = _parse_int(query, "gracePeriodSeconds")
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        orphan = _parse_bool(query, "orphanDependents")
        if orphan is not None:
            options["orphanDependents"] = orphan
        if query.getall("dryRun", []):
            options["dryRun"] = query.getall("dryRun")
        if options.get("propagationPolicy") is None and options.get("orphanDependents") is not None:
            options["propagationPolicy"] = "Orphan" if options["orphanDependents"] else "Background"
        return options

    async def _delete(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        assert target.name is not None
        options = await self._delete_options(request)
        dry_run = _dry_run(options.get("dryRun") or [])
        outcome = self.store.delete_detailed(
            rt,
            target.namespace,
            target.name,
            propagation_policy=options.get("propagationPolicy"),
            grace_period_seconds=options.get("gracePeriodSeconds"),
            preconditions=options.get("preconditions"),
            dry_run=dry_run,
        )
        result = outcome.object
        if dry_run or rt.key in _RETURNS_DELETED_OBJECT or not outcome.removed:
            return _json_response(self._render_one(request, rt, result))
        metadata = result.get("metadata", {})
        details: JSON = {"name": metadata.get("name", target.name)}
        if rt.group:
            details["group"] = rt.group
        details["kind"] = rt.plural
        if metadata.get("uid"):
            details["uid"] = metadata["uid"]
        return _json_response(_success(details))

    async def _delete_collection(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        if rt.namespaced and target.namespace is None:
            raise self._method_not_allowed()
        options = await self._delete_options(request)
        query = request.query
        deleted = self.store.delete_collection(
            rt,
            target.namespace,
            label_selector=query.get("labelSelector") or None,
            field_selector=query.get("fieldSelector") or None,
            propagation_policy=options.get("propagationPolicy"),
            dry_run=_dry_run(options.get("dryRun") or []),
        )
        return _json_response(
            {
                "kind": rt.list_kind,
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": deleted,
            }
        )

    # -- scale -----------------------------------------------------------------------------
    @staticmethod
    def _scale_of(rt: ResourceType, obj: JSON) -> JSON:
        """autoscaling/v1 Scale of a Deployment, ReplicaSet or a CRD with a scale subresource."""
        metadata = obj.get("metadata", {})
        scale_meta = {
            key: metadata[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in metadata
        }
        if rt.scale is not None:
            paths = rt.scale
            replicas = _path_get(obj, paths.spec_replicas_path)
            current = _path_get(obj, paths.status_replicas_path)
            selector = (
                _path_get(obj, paths.label_selector_path) if paths.label_selector_path else ""
            )
            status: JSON = {"replicas": int(current or 0)}
            if selector:
                status["selector"] = str(selector)
            spec: JSON = {"replicas": int(replicas)} if replicas is not None else {}
        else:
            spec = {"replicas": int((obj.get("spec") or {}).get("replicas", 1))}
            status = {
                "replicas": int((obj.get("status") or {}).get("replicas", 0)),
                "selector": selector_string((obj.get("spec") or {}).get("selector")),
            }
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": scale_meta,
            "spec": spec,
            "status": status,
        }

    async def _scale(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        assert target.name is not None
        method = request.method
        if method == "GET":
            return _json_response(
                self._scale_of(rt, self.store.get(rt, target.namespace, target.name))
            )
        if method not in ("PUT", "PATCH"):
            raise self._method_not_allowed()
        dry_run = _dry_run(request.query.getall("dryRun", []))
        if method == "PUT":
            wanted = await self._read_object(request)
            patch_type, patch_body = "", b""
        else:
            patch_type = _media_type(request)
            if patch_type not in _PATCH_TYPES[:3]:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    _UNKNOWN_FORMAT + ", ".join(_PATCH_TYPES[:3]),
                )
            patch_body = await request.read()
            wanted = {}
        for _attempt in range(5):
            current = self.store.get(rt, target.namespace, target.name)
            scale = self._scale_of(rt, current)
            if method == "PATCH":
                wanted = patches.apply_patch(scale, patch_type, patch_body, _SCALE_TYPE)
            replicas = (wanted.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise invalid(
                    "autoscaling",
                    "Scale",
                    "scales",
                    target.name,
                    [
                        Cause(
                            "FieldValueInvalid",
                            f"Invalid value: {replicas}: must be greater than or equal to 0",
                            "spec.replicas",
                        )
                    ],
                )
            given_rv = (wanted.get("metadata") or {}).get("resourceVersion")
            updated = copy.deepcopy(current)
            _path_set(
                updated, rt.scale.spec_replicas_path if rt.scale else ".spec.replicas", replicas
            )
            if given_rv:
                updated["metadata"] = {**current["metadata"], "resourceVersion": given_rv}
            try:
                result = self.store.update(
                    rt, target.namespace, target.name, updated, dry_run=dry_run
                )
            except ApiError as error:
                if error.code == 409 and not given_rv:
                    continue  # a concurrent write: re-read and apply again, as the real server does
                raise
            return _json_response(self._scale_of(rt, result))
        raise ApiError(
            409, "Conflict", f"Operation cannot be fulfilled on {rt.plural}: too many conflicts"
        )

    # -- watch -----------------------------------------------------------------------------
    async def _watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        query = request.query
        rt = target.rt
        loop = asyncio.get_running_loop()
        timeout = _parse_int(query, "timeoutSeconds")
        duration = (
            float(timeout)
            if timeout is not None and timeout > 0
            else 1800.0 * (1 + random.random())
        )
        bookmarks = bool(_parse_bool(query, "allowWatchBookmarks"))
        field_selector = query.get("fieldSelector") or ""
        if target.name is not None:
            by_name = f"metadata.name={target.name}"
            field_selector = f"{field_selector},{by_name}" if field_selector else by_name
        rendering, meta_version = _rendering(request.headers.get("Accept", ""))
        include_object = query.get("includeObject") or "Metadata"
        channel = _WatchChannel(loop, self.config.watch_queue_limit)
        early_error: JSON | None = None
        watch = None
        try:
            watch = self.store.watch(
                rt,
                target.namespace,
                channel.notify,
                resource_version=query.get("resourceVersion") or None,
                label_selector=query.get("labelSelector") or None,
                field_selector=field_selector or None,
                send_initial_events=_parse_bool(query, "sendInitialEvents"),
            )
        except ApiError as error:
            if error.code != 410:
                raise
            # kube-apiserver starts the stream and reports "too old" as an ERROR event.
            early_error = error.status()
        finally:
            channel.initial = False
        self._channels.add(channel)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        last_rv = query.get("resourceVersion") or "0"

        def encode(event: WatchEvent) -> bytes:
            obj = event.object
            if event.type not in ("BOOKMARK", "ERROR"):
                if rendering is Rendering.TABLE:
                    obj = to_table(
                        rt,
                        [obj],
                        resource_version=str(obj.get("metadata", {}).get("resourceVersion", "")),
                        continue_token=None,
                        include_object=include_object,
                    )
                    obj["apiVersion"] = f"meta.k8s.io/{meta_version}"
                elif rendering is Rendering.METADATA:
                    obj = _partial_metadata(obj, meta_version)
            return _dumps({"type": event.type, "object": obj}) + b"\n"

        try:
            await response.prepare(request)
            if early_error is not None:
                await response.write(_dumps({"type": "ERROR", "object": early_error}) + b"\n")
                return response
            deadline = loop.time() + duration
            next_bookmark = (
                loop.time() + self.config.bookmark_interval if bookmarks else float("inf")
            )
            while True:
                events = channel.drain()
                if events:
                    for event in events:
                        rv = (
                            event.object.get("metadata", {}).get("resourceVersion")
                            if event.object
                            else None
                        )
                        if rv and event.type != "ERROR":
                            last_rv = rv
                    await response.write(b"".join(encode(event) for event in events))
                if channel.overflowed:
                    status = _status(
                        410,
                        "Expired",
                        "the watch was closed because its client fell behind; "
                        f"restart it from resourceVersion {last_rv}",
                    )
                    await response.write(_dumps({"type": "ERROR", "object": status}) + b"\n")
                    break
                if channel.closed or self._closing:
                    break
                now = loop.time()
                if now >= deadline:
                    break
                if now >= next_bookmark and watch is not None:
                    # The store emits it under its lock, so it follows every event before it.
                    watch.bookmark()
                    next_bookmark = now + self.config.bookmark_interval
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        channel.wakeup.wait(), min(deadline, next_bookmark) - now
                    )
        except (ConnectionResetError, ConnectionError):
            pass  # the client went away
        finally:
            self._channels.discard(channel)
            channel.close()
            if watch is not None:
                watch.close()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write_eof()
        return response

    # -- pod logs --------------------------------------------------------------------------
    async def _logs(self, request: web.Request, target: Target) -> web.StreamResponse:
        assert target.name is not None and target.namespace is not None
        query = request.query
        pod = self.store.get(target.rt, target.namespace, target.name)
        spec = pod.get("spec") or {}
        container = _log_container(pod, query.get("container") or "")
        follow = bool(_parse_bool(query, "follow"))
        previous = bool(_parse_bool(query, "previous"))
        timestamps = bool(_parse_bool(query, "timestamps"))
        tail = _parse_int(query, "tailLines")
        limit_bytes = _parse_int(query, "limitBytes")
        since_seconds = _parse_int(query, "sinceSeconds")
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
                raise _bad_request(f'invalid sinceTime "{since_time}"') from None
        if not spec.get("nodeName"):
            raise _bad_request(f"pod {target.name} does not have a host assigned")
        run = self._log_run(pod, container, previous)
        path = self.pod_logs.path(target.namespace, target.name, container, run)
        try:
            data, offset = self.pod_logs.read(
                path,
                tail=tail,
                timestamps=timestamps,
                since=since,
                limit_bytes=limit_bytes,
                follow=follow,
            )
        except FileNotFoundError:
            raise _bad_request(
                f'container "{container}" in pod "{target.name}" is waiting to start - no logs yet'
            ) from None
        if not follow or previous:
            return web.Response(body=data, content_type="text/plain")
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        budget = None if limit_bytes is None else limit_bytes - len(data)
        uid = pod.get("metadata", {}).get("uid")
        cursor = LogCursor(path, offset)
        try:
            if data:
                await response.write(data)
            while (budget is None or budget > 0) and not self._closing:
                ended = self._log_follow_ended(target, uid, container, run)
                lines = cursor.read_new()
                if lines:
                    chunk = render(
                        lines,
                        timestamps=timestamps,
                        fallback_time=datetime.now(UTC),
                        since=since,
                    )
                    if budget is not None:
                        chunk = chunk[:budget]
                        budget -= len(chunk)
                    if chunk:
                        await response.write(chunk)
                    continue
                if ended:
                    break
                await asyncio.sleep(self.config.log_poll_interval)
        except (ConnectionResetError, ConnectionError):
            pass
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write_eof()
        return response

    def _log_run(self, pod: JSON, container: str, previous: bool) -> int:
        """Which <restartCount>.log to read, following the kubelet's validateContainerLogStatus."""
        metadata = pod["metadata"]
        namespace, name = metadata.get("namespace", ""), metadata["name"]
        runs = self.pod_logs.restart_counts(namespace, name, container)
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
                raise _bad_request(
                    f'container "{container}" in pod "{name}" is waiting to start: {reason}'
                )
            return runs[-1]  # crash-looping: both modes show the run that just ended
        if previous:
            if len(runs) < 2 or (status is not None and last_terminated is None):
                raise _bad_request(
                    f'previous terminated container "{container}" in pod "{name}" not found'
                )
            return runs[-2]
        if not runs:
            if status is None:
                raise _bad_request(
                    f'container "{container}" in pod "{name}" is waiting to start: '
                    "ContainerCreating"
                )
            raise _bad_request(
                f'container "{container}" in pod "{name}" is waiting to start - no logs yet'
            )
        return runs[-1]

    def _log_follow_ended(self, target: Target, uid: str | None, container: str, run: int) -> bool:
        """Following stops when the pod is gone, the container restarted, or it terminated."""
        assert target.name is not None and target.namespace is not None
        try:
            pod = self.store.get(target.rt, target.namespace, target.name)
        except ApiError:
            return True
        if pod.get("metadata", {}).get("uid") != uid:
            return True
        runs = self.pod_logs.restart_counts(target.namespace, target.name, container)
        if runs and runs[-1] > run:
            return True
        status = _container_status(pod, container)
        state = (status or {}).get("state") or {}
        return state.get("terminated") is not None


def _path_get(obj: JSON, path: str) -> Any:
    """The value at a CRD scale path like ".spec.replicas" (None when absent)."""
    value: Any = obj
    for key in path.strip(".").split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _path_set(obj: JSON, path: str, value: Any) -> None:
    keys = path.strip(".").split(".")
    node = obj
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = value


# what kube-apiserver answers (the "@" of the Accept header is not valid in a media type)
_OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _openapi_v2(accept: str) -> web.Response:
    """An empty OpenAPI v2 document. kubectl 1.29+ validates with v3; it falls back to v2 only
    for kinds v3 does not describe (an unknown kind), and a kind missing from v2 means "skip
    client-side validation", so kubectl goes on to the real error: `no matches for kind`.
    An empty protobuf Document is zero bytes."""
    if "protobuf" in accept:
        return web.Response(body=b"", headers={"Content-Type": _OPENAPI_V2_PROTOBUF})
    document = {"swagger": "2.0", "info": {"title": "Kubernetes", "version": SERVER_VERSION}}
    return _json_response(document | {"paths": {}, "definitions": {}})


def _partial_metadata(obj: JSON, meta_version: str) -> JSON:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{meta_version or 'v1'}",
        "metadata": obj.get("metadata", {}),
    }


def _container_status(pod: JSON, container: str) -> JSON | None:
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
            raise _bad_request(f"a container name must be specified for pod {name}")
        raise _bad_request(
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(every)}]"
        )
    if requested not in every:
        raise _bad_request(f"container {requested} is not valid for pod {name}")
    return requested
