"""printPod: the columns of `kubectl get pods` and the row of one pod, whose STATUS and
RESTARTS follow the container and init-container statuses as kubectl's printer does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from harness.apimachinery.meta import dig, name_of
from harness.apimachinery.timestamps import parse_time
from harness.cluster.simulator.columns import AGE, NAME, Cells, Clock, Column, Obj, int_or_zero

__all__ = ["POD_COLUMNS", "pod_row"]

#: the columns of `kubectl get pods`; the priority-1 ones show with -o wide
POD_COLUMNS: Final = (
    NAME,
    Column(
        "Ready",
        description="The aggregate readiness state of this pod for accepting traffic.",
    ),
    Column("Status", description="The aggregate status of the containers in this pod."),
    Column(
        "Restarts",
        description="The number of times the containers in this pod have been restarted "
        "and when the last container in this pod has restarted.",
    ),
    AGE,
    Column("IP", priority=1, description="podIP address allocated to the pod."),
    Column("Node", priority=1, description="NodeName is the name of the node the pod runs on."),
    Column("Nominated Node", priority=1, description="nominatedNodeName of the pod."),
    Column("Readiness Gates", priority=1, description="Readiness gates of the pod."),
)


def pod_row(pod: Obj, clock: Clock) -> tuple[Cells, list[dict[str, str]]]:
    """printPod: READY, STATUS reason, RESTARTS with "(Xm ago)", then the wide cells."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    containers = spec.get("containers") or []
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(containers)
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: datetime | None = None
    sidecar_last_restart: datetime | None = None
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or phase)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    conditions: list[dict[str, str]] = []
    if phase == "Succeeded":
        conditions = [_row_completed("Succeeded", "The pod has completed successfully.")]
    elif phase == "Failed":
        conditions = [_row_completed("Failed", "The pod failed.")]

    def restartable(name: Any) -> bool:
        return (init_specs.get(name) or {}).get("restartPolicy") == "Always"

    for c in init_specs.values():
        if c.get("restartPolicy") == "Always":
            total += 1

    def later(current: datetime | None, cs: Obj) -> datetime | None:
        finished = parse_time(dig(cs, "lastState", "terminated", "finishedAt"))
        if finished is not None and (current is None or current < finished):
            return finished
        return current

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += int_or_zero(cs.get("restartCount"))
        last_restart = later(last_restart, cs)
        if restartable(cs.get("name")):
            sidecar_restarts += int_or_zero(cs.get("restartCount"))
            sidecar_last_restart = later(sidecar_last_restart, cs)
        state = cs.get("state") or {}
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        if terminated is not None and int_or_zero(terminated.get("exitCode")) == 0:
            continue
        if restartable(cs.get("name")) and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            if not terminated.get("reason"):
                if int_or_zero(terminated.get("signal")):
                    reason = f"Init:Signal:{terminated['signal']}"
                else:
                    reason = f"Init:ExitCode:{int_or_zero(terminated.get('exitCode'))}"
            else:
                reason = f"Init:{terminated['reason']}"
        elif waiting and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    initialized = any(
        c.get("type") == "Initialized" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    if not initializing or initialized:
        restarts = sidecar_restarts
        last_restart = sidecar_last_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int_or_zero(cs.get("restartCount"))
            last_restart = later(last_restart, cs)
            state = cs.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated is not None and terminated.get("reason"):
                reason = str(terminated["reason"])
            elif terminated is not None:
                if int_or_zero(terminated.get("signal")):
                    reason = f"Signal:{terminated['signal']}"
                else:
                    reason = f"ExitCode:{int_or_zero(terminated.get('exitCode'))}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in status.get("conditions") or []
            )
            reason = "Running" if pod_ready else "NotReady"

    deleting = dig(pod, "metadata", "deletionTimestamp") is not None
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        restarts_cell = f"{restarts} ({clock.since(last_restart.isoformat())} ago)"

    pod_ips = status.get("podIPs") or []
    pod_ip = (pod_ips[0].get("ip") if pod_ips else None) or "<none>"
    gates = spec.get("readinessGates") or []
    gates_cell = "<none>"
    if gates:
        true_count = 0
        for gate in gates:
            for condition in status.get("conditions") or []:
                if condition.get("type") == gate.get("conditionType"):
                    true_count += condition.get("status") == "True"
                    break
        gates_cell = f"{true_count}/{len(gates)}"
    cells: Cells = [
        name_of(pod),
        f"{ready}/{total}",
        reason,
        restarts_cell,
        clock.since(dig(pod, "metadata", "creationTimestamp")),
        pod_ip,
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        gates_cell,
    ]
    return cells, conditions


def _row_completed(reason: str, message: str) -> dict[str, str]:
    return {"type": "Completed", "status": "True", "reason": reason, "message": message}
