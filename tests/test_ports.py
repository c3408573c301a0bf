"""Port claims: atomic across processes, a taken port is a clear error, dead claims are reused."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness._run import owner_token
from harness.errors import PortError
from harness.ports import claim_port, port_is_free


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path / "home"))


def test_claimed_ports_are_free_and_distinct() -> None:
    claims = [claim_port() for _ in range(50)]
    try:
        assert len({c.port for c in claims}) == 50
        assert all(port_is_free(c.port) for c in claims)
    finally:
        for claim in claims:
            claim.release()


def test_a_claimed_port_cannot_be_claimed_again() -> None:
    claim = claim_port()
    try:
        with pytest.raises(PortError, match=f"port {claim.port} on 127.0.0.1 is already in use"):
            claim_port(claim.port)
    finally:
        claim.release()
    claim_port(claim.port).release()


def test_a_port_held_by_a_listener_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortError) as info:
            claim_port(port)
    assert info.value.port == port
    assert "choose another port" in str(info.value)


def test_claims_of_a_dead_process_are_taken_over(tmp_path: Path) -> None:
    code = "from harness.ports import claim_port; print(claim_port().port)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    port = int(out.stdout)
    lock = Path(tempfile.gettempdir()) / "harness-claims" / "ports" / f"127.0.0.1-{port}.lock"
    assert lock.is_file()  # the claimant exited without releasing
    claim = claim_port(port)
    try:
        assert claim.port == port
        assert lock.read_text() == owner_token(os.getpid())  # the claim is ours now
    finally:
        claim.release()
    assert not lock.exists()


def test_parallel_processes_never_share_a_port() -> None:
    code = (
        "import time\nfrom harness.ports import claim_port\n"
        "claims=[claim_port() for _ in range(40)]\nprint(' '.join(str(c.port) for c in claims))\n"
        "time.sleep(0.5)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    ports: list[int] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        ports.extend(int(p) for p in out.split())
    assert len(ports) == 160 == len(set(ports))


def test_slots_are_handed_out_lowest_first_and_never_twice() -> None:
    from harness.ports import claim_slot

    first = claim_slot("test-slots", 64)
    second = claim_slot("test-slots", 64)
    try:
        assert first.index != second.index
        assert {first.index, second.index} <= set(range(64))
    finally:
        first.release()
    third = claim_slot("test-slots", 64)
    try:
        assert third.index == first.index  # a released slot is free again
    finally:
        third.release()
        second.release()


def test_all_slots_taken_is_a_clear_error() -> None:
    from harness.ports import claim_slot

    only = claim_slot("test-one-slot", 1)
    try:
        with pytest.raises(PortError, match="all 1 test-one-slot slots are taken"):
            claim_slot("test-one-slot", 1)
    finally:
        only.release()
