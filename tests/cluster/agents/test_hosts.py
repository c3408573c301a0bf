"""Cluster names in hosts files: what each namespace's file says, and that updates rewrite the
same inode (a bind mount over /etc/hosts keeps seeing them)."""

from __future__ import annotations

from pathlib import Path

from harness.cluster.agents.hosts import HostsFiles, ServiceAddress, render_hosts, write_in_place

WEB = ServiceAddress("shop", "web", "127.96.0.5")
DB = ServiceAddress("data", "db", "127.96.0.9")


def test_every_service_by_qualified_names_and_own_namespace_by_short_name() -> None:
    text = render_hosts("shop", [DB, WEB])
    lines = text.splitlines()
    assert lines[1] == "127.0.0.1\tlocalhost"
    assert "127.96.0.5\tweb.shop.svc.cluster.local web.shop.svc web.shop web" in lines
    assert "127.96.0.9\tdb.data.svc.cluster.local db.data.svc db.data" in lines
    assert lines.index("127.96.0.9\tdb.data.svc.cluster.local db.data.svc db.data") < lines.index(
        "127.96.0.5\tweb.shop.svc.cluster.local web.shop.svc web.shop web"
    )
    assert "db.data db\n" not in text


def test_write_in_place_keeps_the_inode_and_cuts_old_content(tmp_path: Path) -> None:
    path = tmp_path / "default"
    assert write_in_place(path, "a long first version\n" * 10)
    inode = path.stat().st_ino
    assert write_in_place(path, "short\n")
    assert path.read_text() == "short\n"
    assert path.stat().st_ino == inode
    assert not write_in_place(path, "short\n")  # unchanged: not written


def test_a_reader_holding_the_file_sees_updates(tmp_path: Path) -> None:
    path = tmp_path / "default"
    write_in_place(path, "one\n")
    with path.open() as held:  # what a bind mount amounts to: the same open inode
        write_in_place(path, "two\n")
        held.seek(0)
        assert held.read() == "two\n"


def test_sync_writes_every_namespace_and_default_and_removes_gone_ones(tmp_path: Path) -> None:
    files = HostsFiles(tmp_path / "hosts")
    written = files.sync(["shop", "data"], [WEB, DB])
    assert sorted(p.name for p in written) == ["data", "default", "shop"]
    inodes = {p.name: p.stat().st_ino for p in written}
    assert " web\n" in files.path("shop").read_text()
    assert " web\n" not in files.path("default").read_text()

    assert files.sync(["shop", "data"], [WEB, DB]) == []  # nothing changed, nothing written
    moved = ServiceAddress("shop", "web", "127.96.0.77")
    assert len(files.sync(["shop", "data"], [moved, DB])) == 3
    assert {p.name: p.stat().st_ino for p in written} == inodes
    assert "127.96.0.77\tweb.shop" in files.path("data").read_text()

    files.sync(["shop"], [moved])
    assert not files.path("data").exists()
    assert files.path("default").exists()
