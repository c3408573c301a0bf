"""Where a failed deploy leaves its evidence: pod logs (current and previous), events, and
the Deployment, ReplicaSet and pod state, saved under `reports/<test or run name>/`.

The root is `$HARNESS_REPORTS_DIR`, else `reports/` in the current directory (the repository
when run by pytest); the name is the running test (PYTEST_CURRENT_TEST) or the run's name.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness import settings
from harness.deploy._kube import JSON, KubeApi, KubeApiError
from harness.deploy.rollout import owned_replica_sets, selector_string

__all__ = ["REPORTS_ENV", "DiagnosticsReport", "collect_diagnostics", "report_directory"]

REPORTS_ENV = settings.REPORTS_DIR.name
_counter = itertools.count(1)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.")[:120] or "run"


def report_directory(root: Path | None = None, name: str | None = None) -> Path:
    """`root/name`: root from the argument, $HARNESS_REPORTS_DIR or ./reports; name from the
    argument, the current pytest test (its node id without the phase) or 'run-<pid>'."""
    base = Path(root) if root is not None else settings.reports_root()
    if name is None:
        current = os.environ.get("PYTEST_CURRENT_TEST", "")
        current = re.sub(r" \((setup|call|teardown)\)$", "", current)
        name = current.rsplit("/", 1)[-1] if current else f"run-{os.getpid()}"
    return base.resolve() / _slug(name)


@dataclass(frozen=True)
class DiagnosticsReport:
    """The directory a failure was written to, and what went into it."""

    directory: Path
    files: tuple[str, ...]
    errors: tuple[str, ...] = ()  # what could not be collected, and why


def collect_diagnostics(
    api: KubeApi,
    namespace: str,
    deployments: Sequence[str],
    directory: Path,
    *,
    reason: str,
    timeline: str = "",
) -> DiagnosticsReport:
    """Save the state of `deployments` (their ReplicaSets and pods), every pod's logs and
    the namespace's events into a fresh subdirectory of `directory`; never raises."""
    stamp = dt.datetime.now(dt.UTC).strftime("%H%M%S")
    target = directory / f"{next(_counter):02d}-{_slug('-'.join(deployments))}-{stamp}"
    written: list[str] = []
    errors: list[str] = []

    def write(name: str, text: str) -> None:
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(name)

    try:
        target.mkdir(parents=True, exist_ok=True)
        write("README.txt", f"{reason}\n\n{timeline}\n".rstrip() + "\n")
    except OSError as exc:
        return DiagnosticsReport(target, (), (f"cannot write {target}: {exc}",))
    pods: list[JSON] = []
    for name in deployments:
        try:
            deployment = api.find("Deployment", namespace, name)
        except KubeApiError as exc:
            errors.append(f"deployment {name}: {exc}")
            continue
        if deployment is None:
            errors.append(f"deployment {name}: not found")
            continue
        write(f"deployment-{name}.yaml", _yaml(deployment))
        selector = selector_string(deployment["spec"]["selector"])
        try:
            replica_sets = owned_replica_sets(
                deployment, api.list("ReplicaSet", namespace, labels=selector)
            )
            write(f"replicasets-{name}.yaml", _yaml_all(replica_sets))
            selected = api.list("Pod", namespace, labels=selector)
        except KubeApiError as exc:
            errors.append(f"replicasets/pods of {name}: {exc}")
            continue
        known = {p["metadata"]["name"] for p in pods}
        pods.extend(p for p in selected if p["metadata"]["name"] not in known)
    if pods:
        write("pods.yaml", _yaml_all(pods))
    for pod in pods:
        pod_name = pod["metadata"]["name"]
        for container in _containers(pod):
            for previous in (False, True):
                try:
                    text = api.log(namespace, pod_name, container, previous=previous)
                except KubeApiError as exc:
                    errors.append(f"log of {pod_name}/{container}: {exc}")
                    continue
                if text:
                    suffix = ".previous.log" if previous else ".log"
                    write(f"logs/{pod_name}.{container}{suffix}", text)
    try:
        events = api.list("Event", namespace)
        write("events.txt", _events_table(events))
    except KubeApiError as exc:
        errors.append(f"events: {exc}")
    try:
        requests = api.recent_requests()
    except KubeApiError as exc:
        errors.append(f"the cluster's recent requests: {exc}")
    else:
        if requests is None:
            errors.append("the cluster's recent requests: not exposed by this API server")
        else:
            write("cluster-requests.txt", _requests_table(requests))
    if errors:
        write("errors.txt", "\n".join(errors) + "\n")
    return DiagnosticsReport(target, tuple(written), tuple(errors))


def _requests_table(requests: Sequence[JSON]) -> str:
    """One line a request, oldest first: time, status, duration, method, path, client."""
    lines = []
    for entry in requests:
        moment = dt.datetime.fromtimestamp(float(entry.get("time", 0)), dt.UTC)
        when = f"{moment:%H:%M:%S.%f}"[:-3]
        status, ms = entry.get("status", "?"), float(entry.get("ms", 0))
        method, path, agent = (
            entry.get("method", "?"),
            entry.get("path", ""),
            entry.get("userAgent", ""),
        )
        lines.append(f"{when} {status:>3} {ms:8.1f}ms {method:<6} {path}  ({agent})")
    return "\n".join(lines) + "\n"


def _containers(pod: JSON) -> Iterable[str]:
    spec = pod.get("spec") or {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        yield str(container["name"])


def _yaml(document: JSON) -> str:
    return yaml.safe_dump(json.loads(json.dumps(document)), sort_keys=False)


def _yaml_all(documents: Sequence[JSON]) -> str:
    return yaml.safe_dump_all([json.loads(json.dumps(d)) for d in documents], sort_keys=False)


def _events_table(events: Sequence[JSON]) -> str:
    def when(event: JSON) -> str:
        return str(
            event.get("lastTimestamp")
            or event.get("eventTime")
            or event.get("firstTimestamp")
            or (event.get("metadata") or {}).get("creationTimestamp")
            or ""
        )

    lines = ["TIME\tTYPE\tREASON\tOBJECT\tCOUNT\tMESSAGE"]
    for event in sorted(events, key=when):
        involved = event.get("involvedObject") or {}
        lines.append(
            "\t".join(
                [
                    when(event),
                    str(event.get("type", "")),
                    str(event.get("reason", "")),
                    f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
                    str(event.get("count", 1)),
                    str(event.get("message", "")).replace("\n", " "),
                ]
            )
        )
    return "\n".join(lines) + "\n"
