"""Regenerate the checked-in CRI stubs from ``cri/api.proto``.

Run as ``python -m cri.generate``. The generated modules are committed so that installing the
package needs no build step; ``tests/unit/cri`` regenerates them into a temporary directory and
fails when the committed copies differ, so a proto edit without a regeneration cannot land.

protoc runs with the project root as its include path, so the descriptor is registered under
the name ``cri/api.proto`` (not a bare ``api.proto`` that another library could also claim in
the process-wide descriptor pool). protoc then writes an absolute ``from cri import api_pb2``
into the gRPC module; it is rewritten to a package-relative import so the stubs do not depend
on how the package is put on ``sys.path``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROTO = PACKAGE_DIR / "api.proto"
GENERATED = ("api_pb2.py", "api_pb2_grpc.py", "api_pb2.pyi")

_ABSOLUTE_IMPORT = "from cri import api_pb2 as cri_dot_api__pb2\n"
_RELATIVE_IMPORT = "from . import api_pb2 as cri_dot_api__pb2\n"


class GenerationError(RuntimeError):
    """protoc failed, or its output did not have the shape this script relies on."""


def _run_protoc(proto: Path, out_dir: Path) -> None:
    # Imported here so that importing cri (at runtime) never needs grpcio-tools.
    from grpc_tools import protoc

    include_root = proto.parent.parent
    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{include_root}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        str(proto.relative_to(include_root)),
    ]
    code = protoc.main(args)
    if code != 0:
        raise GenerationError(f"protoc exited with {code} compiling {proto}")


def _make_grpc_import_relative(grpc_module: Path) -> None:
    text = grpc_module.read_text()
    if text.count(_ABSOLUTE_IMPORT) != 1:
        raise GenerationError(
            f"{grpc_module.name}: expected exactly one line {_ABSOLUTE_IMPORT.strip()!r} to rewrite"
        )
    grpc_module.write_text(text.replace(_ABSOLUTE_IMPORT, _RELATIVE_IMPORT))


def generate(out_dir: Path, proto: Path = PROTO) -> list[Path]:
    """Compile ``proto`` and write the three stub files into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kyb-cri-gen-") as scratch:
        scratch_dir = Path(scratch)
        _run_protoc(proto, scratch_dir)
        produced = scratch_dir / proto.parent.name
        _make_grpc_import_relative(produced / "api_pb2_grpc.py")
        written = []
        for name in GENERATED:
            target = out_dir / name
            shutil.copyfile(produced / name, target)
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cri.generate", description="Regenerate the CRI Python stubs from cri/api.proto."
    )
    parser.add_argument(
        "--out", type=Path, default=PACKAGE_DIR, help="directory to write the stubs to (default: the cri package)"
    )
    args = parser.parse_args(argv)
    try:
        paths = generate(args.out)
    except GenerationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
