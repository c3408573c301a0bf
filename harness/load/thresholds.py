"""k6 thresholds written in k6's own syntax (`p(95)<2000`, `rate<0.01`), parsed in Python
so that a result can say each threshold's limit, the measured value and the verdict."""

from __future__ import annotations

import enum
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harness.load.errors import ThresholdSyntaxError

__all__ = ["Comparison", "Threshold"]

_EXPRESSION = re.compile(
    r"^\s*(?P<aggregation>avg|min|max|med|count|rate|value|p\((?P<pct>\d+(?:\.\d+)?)\))\s*"
    r"(?P<operator><=|>=|===|==|!=|<|>)\s*(?P<limit>-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)\s*$"
)


class Comparison(enum.Enum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "=="
    STRICT_EQ = "==="
    NE = "!="

    def holds(self, value: float, limit: float) -> bool:
        return _OPERATORS[self](value, limit)


_OPERATORS: Mapping[Comparison, Callable[[float, float], bool]] = {
    Comparison.LT: operator.lt,
    Comparison.LE: operator.le,
    Comparison.GT: operator.gt,
    Comparison.GE: operator.ge,
    Comparison.EQ: operator.eq,
    Comparison.STRICT_EQ: operator.eq,
    Comparison.NE: operator.ne,
}


@dataclass(frozen=True)
class Threshold:
    """One k6 threshold on one metric, e.g. Threshold("http_req_duration", "p(95)<2000").

    `abort_on_fail` stops the test as soon as the threshold is crossed (k6 then exits 99),
    after `delay_abort_eval` (a k6 duration such as "5s") so the first samples alone do not.
    """

    metric: str
    expression: str
    abort_on_fail: bool = False
    delay_abort_eval: str | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\{[^{}]+\})?", self.metric):
            raise ThresholdSyntaxError(self.metric, self.expression, "not a metric name")
        if _EXPRESSION.match(self.expression) is None:
            raise ThresholdSyntaxError(
                self.metric, self.expression, "expected <aggregation> <operator> <number>"
            )

    @property
    def _parts(self) -> re.Match[str]:
        match = _EXPRESSION.match(self.expression)
        assert match is not None  # checked in __post_init__
        return match

    @property
    def aggregation(self) -> str:
        """The statistic compared: "p(95)", "rate", "avg", "count"..."""
        return self._parts.group("aggregation")

    @property
    def percentile(self) -> float | None:
        pct = self._parts.group("pct")
        return float(pct) if pct is not None else None

    @property
    def comparison(self) -> Comparison:
        return Comparison(self._parts.group("operator"))

    @property
    def limit(self) -> float:
        return float(self._parts.group("limit"))

    def holds(self, value: float) -> bool:
        return self.comparison.holds(value, self.limit)

    def k6(self) -> str | dict[str, object]:
        """The threshold as k6's options.thresholds takes it."""
        if not self.abort_on_fail:
            return self.expression
        spec: dict[str, object] = {"threshold": self.expression, "abortOnFail": True}
        if self.delay_abort_eval:
            spec["delayAbortEval"] = self.delay_abort_eval
        return spec

    def __str__(self) -> str:
        return f"{self.metric}: {self.expression}"
