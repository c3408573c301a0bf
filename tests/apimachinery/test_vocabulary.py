"""The shared Kubernetes vocabulary: accessors, timestamps, quantities, selectors, pod status."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from harness.apimachinery.labels import selector_string
from harness.apimachinery.meta import annotations_of, dig, labels_of, meta, name_of, spec, status
from harness.apimachinery.pods import (
    FATAL_WAITING_REASONS,
    container_statuses,
    get_condition,
    is_pod_ready,
)
from harness.apimachinery.quantity import parse_quantity
from harness.apimachinery.timestamps import format_nano, format_time, parse_nano, parse_time


def test_accessors_read_missing_and_malformed_parts_as_empty() -> None:
    obj = {"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": "oops"}
    assert meta(obj)["name"] == "web" and name_of(obj) == "web"
    assert spec(obj) == {} and status(obj) == {}
    assert labels_of(obj) == {"app": "web"} and annotations_of(obj) == {}
    assert dig(obj, "metadata", "labels", "app") == "web"
    assert dig(obj, "spec", "replicas") is None and dig(None, "a") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:00.5Z", datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:00", datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_parse_time(text: object, expected: datetime | None) -> None:
    assert parse_time(text) == expected


def test_time_formats_round_trip() -> None:
    moment = datetime(2024, 5, 1, 10, 0, 0, 120000, UTC)
    assert format_time(moment) == "2024-05-01T10:00:00Z"
    assert format_nano(moment) == "2024-05-01T10:00:00.12Z"
    assert parse_nano("2024-05-01T10:00:00.123456789Z") == datetime(
        2024, 5, 1, 10, 0, 0, 123456, UTC
    )
    with pytest.raises(ValueError, match="not an RFC 3339 timestamp"):
        parse_nano("2024-05-01")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100m", Fraction(1, 10)),
        ("256Mi", Fraction(256 * 2**20)),
        ("1e3", Fraction(1000)),
        ("1.5G", Fraction(1_500_000_000)),
        (2, Fraction(2)),
        ("12abc", None),
        (True, None),
    ],
)
def test_parse_quantity(text: object, expected: Fraction | None) -> None:
    assert parse_quantity(text) == expected


def test_selector_string_sorts_requirements_by_key() -> None:
    spec_ = {
        "matchLabels": {"tier": "web", "app": "shop"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "dev"]},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    }
    assert selector_string(spec_) == "app=shop,!canary,env in (dev,prod),tier=web"
    assert selector_string(None) == ""


def test_pod_status_helpers() -> None:
    pod = {
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "initContainerStatuses": [{"name": "migrate"}],
            "containerStatuses": [{"name": "app"}],
        }
    }
    assert is_pod_ready(pod) and get_condition(pod["status"], "Scheduled") is None
    assert [c["name"] for c in container_statuses(pod)] == ["migrate", "app"]
    assert "CrashLoopBackOff" in FATAL_WAITING_REASONS and "ContainerCreating" not in (
        FATAL_WAITING_REASONS
    )
