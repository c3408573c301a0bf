"""The pytest plugin: backend option, session services, per-test isolation, xdist safety."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _no_stale_cleanup(monkeypatch: pytest.MonkeyPatch) -> None:
    # Inner sessions would reap dead runs that tests/test_reaper.py is looking at.
    monkeypatch.setenv("HARNESS_SKIP_STALE_CLEANUP", "1")


def test_unknown_backend_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("--harness-backend=kind")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown harness backend 'kind'*choose one of local, docker*"])


def test_docker_backend_without_an_engine_says_why(pytester: pytest.Pytester) -> None:
    from harness.services._docker import docker_unavailable_reason

    if docker_unavailable_reason() is None:
        pytest.skip("a Docker engine answers here: nothing to refuse")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("--harness-backend=docker")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*needs a Docker engine*--harness-backend=local*"])


def test_report_header_names_the_backend(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["harness backend: local"])


ISOLATION_TESTS = """
import pytest

@pytest.mark.parametrize("n", range(4))
def test_database_is_fresh_and_cloned_from_template(harness_database, n):
    with harness_database.connect() as conn:
        rows = conn.execute("SELECT count(*) FROM seeded").fetchone()[0]
        assert rows == 1, "each test starts from the template: one seeded row"
        conn.execute("INSERT INTO seeded VALUES (%s)", (n,))

@pytest.mark.parametrize("n", range(4))
def test_redis_is_flushed(harness_redis_db, n):
    assert harness_redis_db.dbsize() == 0
    harness_redis_db.set(f"key{n}", "value")

@pytest.mark.parametrize("n", range(4))
def test_bucket_is_new_and_empty(harness_bucket, harness_aws, n):
    s3 = harness_aws.client("s3")
    assert s3.list_objects_v2(Bucket=harness_bucket)["KeyCount"] == 0
    s3.put_object(Bucket=harness_bucket, Key="k", Body=b"x")
"""

SEEDED_TEMPLATE = """
import pytest

@pytest.fixture(scope="session")
def harness_database_template(harness_postgres):
    name = "seeded_template_" + __import__("harness.pytest_plugin").pytest_plugin.worker_id()
    harness_postgres.create_database(name)
    with harness_postgres.connect(dbname=name) as conn:
        conn.execute("CREATE TABLE seeded (n int)")
        conn.execute("INSERT INTO seeded VALUES (-1)")
    return name
"""


@pytest.mark.integration
def test_per_test_isolation_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(SEEDED_TEMPLATE)
    pytester.makepyfile(test_isolation=ISOLATION_TESTS)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=12)
