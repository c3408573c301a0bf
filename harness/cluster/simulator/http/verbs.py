"""The REST verbs on objects and collections: get, list, create, update, patch, delete and
deletecollection, each a request checked and decoded, handed to the Store, and its answer rendered.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web
from multidict import CIMultiDict

from harness.apimachinery.meta import JSON, meta
from harness.cluster.simulator import patch as patches
from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.http.negotiation import (
    Rendering,
    partial_metadata,
    render_one,
    rendering,
)
from harness.cluster.simulator.http.wire import (
    PATCH_TYPES,
    UNKNOWN_FORMAT,
    Target,
    bad_request,
    dry_run,
    json_response,
    media_type,
    method_not_allowed,
    parse_bool,
    parse_int,
    read_object,
    success_body,
)
from harness.cluster.simulator.registry import ResourceType
from harness.cluster.simulator.store import Store
from harness.cluster.simulator.strategy import strategy_for
from harness.cluster.simulator.tables import to_table

__all__ = [
    "create_object",
    "delete_collection",
    "delete_object",
    "get_object",
    "list_objects",
    "patch_object",
    "update_object",
]

log = logging.getLogger("harness.simulator.server")

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


# -- reads ----------------------------------------------------------------------------------
def get_object(store: Store, request: web.Request, target: Target) -> web.Response:
    assert target.name is not None
    obj = store.get(target.rt, target.namespace, target.name)
    return json_response(render_one(request, target.rt, obj))


def list_objects(store: Store, request: web.Request, target: Target) -> web.Response:
    query = request.query
    rt = target.rt
    limit = parse_int(query, "limit")
    result = store.list(
        rt,
        target.namespace,
        label_selector=query.get("labelSelector") or None,
        field_selector=query.get("fieldSelector") or None,
        limit=limit if limit and limit > 0 else None,
        continue_token=query.get("continue") or None,
    )
    resource_version = str(result.resource_version)
    chosen, meta_version = rendering(request.headers.get("Accept", ""))
    if chosen is Rendering.TABLE:
        body = to_table(
            rt,
            list(result.items),
            resource_version=resource_version,
            continue_token=result.continue_token or None,
            include_object=query.get("includeObject") or "Metadata",
            remaining_item_count=result.remaining_item_count,
        )
        body["apiVersion"] = f"meta.k8s.io/{meta_version}"
        return json_response(body)
    metadata: JSON = {"resourceVersion": resource_version}
    if result.continue_token:
        metadata["continue"] = result.continue_token
    if result.remaining_item_count is not None:
        metadata["remainingItemCount"] = result.remaining_item_count
    if chosen is Rendering.METADATA:
        return json_response(
            {
                "kind": "PartialObjectMetadataList",
                "apiVersion": f"meta.k8s.io/{meta_version}",
                "metadata": metadata,
                "items": [partial_metadata(item, meta_version) for item in result.items],
            }
        )
    return json_response(
        {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": metadata,
            "items": list(result.items),
        }
    )


# -- writes ---------------------------------------------------------------------------------
def _check_identity(body: JSON, rt: ResourceType) -> None:
    """kind/apiVersion default from the URL; a mismatch is a 400 as upstream."""
    api_version = body.get("apiVersion")
    kind = body.get("kind")
    if api_version and api_version != rt.api_version:
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({rt.api_version})"
        )
    if kind and kind != rt.kind:
        raise bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
        )
    body["apiVersion"] = rt.api_version
    body["kind"] = rt.kind
    metadata = body.get("metadata")
    if metadata is None:
        body["metadata"] = {}
    elif not isinstance(metadata, dict):
        raise bad_request("metadata must be an object")


def _check_namespace(body: JSON, target: Target) -> None:
    metadata = body["metadata"]
    if not target.rt.namespaced:
        metadata.pop("namespace", None)
        return
    given = metadata.get("namespace")
    if given and given != target.namespace:
        raise bad_request(
            "the namespace of the provided object does not match the namespace sent on the "
            "request"
        )
    metadata["namespace"] = target.namespace


def _warning_value(text: str) -> str:
    """RFC 7234 warn-value as kube-apiserver writes it: code 299, agent "-", quoted text."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'


def _warnings(rt: ResourceType, obj: JSON) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict()
    try:
        texts = strategy_for(rt).warnings(obj)
    except Exception:  # warnings are advice; never fail a write over them
        log.exception("warnings for %s failed", rt.kind)
        texts = []
    for text in texts:
        headers.add("Warning", _warning_value(text))
    return headers


async def create_object(store: Store, request: web.Request, target: Target) -> web.Response:
    rt = target.rt
    if rt.namespaced and target.namespace is None:
        raise method_not_allowed()
    body = await read_object(request, rt)
    _check_identity(body, rt)
    _check_namespace(body, target)
    is_dry_run = dry_run(request.query.getall("dryRun", []))
    created = store.create(rt, target.namespace, body, dry_run=is_dry_run)
    return json_response(render_one(request, rt, created), 201, _warnings(rt, created))


async def update_object(store: Store, request: web.Request, target: Target) -> web.Response:
    rt = target.rt
    assert target.name is not None
    body = await read_object(request, rt)
    _check_identity(body, rt)
    _check_namespace(body, target)
    given = body["metadata"].get("name")
    if given and given != target.name:
        raise bad_request(
            f"the name of the object ({given}) does not match the name on the URL "
            f"({target.name})"
        )
    body["metadata"]["name"] = target.name
    is_dry_run = dry_run(request.query.getall("dryRun", []))
    updated = store.update(
        rt, target.namespace, target.name, body, subresource=target.subresource, dry_run=is_dry_run
    )
    headers = _warnings(rt, updated) if target.subresource is None else None
    return json_response(render_one(request, rt, updated), 200, headers)


async def patch_object(store: Store, request: web.Request, target: Target) -> web.Response:
    rt = target.rt
    assert target.name is not None
    patch_type = media_type(request)
    if patch_type not in PATCH_TYPES:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            UNKNOWN_FORMAT + ", ".join(PATCH_TYPES),
        )
    body = await request.read()
    is_dry_run = dry_run(request.query.getall("dryRun", []))
    status = 200
    try:
        patched = store.patch(
            rt,
            target.namespace,
            target.name,
            patch_type,
            body,
            subresource=target.subresource,
            dry_run=is_dry_run,
        )
    except ApiError as error:
        if not (
            error.code == 404 and patch_type == patches.APPLY_PATCH and target.subresource is None
        ):
            raise
        # Server-side apply creates what is missing, when the patch code supports it (it
        # answers 415 while it does not, and kubectl then says SSA is unavailable).
        fresh = patches.apply_patch({}, patch_type, body, rt)
        _check_identity(fresh, rt)
        fresh["metadata"].setdefault("name", target.name)
        _check_namespace(fresh, target)
        patched = store.create(rt, target.namespace, fresh, dry_run=is_dry_run)
        status = 201
    headers = _warnings(rt, patched) if target.subresource is None else None
    return json_response(render_one(request, rt, patched), status, headers)


# -- deletes --------------------------------------------------------------------------------
async def _delete_options(request: web.Request) -> JSON:
    raw = await request.read()
    options: JSON = {}
    if raw.strip():
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise bad_request(f"invalid DeleteOptions: {exc}") from None
        if isinstance(parsed, dict):
            options = parsed
    query = request.query
    if "propagationPolicy" in query:
        options["propagationPolicy"] = query["propagationPolicy"]
    grace = parse_int(query, "gracePeriodSeconds")
    if grace is not None:
        options["gracePeriodSeconds"] = grace
    orphan = parse_bool(query, "orphanDependents")
    if orphan is not None:
        options["orphanDependents"] = orphan
    if query.getall("dryRun", []):
        options["dryRun"] = query.getall("dryRun")
    if options.get("propagationPolicy") is None and options.get("orphanDependents") is not None:
        options["propagationPolicy"] = "Orphan" if options["orphanDependents"] else "Background"
    return options


async def delete_object(store: Store, request: web.Request, target: Target) -> web.Response:
    rt = target.rt
    assert target.name is not None
    options = await _delete_options(request)
    is_dry_run = dry_run(options.get("dryRun") or [])
    outcome = store.delete_detailed(
        rt,
        target.namespace,
        target.name,
        propagation_policy=options.get("propagationPolicy"),
        grace_period_seconds=options.get("gracePeriodSeconds"),
        preconditions=options.get("preconditions"),
        dry_run=is_dry_run,
    )
    result = outcome.object
    if is_dry_run or rt.key in _RETURNS_DELETED_OBJECT or not outcome.removed:
        return json_response(render_one(request, rt, result))
    metadata = meta(result)
    details: JSON = {"name": metadata.get("name", target.name)}
    if rt.group:
        details["group"] = rt.group
    details["kind"] = rt.plural
    if metadata.get("uid"):
        details["uid"] = metadata["uid"]
    return json_response(success_body(details))


async def delete_collection(store: Store, request: web.Request, target: Target) -> web.Response:
    rt = target.rt
    if rt.namespaced and target.namespace is None:
        raise method_not_allowed()
    options = await _delete_options(request)
    query = request.query
    deleted = store.delete_collection(
        rt,
        target.namespace,
        label_selector=query.get("labelSelector") or None,
        field_selector=query.get("fieldSelector") or None,
        propagation_policy=options.get("propagationPolicy"),
        dry_run=dry_run(options.get("dryRun") or []),
    )
    return json_response(
        {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(store.resource_version)},
            "items": deleted,
        }
    )
