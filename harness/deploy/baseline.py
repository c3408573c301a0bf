"""AppBaseline: the app's Deployment and Service as they were, captured once and restored
after each scenario, so scenarios sharing one environment do not depend on their order.

Restoring undoes what the strategies leave: another image or deadline, a colour label, a
Service selector pinned to a colour, green Deployments next to blue.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from harness._wait import Deadline
from harness.deploy._kube import JSON, KubeApi, PatchKind
from harness.deploy.rollout import RolloutWatch, templates_equal
from harness.deploy.target import DeployTarget
from harness.errors import HarnessError

__all__ = ["AppBaseline"]

#: the Deployment spec fields a restore puts back (the selector is immutable)
_SPEC_FIELDS = (
    "replicas",
    "template",
    "strategy",
    "minReadySeconds",
    "progressDeadlineSeconds",
    "revisionHistoryLimit",
    "paused",
)


class BaselineRestoreError(HarnessError):
    """The app could not be put back as it was; later scenarios would see its leftovers."""


@dataclass(frozen=True)
class AppBaseline:
    target: DeployTarget
    deployment: str
    service: str
    spec: JSON = field(repr=False)
    selector: dict[str, str]
    deployments: frozenset[str]

    @classmethod
    def capture(
        cls, target: DeployTarget, deployment: str, service: str | None = None
    ) -> AppBaseline:
        with target.api() as api:
            live = api.get("Deployment", target.namespace, deployment)
            svc = api.get("Service", target.namespace, service or deployment)
            names = frozenset(
                d["metadata"]["name"] for d in api.list("Deployment", target.namespace)
            )
        spec = {k: copy.deepcopy(v) for k, v in live["spec"].items() if k in _SPEC_FIELDS}
        return cls(
            target=target,
            deployment=deployment,
            service=service or deployment,
            spec=spec,
            selector=dict((svc.get("spec") or {}).get("selector") or {}),
            deployments=names,
        )

    @property
    def image(self) -> str:
        return str(self.spec["template"]["spec"]["containers"][0]["image"])

    def restore(self, timeout: float = 120.0) -> tuple[str, ...]:
        """Put the app back; what was changed, one line each (empty: nothing to do)."""
        deadline = Deadline.after(timeout)
        namespace = self.target.namespace
        done: list[str] = []
        with self.target.api() as api:
            live = api.get("Deployment", namespace, self.deployment)
            # 1. the base Deployment runs (a blue-green may have scaled it to zero)
            wanted = self.spec.get("replicas", 1)
            if live["spec"].get("replicas", 1) != wanted:
                api.patch("Deployment", namespace, self.deployment, {"spec": {"replicas": wanted}})
                self._wait(api, deadline)
                done.append(f"scaled {self.deployment} to {wanted}")
            # 2. the Service selects it as before
            svc = api.get("Service", namespace, self.service)
            if dict((svc.get("spec") or {}).get("selector") or {}) != self.selector:
                api.patch(
                    "Service",
                    namespace,
                    self.service,
                    [{"op": "replace", "path": "/spec/selector", "value": self.selector}],
                    patch_kind=PatchKind.JSON,
                )
                done.append(f"service {self.service} selector back to {self.selector}")
            # 3. what the scenario created goes
            for item in api.list("Deployment", namespace):
                name = item["metadata"]["name"]
                if name not in self.deployments:
                    api.delete("Deployment", namespace, name)
                    done.append(f"deleted deployment {name}")
            # 4. the base Deployment's spec as captured
            live = api.get("Deployment", namespace, self.deployment)
            changed = [
                k for k in _SPEC_FIELDS if not _same(k, live["spec"].get(k), self.spec.get(k))
            ]
            if changed:
                ops: list[dict[str, Any]] = []
                for key in changed:
                    if key in self.spec:
                        ops.append({"op": "add", "path": f"/spec/{key}", "value": self.spec[key]})
                    else:
                        ops.append({"op": "remove", "path": f"/spec/{key}"})
                api.patch("Deployment", namespace, self.deployment, ops, patch_kind=PatchKind.JSON)
                done.append(f"{self.deployment}: {', '.join(changed)} restored")
            self._wait(api, deadline)
        return tuple(done)

    def _wait(self, api: KubeApi, deadline: Deadline) -> None:
        state = RolloutWatch(api, self.target.namespace, self.deployment).wait(deadline)
        if not state.complete:
            raise BaselineRestoreError(
                f"restoring {self.target.namespace}/{self.deployment} to {self.image}: "
                f"{state.message}"
            )


def _same(key: str, live: Any, wanted: Any) -> bool:
    if key == "template" and isinstance(live, dict) and isinstance(wanted, dict):
        return templates_equal(live, wanted)
    return bool(live == wanted)
