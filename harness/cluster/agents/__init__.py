"""Node agents — scheduler, kubelet, service proxy — as clients of a Kubernetes API server.

They use only the Kubernetes API (list/watch/patch through lightkube's AsyncClient), never
the simulator's store, so they can run against a real kube-apiserver too. By default the
simulator starts them in one separate process: `python -m harness.cluster.agents`.
"""
