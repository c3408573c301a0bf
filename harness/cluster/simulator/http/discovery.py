"""The documents a client reads before it asks for resources: /version, the root path list,
/api, /apis and their group and resource lists (plain v1 JSON), and OpenAPI v2 and v3.

Documents are served from a byte cache keyed on the registry's generation, so a new CRD is
seen at once and an unchanged document is encoded once.
"""

from __future__ import annotations

import platform
import re
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web

from harness.apimachinery.meta import JSON
from harness.cluster.simulator.http.wire import dumps, json_response, page_not_found
from harness.cluster.simulator.registry import Registry

__all__ = ["SERVER_VERSION", "Discovery", "server_version"]

#: The Kubernetes release the simulator reports; kubectl dispatchers pick their client by its
#: minor. 1.31 because kubectl 1.32+ sends protobuf bodies from its typed clients (`kubectl
#: create namespace|configmap|secret ...`), which the simulator cannot decode (it answers 415).
SERVER_VERSION = "v1.31.9"

_ROOT_PATHS = ["/api", "/apis", "/healthz", "/livez", "/openapi/v3", "/readyz", "/version"]
# what kube-apiserver answers (the "@" of the Accept header is not valid in a media type)
_OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_CACHE_LIMIT = 512  # documents kept before the cache starts afresh


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
    return platform.machine().lower()


class Discovery:
    """The discovery and OpenAPI documents of one registry, each encoded once per generation."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._cache: dict[tuple[str, int], bytes] = {}

    def version(self) -> web.Response:
        return json_response(server_version())

    def root(self) -> web.Response:
        """GET /: the paths this server serves."""
        return json_response({"paths": list(_ROOT_PATHS)})

    def core_versions(self, host: str) -> web.Response:
        """GET /api: the APIVersions of the core group, addressed to `host`."""
        registry = self._registry
        return self._cached(("/api", registry.generation), lambda: registry.api_versions(host))

    def groups(self) -> web.Response:
        """GET /apis: the APIGroupList."""
        registry = self._registry
        return self._cached(("/apis", registry.generation), registry.api_group_list)

    def group(self, group: str) -> web.Response:
        """GET /apis/<group>: one APIGroup."""
        document = self._registry.api_group(group)
        if document is None:
            raise page_not_found()
        return json_response(document)

    def resources(self, group: str, version: str) -> web.Response:
        """GET /api/v1 or /apis/<group>/<version>: the APIResourceList."""
        registry = self._registry
        return self._cached(
            (f"/{group}/{version}", registry.generation),
            lambda: registry.api_resource_list(group, version),
        )

    def openapi(self, parts: list[str], accept: str) -> web.Response:
        """GET /openapi/v2 (an empty document) and /openapi/v3[/<api/v1|apis/g/v>]."""
        if parts[1:] == ["v2"]:
            return _openapi_v2(accept)
        if len(parts) < 2 or parts[1] != "v3":
            raise page_not_found()
        # Imported on first use: the schemas behind it are big, and startup should be fast.
        from harness.cluster.simulator.openapi import openapi_v3_document, openapi_v3_root

        registry = self._registry
        generation = registry.generation
        if len(parts) == 2:
            return self._cached(("/openapi/v3", generation), lambda: openapi_v3_root(registry))
        rest = parts[2:]
        if rest[0] == "api" and len(rest) == 2:
            group, version = "", rest[1]
        elif rest[0] == "apis" and len(rest) == 3:
            group, version = rest[1], rest[2]
        else:
            raise page_not_found()
        key = (f"/openapi/v3/{group}/{version}", generation)
        if key not in self._cache:
            document = openapi_v3_document(registry, group, version)
            if document is None:
                raise page_not_found()
            self._cache[key] = dumps(document)
        return web.Response(body=self._cache[key], content_type="application/json")

    def _cached(self, key: tuple[str, int], build: Callable[[], Any]) -> web.Response:
        body = self._cache.get(key)
        if body is None:
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            body = self._cache[key] = dumps(build())
        return web.Response(body=body, content_type="application/json")


def _openapi_v2(accept: str) -> web.Response:
    """An empty OpenAPI v2 document. kubectl 1.29+ validates with v3; it falls back to v2 only
    for kinds v3 does not describe (an unknown kind), and a kind missing from v2 means "skip
    client-side validation", so kubectl goes on to the real error: `no matches for kind`.
    An empty protobuf Document is zero bytes."""
    if "protobuf" in accept:
        return web.Response(body=b"", headers={"Content-Type": _OPENAPI_V2_PROTOBUF})
    document = {"swagger": "2.0", "info": {"title": "Kubernetes", "version": SERVER_VERSION}}
    return json_response(document | {"paths": {}, "definitions": {}})
