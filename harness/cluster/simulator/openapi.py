"""A minimal OpenAPI v3 so `kubectl apply` (1.29+) validates and finds merge keys.

CONTRACT:
    openapi_v3_root(registry) -> dict                 {"paths": {"api/v1": {"serverRelativeURL":
                                                       "/openapi/v3/api/v1?hash=..."}, ...}}
    openapi_v3_document(registry, group, version) -> dict | None
"""
