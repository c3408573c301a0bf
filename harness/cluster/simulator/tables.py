"""meta.k8s.io/v1 Table views, so `kubectl get` prints the columns a real server gives.

CONTRACT:
    to_table(rt, objects: list[dict], *, resource_version: str, continue_token: str|None,
             include_object: str = "Metadata", now: datetime | None = None) -> dict
        Columns for pods, deployments, replicasets, services, namespaces, nodes, events as
        upstream pkg/printers/internalversion/printers.go; other kinds NAME and AGE (and the
        additionalPrinterColumns of a CRD).
"""
