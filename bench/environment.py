"""Benchmark: the staging environment from infrastructure/, cold and warm, at time scale 0.1.

Cold is the first Environment.start() in a fresh process (imports, template caches as the
machine has them); warm is a second environment in the same process. Never asserted.
"""

from __future__ import annotations

import argparse
import sys
import time

from harness.environment import Environment
from harness.topology import load_topology

TARGETS = {"cold": 5.0, "warm": 3.0}


def _one(env_name: str, label: str, scale: float, verbose: bool) -> float:
    def progress(component: str, phase: str, seconds: float) -> None:
        if verbose and not phase.startswith("warning"):
            print(f"    {seconds:6.2f}s {component:<10} {phase}", flush=True)

    began = time.monotonic()
    environment = Environment(
        load_topology(env_name), time_scale=scale, name=f"bench-{label}", progress=progress
    )
    environment.start()
    took = time.monotonic() - began
    parts = ", ".join(f"{k} {v:.2f}s" for k, v in environment.timings.items())
    stop_began = time.monotonic()
    environment.stop()
    stop = time.monotonic() - stop_began
    target = TARGETS[label.rstrip("0123456789")]
    verdict = "ok" if took <= target else "MISSED"
    print(
        f"{label:<6} {env_name}: all ready in {took:.2f}s (target <= {target:g}s: {verdict}); "
        f"stop {stop:.2f}s\n       ready at: {parts}",
        flush=True,
    )
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="staging")
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--warm-runs", type=int, default=2)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    cold = _one(args.env, "cold", args.time_scale, args.verbose)
    warm = [
        _one(args.env, f"warm{i + 1}", args.time_scale, args.verbose)
        for i in range(max(1, args.warm_runs))
    ]
    print(f"summary: cold {cold:.2f}s, warm best {min(warm):.2f}s (time scale {args.time_scale:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
