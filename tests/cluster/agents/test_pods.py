"""The pod runtime's pure parts: env building (envFrom, valueFrom, service links), the
image-to-argv mapping, CrashLoopBackOff timing and messages, pod phase, the sandbox argv."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

from harness._process import ServiceUser
from harness.cluster.agents.agent import NodeSpec
from harness.cluster.agents.pods import (
    BackOff,
    Container,
    ContainerConfigError,
    ImageNotMapped,
    NodeContext,
    ProcessSandbox,
    build_env,
    container_argv,
    go_duration,
    pod_phase,
    service_env,
)
from harness.cluster.config import ClusterConfig
from harness.cluster.podlogs import PodLogs

JSON = dict[str, Any]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class FakeApi:
    def __init__(self) -> None:
        self.config_maps: dict[str, JSON] = {
            "app": {"data": {"MODE": "fast", "LEVEL": "debug", "bad-key": "x"}},
        }
        self.secrets: dict[str, JSON] = {"creds": {"data": {"PASSWORD": b64("s3cret")}}}
        self.services: dict[str, list[JSON]] = {
            "default": [
                {
                    "metadata": {"name": "kubernetes"},
                    "spec": {"clusterIP": "127.96.0.1", "ports": [{"name": "https", "port": 443}]},
                }
            ],
            "shop": [
                {
                    "metadata": {"name": "web-api"},
                    "spec": {
                        "clusterIP": "127.96.0.7",
                        "ports": [
                            {"name": "http", "port": 80, "protocol": "TCP"},
                            {"name": "metrics", "port": 9090},
                        ],
                    },
                },
                {"metadata": {"name": "headless"}, "spec": {"clusterIP": "None", "ports": []}},
            ],
        }
        self.events: list[tuple[str, str, str]] = []

    async def patch_status(self, pod: JSON, status: JSON) -> JSON | None:
        return pod

    async def record_event(
        self, pod: JSON, event_type: str, reason: str, message: str, field_path: str = ""
    ) -> None:
        self.events.append((event_type, reason, message))

    async def get_config_map(self, namespace: str, name: str) -> JSON | None:
        return self.config_maps.get(name)

    async def get_secret(self, namespace: str, name: str) -> JSON | None:
        return self.secrets.get(name)

    async def list_services(self, namespace: str) -> list[JSON]:
        return self.services.get(namespace, [])

    async def delete_pod(self, pod: JSON) -> None:
        return None


def context(tmp_path: Path, **images: list[str]) -> NodeContext:
    config = ClusterConfig(images=dict(images), base_dir=tmp_path)
    node = NodeSpec("node-1", "zone-a", "127.0.10.1", "127.16.0.0/16")
    return NodeContext(
        config, node, PodLogs(tmp_path / "logs"), tmp_path, ProcessSandbox(None, isolate=False)
    )


def pod(container: JSON, namespace: str = "shop", **spec: Any) -> JSON:
    return {
        "metadata": {
            "name": "web-1",
            "namespace": namespace,
            "uid": "u-1",
            "labels": {"app": "web"},
        },
        "spec": {
            "nodeName": "node-1",
            "serviceAccountName": "default",
            "containers": [container],
            **spec,
        },
        "status": {"podIP": "127.16.0.9", "hostIP": "127.0.10.1"},
    }


def env_of(
    tmp_path: Path, container: JSON, api: FakeApi | None = None, **spec: Any
) -> dict[str, str]:
    api = api or FakeApi()
    return asyncio.run(build_env(pod(container, **spec), container, api, context(tmp_path)))


def test_service_links_follow_envvars_from_services() -> None:
    env = service_env(FakeApi().services["shop"])
    assert env == {
        "WEB_API_SERVICE_HOST": "127.96.0.7",
        "WEB_API_SERVICE_PORT": "80",
        "WEB_API_SERVICE_PORT_HTTP": "80",
        "WEB_API_SERVICE_PORT_METRICS": "9090",
        "WEB_API_PORT": "tcp://127.96.0.7:80",
        "WEB_API_PORT_80_TCP": "tcp://127.96.0.7:80",
        "WEB_API_PORT_80_TCP_PROTO": "tcp",
        "WEB_API_PORT_80_TCP_PORT": "80",
        "WEB_API_PORT_80_TCP_ADDR": "127.96.0.7",
        "WEB_API_PORT_9090_TCP": "tcp://127.96.0.7:9090",
        "WEB_API_PORT_9090_TCP_PROTO": "tcp",
        "WEB_API_PORT_9090_TCP_PORT": "9090",
        "WEB_API_PORT_9090_TCP_ADDR": "127.96.0.7",
    }


def test_env_sources_and_expansion(tmp_path: Path) -> None:
    container = {
        "name": "app",
        "image": "web",
        "envFrom": [
            {"configMapRef": {"name": "app"}, "prefix": "CFG_"},
            {"secretRef": {"name": "creds"}},
        ],
        "env": [
            {"name": "A", "value": "x"},
            {"name": "B", "value": "$(A)-$(CFG_MODE)-$(WEB_API_SERVICE_HOST)-$(NOPE)"},
            {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
            {"name": "LVL", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "LEVEL"}}},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "PASSWORD"}}},
            {
                "name": "OPT",
                "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k", "optional": True}},
            },
            {
                "name": "MODE",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
            },
        ],
        "resources": {"limits": {"memory": "256Mi"}},
    }
    env = env_of(tmp_path, container)
    assert env["CFG_MODE"] == "fast" and env["PASSWORD"] == "s3cret"
    assert (
        "CFG_bad-key" in env
    )  # a valid env name once prefixed? no: '-' is allowed by IsEnvVarName
    assert env["B"] == "x-fast-127.96.0.7-$(NOPE)"
    assert (env["NAME"], env["NS"], env["APP"], env["IP"]) == ("web-1", "shop", "web", "127.16.0.9")
    assert (env["NODE"], env["SA"], env["LVL"], env["PW"]) == (
        "node-1",
        "default",
        "debug",
        "s3cret",
    )
    assert "OPT" not in env
    assert env["MODE"] == "256"
    assert env["WEB_API_SERVICE_PORT"] == "80"
    assert "KUBERNETES_SERVICE_HOST" in env  # the master service is always linked


def test_invalid_env_names_are_skipped_with_a_warning(tmp_path: Path) -> None:
    api = FakeApi()
    api.config_maps["app"]["data"]["1BAD"] = "y"
    container = {"name": "app", "image": "web", "envFrom": [{"configMapRef": {"name": "app"}}]}
    warnings: list[tuple[str, str]] = []
    env = asyncio.run(
        build_env(
            pod(container),
            container,
            api,
            context(tmp_path),
            warn=lambda reason, message: warnings.append((reason, message)),
        )
    )
    assert "1BAD" not in env and env["MODE"] == "fast"
    assert warnings == [
        (
            "InvalidEnvironmentVariableNames",
            "Keys [1BAD] from the EnvFrom configMap shop/app were skipped since they are "
            "considered invalid environment variable names.",
        )
    ]


def test_service_links_can_be_disabled(tmp_path: Path) -> None:
    env = env_of(tmp_path, {"name": "app", "image": "web"}, enableServiceLinks=False)
    assert "WEB_API_SERVICE_HOST" not in env and "KUBERNETES_SERVICE_HOST" in env


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"configMapKeyRef": {"name": "gone", "key": "k"}}, 'configmap "gone" not found'),
        (
            {"configMapKeyRef": {"name": "app", "key": "NOPE"}},
            "couldn't find key NOPE in ConfigMap shop/app",
        ),
        (
            {"secretKeyRef": {"name": "creds", "key": "NOPE"}},
            "couldn't find key NOPE in Secret shop/creds",
        ),
        ({"secretKeyRef": {"name": "gone", "key": "k"}}, 'secret "gone" not found'),
    ],
)
def test_missing_references_are_config_errors(tmp_path: Path, source: JSON, message: str) -> None:
    container = {"name": "app", "image": "web", "env": [{"name": "X", "valueFrom": source}]}
    with pytest.raises(ContainerConfigError) as caught:
        env_of(tmp_path, container)
    assert str(caught.value) == message


def test_missing_env_from_source(tmp_path: Path) -> None:
    container = {"name": "app", "image": "web", "envFrom": [{"secretRef": {"name": "gone"}}]}
    with pytest.raises(ContainerConfigError, match='secret "gone" not found'):
        env_of(tmp_path, container)
    optional = {
        "name": "app",
        "image": "web",
        "envFrom": [{"secretRef": {"name": "gone", "optional": True}}],
    }
    assert "PASSWORD" not in env_of(tmp_path, optional)


def test_argv_mapping_command_and_args() -> None:
    config = ClusterConfig(images={"webapp": ["python", "webapp.py", "--default"]})
    env = {"PORT": "8080"}
    image = {"image": "registry.example/team/webapp:v2"}
    assert container_argv(config, image, env) == ["python", "webapp.py", "--default"]
    with_args = {**image, "args": ["--port=$(PORT)"]}
    assert container_argv(config, with_args, env) == [
        "python",
        "webapp.py",
        "--default",
        "--port=8080",
    ]
    with_command = {**image, "command": ["sh", "-c"], "args": ["echo $$(PORT) $(PORT)"]}
    assert container_argv(config, with_command, env) == ["sh", "-c", "echo $(PORT) 8080"]


def test_unmapped_image_names_the_config_key() -> None:
    with pytest.raises(ImageNotMapped) as caught:
        container_argv(ClusterConfig(), {"image": "ghcr.io/acme/api:1.2"}, {})
    assert "[tool.harness.images] in pyproject.toml" in str(caught.value)
    assert '"api" = ["python", "app.py"]' in str(caught.value)


def test_backoff_doubles_caps_and_resets() -> None:
    now = [0.0]
    backoff = BackOff(lambda: now[0])
    backoff.next("app", 0.0)  # first crash: restarted at once, next delay 10 s
    assert backoff.get("app") == 10
    assert backoff.in_backoff_since("app", 0.0)
    now[0] = 10.5
    assert not backoff.in_backoff_since("app", 0.0)
    delays = []
    for _ in range(8):
        backoff.next("app", now[0])
        delays.append(backoff.get("app"))
        now[0] += backoff.get("app")
    assert delays == [20, 40, 80, 160, 300, 300, 300, 300]
    # a container that ran for more than 2 x max since the last restart starts over
    finished = now[0] + 601
    now[0] = finished
    assert not backoff.in_backoff_since("app", finished)
    backoff.next("app", finished)
    assert backoff.get("app") == 10


@pytest.mark.parametrize(
    ("seconds", "text"), [(10, "10s"), (40, "40s"), (80, "1m20s"), (160, "2m40s"), (300, "5m0s")]
)
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_container_status_holds_exactly_one_state_and_no_nulls() -> None:
    """The kubelet merge-patches pods/status, which replaces containerStatuses whole: a null
    state key would be stored, and `"terminated" in state` then ended `kubectl logs -f` of
    a running container at once."""
    container = Container({"name": "app", "image": "webapp:good"}, None)
    status = container.status(terminating=False)
    assert status["state"] == {"waiting": {"reason": "ContainerCreating"}}
    container.terminated = {"exitCode": 0, "reason": "Completed"}
    assert container.status(terminating=False)["state"] == {"terminated": container.terminated}
    assert None not in status.values()


def test_pod_phase_follows_get_phase() -> None:
    def status(state: JSON, last: JSON | None = None) -> JSON:
        return {"state": state, "lastState": {"terminated": last} if last else {}}

    running = status({"running": {}})
    waiting = status({"waiting": {"reason": "ContainerCreating"}})
    crash = status({"waiting": {"reason": "CrashLoopBackOff"}}, {"exitCode": 1})
    done = status({"terminated": {"exitCode": 0}})
    failed = status({"terminated": {"exitCode": 2}})
    assert pod_phase([waiting], "Always") == "Pending"
    assert pod_phase([running, waiting], "Always") == "Pending"
    assert pod_phase([running], "Always") == "Running"
    assert pod_phase([crash], "Always") == "Running"
    assert pod_phase([done], "Never") == "Succeeded"
    assert pod_phase([failed], "Never") == "Failed"
    assert pod_phase([failed], "OnFailure") == "Running"
    assert pod_phase([done], "Always") == "Running"
    assert pod_phase([done], "Always", terminal=True) == "Succeeded"
    assert pod_phase([failed, done], "Always", terminal=True) == "Failed"


def test_sandbox_argv_isolates_and_cleans_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG_SECRET_THING", "x")
    user = ServiceUser("nobody", 65534, 65534, "/nonexistent")
    isolated = ProcessSandbox(user, isolate=True)
    argv = isolated.container_argv(["python", "app.py"], {"PATH": "/usr/bin"}, Path("/s/hosts/ns"))
    assert argv[:5] == ["unshare", "--mount", "--propagation", "private", "--"]
    assert argv[8] == "/s/hosts/ns"
    assert argv[argv.index("setpriv") : argv.index("setpriv") + 7] == [
        "setpriv",
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        "--",
    ]
    assert "KUBECONFIG_SECRET_THING" in argv and argv[-2:] == ["python", "app.py"]
    assert "PATH" not in argv  # kept
    assert isolated.process_user() is None
    plain = ProcessSandbox(user, isolate=False)
    assert plain.container_argv(["app"], {}, Path("/h"))[0] == "env"
    assert plain.process_user() == user
    exec_argv, exec_user = isolated.exec_argv(1234, ["cat", "/tmp/x"])
    assert exec_argv[:5] == ["nsenter", "--target", "1234", "--mount", "--"] and exec_user is None


def test_program_is_resolved_on_path_as_the_pod_user_would_exec_it() -> None:
    # execvp skips PATH entries the user may not execute (EACCES) and takes the next one:
    # root's pyenv shims under a 0700 home must not shadow /usr/bin for an unprivileged pod.
    import shutil as _shutil
    import tempfile

    from harness._process import ServiceUser
    from harness.cluster.agents.pods import ContainerStartError, check_runnable

    base = Path(tempfile.mkdtemp(prefix="harness-path-", dir="/var/tmp"))
    try:
        base.chmod(0o755)
        private, public = base / "private", base / "public"
        for folder, mode in ((private, 0o700), (public, 0o755)):
            folder.mkdir()
            program = folder / "tool"
            program.write_text("#!/bin/sh\n")
            program.chmod(0o755)
            folder.chmod(mode)
        pod_user = ServiceUser("pod", 54321, 54321, "/")
        env = {"PATH": f"{private}:{public}"}
        assert check_runnable(["tool", "x"], env, base, pod_user) == [str(public / "tool"), "x"]
        assert check_runnable(["tool"], env, base, None) == [str(private / "tool")]
        with pytest.raises(ContainerStartError, match="cannot be executed by the pod's user"):
            check_runnable(["tool"], {"PATH": str(private)}, base, pod_user)
        with pytest.raises(ContainerStartError, match="not found in \\$PATH"):
            check_runnable(["nope"], env, base, pod_user)
    finally:
        _shutil.rmtree(base, ignore_errors=True)


def test_inline_code_arguments_are_not_taken_for_script_paths() -> None:
    # `python3 -c "<program with newlines and slashes>"` once crashed the kubelet's check
    # with ENAMETOOLONG and left the pod in ContainerCreating.
    from harness._process import ServiceUser
    from harness.cluster.agents.pods import check_runnable

    code = "import sys\nprint('http://example/' + 'x' * 5000)\n"
    argv = check_runnable(
        ["sh", "-c", code, "x" * 300 + "/" + "y" * 300],
        {"PATH": "/bin:/usr/bin"},
        Path("/"),
        ServiceUser("pod", 54321, 54321, "/"),
    )
    assert argv[1:] == ["-c", code, "x" * 300 + "/" + "y" * 300]
