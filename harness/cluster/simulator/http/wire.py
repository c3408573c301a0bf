"""What every handler reads from a request and writes back, as kube-apiserver does: the resource
a URL names (Target), query parameters, request bodies, JSON responses and metav1.Status bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web
from multidict import CIMultiDict, MultiMapping

from harness.apimachinery.meta import JSON
from harness.cluster.simulator import patch as patches
from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.registry import ResourceType

__all__ = [
    "PATCH_TYPES",
    "UNKNOWN_FORMAT",
    "Target",
    "bad_request",
    "dry_run",
    "dumps",
    "error_response",
    "json_response",
    "media_type",
    "method_not_allowed",
    "page_not_found",
    "parse_bool",
    "parse_int",
    "read_object",
    "status_body",
    "success_body",
]

_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})
_PAGE_NOT_FOUND = "the server could not find the requested resource"

UNKNOWN_FORMAT = (
    "the body of the request was in an unknown format - accepted media types include: "
)
#: the PATCH content types, in the order a 415 lists them
PATCH_TYPES = (
    patches.JSON_PATCH,
    patches.MERGE_PATCH,
    patches.STRATEGIC_MERGE_PATCH,
    patches.APPLY_PATCH,
)


@dataclass(frozen=True)
class Target:
    """A resource request, parsed from the URL as kube-apiserver's RequestInfoFactory does."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    watch: bool


# -- responses ------------------------------------------------------------------------------
def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def status_body(code: int, reason: str, message: str, details: JSON | None = None) -> JSON:
    """A Failure metav1.Status."""
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


def success_body(details: JSON) -> JSON:
    """A Success metav1.Status, as a DELETE of a kind that does not return the object answers."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


def json_response(
    body: Any, status: int = 200, headers: CIMultiDict[str] | None = None
) -> web.Response:
    response = web.Response(body=dumps(body), status=status, content_type="application/json")
    if headers:
        for key, value in headers.items():
            response.headers.add(key, value)
    return response


def error_response(error: ApiError) -> web.Response:
    body = error.status()
    if error.code == 404 and error.message == _PAGE_NOT_FOUND:
        body = status_body(
            404,
            "NotFound",
            error.message,
            {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]},
        )
    return json_response(body, error.code)


# -- errors ---------------------------------------------------------------------------------
def page_not_found() -> ApiError:
    # What client-go reports for kube-apiserver's plain "404 page not found".
    return ApiError(404, "NotFound", _PAGE_NOT_FOUND)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed() -> ApiError:
    return ApiError(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    )


# -- query parameters -----------------------------------------------------------------------
def parse_bool(query: MultiMapping[str], name: str) -> bool | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise bad_request(f'invalid value "{value}" for boolean query parameter {name}')


def parse_int(query: MultiMapping[str], name: str) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f'invalid value "{value}" for integer query parameter {name}') from None


def dry_run(values: Iterable[str]) -> bool:
    chosen = [v for v in values if v]
    for value in chosen:
        if value != "All":
            raise bad_request(f'Invalid dry run value: "{value}"; only "All" is supported')
    return bool(chosen)


# -- bodies ---------------------------------------------------------------------------------
def media_type(request: web.Request) -> str:
    return request.headers.get("Content-Type", "application/json").split(";", 1)[0].strip().lower()


async def read_object(request: web.Request, rt: ResourceType | None = None) -> JSON:
    """The request body as a JSON object (JSON or YAML); 415 for another media type."""
    raw = await request.read()
    media = media_type(request)
    try:
        if media in ("application/yaml", "application/x-yaml", "text/yaml"):
            body = yaml.safe_load(raw)
        elif media in ("application/json", ""):
            body = json.loads(raw)
        else:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"{UNKNOWN_FORMAT}application/json, application/yaml",
            )
    except (ValueError, yaml.YAMLError) as exc:
        raise bad_request(
            f"the object provided is unrecognized (must be of type "
            f"{rt.kind if rt else 'Object'}): couldn't get version/kind; "
            f"json parse error: {exc}"
        ) from None
    if not isinstance(body, dict):
        raise bad_request("the object provided is unrecognized: expected a JSON object")
    return body
