"""`python -m harness.cluster.simulator --kubeconfig FILE [--port N] [--logs-dir DIR]`: the
simulator as its own process, printing one ready line and exiting 0 on SIGTERM or SIGINT.

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
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from harness.cluster.simulator.kubeconfig import (
    KubeconfigEntry,
    make_serving_certificate,
    new_token,
    write_kubeconfig,
)
from harness.cluster.simulator.server import ApiServer, ServerConfig, bootstrap

__all__ = ["main"]

HOST = "127.0.0.1"


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
    return parser


async def _serve(args: argparse.Namespace) -> int:
    # Imported here so `--help` works without the heavier modules.
    from harness.cluster.simulator.gc import GarbageCollector
    from harness.cluster.simulator.registry import Registry
    from harness.cluster.simulator.store import Store

    kubeconfig: Path = args.kubeconfig.resolve()
    logs_dir: Path = (args.logs_dir or kubeconfig.parent / "pod-logs").resolve()
    logs_dir.mkdir(parents=True, exist_ok=True)
    registry = Registry.builtin()
    store = (
        Store(registry)
        if args.watch_history is None
        else Store(registry, history_size=args.watch_history)
    )
    bootstrap(store)
    collector = GarbageCollector(store)
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
    certificate = make_serving_certificate(kubeconfig.parent / f"{kubeconfig.name}-pki", HOST)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(certificate.cert_path, certificate.key_path)
    site = web.TCPSite(runner, HOST, args.port, reuse_address=True, ssl_context=tls)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        print(f"simulator: cannot listen on {HOST}:{args.port}: {exc}", file=sys.stderr, flush=True)
        return 2
    collector.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        port = _bound_port(runner, args.port)
        url = f"https://{HOST}:{port}"
        entry = KubeconfigEntry(url, token, certificate_authority=certificate.ca_pem)
        write_kubeconfig(kubeconfig, entry)
        server.mark_ready()
        print(f"simulator ready {url} kubeconfig={kubeconfig}", flush=True)
        await stop.wait()
    finally:
        collector.stop()
        await runner.cleanup()
    return 0


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested


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
