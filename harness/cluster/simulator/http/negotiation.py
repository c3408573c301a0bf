"""What the Accept header asks an object to be served as: itself, a meta.k8s.io Table (what
`kubectl get` prints) or PartialObjectMetadata; rendered here for get, write and watch alike.
"""

from __future__ import annotations

from enum import Enum

from aiohttp import web

from harness.apimachinery.meta import JSON, meta
from harness.cluster.simulator.registry import ResourceType
from harness.cluster.simulator.tables import to_table

__all__ = ["Rendering", "partial_metadata", "render", "render_one", "rendering"]


class Rendering(Enum):
    """What the Accept header asked for."""

    OBJECT = "object"
    TABLE = "table"
    METADATA = "metadata"


def rendering(accept: str) -> tuple[Rendering, str]:
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


def partial_metadata(obj: JSON, meta_version: str) -> JSON:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{meta_version or 'v1'}",
        "metadata": meta(obj),
    }


def render(
    rt: ResourceType, obj: JSON, chosen: Rendering, meta_version: str, include_object: str
) -> JSON:
    """One object as `chosen`: itself, a one-row Table, or its PartialObjectMetadata."""
    if chosen is Rendering.TABLE:
        table = to_table(
            rt,
            [obj],
            resource_version=str(meta(obj).get("resourceVersion", "")),
            continue_token=None,
            include_object=include_object,
        )
        table["apiVersion"] = f"meta.k8s.io/{meta_version}"
        return table
    if chosen is Rendering.METADATA:
        return partial_metadata(obj, meta_version)
    return obj


def render_one(request: web.Request, rt: ResourceType, obj: JSON) -> JSON:
    """The answer to a get or a write, rendered as the request's Accept header asks."""
    chosen, meta_version = rendering(request.headers.get("Accept", ""))
    include_object = request.query.get("includeObject") or "Metadata"
    return render(rt, obj, chosen, meta_version, include_object)
