"""SimulatedCluster as a harness Service, and the simulator process it runs: the ready line,
the private kubeconfig, loopback-only binding, the token kept out of logs, clean signals.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.cluster.kubeconfig import read_kubeconfig
from harness.cluster.simulated import SimulatedCluster
from harness.errors import HarnessError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster() -> Iterator[SimulatedCluster]:
    with SimulatedCluster("service-test") as started:
        yield started


def test_kubeconfig_is_private_and_names_the_server(cluster: SimulatedCluster) -> None:
    assert stat.S_IMODE(cluster.kubeconfig.stat().st_mode) == 0o600
    entry = read_kubeconfig(cluster.kubeconfig)
    assert entry.server == cluster.server == f"https://127.0.0.1:{cluster.port}"
    assert entry.context == "harness-simulator"
    assert entry.token == cluster.token and len(cluster.token) >= 32


def test_listens_on_loopback_only(cluster: SimulatedCluster) -> None:
    assert cluster.process is not None and cluster.process.pid is not None
    listening = [
        c.laddr
        for c in psutil.Process(cluster.process.pid).net_connections("inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening)


def test_ready_line_and_no_token_in_the_log(cluster: SimulatedCluster) -> None:
    text = cluster.log_path.read_text()
    ready = [line for line in text.splitlines() if line.startswith("simulator ready")]
    assert ready == [f"simulator ready {cluster.server} kubeconfig={cluster.kubeconfig}"]
    assert cluster.token not in text
    assert cluster.token not in repr(cluster)


def test_official_client_from_the_kubeconfig(cluster: SimulatedCluster) -> None:
    from kubernetes import client

    with cluster.api_client() as api:
        names = [
            n.metadata and n.metadata.name for n in client.CoreV1Api(api).list_namespace().items
        ]
        assert {"default", "kube-system"} <= set(names)
        version = client.VersionApi(api).get_code()
        assert int(version.minor) >= 31


def test_kubectl_runs_against_it(cluster: SimulatedCluster) -> None:
    out = cluster.kubectl("get", "namespaces", "-o", "name").stdout.split()
    assert "namespace/default" in out
    assert cluster.kubectl_binary.version >= (1, 29)
    failed = cluster.kubectl("get", "nosuchthings", check=False)
    assert failed.returncode != 0
    with pytest.raises(HarnessError, match="nosuchthings"):
        cluster.kubectl("get", "nosuchthings")


def test_sigterm_exits_zero_and_stop_is_idempotent() -> None:
    cluster = SimulatedCluster("sigterm").start()
    assert cluster.process is not None
    cluster.process.signal_group(signal.SIGTERM)
    assert cluster.process.wait(10) == 0
    cluster.stop()
    cluster.stop()
    with pytest.raises(HarnessError):
        cluster.start()


def test_stop_reports_a_clean_exit() -> None:
    with SimulatedCluster("clean-stop") as cluster:
        port = cluster.port
    assert cluster.exit_code == 0
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_module_entry_point_prints_one_ready_line(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.cluster.simulator", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(
            r"simulator ready (https://127\.0\.0\.1:(\d+)) kubeconfig=(\S+)\n", line
        )
        assert match, line
        assert Path(match.group(3)) == kubeconfig.resolve()
        assert read_kubeconfig(kubeconfig).server == match.group(1)
        assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert out == ""
        assert read_kubeconfig(kubeconfig).token not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_recent_requests_are_served_to_the_token_holder_only(cluster: SimulatedCluster) -> None:
    import json
    import ssl
    import urllib.error
    import urllib.request

    cluster.kubectl("get", "configmaps", "-n", "kube-system", "-l", "marker=recent")
    entry = read_kubeconfig(cluster.kubeconfig, "harness-simulator")
    assert entry.certificate_authority is not None
    context = ssl.create_default_context(cadata=entry.certificate_authority.decode())
    url = f"{cluster.server}/debug/requests"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, context=context, timeout=5)
    assert refused.value.code == 401
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {cluster.token}"})
    with urllib.request.urlopen(request, context=context, timeout=5) as answer:
        body = answer.read().decode()
    assert cluster.token not in body  # paths and queries only, never headers
    items = json.loads(body)["items"]
    assert any(
        item["method"] == "GET"
        and "labelSelector=marker%3Drecent" in item["path"]
        and item["status"] == 200
        and "kubectl" in item["userAgent"]
        for item in items
    ), items[-5:]
