"""Unit tests for the per-kind API-server strategies.

Each test names the upstream rule it checks: pkg/apis/<group>/v1/defaults.go,
pkg/registry/<group>/<kind>/strategy.go, pkg/apis/<group>/validation/validation.go, and
KUBE_SPEC.md section 3 rules 1-2.
"""

from __future__ import annotations

import base64
import copy
from fractions import Fraction
from typing import Any

import pytest

from harness.cluster.simulator.apierrors import ApiError, Cause
from harness.cluster.simulator.registry import Registry, ResourceType
from harness.cluster.simulator.strategy import (
    ServiceAllocator,
    ServiceStrategy,
    Strategy,
    apply_scale,
    parse_quantity,
    pod_qos_class,
    scale_of,
    semantic_equal,
    strategy_for,
)

REGISTRY = Registry.builtin()


def _rt(group: str, plural: str) -> ResourceType:
    rt = REGISTRY.lookup(group, "v1", plural)
    assert rt is not None
    return rt


def _strategy(group: str, plural: str) -> Strategy:
    return strategy_for(_rt(group, plural))


def _deployment(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "example/web:1"}]},
            },
        },
    }
    body["spec"].update(spec)
    return body


def _pod(containers: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "default"},
        "spec": {"containers": containers or [{"name": "app", "image": "example/web"}], **spec},
    }


def _service(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec},
    }


def _fields(causes: list[Cause]) -> dict[str, Cause]:
    return {c.field: c for c in causes}


def _created(strategy: Strategy, obj: dict[str, Any]) -> dict[str, Any]:
    strategy.prepare_for_create(obj)
    assert strategy.validate(obj) == []
    return obj


# ================================================================= generic rules


def test_every_builtin_kind_has_a_strategy() -> None:
    for rt in REGISTRY.types():
        assert isinstance(strategy_for(rt), Strategy)


def test_semantic_equal_treats_nil_and_empty_alike() -> None:
    # apiequality.Semantic.DeepEqual: empty and nil slices/maps are equal
    assert semantic_equal({"a": None, "b": {}, "c": []}, {})
    assert semantic_equal({"x": {"y": []}}, {"x": {}})
    assert not semantic_equal({"a": 0}, {})


def test_configmap_has_no_generation_and_no_status_split() -> None:
    strategy = _strategy("", "configmaps")
    cm: dict[str, Any] = {"metadata": {"name": "c", "generation": 7}, "data": {"a": "1"}}
    strategy.prepare_for_create(cm)
    assert "generation" not in cm["metadata"]
    new = copy.deepcopy(cm)
    new["data"]["a"] = "2"
    strategy.prepare_for_update(new, cm)
    assert new["data"] == {"a": "2"}
    assert "generation" not in new["metadata"]


def test_name_is_required_unless_generate_name() -> None:
    strategy = _strategy("", "configmaps")
    causes = strategy.validate({"metadata": {}})
    assert causes == [
        Cause(
            "FieldValueRequired",
            "Required value: name or generateName is required",
            "metadata.name",
        )
    ]
    assert strategy.validate({"metadata": {"generateName": "c-"}}) == []


def test_subdomain_name_message_matches_upstream() -> None:
    causes = _strategy("", "configmaps").validate({"metadata": {"name": "Bad_Name"}})
    assert len(causes) == 1
    assert causes[0].field == "metadata.name"
    assert causes[0].reason == "FieldValueInvalid"
    assert causes[0].message == (
        'Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case '
        "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
        "character (e.g. 'example.com', regex used for validation is "
        r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    )


def test_invalid_label_value_is_reported() -> None:
    causes = _strategy("", "configmaps").validate(
        {"metadata": {"name": "c", "labels": {"app": "not ok"}}}
    )
    assert [c.field for c in causes] == ["metadata.labels"]
    assert causes[0].message.startswith('Invalid value: "not ok": a valid label must be')


def test_name_is_immutable_on_update() -> None:
    strategy = _strategy("", "configmaps")
    causes = strategy.validate_update({"metadata": {"name": "b"}}, {"metadata": {"name": "a"}})
    assert _fields(causes)["metadata.name"].message == 'Invalid value: "b": field is immutable'


# ================================================================= deployments (rules 1, 2)


def test_deployment_defaults_rule_1() -> None:
    deploy = _created(_strategy("apps", "deployments"), _deployment())
    spec = deploy["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    assert "minReadySeconds" not in spec  # int32 zero, omitted on the wire
    pod_spec = spec["template"]["spec"]
    assert pod_spec["restartPolicy"] == "Always"
    assert pod_spec["dnsPolicy"] == "ClusterFirst"
    assert pod_spec["terminationGracePeriodSeconds"] == 30
    assert pod_spec["schedulerName"] == "default-scheduler"
    assert pod_spec["securityContext"] == {}
    assert "enableServiceLinks" not in pod_spec  # SetDefaults_Pod only, not templates
    container = pod_spec["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"


def test_recreate_strategy_gets_no_rolling_update_defaults() -> None:
    deploy = _created(_strategy("apps", "deployments"), _deployment(strategy={"type": "Recreate"}))
    assert deploy["spec"]["strategy"] == {"type": "Recreate"}


def test_deployment_create_sets_generation_1_and_drops_status() -> None:
    deploy = _deployment()
    deploy["status"] = {"replicas": 5}
    deploy["metadata"]["generation"] = 9
    _strategy("apps", "deployments").prepare_for_create(deploy)
    assert deploy["metadata"]["generation"] == 1
    assert "status" not in deploy


def test_deployment_spec_change_bumps_generation_and_keeps_status_rule_2() -> None:
    strategy = _strategy("apps", "deployments")
    old = _created(strategy, _deployment())
    old["status"] = {"observedGeneration": 1, "replicas": 1}
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 3
    new["status"] = {"replicas": 99}
    strategy.prepare_for_update(new, old)
    assert new["metadata"]["generation"] == 2
    assert new["status"] == {"observedGeneration": 1, "replicas": 1}


def test_deployment_annotation_change_bumps_generation_rule_2() -> None:
    strategy = _strategy("apps", "deployments")
    old = _created(strategy, _deployment())
    new = copy.deepcopy(old)
    new["metadata"]["annotations"] = {"kubernetes.io/change-cause": "v2"}
    strategy.prepare_for_update(new, old)
    assert new["metadata"]["generation"] == 2


def test_deployment_label_change_keeps_generation() -> None:
    strategy = _strategy("apps", "deployments")
    old = _created(strategy, _deployment())
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"tier": "web"}
    strategy.prepare_for_update(new, old)
    assert new["metadata"]["generation"] == 1


def test_client_cannot_set_generation_on_update() -> None:
    # rest.BeforeUpdate copies the old generation before the strategy runs
    strategy = _strategy("apps", "deployments")
    old = _created(strategy, _deployment())
    new = copy.deepcopy(old)
    new["metadata"]["generation"] = 42
    strategy.prepare_for_update(new, old)
    assert new["metadata"]["generation"] == 1


def test_defaulting_an_omitted_field_is_not_a_spec_change() -> None:
    # a replace without revisionHistoryLimit is defaulted back, so generation stays
    strategy = _strategy("apps", "deployments")
    old = _created(strategy, _deployment())
    new = copy.deepcopy(old)
    del new["spec"]["revisionHistoryLimit"]
    strategy.prepare_for_update(new, old)
    assert new["metadata"]["generation"] == 1


def test_deployment_status_update_changes_only_status_and_keeps_labels() -> None:
    # deploymentStatusStrategy: spec and metadata.labels come from the old object
    strategy = _strategy("apps", "deployments")
    old = _created(strategy, _deployment())
    old["metadata"]["labels"] = {"a": "1"}
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 7
    new["metadata"]["labels"] = {"a": "2"}
    new["metadata"]["generation"] = 5
    new["status"] = {"observedGeneration": 1, "replicas": 1}
    strategy.prepare_for_status_update(new, old)
    assert new["spec"] == old["spec"]
    assert new["metadata"]["labels"] == {"a": "1"}
    assert new["metadata"]["generation"] == 1
    assert new["status"] == {"observedGeneration": 1, "replicas": 1}


def test_deployment_selector_must_match_template_labels() -> None:
    deploy = _deployment()
    deploy["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    strategy = _strategy("apps", "deployments")
    strategy.prepare_for_create(deploy)
    cause = _fields(strategy.validate(deploy))["spec.template.metadata.labels"]
    assert cause.message == (
        'Invalid value: map[string]string{"app":"other"}: `selector` does not match template '
        "`labels`"
    )


def test_deployment_selector_required_and_not_empty() -> None:
    strategy = _strategy("apps", "deployments")
    deploy = _deployment()
    del deploy["spec"]["selector"]
    strategy.prepare_for_create(deploy)
    assert _fields(strategy.validate(deploy))["spec.selector"].reason == "FieldValueRequired"
    empty = _deployment(selector={})
    strategy.prepare_for_create(empty)
    assert "empty selector is invalid for deployment" in (
        _fields(strategy.validate(empty))["spec.selector"].message
    )


def test_deployment_selector_is_immutable() -> None:
    strategy = _strategy("apps", "deployments")
    old = _created(strategy, _deployment())
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web2"}}
    new["spec"]["template"]["metadata"]["labels"] = {"app": "web2"}
    strategy.prepare_for_update(new, old)
    cause = _fields(strategy.validate_update(new, old))["spec.selector"]
    assert cause.message == (
        'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    )


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        (
            {"replicas": -1},
            "spec.replicas",
            "Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            {"progressDeadlineSeconds": 5, "minReadySeconds": 10},
            "spec.progressDeadlineSeconds",
            "Invalid value: 5: must be greater than minReadySeconds",
        ),
        (
            {
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0},
                }
            },
            "spec.strategy.rollingUpdate.maxUnavailable",
            "Invalid value: 0: may not be 0 when `maxSurge` is 0",
        ),
        (
            {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "150%"}}},
            "spec.strategy.rollingUpdate.maxSurge",
            'Invalid value: "150%": must not be greater than 100%',
        ),
        (
            {"strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}},
            "spec.strategy.rollingUpdate",
            "Forbidden: may not be specified when strategy `type` is 'Recreate'",
        ),
        (
            {"strategy": {"type": "BlueGreen"}},
            "spec.strategy.type",
            'Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"',
        ),
    ],
)
def test_deployment_spec_validation(spec: dict[str, Any], field: str, message: str) -> None:
    strategy = _strategy("apps", "deployments")
    deploy = _deployment(**spec)
    strategy.prepare_for_create(deploy)
    causes = _fields(strategy.validate(deploy))
    assert field in causes, causes
    assert causes[field].message == message


def test_deployment_template_must_restart_always() -> None:
    strategy = _strategy("apps", "deployments")
    deploy = _deployment()
    deploy["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    strategy.prepare_for_create(deploy)
    cause = _fields(strategy.validate(deploy))["spec.template.spec.restartPolicy"]
    assert cause.message == 'Unsupported value: "Never": supported values: "Always"'


# ================================================================= replicasets


def test_replicaset_defaults_and_generation_on_spec_only() -> None:
    strategy = _strategy("apps", "replicasets")
    rs = _deployment()
    rs["kind"] = "ReplicaSet"
    _created(strategy, rs)
    assert rs["spec"]["replicas"] == 1
    assert "strategy" not in rs["spec"]
    new = copy.deepcopy(rs)
    new["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "2"}
    strategy.prepare_for_update(new, rs)
    assert new["metadata"]["generation"] == 1  # unlike Deployment, annotations do not count
    new2 = copy.deepcopy(rs)
    new2["spec"]["replicas"] = 0
    strategy.prepare_for_update(new2, rs)
    assert new2["metadata"]["generation"] == 2


# ================================================================= pods


def test_pod_defaults_and_admission_fields() -> None:
    pod = _pod(
        [
            {
                "name": "app",
                "image": "example/web:latest",
                "ports": [{"containerPort": 8080}],
                "readinessProbe": {"httpGet": {"port": 8080}},
            }
        ]
    )
    _created(_strategy("", "pods"), pod)
    spec = pod["spec"]
    assert spec["enableServiceLinks"] is True
    assert spec["serviceAccountName"] == "default"
    assert spec["serviceAccount"] == "default"
    assert spec["priority"] == 0
    assert {t["key"] for t in spec["tolerations"]} == {
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    }
    container = spec["containers"][0]
    assert container["imagePullPolicy"] == "Always"  # :latest
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert container["readinessProbe"] == {
        "httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("registry:5000/team/app", "Always"),
        ("registry:5000/team/app:v2", "IfNotPresent"),
        ("nginx@sha256:abc", "IfNotPresent"),
    ],
)
def test_image_pull_policy_default(image: str, policy: str) -> None:
    # SetDefaults_Container: Always for :latest or no tag, otherwise IfNotPresent
    pod = _pod([{"name": "app", "image": image}])
    _strategy("", "pods").prepare_for_create(pod)
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_pod_create_sets_pending_status_and_generation() -> None:
    pod = _pod()
    pod["status"] = {"phase": "Running", "podIP": "1.2.3.4"}
    _strategy("", "pods").prepare_for_create(pod)
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert pod["metadata"]["generation"] == 1


def test_pod_status_update_keeps_spec_owner_refs_and_qos() -> None:
    strategy = _strategy("", "pods")
    old = _created(strategy, _pod())
    old["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "uid": "u"}]
    new = copy.deepcopy(old)
    new["spec"]["nodeName"] = "node-1"
    new["metadata"]["ownerReferences"] = []
    new["status"] = {"phase": "Running", "podIP": "127.0.1.5"}
    strategy.prepare_for_status_update(new, old)
    assert "nodeName" not in new["spec"]
    assert new["metadata"]["ownerReferences"] == old["metadata"]["ownerReferences"]
    assert new["status"] == {"phase": "Running", "podIP": "127.0.1.5", "qosClass": "BestEffort"}


def test_pod_spec_update_is_forbidden_except_image() -> None:
    strategy = _strategy("", "pods")
    old = _created(strategy, _pod())
    image_change = copy.deepcopy(old)
    image_change["spec"]["containers"][0]["image"] = "example/web:2"
    strategy.prepare_for_update(image_change, old)
    assert strategy.validate_update(image_change, old) == []
    assert image_change["metadata"]["generation"] == 2  # updatePodGeneration
    env_change = copy.deepcopy(old)
    env_change["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    strategy.prepare_for_update(env_change, old)
    cause = _fields(strategy.validate_update(env_change, old))["spec"]
    assert cause.reason == "FieldValueForbidden"
    assert cause.message.startswith("Forbidden: pod updates may not change fields other than")


@pytest.mark.parametrize(
    ("containers", "field", "reason"),
    [
        ([], "spec.containers", "FieldValueRequired"),
        ([{"name": "app"}], "spec.containers[0].image", "FieldValueRequired"),
        ([{"image": "x"}], "spec.containers[0].name", "FieldValueRequired"),
        (
            [{"name": "app", "image": "x"}, {"name": "app", "image": "y"}],
            "spec.containers[1].name",
            "FieldValueDuplicate",
        ),
        (
            [{"name": "app", "image": "x", "ports": [{"containerPort": 70000}]}],
            "spec.containers[0].ports[0].containerPort",
            "FieldValueInvalid",
        ),
        (
            [{"name": "app", "image": "x", "ports": [{"containerPort": 80, "protocol": "HTTP"}]}],
            "spec.containers[0].ports[0].protocol",
            "FieldValueNotSupported",
        ),
        (
            [{"name": "app", "image": "x", "livenessProbe": {"periodSeconds": 5}}],
            "spec.containers[0].livenessProbe",
            "FieldValueRequired",
        ),
        (
            [
                {
                    "name": "app",
                    "image": "x",
                    "livenessProbe": {"tcpSocket": {"port": 80}, "successThreshold": 2},
                }
            ],
            "spec.containers[0].livenessProbe.successThreshold",
            "FieldValueInvalid",
        ),
        (
            [
                {
                    "name": "app",
                    "image": "x",
                    "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
                }
            ],
            "spec.containers[0].resources.requests",
            "FieldValueInvalid",
        ),
    ],
)
def test_pod_container_validation(
    containers: list[dict[str, Any]], field: str, reason: str
) -> None:
    strategy = _strategy("", "pods")
    pod = _pod()
    pod["spec"]["containers"] = containers
    strategy.prepare_for_create(pod)
    causes = _fields(strategy.validate(pod))
    assert field in causes, causes
    assert causes[field].reason == reason


def test_container_port_message() -> None:
    strategy = _strategy("", "pods")
    pod = _pod([{"name": "app", "image": "x", "ports": [{"containerPort": 70000}]}])
    strategy.prepare_for_create(pod)
    cause = _fields(strategy.validate(pod))["spec.containers[0].ports[0].containerPort"]
    assert cause.message == "Invalid value: 70000: must be between 1 and 65535, inclusive"


def test_requests_over_limits_message() -> None:
    strategy = _strategy("", "pods")
    pod = _pod(
        [
            {
                "name": "app",
                "image": "x",
                "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
            }
        ]
    )
    strategy.prepare_for_create(pod)
    cause = _fields(strategy.validate(pod))["spec.containers[0].resources.requests"]
    assert cause.message == 'Invalid value: "2": must be less than or equal to cpu limit of 1'


def test_pod_warnings_name_fields_stored_but_not_acted_on() -> None:
    strategy = _strategy("", "pods")
    pod = _pod(
        [{"name": "app", "image": "x", "resources": {"limits": {"cpu": "1"}}}],
        affinity={"nodeAffinity": {}},
        hostNetwork=True,
    )
    pod["metadata"]["name"] = "web.1"
    warnings = strategy.warnings(pod)
    assert any(w.startswith("metadata.name: this is used in the Pod's hostname") for w in warnings)
    assert any(w.startswith("spec.affinity:") for w in warnings)
    assert any(w.startswith("spec.hostNetwork:") for w in warnings)
    assert any(w.startswith("spec.containers[0].resources:") for w in warnings)
    assert strategy.warnings(_pod()) == []


def test_deployment_warnings_point_into_the_template() -> None:
    deploy = _deployment()
    deploy["spec"]["template"]["spec"]["topologySpreadConstraints"] = [{"maxSkew": 1}]
    warnings = _strategy("apps", "deployments").warnings(deploy)
    assert warnings == [
        "spec.template.spec.topologySpreadConstraints: stored but not acted on by the cluster "
        "simulator"
    ]


# ================================================================= QoS and quantities


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100m", Fraction(1, 10)),
        ("1", Fraction(1)),
        ("1.5", Fraction(3, 2)),
        ("128Mi", Fraction(128 * 2**20)),
        ("1G", Fraction(10**9)),
        ("1e3", Fraction(1000)),
        ("bogus", None),
    ],
)
def test_parse_quantity(text: str, value: Fraction | None) -> None:
    assert parse_quantity(text) == value


def _resources(requests: dict[str, str] | None, limits: dict[str, str] | None) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return {"containers": [{"name": "a", "image": "x", "resources": resources}]}


@pytest.mark.parametrize(
    ("requests", "limits", "qos"),
    [
        # ports of pkg/apis/core/helper/qos/qos_test.go cases
        (None, None, "BestEffort"),
        ({"cpu": "100m", "memory": "100Mi"}, {"cpu": "100m", "memory": "100Mi"}, "Guaranteed"),
        ({"cpu": "100m"}, None, "Burstable"),
        ({"cpu": "100m", "memory": "100Mi"}, {"cpu": "200m", "memory": "100Mi"}, "Burstable"),
        ({"cpu": "0"}, None, "BestEffort"),
        ({"nvidia.com/gpu": "1"}, None, "BestEffort"),
        ({"cpu": "1", "memory": "1Gi"}, {"cpu": "1000m", "memory": "1024Mi"}, "Guaranteed"),
    ],
)
def test_pod_qos_class(
    requests: dict[str, str] | None, limits: dict[str, str] | None, qos: str
) -> None:
    assert pod_qos_class(_resources(requests, limits)) == qos


def test_limits_only_pod_is_guaranteed_after_defaulting() -> None:
    # SetDefaults_Pod copies limits into unset requests before QoS is computed
    pod = _pod(
        [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]
    )
    _strategy("", "pods").prepare_for_create(pod)
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    assert pod["status"]["qosClass"] == "Guaranteed"


# ================================================================= services


@pytest.fixture
def services() -> ServiceStrategy:
    strategy = strategy_for(_rt("", "services"), allocator=ServiceAllocator("127.96.0.0/12"))
    assert isinstance(strategy, ServiceStrategy)
    return strategy


def test_service_defaults_and_cluster_ip(services: ServiceStrategy) -> None:
    svc = _created(services, _service())
    spec = svc["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ipFamilies"] == ["IPv4"]
    assert spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["clusterIP"] == "127.96.0.1"
    assert spec["clusterIPs"] == ["127.96.0.1"]
    assert svc["status"] == {"loadBalancer": {}}
    assert "generation" not in svc["metadata"]


def test_service_ips_are_unique_and_reused_by_the_same_service(services: ServiceStrategy) -> None:
    first = _created(services, _service())
    other = _service()
    other["metadata"]["name"] = "api"
    second = _created(services, other)
    assert first["spec"]["clusterIP"] != second["spec"]["clusterIP"]
    # a retried create of the same service (after a failed validation) gets its IP back
    again = _created(services, _service())
    assert again["spec"]["clusterIP"] == first["spec"]["clusterIP"]
    services.released(first)
    third = _service()
    third["metadata"]["name"] = "third"
    assert _created(services, third)["spec"]["clusterIP"] != second["spec"]["clusterIP"]


def test_headless_service_keeps_none(services: ServiceStrategy) -> None:
    svc = _created(services, _service(clusterIP="None", ports=[]))
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["clusterIPs"] == ["None"]


def test_requested_cluster_ip_out_of_range_is_422(services: ServiceStrategy) -> None:
    with pytest.raises(ApiError) as err:
        services.prepare_for_create(_service(clusterIP="10.0.0.1"))
    assert err.value.code == 422
    assert "is not in the valid range" in err.value.message


def test_node_port_allocation(services: ServiceStrategy) -> None:
    svc = _created(services, _service(type="NodePort"))
    assert svc["spec"]["ports"][0]["nodePort"] == 30000
    assert svc["spec"]["externalTrafficPolicy"] == "Cluster"
    lb = _service(type="LoadBalancer")
    lb["metadata"]["name"] = "lb"
    _created(services, lb)
    assert lb["spec"]["ports"][0]["nodePort"] == 30001
    assert lb["spec"]["allocateLoadBalancerNodePorts"] is True


def test_update_without_cluster_ip_keeps_it_and_change_is_rejected(
    services: ServiceStrategy,
) -> None:
    old = _created(services, _service())
    replace = _service()  # kubectl replace of the original manifest
    services.prepare_for_update(replace, old)
    assert replace["spec"]["clusterIP"] == old["spec"]["clusterIP"]
    assert services.validate_update(replace, old) == []
    moved = _service(clusterIP="127.96.9.9")
    causes = _fields(services.validate_update(moved, old))
    assert causes["spec.clusterIPs[0]"].message == (
        'Invalid value: []string{"127.96.9.9"}: may not change once set'
    )


def test_update_keeps_node_ports(services: ServiceStrategy) -> None:
    old = _created(services, _service(type="NodePort"))
    new = _service(type="NodePort")
    services.prepare_for_update(new, old)
    assert new["spec"]["ports"][0]["nodePort"] == old["spec"]["ports"][0]["nodePort"]


@pytest.mark.parametrize(
    ("spec", "field", "reason"),
    [
        ({"ports": []}, "spec.ports", "FieldValueRequired"),
        ({"ports": [{"port": 0}]}, "spec.ports[0].port", "FieldValueInvalid"),
        ({"ports": [{"port": 80}, {"port": 81}]}, "spec.ports[0].name", "FieldValueRequired"),
        ({"type": "Magic"}, "spec.type", "FieldValueNotSupported"),
        ({"type": "ExternalName", "ports": []}, "spec.externalName", "FieldValueRequired"),
        (
            {"ports": [{"port": 80, "nodePort": 30005}]},
            "spec.ports[0].nodePort",
            "FieldValueForbidden",
        ),
    ],
)
def test_service_validation(spec: dict[str, Any], field: str, reason: str) -> None:
    strategy = strategy_for(_rt("", "services"), allocator=ServiceAllocator())
    svc = _service(**spec)
    strategy.default(svc)
    causes = _fields(strategy.validate(svc))
    assert field in causes, causes
    assert causes[field].reason == reason


def test_service_name_must_be_dns_1035() -> None:
    svc = _service()
    svc["metadata"]["name"] = "1web"
    causes = strategy_for(_rt("", "services")).validate(svc)
    assert "a DNS-1035 label must consist of" in _fields(causes)["metadata.name"].message


def test_external_name_service_gets_no_cluster_ip(services: ServiceStrategy) -> None:
    svc = _created(services, _service(type="ExternalName", externalName="db.example.com", ports=[]))
    assert "clusterIP" not in svc["spec"]
    assert "internalTrafficPolicy" not in svc["spec"]


# ================================================================= namespaces, nodes, config


def test_namespace_create_update_and_name() -> None:
    strategy = _strategy("", "namespaces")
    ns = _created(strategy, {"metadata": {"name": "team-a"}, "status": {"phase": "Terminating"}})
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    new = copy.deepcopy(ns)
    new["spec"]["finalizers"] = []
    new["metadata"]["labels"] = {}
    strategy.prepare_for_update(new, ns)
    assert new["spec"]["finalizers"] == ["kubernetes"]  # only namespaces/finalize may change them
    assert new["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    bad = strategy.validate({"metadata": {"name": "team.a"}})
    assert "RFC 1123 label" in _fields(bad)["metadata.name"].message


def test_node_keeps_status_on_create_and_defaults_allocatable() -> None:
    node = _created(
        _strategy("", "nodes"),
        {"metadata": {"name": "node-a"}, "status": {"capacity": {"cpu": "4"}}},
    )
    assert node["status"]["allocatable"] == {"cpu": "4"}


def test_secret_string_data_is_merged_into_data() -> None:
    secret = _created(
        _strategy("", "secrets"),
        {"metadata": {"name": "s"}, "data": {"a": "eA=="}, "stringData": {"b": "hello"}},
    )
    assert secret["type"] == "Opaque"
    assert "stringData" not in secret
    assert secret["data"] == {"a": "eA==", "b": base64.b64encode(b"hello").decode()}


def test_secret_type_is_immutable_and_tls_needs_keys() -> None:
    strategy = _strategy("", "secrets")
    tls = {"metadata": {"name": "t"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}}
    assert "data[tls.key]" in _fields(strategy.validate(tls))
    old = _created(strategy, {"metadata": {"name": "s"}})
    new = copy.deepcopy(old)
    new["type"] = "kubernetes.io/basic-auth"
    assert "type" in _fields(strategy.validate_update(new, old))


def test_config_key_validation() -> None:
    causes = _strategy("", "configmaps").validate(
        {"metadata": {"name": "c"}, "data": {"bad key": "1"}}
    )
    cause = _fields(causes)["data[bad key]"]
    assert cause.message.startswith(
        'Invalid value: "bad key": a valid config key must consist of alphanumeric characters'
    )


# ================================================================= PDB, endpoints


def test_pdb_min_available_and_max_unavailable_are_exclusive() -> None:
    strategy = _strategy("policy", "poddisruptionbudgets")
    pdb: dict[str, Any] = {
        "metadata": {"name": "p"},
        "spec": {"minAvailable": 1, "maxUnavailable": 1},
    }
    strategy.prepare_for_create(pdb)
    assert pdb["metadata"]["generation"] == 1
    cause = _fields(strategy.validate(pdb))["spec"]
    assert "minAvailable and maxUnavailable cannot be both set" in cause.message
    assert strategy.warnings(pdb), "the PDB is not enforced, so kubectl should warn"


def test_endpoint_slice_address_type_and_port_defaults() -> None:
    strategy = strategy_for(_rt("discovery.k8s.io", "endpointslices"))
    eps: dict[str, Any] = {
        "metadata": {"name": "e"},
        "ports": [{"port": 80}],
        "endpoints": [{"addresses": []}],
    }
    strategy.prepare_for_create(eps)
    assert eps["ports"] == [{"port": 80, "protocol": "TCP", "name": ""}]
    fields = _fields(strategy.validate(eps))
    assert fields["addressType"].reason == "FieldValueRequired"
    assert fields["endpoints[0].addresses"].reason == "FieldValueRequired"


# ================================================================= CRDs and custom resources


def _crd_object() -> dict[str, Any]:
    return {
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                    "subresources": {
                        "status": {},
                        "scale": {
                            "specReplicasPath": ".spec.size",
                            "statusReplicasPath": ".status.size",
                        },
                    },
                }
            ],
        },
    }


def test_crd_defaults_and_validation() -> None:
    strategy = _strategy("apiextensions.k8s.io", "customresourcedefinitions")
    crd = _created(strategy, _crd_object())
    assert crd["spec"]["names"]["singular"] == "widget"
    assert crd["spec"]["names"]["listKind"] == "WidgetList"
    assert crd["metadata"]["generation"] == 1
    wrong = _crd_object()
    wrong["metadata"]["name"] = "widgets"
    assert _fields(strategy.validate(wrong))["metadata.name"].reason == "FieldValueInvalid"
    two_storage = _crd_object()
    two_storage["spec"]["versions"].append(
        {"name": "v2", "served": True, "storage": True, "schema": {"openAPIV3Schema": {}}}
    )
    assert "must have exactly one version marked as storage version" in (
        _fields(strategy.validate(two_storage))["spec.versions"].message
    )


def _custom_rt(with_status: bool) -> ResourceType:
    registry = Registry.builtin()
    crd = _crd_object()
    if not with_status:
        del crd["spec"]["versions"][0]["subresources"]
    registry.register_crd(crd)
    rt = registry.lookup("example.com", "v1", "widgets")
    assert rt is not None
    return rt


def test_custom_resource_with_status_subresource_splits_status() -> None:
    rt = _custom_rt(with_status=True)
    strategy = strategy_for(rt)
    obj: dict[str, Any] = {"metadata": {"name": "w"}, "spec": {"size": 1}, "status": {"size": 5}}
    strategy.prepare_for_create(obj)
    assert obj["metadata"]["generation"] == 1
    assert "status" not in obj
    obj["status"] = {"size": 1}
    new = copy.deepcopy(obj)
    new["status"] = {"size": 9}
    new["metadata"]["labels"] = {"a": "b"}
    strategy.prepare_for_update(new, obj)
    assert new["status"] == {"size": 1}
    assert new["metadata"]["generation"] == 1  # metadata-only change
    new["spec"]["size"] = 2
    strategy.prepare_for_update(new, obj)
    assert new["metadata"]["generation"] == 2
    status_write = copy.deepcopy(obj)
    status_write["spec"]["size"] = 100
    status_write["metadata"]["labels"] = {"x": "y"}
    status_write["status"] = {"size": 3}
    strategy.prepare_for_status_update(status_write, obj)
    assert status_write == {**obj, "status": {"size": 3}}


def test_custom_resource_without_status_subresource_bumps_on_status_change() -> None:
    strategy = strategy_for(_custom_rt(with_status=False))
    obj: dict[str, Any] = {"metadata": {"name": "w"}, "spec": {"size": 1}, "status": {"size": 5}}
    strategy.prepare_for_create(obj)
    assert obj["status"] == {"size": 5}  # status is part of the object
    new = copy.deepcopy(obj)
    new["status"] = {"size": 6}
    strategy.prepare_for_update(new, obj)
    assert new["status"] == {"size": 6}
    assert new["metadata"]["generation"] == 2


# ================================================================= scale


def test_scale_of_deployment_and_apply_scale() -> None:
    rt = _rt("apps", "deployments")
    deploy = _created(strategy_for(rt), _deployment(replicas=3))
    deploy["metadata"]["resourceVersion"] = "12"
    deploy["status"] = {"replicas": 2}
    scale = scale_of(rt, deploy)
    assert scale == {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": "web", "namespace": "default", "resourceVersion": "12"},
        "spec": {"replicas": 3},
        "status": {"replicas": 2, "selector": "app=web"},
    }
    assert apply_scale(rt, deploy, {"spec": {"replicas": 5}}) == []
    assert deploy["spec"]["replicas"] == 5
    causes = apply_scale(rt, deploy, {"spec": {"replicas": -1}})
    assert causes[0].field == "spec.replicas"
    assert deploy["spec"]["replicas"] == 5


def test_scale_of_custom_resource_uses_crd_paths() -> None:
    rt = _custom_rt(with_status=True)
    widget: dict[str, Any] = {"metadata": {"name": "w"}, "spec": {"size": 4}, "status": {"size": 1}}
    scale = scale_of(rt, widget)
    assert scale["spec"] == {"replicas": 4}
    assert scale["status"] == {"replicas": 1}
    apply_scale(rt, widget, {"spec": {"replicas": 6}})
    assert widget["spec"]["size"] == 6
