"""The time scale: one factor over every Kubernetes duration, so real manifests run fast.

A manifest's `periodSeconds: 10` lasts 10 x factor real seconds; timestamps written into
objects stay wall-clock times, only waiting is compressed. Every wing that converts
Kubernetes seconds to real ones (cluster, deploy, load) uses this one class.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import ConfigurationError

__all__ = ["TimeScale"]


@dataclass(frozen=True)
class TimeScale:
    """1.0 is real time; 0.1 runs ten times faster."""

    factor: float = 1.0

    def __post_init__(self) -> None:
        if not 0.001 <= self.factor <= 1.0:
            raise ConfigurationError(
                f"time scale {self.factor} is out of range: use a factor in [0.001, 1.0]"
            )

    def real(self, kube_seconds: float) -> float:
        """Real seconds to wait for a duration the manifest states in Kubernetes seconds."""
        return kube_seconds * self.factor

    def kube(self, real_seconds: float) -> float:
        """Kubernetes seconds that `real_seconds` of wall clock amount to."""
        return real_seconds / self.factor
