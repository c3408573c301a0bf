"""A local-first environment simulator and test harness for Kubernetes + AWS platforms.

The public surface is this module's ``__all__``; everything else is internal. Heavy
modules (boto3, psycopg, the Kubernetes client) load on first use of a name that needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness.backends import Backend
from harness.errors import (
    BinaryNotFoundError,
    ConfigurationError,
    DockerUnavailableError,
    HarnessError,
    PortError,
    ProcessExitedError,
    ReadinessTimeout,
    ServiceError,
    TeardownError,
    UnknownBackendError,
    UnsupportedPlatformError,
)

if TYPE_CHECKING:
    from harness.cluster.simulated import SimulatedCluster
    from harness.environment import Endpoints, Environment
    from harness.services.aws import AwsService
    from harness.services.postgres import PostgresService
    from harness.services.redis import RedisService
    from harness.topology import Topology, load_topology

__version__ = "0.1.0"

__all__ = [
    "AwsService",
    "Backend",
    "BinaryNotFoundError",
    "ConfigurationError",
    "DockerUnavailableError",
    "Endpoints",
    "Environment",
    "HarnessError",
    "PortError",
    "PostgresService",
    "ProcessExitedError",
    "ReadinessTimeout",
    "RedisService",
    "ServiceError",
    "SimulatedCluster",
    "TeardownError",
    "Topology",
    "UnknownBackendError",
    "UnsupportedPlatformError",
    "__version__",
    "load_topology",
]

_LAZY = {
    "PostgresService": "harness.services.postgres",
    "RedisService": "harness.services.redis",
    "AwsService": "harness.services.aws",
    "SimulatedCluster": "harness.cluster.simulated",
    "Environment": "harness.environment",
    "Endpoints": "harness.environment",
    "Topology": "harness.topology",
    "load_topology": "harness.topology",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
