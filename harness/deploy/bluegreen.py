"""BlueGreenDeploy: a green Deployment next to blue, checked, then the Service selector
switched, traffic verified through the load balancer, blue kept for an instant switch back.

Colours live in one pod label (`colour` by default). A Deployment that has none yet is blue:
the first blue-green deploy labels its pods (one rolling update) and pins the Service to
them, so green pods never take traffic before the switch. Names: blue keeps the base name
(`aicode-api`), green is `<base>-green`.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness._wait import Deadline
from harness.deploy._base import StepFailed, _Run
from harness.deploy._kube import JSON, KubeApi, KubeApiError, PatchKind
from harness.deploy.checks import CheckResult, SmokeCheck, send_check, service_address
from harness.deploy.errors import BlueGreenAbortedError, DeployError
from harness.deploy.journal import BlueGreenResult, Outcome, Phase, Strategy
from harness.deploy.rolling import container_of, with_tag
from harness.deploy.rollout import HASH_LABEL, RolloutWatch, revision
from harness.deploy.target import DeployTarget
from harness.errors import ConfigurationError

__all__ = ["BlueGreenDeploy", "Colour"]

COLOURS = ("blue", "green")
#: requests in a row that must pass through the load balancer to count the switch verified
VERIFY_IN_A_ROW = 5
#: times each check is sent to the serving colour through the Service (it balances over pods)
CHECK_REPEATS = 3


@dataclass(frozen=True)
class Colour:
    """One side of a blue-green pair: its colour and its Deployment's name."""

    name: str
    deployment: str

    @classmethod
    def of(cls, base: str, colour: str) -> Colour:
        return cls(colour, base if colour == "blue" else f"{base}-{colour}")


def _other(colour: str) -> str:
    return COLOURS[1 - COLOURS.index(colour)]


def _base_name(name: str) -> str:
    for colour in COLOURS:
        if name.endswith(f"-{colour}"):
            return name[: -len(colour) - 1]
    return name


class BlueGreenDeploy:
    """Deploy `image` (or `tag`) as green next to the serving Deployment, then switch.

    Phases: INSPECT, PIN_BLUE (first time only), DEPLOY_GREEN, GREEN_READY, SMOKE_GREEN
    (`smoke` checks against one green pod's IP directly; default: its readiness probe),
    CHECK_BLUE (`serving_checks` through the Service while it still selects blue: a green
    that breaks the serving release, e.g. by a migration, aborts here), SWITCH, VERIFY_TRAFFIC
    (after `propagation_delay` Kubernetes seconds, `VERIFY_IN_A_ROW` requests through the
    load balancer must pass `marker`, e.g. `SmokeCheck("/version", body_contains="{tag}")`),
    then SCALE_DOWN of blue after `scale_down_delay` Kubernetes seconds (None: keep blue
    running; `switch_back()` is then instant, and `scale_down_idle()` retires it later).

    A failure before the switch deletes green and raises BlueGreenAbortedError (traffic
    never moved); a failed verification switches back and raises DeployError. Either way
    the pod logs, events and state are saved to the report directory first.
    """

    strategy = Strategy.BLUE_GREEN

    def __init__(
        self,
        target: DeployTarget,
        deployment: str,
        *,
        image: str | None = None,
        tag: str | None = None,
        service: str | None = None,
        container: str | None = None,
        colour_label: str = "colour",
        smoke: Sequence[SmokeCheck] = (),
        serving_checks: Sequence[SmokeCheck] | None = None,
        marker: SmokeCheck | None = None,
        propagation_delay: float = 6.0,
        scale_down_delay: float | None = 30.0,
        timeout: float | None = None,
        api: KubeApi | None = None,
    ) -> None:
        if (image is None) == (tag is None):
            raise ConfigurationError("BlueGreenDeploy needs exactly one of image= or tag=")
        self.target = target
        self.base = _base_name(deployment)
        self.image = image
        self.tag = tag
        self.service = service or self.base
        self.container = container
        self.colour_label = colour_label
        self.smoke = tuple(smoke)
        self.serving_checks = tuple(serving_checks) if serving_checks is not None else None
        self.marker = marker
        self.propagation_delay = propagation_delay
        self.scale_down_delay = scale_down_delay
        self.timeout = timeout
        self._api = api
        self.blue: Colour | None = None
        self.green: Colour | None = None
        self.blue_image = ""
        self.green_image = ""
        self.result: BlueGreenResult | None = None

    # -- the deploy -----------------------------------------------------------------------
    def run(self) -> BlueGreenResult:
        run = _Run(self.target, self._api)
        try:
            return self._run(run)
        finally:
            run.close()

    def _run(self, run: _Run) -> BlueGreenResult:
        namespace = self.target.namespace
        with run.journal.phase(Phase.INSPECT) as step:
            service = run.api.get("Service", namespace, self.service)
            selector = dict((service.get("spec") or {}).get("selector") or {})
            live_colour = selector.get(self.colour_label, "blue")
            if live_colour not in COLOURS:
                raise ConfigurationError(
                    f"service {self.service} selects {self.colour_label}={live_colour}; "
                    f"expected one of {', '.join(COLOURS)}"
                )
            self.blue = Colour.of(self.base, live_colour)
            self.green = Colour.of(self.base, _other(live_colour))
            blue = run.api.get("Deployment", namespace, self.blue.deployment)
            container = container_of(blue, self.container)
            self.blue_image = str(container.get("image", ""))
            self.green_image = self.image or with_tag(self.blue_image, str(self.tag))
            step.detail = (
                f"service {self.service} serves {self.blue.deployment} ({self.blue.name}, "
                f"{self.blue_image}); {self.green.name} will be {self.green.deployment} "
                f"with {self.green_image}"
            )
        blue_colour, green_colour = self.blue, self.green
        switched_at: dt.datetime | None = None

        def result(outcome: Outcome, serving: Colour, error: str = "") -> BlueGreenResult:
            return self._result(run, outcome, serving, error, switched_at)

        try:
            self._pin_blue(run, blue, selector)
            with run.journal.phase(Phase.DEPLOY_GREEN) as step:
                green = self._green_document(blue, str(container["name"]))
                step.detail = self._apply_green(run, green)
            self._wait_ready(run, Phase.GREEN_READY, green_colour.deployment)
            with run.journal.phase(Phase.SMOKE_GREEN) as step:
                step.detail = self._smoke_green(run, service)
            with run.journal.phase(Phase.CHECK_BLUE) as step:
                step.detail = self._check_serving(run, service)
        except (StepFailed, KubeApiError) as exc:
            message = (
                f"blue-green deploy of {self.green_image} aborted before the switch: {exc}; "
                f"traffic stays on {blue_colour.deployment} ({self.blue_image})"
            )
            run.save_diagnostics(
                [blue_colour.deployment, green_colour.deployment],
                message,
                result(Outcome.ABORTED, blue_colour, str(exc)).timeline(),
            )
            with run.journal.phase(Phase.CLEANUP) as step:
                run.api.delete("Deployment", namespace, green_colour.deployment)
                step.detail = (
                    f"deleted {green_colour.deployment}; what it changed outside the cluster "
                    "(database migrations, data) is not undone"
                )
            final = result(Outcome.ABORTED, blue_colour, str(exc))
            self.result = final
            raise BlueGreenAbortedError(message, result=final) from None

        switched_at = self._switch(run, green_colour)
        try:
            self._verify(run, service, green_colour, self.green_image)
        except (StepFailed, KubeApiError) as exc:
            message = (
                f"blue-green deploy of {self.green_image}: traffic did not reach "
                f"{green_colour.deployment} through the load balancer: {exc}"
            )
            run.save_diagnostics(
                [blue_colour.deployment, green_colour.deployment],
                message,
                result(Outcome.FAILED, green_colour, str(exc)).timeline(),
            )
            self._switch(run, blue_colour)
            final = result(Outcome.ROLLED_BACK, blue_colour, str(exc))
            self.result = final
            raise DeployError(
                message + f"; switched back to {blue_colour.deployment}", result=final
            ) from None

        if self.scale_down_delay is None:
            run.journal.skip(
                Phase.SCALE_DOWN,
                f"{blue_colour.deployment} kept running for an instant switch_back()",
            )
        else:
            self._scale_down(run, blue_colour, self.scale_down_delay)
        self.result = result(Outcome.SUCCEEDED, green_colour)
        return self.result

    def switch_back(self) -> BlueGreenResult:
        """Move the Service back to blue (scaling blue up first if it was scaled down) and
        verify traffic reaches it; green keeps running until `scale_down_idle()`."""
        if self.blue is None or self.green is None or self.result is None:
            raise ConfigurationError("switch_back() needs a blue-green deploy that ran")
        blue, green = self.blue, self.green
        run = _Run(self.target, self._api)
        switched_at: dt.datetime | None = None
        try:
            service = run.api.get("Service", self.target.namespace, self.service)
            deployment = run.api.get("Deployment", self.target.namespace, blue.deployment)
            wanted = int(
                (
                    run.api.get("Deployment", self.target.namespace, green.deployment).get("spec")
                    or {}
                ).get("replicas", 1)
            )
            if int(deployment["spec"].get("replicas", 1)) == 0:
                with run.journal.phase(Phase.SCALE_UP) as step:
                    run.api.patch(
                        "Deployment",
                        self.target.namespace,
                        blue.deployment,
                        {"spec": {"replicas": wanted}},
                    )
                    step.detail = f"{blue.deployment} scaled to {wanted}"
                self._wait_ready(run, Phase.ROLLOUT, blue.deployment)
            else:
                run.journal.skip(Phase.SCALE_UP, f"{blue.deployment} still runs")
            switched_at = self._switch(run, blue)
            self._verify(run, service, blue, self.blue_image)
        except (StepFailed, KubeApiError) as exc:
            message = f"switch back to {blue.deployment} failed: {exc}"
            failed = self._result(
                run,
                Outcome.FAILED,
                green,
                str(exc),
                switched_at,
                previous=self.green_image,
                image=self.blue_image,
            )
            run.save_diagnostics([blue.deployment, green.deployment], message, failed.timeline())
            final = self._result(
                run,
                Outcome.FAILED,
                green,
                str(exc),
                switched_at,
                previous=self.green_image,
                image=self.blue_image,
            )
            raise DeployError(message, result=final) from None
        finally:
            run.close()
        return self._result(
            run,
            Outcome.ROLLED_BACK,
            blue,
            "",
            switched_at,
            previous=self.green_image,
            image=self.blue_image,
        )

    def scale_down_idle(self, delay: float = 0.0) -> None:
        """Scale the colour the Service does not select to zero after `delay` Kubernetes
        seconds (what `scale_down_delay` does at the end of run())."""
        if self.blue is None or self.green is None:
            raise ConfigurationError("scale_down_idle() needs a blue-green deploy that ran")
        run = _Run(self.target, self._api)
        try:
            service = run.api.get("Service", self.target.namespace, self.service)
            live = ((service.get("spec") or {}).get("selector") or {}).get(self.colour_label)
            idle = self.blue if live == self.green.name else self.green
            self._scale_down(run, idle, delay)
        finally:
            run.close()

    # -- phases ---------------------------------------------------------------------------
    def _pin_blue(self, run: _Run, blue: JSON, selector: Mapping[str, str]) -> None:
        assert self.blue is not None
        namespace, label, colour = self.target.namespace, self.colour_label, self.blue.name
        if selector.get(label) == colour:
            run.journal.skip(Phase.PIN_BLUE, f"service already selects {label}={colour}")
            return
        with run.journal.phase(Phase.PIN_BLUE) as step:
            labels = (blue["spec"]["template"].get("metadata") or {}).get("labels") or {}
            if labels.get(label) != colour:
                run.api.patch(
                    "Deployment",
                    namespace,
                    self.blue.deployment,
                    {"spec": {"template": {"metadata": {"labels": {label: colour}}}}},
                    patch_kind=PatchKind.STRATEGIC,
                )
                state = RolloutWatch(run.api, namespace, self.blue.deployment).wait(
                    run.rollout_deadline(blue, self.timeout)
                )
                if not state.complete:
                    raise StepFailed(f"labelling {self.blue.deployment}'s pods: {state.message}")
            run.api.patch(
                "Service", namespace, self.service, {"spec": {"selector": {label: colour}}}
            )
            step.detail = (
                f"{self.blue.deployment}'s pods labelled {label}={colour}; service "
                f"{self.service} pinned to them"
            )

    def _green_document(self, blue: JSON, container: str) -> JSON:
        assert self.green is not None
        label, colour = self.colour_label, self.green.name
        spec = copy.deepcopy(blue["spec"])
        spec.pop("paused", None)
        selector = spec.setdefault("selector", {})
        selector.setdefault("matchLabels", {})[label] = colour
        template = spec["template"]
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        labels.pop(HASH_LABEL, None)
        labels[label] = colour
        for candidate in template["spec"]["containers"]:
            if candidate["name"] == container:
                candidate["image"] = self.green_image
        metadata = blue["metadata"]
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": self.green.deployment,
                "namespace": self.target.namespace,
                "labels": {**(metadata.get("labels") or {}), label: colour},
            },
            "spec": spec,
        }

    def _apply_green(self, run: _Run, green: JSON) -> str:
        namespace, name = self.target.namespace, green["metadata"]["name"]
        existing = run.api.find("Deployment", namespace, name)
        if existing is None:
            run.api.create("Deployment", namespace, green)
            replicas = green["spec"].get("replicas", 1)
            return f"created {name} with {self.green_image}, {replicas} replicas"
        run.api.patch(
            "Deployment",
            namespace,
            name,
            [
                {"op": "replace", "path": "/spec/template", "value": green["spec"]["template"]},
                {
                    "op": "replace",
                    "path": "/spec/replicas",
                    "value": green["spec"].get("replicas", 1),
                },
            ],
            patch_kind=PatchKind.JSON,
        )
        return f"updated {name} (revision {revision(existing)}) to {self.green_image}"

    def _wait_ready(self, run: _Run, phase: Phase, name: str) -> None:
        with run.journal.phase(phase) as step:
            deployment = run.api.get("Deployment", self.target.namespace, name)
            state = RolloutWatch(run.api, self.target.namespace, name).wait(
                run.rollout_deadline(deployment, self.timeout)
            )
            step.detail = state.message
            if not state.complete:
                raise StepFailed(f"{name}: {state.message}")

    def _green_pod(self, run: _Run, service: JSON) -> tuple[str, str, int]:
        """(name, IP, port) of a ready green pod, on the Service's target port."""
        assert self.green is not None
        namespace = self.target.namespace
        deployment = run.api.get("Deployment", namespace, self.green.deployment)
        labels = deployment["spec"]["selector"]["matchLabels"]
        query = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        for pod in run.api.list("Pod", namespace, labels=query):
            status = pod.get("status") or {}
            ready = any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in status.get("conditions") or []
            )
            if ready and status.get("podIP") and not pod["metadata"].get("deletionTimestamp"):
                port = _target_port(service, pod)
                return pod["metadata"]["name"], str(status["podIP"]), port
        raise StepFailed(f"no ready pod of {self.green.deployment}")

    def _default_checks(self, run: _Run) -> tuple[SmokeCheck, ...]:
        assert self.green is not None
        deployment = run.api.get("Deployment", self.target.namespace, self.green.deployment)
        container = container_of(deployment, self.container)
        probe = (container.get("readinessProbe") or {}).get("httpGet") or {}
        return (SmokeCheck(path=str(probe.get("path", "/"))),)

    def _smoke_green(self, run: _Run, service: JSON) -> str:
        pod, ip, port = self._green_pod(run, service)
        checks = self.smoke or self._default_checks(run)
        results = [send_check(ip, port, check.for_image(self.green_image)) for check in checks]
        failed = [r for r in results if not r.ok]
        if failed:
            raise StepFailed(f"green pod {pod} failed its smoke check: {_describe(failed)}")
        return f"pod {pod} ({ip}:{port}): " + "; ".join(str(r) for r in results)

    def _check_serving(self, run: _Run, service: JSON) -> str:
        """The serving release must still answer now that green runs beside it."""
        assert self.blue is not None
        checks = self.serving_checks if self.serving_checks is not None else self.smoke
        if not checks:
            return "no serving checks given"
        host, port = service_address(service)
        results = [
            send_check(host, port, check.for_image(self.blue_image))
            for check in checks
            for _ in range(CHECK_REPEATS)
        ]
        failed = [r for r in results if not r.ok]
        if failed:
            raise StepFailed(
                f"the serving release {self.blue_image} ({self.blue.deployment}) fails while "
                f"{self.green_image} runs beside it: {_describe(failed)}; green is not "
                "compatible with it (a breaking migration?)"
            )
        return f"{len(results)} requests through {host}:{port} passed"

    def _switch(self, run: _Run, to: Colour) -> dt.datetime:
        with run.journal.phase(Phase.SWITCH) as step:
            run.api.patch(
                "Service",
                self.target.namespace,
                self.service,
                {"spec": {"selector": {self.colour_label: to.name}}},
            )
            step.detail = (
                f"service {self.service} selects {self.colour_label}={to.name} ({to.deployment})"
            )
            return step.started_at

    def _verify(self, run: _Run, service: JSON, to: Colour, image: str) -> None:
        with run.journal.phase(Phase.VERIFY_TRAFFIC) as step:
            delay = self.target.real(self.propagation_delay)
            time.sleep(delay)
            host, port = service_address(service)
            check = (self.marker or (self.smoke or (SmokeCheck(),))[0]).for_image(image)
            deadline = Deadline.after(max(10.0, 4 * delay))
            in_a_row, sent = 0, 0
            last: CheckResult | None = None
            while in_a_row < VERIFY_IN_A_ROW:
                if deadline.expired():
                    raise StepFailed(
                        f"{sent} requests in {deadline.elapsed():.1f}s, never "
                        f"{VERIFY_IN_A_ROW} in a row passing {check}; last: {last}"
                    )
                last = send_check(host, port, check)
                sent += 1
                in_a_row = in_a_row + 1 if last.ok else 0
                if not last.ok:
                    time.sleep(0.05)
            step.detail = (
                f"after {delay:.2f}s, {VERIFY_IN_A_ROW} requests in a row through {host}:{port} "
                f"reached {to.deployment} ({sent} sent)"
            )

    def _scale_down(self, run: _Run, colour: Colour, delay: float) -> None:
        with run.journal.phase(Phase.SCALE_DOWN) as step:
            time.sleep(self.target.real(delay))
            run.api.patch(
                "Deployment", self.target.namespace, colour.deployment, {"spec": {"replicas": 0}}
            )
            step.detail = (
                f"{colour.deployment} scaled to 0 after {delay:g}s "
                f"({self.target.real(delay):.2f}s at time scale {self.target.time_scale:g})"
            )

    def _result(
        self,
        run: _Run,
        outcome: Outcome,
        serving: Colour,
        error: str,
        switched_at: dt.datetime | None,
        *,
        previous: str | None = None,
        image: str | None = None,
    ) -> BlueGreenResult:
        assert self.blue is not None and self.green is not None
        current = None
        with contextlib.suppress(KubeApiError):
            current = revision(run.api.get("Deployment", self.target.namespace, serving.deployment))
        return BlueGreenResult(
            strategy=self.strategy,
            namespace=self.target.namespace,
            deployment=self.base,
            previous_image=previous if previous is not None else self.blue_image,
            image=image if image is not None else self.green_image,
            outcome=outcome,
            phases=run.journal.frozen(),
            time_scale=self.target.time_scale,
            started_at=run.journal.started_at,
            ended_at=dt.datetime.now(dt.UTC),
            revision=current,
            error=error,
            report_dir=run.report_dir,
            blue=self.blue.deployment,
            green=self.green.deployment,
            serving=serving.deployment,
            switched_at=switched_at,
        )


def _describe(results: Sequence[CheckResult]) -> str:
    return "; ".join(str(r) for r in results[:3]) + (
        f" (and {len(results) - 3} more)" if len(results) > 3 else ""
    )


def _target_port(service: Mapping[str, Any], pod: Mapping[str, Any]) -> int:
    """The Service's first port's targetPort, resolved against the pod's named ports."""
    port = ((service.get("spec") or {}).get("ports") or [{}])[0]
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for candidate in container.get("ports") or []:
            if candidate.get("name") == target:
                return int(candidate["containerPort"])
    raise StepFailed(f"pod {pod['metadata']['name']} has no port named {target!r}")
