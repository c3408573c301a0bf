"""Scenario: the platform's scripts/deployment/deploy.sh, driven against the session's
staging environment through the exports `harness up` prints: plan shows the diff, deploy
rolls a new tag out (and back when it fails), status reports, rollback undoes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from scenarios.conftest import APP, BASELINE_VERSION, wait_for_version

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts/deployment/deploy.sh"


def _run(
    staging: Any | None, *args: str, tmp_path: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "APP_URL", "APP_NAMESPACE")
    }
    if staging is not None:
        env.update(staging.exports())
    env["KUBECACHEDIR"] = str(tmp_path / "kubecache")
    env["SMOKE_ATTEMPTS"] = "20"
    env.update(extra)
    completed = subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=240, check=False
    )
    print(f"$ deploy.sh {' '.join(args)} -> {completed.returncode}")
    print(completed.stdout)
    print(completed.stderr)
    return completed


def _image(staging: Any) -> str:
    return str(
        staging.kubectl(
            "-n",
            staging.namespace,
            "get",
            "deployment",
            APP,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ).stdout
    )


def test_without_the_exports_it_says_to_run_harness_up(tmp_path: Path) -> None:
    done = _run(None, "staging", "status", tmp_path=tmp_path)
    assert done.returncode == 2
    assert "run `harness up` first and eval its exports" in done.stderr


def test_plan_deploy_status_rollback(staging: Any, tmp_path: Path) -> None:
    plan = _run(staging, "staging", "plan", "--image", "1.1.0", tmp_path=tmp_path)
    assert plan.returncode == 0
    assert "terraform plan: skipped" in plan.stdout
    assert f"+        image: {APP}:1.1.0" in plan.stdout
    assert f"-        image: {APP}:{BASELINE_VERSION}" in plan.stdout
    assert _image(staging) == f"{APP}:{BASELINE_VERSION}"

    dry = _run(staging, "staging", "deploy", "--dry-run", "--image", "1.1.0", tmp_path=tmp_path)
    assert dry.returncode == 0 and "(server dry run)" in dry.stdout
    assert _image(staging) == f"{APP}:{BASELINE_VERSION}"

    deploy = _run(staging, "staging", "deploy", "--image", "1.1.0", tmp_path=tmp_path)
    assert deploy.returncode == 0
    assert "terraform apply: skipped" in deploy.stdout
    assert "successfully rolled out" in deploy.stdout
    assert "smoke test passed" in deploy.stdout
    assert _image(staging) == f"{APP}:1.1.0"
    wait_for_version(staging, "1.1.0")

    status = _run(staging, "staging", "status", tmp_path=tmp_path)
    assert status.returncode == 0
    assert "successfully rolled out" in status.stdout and "Running" in status.stdout

    rollback = _run(staging, "staging", "rollback", tmp_path=tmp_path)
    assert rollback.returncode == 0
    assert "rolled back" in rollback.stdout
    assert _image(staging) == f"{APP}:{BASELINE_VERSION}"
    wait_for_version(staging, BASELINE_VERSION)


def test_failed_deploy_is_rolled_back(staging: Any, tmp_path: Path) -> None:
    done = _run(
        staging, "staging", "deploy", "--image", "1.4.0-crash", "--skip-tests",
        tmp_path=tmp_path, ROLLOUT_TIMEOUT="8s",
    )  # fmt: skip
    assert done.returncode == 1
    assert f"deploy of {APP}:1.4.0-crash failed and was rolled back" in done.stderr
    assert _image(staging) == f"{APP}:{BASELINE_VERSION}"
    wait_for_version(staging, BASELINE_VERSION)


def test_a_manifest_the_api_rejects_fails_clearly(staging: Any, tmp_path: Path) -> None:
    manifests = tmp_path / "k8s"
    shutil.copytree(REPO / "infrastructure/k8s/staging", manifests)
    document = yaml.safe_load((manifests / "deployment.yaml").read_text())
    document["spec"]["progressDeadlineSeconds"] = -5
    (manifests / "deployment.yaml").write_text(yaml.safe_dump(document))

    done = _run(
        staging, "staging", "deploy", "--image", "1.1.0", tmp_path=tmp_path,
        DEPLOY_MANIFESTS=str(manifests),
    )  # fmt: skip
    assert done.returncode != 0
    assert "progressDeadlineSeconds" in done.stderr
    assert _image(staging) == f"{APP}:{BASELINE_VERSION}"


@pytest.mark.parametrize("args", [["staging", "launch"], ["staging", "deploy", "--image"]])
def test_bad_arguments_are_usage_errors(args: list[str], tmp_path: Path) -> None:
    done = _run(None, *args, tmp_path=tmp_path)
    assert done.returncode == 2 and "usage: deploy.sh" in done.stderr
