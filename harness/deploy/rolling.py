"""RollingDeploy: a new image set through the Kubernetes API, the rollout followed by its
conditions, and on failure diagnostics saved and the previous revision restored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from harness.deploy._base import StepFailed, _Run
from harness.deploy._kube import JSON, KubeApi, KubeApiError, PatchKind
from harness.deploy.errors import DeployError, RolloutFailedError
from harness.deploy.journal import DeployResult, Outcome, Phase, PhaseStatus, Strategy
from harness.deploy.rollback import Rollback
from harness.deploy.rollout import RolloutFailure, RolloutState, RolloutWatch, revision
from harness.deploy.target import DeployTarget
from harness.errors import ConfigurationError

__all__ = ["RollingDeploy", "container_of", "with_tag"]

CHANGE_CAUSE = "kubernetes.io/change-cause"


def with_tag(image: str, tag: str) -> str:
    """`image` with its tag replaced (a registry port is not a tag)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name = name[:colon]
    return f"{name}:{tag}"


def container_of(deployment: Mapping[str, Any], container: str | None) -> JSON:
    containers = deployment["spec"]["template"]["spec"].get("containers") or []
    if container is None:
        if not containers:
            raise ConfigurationError(
                f"deployment {deployment['metadata']['name']} has no containers"
            )
        return dict(containers[0])
    for candidate in containers:
        if candidate.get("name") == container:
            return dict(candidate)
    names = ", ".join(str(c.get("name")) for c in containers)
    raise ConfigurationError(
        f"deployment {deployment['metadata']['name']} has no container {container!r} "
        f"(it has {names})"
    )


class RollingDeploy:
    """Set `image` (or just `tag`) on one container of a Deployment and follow the rollout
    as `kubectl rollout status` does, failing fast on ProgressDeadlineExceeded or a new pod
    in CrashLoopBackOff, ImagePullBackOff, ErrImagePull or CreateContainerError.

    `progress_deadline_seconds` sets the Deployment's deadline in the same patch;
    `timeout` (wall-clock seconds) bounds the wait (default: the scaled deadline + 30 s).
    On failure the pod logs, events and state go to the report directory and, with
    `auto_rollback`, the previous revision is restored (`kubectl rollout undo`);
    RolloutFailedError then carries the result (outcome ROLLED_BACK or FAILED).
    """

    strategy = Strategy.ROLLING

    def __init__(
        self,
        target: DeployTarget,
        deployment: str,
        *,
        image: str | None = None,
        tag: str | None = None,
        container: str | None = None,
        progress_deadline_seconds: int | None = None,
        timeout: float | None = None,
        auto_rollback: bool = True,
        change_cause: str | None = None,
        api: KubeApi | None = None,
    ) -> None:
        if (image is None) == (tag is None):
            raise ConfigurationError("RollingDeploy needs exactly one of image= or tag=")
        self.target = target
        self.deployment = deployment
        self.image = image
        self.tag = tag
        self.container = container
        self.progress_deadline_seconds = progress_deadline_seconds
        self.timeout = timeout
        self.auto_rollback = auto_rollback
        self.change_cause = change_cause
        self._api = api

    def run(self) -> DeployResult:
        run = _Run(self.target, self._api)
        try:
            return self._run(run)
        finally:
            run.close()

    def _run(self, run: _Run) -> DeployResult:
        namespace, name = self.target.namespace, self.deployment
        with run.journal.phase(Phase.INSPECT) as step:
            deployment = run.api.get("Deployment", namespace, name)
            if (deployment.get("spec") or {}).get("paused"):
                raise ConfigurationError(
                    f"deployment {namespace}/{name} is paused: resume it first"
                )
            container = container_of(deployment, self.container)
            previous = str(container.get("image", ""))
            image = self.image or with_tag(previous, str(self.tag))
            step.detail = f"{container['name']}: {previous} at revision {revision(deployment)}"

        def result(outcome: Outcome, error: str = "") -> DeployResult:
            return DeployResult(
                strategy=self.strategy,
                namespace=namespace,
                deployment=name,
                previous_image=previous,
                image=image,
                outcome=outcome,
                phases=run.journal.frozen(),
                time_scale=self.target.time_scale,
                started_at=run.journal.started_at,
                ended_at=dt.datetime.now(dt.UTC),
                revision=_current_revision(run.api, namespace, name),
                error=error,
                report_dir=run.report_dir,
            )

        unchanged = previous == image and self.progress_deadline_seconds is None
        if unchanged:
            run.journal.skip(Phase.UPDATE_IMAGE, f"{image} is already set")
        else:
            with run.journal.phase(Phase.UPDATE_IMAGE) as step:
                deployment = run.api.patch(
                    "Deployment",
                    namespace,
                    name,
                    self._patch(str(container["name"]), image),
                    patch_kind=PatchKind.STRATEGIC,
                )
                step.detail = (
                    f"{previous} -> {image} (generation {deployment['metadata'].get('generation')})"
                )
        state = RolloutState(False, "not started")
        try:
            with run.journal.phase(Phase.ROLLOUT) as step:
                watch = RolloutWatch(run.api, namespace, name)
                state = watch.wait(run.rollout_deadline(deployment, self.timeout))
                step.detail = state.message
                if not state.complete:
                    raise StepFailed(state.message)
        except (StepFailed, KubeApiError) as exc:
            failure = state.failure or RolloutFailure.TIMEOUT
            message = f"rollout of {image} to deployment {namespace}/{name} failed: {exc}"
            run.save_diagnostics([name], message, result(Outcome.FAILED, str(exc)).timeline())
            outcome = (
                self._roll_back(run) if self.auto_rollback and not unchanged else Outcome.FAILED
            )
            final = result(outcome, str(exc))
            undone = (
                f"; rolled back to {previous}"
                if outcome is Outcome.ROLLED_BACK
                else "; NOT rolled back"
                if self.auto_rollback
                else ""
            )
            raise RolloutFailedError(message + undone, result=final, failure=failure) from None
        return result(Outcome.SKIPPED if unchanged else Outcome.SUCCEEDED)

    def _patch(self, container: str, image: str) -> dict[str, Any]:
        patch: dict[str, Any] = {
            "spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}
        }
        if self.progress_deadline_seconds is not None:
            patch["spec"]["progressDeadlineSeconds"] = self.progress_deadline_seconds
        if self.change_cause:
            patch["metadata"] = {"annotations": {CHANGE_CAUSE: self.change_cause}}
        return patch

    def _roll_back(self, run: _Run) -> Outcome:
        with run.journal.phase(Phase.ROLLBACK) as step:
            try:
                undone = Rollback(
                    self.target, self.deployment, timeout=self.timeout, api=run.api
                ).run()
            except DeployError as exc:
                step.status = PhaseStatus.FAILED
                step.detail = f"failed: {str(exc).splitlines()[0]}"
                run.report_dir = run.report_dir or exc.report_dir
                return Outcome.FAILED
            step.detail = (
                f"revision {undone.from_revision} -> {undone.to_revision} ({undone.image}): "
                f"{undone.outcome.value}"
            )
        return Outcome.ROLLED_BACK


def _current_revision(api: KubeApi, namespace: str, name: str) -> int | None:
    try:
        return revision(api.get("Deployment", namespace, name))
    except KubeApiError:
        return None
