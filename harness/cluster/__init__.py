"""Kubernetes clusters for scenarios: the embedded simulator, kind, an existing kubeconfig."""
