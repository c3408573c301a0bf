"""The load shape of a k6 run: a constant arrival rate for a duration, the VUs that carry
it and the paths requested, handed to the k6 script as environment variables."""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.errors import ConfigurationError

__all__ = ["LoadShape"]

#: no run of the harness lasts longer than this, whatever the caller asks
MAX_DURATION = 600.0
MAX_RATE = 20000


@dataclass(frozen=True)
class LoadShape:
    """`rate` requests per second for `duration` seconds (k6's constant-arrival-rate: a new
    iteration starts on schedule whether or not the last one answered, so a slower release
    does not lower the load). Each iteration requests one of `paths`, in turn.

    `vus` are allocated up front, up to `max_vus` when responses slow down; when even those
    are busy k6 drops iterations, and the result says how many (`dropped_iterations`).
    """

    rate: int = 20
    duration: float = 10.0
    paths: tuple[str, ...] = ("/",)
    vus: int | None = None
    max_vus: int | None = None
    request_timeout: float = 10.0
    graceful_stop: float = 5.0
    method: str = "GET"
    body_bytes: int = 0
    reuse_connections: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.rate <= MAX_RATE:
            raise ConfigurationError(f"load rate {self.rate}/s: choose 1 to {MAX_RATE}")
        if not 0 < self.duration <= MAX_DURATION:
            raise ConfigurationError(
                f"load duration {self.duration}s: choose more than 0 and at most {MAX_DURATION:g}"
            )
        if not self.paths or any(not path.startswith("/") or "," in path for path in self.paths):
            raise ConfigurationError(
                f"load paths {self.paths!r}: give one or more paths starting with / (no commas)"
            )
        if self.method not in ("GET", "POST", "PUT"):
            raise ConfigurationError(f"load method {self.method!r}: GET, POST or PUT")
        if not 0 <= self.body_bytes <= 16 * 2**20:
            raise ConfigurationError(f"load body of {self.body_bytes} bytes: 0 to 16 MiB")
        if self.request_timeout <= 0 or self.graceful_stop < 0:
            raise ConfigurationError("request_timeout must be > 0 and graceful_stop >= 0")

    @property
    def preallocated_vus(self) -> int:
        # Enough for responses of about 200 ms at this rate; more are started on demand,
        # but k6 drops iterations while it starts them.
        return self.vus or min(100, max(5, math.ceil(self.rate / 5)))

    @property
    def maximum_vus(self) -> int:
        return max(self.max_vus or min(1000, max(50, self.rate)), self.preallocated_vus)

    @property
    def expected_requests(self) -> int:
        return math.floor(self.rate * self.duration)

    def k6_env(self, target_url: str) -> dict[str, str]:
        """What the scripts of fixtures/k6/ read from __ENV."""
        return {
            "TARGET_URL": target_url.rstrip("/"),
            "PATHS": ",".join(self.paths),
            "RATE": str(self.rate),
            "DURATION": f"{self.duration:g}s",
            "VUS": str(self.preallocated_vus),
            "MAX_VUS": str(self.maximum_vus),
            "REQUEST_TIMEOUT": f"{self.request_timeout:g}s",
            "GRACEFUL_STOP": f"{self.graceful_stop:g}s",
            "METHOD": self.method,
            "BODY_BYTES": str(self.body_bytes),
            "NO_CONNECTION_REUSE": "false" if self.reuse_connections else "true",
        }

    def __str__(self) -> str:
        paths = ", ".join(self.paths)
        body = f" ({self.body_bytes} B bodies)" if self.body_bytes else ""
        fresh = "" if self.reuse_connections else ", a new connection each"
        return f"{self.rate} req/s for {self.duration:g}s: {self.method} {paths}{body}{fresh}"
