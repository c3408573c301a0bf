"""Whether a Docker engine answers, for the docker variants and for skipping their tests."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from harness._wait import Deadline, wait_until
from harness.errors import DockerUnavailableError, ServiceError

__all__ = ["container_logs", "docker_unavailable_reason", "require_docker", "wait_for_container"]


@functools.lru_cache(maxsize=1)
def docker_unavailable_reason() -> str | None:
    """None when an engine answers a ping; otherwise why not, in one line."""
    try:
        import docker
    except ImportError:
        return "the docker Python package is not installed (pip install 'harness[test]')"
    try:
        client = docker.from_env(timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"no Docker engine answers ({text[:200]})"
    return None


def require_docker() -> None:
    reason = docker_unavailable_reason()
    if reason is not None:
        raise DockerUnavailableError(reason)


def container_logs(container: Any, lines: int | None = None) -> str:
    """A testcontainers container's stdout and stderr (the last `lines` when given)."""
    if container is None:
        return ""
    try:
        stdout, stderr = container.get_logs()
    except Exception as exc:  # diagnostics only: never hide the error being reported
        return f"(no container logs: {exc})"
    text = (bytes(stdout) + bytes(stderr)).decode("utf-8", errors="replace")
    return text if lines is None else "\n".join(text.splitlines()[-lines:])


def wait_for_container(
    check: Callable[[], object],
    *,
    container: Any,
    deadline: Deadline,
    service: str,
    endpoint: str,
    condition: str,
) -> None:
    """wait_until for a service in a container: a failure carries the container's log tail."""
    try:
        wait_until(
            check, deadline=deadline, service=service, endpoint=endpoint, condition=condition
        )
    except ServiceError as exc:
        exc.add_note(f"container log tail:\n{container_logs(container, 20)}")
        raise
