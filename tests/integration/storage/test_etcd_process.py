"""Starting a test etcd (apiserver.storage.etcd_process): the etcd it reports up is its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from apiserver.storage import etcd_process
from apiserver.storage.etcd_process import EtcdProcess


def test_a_port_lost_to_another_etcd_is_not_taken_for_its_own(
    etcd_server: EtcdProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other etcd's health endpoint answers on the lost port while ours exits: ours must retry.
    real_free_port = etcd_process.free_port
    ports: Iterator[int] = iter([etcd_server.client_port])
    monkeypatch.setattr(etcd_process, "free_port", lambda: next(ports, None) or real_free_port())
    server = EtcdProcess(tmp_path / "etcd")
    server.start()
    try:
        assert server.client_port != etcd_server.client_port
        assert server.proc is not None and server.proc.poll() is None
        assert server._healthy()
    finally:
        server.stop()
