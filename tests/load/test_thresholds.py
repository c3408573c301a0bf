"""Thresholds in k6's syntax: parsed for their limit, handed to k6 as written."""

from __future__ import annotations

import pytest

from harness.errors import ConfigurationError
from harness.load import Comparison, Threshold, ThresholdSyntaxError


@pytest.mark.parametrize(
    ("expression", "aggregation", "comparison", "limit"),
    [
        ("p(95)<2000", "p(95)", Comparison.LT, 2000.0),
        ("rate<0.01", "rate", Comparison.LT, 0.01),
        (" p(99.9) <= 27.5 ", "p(99.9)", Comparison.LE, 27.5),
        ("avg>=1", "avg", Comparison.GE, 1.0),
        ("count>0", "count", Comparison.GT, 0.0),
        ("med==3", "med", Comparison.EQ, 3.0),
    ],
)
def test_expression_parts(
    expression: str, aggregation: str, comparison: Comparison, limit: float
) -> None:
    threshold = Threshold("http_req_duration", expression)
    assert threshold.aggregation == aggregation
    assert threshold.comparison is comparison
    assert threshold.limit == limit


def test_holds_compares_like_k6() -> None:
    threshold = Threshold("http_req_duration", "p(95)<=27.5")
    assert threshold.holds(27.5) and threshold.holds(3) and not threshold.holds(27.6)
    assert Threshold("http_req_duration", "p(95)<2000").percentile == 95.0


def test_k6_form_plain_and_with_abort_on_fail() -> None:
    assert Threshold("http_req_failed", "rate<0.01").k6() == "rate<0.01"
    assert Threshold("http_req_failed", "rate<0.01", True, "5s").k6() == {
        "threshold": "rate<0.01",
        "abortOnFail": True,
        "delayAbortEval": "5s",
    }


def test_submetric_names_are_accepted() -> None:
    threshold = Threshold("http_req_duration{expected_response:true}", "p(95)<500")
    assert threshold.limit == 500


@pytest.mark.parametrize("expression", ["p(95)<<2000", "p95<2000", "rate", "< 3", "p(95)<2s"])
def test_bad_syntax_is_a_configuration_error_naming_it(expression: str) -> None:
    with pytest.raises(ThresholdSyntaxError, match="not in k6's syntax") as caught:
        Threshold("http_req_duration", expression)
    assert expression in str(caught.value)
    assert isinstance(caught.value, ConfigurationError)


def test_bad_metric_name() -> None:
    with pytest.raises(ThresholdSyntaxError, match="not a metric name"):
        Threshold("http req", "rate<0.01")
