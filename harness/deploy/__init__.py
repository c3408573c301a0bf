"""Deploy strategies that scenarios run against an environment: rolling update, blue-green
with switch back, and rollback to a previous revision, each returning a typed timeline.

They speak only the Kubernetes API (through a kubeconfig), so they run unchanged against
the embedded simulator, kind or EKS:

    target = DeployTarget.of(staging)                      # kubeconfig, namespace, time scale
    result = RollingDeploy(target, "aicode-api", tag="1.1.0").run()
    print(result.timeline())

Failures raise DeployError subclasses (see harness.deploy.errors) carrying the result;
their message names the report directory holding pod logs, events and object state.
"""

from harness.deploy.baseline import AppBaseline, BaselineRestoreError
from harness.deploy.bluegreen import BlueGreenDeploy, Colour
from harness.deploy.checks import CheckResult, SmokeCheck, send_check, service_address
from harness.deploy.diagnostics import REPORTS_ENV, DiagnosticsReport, report_directory
from harness.deploy.errors import (
    BlueGreenAbortedError,
    DeployError,
    RollbackFailedError,
    RolloutFailedError,
)
from harness.deploy.journal import (
    BlueGreenResult,
    DeployResult,
    Outcome,
    Phase,
    PhaseRecord,
    PhaseStatus,
    RollbackResult,
    Strategy,
)
from harness.deploy.rollback import Rollback, RollbackImpossible, UndoPlan, undo_plan
from harness.deploy.rolling import RollingDeploy, with_tag
from harness.deploy.rollout import RolloutFailure, RolloutState, RolloutWatch, rollout_state
from harness.deploy.target import DeployTarget
from harness.deploy.traffic import RequestRecord, SteadyTraffic, TrafficReport

__all__ = [
    "REPORTS_ENV",
    "AppBaseline",
    "BaselineRestoreError",
    "BlueGreenAbortedError",
    "BlueGreenDeploy",
    "BlueGreenResult",
    "CheckResult",
    "Colour",
    "DeployError",
    "DeployResult",
    "DeployTarget",
    "DiagnosticsReport",
    "Outcome",
    "Phase",
    "PhaseRecord",
    "PhaseStatus",
    "RequestRecord",
    "Rollback",
    "RollbackFailedError",
    "RollbackImpossible",
    "RollbackResult",
    "RollingDeploy",
    "RolloutFailedError",
    "RolloutFailure",
    "RolloutState",
    "RolloutWatch",
    "SmokeCheck",
    "SteadyTraffic",
    "Strategy",
    "TrafficReport",
    "UndoPlan",
    "report_directory",
    "rollout_state",
    "send_check",
    "service_address",
    "undo_plan",
    "with_tag",
]
