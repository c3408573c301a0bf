"""harness.cluster.kubeconfig: the file the simulator writes for its clients."""

from __future__ import annotations

import stat
from pathlib import Path

from harness.cluster.kubeconfig import KubeconfigEntry, read_kubeconfig, write_kubeconfig


def test_kubeconfig_is_private_and_round_trips(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kc", KubeconfigEntry("http://127.0.0.1:1", "s3cret"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entry = read_kubeconfig(path)
    assert (entry.server, entry.token, entry.context) == (
        "http://127.0.0.1:1",
        "s3cret",
        "harness-simulator",
    )
    assert "s3cret" not in repr(entry)
