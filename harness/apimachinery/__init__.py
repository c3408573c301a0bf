"""The Kubernetes API's shared vocabulary, as k8s.io/apimachinery and the api/v1 helpers hold it.

Plain functions over objects as JSON dicts: metadata access (`meta`), timestamps
(`timestamps`), quantities (`quantity`), label selectors as text (`labels`) and pod status
(`pods`). It imports nothing of the harness, so the simulator, the node agents and
harness.kube all build on it; a helper that two of them need lives here, once.
"""
