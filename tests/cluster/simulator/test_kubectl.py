"""End to end with real kubectl (the newest installed, and 1.29) against one SimulatedCluster:
apply/diff/get/patch/scale/delete/watch/logs, CRDs, and the errors kubectl prints.
"""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from harness.cluster import podlogs
from harness.cluster.simulated import (
    KubectlBinary,
    SimulatedCluster,
    find_kubectl,
    kubectl_binaries,
)
from harness.cluster.simulator.http.discovery import SERVER_VERSION

pytestmark = pytest.mark.integration


def _versions() -> list[KubectlBinary]:
    """1.29, the one matching the server (what `cluster.kubectl` runs) and the newest."""
    usable = [b for b in kubectl_binaries() if b.version >= (1, 29)]
    if not usable:
        return []
    chosen = {
        usable[-1].version: usable[-1],
        find_kubectl(prefer=SERVER).version: find_kubectl(prefer=SERVER),
    }
    oldest = [b for b in usable if b.version == (1, 29)]
    if oldest:
        chosen[(1, 29)] = oldest[0]
    return sorted(chosen.values())


SERVER = (int(SERVER_VERSION.split(".")[0].lstrip("v")), int(SERVER_VERSION.split(".")[1]))
KUBECTLS = _versions()
if not KUBECTLS:
    pytest.skip("no kubectl >= 1.29 installed", allow_module_level=True)
NEWEST = KUBECTLS[-1]
_counter = itertools.count()


@pytest.fixture(scope="module")
def cluster() -> Iterator[SimulatedCluster]:
    with SimulatedCluster("kubectl-e2e") as started:
        yield started


@pytest.fixture
def ns(cluster: SimulatedCluster) -> str:
    """A fresh namespace per test: cheap isolation on the shared cluster."""
    name = f"t{next(_counter)}-{int(time.time() * 1000) % 100000}"
    cluster.kubectl("create", "namespace", name)
    return name


def _by_version(binary: KubectlBinary) -> str:
    return f"kubectl-{binary.version[0]}.{binary.version[1]}"


@pytest.fixture(params=KUBECTLS, ids=_by_version)
def kubectl_binary(request: pytest.FixtureRequest) -> KubectlBinary:
    binary: KubectlBinary = request.param
    return binary


def _manifests(image: str, env: list[dict[str, str]], replicas: int = 2) -> str:
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": image,
                                "env": env,
                                "ports": [{"containerPort": 8080, "name": "http"}],
                            }
                        ]
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": "http", "protocol": "TCP"}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "web-config"},
            "data": {"a": "1"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "web-secret"},
            "type": "Opaque",
            "stringData": {"password": "hunter2"},
        },
    ]
    return yaml.safe_dump_all(documents)


def _get_json(cluster: SimulatedCluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


# -- version, apply, get ---------------------------------------------------------------------
def test_kubectl_version(cluster: SimulatedCluster, kubectl_binary: KubectlBinary) -> None:
    out = cluster.kubectl("version", "-o", "json", binary=kubectl_binary).stdout
    info = json.loads(out)
    assert info["serverVersion"]["gitVersion"].startswith("v1.")
    assert int(info["serverVersion"]["minor"]) >= 31
    assert info["clientVersion"]["minor"].startswith(str(kubectl_binary.version[1]))


def test_apply_creates_then_updates_with_a_three_way_merge(
    cluster: SimulatedCluster, ns: str, kubectl_binary: KubectlBinary
) -> None:
    first = _manifests("example/web:1", [{"name": "A", "value": "1"}, {"name": "B", "value": "1"}])
    created = cluster.kubectl("apply", "-n", ns, "-f", "-", input=first, binary=kubectl_binary)
    assert "deployment.apps/web created" in created.stdout
    assert "service/web created" in created.stdout
    assert "configmap/web-config created" in created.stdout
    assert "secret/web-secret created" in created.stdout
    second = _manifests("example/web:2", [{"name": "B", "value": "2"}], replicas=3)
    updated = cluster.kubectl("apply", "-n", ns, "-f", "-", input=second, binary=kubectl_binary)
    assert "deployment.apps/web configured" in updated.stdout
    assert "service/web unchanged" in updated.stdout
    deployment = _get_json(cluster, "-n", ns, "deployment", "web")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "example/web:2"
    assert container["env"] == [{"name": "B", "value": "2"}]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["metadata"]["generation"] == 2
    annotations = deployment["metadata"]["annotations"]
    applied = json.loads(annotations["kubectl.kubernetes.io/last-applied-configuration"])
    assert applied["spec"]["template"]["spec"]["containers"][0]["image"] == "example/web:2"
    secret = _get_json(cluster, "-n", ns, "secret", "web-secret")
    assert secret["data"] == {"password": "aHVudGVyMg=="}


def _seed_for_get(cluster: SimulatedCluster, ns: str) -> None:
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "solo", "namespace": ns},
            "spec": {"containers": [{"name": "app", "image": "example/web:1"}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "rs", "namespace": ns},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "rs"}},
                "template": {
                    "metadata": {"labels": {"app": "rs"}},
                    "spec": {"containers": [{"name": "app", "image": "example/web:1"}]},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "solo.1", "namespace": ns},
            "involvedObject": {"kind": "Pod", "name": "solo", "namespace": ns},
            "reason": "Scheduled",
            "message": "Successfully assigned",
            "type": "Normal",
            "firstTimestamp": "2025-01-01T00:00:00Z",
            "lastTimestamp": "2025-01-01T00:00:00Z",
            "count": 1,
            "source": {"component": "default-scheduler"},
        },
    ]
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "sim-node-a", "labels": {"topology.kubernetes.io/zone": "a"}},
    }
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(node))


_HEADERS = {
    "pods": ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
    "deployments": ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
    "replicasets": ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
    "services": ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
    "namespaces": ["NAME", "STATUS", "AGE"],
    "nodes": ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
    "events": ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
}


def test_get_prints_the_real_columns(
    cluster: SimulatedCluster, ns: str, kubectl_binary: KubectlBinary
) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=_manifests("example/web:1", []))
    _seed_for_get(cluster, ns)
    for resource, headers in _HEADERS.items():
        out = cluster.kubectl("get", resource, "-n", ns, binary=kubectl_binary).stdout
        first = out.splitlines()[0]
        columns = [c for c in first.split("  ") if c.strip()]
        assert [c.strip() for c in columns] == headers, (resource, out)
        assert len(out.splitlines()) >= 2, (resource, out)


def test_get_json_and_name_output(cluster: SimulatedCluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=_manifests("example/web:1", []))
    document = _get_json(cluster, "-n", ns, "deployments")
    assert document["kind"] == "List"
    assert [d["metadata"]["name"] for d in document["items"]] == ["web"]
    assert document["items"][0]["kind"] == "Deployment"
    names = cluster.kubectl("get", "-n", ns, "cm,svc", "-o", "name").stdout.split()
    assert "configmap/web-config" in names and "service/web" in names


def test_diff_uses_server_dry_run(cluster: SimulatedCluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=_manifests("example/web:1", []))
    changed = _manifests("example/web:2", [])
    result = cluster.kubectl("diff", "-n", ns, "-f", "-", input=changed, check=False)
    assert result.returncode == 1, result.stderr
    assert "-        image: example/web:1" in result.stdout
    assert "+        image: example/web:2" in result.stdout
    image = _get_json(cluster, "-n", ns, "deploy", "web")["spec"]["template"]["spec"]["containers"][
        0
    ]
    assert image["image"] == "example/web:1"  # dry run: nothing changed
    same = cluster.kubectl(
        "diff", "-n", ns, "-f", "-", input=changed.replace(":2", ":1"), check=False
    )
    assert same.returncode == 0, same.stdout + same.stderr


# -- patch, scale, delete, watch -------------------------------------------------------------
def test_patch_types(cluster: SimulatedCluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=_manifests("example/web:1", []))
    cluster.kubectl(
        "patch", "-n", ns, "cm", "web-config", "--type=merge", "-p", '{"data":{"b":"2"}}'
    )
    cluster.kubectl(
        "patch", "-n", ns, "cm", "web-config", "--type=json",
        "-p", '[{"op":"remove","path":"/data/a"}]',
    )  # fmt: skip
    assert _get_json(cluster, "-n", ns, "cm", "web-config")["data"] == {"b": "2"}
    cluster.kubectl(
        "patch", "-n", ns, "svc", "web", "-p", '{"spec":{"ports":[{"port":80,"targetPort":8081}]}}'
    )
    ports = _get_json(cluster, "-n", ns, "svc", "web")["spec"]["ports"]
    assert len(ports) == 1  # strategic: merged by port, not appended or replaced
    assert (ports[0]["port"], ports[0]["targetPort"], ports[0]["protocol"]) == (80, 8081, "TCP")
    failed = cluster.kubectl(
        "patch", "-n", ns, "cm", "web-config", "--type=json",
        "-p", '[{"op":"test","path":"/data/b","value":"nope"}]', check=False,
    )  # fmt: skip
    assert failed.returncode != 0


def test_scale_deployment(cluster: SimulatedCluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=_manifests("example/web:1", []))
    out = cluster.kubectl("scale", "-n", ns, "deployment", "web", "--replicas=4").stdout
    assert "deployment.apps/web scaled" in out
    assert _get_json(cluster, "-n", ns, "deploy", "web")["spec"]["replicas"] == 4


def test_delete_waits_until_gone(cluster: SimulatedCluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=_manifests("example/web:1", []))
    started = time.monotonic()
    out = cluster.kubectl(
        "delete", "-n", ns, "deployment/web", "configmap/web-config", timeout=30
    ).stdout
    assert 'deployment.apps "web" deleted' in out
    assert 'configmap "web-config" deleted' in out
    assert time.monotonic() - started < 10
    missing = cluster.kubectl("get", "-n", ns, "deployment", "web", check=False)
    assert missing.returncode == 1
    assert 'deployments.apps "web" not found' in missing.stderr


def test_get_watch_streams_changes_until_stopped(cluster: SimulatedCluster, ns: str) -> None:
    cluster.kubectl("create", "configmap", "first", "-n", ns, "--from-literal=a=1")
    process = subprocess.Popen(
        [cluster.kubectl_binary.path, "get", "configmaps", "-n", ns, "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cluster.kubectl_env(),
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()

    def next_line(deadline: float) -> str:
        return lines.get(timeout=max(0.01, deadline - time.monotonic()))

    try:
        deadline = time.monotonic() + 15
        seen = [next_line(deadline) for _ in range(2)]
        assert seen[0].split()[:3] == ["NAME", "DATA", "AGE"], seen
        cluster.kubectl("create", "configmap", "second", "-n", ns, "--from-literal=a=1")
        while not any(line.startswith("second") for line in seen):
            seen.append(next_line(deadline))
    finally:
        process.terminate()
        process.wait(10)
    assert any(line.startswith("first") for line in seen)


def test_get_watch_with_request_timeout_ends(cluster: SimulatedCluster, ns: str) -> None:
    started = time.monotonic()
    result = cluster.kubectl(
        "get", "configmaps", "-n", ns, "--watch", "--request-timeout=2s", check=False, timeout=30
    )
    assert time.monotonic() - started < 20
    assert "Unauthorized" not in result.stderr


# -- CRDs and errors -------------------------------------------------------------------------
_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "prometheusrules.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "names": {
            "kind": "PrometheusRule",
            "listKind": "PrometheusRuleList",
            "plural": "prometheusrules",
            "singular": "prometheusrule",
            "categories": ["prometheus-operator"],
            "shortNames": ["promrule"],
        },
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                        },
                    }
                },
            }
        ],
    },
}

_RULE = {
    "apiVersion": "monitoring.coreos.com/v1",
    "kind": "PrometheusRule",
    "metadata": {"name": "api-alerts"},
    "spec": {"groups": [{"name": "api", "rules": [{"alert": "High", "expr": "up == 0"}]}]},
}


def test_apply_a_crd_then_a_custom_resource(cluster: SimulatedCluster, ns: str) -> None:
    out = cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(_CRD)).stdout
    assert "prometheusrules.monitoring.coreos.com" in out
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(_RULE)).stdout
    assert "prometheusrule.monitoring.coreos.com/api-alerts created" in out
    stored = _get_json(cluster, "-n", ns, "prometheusrules", "api-alerts")
    assert stored["spec"]["groups"][0]["rules"][0]["alert"] == "High"
    changed = dict(_RULE, spec={"groups": [{"name": "api", "rules": []}]})
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(changed)).stdout
    assert "configured" in out
    listed = cluster.kubectl("get", "promrule", "-n", ns).stdout
    assert listed.split()[:2] == ["NAME", "AGE"] and "api-alerts" in listed


def test_unknown_kind_is_no_matches(cluster: SimulatedCluster, ns: str) -> None:
    document = {"apiVersion": "example.com/v1", "kind": "Frobnicator", "metadata": {"name": "x"}}
    result = cluster.kubectl(
        "apply", "-n", ns, "-f", "-", input=yaml.safe_dump(document), check=False
    )
    assert result.returncode != 0
    assert 'no matches for kind "Frobnicator" in version "example.com/v1"' in result.stderr


def test_server_side_apply_is_reported_unavailable(cluster: SimulatedCluster, ns: str) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1"}}
    result = cluster.kubectl(
        "apply", "--server-side", "-n", ns, "-f", "-", input=yaml.safe_dump(cm), check=False
    )
    assert result.returncode != 0
    assert (
        "415" in result.stderr
        or "UnsupportedMediaType" in result.stderr
        or ("not available" in result.stderr)
    ), result.stderr


def test_wrong_token_is_unauthorized(
    cluster: SimulatedCluster, kubectl_binary: KubectlBinary
) -> None:
    result = cluster.kubectl("get", "pods", "--token=wrong", check=False, binary=kubectl_binary)
    assert result.returncode == 1
    assert "error: You must be logged in to the server (Unauthorized)" in result.stderr


# -- logs ------------------------------------------------------------------------------------
def test_logs_tail_and_previous(
    cluster: SimulatedCluster, ns: str, kubectl_binary: KubectlBinary
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "talker"},
        "spec": {
            "nodeName": "sim-node-a",
            "containers": [{"name": "app", "image": "example/web:1"}],
        },
    }
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(pod))
    logs = podlogs.PodLogs(cluster.logs_dir)
    logs.writable_path(ns, "talker", "app", 0).write_bytes(podlogs.cri_line("crashed run"))
    current = logs.writable_path(ns, "talker", "app", 1)
    current.write_bytes(b"".join(podlogs.cri_line(f"line {i}") for i in range(5)))
    out = cluster.kubectl("logs", "-n", ns, "talker", "--tail=2", binary=kubectl_binary).stdout
    assert out == "line 3\nline 4\n"
    assert cluster.kubectl("logs", "-n", ns, "talker", "--previous").stdout == "crashed run\n"
    out = cluster.kubectl(
        "logs", "-n", ns, "talker", "-c", "app", "--timestamps", "--tail=1"
    ).stdout
    assert out.endswith(" line 4\n") and out.startswith("20")
    wrong = cluster.kubectl("logs", "-n", ns, "talker", "-c", "nope", check=False)
    assert wrong.returncode != 0
    assert "container nope is not valid for pod talker" in wrong.stderr


@pytest.mark.xfail(
    NEWEST.version < (1, 32),
    reason="only kubectl >= 1.32 sends protobuf bodies",
    strict=False,
)
def test_kubectl_132_typed_create_sends_protobuf_which_is_415(cluster: SimulatedCluster) -> None:
    """A known gap, pinned: kubectl 1.32+ `create namespace|configmap|secret` send protobuf
    bodies; the simulator has no protobuf codec, so they get 415 (use 1.31, or `apply`)."""
    result = cluster.kubectl("create", "namespace", "protobuf-gap", binary=NEWEST, check=False)
    assert result.returncode != 0
    assert "UnsupportedMediaType" in result.stderr


def test_stored_but_unacted_fields_print_a_kubectl_warning(
    cluster: SimulatedCluster, ns: str
) -> None:
    manifest = _manifests("example/web:1", []).replace(
        "        name: app\n",
        "        name: app\n        securityContext:\n          runAsNonRoot: true\n",
        1,
    )
    assert "securityContext" in manifest
    result = cluster.kubectl("apply", "-n", ns, "-f", "-", input=manifest)
    assert (
        "Warning: spec.template.spec.containers[0].securityContext: "
        "stored but not acted on by the cluster simulator"
    ) in result.stderr
