"""`python -m harness.cluster.agents --kubeconfig FILE ...`: every node agent of one simulated
cluster in one process — the scheduler, a kubelet per node and the service proxy.

It prints one line, "agents ready nodes=N", once every agent's ready() has returned, and on
SIGTERM or SIGINT sets the agents' stop event, waits for every run() to return (the kubelets
stop their pods first) and exits 0; 1 when an agent failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.cluster.agents.agent import Agent, node_specs
from harness.cluster.agents.client import api_client
from harness.cluster.agents.kubelet import Kubelet
from harness.cluster.agents.proxy import ServiceProxy
from harness.cluster.agents.scheduler import Scheduler
from harness.cluster.config import ClusterConfig, load_config
from harness.errors import ConfigurationError
from harness.timescale import TimeScale

__all__ = ["main"]

_log = logging.getLogger("harness.agents")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness.cluster.agents",
        description="Run the scheduler, one kubelet per node and the service proxy.",
    )
    parser.add_argument("--kubeconfig", required=True, type=Path, help="the API server to use")
    parser.add_argument("--config", type=Path, default=None, help="TOML with [tool.harness]")
    parser.add_argument("--time-scale", type=float, default=None, help="factor in [0.001, 1]")
    parser.add_argument("--node-count", type=int, default=None, help="simulated nodes")
    parser.add_argument(
        "--zones", default=None, help="comma-separated zones the nodes are spread over"
    )
    parser.add_argument("--slot", type=int, default=0, help="the cluster's address-block slot")
    parser.add_argument("--logs-dir", required=True, type=Path, help="pod container logs")
    parser.add_argument("--state-dir", required=True, type=Path, help="agents' working files")
    return parser


def cluster_config(
    config_file: Path | None,
    time_scale: float | None,
    node_count: int | None,
    zones: str | None = None,
) -> ClusterConfig:
    """load_config, then the command-line overrides."""
    config = load_config(config_file)
    return config.with_overrides(
        time_scale=TimeScale(time_scale) if time_scale is not None else None,
        node_count=node_count,
        zones=tuple(zones.split(",")) if zones else None,
    )


async def _run(args: argparse.Namespace) -> int:
    config = cluster_config(args.config, args.time_scale, args.node_count, args.zones)
    config = config.in_slot(args.slot)
    if config.node_count < 1:
        raise ConfigurationError("--node-count must be at least 1")
    nodes = node_specs(config)
    logs_dir: Path = args.logs_dir.resolve()
    state_dir: Path = args.state_dir.resolve()
    logs_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    kubeconfig: Path = args.kubeconfig.resolve()
    clients = {
        kind: api_client(kubeconfig, field_manager=kind)
        for kind in ("default-scheduler", "kubelet", "kube-proxy")
    }
    agents: list[Agent] = [Scheduler(clients["default-scheduler"], config)]
    agents += [Kubelet(clients["kubelet"], config, node, logs_dir, state_dir) for node in nodes]
    agents.append(ServiceProxy(clients["kube-proxy"], config, nodes, state_dir))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runs = {asyncio.create_task(agent.run(stop), name=agent.name): agent for agent in agents}
    failed = False
    try:
        ready: asyncio.Future[Any] = asyncio.ensure_future(
            asyncio.gather(*(agent.ready() for agent in agents))
        )
        stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        watched: list[asyncio.Future[Any]] = [ready, stopping, *runs]
        done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        if ready in done and ready.exception() is None:
            print(f"agents ready nodes={len(nodes)}", flush=True)
        elif ready in done:
            failed = True
            _log.error("an agent failed to start", exc_info=ready.exception())
            stop.set()
        elif not stopping.done():
            failed = True
            finished = [runs[t].name for t in done if t in runs]
            _log.error("agents %s stopped before they were ready", finished)
            stop.set()
        await stop.wait()
        ready.cancel()
        stopping.cancel()
        results = await asyncio.gather(*runs, return_exceptions=True)
        for task, result in zip(runs, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                failed = True
                _log.error("agent %s failed", runs[task].name, exc_info=result)
    finally:
        for client in clients.values():
            with contextlib.suppress(Exception):
                await client.close()
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpx2"):  # a request line per heartbeat is too much
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            return asyncio.run(_run(args))
    except (ConfigurationError, ValueError) as error:
        print(f"agents: {error}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
