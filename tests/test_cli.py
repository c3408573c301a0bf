"""The `harness` command: `up` in a subprocess prints exports that kubectl, boto3 and psycopg
use as written, `status`/`env`/`down` find it, pytest --harness-attach reuses it, and SIGINT
stops everything; bad input and a missing environment fail clearly.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import psycopg
import pytest

from harness._reaper import tagged_processes
from harness.attach import read_record
from harness.topology import DEFAULT_INFRASTRUCTURE

pytest_plugins = ["pytester"]

REPO = DEFAULT_INFRASTRUCTURE.parent
HARNESS = [sys.executable, "-m", "harness.cli"]
UP_TIMEOUT = 90.0


def _run(args: list[str], cwd: Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARNESS, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass
class Up:
    process: subprocess.Popen[bytes]
    cwd: Path
    output: Path
    exports: dict[str, str]

    @property
    def env_file(self) -> Path:
        return self.cwd / ".harness" / "env.json"

    def text(self) -> str:
        return self.output.read_text(errors="replace")


def _start_up(cwd: Path, *extra: str) -> Up:
    output = cwd / "up.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [*HARNESS, "up", "--time-scale", "0.1", *extra],
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    up = Up(process, cwd, output, {})
    deadline = time.monotonic() + UP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"harness up exited with {process.returncode}:\n{up.text()}")
        text = up.text()
        if "Ctrl-C (or `harness down`)" in text:
            break
        time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"harness up did not come up in {UP_TIMEOUT:g}s:\n{up.text()}")
    for line in up.text().splitlines():
        if line.startswith("export "):
            for word in shlex.split(line)[1:]:
                name, _, value = word.partition("=")
                up.exports[name] = value
    return up


def _stop(up: Up, sig: signal.Signals = signal.SIGINT) -> int:
    if up.process.poll() is None:
        up.process.send_signal(sig)
    try:
        return up.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        up.process.kill()
        raise


def _no_processes_left(run_id: str) -> None:
    deadline = time.monotonic() + 10
    while tagged_processes(run_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert tagged_processes(run_id) == {}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    up = _start_up(tmp_path_factory.mktemp("up"))
    try:
        yield up
    finally:
        if up.process.poll() is None:
            _stop(up, signal.SIGTERM)


pytestmark = pytest.mark.xdist_group("cli")  # one `harness up` for the module's tests


# -- `harness up` and what its exports reach -----------------------------------------------


@pytest.mark.integration
def test_up_prints_exports_for_kubectl_aws_and_psql(running: Up) -> None:
    for name in ("KUBECONFIG", "AWS_ENDPOINT_URL", "DATABASE_URL", "AWS_REGION", "APP_URL"):
        assert running.exports.get(name), f"no {name} export in:\n{running.text()}"
    kubectl_env = {**os.environ, "KUBECONFIG": running.exports["KUBECONFIG"]}
    kubectl = shutil.which("kubectl") or "kubectl"
    pods = subprocess.run(
        [kubectl, "get", "pods", "-n", "aicode-staging"],
        env=kubectl_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert pods.count("Running") == 2, pods
    rollout = subprocess.run(
        [kubectl, "rollout", "status", "deployment/aicode-api", "-n", "aicode-staging"],
        env=kubectl_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "successfully rolled out" in rollout


@pytest.mark.integration
def test_boto3_and_psycopg_work_with_the_exports(
    running: Up, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in running.exports.items():
        monkeypatch.setenv(name, value)
    # boto3 honours AWS_ENDPOINT_URL as the aws CLI does: `aws s3 ls` sees the same buckets.
    names = {b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]}
    assert {"aicode-staging-uploads", "aicode-staging-backups"} <= names
    with psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=5) as conn:
        migrations = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert migrations is not None and migrations[0] >= 1


@pytest.mark.integration
def test_the_record_is_private_and_secrets_stay_out_of_the_output(running: Up) -> None:
    assert stat.S_IMODE(running.env_file.stat().st_mode) == 0o600
    record = read_record(running.env_file)
    assert record.pid == running.process.pid
    password = record.endpoints.postgres_dsn.split(":")[2].split("@")[0]
    text = running.text()
    non_export = [line for line in text.splitlines() if not line.startswith("export ")]
    assert password not in "\n".join(non_export)
    assert "postgresql://aicode:***@" in text


@pytest.mark.integration
def test_status_and_env_find_the_running_environment(running: Up) -> None:
    status = _run(["status"], running.cwd)
    assert status.returncode == 0, status.stdout + status.stderr
    for component in ("postgres", "redis", "aws", "cluster", "app"):
        assert component in status.stdout
    assert "no " not in status.stdout.split("kubeconfig:")[0].replace("not answering", "")
    exports = _run(["env"], running.cwd)
    assert exports.returncode == 0
    assert f"KUBECONFIG={shlex.quote(running.exports['KUBECONFIG'])}" in exports.stdout


ATTACHED_TEST = """
import os

import harness._run
from harness.attach import AttachedEnvironment


def test_uses_the_running_environment(staging, harness_postgres, harness_redis, harness_aws):
    assert isinstance(staging, AttachedEnvironment)
    assert staging.app_url == os.environ["OUTER_APP_URL"]
    assert staging.app_request("GET", "/health").status == 200
    assert "2/2" in staging.kubectl("get", "deploy", "-n", "aicode-staging").stdout
    assert harness_postgres.dsn == staging.postgres_dsn
    assert harness_redis.url == staging.redis_url
    assert harness_aws.endpoint_url == staging.aws_endpoint_url


def test_per_test_fixtures_work_on_it(harness_database, harness_redis_db, harness_bucket,
                                      harness_aws):
    with harness_database.connect() as conn:
        conn.execute("CREATE TABLE t (n int)")
    harness_redis_db.set("k", "v")
    harness_aws.client("s3").put_object(Bucket=harness_bucket, Key="k", Body=b"x")


def test_nothing_was_started_here():
    assert harness._run._current is None, "attaching must not start a run of its own"
"""


@pytest.mark.integration
def test_pytest_attach_reuses_the_running_environment(running: Up, tmp_path: Path) -> None:
    (tmp_path / "test_attached.py").write_text(ATTACHED_TEST)
    inner = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--harness-attach={running.env_file}",
            "test_attached.py",
        ],
        cwd=tmp_path,
        env={**os.environ, "OUTER_APP_URL": running.exports["APP_URL"]},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert inner.returncode == 0, inner.stdout + inner.stderr
    assert "3 passed" in inner.stdout
    assert "attached to staging" in inner.stdout
    # test_nothing_was_started_here checks inside the inner session that it made no run:
    # a machine-wide look would see the other xdist worker's runs come and go.


@pytest.mark.integration
def test_down_stops_it_and_removes_the_record(running: Up) -> None:
    record = read_record(running.env_file)
    down = _run(["down"], running.cwd, timeout=150)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "stopped staging" in down.stdout
    assert running.process.wait(timeout=30) == 0, running.text()
    assert not running.env_file.exists()
    _no_processes_left(record.run_id)
    again = _run(["down"], running.cwd)
    assert again.returncode == 0
    assert "no environment is running" in again.stdout
    status = _run(["status"], running.cwd)
    assert status.returncode == 1
    assert "no environment is running" in status.stdout


@pytest.mark.integration
def test_sigint_stops_everything_and_exits_zero(tmp_path: Path) -> None:
    up = _start_up(tmp_path)
    record = read_record(up.env_file)
    assert _stop(up, signal.SIGINT) == 0, up.text()
    assert "SIGINT: stopping the staging environment" in up.text()
    assert not up.env_file.exists()
    _no_processes_left(record.run_id)


# -- without a running environment ----------------------------------------------------------


def test_status_and_down_say_when_nothing_runs(tmp_path: Path) -> None:
    status = _run(["status"], tmp_path)
    assert status.returncode == 1
    assert "no environment is running" in status.stdout
    down = _run(["down"], tmp_path)
    assert down.returncode == 0
    assert "no environment is running" in down.stdout
    assert "nothing to stop" in down.stdout


def test_a_stale_record_is_named_and_removed_by_down(tmp_path: Path) -> None:
    record = tmp_path / ".harness" / "env.json"
    record.parent.mkdir()
    record.write_text(
        '{"pid": 999999, "owner": "999999:1.00", "endpoints": {"environment": "staging", '
        '"backend": "local", "namespace": "n", "postgres_dsn": "postgresql://a@127.0.0.1:1/a", '
        '"postgres_replica_dsn": null, "redis_url": "redis://127.0.0.1:1/0", '
        '"aws_endpoint_url": "http://127.0.0.1:1", "aws_region": "us-east-1", '
        '"kubeconfig": "/nonexistent", "app_url": "http://127.0.0.1:1"}}'
    )
    status = _run(["status"], tmp_path)
    assert status.returncode == 1
    assert "stale" in status.stdout and "999999" in status.stdout
    down = _run(["down"], tmp_path)
    assert "was stale" in down.stdout
    assert not record.exists()


def test_up_with_a_broken_topology_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "infrastructure"
    shutil.copytree(DEFAULT_INFRASTRUCTURE, root)
    overlay = Path(__file__).parent / "fixtures" / "topology" / "broken_hcl"
    shutil.copytree(overlay, root, dirs_exist_ok=True)
    up = _run(["up", "--infrastructure", str(root)], tmp_path)
    assert up.returncode == 2, up.stdout + up.stderr
    assert "reports.tf:5:" in up.stdout
    assert "aws_s3_bucket.reports" in up.stdout
    assert not (tmp_path / ".harness" / "env.json").exists()


def test_up_refuses_a_bad_time_scale_and_an_unknown_environment(tmp_path: Path) -> None:
    scale = _run(["up", "--time-scale", "0"], tmp_path)
    assert scale.returncode == 2
    assert "must be > 0" in scale.stderr
    unknown = _run(["up", "--env", "qa"], tmp_path)
    assert unknown.returncode == 2
    assert "'qa'" in unknown.stdout


def test_attach_without_a_record_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(staging): pass")
    result = pytester.runpytest("--harness-attach", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*.harness/env.json does not exist*harness up*"])
    missing = pytester.path / "elsewhere.json"
    result = pytester.runpytest(f"--harness-attach={missing}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{missing} does not exist*harness up*"])
