"""The errors a deploy raises, each carrying the frozen result and the report directory.

HarnessError
└── DeployError                the deploy did not reach its goal; .result, .report_dir
    ├── RolloutFailedError     the new release did not roll out (.failure says why)
    ├── BlueGreenAbortedError  a check before the switch failed; traffic never moved
    └── RollbackFailedError    returning to the previous revision failed too
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.deploy.journal import DeployResult
    from harness.deploy.rollout import RolloutFailure

__all__ = ["BlueGreenAbortedError", "DeployError", "RollbackFailedError", "RolloutFailedError"]


class DeployError(HarnessError):
    """A deploy failed. The message tells what happened, what was undone and where the
    pod logs, events and object state were saved."""

    def __init__(self, message: str, *, result: DeployResult) -> None:
        self.result = result
        self.report_dir: Path | None = result.report_dir
        if result.report_dir is not None:
            message += f"\n  pod logs, events and state saved in {result.report_dir}"
        message += "\n" + "\n".join("  " + line for line in result.timeline().splitlines())
        super().__init__(message)


class RolloutFailedError(DeployError):
    def __init__(self, message: str, *, result: DeployResult, failure: RolloutFailure) -> None:
        self.failure = failure
        super().__init__(message, result=result)


class BlueGreenAbortedError(DeployError):
    """Green failed a check before the Service moved: blue still serves."""


class RollbackFailedError(DeployError):
    """The rollback did not complete: the Deployment may be half-way; see the report."""
