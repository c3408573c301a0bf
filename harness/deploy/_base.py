"""What every strategy shares while it runs: the API, the journal, the deadline of a
rollout, and saving diagnostics to the report directory when something fails."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness._wait import Deadline
from harness.deploy._kube import JSON, KubeApi
from harness.deploy.diagnostics import collect_diagnostics
from harness.deploy.journal import Journal, Phase
from harness.deploy.target import DeployTarget

#: wall-clock seconds a rollout wait adds to the Deployment's own (scaled) progress deadline
DEADLINE_MARGIN = 30.0


class StepFailed(Exception):
    """A phase failed for a reason its message gives; the strategy decides what follows."""


class _Run:
    def __init__(self, target: DeployTarget, api: KubeApi | None = None) -> None:
        self.target = target
        self.api = api or target.api()
        self._owns_api = api is None
        self.journal = Journal()
        self.report_dir: Path | None = None

    def close(self) -> None:
        if self._owns_api:
            self.api.close()

    def rollout_deadline(self, deployment: JSON, timeout: float | None) -> Deadline:
        if timeout is None:
            seconds = int((deployment.get("spec") or {}).get("progressDeadlineSeconds", 600))
            timeout = self.target.real(seconds) + DEADLINE_MARGIN
        return Deadline.after(timeout)

    def save_diagnostics(self, deployments: Sequence[str], reason: str, timeline: str) -> Path:
        with self.journal.phase(Phase.DIAGNOSTICS) as step:
            report = collect_diagnostics(
                self.api,
                self.target.namespace,
                deployments,
                self.target.report_dir(),
                reason=reason,
                timeline=timeline,
            )
            step.detail = f"{len(report.files)} files in {report.directory}"
            if report.errors:
                step.detail += f"; not collected: {'; '.join(report.errors)}"
        self.report_dir = report.directory
        return report.directory
