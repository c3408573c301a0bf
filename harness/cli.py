"""The `harness` command: cleanup after crashes, doctor for the machine, version.

Later subcommands (up, down, status, drill) build on the same entry point.
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from harness import __version__

__all__ = ["main"]


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__)
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    cleanup = sub.add_parser(
        "cleanup", help="kill processes and remove directories of runs whose owner is dead"
    )
    cleanup.add_argument("--run", help="reap this run id even if its owner is alive")
    sub.add_parser("doctor", help="check what the local backend needs, with fixes")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    console = Console(highlight=False, soft_wrap=False)
    if platform.system() == "Windows":
        console.print(
            "harness: native Windows is not supported (it needs POSIX process groups and the "
            "127.0.0.0/8 loopback range); run it inside WSL2"
        )
        return 2
    args = build_parser().parse_args(argv)
    handlers = {"cleanup": _cmd_cleanup, "doctor": _cmd_doctor}
    return handlers[args.command](args, console)


if __name__ == "__main__":
    sys.exit(main())
