"""The simulator's API server: authentication, health, and routing each request to its handler.

Routes, as kube-apiserver lays them out:
    /healthz /livez /readyz                      no credentials needed (anonymous health checks)
    /version                                     server version
    /api  /apis  /apis/<g>  /api/v1  /apis/<g>/<v>          discovery (plain v1 JSON)
    /openapi/v3  /openapi/v3/<api|apis/g>/<v>              OpenAPI v3 (v2: an empty document)
    /api/v1[/watch][/namespaces/<ns>]/<resource>[/<name>[/<subresource>]]
    /apis/<g>/<v>[/watch][/namespaces/<ns>]/<resource>[/<name>[/<subresource>]]
    /debug/requests                              the recent requests (authenticated)
A wrong or missing bearer token is a 401 Status everywhere else; a presented but wrong token
is a 401 on the health paths too, as with a real server.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections import deque
from typing import Any

from aiohttp import web

from harness.cluster.podlogs import PodLogs
from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.http import subresources, verbs
from harness.cluster.simulator.http.discovery import Discovery
from harness.cluster.simulator.http.logs import PodLogStreams
from harness.cluster.simulator.http.startup import ServerConfig
from harness.cluster.simulator.http.watchstream import WatchStreams
from harness.cluster.simulator.http.wire import (
    Target,
    error_response,
    json_response,
    method_not_allowed,
    page_not_found,
    parse_bool,
    status_body,
)
from harness.cluster.simulator.registry import Registry
from harness.cluster.simulator.store import Store

__all__ = ["ApiServer"]

log = logging.getLogger("harness.simulator.server")
_RECENT = 1000  # requests kept for /debug/requests

_HEALTH_PATHS = ("/healthz", "/livez", "/readyz")
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


class ApiServer:
    """One simulator's API: `application()` builds the aiohttp app around a Store."""

    def __init__(self, store: Store, config: ServerConfig) -> None:
        self.store = store
        self.registry: Registry = store.registry
        self.config = config
        self.pod_logs = PodLogs(config.logs_dir)
        self._token = config.token.encode()
        self._ready = False
        self._discovery = Discovery(self.registry)
        self._watches = WatchStreams(store, config)
        self._logs = PodLogStreams(store, self.pod_logs, config.log_poll_interval)
        # The recent requests, served at /debug/requests (authenticated) so a failed deploy
        # can save what the cluster was asked; query strings only, never headers or bodies.
        self._recent: deque[dict[str, Any]] = deque(maxlen=_RECENT)

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
        self._logs.close()
        self._watches.close()

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
                return json_response({"kind": "RequestLog", "items": self.recent_requests()})
            return await self._route(request)
        except ApiError as error:
            return error_response(error)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.exception("internal error serving %s %s", request.method, path)
            return json_response(
                status_body(500, "InternalError", f"Internal error occurred: {exc}"), 500
            )

    # -- authentication and health ---------------------------------------------------------
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
        return json_response(status_body(401, "Unauthorized", "Unauthorized"), 401)

    def _health(self, path: str) -> web.Response:
        if path.startswith("/readyz") and not self._ready:
            return web.Response(
                status=500, text="[-]simulator-ready failed: not ready yet\nreadyz check failed\n"
            )
        return web.Response(text="ok", content_type="text/plain")

    # -- routing ---------------------------------------------------------------------------
    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in ("/version", "/version/"):
            return self._discovery.version()
        parts = [p for p in path.split("/") if p]
        if not parts:
            return self._discovery.root()
        head = parts[0]
        if head == "openapi":
            return self._discovery.openapi(parts, request.headers.get("Accept", ""))
        if head == "api":
            if len(parts) == 1:
                return self._discovery.core_versions(request.host)
            group, version, rest = "", parts[1], parts[2:]
        elif head == "apis":
            if len(parts) == 1:
                return self._discovery.groups()
            if len(parts) == 2:
                return self._discovery.group(parts[1])
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise page_not_found()
        if version not in self.registry.groups().get(group, []):
            raise page_not_found()
        if not rest:
            return self._discovery.resources(group, version)
        target = self._target(group, version, rest)
        return await self._serve(request, target)

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        watch = False
        if rest[0] == "watch":
            watch, rest = True, rest[1:]
            if not rest:
                raise page_not_found()
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) > 1:
            namespace = rest[1]
            if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
                rest = rest[2:]
        if len(rest) > 3:
            raise page_not_found()
        rt = self.registry.lookup(group, version, rest[0])
        if rt is None:
            raise page_not_found()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if rt.plural == "namespaces" and rt.group == "":
            namespace = None
        # cluster-scoped under a namespace, or one namespaced object without its namespace
        elif rt.namespaced != (namespace is not None) and (not rt.namespaced or name is not None):
            raise page_not_found()
        if subresource is not None and not subresources.has_subresource(rt, subresource):
            raise page_not_found()
        return Target(rt, namespace, name, subresource, watch)

    async def _serve(self, request: web.Request, target: Target) -> web.StreamResponse:
        """Hand a resource request to the handler of its verb or subresource."""
        method = request.method
        store = self.store
        if target.watch or (method == "GET" and parse_bool(request.query, "watch")):
            if method != "GET" or target.subresource is not None:
                raise method_not_allowed()
            return await self._watches.serve(request, target)
        if target.subresource == "log":
            if method != "GET":
                raise method_not_allowed()
            return await self._logs.serve(request, target)
        if target.subresource == "scale":
            return await subresources.scale(store, request, target)
        if target.subresource == "binding":
            if method != "POST":
                raise method_not_allowed()
            return await subresources.bind(store, request, target)
        if target.name is None:
            if method == "GET":
                return verbs.list_objects(store, request, target)
            if method == "POST":
                return await verbs.create_object(store, request, target)
            if method == "DELETE":
                return await verbs.delete_collection(store, request, target)
            raise method_not_allowed()
        if method == "GET":
            return verbs.get_object(store, request, target)
        if method == "PUT":
            return await verbs.update_object(store, request, target)
        if method == "PATCH":
            return await verbs.patch_object(store, request, target)
        if method == "DELETE" and target.subresource is None:
            return await verbs.delete_object(store, request, target)
        raise method_not_allowed()
