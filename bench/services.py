"""Start-to-ready time and memory of each local service, cold and warm.

    python bench/services.py [--runs 5]

Cold: PostgreSQL with an empty initdb cache (a fresh HARNESS_HOME), the others on their
first start in this process. Warm: the median of --runs starts with the cache in place.
RSS is the sum over the service's processes once it is ready. Target (issue 2):
PostgreSQL warm start to ready <= 0.4 s on the CI machine; goal 0.2 s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import psutil

from harness._reaper import tagged_processes
from harness._run import current_run
from harness.services.aws import AwsService
from harness.services.postgres import PostgresService
from harness.services.redis import RedisService


def _rss_mb() -> float:
    processes = tagged_processes(current_run().id).get(current_run().id, [])
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total / 2**20


def _one_start(factory: Callable[[], Any]) -> tuple[float, float]:
    service = factory()
    started = time.perf_counter()
    service.start()
    elapsed = time.perf_counter() - started
    rss = _rss_mb()
    service.stop()
    return elapsed, rss


def _measure(
    name: str, factory: Callable[[], Any], runs: int, cold: Callable[[], None] | None
) -> str:
    if cold is not None:
        cold()
    cold_time, cold_rss = _one_start(factory)
    warm = [_one_start(factory) for _ in range(runs)]
    times = [t for t, _ in warm]
    rss = statistics.median(r for _, r in warm)
    median = statistics.median(times)
    return (
        f"{name:<12} cold {cold_time * 1000:7.0f} ms   warm median {median * 1000:6.0f} ms"
        f" (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, n={runs})"
        f"   RSS {rss:6.1f} MB (cold {cold_rss:.1f})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    homes: list[str] = []

    def fresh_cache() -> None:
        homes.append(tempfile.mkdtemp(prefix="harness-bench-", dir="/var/tmp"))
        os.chmod(homes[-1], 0o755)  # the unprivileged server user must get in
        os.environ["HARNESS_HOME"] = homes[-1]

    current_run()  # the run (and its reaper) is not part of any service's start time
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load {load:.2f}, python {sys.version.split()[0]}")
    print(_measure("postgres", PostgresService, args.runs, fresh_cache))
    print(_measure("redis", RedisService, args.runs, None))
    print(_measure("moto (aws)", AwsService, args.runs, None))
    for home in homes:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
