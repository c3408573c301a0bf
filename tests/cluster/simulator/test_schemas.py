"""The built-in schemas strategic merge reads: lookup by group/version/kind, $ref resolution,
and the kubernetes-validate version in use."""

from __future__ import annotations

from harness.cluster.simulator.schemas import definition_name, kind_schema, schema_directory


def test_schema_lookup_finds_builtin_kinds_and_resolves_refs() -> None:
    assert definition_name("apps", "v1", "Deployment") == "io.k8s.api.apps.v1.Deployment"
    assert definition_name("", "v1", "Service") == "io.k8s.api.core.v1.Service"
    assert definition_name("example.com", "v1", "Widget") is None
    schema = kind_schema("apps", "v1", "Deployment")
    assert schema is not None
    spec, _ = schema.field("spec")
    template, _ = spec.field("template")
    pod_spec, _ = template.field("spec")
    containers, meta = pod_spec.items("containers")
    assert (meta.strategies, meta.merge_key) == (("merge",), "name")
    _, env_meta = containers.items("env")
    assert env_meta.merge_key == "name"
    _, volumes_meta = pod_spec.items("volumes")
    assert volumes_meta.strategies == ("merge", "retainKeys")


def test_schema_directory_is_v1_31_or_newer() -> None:
    name = schema_directory().name
    major, minor = (int(x) for x in name[1:].split(".")[:2])
    assert (major, minor) >= (1, 31)
    assert name.endswith("-local")
