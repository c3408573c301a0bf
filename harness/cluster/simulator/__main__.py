"""`python -m harness.cluster.simulator --kubeconfig FILE [--port N] [--logs-dir DIR]`: the
simulator as its own process, printing one ready line and exiting 0 on SIGTERM or SIGINT.

Beside the API server it runs the controllers (Deployment, ReplicaSet, EndpointSlice,
Endpoints, Namespace; --no-controllers leaves them out) and, unless --no-agents, starts the
node agents as one child process (`python -m harness.cluster.agents`, its log `agents.log`
beside the kubeconfig) once the API listens; the ready line comes after the agents' own.
--config, --time-scale and --node-count choose the cluster settings (config.py).

It binds 127.0.0.1 only, serves HTTPS with a fresh throwaway CA (kubectl sends a token only
over TLS), generates a fresh bearer token, writes the kubeconfig (mode 0600) before it
reports ready, and never prints or logs the token.
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
from typing import TYPE_CHECKING

from aiohttp import web

from harness.apimachinery.timestamps import now
from harness.cluster.kubeconfig import KubeconfigEntry, new_token, write_kubeconfig
from harness.cluster.simulator.http.server import ApiServer
from harness.cluster.simulator.http.startup import (
    HOST,
    ServerConfig,
    bootstrap,
    bound_port,
    ready_line,
    serving_tls,
)

if TYPE_CHECKING:
    from harness._process import ManagedProcess
    from harness.cluster.config import ClusterConfig
    from harness.cluster.simulator.controllers.base import Controller, ControllerContext
    from harness.cluster.simulator.controllers.manager import ControllerManager
    from harness.cluster.simulator.store import Store
    from harness.timescale import TimeScale

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness.cluster.simulator",
        description="Run the harness' Kubernetes API simulator on 127.0.0.1.",
    )
    parser.add_argument("--kubeconfig", required=True, type=Path, help="kubeconfig file to write")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free)")
    parser.add_argument(
        "--logs-dir",
        type=Path,
        default=None,
        help="pod container logs (<ns>/<pod>/<container>/<restartCount>.log); "
        "default: pod-logs beside the kubeconfig",
    )
    parser.add_argument(
        "--bookmark-interval",
        type=float,
        default=60.0,
        help="seconds between BOOKMARK events on watches that allow them",
    )
    parser.add_argument(
        "--watch-history",
        type=int,
        default=None,
        help="events kept for watches resuming from an old resourceVersion (then 410 Expired)",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument(
        "--config", type=Path, default=None, help="TOML file with a [tool.harness] table"
    )
    parser.add_argument(
        "--time-scale", type=float, default=None, help="compress Kubernetes durations (0.001-1)"
    )
    parser.add_argument("--node-count", type=int, default=None, help="simulated nodes")
    parser.add_argument(
        "--zones", default=None, help="comma-separated zones the nodes are spread over"
    )
    parser.add_argument(
        "--slot",
        type=int,
        default=None,
        help="address-block slot 0-15 (default: the lowest free one, claimed for this process)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="node agents' working files; default: agents-state beside the kubeconfig",
    )
    parser.add_argument(
        "--no-controllers", action="store_true", help="serve the API without controllers"
    )
    parser.add_argument("--no-agents", action="store_true", help="start no node agents")
    parser.add_argument(
        "--agents-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for the node agents to report ready",
    )
    return parser


AGENTS_READY = "agents ready"


def _controller_manager(store: Store, time_scale: TimeScale) -> ControllerManager:
    """Every controller, each with an event recorder under its upstream component name."""
    from harness.cluster.simulator.controllers.base import ControllerContext
    from harness.cluster.simulator.controllers.deployment import DeploymentController
    from harness.cluster.simulator.controllers.endpoints import (
        EndpointsController,
        EndpointSliceController,
    )
    from harness.cluster.simulator.controllers.events import StoreEventRecorder
    from harness.cluster.simulator.controllers.manager import ControllerManager
    from harness.cluster.simulator.controllers.namespace import NamespaceController
    from harness.cluster.simulator.controllers.replicaset import ReplicaSetController

    def context(component: str) -> ControllerContext:
        recorder = StoreEventRecorder(store, component, now)
        return ControllerContext(store, store.registry, now, time_scale, recorder)

    controllers: list[Controller] = [
        DeploymentController(context("deployment-controller")),
        ReplicaSetController(context("replicaset-controller")),
        EndpointSliceController(context("endpoint-slice-controller")),
        EndpointsController(context("endpoint-controller")),
        NamespaceController(context("namespace-controller")),
    ]
    return ControllerManager(context("kube-controller-manager"), controllers)


def _agents_process(
    args: argparse.Namespace, kubeconfig: Path, logs_dir: Path, config: ClusterConfig, slot: int
) -> ManagedProcess:
    from harness._process import ManagedProcess

    state_dir: Path = (args.state_dir or kubeconfig.parent / "agents-state").resolve()
    argv = [
        sys.executable,
        "-m",
        "harness.cluster.agents",
        "--kubeconfig",
        str(kubeconfig),
        "--time-scale",
        repr(config.time_scale.factor),
        "--node-count",
        str(config.node_count),
        "--zones",
        ",".join(config.zones),
        "--logs-dir",
        str(logs_dir),
        "--state-dir",
        str(state_dir),
        "--slot",
        str(slot),
    ]
    if args.config is not None:
        argv += ["--config", str(args.config.resolve())]
    return ManagedProcess(
        "node agents",
        argv,
        log_path=kubeconfig.parent / "agents.log",
        env={"PYTHONUNBUFFERED": "1"},
    )


async def _wait_agents_ready(process: ManagedProcess, timeout: float) -> str | None:
    """None once the agents printed their ready line; else why not (exit, timeout)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.01
    while True:
        with contextlib.suppress(OSError):
            for line in process.log_path.read_text(errors="replace").splitlines():
                if line.startswith(AGENTS_READY):
                    return None
        code = process.poll()
        if code is not None:
            return f"the node agents exited with code {code}"
        if loop.time() >= deadline:
            return f"the node agents did not report ready within {timeout:g} s"
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)


async def _serve(args: argparse.Namespace) -> int:
    # Imported here so `--help` works without the heavier modules.
    from harness.cluster.config import CLUSTER_SLOTS, load_config
    from harness.cluster.simulator.gc import GarbageCollector
    from harness.cluster.simulator.registry import Registry
    from harness.cluster.simulator.store import Store
    from harness.errors import ConfigurationError, PortError
    from harness.ports import claim_slot
    from harness.timescale import TimeScale

    try:
        config = load_config(args.config).with_overrides(
            time_scale=TimeScale(args.time_scale) if args.time_scale is not None else None,
            node_count=args.node_count,
            zones=tuple(args.zones.split(",")) if args.zones else None,
        )
        if config.node_count < 1:
            raise ConfigurationError("--node-count must be at least 1")
        # Clusters running at once (xdist workers) each get their own address blocks.
        slot = args.slot if args.slot is not None else claim_slot("cluster", CLUSTER_SLOTS).index
        config = config.in_slot(slot)
    except (ConfigurationError, PortError) as error:
        print(f"simulator: {error}", file=sys.stderr, flush=True)
        return 2
    kubeconfig: Path = args.kubeconfig.resolve()
    logs_dir: Path = (args.logs_dir or kubeconfig.parent / "pod-logs").resolve()
    logs_dir.mkdir(parents=True, exist_ok=True)
    registry = Registry.builtin()
    store = Store(
        registry,
        history_size=args.watch_history if args.watch_history is not None else 10_000,
        service_cidr=config.service_cidr,
    )
    bootstrap(store)
    collector = GarbageCollector(store)
    manager = None if args.no_controllers else _controller_manager(store, config.time_scale)
    token = new_token()
    server = ApiServer(
        store,
        ServerConfig(token=token, logs_dir=logs_dir, bookmark_interval=args.bookmark_interval),
    )
    runner = web.AppRunner(
        server.application(),
        handler_cancellation=True,
        access_log=logging.getLogger("aiohttp.access") if args.access_log else None,
        shutdown_timeout=2.0,
    )
    await runner.setup()
    tls, certificate = serving_tls(kubeconfig)
    site = web.TCPSite(runner, HOST, args.port, reuse_address=True, ssl_context=tls)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        print(f"simulator: cannot listen on {HOST}:{args.port}: {exc}", file=sys.stderr, flush=True)
        return 2
    collector.start()
    if manager is not None:
        manager.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    agents: ManagedProcess | None = None
    try:
        port = bound_port(runner, args.port)
        url = f"https://{HOST}:{port}"
        entry = KubeconfigEntry(url, token, certificate_authority=certificate.ca_pem)
        write_kubeconfig(kubeconfig, entry)
        server.mark_ready()
        if not args.no_agents:
            agents = _agents_process(args, kubeconfig, logs_dir, config, slot).start()
            problem = await _wait_agents_ready(agents, args.agents_timeout)
            if problem is not None:
                print(
                    f"simulator: {problem}; see {agents.log_path}:\n{agents.log_tail()}",
                    file=sys.stderr,
                    flush=True,
                )
                return 2
        print(ready_line(url, kubeconfig), flush=True)
        await stop.wait()
    finally:
        if agents is not None:
            # The API keeps serving while the kubelets stop their pods through it.
            exit_code = await loop.run_in_executor(None, agents.stop, 60.0)
            if exit_code not in (0, None):
                print(
                    f"simulator: the node agents exited with code {exit_code}",
                    file=sys.stderr,
                    flush=True,
                )
        if manager is not None:
            manager.stop()
        collector.stop()
        await runner.cleanup()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
