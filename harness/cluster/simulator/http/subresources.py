"""The subresources with a handler of their own: scale (an autoscaling/v1 Scale view of a
Deployment, ReplicaSet or CRD) and pods/binding (the scheduler's write). status and finalize
are the object verbs with the subresource named (verbs.py); pods/log is logs.py.
"""

from __future__ import annotations

import copy

from aiohttp import web

from harness.apimachinery.labels import selector_string
from harness.apimachinery.meta import JSON, dig, meta
from harness.cluster.simulator import patch as patches
from harness.cluster.simulator.apierrors import ApiError, Cause, invalid
from harness.cluster.simulator.http.wire import (
    PATCH_TYPES,
    UNKNOWN_FORMAT,
    Target,
    bad_request,
    dry_run,
    json_response,
    media_type,
    method_not_allowed,
    read_object,
)
from harness.cluster.simulator.registry import ResourceType
from harness.cluster.simulator.store import Store

__all__ = ["bind", "has_subresource", "scale", "scale_of"]

_SCALE_TYPE = ResourceType(
    group="autoscaling",
    version="v1",
    kind="Scale",
    plural="scales",
    singular="scale",
    namespaced=True,
    verbs=("get", "patch", "update"),
)


def has_subresource(rt: ResourceType, subresource: str) -> bool:
    """Whether a URL's subresource is served: pods/log, and those the registry lists."""
    if subresource == "log":
        return rt.group == "" and rt.plural == "pods"
    return subresource in rt.subresources


# -- scale ----------------------------------------------------------------------------------
def _path_keys(path: str) -> list[str]:
    """The keys of a CRD scale path like ".spec.replicas"."""
    return path.strip(".").split(".")


def _path_set(obj: JSON, path: str, value: object) -> None:
    keys = _path_keys(path)
    node = obj
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = value


def scale_of(rt: ResourceType, obj: JSON) -> JSON:
    """autoscaling/v1 Scale of a Deployment, ReplicaSet or a CRD with a scale subresource."""
    metadata = meta(obj)
    scale_meta = {
        key: metadata[key]
        for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
        if key in metadata
    }
    if rt.scale is not None:
        paths = rt.scale
        replicas = dig(obj, *_path_keys(paths.spec_replicas_path))
        current = dig(obj, *_path_keys(paths.status_replicas_path))
        selector = (
            dig(obj, *_path_keys(paths.label_selector_path)) if paths.label_selector_path else ""
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


async def scale(store: Store, request: web.Request, target: Target) -> web.Response:
    """GET, PUT or PATCH <resource>/<name>/scale: the replicas of the object, read and set."""
    rt = target.rt
    assert target.name is not None
    method = request.method
    if method == "GET":
        return json_response(scale_of(rt, store.get(rt, target.namespace, target.name)))
    if method not in ("PUT", "PATCH"):
        raise method_not_allowed()
    is_dry_run = dry_run(request.query.getall("dryRun", []))
    if method == "PUT":
        wanted = await read_object(request)
        patch_type, patch_body = "", b""
    else:
        patch_type = media_type(request)
        if patch_type not in PATCH_TYPES[:3]:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                UNKNOWN_FORMAT + ", ".join(PATCH_TYPES[:3]),
            )
        patch_body = await request.read()
        wanted = {}
    for _attempt in range(5):
        current = store.get(rt, target.namespace, target.name)
        current_scale = scale_of(rt, current)
        if method == "PATCH":
            wanted = patches.apply_patch(current_scale, patch_type, patch_body, _SCALE_TYPE)
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
        _path_set(updated, rt.scale.spec_replicas_path if rt.scale else ".spec.replicas", replicas)
        if given_rv:
            updated["metadata"] = {**current["metadata"], "resourceVersion": given_rv}
        try:
            result = store.update(rt, target.namespace, target.name, updated, dry_run=is_dry_run)
        except ApiError as error:
            if error.code == 409 and not given_rv:
                continue  # a concurrent write: re-read and apply again, as the real server does
            raise
        return json_response(scale_of(rt, result))
    raise ApiError(
        409, "Conflict", f"Operation cannot be fulfilled on {rt.plural}: too many conflicts"
    )


# -- binding --------------------------------------------------------------------------------
async def bind(store: Store, request: web.Request, target: Target) -> web.Response:
    """POST pods/<name>/binding (BindingREST.Create): a v1 Binding naming a Node."""
    assert target.name is not None and target.namespace is not None
    body = await read_object(request)
    binding_meta: JSON = body["metadata"] if isinstance(body.get("metadata"), dict) else {}
    if (binding_meta.get("name") or target.name) != target.name:
        raise bad_request("name in URL does not match name in Binding object")
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
    annotations: JSON = binding_meta.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise bad_request("metadata.annotations must be an object")
    store.bind(
        target.namespace,
        target.name,
        str(bound["name"]),
        uid=str(binding_meta["uid"]) if binding_meta.get("uid") else None,
        annotations={str(k): str(v) for k, v in annotations.items()},
        dry_run=dry_run(request.query.getall("dryRun", [])),
    )
    return json_response(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "code": 201,
        },
        201,
    )
