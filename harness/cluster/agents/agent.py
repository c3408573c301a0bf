"""The contract of a node agent, as `python -m harness.cluster.agents` runs it.

CONTRACT:
    class Agent(Protocol):
        name: str
        async def run(self, stop: asyncio.Event) -> None
            work until `stop` is set, then clean up everything the agent started (a
            kubelet stops its pods' processes, a proxy closes its listeners) and return.
        async def ready(self) -> None
            return once the agent has done its start-up (a kubelet has registered its Node,
            a proxy has synced its first Service list)

    Constructors (keyword arguments):
        Scheduler(api: AsyncClient, config: ClusterConfig)
        Kubelet(api: AsyncClient, config: ClusterConfig, node: NodeSpec, logs_dir: Path,
                state_dir: Path)
        ServiceProxy(api: AsyncClient, config: ClusterConfig, nodes: Sequence[NodeSpec],
                     state_dir: Path)
    Files shared through state_dir:  <state_dir>/hosts/<namespace>  — written by the proxy
        (Service names of that namespace and the cluster, written in place so bind mounts
        see updates); the kubelet bind-mounts it over a pod's /etc/hosts where it can.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from typing import Protocol

from harness.cluster.config import ClusterConfig

__all__ = ["Agent", "NodeSpec", "node_specs"]


class Agent(Protocol):
    name: str

    async def run(self, stop: asyncio.Event) -> None: ...

    async def ready(self) -> None: ...


@dataclass(frozen=True)
class NodeSpec:
    """One simulated node: its name, zone, InternalIP and the block its pods' IPs come from."""

    name: str
    zone: str
    address: str
    pod_cidr: str


def node_specs(config: ClusterConfig) -> list[NodeSpec]:
    """node-1..node-N, spread round-robin over the zones; node i's pods get the i-th /24 of
    the pod block (127.16.0.0/24, 127.16.1.0/24, ... on slot 0)."""
    nodes = list(ipaddress.ip_network(config.node_cidr).hosts())
    pod_blocks = list(ipaddress.ip_network(config.pod_cidr).subnets(new_prefix=24))
    if config.node_count > min(len(nodes), len(pod_blocks)):
        raise ValueError(f"at most {min(len(nodes), len(pod_blocks))} nodes fit the address blocks")
    return [
        NodeSpec(
            name=f"node-{i + 1}",
            zone=config.zones[i % len(config.zones)],
            address=str(nodes[i]),
            pod_cidr=str(pod_blocks[i]),
        )
        for i in range(config.node_count)
    ]
