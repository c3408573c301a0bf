"""The one contract every service follows: start() -> Self, idempotent stop(), context manager.

A failed start tears down what it started before re-raising; stop() runs every finalizer
even when one fails and then reports them all.
"""

from __future__ import annotations

import enum
import importlib
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Self

from harness._wait import Deadline
from harness.backends import Backend, resolve_backend
from harness.errors import HarnessError, TeardownError

__all__ = ["BackendChoice", "Lifecycle", "Service"]


class BackendChoice:
    """Mixin for public service classes: `PostgresService(..., backend="docker")` builds the
    backend's variant (LocalPostgres, DockerPostgres). Variants are named "module:Class" and
    imported on first use, so testcontainers is only imported when docker is chosen.
    Every variant's __init__ accepts and ignores `backend`.
    """

    _variants: ClassVar[dict[Backend, str]]

    def __new__(cls, *args: Any, backend: str | Backend | None = None, **kwargs: Any) -> Any:
        if "_variants" in cls.__dict__:
            module_name, _, class_name = cls._variants[resolve_backend(backend)].partition(":")
            variant: type = getattr(importlib.import_module(module_name), class_name)
            return object.__new__(variant)
        return object.__new__(cls)


class Lifecycle(enum.Enum):
    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    STOPPED = "stopped"


class Service:
    """Base of PostgresService, RedisService, AwsService and the cluster services."""

    #: what the service is called in errors and logs
    kind: str = "service"
    default_timeout: float = 30.0

    def __init__(self) -> None:
        self.state = Lifecycle.NEW
        self._finalizers: list[tuple[str, Callable[[], object]]] = []
        self._lifecycle_lock = threading.RLock()

    # -- what a concrete service implements -------------------------------------------
    # Not abc.abstractmethod: public classes such as PostgresService are instantiated
    # (BackendChoice builds the backend's variant), and type checkers must allow that.
    def _start(self, deadline: Deadline) -> None:
        """Start the service and register finalizers with `self.on_stop` as things come up."""
        raise NotImplementedError

    def wait_ready(self, deadline: Deadline | None = None) -> None:
        """Block until the service answers, or raise a ReadinessTimeout / ProcessExitedError."""
        raise NotImplementedError

    @property
    def endpoint(self) -> str:
        """host:port (or the equivalent) clients connect to."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        """A connection URL a client library accepts."""
        raise NotImplementedError

    # -- the contract --------------------------------------------------------------------
    def on_stop(self, what: str, finalizer: Callable[[], object]) -> None:
        """Register a finalizer; they run in reverse order at stop()."""
        self._finalizers.append((what, finalizer))

    def start(self, timeout: float | None = None) -> Self:
        with self._lifecycle_lock:
            if self.state is Lifecycle.RUNNING:
                return self
            if self.state is not Lifecycle.NEW:
                raise HarnessError(
                    f"{self.kind} is {self.state.value}; a stopped service cannot be restarted, "
                    "create a new one"
                )
            self.state = Lifecycle.STARTING
            deadline = Deadline.after(self.default_timeout if timeout is None else timeout)
            try:
                self._start(deadline)
                self.wait_ready(deadline)
            except BaseException as exc:
                try:
                    self._run_finalizers()
                except TeardownError as teardown:
                    exc.add_note(str(teardown))
                self.state = Lifecycle.STOPPED
                raise
            self.state = Lifecycle.RUNNING
            return self

    def stop(self) -> None:
        with self._lifecycle_lock:
            if self.state in (Lifecycle.NEW, Lifecycle.STOPPED):
                self.state = Lifecycle.STOPPED
                return
            self.state = Lifecycle.STOPPED
            self._run_finalizers()

    def _run_finalizers(self) -> None:
        failures: list[tuple[str, BaseException]] = []
        while self._finalizers:
            what, finalizer = self._finalizers.pop()
            try:
                finalizer()
            except Exception as exc:
                failures.append((what, exc))
        if failures:
            raise TeardownError(failures)

    @property
    def running(self) -> bool:
        return self.state is Lifecycle.RUNNING

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        endpoint = self.endpoint if self.state is Lifecycle.RUNNING else "-"
        return f"<{type(self).__name__} {self.state.value} {endpoint}>"
