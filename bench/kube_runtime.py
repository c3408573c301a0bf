"""The simulated cluster at run time: Deployment to Available, memory, and proxy throughput.

    python bench/kube_runtime.py [--runs 3] [--seconds 5] [--concurrency 4]

- Time from `kubectl apply` of a 3-replica webapp Deployment (readiness probe, period 1 s) to
  `kubectl wait --for=condition=Available` returning, at time scale 1.0 and 0.1 (median of
  --runs, each in a fresh namespace), with the parts: the apply alone, the controllers' and
  agents' work as the API shows it (pods created, all Running, Deployment Available).
- RSS of the simulator process, of the agents process, and per pod (median), with the
  Deployments of the timing runs still up.
- Requests per second through the proxy (ClusterIP and load-balancer address) and straight to
  a pod IP: --concurrency client threads, a new connection per request, for --seconds each,
  with p50/p95 latency. The client is Python threads: figures are a floor, for comparison.

Targets (issue 4): <= 2 s to Available at time scale 0.1 with a 1 s probe period (goal 1 s);
simulator RSS <= 150 MB (goal 100 MB). Printed, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.cluster.simulated import SimulatedCluster

JSON = dict[str, Any]


def _manifests(name: str) -> str:
    labels = {"app": name}
    deployment: JSON = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "webapp:good",
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "readinessProbe": {
                                "httpGet": {"path": "/ready", "port": "http"},
                                "periodSeconds": 1,
                            },
                        }
                    ]
                },
            },
        },
    }
    service: JSON = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "type": "LoadBalancer",
            "selector": labels,
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    return yaml.safe_dump_all([deployment, service])


def _milestones(cluster: SimulatedCluster, namespace: str, started: float) -> dict[str, float]:
    """Poll the API (10 ms) until the Deployment is Available: when pods existed, when all ran."""
    from kubernetes import client

    seen: dict[str, float] = {}
    with cluster.api_client() as api:
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            plain: Callable[[Any], Any] = api.sanitize_for_serialization
            pods: list[JSON] = plain(core.list_namespaced_pod(namespace))["items"]
            now = time.monotonic() - started
            if len(pods) >= 3:
                seen.setdefault("3 pods created", now)
            if len(pods) >= 3 and all(p["status"].get("phase") == "Running" for p in pods):
                seen.setdefault("3 pods Running", now)
            ready = [
                p
                for p in pods
                for c in p["status"].get("conditions") or []
                if c["type"] == "Ready" and c["status"] == "True"
            ]
            if len(ready) >= 3:
                seen.setdefault("3 pods Ready", now)
            deployment: JSON = plain(apps.read_namespaced_deployment("web", namespace))
            for condition in (deployment.get("status") or {}).get("conditions") or []:
                if condition["type"] == "Available" and condition["status"] == "True":
                    seen.setdefault("Deployment Available (API)", now)
                    return seen
            time.sleep(0.01)
    return seen


def _record_milestones(
    cluster: SimulatedCluster, namespace: str, started: float, into: dict[str, float]
) -> None:
    into.update(_milestones(cluster, namespace, started))


def _time_to_available(cluster: SimulatedCluster, runs: int) -> list[str]:
    totals: list[float] = []
    applies: list[float] = []
    parts: dict[str, list[float]] = {}
    for _ in range(runs):
        namespace = f"bench-{uuid.uuid4().hex[:6]}"
        cluster.kubectl("create", "namespace", namespace)
        manifests = _manifests("web")
        started = time.monotonic()
        cluster.kubectl("-n", namespace, "apply", "-f", "-", input=manifests)
        applies.append(time.monotonic() - started)
        parts_of_run: dict[str, float] = {}
        waiter = threading.Thread(
            target=_record_milestones, args=(cluster, namespace, started, parts_of_run)
        )
        waiter.start()
        cluster.kubectl(
            "-n", namespace, "wait", "--for=condition=Available", "deploy/web", "--timeout=120s"
        )
        totals.append(time.monotonic() - started)
        waiter.join(120)
        for key, value in parts_of_run.items():
            parts.setdefault(key, []).append(value)
    lines = [
        f"  apply -> Available (kubectl wait returned): median {statistics.median(totals):.2f} s"
        f"  (runs: {', '.join(f'{t:.2f}' for t in totals)})",
        f"    kubectl apply alone: median {statistics.median(applies):.2f} s",
    ]
    for key, values in parts.items():
        lines.append(f"    {key}: median {statistics.median(values):.2f} s after apply started")
    return lines


def _rss_mb(process: psutil.Process) -> float:
    return float(process.memory_info().rss) / 2**20


def _memory(cluster: SimulatedCluster) -> list[str]:
    assert cluster.process is not None and cluster.process.pid is not None
    simulator = psutil.Process(cluster.process.pid)
    agents = [
        child
        for child in simulator.children(recursive=True)
        if "harness.cluster.agents" in " ".join(child.cmdline())
    ]
    pods = [
        child
        for child in (agents[0].children(recursive=True) if agents else [])
        if any(arg.endswith("webapp.py") for arg in child.cmdline())
    ]
    lines = [f"  simulator process (pid {simulator.pid}): {_rss_mb(simulator):.1f} MB"]
    if agents:
        lines.append(f"  agents process (pid {agents[0].pid}): {_rss_mb(agents[0]):.1f} MB")
    if pods:
        per_pod = statistics.median(_rss_mb(p) for p in pods)
        lines.append(f"  per pod (webapp.py, median of {len(pods)}): {per_pod:.1f} MB")
    return lines


def _load(host: str, port: int, seconds: float, concurrency: int) -> str:
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        mine: list[float] = []
        failed = 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            connection = http.client.HTTPConnection(host, port, timeout=5)
            try:
                connection.request("GET", "/")
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
            except (OSError, http.client.HTTPException):
                failed += 1
            finally:
                connection.close()
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            failures[0] += failed

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    elapsed = time.monotonic() - began
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p95 = latencies[int(len(latencies) * 0.95)] * 1000
    return (
        f"{len(latencies) / elapsed:7.0f} req/s   p50 {p50:5.1f} ms   p95 {p95:5.1f} ms"
        f"   ({len(latencies)} requests, {failures[0]} failed)"
    )


def _throughput(cluster: SimulatedCluster, seconds: float, concurrency: int) -> list[str]:
    namespace = f"bench-load-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    cluster.kubectl("-n", namespace, "apply", "-f", "-", input=_manifests("web"))
    cluster.kubectl(
        "-n", namespace, "wait", "--for=condition=Available", "deploy/web", "--timeout=120s"
    )

    def get(*args: str) -> Any:
        return json.loads(cluster.kubectl("-n", namespace, "get", *args, "-o", "json").stdout)

    service: JSON = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        service = get("svc", "web")
        if (service.get("status") or {}).get("loadBalancer", {}).get("ingress"):
            break
        time.sleep(0.05)
    cluster_ip = service["spec"]["clusterIP"]
    balancer = service["status"]["loadBalancer"]["ingress"][0]["ip"]
    pod_ip = get("pods")["items"][0]["status"]["podIP"]
    time.sleep(0.5)  # let the proxy apply the endpoints
    targets: list[tuple[str, Callable[[], str]]] = [
        (
            f"ClusterIP {cluster_ip}:80 (3 pods)",
            lambda: _load(cluster_ip, 80, seconds, concurrency),
        ),
        (
            f"load balancer {balancer}:80 (3 pods)",
            lambda: _load(balancer, 80, seconds, concurrency),
        ),
        (f"pod IP {pod_ip}:8080 (1 pod)", lambda: _load(pod_ip, 8080, seconds, concurrency)),
    ]
    return [f"  {name:<36} {run()}" for name, run in targets]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    os.chdir(Path(__file__).resolve().parents[1])  # [tool.harness.images] of this project

    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load {load:.2f}, python {sys.version.split()[0]}")
    for scale in (1.0, 0.1):
        started = time.monotonic()
        with SimulatedCluster("bench", time_scale=scale, node_count=2) as cluster:
            print(
                f"time scale {scale}: cluster ready in {time.monotonic() - started:.2f} s, "
                f"{cluster.kubectl_binary}"
            )
            print(f"  idle: {' | '.join(line.strip() for line in _memory(cluster))}")
            for line in _time_to_available(cluster, args.runs):
                print(line)
            if scale == 0.1:
                print(f"memory with {args.runs} Deployments of 3 pods up:")
                for line in _memory(cluster):
                    print(line)
                print(
                    f"throughput, {args.concurrency} client threads, new connection per "
                    f"request, {args.seconds:.0f} s each:"
                )
                for line in _throughput(cluster, args.seconds, args.concurrency):
                    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
