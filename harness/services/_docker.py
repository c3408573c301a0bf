"""Whether a Docker engine answers, for the docker variants and for skipping their tests."""

from __future__ import annotations

import functools

from harness.errors import DockerUnavailableError

__all__ = ["docker_unavailable_reason", "require_docker"]


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
