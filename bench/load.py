"""Requests per second the local staging stack serves through its LoadBalancer address at
P95 < 50 ms on this machine, and k6's own CPU share while generating that load.

    python bench/load.py [--p95-ms 50] [--step-seconds 8] [--max-steps 10] [--url URL]

Starts staging (time scale 1.0) unless --url names a running app, then steps k6's constant
arrival rate up (x1.5 a step, from --start-rate) until P95 crosses the limit, a request
fails or k6 drops iterations; bounded in steps and seconds. Figures only, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from harness.backends import Backend
from harness.load import K6Run, LoadResult, LoadShape, find_k6

PATHS = ("/version", "/items?limit=10")


@contextlib.contextmanager
def app_url(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from harness.environment import Environment
    from harness.topology import load_topology

    with Environment(load_topology("staging"), Backend.LOCAL, time_scale=1.0) as environment:
        yield environment.endpoints.app_url


def step(url: str, rate: int, seconds: float, reports: Path) -> LoadResult:
    shape = LoadShape(rate=rate, duration=seconds, paths=PATHS, request_timeout=5)
    run = K6Run(
        f"bench-{rate}",
        url,
        shape=shape,
        gate=None,
        html_report=False,
        report_dir=reports / str(rate),
    )
    return run.run()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p95-ms", type=float, default=50.0)
    parser.add_argument("--start-rate", type=int, default=50)
    parser.add_argument("--step-seconds", type=float, default=8.0)
    parser.add_argument("--max-steps", type=int, default=10)
    parser.add_argument("--url", help="a running app's URL (loopback) instead of a new staging")
    parser.add_argument("--reports", type=Path, default=Path("reports") / "bench-load")
    args = parser.parse_args()
    k6 = find_k6()
    print(f"{k6}; {os.cpu_count()} CPUs; P95 limit {args.p95_ms:g} ms; paths {', '.join(PATHS)}")
    best: LoadResult | None = None
    limit_hit = ""
    with app_url(args.url) as url:
        print(f"target {url} (the LoadBalancer address)")
        print(
            f"{'rate/s':>7} {'served/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
            f"{'failed':>6} {'dropped':>7} {'k6 cores':>8} {'k6 share':>8} {'load1':>6}"
        )
        rate = args.start_rate
        for _ in range(args.max_steps):
            result = step(url, rate, args.step_seconds, args.reports.resolve())
            usage = result.k6_usage
            print(
                f"{rate:>7} {result.requests_per_second:>9.1f} {result.latency.p50:>7.1f} "
                f"{result.latency.p95:>7.1f} {result.latency.p99:>7.1f} "
                f"{result.failed_requests:>6} {result.dropped_iterations:>7} "
                f"{usage.cores if usage else 0:>8.2f} {usage.machine_share if usage else 0:>8.0%} "
                f"{result.machine.load_after[0]:>6.2f}",
                flush=True,
            )
            if result.latency.p95 >= args.p95_ms:
                limit_hit = f"P95 {result.latency.p95:.1f} ms at {rate}/s"
            elif result.failed_requests:
                limit_hit = f"{result.failed_requests} failed requests at {rate}/s"
            elif result.dropped_iterations > result.shape.expected_requests * 0.01:
                limit_hit = f"k6 dropped {result.dropped_iterations} iterations at {rate}/s"
            if limit_hit:
                break
            best = result
            rate = int(rate * 1.5)
    if best is None:
        print(f"no step stayed under the limit ({limit_hit})")
        return 1
    usage = best.k6_usage
    print(
        f"\nserved {best.requests_per_second:.0f} req/s through the LoadBalancer at P95 "
        f"{best.latency.p95:.1f} ms (< {args.p95_ms:g} ms), 0 failed; next step: "
        f"{limit_hit or 'not reached (raise --max-steps)'}"
    )
    if usage is not None:
        print(
            f"k6 itself used {usage.cores:.2f} cores ({usage.machine_share:.0%} of the machine's "
            f"{usage.cpu_count} CPUs), peak RSS {usage.peak_rss_mb:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
