"""The simulator's HTTP layer (aiohttp): it parses a request and hands it to the store; the
store and below know nothing of HTTP (the moto split).

    server.py        ApiServer: authentication, health, routing, /debug/requests
    verbs.py         get, list, create, update, patch, delete, deletecollection on objects
    subresources.py  scale and pods/binding (status and finalize are verbs with a subresource)
    watchstream.py   watch streams: store events as JSON lines, bookmarks, 410 for laggards
    logs.py          pods/log, tail and follow, from the node agents' CRI log files
    discovery.py     /version, /api, /apis, group and resource lists, OpenAPI v2 and v3
    negotiation.py   Accept: an object, a Table or PartialObjectMetadata
    wire.py          Target, query parameters, bodies, JSON responses, metav1.Status
    startup.py       bootstrap, ServerConfig, serving TLS, the ready line
"""
