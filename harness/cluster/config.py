"""Settings of one simulated cluster: time scale, delays, nodes, address blocks, images.

Read from `[tool.harness]` in the pyproject.toml of the working directory, or from the
file given with --config (a TOML file with the same `[tool.harness]` table), then flags.
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError
from harness.timescale import TimeScale

__all__ = ["CLUSTER_SLOTS", "ClusterConfig", "load_config"]

# Address blocks inside 127.0.0.0/8 (Linux routes all of it to lo), disjoint on purpose.
# Several clusters run at once (pytest-xdist workers), so each claims a slot k and gets
# its own blocks: nodes 127.0.(10+k).0/24, pods 127.(16+k).0.0/16 (a /24 per node),
# ClusterIPs 127.(96+k).0.0/16, load balancers 127.250.k.0/24.
CLUSTER_SLOTS = 16


def _blocks(slot: int) -> tuple[str, str, str, str]:
    if not 0 <= slot < CLUSTER_SLOTS:
        raise ConfigurationError(f"cluster slot {slot} is out of range 0-{CLUSTER_SLOTS - 1}")
    return (
        f"127.0.{10 + slot}.0/24",
        f"127.{16 + slot}.0.0/16",
        f"127.{96 + slot}.0.0/16",
        f"127.250.{slot}.0/24",
    )


NODE_CIDR, POD_CIDR, SERVICE_CIDR, LOAD_BALANCER_CIDR = _blocks(0)


@dataclass(frozen=True)
class ClusterConfig:
    time_scale: TimeScale = field(default_factory=TimeScale)
    node_count: int = 2
    zones: tuple[str, ...] = ("zone-a",)
    #: kube-proxy lags the endpoints controller; real seconds before the proxy acts on a change
    #: (scaled by the time scale like every other delay)
    endpoint_propagation_delay: float = 1.0
    #: an ALB keeps sending to a deregistered target this long (kube seconds, scaled)
    deregistration_delay: float = 5.0
    #: image name without tag -> argv ($(VAR) expanded as Kubernetes expands command/args)
    images: dict[str, list[str]] = field(default_factory=dict)
    #: where relative paths in image argv are resolved
    base_dir: Path = field(default_factory=Path.cwd)
    node_cidr: str = NODE_CIDR
    pod_cidr: str = POD_CIDR
    service_cidr: str = SERVICE_CIDR
    load_balancer_cidr: str = LOAD_BALANCER_CIDR

    def image_argv(self, image: str) -> list[str] | None:
        """The argv for an image reference (registry/name:tag or @digest), or None."""
        name = image.split("@", 1)[0]
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            name = name[: len(name) - len(last)] + last.split(":", 1)[0]
        for key in (name, name.rsplit("/", 1)[-1]):
            if key in self.images:
                return list(self.images[key])
        return None

    @staticmethod
    def image_tag(image: str) -> str:
        name = image.split("@", 1)[0]
        last = name.rsplit("/", 1)[-1]
        return last.split(":", 1)[1] if ":" in last else "latest"

    def in_slot(self, slot: int) -> ClusterConfig:
        """The same settings on cluster slot `slot`'s address blocks."""
        node, pod, service, balancer = _blocks(slot)
        return replace(
            self, node_cidr=node, pod_cidr=pod, service_cidr=service, load_balancer_cidr=balancer
        )

    def with_overrides(self, **changes: Any) -> ClusterConfig:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _table(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read harness settings from {path}: {exc}") from exc
    tool = data.get("tool", {}).get("harness", {})
    return tool if isinstance(tool, dict) else {}


def load_config(config_file: Path | None = None, cwd: Path | None = None) -> ClusterConfig:
    """`[tool.harness]` of --config FILE, else of ./pyproject.toml, else the defaults."""
    cwd = cwd or Path.cwd()
    source = config_file or (cwd / "pyproject.toml")
    if config_file is not None and not config_file.is_file():
        raise ConfigurationError(f"--config {config_file}: no such file")
    table = _table(source) if source.is_file() else {}
    images_raw = table.get("images", {})
    images: dict[str, list[str]] = {}
    for name, argv in images_raw.items():
        if isinstance(argv, str):
            argv = argv.split()
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise ConfigurationError(
                f"{source}: [tool.harness.images] {name!r} must be a non-empty list of strings "
                '(the argv to run for that image), e.g. web = ["node", "fixtures/app/server.js"]'
            )
        images[name] = list(argv)
    cluster = table.get("cluster", {})
    try:
        config = ClusterConfig(
            time_scale=TimeScale(float(cluster.get("time_scale", 1.0))),
            node_count=int(cluster.get("node_count", 2)),
            zones=tuple(cluster.get("zones", ("zone-a",))),
            endpoint_propagation_delay=float(cluster.get("endpoint_propagation_delay", 1.0)),
            deregistration_delay=float(cluster.get("deregistration_delay", 5.0)),
            images=images,
            base_dir=source.parent.resolve() if source.is_file() else cwd.resolve(),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{source}: bad [tool.harness.cluster] value: {exc}") from exc
    for cidr in (config.node_cidr, config.pod_cidr, config.service_cidr, config.load_balancer_cidr):
        if not ipaddress.IPv4Network(cidr).subnet_of(ipaddress.IPv4Network("127.0.0.0/8")):
            raise ConfigurationError(f"{cidr} is outside 127.0.0.0/8: loopback addresses only")
    if config.node_count < 1:
        raise ConfigurationError(f"{source}: node_count must be at least 1")
    return config
