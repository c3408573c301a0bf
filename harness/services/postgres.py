"""PostgreSQL for tests: a real `postgres` started from a cached initdb cluster (local) or a
testcontainers container (docker), with template databases, a streaming replica and promote.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import glob
import hashlib
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from harness import settings
from harness._process import ManagedProcess, ServiceUser, reachable_by, service_user
from harness._reaper import owned_run
from harness._run import SCRATCH_MIN_FREE, cache_dir
from harness._wait import Deadline, Pace, wait_until
from harness.backends import Backend
from harness.errors import BinaryNotFoundError, ConfigurationError, HarnessError, ServiceError
from harness.lifecycle import BackendChoice, Lifecycle, Service
from harness.ports import claim_port
from harness.services._docker import container_logs, require_docker

__all__ = [
    "FAST_SETTINGS",
    "IN_MEMORY_ENV",
    "SEARCH_PATTERNS",
    "VERSION_ENV",
    "DockerPostgres",
    "LocalPostgres",
    "PostgresInstallation",
    "PostgresService",
    "Promotion",
    "StartupTimes",
    "build_dsn",
    "find_postgres",
    "parse_version",
    "unique_database_name",
]

VERSION_ENV = settings.PG_VERSION.name
IN_MEMORY_ENV = settings.PG_IN_MEMORY.name

#: Versioned install folders searched after PATH; the newest version found wins.
SEARCH_PATTERNS: tuple[str, ...] = (
    "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu (distro and PGDG packages)
    "/usr/pgsql-*/bin",  # RHEL, Fedora, Rocky (PGDG packages)
    "/opt/homebrew/opt/postgresql@*/bin",  # macOS Homebrew, Apple silicon
    "/usr/local/opt/postgresql@*/bin",  # macOS Homebrew, Intel
    "/usr/local/pgsql/bin",  # built from source
)

#: Settings for a throwaway test server: no durability work, small memory, loopback only.
#: full_page_writes=off is safe with a replica: a base backup forces full-page writes while
#: it runs, and torn pages only matter after an OS crash, which fsync=off gives up anyway.
#: wal_level=replica and the sender/slot limits stay on so with_replica() always works.
FAST_SETTINGS: Mapping[str, str] = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "wal_writer_delay": "10ms",  # with async commit, WAL reaches a replica within ~10 ms
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "huge_pages": "off",
    "jit": "off",
    "wal_level": "replica",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    "hot_standby": "on",
}

_CACHE_FORMAT = 1  # bump when what goes into a cached cluster changes
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS; keep a margin
_READY_POLL: Pace = {"interval": 0.005, "max_interval": 0.05}
_READY_HINT = "the log below usually says why (a bad setting, a full disk, a permission problem)"


# -- finding the binaries ------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresInstallation:
    """One PostgreSQL installation: its version and the folder holding its binaries."""

    version: str  # "15.18"
    major: int  # 15
    bindir: Path  # where `postgres` really lives (symlinks resolved)
    also: tuple[Path, ...] = ()  # PATH folders that link to it, searched second for tools

    def binary(self, name: str) -> Path:
        """A tool of this installation; never one of another version found elsewhere on PATH."""
        folders = (self.bindir, *self.also)
        for folder in folders:
            candidate = folder / name
            if _is_executable(candidate):
                return candidate
        raise BinaryNotFoundError(
            f"{name} (PostgreSQL {self.major})",
            [str(folder) for folder in folders],
            _install_hint(self.major),
        )

    @property
    def version_key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", self.version)[:3])


_VERSION_RE = re.compile(r"\(PostgreSQL\)\s+(\d+(?:\.\d+)*)(\w*)")


def parse_version(text: str) -> tuple[int, str] | None:
    """(major, version) from `postgres --version` output, e.g. (15, "15.18"); None if not one."""
    match = _VERSION_RE.search(text)
    if match is None:
        return None
    version = match.group(1) + match.group(2)
    return int(match.group(1).split(".")[0]), version


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


@functools.lru_cache(maxsize=64)
def _probe_version(binary: str, mtime_ns: int) -> tuple[int, str] | None:
    """Ask the binary itself; mtime_ns is only part of the cache key (an upgrade changes it)."""
    try:
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_version(done.stdout) if done.returncode == 0 else None


def _install_hint(major: int | None) -> str:
    n = major or 15
    return (
        f"install it: `apt-get install postgresql-{n}` (Debian/Ubuntu; `make scenarios` does it "
        f"when run as root), `dnf install postgresql{n}-server` (RHEL/Fedora, PGDG repository), "
        f"`brew install postgresql@{n}` (macOS)"
    )


def _wanted_version(version: int | None) -> int | None:
    if version is not None:
        return int(version)
    return settings.pg_version()


def find_postgres(
    version: int | None = None,
    *,
    path: str | None = None,
    patterns: Sequence[str] = SEARCH_PATTERNS,
) -> PostgresInstallation:
    """The installation to use: major `version` (else HARNESS_PG_VERSION, else the newest).

    Looks at `postgres` on PATH (`path` overrides $PATH) and in the versioned folders of
    `patterns`; each candidate's version comes from `postgres --version`.
    Raises BinaryNotFoundError naming every place searched, what was found and the fix.
    """
    wanted = _wanted_version(version)
    path_dirs = [
        d for d in (os.environ.get("PATH", "") if path is None else path).split(os.pathsep) if d
    ]
    found: dict[Path, PostgresInstallation] = {}

    def consider(folder: Path) -> None:
        binary = folder / "postgres"
        if not _is_executable(binary):
            return
        real = binary.resolve()
        known = found.get(real.parent)
        if known is not None:
            if folder != known.bindir and folder not in known.also:
                found[real.parent] = PostgresInstallation(
                    known.version, known.major, known.bindir, (*known.also, folder)
                )
            return
        probed = _probe_version(str(real), real.stat().st_mtime_ns)
        if probed is None:
            return
        major, full = probed
        also = () if folder == real.parent else (folder,)
        found[real.parent] = PostgresInstallation(full, major, real.parent, also)

    for folder in path_dirs:
        consider(Path(folder))
    for pattern in patterns:
        for folder in sorted(glob.glob(pattern)):
            consider(Path(folder))

    matching = [inst for inst in found.values() if wanted is None or inst.major == wanted]
    if matching:
        return max(matching, key=lambda inst: inst.version_key)
    searched = [f"PATH ({os.pathsep.join(path_dirs)})", *patterns]
    hint = _install_hint(wanted)
    if found:
        others = ", ".join(f"{inst.version} in {inst.bindir}" for inst in found.values())
        hint = f"found only {others}: use one of those with version=N or {VERSION_ENV}=N, or {hint}"
    what = f"postgres (PostgreSQL {wanted})" if wanted else "postgres (PostgreSQL server)"
    raise BinaryNotFoundError(what, searched, hint)


# -- names and URLs ------------------------------------------------------------------------


def build_dsn(
    *,
    host: str,
    port: int,
    user: str,
    password: str,
    dbname: str,
    driver: str | None = None,
) -> str:
    """postgresql://user:password@host:port/dbname, every part percent-encoded."""
    scheme = f"postgresql+{driver}" if driver else "postgresql"
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    return f"{scheme}://{auth}@{host}:{port}/{quote(dbname, safe='')}"


_db_counter = itertools.count(1)


def unique_database_name(prefix: str = "test") -> str:
    """A database name no other test, xdist worker or process picks: prefix_worker_pid_n."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{prefix}_{worker}_{os.getpid()}_{next(_db_counter)}"
    return re.sub(r"[^a-z0-9_]", "_", name.lower())[:63]


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- the service, common to both backends --------------------------------------------------


@dataclass(frozen=True)
class Promotion:
    """A replica promoted to primary: how long from pg_promote() until it accepted a write."""

    seconds: float
    finished_at: float  # time.time() when the first write was accepted


@dataclass(frozen=True)
class StartupTimes:
    """Where a local start spent its time (seconds); `initdb_cached` is the warm path."""

    initdb_cached: bool
    prepare: float  # discovery, port, cache (initdb when cold), copy of the data directory
    to_ready: float  # process start until SELECT 1 answered

    @property
    def total(self) -> float:
        return self.prepare + self.to_ready


class PostgresService(BackendChoice, Service):
    """A PostgreSQL server for tests; `PostgresService(...)` builds the backend's variant.

    Arguments (keyword only): `version` (major; default HARNESS_PG_VERSION, else the newest
    installed locally, 15 on docker), `user` / `password` / `dbname` (default "postgres"
    for all three; the user is a superuser), `port` (default: a free one), `name` (label
    in paths, logs and `cluster_name`), `extra_settings` (postgresql.conf settings, override
    the fast defaults), `locale` / `encoding` / `auth` (initdb options; auth "trust" accepts
    any password, "scram-sha-256" checks it over TCP), `in_memory` (data directory on tmpfs:
    True, False, or None = HARNESS_PG_IN_MEMORY, else wherever /dev/shm has room), `image`
    (docker only).

    `.dsn` and `.url` are the same libpq URI, postgresql://user:password@127.0.0.1:port/db,
    which psycopg, asyncpg, node-postgres and psql accept as is; `.sqlalchemy_url` is the
    postgresql+psycopg:// form. `create_database(template=...)` is the cheap per-test copy.
    """

    kind = "postgres"
    _variants: ClassVar[dict[Backend, str]] = {
        Backend.LOCAL: "harness.services.postgres:LocalPostgres",
        Backend.DOCKER: "harness.services.postgres:DockerPostgres",
    }

    def __init__(
        self,
        *,
        version: int | None = None,
        user: str = "postgres",
        password: str = "postgres",
        dbname: str = "postgres",
        port: int | None = None,
        name: str = "postgres",
        extra_settings: Mapping[str, str | int | float | bool] | None = None,
        locale: str = "C",
        encoding: str = "UTF8",
        auth: str = "trust",
        in_memory: bool | None = None,
        image: str | None = None,
        backend: str | Backend | None = None,
    ) -> None:
        super().__init__()
        del backend  # chosen in BackendChoice.__new__
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ConfigurationError(f"postgres name {name!r}: use letters, digits, _ . - only")
        for label, value in (("user", user), ("dbname", dbname)):
            if not value or "\x00" in value or "\n" in value:
                raise ConfigurationError(f"postgres {label} {value!r} is not a usable identifier")
        self._version = version
        self._user = user
        self._password = password
        self._dbname = dbname
        self._requested_port = port
        self._port: int | None = port
        self._host = "127.0.0.1"
        self.name = name
        self._settings = {
            key: _setting_text(value) for key, value in (extra_settings or {}).items()
        }
        self._locale = locale
        self._encoding = encoding
        self._auth = auth
        self._in_memory = in_memory
        self._image = image
        self._init_variant()

    def _init_variant(self) -> None:
        """A variant's own state, set up at the end of __init__ (one constructor signature)."""

    # -- where it is -------------------------------------------------------------------
    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._port is None:
            raise HarnessError(f"{self.kind} has no port yet: start() it first")
        return self._port

    @property
    def user(self) -> str:
        return self._user

    @property
    def password(self) -> str:
        return self._password

    @property
    def dbname(self) -> str:
        return self._dbname

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def dsn(self) -> str:
        """postgresql://user:password@127.0.0.1:port/dbname (a libpq URI)."""
        return self.dsn_for(self._dbname)

    @property
    def url(self) -> str:
        """The same as `.dsn`: psycopg, asyncpg, node-postgres and psql accept it as is."""
        return self.dsn

    @property
    def sqlalchemy_url(self) -> str:
        """postgresql+psycopg://... for SQLAlchemy with psycopg 3."""
        return build_dsn(
            host=self.host,
            port=self.port,
            user=self._user,
            password=self._password,
            dbname=self._dbname,
            driver="psycopg",
        )

    def dsn_for(self, dbname: str) -> str:
        return build_dsn(
            host=self.host, port=self.port, user=self._user, password=self._password, dbname=dbname
        )

    # -- using it ----------------------------------------------------------------------
    def connect(self, dbname: str | None = None) -> psycopg.Connection[TupleRow]:
        """A new autocommit psycopg connection (to `dbname`, default the service's database)."""
        return psycopg.connect(
            self.dsn_for(dbname or self._dbname), autocommit=True, connect_timeout=10
        )

    def create_database(
        self, name: str | None = None, template: str | None = None, *, timeout: float = 30.0
    ) -> str:
        """CREATE DATABASE name [TEMPLATE template]; returns the new database's DSN.

        `name` defaults to unique_database_name(). Sessions connected to the template are
        terminated first (PostgreSQL refuses to copy a database in use), retried until
        `timeout` in case a client reconnects in between.
        """
        name = name or unique_database_name()
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
        failure: list[psycopg.Error] = []
        with self.connect(self._admin_database(avoid=template or "template1")) as conn:

            def attempt() -> bool:
                try:
                    if template:
                        conn.execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()",
                            (template,),
                        )
                    conn.execute(statement)
                except psycopg.errors.ObjectInUse:
                    raise  # a session came back to the template: terminate it and retry
                except psycopg.Error as exc:
                    failure.append(exc)
                return True

            wait_until(
                attempt,
                deadline=Deadline.after(timeout),
                service=self.kind,
                endpoint=self.endpoint,
                condition=f"CREATE DATABASE {name}"
                + (f" from template {template} with no other session on it" if template else ""),
                interval=0.01,
            )
        if failure:
            raise ServiceError(
                f"{self.kind} at {self.endpoint}: CREATE DATABASE {name} failed: "
                f"{type(failure[0]).__name__}: {failure[0]}",
                service=self.kind,
                endpoint=self.endpoint,
            ) from failure[0]
        return self.dsn_for(name)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE IF EXISTS, terminating its sessions first."""
        with self.connect(self._admin_database(avoid=name)) as conn:
            try:
                if conn.info.server_version >= 130000:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )
                else:
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()",
                        (name,),
                    )
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            except psycopg.Error as exc:
                raise ServiceError(
                    f"{self.kind} at {self.endpoint}: DROP DATABASE {name} failed: {exc}",
                    service=self.kind,
                    endpoint=self.endpoint,
                ) from exc

    def set_password(self, password: str) -> None:
        """ALTER ROLE the service's user to `password`, as RDS sets its master password; from
        then on `.dsn` and `.url` carry it. The template cluster keeps its own password, so
        an environment with a generated password still starts from the cached copy."""
        if not password:
            raise ConfigurationError(f"{self.kind} {self.name}: the new password is empty")
        with self.connect() as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(self._user), sql.Literal(password)
                )
            )
        self._password = password

    def _admin_database(self, avoid: str) -> str:
        """A database to run CREATE/DROP DATABASE from that is not the one being copied."""
        return next(db for db in ("postgres", "template1", self._dbname) if db != avoid)

    # -- replicas (local only for now) -------------------------------------------------
    def with_replica(self) -> Self:
        raise ConfigurationError(f"{type(self).__name__} has no streaming replica support")

    @property
    def replica(self) -> PostgresService:
        raise ConfigurationError(f"{type(self).__name__} has no replica: use with_replica()")

    def promote(self, timeout: float = 30.0) -> Promotion:
        raise ConfigurationError("promote() is for a replica: use service.replica.promote()")

    # -- readiness ---------------------------------------------------------------------
    def _start(self, deadline: Deadline) -> None:
        raise NotImplementedError("PostgresService(...) builds LocalPostgres or DockerPostgres")

    def _watched_process(self) -> ManagedProcess | None:
        return None

    def _answers(self) -> bool:
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=2) as conn:
            row = conn.execute("SELECT 1").fetchone()
        return row == (1,)

    def wait_ready(self, deadline: Deadline | None = None) -> None:
        wait_until(
            self._answers,
            deadline=deadline or Deadline.after(self.default_timeout),
            service=self.kind,
            endpoint=self.endpoint,
            condition="SELECT 1 answers",
            process=self._watched_process(),
            hint=_READY_HINT,
            **_READY_POLL,
        )


def _setting_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


# -- where the local backend keeps its files -----------------------------------------------


@dataclass(frozen=True)
class _Places:
    cache: Path  # cached initdb clusters, one folder per key
    instances: Path  # this run's data directories
    in_memory: bool = False  # instances are on tmpfs


def _memory_wanted(wanted: bool | None) -> bool | None:
    """in_memory, else HARNESS_PG_IN_MEMORY; None means "where the run has a tmpfs scratch"."""
    if wanted is None:
        wanted = settings.pg_in_memory()
    return wanted


def _places(user: ServiceUser | None, in_memory: bool | None) -> _Places:
    """The initdb cache (under the state root) and the folder for this run's data directories:
    the run's tmpfs scratch when wanted and available, else the run folder.

    Copying a cluster onto a disk that other tests are writing to took 0.1-0.3 s here; onto
    tmpfs it takes 0.03-0.05 s, and teardown does not wait for the disk either.
    """
    run = owned_run()
    cache = cache_dir() / "postgres"
    instances = run.path("postgres")
    if user is not None and not reachable_by(instances.resolve(), user):
        raise ConfigurationError(
            f"postgres runs as {user.name}, who cannot reach {instances}: set HARNESS_HOME to "
            f"a folder {user.name} can traverse (for example /var/tmp/harness)"
        )
    wanted = _memory_wanted(in_memory)
    scratch = run.scratch("postgres") if wanted is not False else None
    if wanted and scratch is None:
        raise ConfigurationError(
            f"in_memory=True ({IN_MEMORY_ENV}) needs a writable tmpfs at /dev/shm with "
            f"{SCRATCH_MIN_FREE >> 20} MB free; use in_memory=False"
        )
    if scratch is not None:
        pointer = instances / "instances"  # so a human finds them from the run folder
        if not pointer.is_symlink():
            with contextlib.suppress(OSError):
                pointer.symlink_to(scratch)
        return _Places(cache, scratch, in_memory=True)
    return _Places(cache, instances)


def _tool_env(user: ServiceUser | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    # A caller's PGHOST, PGPORT or PGDATA must not send our tools somewhere else.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env.update(owned_run().tag_env())
    if user is not None:
        env.update(HOME=user.home or "/", USER=user.name, LOGNAME=user.name)
    env.update(extra or {})
    return env


def _run_tool(
    argv: Sequence[str],
    *,
    what: str,
    user: ServiceUser | None,
    cwd: Path,
    deadline: Deadline,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run one PostgreSQL tool to completion as the service user; its output, or a ServiceError."""
    try:
        done = subprocess.run(
            list(argv),
            input=stdin.encode() if stdin is not None else None,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=_tool_env(user, env),
            timeout=max(deadline.remaining(), 0.001),
            user=user.uid if user else None,
            group=user.gid if user else None,
            extra_groups=[] if user else None,
            start_new_session=True,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = (exc.output or b"").decode(errors="replace")
        raise ServiceError(
            f"postgres: {what} did not finish within {deadline.elapsed():.2f}s\n{output[-2000:]}",
            service="postgres",
            log_tail=output[-2000:],
        ) from exc
    output = done.stdout.decode(errors="replace")
    if done.returncode != 0:
        tail = "\n".join(output.splitlines()[-20:])
        raise ServiceError(
            f"postgres: {what} failed with exit code {done.returncode}: {' '.join(argv)}\n{tail}",
            service="postgres",
            log_tail=tail,
        )
    return output


@contextlib.contextmanager
def _exclusive(lock_path: Path, deadline: Deadline) -> Iterator[None]:
    """An flock held while building a cache entry; released even if this process dies."""
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
    try:

        def acquired() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        wait_until(
            acquired,
            deadline=deadline,
            service="postgres",
            endpoint=str(lock_path),
            condition="the initdb cache lock (another process is running initdb)",
            interval=0.02,
        )
        yield
    finally:
        os.close(fd)  # closing drops the lock


@dataclass(frozen=True)
class _ClusterRecipe:
    """Everything that decides the content of a cached initdb cluster."""

    installation: PostgresInstallation
    user: str
    password: str
    dbname: str
    locale: str
    encoding: str
    auth: str

    def key(self) -> str:
        payload = json.dumps(
            [
                _CACHE_FORMAT,
                str(self.installation.bindir),
                self.installation.version,
                self.user,
                self.password,
                self.dbname,
                self.locale,
                self.encoding,
                self.auth,
            ]
        )
        return f"pg{self.installation.version}-{hashlib.sha256(payload.encode()).hexdigest()[:16]}"


def _cached_cluster(
    recipe: _ClusterRecipe, root: Path, user: ServiceUser | None, deadline: Deadline
) -> tuple[Path, bool]:
    """The cached data directory for `recipe` and whether it was there already.

    Built in a temporary folder and renamed into place under a lock, so a reader only ever
    sees a complete cluster, and parallel workers run initdb once between them.
    """
    final = root / recipe.key()
    if (final / "PG_VERSION").is_file():
        return final, True
    root.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):
        root.chmod(0o755)
    with _exclusive(root / f"{recipe.key()}.lock", deadline):
        if (final / "PG_VERSION").is_file():
            return final, True
        # Left by a process that died building it, or damaged by hand: never used, replaced.
        for stale in (*root.glob(f"{recipe.key()}.tmp-*"), final):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            elif stale.exists() or stale.is_symlink():
                stale.unlink()
        token = f"{os.getpid()}-{secrets.token_hex(3)}"
        building = root / f"{recipe.key()}.tmp-{token}"
        try:
            building.mkdir(mode=0o700)
            pwfile = building / "pwfile"
            if user is not None:
                os.chown(building, user.uid, user.gid)
            _initdb(recipe, building / "data", pwfile, user, deadline)
            os.rename(building / "data", final)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return final, False


def _initdb(
    recipe: _ClusterRecipe, data: Path, pwfile: Path, user: ServiceUser | None, deadline: Deadline
) -> None:
    inst = recipe.installation
    argv = [
        str(inst.binary("initdb")),
        "-D", str(data),
        "-U", recipe.user,
        "-E", recipe.encoding,
        f"--locale={recipe.locale}",
        "--auth-local=trust",
        f"--auth-host={recipe.auth}",
        "--no-sync",
    ]  # fmt: skip
    if recipe.password:
        pwfile.write_text(recipe.password + "\n")
        pwfile.chmod(0o600)
        if user is not None:
            os.chown(pwfile, user.uid, user.gid)
        argv += ["--pwfile", str(pwfile)]
    cwd = data.parent
    _run_tool(argv, what="initdb", user=user, cwd=cwd, deadline=deadline)
    if recipe.dbname not in ("postgres", "template0", "template1"):
        # Single-user mode creates the database without a listening server; session user is
        # the bootstrap superuser (recipe.user), who then owns it.
        output = _run_tool(
            [
                str(inst.binary("postgres")),
                "--single",
                "-D",
                str(data),
                "-c",
                "fsync=off",
                "postgres",
            ],
            what=f"CREATE DATABASE {recipe.dbname} in single-user mode",
            user=user,
            cwd=cwd,
            deadline=deadline,
            stdin=f"CREATE DATABASE {_quote_ident(recipe.dbname)};\n",
        )
        if "ERROR:" in output or "FATAL:" in output:
            raise ServiceError(
                f"postgres: CREATE DATABASE {recipe.dbname} in single-user mode failed:\n{output}",
                service="postgres",
                log_tail=output,
            )
    # initdb ran with --no-sync: flush once now, so a crash later never leaves a torn cache.
    _run_tool(
        [str(inst.binary("initdb")), "--sync-only", "-D", str(data)],
        what="initdb --sync-only",
        user=user,
        cwd=cwd,
        deadline=deadline,
    )


def _copy_cluster(source: Path, target: Path, user: ServiceUser | None) -> None:
    """Copy a cached cluster; `cp -a` keeps the owner (the service user) and mode 0700."""
    cp = shutil.which("cp")
    if cp is not None:
        done = subprocess.run(
            [cp, "-a", str(source), str(target)], capture_output=True, check=False
        )
        if done.returncode != 0:
            raise ServiceError(
                f"postgres: copying {source} to {target} failed: "
                f"{done.stderr.decode(errors='replace').strip()}",
                service="postgres",
            )
    else:
        shutil.copytree(source, target, symlinks=True)
    if user is not None and target.stat().st_uid != user.uid:
        # The cache belongs to another service user (HARNESS_SERVICE_USER changed since).
        for folder, _subfolders, files in os.walk(target):
            os.lchown(folder, user.uid, user.gid)
            for entry in files:
                os.lchown(os.path.join(folder, entry), user.uid, user.gid)


# -- the local backend ---------------------------------------------------------------------


class LocalPostgres(PostgresService):
    """A `postgres` process of a local installation, from a cached cluster, in the run folder.

    Listens on 127.0.0.1 and on a unix socket in `.socket_dir`; runs as the unprivileged
    service user when the harness runs as root. `with_replica()` adds a hot-standby streaming
    replica (`.replica`), built with pg_basebackup -R and a replication slot; stop() stops
    the replica first. `.startup` tells where the start spent its time.
    """

    def _init_variant(self) -> None:
        self._installation: PostgresInstallation | None = None
        self._process: ManagedProcess | None = None
        self._socket_dir: Path | None = None
        self._data_dir: Path | None = None
        self._want_replica = False
        self._replica: LocalPostgres | None = None
        self._primary: LocalPostgres | None = None  # set on a replica
        self._promoted = False
        self.last_promotion: Promotion | None = None
        self.startup: StartupTimes | None = None
        self._prepared_at = 0.0
        self._prepare_seconds = 0.0
        self._initdb_cached = False

    @classmethod
    def _replica_of(cls, primary: LocalPostgres) -> LocalPostgres:
        replica = cls(
            user=primary.user,
            password=primary.password,
            dbname=primary.dbname,
            name=f"{primary.name}-replica",
            extra_settings=primary._settings,
            locale=primary._locale,
            encoding=primary._encoding,
            auth=primary._auth,
            in_memory=primary._in_memory,
        )
        replica.kind = "postgres replica"
        replica._installation = primary._installation
        replica._primary = primary
        return replica

    # -- public extras -----------------------------------------------------------------
    @property
    def installation(self) -> PostgresInstallation:
        if self._installation is None:
            self._installation = find_postgres(self._version)
        return self._installation

    @property
    def socket_dir(self) -> Path:
        """The unix socket folder: psycopg.connect(host=str(socket_dir), port=port, ...)."""
        if self._socket_dir is None:
            raise HarnessError(f"{self.kind} has no socket yet: start() it first")
        return self._socket_dir

    @property
    def socket_dsn(self) -> str:
        """A libpq URI that connects through the unix socket instead of TCP."""
        auth = quote(self._user, safe="") + (
            ":" + quote(self._password, safe="") if self._password else ""
        )
        return (
            f"postgresql://{auth}@/{quote(self._dbname, safe='')}"
            f"?host={quote(str(self.socket_dir), safe='')}&port={self.port}"
        )

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            raise HarnessError(f"{self.kind} has no data directory yet: start() it first")
        return self._data_dir

    @property
    def process(self) -> ManagedProcess | None:
        return self._process

    @property
    def log_path(self) -> Path | None:
        return self._process.log_path if self._process else None

    @property
    def is_replica(self) -> bool:
        """True for a replica until it is promoted."""
        return self._primary is not None and not self._promoted

    def with_replica(self) -> Self:
        """Also start a streaming hot-standby replica (the RDS read replica); before start()."""
        if self.state is not Lifecycle.NEW:
            raise HarnessError("with_replica() must be called before start()")
        if self._primary is not None:
            raise ConfigurationError("a replica cannot have a replica of its own here")
        self._want_replica = True
        return self

    @property
    def replica(self) -> LocalPostgres:
        if self._replica is None:
            raise HarnessError(
                f"{self.kind} {self.name} has no replica: call with_replica() before start()"
            )
        return self._replica

    def set_password(self, password: str) -> None:
        """Also for the replica: its DSN, and its primary_conninfo so that the walreceiver
        still authenticates when it reconnects (PostgreSQL 13+ applies it on reload)."""
        super().set_password(password)
        replica = self._replica
        if replica is None:
            return
        replica._password = password
        with psycopg.connect(replica._trusted_socket_dsn(), autocommit=True) as conn:
            row = conn.execute("SHOW primary_conninfo").fetchone()
            conninfo = str(row[0]) if row else ""
            if "password=" not in conninfo:
                return
            quoted = "'" + password.replace("\\", "\\\\").replace("'", "\\'") + "'"
            updated = re.sub(
                r"password=('(?:[^'\\]|\\.)*'|\S+)", lambda _: f"password={quoted}", conninfo
            )
            conn.execute(
                sql.SQL("ALTER SYSTEM SET primary_conninfo = {}").format(sql.Literal(updated))
            )
            conn.execute("SELECT pg_reload_conf()")

    def _trusted_socket_dsn(self) -> str:
        """The unix socket with local trust: no password, whatever the role's is now."""
        return (
            f"postgresql://{quote(self._user, safe='')}@/{quote(self._dbname, safe='')}"
            f"?host={quote(str(self.socket_dir), safe='')}&port={self.port}"
        )

    def crash(self) -> None:
        """SIGKILL the server and its children (instance loss in a failover drill).

        The service stays registered as running so that stop() still cleans up its files.
        """
        if self._process is not None:
            self._process.signal_group(signal.SIGKILL)
            with contextlib.suppress(Exception):
                self._process.wait(10)

    def promote(self, timeout: float = 30.0) -> Promotion:
        """pg_promote() this replica; returns once it accepts writes, with the time it took."""
        if self._primary is None:
            raise ConfigurationError("promote() is for a replica: use service.replica.promote()")
        if self._promoted:
            raise HarnessError(f"{self.kind} {self.name} was already promoted")
        if not self.running:
            raise HarnessError(f"{self.kind} {self.name} is {self.state.value}, not running")
        deadline = Deadline.after(timeout)
        began = time.monotonic()
        with self.connect() as conn:
            # wait => false: pg_promote's own wait polls every 100 ms; ours is finer.
            conn.execute("SELECT pg_promote(wait => false)")
        wait_until(
            self._accepts_writes,
            deadline=deadline,
            service=self.kind,
            endpoint=self.endpoint,
            condition="promotion: pg_is_in_recovery() false and a transaction id assigned",
            process=self._process,
            hint=_READY_HINT,
            **_READY_POLL,
        )
        self._promoted = True
        self.last_promotion = Promotion(seconds=time.monotonic() - began, finished_at=time.time())
        return self.last_promotion

    # -- start ---------------------------------------------------------------------------
    def _start(self, deadline: Deadline) -> None:
        began = time.monotonic()
        installation = self.installation
        user = service_user()
        places = _places(user, self._in_memory)
        claim = claim_port(self._requested_port)
        self.on_stop("release the port claim", claim.release)
        self._port = claim.port

        instance = places.instances / f"{self.name}-{claim.port}"
        if instance.exists():  # left by an instance of this run whose teardown failed
            shutil.rmtree(instance)
        instance.mkdir(parents=True)
        instance.chmod(0o755)
        self.on_stop(f"remove {instance}", lambda: _remove_tree(instance))
        data = instance / "data"
        self._data_dir = data
        self._socket_dir = self._make_socket_dir(instance, claim.port, user)

        if self._primary is None:
            recipe = _ClusterRecipe(
                installation,
                self._user,
                self._password,
                self._dbname,
                self._locale,
                self._encoding,
                self._auth,
            )
            cached, self._initdb_cached = _cached_cluster(recipe, places.cache, user, deadline)
            _copy_cluster(cached, data, user)
        else:
            self._initdb_cached = True
            self._base_backup(data, instance, user, deadline)

        settings = {**FAST_SETTINGS, "cluster_name": self._cluster_name}
        if places.in_memory:
            # Segments in the data directory instead of /dev/shm/PostgreSQL.*: a SIGKILLed
            # server (crash(), the reaper) leaves nothing behind once the folder is removed.
            settings["dynamic_shared_memory_type"] = "mmap"
        settings.update(self._settings)
        argv = [
            str(installation.binary("postgres")),
            "-D", str(data),
            "-p", str(claim.port),
            "-k", str(self._socket_dir),
        ]  # fmt: skip
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        self._process = ManagedProcess(
            f"postgres {self.name}",
            argv,
            log_path=instance / "postgres.log",
            cwd=instance,
            user=user,
            stop_signal=signal.SIGINT,  # "fast" shutdown: roll back sessions, no waiting on clients
        )
        self._prepared_at = time.monotonic()
        self._prepare_seconds = self._prepared_at - began
        self._process.start()
        process = self._process
        self.on_stop(f"stop postgres {self.name}", lambda: process.stop(timeout=10))

        if self._want_replica:
            self.wait_ready(deadline)  # pg_basebackup needs a primary that answers
            replica = LocalPostgres._replica_of(self)
            self._replica = replica
            self.on_stop("stop the replica", replica.stop)  # runs before the primary stops
            replica.start(timeout=max(deadline.remaining(), 0.001))

    @property
    def _cluster_name(self) -> str:
        # The walreceiver reports cluster_name as its application_name in pg_stat_replication.
        return f"{self.name}-{self.port}"

    def _make_socket_dir(self, instance: Path, port: int, user: ServiceUser | None) -> Path:
        socket_dir = instance / "socket"
        if len(f"{socket_dir}/.s.PGSQL.{port}") > _SOCKET_PATH_MAX:
            socket_dir = Path(tempfile.mkdtemp(prefix="hpg-"))
            self.on_stop(f"remove {socket_dir}", lambda: _remove_tree(socket_dir))
        else:
            socket_dir.mkdir()
        socket_dir.chmod(0o755)
        if user is not None:
            os.chown(socket_dir, user.uid, user.gid)
        return socket_dir

    def _base_backup(
        self, data: Path, instance: Path, user: ServiceUser | None, deadline: Deadline
    ) -> None:
        primary = self._primary
        assert primary is not None
        data.mkdir(mode=0o700)
        if user is not None:
            os.chown(data, user.uid, user.gid)
        slot = f"harness_replica_{self.port}"
        argv = [str(self.installation.binary("pg_basebackup")), "-D", str(data)]
        argv += ["-h", primary.host, "-p", str(primary.port), "-U", primary.user, "-w"]
        # -R writes standby.signal, primary_conninfo and primary_slot_name; the slot makes
        # the primary keep WAL until the replica has it.
        argv += ["-R", "-C", "-S", slot, "-X", "stream", "-c", "fast", "--no-sync"]
        self.on_stop(f"drop replication slot {slot}", lambda: self._drop_slot(slot))
        _run_tool(
            argv,
            what=f"pg_basebackup from {primary.endpoint}",
            user=user,
            cwd=instance,
            deadline=deadline,
            env={"PGPASSWORD": primary.password},
        )

    def _drop_slot(self, slot: str) -> None:
        """After the replica stopped: without this the primary would keep WAL for it forever."""
        primary = self._primary
        assert primary is not None
        if not (primary.running and primary._process and primary._process.is_running()):
            return  # gone with the primary (or crashed in a drill)

        def dropped() -> bool:
            with primary.connect("postgres") as conn:
                conn.execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                    "WHERE slot_name = %s AND NOT active",
                    (slot,),
                )
                row = conn.execute(
                    "SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s", (slot,)
                ).fetchone()
            return row == (0,)

        wait_until(
            dropped,
            deadline=Deadline.after(10),
            service=primary.kind,
            endpoint=primary.endpoint,
            condition=f"replication slot {slot} released by its walsender and dropped",
            process=primary._process,
        )

    # -- readiness -----------------------------------------------------------------------
    def _watched_process(self) -> ManagedProcess | None:
        return self._process

    def wait_ready(self, deadline: Deadline | None = None) -> None:
        deadline = deadline or Deadline.after(self.default_timeout)
        super().wait_ready(deadline)
        if self.startup is None:
            self.startup = StartupTimes(
                initdb_cached=self._initdb_cached,
                prepare=self._prepare_seconds,
                to_ready=time.monotonic() - self._prepared_at,
            )
        if self._primary is None or self._promoted:
            return
        primary = self._primary
        wait_until(
            self._streaming,
            deadline=deadline,
            service=self.kind,
            endpoint=self.endpoint,
            condition=f"pg_stat_replication on {primary.endpoint} shows "
            f"{self._cluster_name} streaming",
            process=self._process,
            hint=_READY_HINT,
            **_READY_POLL,
        )
        lsn = primary._write_marker()
        wait_until(
            lambda: self._replayed(lsn),
            deadline=deadline,
            service=self.kind,
            endpoint=self.endpoint,
            condition=f"a write on the primary (WAL {lsn}) replayed here",
            process=self._process,
            hint=_READY_HINT,
            **_READY_POLL,
        )

    def _streaming(self) -> bool:
        assert self._primary is not None
        with self._primary.connect("postgres") as conn:
            row = conn.execute(
                "SELECT state FROM pg_stat_replication WHERE application_name = %s",
                (self._cluster_name,),
            ).fetchone()
        return row is not None and row[0] == "streaming"

    def _write_marker(self) -> str:
        """Write one WAL record (no table touched); the insert LSN after it."""
        with self.connect("postgres") as conn:
            conn.execute("SELECT pg_logical_emit_message(false, 'harness', 'replica-check')")
            row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        assert row is not None
        return str(row[0])

    def wait_replicated(self, timeout: float = 30.0) -> float:
        """On a primary: block until the replica has replayed every write made so far.

        Replication is asynchronous, as on RDS; returns how long the replica took (the lag).
        """
        replica = self.replica
        deadline = Deadline.after(timeout)
        lsn = self._write_marker()
        wait_until(
            lambda: replica._replayed(lsn),
            deadline=deadline,
            service=replica.kind,
            endpoint=replica.endpoint,
            condition=f"WAL up to {lsn} from the primary replayed",
            process=replica._process,
            hint=_READY_HINT,
            **_READY_POLL,
        )
        return deadline.elapsed()

    def _replayed(self, lsn: str) -> bool:
        with self.connect("postgres") as conn:
            row = conn.execute(
                "SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)
            ).fetchone()
        return row is not None and bool(row[0])

    def _accepts_writes(self) -> bool:
        with self.connect("postgres") as conn:
            row = conn.execute("SELECT NOT pg_is_in_recovery()").fetchone()
            if row is None or not row[0]:
                return False
            conn.execute("SELECT txid_current()")  # fails while still read-only
        return True


def _remove_tree(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)


# -- the docker backend --------------------------------------------------------------------


def _postgres_container_class() -> Callable[..., Any]:
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:
        try:
            from testcontainers.postgres import PostgresContainer
        except ImportError as exc:
            raise ConfigurationError(
                "the docker backend needs testcontainers: pip install 'testcontainers[postgres]'"
            ) from exc
    return PostgresContainer


class DockerPostgres(PostgresService):
    """PostgreSQL in a container (testcontainers' PostgresContainer, image postgres:N-alpine).

    Same interface as LocalPostgres for dsn, url, connect, create_database, drop_database.
    Not supported yet: with_replica() / replica / promote() raise ConfigurationError, and
    there is no unix socket.
    """

    def _init_variant(self) -> None:
        self._container: Any = None

    @property
    def image(self) -> str:
        if self._image:
            return self._image
        return f"postgres:{_wanted_version(self._version) or 15}-alpine"

    def with_replica(self) -> Self:
        raise ConfigurationError(
            "DockerPostgres has no streaming replica yet: use the local backend for "
            "replica and failover scenarios"
        )

    def _start(self, deadline: Deadline) -> None:
        require_docker()
        container_class = _postgres_container_class()
        container = container_class(
            self.image,
            username=self._user,
            password=self._password,
            dbname=self._dbname,
            driver=None,
        )
        settings = {
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            **self._settings,
        }
        command = ["postgres"]
        for key, value in settings.items():
            command += ["-c", f"{key}={value}"]
        container.with_command(command)
        if self._requested_port is not None:
            container.with_bind_ports(5432, self._requested_port)
        if self._in_memory and hasattr(container, "with_tmpfs_mount"):
            container.with_tmpfs_mount("/var/lib/postgresql/data")
        self._container = container

        def remove() -> None:
            if getattr(container, "_container", None) is not None:
                container.stop()

        self.on_stop("remove the postgres container", remove)
        container.start()
        self._host = container.get_container_host_ip()
        self._port = int(container.get_exposed_port(5432))

    def logs(self) -> str:
        return container_logs(self._container)
