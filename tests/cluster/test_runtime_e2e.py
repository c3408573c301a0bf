"""The whole simulated cluster end to end (issue 4, items 6 and 7): kubectl rollouts, logs,
blue/green and rolling updates under continuous HTTP traffic, crash loops and namespace
deletion, with real pods (fixtures/images/webapp.py) behind the real service proxy.

One SimulatedCluster per module (time scale 0.1, two nodes); each test works in a namespace of
its own and deletes it at the end. Traffic goes only to 127.x addresses, one new TCP
connection per request (the proxy balances per connection, as kube-proxy does, so keep-alive
would hide a switch). Rule numbers refer to /work/shared/KUBE_SPEC.md section 3.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psutil
import pytest
import yaml

from harness._wait import Deadline, wait_until
from harness.cluster.config import ClusterConfig
from harness.cluster.simulated import SimulatedCluster, kubectl_binaries

pytestmark = pytest.mark.integration

if not [b for b in kubectl_binaries() if b.version >= (1, 29)]:
    pytest.skip("no kubectl >= 1.29 installed", allow_module_level=True)

JSON = dict[str, Any]
T = TypeVar("T")

SCALE = 0.1
_DEFAULTS = ClusterConfig()
#: real seconds between an EndpointSlice change and the proxy acting on it
PROPAGATION = _DEFAULTS.endpoint_propagation_delay * SCALE
#: real seconds the load balancer keeps sending new connections to a removed target
DEREGISTRATION = _DEFAULTS.deregistration_delay * SCALE
#: a preStop sleep (Kubernetes seconds) longer than the proxy lag
PRE_STOP_CLUSTER_IP = 2
#: a preStop sleep (Kubernetes seconds) longer than the proxy lag plus the ALB's deregistration
PRE_STOP_LOAD_BALANCER = 7
WAIT = 30.0  # real seconds any single wait may take before the test fails


# -- manifests ---------------------------------------------------------------------------------
def deployment(
    name: str,
    tag: str = "good",
    *,
    replicas: int = 3,
    labels: dict[str, str] | None = None,
    pre_stop_seconds: int | None = None,
    max_surge: int | str | None = None,
    max_unavailable: int | str | None = None,
    probe: bool = True,
) -> JSON:
    """A Deployment of webapp:<tag> with a readiness probe on the named port (period 1 s)."""
    labels = labels or {"app": name}
    container: JSON = {
        "name": "app",
        "image": f"webapp:{tag}",
        "ports": [{"name": "http", "containerPort": 8080}],
    }
    if probe:
        container["readinessProbe"] = {
            "httpGet": {"path": "/ready", "port": "http"},
            "periodSeconds": 1,
        }
    if pre_stop_seconds is not None:
        container["lifecycle"] = {"preStop": {"sleep": {"seconds": pre_stop_seconds}}}
    spec: JSON = {
        "replicas": replicas,
        "selector": {"matchLabels": dict(labels)},
        "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [container]}},
    }
    if max_surge is not None or max_unavailable is not None:
        rolling: JSON = {}
        if max_surge is not None:
            rolling["maxSurge"] = max_surge
        if max_unavailable is not None:
            rolling["maxUnavailable"] = max_unavailable
        spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": rolling}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": spec,
    }


def service(name: str, selector: dict[str, str], kind: str = "LoadBalancer") -> JSON:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {
            "type": kind,
            "selector": dict(selector),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


# -- the cluster, one namespace per test ----------------------------------------------------------
@pytest.fixture(scope="module")
def cluster() -> Iterator[SimulatedCluster]:
    with SimulatedCluster("runtime-e2e", time_scale=SCALE, node_count=2) as started:
        yield started


@dataclass
class Namespace:
    """A namespace of the shared cluster and the few kubectl calls the tests make in it."""

    cluster: SimulatedCluster
    name: str

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.cluster.kubectl("-n", self.name, *args, check=check)

    def apply(self, *documents: JSON) -> None:
        self.cluster.kubectl(
            "-n", self.name, "apply", "-f", "-", input=yaml.safe_dump_all(documents)
        )

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def wait_until(self, check: Callable[[], T | None], condition: str, timeout: float = WAIT) -> T:
        """Poll `check` until truthy; fail at once if the simulator process dies."""
        return wait_until(
            check,
            deadline=Deadline.after(timeout),
            service=self.cluster.label,
            endpoint=self.cluster.endpoint,
            condition=f"namespace {self.name}: {condition}",
            process=self.cluster.process,
            interval=0.05,
            max_interval=0.25,
            hint=f"agents log: {self.cluster.agents_log_path}",
        )

    def rollout_status(self, deploy: str) -> str:
        out = self.kubectl("rollout", "status", f"deploy/{deploy}", f"--timeout={WAIT:.0f}s")
        assert f'deployment "{deploy}" successfully rolled out' in out.stdout
        return out.stdout

    def wait_available(self, deploy: str) -> None:
        out = self.kubectl(
            "wait", "--for=condition=Available", f"deploy/{deploy}", f"--timeout={WAIT:.0f}s"
        )
        assert f"deployment.apps/{deploy} condition met" in out.stdout

    def replica_sets(self, deploy: str) -> list[JSON]:
        """The Deployment's ReplicaSets (controller ownerRef), oldest revision first."""
        uid = self.get("deploy", deploy)["metadata"]["uid"]
        owned = [
            rs
            for rs in self.get("rs")["items"]
            if any(
                ref.get("controller") and ref.get("uid") == uid
                for ref in rs["metadata"].get("ownerReferences", [])
            )
        ]
        return sorted(owned, key=revision)

    def new_replica_set(self, deploy: str) -> JSON:
        """The ReplicaSet `kubectl describe deployment` names as NewReplicaSet (upstream test-cmd
        finds it this way), cross-checked by its template."""
        described = self.kubectl("describe", "deployment", deploy).stdout
        lines = [line for line in described.splitlines() if line.startswith("NewReplicaSet:")]
        assert lines, described
        name = lines[0].split()[1]
        return self.get("rs", name)  # type: ignore[no-any-return]

    def running_pods(self, selector: str) -> list[JSON]:
        """Pods of `selector` that are Running, Ready and not terminating."""
        return [
            pod
            for pod in self.get("pods", "-l", selector)["items"]
            if not pod["metadata"].get("deletionTimestamp")
            and pod["status"].get("phase") == "Running"
            and condition(pod, "Ready") == "True"
        ]

    def cluster_ip(self, svc: str) -> str:
        ip = self.get("svc", svc)["spec"]["clusterIP"]
        assert isinstance(ip, str) and ip.startswith("127."), ip
        return ip

    def wait_serving(self, host: str, port: int, pods: set[str]) -> None:
        """Until every pod of `pods` has answered through host:port: a pod is Ready, and so
        Available, before the proxy applies its endpoint (the propagation delay)."""
        answered: set[str] = set()

        def all_answered() -> bool:
            with contextlib.suppress(OSError, http.client.HTTPException, AssertionError):
                answered.add(get_body(host, port, timeout=1.0).split()[2])
            return answered >= pods

        self.wait_until(all_answered, f"{host}:{port} answers from every pod of {sorted(pods)}")

    def load_balancer_ip(self, svc: str) -> str:
        def ingress() -> str | None:
            ingresses = (self.get("svc", svc).get("status") or {}).get("loadBalancer", {})
            for entry in ingresses.get("ingress") or []:
                if entry.get("ip"):
                    return str(entry["ip"])
            return None

        ip = self.wait_until(ingress, f"service {svc} has status.loadBalancer.ingress")
        assert ip.startswith("127."), ip
        return ip


@pytest.fixture
def ns(cluster: SimulatedCluster, request: pytest.FixtureRequest) -> Iterator[Namespace]:
    short = request.node.name.removeprefix("test_").split("_")[0][:20].replace("_", "-")
    name = f"e2e-{short}-{uuid.uuid4().hex[:6]}".lower()
    cluster.kubectl("create", "namespace", name)
    yield Namespace(cluster, name)
    # kubectl waits until the namespace (and every pod in it) is gone.
    cluster.kubectl("delete", "namespace", name, "--ignore-not-found", "--timeout=60s")


def revision(obj: JSON) -> int:
    return int(obj["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", 0))


def condition(obj: JSON, kind: str) -> str | None:
    for entry in obj.get("status", {}).get("conditions") or []:
        if entry.get("type") == kind:
            return str(entry.get("status"))
    return None


def image_of(obj: JSON) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def get_body(host: str, port: int, path: str = "/", timeout: float = 5.0) -> str:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read().decode()
        assert response.status == 200, (response.status, body)
        return body
    finally:
        connection.close()


# -- continuous traffic ------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    started: float  # time.monotonic()
    ended: float
    pod: str | None  # the pod that answered ("hello from <pod> (<mode>)")
    error: str | None


@dataclass
class Traffic:
    """Client threads sending GET `path` to host:port in a loop, a new TCP connection per
    request, until stopped: bounded by `max_requests` (all threads together) and `max_seconds`."""

    host: str
    port: int
    path: str = "/"
    threads: int = 1
    pause: float = 0.003  # between requests of one thread: a few hundred per second at most
    max_requests: int = 6000
    max_seconds: float = 30.0
    timeout: float = 5.0
    replies: list[Reply] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        assert self.host.startswith("127."), f"traffic only to loopback, not {self.host}"

    def __enter__(self) -> Traffic:
        self._deadline = time.monotonic() + self.max_seconds
        for index in range(self.threads):
            worker = threading.Thread(target=self._loop, name=f"traffic-{index}", daemon=True)
            self._workers.append(worker)
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(self.timeout + 5)
        assert not any(w.is_alive() for w in self._workers), "a traffic thread did not stop"

    @property
    def exhausted(self) -> bool:
        """Stopped by its own bounds rather than by the test: the test ran too long."""
        return len(self.replies) >= self.max_requests or time.monotonic() >= self._deadline

    def _loop(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            with self._lock:
                if len(self.replies) >= self.max_requests:
                    return
            reply = self._one()
            with self._lock:
                self.replies.append(reply)
            self._stop.wait(self.pause)

    def _one(self) -> Reply:
        started = time.monotonic()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request("GET", self.path)
            response = connection.getresponse()
            body = response.read().decode()
            if response.status != 200 or not body.startswith("hello from "):
                return Reply(started, time.monotonic(), None, f"{response.status} {body!r}")
            return Reply(started, time.monotonic(), body.split()[2], None)
        except (OSError, http.client.HTTPException) as error:
            return Reply(started, time.monotonic(), None, f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    def snapshot(self) -> list[Reply]:
        with self._lock:
            return list(self.replies)

    @property
    def failures(self) -> list[Reply]:
        return [r for r in self.snapshot() if r.error is not None]

    def served_by(self, pods: set[str], *, since: float = 0.0) -> list[Reply]:
        return [r for r in self.snapshot() if r.pod in pods and r.started >= since]

    def wait_for(self, ns: Namespace, what: str, check: Callable[[list[Reply]], bool]) -> None:
        ns.wait_until(lambda: check(self.snapshot()), f"traffic to {self.host}: {what}")

    def summary(self) -> str:
        replies = self.snapshot()
        failures = [r for r in replies if r.error]
        errors = sorted({r.error or "" for r in failures})[:5]
        return (
            f"{len(replies)} requests to {self.host}:{self.port}, {len(failures)} failed {errors}"
        )


def pod_names(pods: list[JSON]) -> set[str]:
    return {str(p["metadata"]["name"]) for p in pods}


# -- 1. kubectl end to end, as upstream test/cmd/apps.sh run_deployment_tests --------------------
def test_rollout_history_undo_pause_restart_as_upstream_test_cmd(ns: Namespace) -> None:
    """Revisions as upstream test-cmd builds them: 1 (create), 2 (new image), undo to 1 gives
    3, undo gives 4, pause blocks undo and restart, resume, undo gives 5 whose ReplicaSet
    carries revision-history "1,3"; restart makes 6. KUBE_SPEC rules 5-7 (new RS, revision
    annotations, revision history), 13/16 (status, complete), 17 (paused: no new RS) and 20
    (rollback is a template change)."""
    ns.apply(deployment("web"), service("web", {"app": "web"}))
    ns.rollout_status("web")
    ns.wait_available("web")
    ns.kubectl("annotate", "deploy/web", "kubernetes.io/change-cause=initial release")
    first = ns.replica_sets("web")
    assert [revision(rs) for rs in first] == [1]

    # Rollback to revision 1 is a no-op: the template already matches.
    undo = ns.kubectl("rollout", "undo", "deploy/web", "--to-revision=1")
    assert "skipped rollback" in undo.stdout
    assert [rs["metadata"]["name"] for rs in ns.replica_sets("web")] == [
        first[0]["metadata"]["name"]
    ]

    # Revision 2: a new image, with its own change cause.
    ns.kubectl("set", "image", "deploy/web", "app=webapp:v2")
    ns.kubectl("annotate", "--overwrite", "deploy/web", "kubernetes.io/change-cause=image v2")
    ns.rollout_status("web")
    rs1, rs2 = ns.replica_sets("web")
    assert (revision(rs1), image_of(rs1)) == (1, "webapp:good")
    assert (revision(rs2), image_of(rs2)) == (2, "webapp:v2")
    assert rs1["spec"]["replicas"] == 0 and rs2["spec"]["replicas"] == 3
    history = ns.kubectl("rollout", "history", "deploy/web").stdout
    assert history.splitlines()[0] == "deployment.apps/web "
    rows = [line.split(None, 1) for line in history.splitlines()[1:] if line.strip()]
    assert rows[0] == ["REVISION", "CHANGE-CAUSE"]
    assert rows[1:] == [["1", "initial release"], ["2", "image v2"]]

    # Revision 3: back to revision 1's template; its ReplicaSet is reused (rule 7).
    ns.kubectl("rollout", "undo", "deploy/web", "--to-revision=1")
    ns.rollout_status("web")
    assert image_of(ns.get("deploy", "web")) == "webapp:good"
    missing = ns.kubectl("rollout", "undo", "deploy/web", "--to-revision=1000000", check=False)
    assert missing.returncode != 0 and "unable to find specified revision" in missing.stderr
    # Revision 4: undo goes to the previous revision (2).
    ns.kubectl("rollout", "undo", "deploy/web")
    ns.rollout_status("web")
    assert image_of(ns.get("deploy", "web")) == "webapp:v2"

    ns.kubectl("rollout", "pause", "deploy/web")
    paused_undo = ns.kubectl("rollout", "undo", "deploy/web", check=False)
    assert paused_undo.returncode != 0 and "paused" in paused_undo.stderr
    paused_restart = ns.kubectl("rollout", "restart", "deploy/web", check=False)
    assert paused_restart.returncode != 0 and "paused" in paused_restart.stderr
    ns.kubectl("rollout", "resume", "deploy/web")

    # Revision 5: revision 1's ReplicaSet once more, remembering both its past revisions.
    ns.kubectl("rollout", "undo", "deploy/web")
    ns.rollout_status("web")
    newest = ns.new_replica_set("web")
    annotations = newest["metadata"]["annotations"]
    assert newest["metadata"]["name"] == rs1["metadata"]["name"]
    assert annotations["deployment.kubernetes.io/revision"] == "5"
    assert annotations["deployment.kubernetes.io/revision-history"] == "1,3"
    assert len(ns.replica_sets("web")) == 2
    superseded = ns.kubectl("rollout", "status", "deploy/web", "--revision=3", check=False)
    assert superseded.returncode != 0 and "desired revision (3)" in superseded.stderr

    # Revision 6: restart stamps the template, so a third ReplicaSet rolls out.
    ns.kubectl("rollout", "restart", "deploy/web")
    ns.rollout_status("web")
    restarted = ns.new_replica_set("web")
    assert restarted["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "6"
    assert "kubectl.kubernetes.io/restartedAt" in restarted["spec"]["template"]["metadata"].get(
        "annotations", {}
    )
    assert len(ns.replica_sets("web")) == 3
    assert len(ns.running_pods("app=web")) == 3

    # Paused: a template change makes no new ReplicaSet, only once resumed (rule 17).
    ns.kubectl("rollout", "pause", "deploy/web")
    before = {rs["metadata"]["name"] for rs in ns.replica_sets("web")}
    ns.kubectl("set", "image", "deploy/web", "app=webapp:v3")

    def observed() -> JSON | None:
        live: JSON = ns.get("deploy", "web")
        status = live.get("status", {})
        observed = status.get("observedGeneration", 0) >= live["metadata"]["generation"]
        return live if observed else None

    paused = ns.wait_until(observed, "the controller observed the paused template change")
    assert [c["reason"] for c in paused["status"]["conditions"] if c["type"] == "Progressing"] == [
        "DeploymentPaused"
    ]
    time.sleep(10 * SCALE)  # ten Kubernetes seconds: time enough to (wrongly) roll out
    assert {rs["metadata"]["name"] for rs in ns.replica_sets("web")} == before
    ns.kubectl("rollout", "resume", "deploy/web")
    ns.rollout_status("web")
    resumed = ns.new_replica_set("web")
    assert resumed["metadata"]["name"] not in before
    assert (revision(resumed), image_of(resumed)) == (7, "webapp:v3")
    assert all(
        pod["spec"]["containers"][0]["image"] == "webapp:v3" for pod in ns.running_pods("app=web")
    )


def test_scale_and_wait_available(ns: Namespace) -> None:
    """`kubectl scale` changes spec.replicas and the pods follow (ReplicaSet controller, rule 21;
    Deployment scaling, rule 19); `kubectl wait --for=condition=Available` (rule 13)."""
    ns.apply(deployment("web"), service("web", {"app": "web"}))
    ns.wait_available("web")
    assert len(ns.running_pods("app=web")) == 3
    for replicas in (5, 1):
        ns.kubectl("scale", "deploy/web", f"--replicas={replicas}")
        ns.rollout_status("web")
        ns.wait_available("web")

        def settled(wanted: int = replicas) -> bool:
            all_pods = ns.get("pods", "-l", "app=web")["items"]
            return len(ns.running_pods("app=web")) == len(all_pods) == wanted

        ns.wait_until(settled, f"exactly {replicas} running pods, none terminating")
        live = ns.get("deploy", "web")
        assert live["spec"]["replicas"] == replicas
        assert live["status"]["availableReplicas"] == replicas
        assert [revision(rs) for rs in ns.replica_sets("web")] == [1]  # scaling is no rollout
    # The one pod left answers through the Service, and only it (once the proxy caught up).
    ip = ns.cluster_ip("web")
    (pod,) = ns.running_pods("app=web")
    ns.wait_serving(ip, 80, {pod["metadata"]["name"]})
    time.sleep(PROPAGATION)
    for _ in range(5):
        assert get_body(ip, 80).startswith(f"hello from {pod['metadata']['name']} ")


def _container_process(pod: JSON) -> psutil.Process:
    """The pod's container process: webapp.py with the pod's name and IP in its environment."""
    name, ip = pod["metadata"]["name"], pod["status"]["podIP"]
    found = [p for p in _webapp_processes() if p[1] == (name, ip)]
    assert len(found) == 1, (name, ip, found)
    return found[0][0]


def _webapp_processes() -> list[tuple[psutil.Process, tuple[str, str]]]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if not any(arg.endswith("webapp.py") for arg in process.info["cmdline"] or []):
                continue
            env = process.environ()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        found.append((process, (env.get("HOSTNAME", ""), env.get("POD_IP", ""))))
    return found


def test_logs_of_deployment_pod_follow_and_previous(ns: Namespace) -> None:
    """`kubectl logs deploy/x`, `logs <pod>`, `logs -f` (streamed while the app writes) and
    `logs --previous` after the container was killed and restarted (rule 29: restartPolicy
    Always, restartCount and lastState.terminated)."""
    ns.apply(deployment("web"), service("web", {"app": "web"}))
    ns.wait_available("web")
    pods = ns.running_pods("app=web")
    pod = pods[0]
    name, ip = pod["metadata"]["name"], pod["status"]["podIP"]

    out = ns.kubectl("logs", "deploy/web")
    assert ": listening on 127." in out.stdout and "(good)" in out.stdout
    first_marker = f"first-{uuid.uuid4().hex[:8]}"
    get_body(ip, 8080, f"/?{first_marker}")
    logged = ns.kubectl("logs", name).stdout
    assert f"{name}: listening on {ip}:8080 (good)" in logged
    assert f"GET /?{first_marker} HTTP/1.1" in logged

    # -f streams lines written after it started.
    binary = ns.cluster.kubectl_binary.path
    follow = subprocess.Popen(
        [binary, "-n", ns.name, "logs", "-f", name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ns.cluster.kubectl_env(),
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in follow.stdout or []:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        deadline = Deadline.after(15)
        seen: list[str] = []

        def read_until(marker: str) -> None:
            while not any(marker in line for line in seen):
                assert not deadline.expired(), f"logs -f never showed {marker}: {seen[-5:]}"
                with contextlib.suppress(queue.Empty):
                    seen.append(lines.get(timeout=0.2))

        read_until(first_marker)  # the backlog
        # Lines written once the backlog was sent, over several of the server's log polls.
        streamed = [f"streamed-{i}-{uuid.uuid4().hex[:8]}" for i in range(3)]
        for marker in streamed:
            time.sleep(0.3)
            assert follow.poll() is None, f"logs -f ended while the container runs: {seen[-3:]}"
            get_body(ip, 8080, f"/?{marker}")
            read_until(marker)
        assert follow.poll() is None, "logs -f ended while the container runs"
        streamed_marker = streamed[-1]
    finally:
        follow.terminate()
        try:
            follow.wait(5)
        except subprocess.TimeoutExpired:
            follow.kill()
            follow.wait(5)
    reader.join(5)

    # --previous: kill the container; the kubelet restarts it with a fresh log.
    _container_process(pod).kill()

    def restarted() -> JSON | None:
        live: JSON = ns.get("pod", name)
        statuses = live["status"].get("containerStatuses") or [{}]
        ok = statuses[0].get("restartCount") == 1 and statuses[0].get("ready") is True
        return live if ok else None

    live = ns.wait_until(restarted, f"pod {name} restarted once and ready again")
    last = live["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert last["exitCode"] == 137 and last["reason"] == "Error"
    previous = ns.kubectl("logs", name, "--previous").stdout
    assert first_marker in previous and streamed_marker in previous
    current = ns.kubectl("logs", name).stdout
    assert f"{name}: listening on {ip}:8080 (good)" in current
    assert first_marker not in current


# -- 2. blue/green under continuous traffic -------------------------------------------------------
def test_rule26_blue_green_selector_switch_loses_no_request(ns: Namespace) -> None:
    """KUBE_SPEC rule 26 (selector switch: a full endpoint recompute) and rule 31 (termination:
    preStop, then SIGTERM, with the pod out of the endpoints at once). A well-behaved app loses
    no request through the load balancer or the ClusterIP while the Service's selector moves
    from blue to green, and none while blue is then scaled to 0. New connections move only
    after the proxy's propagation delay, and on the load balancer only after its deregistration
    delay (NETWORKING.md): the test checks the lag is there, not just that it ends."""
    blue, green = {"app": "shop", "color": "blue"}, {"app": "shop", "color": "green"}
    ns.apply(
        deployment("blue", replicas=2, labels=blue, pre_stop_seconds=PRE_STOP_LOAD_BALANCER),
        deployment("green", replicas=2, labels=green, pre_stop_seconds=PRE_STOP_LOAD_BALANCER),
        service("shop", blue),
    )
    ns.wait_available("blue")
    ns.wait_available("green")
    blue_pods = pod_names(ns.running_pods("color=blue"))
    green_pods = pod_names(ns.running_pods("color=green"))
    assert len(blue_pods) == len(green_pods) == 2
    cluster_ip, balancer = ns.cluster_ip("shop"), ns.load_balancer_ip("shop")
    ns.wait_serving(cluster_ip, 80, blue_pods)
    ns.wait_serving(balancer, 80, blue_pods)

    with Traffic(balancer, 80) as via_lb, Traffic(cluster_ip, 80) as via_ip:
        for traffic in (via_lb, via_ip):
            traffic.wait_for(ns, "both blue pods answer", lambda r: {x.pod for x in r} >= blue_pods)
        assert not via_lb.served_by(green_pods) and not via_ip.served_by(green_pods)

        switch_started = time.monotonic()
        ns.kubectl("patch", "svc/shop", "-p", json.dumps({"spec": {"selector": green}}))
        switched = time.monotonic()
        # At once, as a hasty operator would, while the proxy and the load balancer still send
        # blue new connections: blue scales to 0, its preStop sleep outlasting both delays.
        ns.kubectl("scale", "deploy/blue", "--replicas=0")
        scaled = time.monotonic()
        for traffic in (via_ip, via_lb):
            traffic.wait_for(
                ns, "both green pods answer", lambda r: {x.pod for x in r} >= green_pods
            )
        ns.wait_until(lambda: not ns.get("pods", "-l", "color=blue")["items"], "blue pods gone")
        after_blue_gone = time.monotonic()
        for traffic in (via_lb, via_ip):
            traffic.wait_for(
                ns,
                "requests after blue is gone",
                lambda r: len([x for x in r if x.started > after_blue_gone]) > 20,
            )
        assert not via_lb.exhausted and not via_ip.exhausted

    for traffic in (via_lb, via_ip):
        print(traffic.summary())
        assert not traffic.failures, traffic.summary()
        assert len(traffic.replies) > 100, traffic.summary()
    # Through the ClusterIP blue stops after the propagation delay (with slack for a busy
    # machine); through the load balancer only after the deregistration delay as well.
    last_blue_ip = max(r.started for r in via_ip.served_by(blue_pods))
    last_blue_lb = max(r.started for r in via_lb.served_by(blue_pods))
    print(
        f"last blue request after the patch: ClusterIP {last_blue_ip - switch_started:.3f} s, "
        f"load balancer {last_blue_lb - switch_started:.3f} s; blue scaled to 0 after "
        f"{scaled - switch_started:.3f} s"
    )
    assert switch_started < last_blue_ip < switched + PROPAGATION + 1.0
    assert last_blue_lb - switch_started >= PROPAGATION + DEREGISTRATION / 2
    assert last_blue_lb - last_blue_ip >= DEREGISTRATION / 2
    assert last_blue_lb < switched + PROPAGATION + DEREGISTRATION + 1.0
    assert last_blue_lb > scaled, "blue was scaled down only after the balancer left it"
    for traffic in (via_lb, via_ip):
        late = [r for r in traffic.snapshot() if r.started > after_blue_gone]
        assert {r.pod for r in late} == green_pods, traffic.summary()


# -- 3. rolling updates under traffic: abrupt loses requests, graceful does not --------------------
def _rolling_update_under_traffic(
    ns: Namespace, tag: str, pre_stop: int | None
) -> tuple[Traffic, tuple[float, float]]:
    """Roll webapp:<tag> to <tag>-v2 under traffic; the traffic and when the rollout ran (from
    `set image` until every old pod was gone). Requests after it must all succeed."""
    ns.apply(
        deployment(
            "web", tag, replicas=3, max_surge=1, max_unavailable=0, pre_stop_seconds=pre_stop
        ),
        service("web", {"app": "web"}, kind="ClusterIP"),
    )
    ns.wait_available("web")
    old_pods = pod_names(ns.running_pods("app=web"))
    ip = ns.cluster_ip("web")
    ns.wait_serving(ip, 80, old_pods)
    # Requests held 0.2 s each, from several threads: every pod always has some in flight.
    with Traffic(ip, 80, path="/?delay=0.2", threads=6, pause=0.0, max_requests=3000) as traffic:
        traffic.wait_for(ns, "every old pod answers", lambda r: {x.pod for x in r} >= old_pods)
        began = time.monotonic()
        ns.kubectl("set", "image", "deploy/web", f"app=webapp:{tag}-v2")
        ns.rollout_status("web")
        ns.wait_until(
            lambda: not (pod_names(ns.get("pods", "-l", "app=web")["items"]) & old_pods),
            "every old pod is gone",
        )
        done = time.monotonic()
        new_pods = pod_names(ns.running_pods("app=web"))
        # Until the proxy applies the last removal, the last old pod still gets connections.
        settled = done + PROPAGATION + 0.5
        traffic.wait_for(
            ns,
            "requests after the rollout",
            lambda r: len([x for x in r if x.started > settled]) > 12,
        )
        assert not traffic.exhausted
    assert len(new_pods) == 3 and not new_pods & old_pods
    after = [r for r in traffic.replies if r.started > settled]
    assert {r.pod for r in after} <= new_pods and not [r for r in after if r.error]
    return traffic, (began, done)


def test_rule31_rolling_update_of_app_exiting_on_sigterm_loses_requests(ns: Namespace) -> None:
    """Not kinder than a real cluster (DESIGN.md "Honest simulation"): rules 8-10 (maxSurge 1,
    maxUnavailable 0) and rule 31 (termination) with an app that exits at once on SIGTERM and
    no preStop: in-flight requests die with it and the proxy still sends new connections to it
    for the propagation delay, so some requests fail."""
    traffic, rollout = _rolling_update_under_traffic(ns, "abrupt", pre_stop=None)
    print(traffic.summary())
    assert traffic.failures, traffic.summary()
    began, done = rollout
    assert all(began < r.started < done + PROPAGATION + 0.5 for r in traffic.failures)


def test_rule31_rolling_update_of_graceful_app_with_prestop_loses_none(ns: Namespace) -> None:
    """The same rolling update (rules 8-10, 31) of an app that drains in-flight requests on
    SIGTERM, with a preStop sleep longer than the endpoint propagation delay: no request fails."""
    traffic, _ = _rolling_update_under_traffic(ns, "good", pre_stop=PRE_STOP_CLUSTER_IP)
    print(traffic.summary())
    assert not traffic.failures, traffic.summary()
    assert len(traffic.replies) > 50, traffic.summary()


# -- 4. a crash loop next to a healthy Deployment --------------------------------------------------
def test_rule30_crash_loop_back_off_while_the_other_deployment_serves(ns: Namespace) -> None:
    """Rule 30 (CrashLoopBackOff: waiting reason, growing back-off) and rule 29 (restartCount,
    lastState): webapp:crash restarts again and again while the healthy Deployment in the same
    cluster stays Available and answers every request."""
    ns.apply(
        deployment("web"),
        service("web", {"app": "web"}),
        deployment("crasher", "crash", replicas=1, probe=False),
    )
    ns.wait_available("web")
    ip = ns.cluster_ip("web")
    ns.wait_serving(ip, 80, pod_names(ns.running_pods("app=web")))
    restarts_seen: list[int] = []

    def crash_looping(wanted: int) -> JSON | None:
        pods = ns.get("pods", "-l", "app=crasher")["items"]
        if len(pods) != 1:
            return None
        (status,) = pods[0]["status"].get("containerStatuses") or [{}]
        restarts = int(status.get("restartCount", 0))
        if not restarts_seen or restarts_seen[-1] != restarts:
            restarts_seen.append(restarts)
        waiting = status.get("state", {}).get("waiting", {})
        looping = waiting.get("reason") == "CrashLoopBackOff" and restarts >= wanted
        return pods[0] if looping else None

    with Traffic(ip, 80) as traffic:
        pod = ns.wait_until(lambda: crash_looping(1), "crasher in CrashLoopBackOff")
        ns.wait_until(lambda: crash_looping(restarts_seen[-1] + 1), "restartCount rose")
        assert ns.get("deploy", "web")["status"]["availableReplicas"] == 3
        still = ns.kubectl("wait", "--for=condition=Available", "deploy/web", "--timeout=0")
        assert "condition met" in still.stdout
        assert not traffic.exhausted
    assert not traffic.failures, traffic.summary()
    assert len(traffic.replies) > 50, traffic.summary()
    assert restarts_seen == sorted(restarts_seen) and restarts_seen[-1] >= 2, restarts_seen

    name = pod["metadata"]["name"]
    status = ns.get("pod", name)["status"]["containerStatuses"][0]
    assert status["ready"] is False
    assert status["lastState"]["terminated"]["exitCode"] == 1
    table = ns.kubectl("get", "pod", name).stdout
    assert "CrashLoopBackOff" in table or "Error" in table, table
    previous = ns.kubectl("logs", name, "--previous").stdout
    assert f"{name}: crashing at start (crash)" in previous
    crasher = ns.get("deploy", "crasher")
    assert condition(crasher, "Available") == "False"
    events = ns.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}").stdout
    assert "BackOff" in events


# -- 5. deleting a namespace ends its pods' processes ---------------------------------------------
def test_deleting_a_namespace_leaves_no_process_behind(ns: Namespace) -> None:
    """Namespace deletion (the namespace controller deletes the pods, rule 31 terminates them,
    the finalizer is removed last): every container process of the namespace's pods has exited
    once kubectl's delete returns, and the namespace is gone."""
    ns.apply(deployment("web"), service("web", {"app": "web"}))
    ns.wait_available("web")
    pods = ns.running_pods("app=web")
    identities = {(p["metadata"]["name"], p["status"]["podIP"]) for p in pods}
    processes = [p for p, who in _webapp_processes() if who in identities]
    assert len(processes) == 3, (identities, processes)
    ip = ns.cluster_ip("web")
    ns.wait_serving(ip, 80, {name for name, _ in identities})

    deleted = ns.cluster.kubectl("delete", "namespace", ns.name, "--timeout=60s")
    assert f'namespace "{ns.name}" deleted' in deleted.stdout
    gone = ns.cluster.kubectl("get", "namespace", ns.name, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, alive
    assert not [who for _, who in _webapp_processes() if who in identities]
    # The Service went with the namespace: its ClusterIP no longer accepts connections.
    ns.wait_until(lambda: _refused(ip, 80), f"{ip}:80 refuses connections")


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1.0).close()
    except ConnectionRefusedError:
        return True
    return False


# -- how pods reach Services, and what a pod binding the wrong address is told (items 3, 4) -----
RESOLVER = """
import os, socket, sys, time, urllib.request
namespace = sys.argv[1]
suffixes = ("", f".{namespace}", f".{namespace}.svc", f".{namespace}.svc.cluster.local")
for name in ["web" + suffix for suffix in suffixes]:
    print("resolve", name, socket.gethostbyname(name), flush=True)
print("env", os.environ.get("WEB_SERVICE_HOST"), os.environ.get("WEB_SERVICE_PORT"), flush=True)
url = f"http://web.{namespace}.svc.cluster.local/"
print("fetch", urllib.request.urlopen(url, timeout=5).read().decode().strip(), flush=True)
time.sleep(600)
"""


def bare_pod(name: str, container: JSON) -> JSON:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [{"name": "app", "image": "webapp:good", **container}],
            "terminationGracePeriodSeconds": 1,
        },
    }


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="names resolve through a private /etc/hosts per pod, which needs root (unshare)",
)
def test_pods_reach_a_service_by_name_by_env_vars_and_by_cluster_ip(ns: Namespace) -> None:
    ns.apply(deployment("web", replicas=1), service("web", {"app": "web"}, kind="ClusterIP"))
    ns.rollout_status("web")
    cluster_ip = ns.cluster_ip("web")
    ns.wait_serving(cluster_ip, 80, pod_names(ns.running_pods("app=web")))
    # The Service exists before the client pod starts, so its env vars are set (enableServiceLinks).
    ns.apply(bare_pod("client", {"command": ["python3", "-c", RESOLVER, ns.name]}))

    def fetched() -> str | None:
        out = ns.kubectl("logs", "client", check=False).stdout
        return out if "fetch" in out else None

    logs = ns.wait_until(fetched, "the client pod resolved and fetched web")
    resolved = {
        line.split()[1]: line.split()[2] for line in logs.splitlines() if line.startswith("resolve")
    }
    assert resolved == {
        "web": cluster_ip,
        f"web.{ns.name}": cluster_ip,
        f"web.{ns.name}.svc": cluster_ip,
        f"web.{ns.name}.svc.cluster.local": cluster_ip,
    }
    assert f"env {cluster_ip} 80" in logs
    assert "fetch hello from web-" in logs


def test_a_pod_binding_a_shared_address_is_told_to_bind_its_pod_ip(ns: Namespace) -> None:
    # Two pods that bind 127.0.0.1 on one port: the second cannot, and both get told why.
    with socket.socket() as probe:  # a port nothing else uses right now
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    wrong = {"env": [{"name": "POD_IP", "value": "127.0.0.1"}, {"name": "PORT", "value": port}]}
    ns.apply(bare_pod("first", wrong))
    ns.wait_until(
        lambda: ns.get("pod", "first")["status"].get("phase") == "Running", "first pod runs"
    )
    ns.apply(bare_pod("second", wrong))

    def warnings() -> dict[str, str] | None:
        found = {
            event["reason"]: event["message"]
            for event in ns.get("events")["items"]
            if event["type"] == "Warning" and event["reason"] in ("AddressInUse", "BindAddress")
        }
        return found if {"AddressInUse", "BindAddress"} <= found.keys() else None

    found = ns.wait_until(warnings, "AddressInUse and BindAddress warnings")
    assert "Address already in use" in found["AddressInUse"]
    assert "bind $(POD_IP)" in found["AddressInUse"]
    assert f"127.0.0.1:{port}" in found["BindAddress"] and "bind $(POD_IP)" in found["BindAddress"]
