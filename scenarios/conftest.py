"""Helpers of the deploy scenarios: a DeployTarget on the session's `staging` environment,
its app baseline, and the app restored to it (1.0.0, its Service selector) around each test.

The fixtures `staging` and friends come from the harness plugin; nothing is started here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.deploy import REPORTS_ENV, AppBaseline, DeployTarget

#: the app's Deployment and Service in infrastructure/k8s/staging
APP = "aicode-api"
BASELINE_VERSION = "1.0.0"


@pytest.fixture
def deploy_target(staging: Any, request: pytest.FixtureRequest) -> DeployTarget:
    """The staging app's namespace, with failure reports under <repo>/reports/<test>/."""
    root = os.environ.get(REPORTS_ENV)
    return DeployTarget.of(
        staging,
        reports_root=Path(root) if root else request.config.rootpath / "reports",
        run_name=request.node.name,
    )


@pytest.fixture(scope="session")
def app_baseline(staging: Any) -> AppBaseline:
    return AppBaseline.capture(DeployTarget.of(staging), APP)


@pytest.fixture(autouse=True)
def restored_app(request: pytest.FixtureRequest) -> Iterator[None]:
    """Scenarios that use `staging` find the app at its baseline and leave it there."""
    if "staging" not in request.fixturenames:
        yield
        return
    staging = request.getfixturevalue("staging")
    baseline: AppBaseline = request.getfixturevalue("app_baseline")
    baseline.restore()
    # Steady state before the scenario acts: every load-balancer target answers the baseline.
    wait_for_version(staging, BASELINE_VERSION)
    yield
    baseline.restore()
    wait_for_version(staging, BASELINE_VERSION)


def wait_for_version(staging: Any, version: str, timeout: float = 20.0) -> None:
    """Until the load balancer answers /version with `version` several times in a row
    (deregistration keeps old targets a moment after a rollout)."""
    deadline = time.monotonic() + timeout
    in_a_row, last = 0, ""
    while in_a_row < 5:
        if time.monotonic() > deadline:
            raise AssertionError(f"{staging.app_url}/version never settled on {version}: {last}")
        try:
            answer = staging.app_request("GET", "/version", timeout=5)
            last = f"{answer.status} {answer.body[:100]!r}"
            ok = answer.status == 200 and answer.json().get("version") == version
        except OSError as exc:
            last, ok = repr(exc), False
        in_a_row = in_a_row + 1 if ok else 0
        if not ok:
            time.sleep(0.1)
