"""The Kubernetes cluster an environment runs on; today the embedded simulator only.

simulated.py (SimulatedCluster, a Service) starts simulator/ (the API server and its
controllers) and agents/ (scheduler, kubelets, proxy); config.py, kubeconfig.py and
podlogs.py are what both sides share. kind and existing-kubeconfig clusters are not built yet.
"""
