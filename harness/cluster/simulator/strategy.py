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
