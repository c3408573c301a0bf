"""The object store: versioned objects, optimistic concurrency, deletion, and watch fan-out.

CONTRACT (server.py and, later, the controllers call exactly this; keep the signatures).
Objects are plain JSON dicts; every call takes and returns deep copies. All methods are
thread-safe (one RLock); watch callbacks are invoked synchronously under that lock and
must not block (the HTTP layer hands events to its event loop with call_soon_threadsafe).

    WatchEvent(type, object)           type: ADDED | MODIFIED | DELETED | BOOKMARK | ERROR
    ListResult(items, resource_version, continue_token, remaining_item_count)
    Watch.close()

    Store(registry, *, history_size=10_000)
    .registry
    .resource_version -> int                       the current (last written) RV
    .create(rt, namespace, obj, *, dry_run=False) -> dict
        fills uid, creationTimestamp, resourceVersion, generation (via strategy), honours
        generateName; 409 AlreadyExists; 404 when the namespace is missing; 403 Forbidden
        when it is terminating; 422 Invalid from strategy validation; registers CRDs.
    .get(rt, namespace, name) -> dict              404 NotFound
    .list(rt, namespace|None, *, label_selector=None, field_selector=None, limit=None,
          continue_token=None) -> ListResult     namespace None = all namespaces
    .update(rt, namespace, name, obj, *, subresource=None, dry_run=False) -> dict
        subresource None or "status"; 409 Conflict when obj's resourceVersion is set and
        stale; strategy rules for generation and status; an object whose deletionTimestamp
        is set and whose finalizers become empty is removed (DELETED event).
    .patch(rt, namespace, name, patch_type, body, *, subresource=None, dry_run=False) -> dict
        patch_type is the request's content type; applies patch.apply_patch, then the
        same path as update (retrying internally on its own conflicts).
    .delete(rt, namespace, name, *, propagation_policy=None, grace_period_seconds=None,
            preconditions=None, dry_run=False) -> dict
        returns the object as it is after the call (with deletionTimestamp when finalizers
        or a graceful pod deletion keep it); Background/Foreground/Orphan as upstream.
    .delete_collection(rt, namespace, *, label_selector=None, field_selector=None,
                       propagation_policy=None, dry_run=False) -> list[dict]
    .watch(rt, namespace|None, notify, *, resource_version=None, label_selector=None,
           field_selector=None, send_initial_events=None) -> Watch
        resource_version None/"0": synthetic ADDED for every current match first; "N":
        events after N; older than the history window: raises ApiError 410 Expired.
        Objects leaving the selector arrive as DELETED, entering as ADDED.
    .subscribe(notify) -> Watch                    every event of every type (controllers, GC)
"""
