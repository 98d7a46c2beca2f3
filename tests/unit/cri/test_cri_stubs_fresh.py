"""The checked-in stubs are exactly what cri/api.proto compiles to.

Generation is deterministic for a given grpcio-tools version, so any difference means someone
edited the proto (or a stub) without running ``python -m cri.generate``.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from cri import generate


def test_proto_compiles(tmp_path: Path) -> None:
    written = generate.generate(tmp_path)
    assert sorted(path.name for path in written) == sorted(generate.GENERATED)
    assert all(path.stat().st_size > 0 for path in written)


def test_invalid_proto_fails_with_generation_error(tmp_path: Path) -> None:
    broken = tmp_path / "cri" / "api.proto"
    broken.parent.mkdir()
    broken.write_text('syntax = "proto3";\npackage runtime.v1;\nmessage Broken { strin name = 1; }\n')
    with pytest.raises(generate.GenerationError):
        generate.generate(tmp_path / "out", proto=broken)


@pytest.mark.parametrize("name", generate.GENERATED)
def test_checked_in_stub_matches_a_fresh_generation(tmp_path: Path, name: str) -> None:
    generate.generate(tmp_path)
    fresh = (tmp_path / name).read_bytes()
    checked_in = (generate.PACKAGE_DIR / name).read_bytes()
    tools = importlib.metadata.version("grpcio-tools")
    assert fresh == checked_in, (
        f"cri/{name} is stale: run `python -m cri.generate` (compared with grpcio-tools {tools})"
    )


def test_grpc_stub_imports_its_messages_package_relative() -> None:
    text = (generate.PACKAGE_DIR / "api_pb2_grpc.py").read_text()
    assert "from . import api_pb2 as cri_dot_api__pb2" in text
    assert "\nimport api_pb2" not in text
