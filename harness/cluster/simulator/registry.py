"""Resource types the simulator serves: built-in kinds and those CustomResourceDefinitions add.

CONTRACT (shared by store.py, strategy.py, server.py; keep the signatures):
    ResourceType      one served group/version/resource, frozen
    Registry.builtin()                          the built-in kinds of issue 3
    Registry.lookup(group, version, plural)     -> ResourceType | None (plural, as in URLs)
    Registry.for_kind(api_version, kind)        -> ResourceType | None
    Registry.types()                            -> every served ResourceType
    Registry.groups()                           -> {group: [versions, preferred first]}
    Registry.register_crd(crd) / unregister_crd(crd)   called by the store when a CRD is
                                                written / deleted; returns what changed
    Registry.generation   int, bumped on any change (discovery/openapi caches key on it)
    Registry.api_versions() / api_group_list() / api_resource_list(group, version)
                          the discovery documents of /api, /apis and /api(s)/<gv>
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Registry", "ResourceType"]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: frozenset[str] = field(default_factory=frozenset)  # "status", "scale", "log"
    custom: bool = False  # served because of a CRD

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: objects of one group/resource share storage across versions."""
        return (self.group, self.plural)


class Registry:
    """Implemented in this module (see the contract above)."""
