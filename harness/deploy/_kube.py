"""JSON over the Kubernetes API for the deploy strategies: objects as plain dicts.

Only the official client's transport (kubeconfig, auth, TLS) is used, so the strategies run
unchanged against the simulator, kind or EKS; answers above 399 become KubeApiError.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, ManifestRejectedError

__all__ = ["JSON", "KubeApi", "KubeApiError", "PatchKind"]

JSON = dict[str, Any]


class PatchKind:
    """The Content-Type of each patch flavour the API server accepts."""

    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"


#: kind -> (API group path, plural); only what the strategies touch
_RESOURCES: Mapping[str, tuple[str, str]] = {
    "Deployment": ("/apis/apps/v1", "deployments"),
    "ReplicaSet": ("/apis/apps/v1", "replicasets"),
    "Pod": ("/api/v1", "pods"),
    "Service": ("/api/v1", "services"),
    "Event": ("/api/v1", "events"),
    "EndpointSlice": ("/apis/discovery.k8s.io/v1", "endpointslices"),
}


class KubeApiError(HarnessError):
    """The API server answered with an error Status (or could not be reached)."""

    def __init__(self, method: str, path: str, status: int, reason: str, message: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.api_message = message
        super().__init__(f"{method} {path}: {status} {reason}: {message}".rstrip(": "))


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes


class KubeApi:
    """A thread-safe JSON client of one cluster, from a kubeconfig (and optional context)."""

    def __init__(self, kubeconfig: str | Path, context: str | None = None) -> None:
        from kubernetes import config

        self.kubeconfig = Path(kubeconfig)
        factory: Any = config.new_client_from_config
        self._client: Any = factory(config_file=str(kubeconfig), context=context)
        self._lock = threading.Lock()

    @property
    def server(self) -> str:
        return str(self._client.configuration.host)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> KubeApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw --------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float = 15.0,
    ) -> _Answer:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        params = list((query or {}).items())
        with self._lock:
            serialized = self._client.param_serialize(
                method=method,
                resource_path=path,
                query_params=params,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
        from kubernetes.client.exceptions import ApiException

        try:
            response = self._client.call_api(*serialized, _request_timeout=timeout)
            payload = response.read()
        except ApiException as exc:
            return _Answer(
                int(exc.status or 0),
                (exc.body or b"") if isinstance(exc.body, bytes) else str(exc.body or "").encode(),
            )
        except Exception as exc:  # urllib3 / socket errors: the API is unreachable
            raise KubeApiError(
                method, path, 0, "unreachable", f"{type(exc).__name__}: {exc}"
            ) from exc
        return _Answer(int(response.status), payload or b"")

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> JSON:
        answer = self.request(method, path, query=query, body=body, content_type=content_type)
        try:
            document = json.loads(answer.body) if answer.body else {}
        except ValueError:
            document = {"message": answer.body.decode(errors="replace")[:500]}
        if answer.status >= 400:
            status = document if isinstance(document, dict) else {}
            raise KubeApiError(
                method,
                path,
                answer.status,
                str(status.get("reason", "")),
                str(status.get("message", "")),
            )
        return document if isinstance(document, dict) else {}

    # -- typed paths --------------------------------------------------------------------------
    @staticmethod
    def path(kind: str, namespace: str, name: str | None = None, sub: str | None = None) -> str:
        group, plural = _RESOURCES[kind]
        path = f"{group}/namespaces/{urllib.parse.quote(namespace, safe='')}/{plural}"
        if name is not None:
            path += "/" + urllib.parse.quote(name, safe="")
        if sub:
            path += "/" + sub
        return path

    def get(self, kind: str, namespace: str, name: str) -> JSON:
        return self.call("GET", self.path(kind, namespace, name))

    def find(self, kind: str, namespace: str, name: str) -> JSON | None:
        try:
            return self.get(kind, namespace, name)
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, kind: str, namespace: str, *, labels: str = "", fields: str = "") -> list[JSON]:
        query = {}
        if labels:
            query["labelSelector"] = labels
        if fields:
            query["fieldSelector"] = fields
        answer = self.call("GET", self.path(kind, namespace), query=query)
        return [item for item in answer.get("items") or [] if isinstance(item, dict)]

    def create(self, kind: str, namespace: str, document: Mapping[str, Any]) -> JSON:
        try:
            return self.call("POST", self.path(kind, namespace), body=dict(document))
        except KubeApiError as exc:
            raise _rejected(exc, kind, document) from exc

    def patch(
        self,
        kind: str,
        namespace: str,
        name: str,
        patch: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        patch_kind: str = PatchKind.MERGE,
        sub: str | None = None,
    ) -> JSON:
        body: Any = [dict(op) for op in patch] if isinstance(patch, Sequence) else dict(patch)
        try:
            return self.call(
                "PATCH", self.path(kind, namespace, name, sub), body=body, content_type=patch_kind
            )
        except KubeApiError as exc:
            raise _rejected(exc, kind, {"metadata": {"name": name}}) from exc

    def delete(self, kind: str, namespace: str, name: str) -> None:
        try:
            self.call(
                "DELETE",
                self.path(kind, namespace, name),
                body={"propagationPolicy": "Background"},
            )
        except KubeApiError as exc:
            if exc.status != 404:
                raise

    def log(self, namespace: str, pod: str, container: str, *, previous: bool = False) -> str:
        """The container's log (of its previous run when `previous`); '' when there is none."""
        answer = self.request(
            "GET",
            self.path("Pod", namespace, pod, "log"),
            query={"container": container, "previous": "true" if previous else "false"},
        )
        if answer.status >= 400:
            return ""
        return answer.body.decode(errors="replace")

    def recent_requests(self) -> tuple[JSON, ...] | None:
        """What the API server was recently asked (the simulator's GET /debug/requests), or
        None where the cluster does not expose it (a real kube-apiserver keeps that in its
        audit log, which a client cannot read)."""
        answer = self.request("GET", "/debug/requests")
        if answer.status != 200:
            return None
        try:
            items = json.loads(answer.body).get("items")
        except (ValueError, AttributeError):
            return None
        if not isinstance(items, list):
            return None
        return tuple(item for item in items if isinstance(item, dict))


def _rejected(exc: KubeApiError, kind: str, document: Mapping[str, Any]) -> HarnessError:
    """A 400/422 means the object itself is wrong: a ManifestRejectedError with its causes."""
    if exc.status not in (400, 422):
        return exc
    name = (document.get("metadata") or {}).get("name", "?")
    causes = [exc.api_message] if exc.api_message else []
    return ManifestRejectedError(
        resource=f"{kind} {name}",
        source="harness.deploy",
        status=exc.status,
        reason=exc.reason or "Invalid",
        causes=causes,
    )
