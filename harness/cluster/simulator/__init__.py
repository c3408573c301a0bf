"""The embedded Kubernetes API simulator: a real HTTP API server whose pods are local processes.

Layers, top down (nothing imports upward):
    __main__.py, http/        HTTP (aiohttp): auth, routing, verbs, discovery, watch, logs, start-up
    openapi.py, tables.py     documents and Table views the HTTP layer serves; tables.py is
                              built on printers.py, podprinter.py (per-kind rows), columns.py
    store.py, gc.py           objects, resourceVersions, watch fan-out, deletion and GC
    strategy.py, patch.py     per-kind defaulting/validation/generation; json/merge patches and
                              the entry of every patch type, SMP in strategicmerge.py
    schemas.py, patcherrors.py  built-in kinds' schemas and patch metadata; patch error texts
    registry.py, selectors.py resource types (built-in and CRD) and label/field selectors
    apierrors.py              ApiError -> metav1.Status
Store and controllers know nothing of HTTP (the moto split).
"""
