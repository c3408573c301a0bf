"""Accept header negotiation: an object, a Table or PartialObjectMetadata."""

from __future__ import annotations

from harness.cluster.simulator.http.negotiation import Rendering, rendering


def test_accept_header_negotiation() -> None:
    kubectl_get = (
        "application/json;as=Table;v=v1;g=meta.k8s.io,"
        "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
    )
    assert rendering(kubectl_get) == (Rendering.TABLE, "v1")
    aggregated = (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    )
    assert rendering(aggregated)[0] is Rendering.OBJECT
    assert rendering("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io")[0] is (
        Rendering.METADATA
    )
