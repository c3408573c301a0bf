"""The journal of a deploy: typed phases with enum statuses, kept as frozen records.

Every strategy writes its phases here as they happen and returns a frozen result holding
the timeline, the outcome and the time scale the cluster ran at.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BlueGreenResult",
    "DeployResult",
    "Journal",
    "Outcome",
    "Phase",
    "PhaseRecord",
    "PhaseStatus",
    "RollbackResult",
    "Strategy",
]


class Strategy(enum.Enum):
    ROLLING = "rolling"
    BLUE_GREEN = "blue-green"
    ROLLBACK = "rollback"


class Phase(enum.Enum):
    """A step of a deploy, in the order strategies run them."""

    INSPECT = "inspect"  # read the live Deployment (and Service) and what serves now
    UPDATE_IMAGE = "update-image"  # the new image set through the API
    ROLLOUT = "rollout"  # followed by its conditions until complete or failed
    PIN_BLUE = "pin-blue"  # blue labelled with its colour, the Service selector pinned to it
    DEPLOY_GREEN = "deploy-green"  # green Deployment created or updated next to blue
    GREEN_READY = "green-ready"  # green rolled out and available
    SMOKE_GREEN = "smoke-green"  # requests sent to a green pod directly
    CHECK_BLUE = "check-blue"  # the serving release still answers while green runs
    SWITCH = "switch"  # the Service selector moved to the other colour
    VERIFY_TRAFFIC = "verify-traffic"  # the load-balancer address reaches the new colour
    SCALE_UP = "scale-up"  # the idle colour scaled back up before a switch back
    SCALE_DOWN = "scale-down"  # the idle colour scaled to zero after the delay
    LOCATE_REVISION = "locate-revision"  # the ReplicaSet of the revision to return to
    UNDO = "undo"  # the JSON patch of `kubectl rollout undo`
    ROLLBACK = "rollback"  # automatic: the failed change undone
    CLEANUP = "cleanup"  # what a failed attempt left removed
    DIAGNOSTICS = "diagnostics"  # logs, events and state saved to the report directory


class PhaseStatus(enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class Outcome(enum.Enum):
    """How a deploy ended, from the point of view of the users of the app."""

    SUCCEEDED = "succeeded"  # the new release serves
    ROLLED_BACK = "rolled-back"  # it failed; the previous release serves again
    ABORTED = "aborted"  # a check before the switch failed; traffic never moved
    FAILED = "failed"  # it failed and could not be undone: look at the report
    SKIPPED = "skipped"  # nothing to do (already at that revision)


@dataclass(frozen=True)
class PhaseRecord:
    phase: Phase
    status: PhaseStatus
    started_at: dt.datetime
    ended_at: dt.datetime
    detail: str = ""

    @property
    def duration(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    def __str__(self) -> str:
        return f"{self.phase.value:<16} {self.status.value:<9} {self.duration:7.2f}s  {self.detail}"


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did: its phases in order, how it ended, and at which time scale
    (Kubernetes seconds are multiplied by `time_scale` on the simulator; 1.0 elsewhere)."""

    strategy: Strategy
    namespace: str
    deployment: str
    previous_image: str
    image: str
    outcome: Outcome
    phases: tuple[PhaseRecord, ...]
    time_scale: float
    started_at: dt.datetime
    ended_at: dt.datetime
    revision: int | None = None  # the Deployment's revision when it ended
    error: str = ""
    report_dir: Path | None = None

    @property
    def duration(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def succeeded(self) -> bool:
        return self.outcome is Outcome.SUCCEEDED

    def phase(self, phase: Phase) -> PhaseRecord | None:
        """The last record of `phase`, or None when it did not run."""
        for record in reversed(self.phases):
            if record.phase is phase:
                return record
        return None

    def ran(self, phase: Phase) -> bool:
        record = self.phase(phase)
        return record is not None and record.status is not PhaseStatus.SKIPPED

    @property
    def failed_phase(self) -> PhaseRecord | None:
        return next((r for r in self.phases if r.status is PhaseStatus.FAILED), None)

    def timeline(self) -> str:
        """The phases as a table, one a line."""
        head = (
            f"{self.strategy.value} {self.namespace}/{self.deployment}: {self.previous_image} -> "
            f"{self.image}: {self.outcome.value} in {self.duration:.2f}s "
            f"(time scale {self.time_scale:g})"
        )
        return "\n".join([head, *(f"  {record}" for record in self.phases)])


@dataclass(frozen=True)
class BlueGreenResult(DeployResult):
    """A blue-green deploy: which Deployment was blue, which green, and which serves now."""

    blue: str = ""
    green: str = ""
    serving: str = ""  # the Deployment the Service selects at the end
    switched_at: dt.datetime | None = None


@dataclass(frozen=True)
class RollbackResult(DeployResult):
    """A rollback: the revision it left and the one it returned to."""

    from_revision: int | None = None
    to_revision: int | None = None


@dataclass
class _OpenPhase:
    phase: Phase
    started_at: dt.datetime
    detail: str = ""
    status: PhaseStatus = PhaseStatus.SUCCEEDED


@dataclass
class Journal:
    """The mutable recorder a strategy writes while it runs; results copy it frozen."""

    records: list[PhaseRecord] = field(default_factory=list)
    started_at: dt.datetime = field(default_factory=lambda: _now())
    started_mono: float = field(default_factory=time.monotonic)

    @contextlib.contextmanager
    def phase(self, phase: Phase, detail: str = "") -> Iterator[_OpenPhase]:
        """Record `phase` around the block: SUCCEEDED, or FAILED when it raises (the
        exception's text becomes the detail unless the block set one), then re-raise."""
        step = _OpenPhase(phase, _now(), detail)
        try:
            yield step
        except BaseException as exc:
            self.records.append(
                PhaseRecord(
                    phase, PhaseStatus.FAILED, step.started_at, _now(), step.detail or _first(exc)
                )
            )
            raise
        self.records.append(PhaseRecord(phase, step.status, step.started_at, _now(), step.detail))

    def skip(self, phase: Phase, detail: str) -> None:
        now = _now()
        self.records.append(PhaseRecord(phase, PhaseStatus.SKIPPED, now, now, detail))

    def frozen(self) -> tuple[PhaseRecord, ...]:
        return tuple(self.records)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _first(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
