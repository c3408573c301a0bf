"""The one way node agents reach the API server: a lightkube AsyncClient from a kubeconfig."""

from __future__ import annotations

from pathlib import Path

from lightkube import AsyncClient, KubeConfig

__all__ = ["api_client"]


def api_client(kubeconfig: Path, *, field_manager: str) -> AsyncClient:
    """An AsyncClient for the kubeconfig's current context; `field_manager` names the agent
    (kubelet, kube-proxy, scheduler) in the requests it makes."""
    config = KubeConfig.from_file(str(kubeconfig))
    return AsyncClient(config=config, field_manager=field_manager, timeout=None)
