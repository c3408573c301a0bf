"""PostgresService: binary discovery, version choice and DSNs without a server; then real
`postgres` processes (databases from templates, socket, replica and promote, failures)."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from harness._process import service_user
from harness._run import current_run, scratch_root
from harness.errors import (
    BinaryNotFoundError,
    ConfigurationError,
    DockerUnavailableError,
    HarnessError,
    PortError,
    ProcessExitedError,
    ReadinessTimeout,
    ServiceError,
)
from harness.services import postgres as pgmod
from harness.services._docker import docker_unavailable_reason
from harness.services.postgres import (
    VERSION_ENV,
    DockerPostgres,
    LocalPostgres,
    PostgresService,
    build_dsn,
    find_postgres,
    parse_version,
    unique_database_name,
)

# -- without a server ----------------------------------------------------------------------


def fake_postgres(folder: Path, version: str, tools: tuple[str, ...] = ("initdb",)) -> Path:
    """A folder of scripts that answer --version like the real binaries."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("postgres", *tools):
        script = folder / name
        script.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
        script.chmod(0o755)
    return folder


@pytest.fixture
def no_version_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VERSION_ENV, raising=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", (15, "15.18")),
        ("postgres (PostgreSQL) 16.4", (16, "16.4")),
        ("postgres (PostgreSQL) 17devel", (17, "17devel")),
        ("postgres (PostgreSQL) 9.6.24", (9, "9.6.24")),
        ("redis-server v=7.0.15", None),
    ],
)
def test_parse_version(text: str, expected: tuple[int, str] | None) -> None:
    assert parse_version(text) == expected


def test_newest_version_wins_by_default(tmp_path: Path, no_version_env: None) -> None:
    fake_postgres(tmp_path / "usr/lib/postgresql/14/bin", "14.13")
    fake_postgres(tmp_path / "usr/lib/postgresql/16/bin", "16.4")
    fake_postgres(tmp_path / "usr/pgsql-15/bin", "15.8")
    patterns = [str(tmp_path / "usr/lib/postgresql/*/bin"), str(tmp_path / "usr/pgsql-*/bin")]
    found = find_postgres(path="", patterns=patterns)
    assert (found.major, found.version) == (16, "16.4")
    assert found.bindir == (tmp_path / "usr/lib/postgresql/16/bin").resolve()


def test_version_by_argument_and_by_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_version_env: None
) -> None:
    fake_postgres(tmp_path / "lib/14/bin", "14.13")
    fake_postgres(tmp_path / "lib/16/bin", "16.4")
    patterns = [str(tmp_path / "lib/*/bin")]
    assert find_postgres(14, path="", patterns=patterns).version == "14.13"
    monkeypatch.setenv(VERSION_ENV, "14")
    assert find_postgres(path="", patterns=patterns).major == 14
    assert find_postgres(16, path="", patterns=patterns).major == 16  # the argument wins


def test_a_bad_version_variable_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(VERSION_ENV, "fifteen")
    with pytest.raises(ConfigurationError, match=VERSION_ENV):
        find_postgres(path="", patterns=[])


def test_path_symlink_leads_to_the_real_folder_and_its_tools(
    tmp_path: Path, no_version_env: None
) -> None:
    real = fake_postgres(tmp_path / "opt/pg15/bin", "15.8", tools=("initdb", "pg_basebackup"))
    on_path = tmp_path / "usr/local/bin"
    on_path.mkdir(parents=True)
    (on_path / "postgres").symlink_to(real / "postgres")
    found = find_postgres(path=str(on_path), patterns=[])
    assert found.bindir == real.resolve()
    assert found.also == (on_path,)
    assert found.binary("pg_basebackup") == real.resolve() / "pg_basebackup"


def test_tools_never_come_from_another_installation(tmp_path: Path, no_version_env: None) -> None:
    fake_postgres(tmp_path / "lib/15/bin", "15.8", tools=())
    fake_postgres(tmp_path / "lib/16/bin", "16.4", tools=("initdb",))
    found = find_postgres(15, path="", patterns=[str(tmp_path / "lib/*/bin")])
    with pytest.raises(BinaryNotFoundError, match=r"initdb \(PostgreSQL 15\)"):
        found.binary("initdb")


def test_missing_binary_names_the_search_and_the_fix(tmp_path: Path, no_version_env: None) -> None:
    pattern = str(tmp_path / "usr/lib/postgresql/*/bin")
    with pytest.raises(BinaryNotFoundError) as caught:
        find_postgres(15, path=str(tmp_path / "bin"), patterns=[pattern])
    message = str(caught.value)
    assert "postgres (PostgreSQL 15) not found" in message
    assert pattern in message and str(tmp_path / "bin") in message
    assert "apt-get install postgresql-15" in message
    assert "make scenarios" in message and "root" in message


def test_missing_version_lists_what_was_found(tmp_path: Path, no_version_env: None) -> None:
    fake_postgres(tmp_path / "lib/16/bin", "16.4")
    with pytest.raises(BinaryNotFoundError) as caught:
        find_postgres(13, path="", patterns=[str(tmp_path / "lib/*/bin")])
    assert "found only 16.4" in str(caught.value)
    assert "apt-get install postgresql-13" in str(caught.value)


def test_start_without_binaries_fails_with_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv(VERSION_ENV, "3")  # no such PostgreSQL anywhere
    service = PostgresService()
    with pytest.raises(BinaryNotFoundError, match="PostgreSQL 3"):
        service.start()
    service.stop()  # a failed service stops without complaint


def test_dsn_encodes_every_part() -> None:
    dsn = build_dsn(host="127.0.0.1", port=5433, user="a b", password="p@ss:/w%", dbname="d/b")
    assert dsn == "postgresql://a%20b:p%40ss%3A%2Fw%25@127.0.0.1:5433/d%2Fb"
    parsed = conninfo_to_dict(dsn)
    assert (parsed["user"], parsed["password"], parsed["dbname"]) == ("a b", "p@ss:/w%", "d/b")
    assert build_dsn(host="h", port=1, user="u", password="", dbname="d") == "postgresql://u@h:1/d"


def test_service_urls_with_a_given_port() -> None:
    service = PostgresService(port=5999, user="test", password="test", dbname="test")
    assert service.dsn == "postgresql://test:test@127.0.0.1:5999/test"
    assert service.url == service.dsn
    assert service.sqlalchemy_url == "postgresql+psycopg://test:test@127.0.0.1:5999/test"
    assert service.endpoint == "127.0.0.1:5999"
    assert service.dsn_for("other").endswith("/other")
    assert (service.host, service.port, service.user, service.password, service.dbname) == (
        "127.0.0.1",
        5999,
        "test",
        "test",
        "test",
    )


def test_defaults_match_the_postgres_image() -> None:
    service = PostgresService()
    assert (service.user, service.password, service.dbname) == ("postgres", "postgres", "postgres")
    with pytest.raises(HarnessError, match="start"):
        _ = service.dsn  # no port until started


def test_backend_picks_the_variant() -> None:
    assert type(PostgresService()) is LocalPostgres
    docker = PostgresService(backend="docker", version=16)
    assert type(docker) is DockerPostgres
    assert isinstance(docker, PostgresService)
    assert docker.image == "postgres:16-alpine"
    pinned = PostgresService(backend="docker", image="postgres:15")
    assert isinstance(pinned, DockerPostgres) and pinned.image == "postgres:15"


def test_docker_variant_has_no_replica_yet() -> None:
    with pytest.raises(ConfigurationError, match="local backend"):
        PostgresService(backend="docker").with_replica()


def test_docker_variant_without_an_engine_says_why() -> None:
    reason = docker_unavailable_reason()
    if reason is None:
        pytest.skip("a Docker engine answers here")
    with pytest.raises(DockerUnavailableError) as caught:
        PostgresService(backend="docker").start()
    assert reason in str(caught.value)


def test_names_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        PostgresService(name="../escape")
    with pytest.raises(ConfigurationError):
        PostgresService(dbname="")


def test_unique_database_names_carry_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    names = {unique_database_name() for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert name.startswith(f"test_gw3_{os.getpid()}_")
        assert len(name) <= 63 and name.replace("_", "").isalnum()


def test_cache_key_follows_every_initdb_option(tmp_path: Path, no_version_env: None) -> None:
    installation = find_postgres(path="", patterns=[str(fake_postgres(tmp_path / "b", "15.8"))])
    base = dict(
        user="postgres",
        password="postgres",
        dbname="postgres",
        locale="C",
        encoding="UTF8",
        auth="trust",
    )
    key = pgmod._ClusterRecipe(installation, **base).key()
    assert key.startswith("pg15.8-")
    for field, other in [
        ("user", "test"),
        ("password", "x"),
        ("dbname", "app"),
        ("locale", "C.UTF-8"),
        ("auth", "scram-sha-256"),
    ]:
        assert pgmod._ClusterRecipe(installation, **{**base, field: other}).key() != key


def test_in_memory_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pgmod.IN_MEMORY_ENV, raising=False)
    assert pgmod._memory_wanted(False) is False
    assert pgmod._memory_wanted(None) is None  # auto: the run's tmpfs scratch where it has one
    monkeypatch.setenv(pgmod.IN_MEMORY_ENV, "0")
    assert pgmod._memory_wanted(None) is False
    monkeypatch.setenv(pgmod.IN_MEMORY_ENV, "yes")
    assert pgmod._memory_wanted(None) is True


def test_in_memory_without_a_tmpfs_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("harness._run.SCRATCH_BASE", Path("/nonexistent-shm"))
    pgmod._places(service_user(), False)  # on disk: fine
    with pytest.raises(ConfigurationError, match="use in_memory=False"):
        pgmod._places(service_user(), True)


# -- real servers --------------------------------------------------------------------------


def _postgres_installed() -> bool:
    try:
        find_postgres()
    except (BinaryNotFoundError, ConfigurationError):
        return False
    return True


needs_postgres = pytest.mark.skipif(
    not _postgres_installed(),
    reason="no PostgreSQL server binaries (apt-get install postgresql-15)",
)


@pytest.fixture(scope="module")
def pg() -> Iterator[LocalPostgres]:
    if not _postgres_installed():
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql-15)")
    with PostgresService(name="shared") as service:
        assert isinstance(service, LocalPostgres)
        yield service


@pytest.mark.integration
def test_write_and_read(pg: LocalPostgres) -> None:
    with pg.connect() as conn:
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text)")
        conn.execute("INSERT INTO notes (body) VALUES (%s), (%s)", ("one", "two"))
        assert conn.execute("SELECT body FROM notes ORDER BY id").fetchall() == [("one",), ("two",)]
        assert conn.autocommit
    with psycopg.connect(pg.dsn) as conn:  # the DSN alone is enough, password included
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (2,)
        assert conn.info.host == "127.0.0.1" and conn.info.port == pg.port


@pytest.mark.integration
def test_runs_as_the_service_user_when_root(pg: LocalPostgres) -> None:
    assert pg.process is not None and pg.process.pid is not None
    owner = psutil.Process(pg.process.pid).username()
    expected = service_user()
    if expected is None:
        assert owner == psutil.Process().username()
    else:
        assert owner == expected.name
        assert pg.data_dir.stat().st_uid == expected.uid
    assert stat.S_IMODE(pg.data_dir.stat().st_mode) == 0o700


@pytest.mark.integration
def test_database_from_a_template_with_data(pg: LocalPostgres) -> None:
    template = unique_database_name("tmpl")
    pg.create_database(template)
    with pg.connect(template) as conn:
        conn.execute("CREATE TABLE users (name text)")
        conn.execute("INSERT INTO users VALUES ('ada'), ('grace')")
    holder = pg.connect(template)  # a session on the template must not block the copy
    try:
        dsn = pg.create_database(template=template)
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT name FROM users ORDER BY name").fetchall() == [
                ("ada",),
                ("grace",),
            ]
        with pytest.raises(psycopg.OperationalError):
            holder.execute("SELECT 1")  # it was terminated to free the template
    finally:
        holder.close()
    pg.drop_database(str(conninfo_to_dict(dsn)["dbname"]))
    pg.drop_database(template)
    with pg.connect() as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (template,)
        ).fetchone()
    assert left == (0,)


@pytest.mark.integration
def test_database_names_are_parallel_safe(pg: LocalPostgres) -> None:
    template = pg.create_database()
    template_name = str(conninfo_to_dict(template)["dbname"])
    with ThreadPoolExecutor(4) as pool:
        dsns = list(pool.map(lambda _: pg.create_database(template=template_name), range(8)))
    names = {str(conninfo_to_dict(dsn)["dbname"]) for dsn in dsns}
    assert len(names) == 8
    for name in [*names, template_name]:
        pg.drop_database(name)


@pytest.mark.integration
def test_an_existing_database_is_a_service_error(pg: LocalPostgres) -> None:
    with pytest.raises(ServiceError, match="DuplicateDatabase") as caught:
        pg.create_database(pg.dbname)
    assert isinstance(caught.value.__cause__, psycopg.errors.DuplicateDatabase)


@pytest.mark.integration
def test_unix_socket(pg: LocalPostgres) -> None:
    assert (pg.socket_dir / f".s.PGSQL.{pg.port}").is_socket()
    with psycopg.connect(pg.socket_dsn) as conn:
        assert conn.execute("SELECT inet_server_addr()").fetchone() == (None,)  # not TCP
    with psycopg.connect(host=str(pg.socket_dir), port=pg.port, user=pg.user, dbname=pg.dbname):
        pass


@needs_postgres
@pytest.mark.integration
def test_custom_user_password_and_database() -> None:
    with PostgresService(
        user="test", password="test", dbname="test", version=find_postgres().major
    ) as pg:
        assert pg.dsn == f"postgresql://test:test@127.0.0.1:{pg.port}/test"
        with pg.connect() as conn:
            row = conn.execute(
                "SELECT current_user, current_database(), rolsuper "
                "FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
        assert row == ("test", "test", True)


@needs_postgres
@pytest.mark.integration
@pytest.mark.parametrize("in_memory", [True, False])
def test_data_directory_on_disk_or_in_memory(in_memory: bool) -> None:
    if in_memory and scratch_root() is None:
        pytest.skip("no tmpfs with room at /dev/shm")
    with PostgresService(in_memory=in_memory) as pg:
        assert isinstance(pg, LocalPostgres)
        assert pg.data_dir.is_relative_to("/dev/shm") is in_memory
        assert current_run().id in str(pg.data_dir)  # the run's leftovers are findable
        with pg.connect() as conn:
            assert conn.execute("SELECT current_setting('data_directory')").fetchone() == (
                str(pg.data_dir),
            )


@needs_postgres
@pytest.mark.integration
def test_password_checked_with_scram() -> None:
    with PostgresService(auth="scram-sha-256", password="s3cret") as pg:
        with psycopg.connect(pg.dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(pg.dsn.replace("s3cret", "wrong"))


@needs_postgres
@pytest.mark.integration
def test_two_services_side_by_side() -> None:
    with PostgresService() as first, PostgresService() as second:
        assert first.port != second.port
        assert isinstance(first, LocalPostgres) and isinstance(second, LocalPostgres)
        assert first.data_dir != second.data_dir
        with first.connect() as conn:
            conn.execute("CREATE TABLE only_in_first ()")
        with second.connect() as conn:
            assert conn.execute("SELECT to_regclass('only_in_first')").fetchone() == (None,)


@needs_postgres
@pytest.mark.integration
@pytest.mark.slow
def test_replica_streams_and_promotes() -> None:
    with PostgresService().with_replica() as primary:
        assert isinstance(primary, LocalPostgres)
        replica = primary.replica
        assert replica.is_replica and replica.port != primary.port
        with primary.connect() as conn:
            conn.execute("CREATE TABLE orders (id int)")
            conn.execute("INSERT INTO orders VALUES (1)")
            state = conn.execute("SELECT state FROM pg_stat_replication").fetchall()
        assert state == [("streaming",)]
        assert primary.wait_replicated() < 5
        with replica.connect() as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
            assert conn.execute("SELECT id FROM orders").fetchall() == [(1,)]
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute("INSERT INTO orders VALUES (2)")

        primary.crash()  # the failover drill: the primary is gone, promote the replica
        promotion = replica.promote()
        assert 0 < promotion.seconds < 10
        assert not replica.is_replica and replica.last_promotion is promotion
        with replica.connect() as conn:
            conn.execute("INSERT INTO orders VALUES (2)")
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2,)
        replica_dir = replica.data_dir
    assert replica.state.value == "stopped" and not replica_dir.exists()


@needs_postgres
@pytest.mark.integration
def test_stopping_the_replica_alone_frees_its_slot() -> None:
    with PostgresService().with_replica() as primary:
        assert isinstance(primary, LocalPostgres)
        with primary.connect() as conn:
            assert conn.execute("SELECT count(*) FROM pg_replication_slots").fetchone() == (1,)
            primary.replica.stop()
            assert conn.execute("SELECT count(*) FROM pg_replication_slots").fetchone() == (0,)
            conn.execute("CREATE TABLE still_writable ()")


@needs_postgres
@pytest.mark.integration
def test_a_server_that_exits_at_start_is_reported_at_once() -> None:
    service = PostgresService(extra_settings={"no_such_setting": "1"})
    with pytest.raises(ProcessExitedError) as caught:
        service.start(timeout=30)
    error = caught.value
    assert error.exit_code == 1
    assert error.waited < 10  # not the whole timeout
    assert error.service == "postgres" and error.endpoint.startswith("127.0.0.1:")
    assert 'unrecognized configuration parameter "no_such_setting"' in str(error)
    assert isinstance(service, LocalPostgres)
    assert not service.data_dir.exists()  # the failed start cleaned up


@needs_postgres
@pytest.mark.integration
def test_readiness_timeout_tells_the_story() -> None:
    with PostgresService():
        pass  # a warm cache: nothing but the wait itself may need time
    service = PostgresService()
    with pytest.raises(ReadinessTimeout) as caught:
        service.start(timeout=0)
    error = caught.value
    assert error.service == "postgres" and error.condition == "SELECT 1 answers"
    assert error.endpoint == f"127.0.0.1:{service.port}"
    assert error.last_error and "connection" in error.last_error.lower()
    assert "SELECT 1 answers" in str(error)


@needs_postgres
@pytest.mark.integration
def test_a_taken_port_is_a_port_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortError) as caught:
            PostgresService(port=port).start()
    assert caught.value.port == port
    assert str(port) in str(caught.value)


@needs_postgres
@pytest.mark.integration
def test_stop_removes_the_process_and_the_data() -> None:
    service = PostgresService().start()
    assert isinstance(service, LocalPostgres) and service.process is not None
    pid, data_dir, port = service.process.pid, service.data_dir, service.port
    assert pid is not None and data_dir.is_dir()
    service.stop()
    service.stop()  # idempotent
    assert not psutil.pid_exists(pid)
    assert not data_dir.exists() and not data_dir.parent.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            build_dsn(
                host="127.0.0.1", port=port, user="postgres", password="postgres", dbname="postgres"
            ),
            connect_timeout=2,
        )
    with pytest.raises(HarnessError, match="cannot be restarted"):
        service.start()


@needs_postgres
@pytest.mark.integration
def test_warm_start_is_timed(record_property: Callable[[str, object], None]) -> None:
    with PostgresService() as first:
        pass
    with PostgresService() as service:
        assert isinstance(service, LocalPostgres) and isinstance(first, LocalPostgres)
        assert service.startup is not None and service.startup.initdb_cached
        record_property("postgres_warm_start_seconds", round(service.startup.total, 3))


@needs_postgres
@pytest.mark.integration
@pytest.mark.slow
def test_a_cold_cache_is_built_once_by_parallel_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(tempfile.mkdtemp(prefix="harness-home-"))
    home.chmod(0o755)
    monkeypatch.setenv("HARNESS_HOME", str(home))
    try:
        places = pgmod._places(service_user(), None)
        recipe_key = pgmod._ClusterRecipe(
            find_postgres(), "cold", "cold", "cold", "C", "UTF8", "trust"
        ).key()
        places.cache.mkdir(parents=True, exist_ok=True)
        (places.cache / f"{recipe_key}.tmp-1-dead").mkdir()  # a writer that died half-way
        (places.cache / recipe_key).mkdir()  # a damaged entry without PG_VERSION
        barrier = threading.Barrier(3)

        def start() -> LocalPostgres:
            service = PostgresService(user="cold", password="cold", dbname="cold")
            assert isinstance(service, LocalPostgres)
            barrier.wait()
            return service.start()

        with ThreadPoolExecutor(3) as pool:
            services = list(pool.map(lambda _: start(), range(3)))
        try:
            built = [s for s in services if s.startup is not None and not s.startup.initdb_cached]
            assert len(built) == 1
            for service in services:
                with service.connect() as conn:
                    assert conn.execute("SELECT current_database()").fetchone() == ("cold",)
        finally:
            for service in services:
                service.stop()
        entries = sorted(p.name for p in places.cache.iterdir())
        assert entries == [recipe_key, f"{recipe_key}.lock"]
    finally:
        shutil.rmtree(home, ignore_errors=True)


# -- the docker variant --------------------------------------------------------------------


@pytest.fixture
def docker_engine() -> None:
    reason = docker_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.mark.docker
@pytest.mark.integration
def test_docker_postgres_round_trip(docker_engine: None) -> None:
    with PostgresService(backend="docker", user="test", password="test", dbname="test") as pg:
        assert isinstance(pg, DockerPostgres)
        with pg.connect() as conn:
            assert conn.execute("SELECT current_user, current_database()").fetchone() == (
                "test",
                "test",
            )
        dsn = pg.create_database()
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
