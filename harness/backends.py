"""The backends a service or environment can run on, and how a name becomes one."""

from __future__ import annotations

import enum

from harness import settings
from harness.errors import UnknownBackendError

__all__ = ["Backend", "resolve_backend"]

BACKEND_ENV = settings.BACKEND.name


class Backend(enum.Enum):
    LOCAL = "local"
    DOCKER = "docker"

    def __str__(self) -> str:
        return self.value


def resolve_backend(name: str | Backend | None = None) -> Backend:
    """`name`, else HARNESS_BACKEND, else local. Unknown names are an error, never a guess."""
    if isinstance(name, Backend):
        return name
    chosen = name if name is not None else settings.backend_name() or Backend.LOCAL.value
    try:
        return Backend(chosen.strip().lower())
    except ValueError:
        raise UnknownBackendError(chosen, [b.value for b in Backend]) from None
