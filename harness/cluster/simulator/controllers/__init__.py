"""Controllers running next to the store, as kube-controller-manager runs beside kube-apiserver:
Deployment, ReplicaSet, EndpointSlice, Endpoints, Namespace (garbage collection is gc.py)."""
