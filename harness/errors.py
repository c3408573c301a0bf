"""The harness' one exception tree, sorted by what the caller should do about it.

    HarnessError                      anything the harness raises on purpose
    ├── ConfigurationError            bad input: fix the call, the file or the machine
    │   ├── UnknownBackendError       --harness-backend / backend= names no backend
    │   ├── BinaryNotFoundError       a server binary (postgres, redis-server, k6...) is missing
    │   ├── UnsupportedPlatformError  native Windows, or a platform step is missing
    │   ├── DockerUnavailableError    the docker backend was asked for, no engine answers
    │   ├── ManifestRejectedError     the Kubernetes API refused a manifest; carries its causes
    │   └── NoEnvironmentError        no running environment where one was expected (env.json)
    ├── PortError                     no free loopback port, or a requested port is taken
    ├── ServiceError                  a service did not come up or misbehaved
    │   ├── ProcessExitedError        the process died while we waited; carries its exit code
    │   ├── ReadinessTimeout          the deadline passed before the service was ready
    │   └── WorkloadFailedError       pods cannot run (ErrImagePull, CrashLoopBackOff...)
    └── TeardownError                 one or more finalizers failed; carries every failure

Every readiness failure names the service, the endpoint, the condition, the time waited,
the last error seen and the tail of the service's log, so the message alone tells the story.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BinaryNotFoundError",
    "ConfigurationError",
    "DockerUnavailableError",
    "HarnessError",
    "ManifestRejectedError",
    "NoEnvironmentError",
    "PortError",
    "ProcessExitedError",
    "ReadinessTimeout",
    "ServiceError",
    "TeardownError",
    "UnknownBackendError",
    "UnsupportedPlatformError",
    "WorkloadFailedError",
]


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""


class ConfigurationError(HarnessError):
    """The input or the machine is wrong; retrying will not help."""


class UnknownBackendError(ConfigurationError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(
            f"unknown harness backend {name!r}: choose one of {', '.join(self.known)} "
            "(--harness-backend=... or HARNESS_BACKEND)"
        )


class BinaryNotFoundError(ConfigurationError):
    def __init__(self, binary: str, searched: Sequence[str], hint: str) -> None:
        self.binary = binary
        self.searched = tuple(searched)
        self.hint = hint
        where = ", ".join(self.searched) if self.searched else "PATH"
        super().__init__(f"{binary} not found (searched {where}); {hint}")


class UnsupportedPlatformError(ConfigurationError):
    """The platform cannot run the local backend (native Windows) or needs a manual step."""


class DockerUnavailableError(ConfigurationError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"the docker backend needs a Docker engine, and none answers: {reason}. "
            "Use --harness-backend=local, or start Docker."
        )


class ManifestRejectedError(ConfigurationError):
    """The API server answered a manifest with an error Status (422 Invalid, 400, 404...)."""

    def __init__(
        self, *, resource: str, source: str, status: int, reason: str, causes: Sequence[str]
    ) -> None:
        self.resource = resource
        self.source = source
        self.status = status
        self.reason = reason
        self.causes = tuple(causes)
        message = f"the Kubernetes API rejected {resource}"
        if source:
            message += f" (from {source})"
        message += f": {status} {reason}"
        for cause in self.causes:
            message += f"\n  {cause}"
        super().__init__(message)


class NoEnvironmentError(ConfigurationError):
    """No environment runs where one was expected: env.json is missing, unreadable or stale."""

    def __init__(self, path: str, why: str) -> None:
        self.path = path
        self.why = why
        super().__init__(
            f"no environment is running: {path} {why}; start one with `harness up` "
            "(in the directory that should hold .harness/env.json)"
        )


class PortError(HarnessError):
    def __init__(self, message: str, *, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port
        super().__init__(message)


class ServiceError(HarnessError):
    """A service failed to start, become ready or stop."""

    def __init__(
        self, message: str, *, service: str, endpoint: str = "", log_tail: str = ""
    ) -> None:
        self.service = service
        self.endpoint = endpoint
        self.log_tail = log_tail
        super().__init__(message)


def _with_tail(message: str, log_tail: str, log_path: str) -> str:
    if log_path:
        message += f"\n  log: {log_path}"
    if log_tail.strip():
        indented = "\n".join("    " + line for line in log_tail.rstrip().splitlines())
        message += f"\n  last lines of the log:\n{indented}"
    return message


class ProcessExitedError(ServiceError):
    """The service's process exited while the harness waited for it."""

    def __init__(
        self,
        *,
        service: str,
        endpoint: str,
        exit_code: int,
        waited: float,
        log_tail: str = "",
        log_path: str = "",
    ) -> None:
        self.exit_code = exit_code
        self.waited = waited
        self.log_path = log_path
        how = (
            f"was killed by signal {-exit_code}"
            if exit_code < 0
            else f"exited with code {exit_code}"
        )
        message = (
            f"{service} at {endpoint or '(no endpoint yet)'} {how} "
            f"{waited:.2f}s after start, before it was ready"
        )
        super().__init__(
            _with_tail(message, log_tail, log_path),
            service=service,
            endpoint=endpoint,
            log_tail=log_tail,
        )


class ReadinessTimeout(ServiceError):
    """The deadline passed before the readiness condition held."""

    def __init__(
        self,
        *,
        service: str,
        endpoint: str,
        condition: str,
        waited: float,
        last_error: str | None,
        log_tail: str = "",
        log_path: str = "",
        hint: str = "",
    ) -> None:
        self.condition = condition
        self.waited = waited
        self.last_error = last_error
        self.log_path = log_path
        message = (
            f"{service} at {endpoint} was not ready after {waited:.2f}s: "
            f"waiting for {condition}; last error: {last_error or 'none seen'}"
        )
        if hint:
            message += f"\n  hint: {hint}"
        super().__init__(
            _with_tail(message, log_tail, log_path),
            service=service,
            endpoint=endpoint,
            log_tail=log_tail,
        )


class WorkloadFailedError(ServiceError):
    """Pods of a workload cannot run, and waiting longer will not change it."""

    def __init__(self, message: str, *, service: str, endpoint: str = "", reason: str) -> None:
        self.reason = reason
        super().__init__(message, service=service, endpoint=endpoint)


class TeardownError(HarnessError):
    """Teardown ran every finalizer; these are the ones that failed."""

    def __init__(self, failures: Sequence[tuple[str, BaseException]]) -> None:
        self.failures = tuple(failures)
        lines = [f"  {what}: {type(exc).__name__}: {exc}" for what, exc in self.failures]
        super().__init__(f"{len(self.failures)} teardown step(s) failed:\n" + "\n".join(lines))
