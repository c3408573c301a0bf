"""The `harness` command: `up` runs an environment until Ctrl-C, `down` and `status` find it
through .harness/env.json, `env` prints its exports; `cleanup` and `doctor` for the machine.

Exit codes: 0 done; 1 failed, or (status) no environment runs; 2 bad input (usage, topology,
manifests); `status` answers 3 when the environment runs but a component does not answer.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from harness import __version__

if TYPE_CHECKING:
    from harness.attach import EnvironmentRecord
    from harness.environment import Endpoints, Environment

__all__ = ["build_parser", "export_lines", "main"]

#: seconds `harness down` waits for `harness up` to stop before it kills it
DOWN_TIMEOUT = 120.0
#: how often `harness up` checks that its servers still run
WATCH_INTERVAL = 1.0

# Export lines by the tool they serve, in the order `harness up` prints them.
_EXPORT_GROUPS = (
    ("kubectl", ("KUBECONFIG",)),
    (
        "aws CLI and SDKs",
        (
            "AWS_ENDPOINT_URL",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ),
    ),
    ("psql", ("DATABASE_URL", "DATABASE_READ_URL")),
    ("the app and Redis", ("APP_URL", "APP_NAMESPACE", "REDIS_URL")),
)


def export_lines(endpoints: Endpoints) -> list[str]:
    """`export NAME=value ...` lines for a POSIX shell, one per tool, with comments."""
    exports = endpoints.exports()
    lines: list[str] = []
    seen: set[str] = set()
    for title, names in _EXPORT_GROUPS:
        present = [n for n in names if n in exports]
        if present:
            lines.append(f"# {title}")
            lines.append("export " + " ".join(f"{n}={shlex.quote(exports[n])}" for n in present))
            seen.update(present)
    rest = [n for n in exports if n not in seen]
    if rest:
        lines.append("export " + " ".join(f"{n}={shlex.quote(exports[n])}" for n in rest))
    return lines


def _say(console: Console, text: str) -> None:
    console.print(text)
    console.file.flush()


# -- up ---------------------------------------------------------------------------------


class _StopRequested(KeyboardInterrupt):
    """SIGINT or SIGTERM while the environment starts: unwinds the start, which cleans up."""


class _Signals:
    """SIGINT/SIGTERM: during start they interrupt it; once up they end the wait."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.received: str | None = None
        self._interrupting = True
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _Signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def running(self) -> None:
        self._interrupting = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.received is None
        if first:
            self.received = signal.Signals(signum).name
        self.stop.set()
        if first and self._interrupting:
            self._interrupting = False  # a second signal must not break the clean-up
            raise _StopRequested(self.received)


def _cmd_up(args: argparse.Namespace, console: Console) -> int:
    from harness._run import current_run
    from harness.attach import read_record, remove_record, write_record
    from harness.environment import Environment
    from harness.errors import ConfigurationError, HarnessError, NoEnvironmentError, TeardownError
    from harness.topology import DEFAULT_INFRASTRUCTURE, load_topology

    env_file = Path(args.env_file)
    try:
        existing = read_record(env_file)
    except NoEnvironmentError:
        existing = None
    if existing is not None and existing.alive():
        _say(
            console,
            f"[red]an environment already runs here:[/] {existing.endpoints.environment} "
            f"(pid {existing.pid}, {env_file}); stop it with `harness down` first",
        )
        return 1
    root = Path(args.infrastructure) if args.infrastructure else DEFAULT_INFRASTRUCTURE
    try:
        topology = load_topology(args.env, root)
        if args.time_scale is not None and not args.time_scale > 0:
            raise ConfigurationError(f"--time-scale must be > 0, not {args.time_scale}")
        began = time.monotonic()

        def progress(component: str, phase: str, seconds: float) -> None:
            colour = "yellow" if phase.startswith(("warning", "failed")) else "green"
            if phase.startswith("ready") or phase.startswith("serving"):
                colour = "bold green"
            _say(console, f"{seconds:6.2f}s  {component:<10} [{colour}]{phase}[/]")

        environment = Environment(
            topology,
            time_scale=args.time_scale if args.time_scale is not None else 1.0,
            config_file=Path(args.config) if args.config else None,
            progress=progress,
        )
    except ConfigurationError as exc:
        _say(console, f"[red]harness up: {exc}[/]")
        return 2
    _say(
        console,
        f"starting the {topology.name} environment from {root} "
        f"(time scale {environment.time_scale:g}, images from "
        f"{environment.config_file or 'no config file'})",
    )
    with _Signals() as signals:
        try:
            environment.start()
        except _StopRequested:
            _say(console, f"{signals.received}: start interrupted; everything started is stopped")
            return 0
        except ConfigurationError as exc:
            _say(console, f"[red]harness up: {exc}[/]")
            return 2
        except HarnessError as exc:
            _say(console, f"[red]harness up: the environment did not start:[/] {exc}")
            return 1
        signals.running()
        record = None
        died: str | None = None
        try:
            record = write_record(
                env_file,
                environment.endpoints,
                run_id=current_run().id,
                components=environment.processes(),
            )
            _print_up(console, environment, env_file, time.monotonic() - began)
            died = _watch(environment, signals.stop)
            if died:
                _say(console, f"[red]{died} stopped running; stopping the environment[/]")
        finally:
            signals.running()
            if record is not None:
                remove_record(env_file, pid=os.getpid())
            _say(console, f"{signals.received or 'exit'}: stopping the {topology.name} environment")
            stopped = time.monotonic()
            try:
                environment.stop()
            except TeardownError as exc:
                _say(console, f"[red]harness up: {exc}[/]")
                return 1
        _say(console, f"stopped in {time.monotonic() - stopped:.1f}s")
        return 1 if died else 0


def _watch(environment: Environment, stop: threading.Event) -> str | None:
    """Wait for a stop signal; the name of a component whose server died, if one does.
    Runs for as long as the user wants the environment: one check per WATCH_INTERVAL."""
    while not stop.wait(WATCH_INTERVAL):
        for component, pid in environment.processes().items():
            if pid is None:
                return component
    return None


def _print_up(console: Console, environment: Environment, env_file: Path, took: float) -> None:
    endpoints = environment.endpoints
    table = Table(title=f"{endpoints.environment} is up in {took:.1f}s", title_justify="left")
    table.add_column("component")
    table.add_column("endpoint", overflow="fold")
    for name, value in endpoints.redacted().items():
        table.add_row(name, value)
    for bucket, key in endpoints.buckets.items():
        table.add_row("bucket", f"{bucket} (SSE-KMS key {key})" if key else bucket)
    console.print(table)
    for warning in environment.topology.warnings:
        _say(console, f"[yellow]warning: {warning}[/]")
    _say(console, f"kubeconfig: {endpoints.kubeconfig}")
    _say(console, f"environment record: {env_file} (mode 0600: it holds the database password)")
    _say(console, '\nIn another shell (or: eval "$(harness env)"):')
    for line in export_lines(endpoints):
        print(line, flush=True)  # plain print: never wrapped, never styled
    _say(
        console,
        f'\nthen: kubectl get pods -n {endpoints.namespace} · aws s3 ls · psql "$DATABASE_URL"'
        f" · curl $APP_URL/health\nCtrl-C (or `harness down`) stops everything.",
    )


# -- down, status, env ------------------------------------------------------------------


def _cmd_down(args: argparse.Namespace, console: Console) -> int:
    import psutil

    from harness.attach import read_record, remove_record
    from harness.errors import NoEnvironmentError

    env_file = Path(args.env_file)
    try:
        record = read_record(env_file)
    except NoEnvironmentError as exc:
        _say(console, f"no environment is running ({exc.path} {exc.why}): nothing to stop")
        return 0
    if not record.alive():
        remove_record(env_file)
        _say(
            console,
            f"no environment is running: {env_file} was stale (pid {record.pid} is gone); "
            "removed it. Leftovers of a crashed run: `harness cleanup`",
        )
        return 0
    name = record.endpoints.environment
    _say(console, f"stopping {name} (harness up, pid {record.pid})")
    began = time.monotonic()
    try:
        process = psutil.Process(record.pid)
        process.send_signal(signal.SIGTERM)
        if not _gone(record, args.timeout):
            _say(
                console,
                f"[yellow]pid {record.pid} still runs after {args.timeout:g}s: killing it[/]",
            )
            process.kill()  # its reaper then removes every process of the run
            _gone(record, 10.0)
    except psutil.NoSuchProcess:
        pass
    remove_record(env_file, pid=record.pid)
    _say(console, f"stopped {name} in {time.monotonic() - began:.1f}s")
    return 0


def _gone(record: EnvironmentRecord, timeout: float) -> bool:
    """Wait until the `harness up` of `record` has exited (a zombie counts: its parent, not
    us, reaps it); False when it still runs after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while record.alive():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _cmd_status(args: argparse.Namespace, console: Console) -> int:
    from harness.attach import AttachedEnvironment
    from harness.errors import NoEnvironmentError

    try:
        attached = AttachedEnvironment.from_file(Path(args.env_file))
    except NoEnvironmentError as exc:
        _say(console, f"no environment is running ({exc.path} {exc.why})")
        return 1
    record = attached.record
    assert record is not None
    uptime = time.time() - record.started_at
    table = Table(
        title=f"{attached.name}: harness up pid {record.pid}, run {record.run_id}, "
        f"up {uptime:.0f}s",
        title_justify="left",
    )
    for column in ("component", "endpoint", "answers", "detail"):
        table.add_column(column, overflow="fold")
    results = attached.health()
    for result in results:
        answer = "[green]yes[/]" if result.answers else "[red]no[/]"
        table.add_row(result.component, result.endpoint, answer, result.detail)
    console.print(table)
    _say(console, f"kubeconfig: {attached.endpoints.kubeconfig}")
    silent = [r.component for r in results if not r.answers]
    if silent:
        _say(console, f"[red]not answering: {', '.join(silent)}[/]")
        return 3
    return 0


def _cmd_env(args: argparse.Namespace, console: Console) -> int:
    from harness.attach import running_record
    from harness.errors import NoEnvironmentError

    try:
        record = running_record(Path(args.env_file))
    except NoEnvironmentError as exc:
        print(f"# harness: {exc}", file=sys.stderr)
        return 1
    for line in export_lines(record.endpoints):
        print(line)
    return 0


# -- cleanup, doctor --------------------------------------------------------------------


def _cmd_cleanup(args: argparse.Namespace, console: Console) -> int:
    from harness._reaper import reap_run, reap_stale
    from harness._run import runs_dir

    report = reap_run(args.run, runs_dir() / args.run) if args.run else reap_stale()
    console.print(str(report))
    return 0


def _cmd_doctor(args: argparse.Namespace, console: Console) -> int:
    from harness.doctor import Status, run_checks

    checks = run_checks()
    table = Table(title="harness doctor: the local backend")
    for column in ("check", "status", "detail", "fix"):
        table.add_column(column, overflow="fold")
    colours = {Status.OK: "green", Status.WARN: "yellow", Status.MISSING: "red"}
    for check in checks:
        table.add_row(
            check.name,
            f"[{colours[check.status]}]{check.status.value}[/]",
            check.detail,
            check.fix,
        )
    console.print(table)
    failing = [c for c in checks if c.required and c.status is Status.MISSING]
    if failing:
        console.print(
            f"{len(failing)} required check(s) missing: {', '.join(c.name for c in failing)}"
        )
        return 1
    console.print("everything the local backend needs is here")
    return 0


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from harness.attach import DEFAULT_ENV_FILE

    parser = argparse.ArgumentParser(
        prog="harness", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_env_file(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
        command.add_argument(
            "--env-file",
            default=str(DEFAULT_ENV_FILE),
            metavar="PATH",
            help=f"the environment record (default: {DEFAULT_ENV_FILE} here)",
        )
        return command

    up = with_env_file(
        sub.add_parser(
            "up", help="start an environment from infrastructure/ and run it until Ctrl-C"
        )
    )
    up.add_argument(
        "--env", default="staging", help="the environment: staging (default), production"
    )
    up.add_argument(
        "--time-scale",
        type=_positive,
        default=None,
        metavar="F",
        help="compress probe periods, deadlines and back-off by F (default 1.0; 0.1 is 10x faster)",
    )
    up.add_argument(
        "--infrastructure",
        metavar="DIR",
        help="the folder with terraform/<env> and k8s/<env> (default: the repository's)",
    )
    up.add_argument(
        "--config",
        metavar="FILE",
        help="the TOML with [tool.harness.images] (default: the pyproject.toml beside it)",
    )
    down = with_env_file(sub.add_parser("down", help="stop the environment `harness up` runs"))
    down.add_argument(
        "--timeout", type=_positive, default=DOWN_TIMEOUT, help="seconds to wait before killing"
    )
    with_env_file(sub.add_parser("status", help="what runs, and whether it answers"))
    with_env_file(
        sub.add_parser("env", help='export lines of the running environment: eval "$(harness env)"')
    )
    cleanup = sub.add_parser(
        "cleanup", help="kill processes and remove directories of runs whose owner is dead"
    )
    cleanup.add_argument("--run", help="reap this run id even if its owner is alive")
    sub.add_parser("doctor", help="check what the local backend needs, with fixes")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    console = Console(highlight=False, soft_wrap=True)
    if platform.system() == "Windows":
        console.print(
            "harness: native Windows is not supported (it needs POSIX process groups and the "
            "127.0.0.0/8 loopback range); run it inside WSL2"
        )
        return 2
    args = build_parser().parse_args(argv)
    handlers = {
        "up": _cmd_up,
        "down": _cmd_down,
        "status": _cmd_status,
        "env": _cmd_env,
        "cleanup": _cmd_cleanup,
        "doctor": _cmd_doctor,
    }
    return handlers[args.command](args, console)


if __name__ == "__main__":
    sys.exit(main())
