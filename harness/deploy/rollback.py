"""Rollback to a previous revision exactly as `kubectl rollout undo` does it: find the
ReplicaSet of the revision, then one JSON patch of the template and the annotations.

`undo_plan` is the pure part (kubectl's DeploymentRollbacker); `Rollback` sends it and
follows the rollout like any other deploy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.deploy._base import StepFailed, _Run
from harness.deploy._kube import JSON, KubeApi, KubeApiError, PatchKind
from harness.deploy.errors import RollbackFailedError
from harness.deploy.journal import Outcome, Phase, RollbackResult, Strategy
from harness.deploy.rollout import (
    HASH_LABEL,
    RolloutWatch,
    owned_replica_sets,
    revision,
    selector_string,
    templates_equal,
)
from harness.deploy.target import DeployTarget
from harness.errors import ConfigurationError

__all__ = ["Rollback", "UndoPlan", "undo_plan"]

#: annotations kubectl keeps from the Deployment instead of copying them from the ReplicaSet
ANNOTATIONS_TO_SKIP = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)


class RollbackImpossible(ConfigurationError):
    """There is nothing to roll back to, or the Deployment is paused."""


@dataclass(frozen=True)
class UndoPlan:
    """The revision to return to and the JSON patch that does it (None: already there)."""

    from_revision: int | None
    to_revision: int
    replica_set: str
    image: str
    patch: tuple[Mapping[str, Any], ...] | None


def _image(template: Mapping[str, Any]) -> str:
    containers = (template.get("spec") or {}).get("containers") or [{}]
    return str(containers[0].get("image", ""))


def undo_plan(
    deployment: Mapping[str, Any], replica_sets: Sequence[JSON], to_revision: int | None = None
) -> UndoPlan:
    """kubectl's rollback: the ReplicaSet of `to_revision` (default: the second-highest
    revision), and `[replace /spec/template, replace /metadata/annotations]`."""
    name = deployment["metadata"]["name"]
    if (deployment.get("spec") or {}).get("paused"):
        raise RollbackImpossible(
            f"you cannot rollback a paused deployment; resume it first with "
            f"'kubectl rollout resume deployment/{name}' and try again"
        )
    by_revision: dict[int, JSON] = {}
    for rs in owned_replica_sets(deployment, replica_sets):
        number = revision(rs)
        if number is not None:
            by_revision[number] = rs
    if to_revision is None:
        numbers = sorted(by_revision)
        if len(numbers) < 2:
            raise RollbackImpossible(f"no rollout history found for deployment {name!r}")
        to_revision = numbers[-2]
    if to_revision not in by_revision:
        raise RollbackImpossible(
            f"unable to find specified revision {to_revision} in history of deployment {name!r}"
        )
    rs = by_revision[to_revision]
    template: dict[str, Any] = dict(rs["spec"]["template"])
    current = revision(deployment)
    if templates_equal(template, deployment["spec"]["template"]):
        return UndoPlan(current, to_revision, rs["metadata"]["name"], _image(template), None)
    metadata = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if k != HASH_LABEL}
    metadata["labels"] = labels
    template["metadata"] = metadata
    live = deployment["metadata"].get("annotations") or {}
    annotations = {k: v for k, v in live.items() if k in ANNOTATIONS_TO_SKIP}
    annotations.update(
        {
            k: v
            for k, v in (rs["metadata"].get("annotations") or {}).items()
            if k not in ANNOTATIONS_TO_SKIP
        }
    )
    patch = (
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    )
    return UndoPlan(current, to_revision, rs["metadata"]["name"], _image(template), patch)


class Rollback:
    """`kubectl rollout undo` + `kubectl rollout status`, recorded as phases.

    `run()` returns a RollbackResult (outcome SUCCEEDED, or SKIPPED when the Deployment is
    already at that revision) or raises RollbackFailedError naming the report directory.
    """

    def __init__(
        self,
        target: DeployTarget,
        deployment: str,
        *,
        to_revision: int | None = None,
        timeout: float | None = None,
        api: KubeApi | None = None,
    ) -> None:
        self.target = target
        self.deployment = deployment
        self.to_revision = to_revision
        self.timeout = timeout
        self._api = api

    def run(self) -> RollbackResult:
        run = _Run(self.target, self._api)
        try:
            return self._run(run)
        finally:
            run.close()

    def _run(self, run: _Run) -> RollbackResult:
        namespace, name = self.target.namespace, self.deployment
        previous_image = image = ""
        plan: UndoPlan | None = None
        outcome = Outcome.SUCCEEDED
        error = ""
        deployment: JSON = {}
        try:
            with run.journal.phase(Phase.LOCATE_REVISION) as step:
                deployment = run.api.get("Deployment", namespace, name)
                previous_image = _image(deployment["spec"]["template"])
                selector = selector_string(deployment["spec"]["selector"])
                replica_sets = run.api.list("ReplicaSet", namespace, labels=selector)
                plan = undo_plan(deployment, replica_sets, self.to_revision)
                image = plan.image
                step.detail = (
                    f"revision {plan.from_revision} -> {plan.to_revision} "
                    f"(replicaset {plan.replica_set}, {plan.image})"
                )
            if plan.patch is None:
                run.journal.skip(
                    Phase.UNDO,
                    f"skipped rollback (current template already matches revision "
                    f"{plan.to_revision})",
                )
                outcome = Outcome.SKIPPED
            else:
                with run.journal.phase(Phase.UNDO) as step:
                    run.api.patch(
                        "Deployment", namespace, name, plan.patch, patch_kind=PatchKind.JSON
                    )
                    step.detail = f"rolled back to revision {plan.to_revision}"
            with run.journal.phase(Phase.ROLLOUT) as step:
                watch = RolloutWatch(run.api, namespace, name)
                state = watch.wait(run.rollout_deadline(deployment, self.timeout))
                step.detail = state.message
                if not state.complete:
                    raise StepFailed(state.message)
        except (StepFailed, KubeApiError, ConfigurationError) as exc:
            outcome = Outcome.FAILED
            error = str(exc)
        result = self._result(run, outcome, previous_image, image, plan, error)
        if outcome is Outcome.FAILED:
            run.save_diagnostics([name], f"rollback of {name} failed: {error}", result.timeline())
            result = self._result(run, outcome, previous_image, image, plan, error)
            raise RollbackFailedError(
                f"rollback of deployment {namespace}/{name} failed: {error}", result=result
            )
        return result

    def _result(
        self,
        run: _Run,
        outcome: Outcome,
        previous_image: str,
        image: str,
        plan: UndoPlan | None,
        error: str,
    ) -> RollbackResult:
        current = None
        with contextlib.suppress(KubeApiError):
            current = revision(run.api.get("Deployment", self.target.namespace, self.deployment))
        return RollbackResult(
            strategy=Strategy.ROLLBACK,
            namespace=self.target.namespace,
            deployment=self.deployment,
            previous_image=previous_image,
            image=image,
            outcome=outcome,
            phases=run.journal.frozen(),
            time_scale=self.target.time_scale,
            started_at=run.journal.started_at,
            ended_at=dt.datetime.now(dt.UTC),
            revision=current,
            error=error,
            report_dir=run.report_dir,
            from_revision=plan.from_revision if plan else None,
            to_revision=plan.to_revision if plan else None,
        )
