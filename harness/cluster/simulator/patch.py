"""PATCH bodies applied to stored objects: JSON patch, merge patch, strategic merge patch.

CONTRACT:
    JSON_PATCH = "application/json-patch+json"
    MERGE_PATCH = "application/merge-patch+json"
    STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
    APPLY_PATCH = "application/apply-patch+yaml"
    apply_patch(obj, patch_type, body: bytes, rt: ResourceType) -> dict
        Returns a new dict; never mutates obj. Errors are ApiError: 400 BadRequest for a
        malformed body, 422 for a json-patch test/path failure as the real server reports
        it, 415 UnsupportedMediaType for apply-patch (server-side apply comes later) and
        for strategic merge on custom resources (as the real server answers).
    Strategic merge is driven by x-kubernetes-patch-merge-key / -patch-strategy /
    x-kubernetes-list-map-keys from the kubernetes-validate package's schemas, with the
    $patch, $setElementOrder, $retainKeys and $deleteFromPrimitiveList directives.
"""
