"""The parts a Table view is made of: ages as apimachinery's duration.HumanDuration prints them
(ports of duration_test.go)."""

from __future__ import annotations

import pytest

from harness.cluster.simulator.columns import human_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1s"),
        (70, "70s"),
        (190, "3m10s"),
        (70 * 60, "70m"),
        (47 * 3600, "47h"),
        (49 * 3600, "2d1h"),
        ((8 * 24 + 2) * 3600, "8d"),
        (367 * 24 * 3600, "367d"),
        ((365 * 2 * 24 + 25) * 3600, "2y1d"),
        ((365 * 8 * 24 + 2) * 3600, "8y"),
        # TestHumanDurationBoundaries
        (-2, "<invalid>"),
        (-1.999, "0s"),
        (0, "0s"),
        (0.999, "0s"),
        (119.999, "119s"),
        (120, "2m"),
        (121, "2m1s"),
        (599.999, "9m59s"),
        (600, "10m"),
        (601, "10m"),
        (3 * 3600 - 0.001, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 60, "3h1m"),
        (8 * 3600 - 0.001, "7h59m"),
        (8 * 3600, "8h"),
        (8 * 3600 + 59 * 60, "8h"),
        (48 * 3600 - 0.001, "47h"),
        (48 * 3600, "2d"),
        (8 * 24 * 3600 - 0.001, "7d23h"),
        (2 * 365 * 24 * 3600 - 0.001, "729d"),
        (2 * 365 * 24 * 3600, "2y"),
        (2 * 365 * 24 * 3600 + 24 * 3600, "2y1d"),
        (8 * 365 * 24 * 3600 - 0.001, "7y364d"),
        (9 * 365 * 24 * 3600, "9y"),
    ],
)
def test_human_duration_matches_upstream(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text
