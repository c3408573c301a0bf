"""The load shape: bounded, and handed to the k6 script as environment variables."""

from __future__ import annotations

import pytest

from harness.errors import ConfigurationError
from harness.load import LoadShape


def test_environment_of_the_script() -> None:
    shape = LoadShape(rate=50, duration=12.5, paths=("/version", "/items?limit=5"))
    assert shape.k6_env("http://127.0.0.1:8080/") == {
        "TARGET_URL": "http://127.0.0.1:8080",
        "PATHS": "/version,/items?limit=5",
        "RATE": "50",
        "DURATION": "12.5s",
        "VUS": "10",
        "MAX_VUS": "50",
        "REQUEST_TIMEOUT": "10s",
        "GRACEFUL_STOP": "5s",
        "METHOD": "GET",
        "BODY_BYTES": "0",
        "NO_CONNECTION_REUSE": "false",
    }
    assert shape.expected_requests == 625
    assert str(shape) == "50 req/s for 12.5s: GET /version, /items?limit=5"
    fresh = LoadShape(method="POST", body_bytes=1024, reuse_connections=False, paths=("/u/{n}",))
    assert str(fresh) == "20 req/s for 10s: POST /u/{n} (1024 B bodies), a new connection each"


def test_vus_grow_with_the_rate_within_bounds() -> None:
    assert LoadShape(rate=1).preallocated_vus == 5
    assert LoadShape(rate=5000).preallocated_vus == 100
    assert LoadShape(rate=5000).maximum_vus == 1000
    assert LoadShape(rate=10, vus=30).maximum_vus == 50
    assert LoadShape(rate=10, vus=80, max_vus=20).maximum_vus == 80


@pytest.mark.parametrize(
    "options",
    [
        {"rate": 0},
        {"rate": 10**6},
        {"duration": 0},
        {"duration": 3600},
        {"paths": ()},
        {"paths": ("items",)},
        {"paths": ("/a,b",)},
        {"request_timeout": 0},
        {"method": "DELETE"},
        {"body_bytes": -1},
    ],
)
def test_unbounded_or_malformed_shapes_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        LoadShape(**options)  # type: ignore[arg-type]
