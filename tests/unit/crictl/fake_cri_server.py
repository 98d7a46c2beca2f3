"""A fake CRI runtime served on a unix socket, and `kyb cri` run against it in-process: what the
`kyb cri` unit tests share."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest

from cri import api_pb2_grpc
from kyb.main import main


@contextmanager
def serving(servicer: Any, directory: Path) -> Iterator[str]:
    """Serve ``servicer`` (a RuntimeService and, if it is one, an ImageService) on a socket in
    ``directory``; yields its endpoint."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    api_pb2_grpc.add_RuntimeServiceServicer_to_server(servicer, server)
    if isinstance(servicer, api_pb2_grpc.ImageServiceServicer):
        api_pb2_grpc.add_ImageServiceServicer_to_server(servicer, server)
    socket = directory / "fake.sock"
    server.add_insecure_port(f"unix://{socket}")
    server.start()
    try:
        yield f"unix://{socket}"
    finally:
        server.stop(0)


def run_cri(capsys: pytest.CaptureFixture[str], endpoint: str, *args: str) -> tuple[int, str, str]:
    """`kyb cri -r endpoint args...`: exit code, stdout, stderr."""
    try:
        code = main(["cri", "-r", endpoint, *args])
    except SystemExit as e:
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
