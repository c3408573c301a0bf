"""The cluster and namespace a deploy acts on, its time scale and its report directory.

Built from a kubeconfig or from an environment's endpoints (`DeployTarget.of(staging)`),
so the same strategies run against the simulator, kind or EKS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.deploy._kube import KubeApi
from harness.deploy.diagnostics import report_directory

__all__ = ["DeployTarget"]


class _EndpointsLike(Protocol):
    @property
    def kubeconfig(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def time_scale(self) -> float: ...


@dataclass(frozen=True)
class DeployTarget:
    """`kubeconfig` (and `context`) reach the API; `time_scale` is what the cluster
    multiplies Kubernetes seconds by (the simulator's factor; 1.0 on a real cluster);
    failures are saved under `reports_root/run_name` (see diagnostics.report_directory)."""

    kubeconfig: Path
    namespace: str
    time_scale: float = 1.0
    context: str | None = None
    reports_root: Path | None = None
    run_name: str | None = None

    @classmethod
    def of(cls, environment: Any, **options: Any) -> DeployTarget:
        """From an Environment, an attached environment handle or its Endpoints."""
        endpoints: _EndpointsLike = getattr(environment, "endpoints", environment)
        return cls(
            kubeconfig=Path(endpoints.kubeconfig),
            namespace=endpoints.namespace,
            time_scale=float(getattr(endpoints, "time_scale", 1.0) or 1.0),
            **options,
        )

    def api(self) -> KubeApi:
        return KubeApi(self.kubeconfig, self.context)

    def real(self, kube_seconds: float) -> float:
        """Kubernetes seconds as wall-clock seconds on this cluster."""
        return kube_seconds * self.time_scale

    def report_dir(self) -> Path:
        return report_directory(self.reports_root, self.run_name)
