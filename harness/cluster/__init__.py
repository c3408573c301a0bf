"""Kubernetes clusters the harness can run scenarios on: the embedded simulator, kind, kubeconfig."""
