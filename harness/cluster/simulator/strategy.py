"""Per-kind API-server rules: defaulting, validation, generation and status handling.

CONTRACT (store.py calls these; upstream pkg/registry/*/strategy.go is the model):
    strategy_for(rt) -> Strategy
    Strategy.prepare_for_create(obj) -> None          defaults (KUBE_SPEC rule 1), generation 1,
                                                      status reset where upstream does
    Strategy.prepare_for_update(new, old) -> None     main resource: keep old status; bump
                                                      generation on spec or annotation change
                                                      (rule 2) where upstream does
    Strategy.prepare_for_status_update(new, old) -> None   only status may change
    Strategy.validate(obj) -> list[Cause]
    Strategy.validate_update(new, old) -> list[Cause] immutable fields (selector, clusterIP...)
    Strategy.warnings(obj) -> list[str]               fields stored but not acted on
"""

from __future__ import annotations

import copy
from typing import Any

from harness.cluster.simulator.apierrors import Cause
from harness.cluster.simulator.registry import ResourceType

__all__ = ["Strategy", "semantic_equal", "strategy_for"]

Obj = dict[str, Any]


def _is_empty(value: Any) -> bool:
    return value is None or value == {} or value == []


def _prune(value: Any) -> Any:
    """Drop None and empty maps/lists, so comparison follows apiequality.Semantic.DeepEqual."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if not _is_empty(v)}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def semantic_equal(a: Any, b: Any) -> bool:
    """Equality as upstream's Semantic.DeepEqual: nil and empty maps/slices are equal."""
    return bool(_prune(a) == _prune(b))


class Strategy:
    """The generic strategy; per-kind subclasses refine defaults and validation.

    `sets_generation`: whether metadata.generation is maintained (upstream sets it for
    kinds with a spec a controller observes: Deployment, ReplicaSet, PDB, CRD, custom
    resources). `generation_covers_annotations`: Deployment bumps on annotation changes.
    """

    sets_generation = False
    generation_covers_annotations = False
    reset_status_on_create = True

    def __init__(self, rt: ResourceType) -> None:
        self.rt = rt

    @property
    def has_status(self) -> bool:
        """Whether status is split off behind a /status subresource."""
        return "status" in self.rt.subresources

    # ------------------------------------------------------------ create/update

    def prepare_for_create(self, obj: Obj) -> None:
        meta = obj.setdefault("metadata", {})
        if self.has_status and self.reset_status_on_create:
            obj.pop("status", None)
        if self.sets_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        self.default(obj)
        self.init_status(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """An update through the main resource: status is kept, generation maybe bumped."""
        if self.has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        self.default(new)
        meta = new.setdefault("metadata", {})
        old_meta = old.get("metadata") or {}
        if self.sets_generation:
            generation = int(old_meta.get("generation") or 1)
            if self.spec_changed(new, old):
                generation += 1
            meta["generation"] = generation
        elif "generation" in old_meta:
            meta["generation"] = old_meta["generation"]
        else:
            meta.pop("generation", None)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """An update through /status: everything but status comes from the old object."""
        status = new.get("status")
        managed = (new.get("metadata") or {}).get("managedFields")
        keep = copy.deepcopy(old)
        new.clear()
        new.update(keep)
        if status is None:
            new.pop("status", None)
        else:
            new["status"] = status
        if managed is not None:
            new.setdefault("metadata", {})["managedFields"] = managed

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        """Whether the change bumps generation: spec (or everything but metadata and status)."""
        if "spec" in new or "spec" in old:
            changed = not semantic_equal(new.get("spec"), old.get("spec"))
        else:
            skip = {"metadata", "status", "apiVersion", "kind"}
            changed = not semantic_equal(
                {k: v for k, v in new.items() if k not in skip},
                {k: v for k, v in old.items() if k not in skip},
            )
        if self.generation_covers_annotations:
            new_ann = (new.get("metadata") or {}).get("annotations")
            old_ann = (old.get("metadata") or {}).get("annotations")
            changed = changed or not semantic_equal(new_ann, old_ann)
        return changed

    # ------------------------------------------------------------ per-kind hooks

    def default(self, obj: Obj) -> None:
        """Fill defaults (pkg/apis/<group>/v1/defaults.go); idempotent."""

    def init_status(self, obj: Obj) -> None:
        """Status the API server itself sets on create (pod phase, namespace phase)."""

    def validate(self, obj: Obj) -> list[Cause]:
        return []

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new)

    def warnings(self, obj: Obj) -> list[str]:
        return []


class _GenerationStrategy(Strategy):
    sets_generation = True


class _DeploymentStrategy(_GenerationStrategy):
    generation_covers_annotations = True


_BY_KIND: dict[tuple[str, str], type[Strategy]] = {
    ("apps", "Deployment"): _DeploymentStrategy,
    ("apps", "ReplicaSet"): _GenerationStrategy,
    ("policy", "PodDisruptionBudget"): _GenerationStrategy,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _GenerationStrategy,
}


def strategy_for(rt: ResourceType) -> Strategy:
    """The strategy of a resource type; custom resources get generation like upstream."""
    if rt.custom:
        return _GenerationStrategy(rt)
    return _BY_KIND.get((rt.group, rt.kind), Strategy)(rt)
