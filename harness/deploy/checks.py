"""HTTP checks a deploy sends: smoke requests to one pod, requests through a Service's
load-balancer address, and the address itself read from the Service's status.

One connection per request (no keep-alive), so every request is routed afresh.
"""

from __future__ import annotations

import dataclasses
import http.client
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CheckResult", "SmokeCheck", "send_check", "service_address"]


@dataclass(frozen=True)
class SmokeCheck:
    """A request and what its answer must be: the status, and text the body must hold."""

    path: str = "/"
    method: str = "GET"
    expect_status: int = 200
    body_contains: str = ""
    timeout: float = 5.0

    def for_image(self, image: str) -> SmokeCheck:
        """This check with `{tag}` and `{image}` in its path and body text filled in."""
        last = image.rsplit("/", 1)[-1]
        tag = last.rsplit(":", 1)[1] if ":" in last else "latest"

        def fill(text: str) -> str:
            return text.replace("{tag}", tag).replace("{image}", image)

        return dataclasses.replace(
            self, path=fill(self.path), body_contains=fill(self.body_contains)
        )

    def __str__(self) -> str:
        what = f"{self.method} {self.path} -> {self.expect_status}"
        return what + (f" with {self.body_contains!r}" if self.body_contains else "")


@dataclass(frozen=True)
class CheckResult:
    check: SmokeCheck
    address: str
    status: int | None
    body: str
    error: str
    elapsed: float

    @property
    def ok(self) -> bool:
        return (
            not self.error
            and self.status == self.check.expect_status
            and self.check.body_contains in self.body
        )

    def __str__(self) -> str:
        got = self.error or f"{self.status} {self.body[:120]!r}"
        return f"{self.check.method} http://{self.address}{self.check.path}: {got}"


def send_check(host: str, port: int, check: SmokeCheck) -> CheckResult:
    began = time.monotonic()
    address = f"{host}:{port}"
    connection = http.client.HTTPConnection(host, port, timeout=check.timeout)
    try:
        connection.request(check.method, check.path, headers={"Connection": "close"})
        response = connection.getresponse()
        body = response.read(64 * 1024).decode(errors="replace")
        return CheckResult(check, address, response.status, body, "", time.monotonic() - began)
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        return CheckResult(check, address, None, "", error, time.monotonic() - began)
    finally:
        connection.close()


def service_address(service: Mapping[str, Any], port_name: str | None = None) -> tuple[str, int]:
    """Where users reach a Service: its load-balancer address (ip or hostname) when it has
    one, else its ClusterIP; with the Service port named `port_name` (default: the first)."""
    ports = (service.get("spec") or {}).get("ports") or []
    if not ports:
        raise ValueError(f"service {service['metadata']['name']} has no ports")
    port = next((p for p in ports if p.get("name") == port_name), ports[0])
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if ingress and (ingress[0].get("ip") or ingress[0].get("hostname")):
        return str(ingress[0].get("ip") or ingress[0]["hostname"]), int(port["port"])
    cluster_ip = (service.get("spec") or {}).get("clusterIP")
    if not cluster_ip or cluster_ip == "None":
        raise ValueError(f"service {service['metadata']['name']} has no address")
    return str(cluster_ip), int(port["port"])
