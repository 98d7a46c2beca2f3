"""`kyb image` as a person uses it: build the offline busybox, import, list, pull, remove."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.images.local_registry import LocalRegistry

KYB = [sys.executable, "-m", "kyb"]


def kyb(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*KYB, *args], capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    reg = LocalRegistry(tmp_path / "registry").start()
    try:
        yield reg
    finally:
        reg.stop()


def test_build_import_list_and_remove_busybox(tmp_path: Path) -> None:
    archive = tmp_path / "busybox.tar"
    out = kyb("image", "build-busybox", "-o", str(archive), "--tag", "example.com/tools/busybox:1")
    assert out.stdout.startswith("example.com/tools/busybox:1 sha256:")
    root = tmp_path / "runtime"
    assert "imported example.com/tools/busybox:1" in kyb("image", "import", "--root", str(root), str(archive)).stdout
    listing = kyb("image", "ls", "--root", str(root)).stdout.splitlines()
    assert listing[0].split() == ["IMAGE", "TAG", "IMAGE", "ID", "SIZE"]
    assert listing[1].split()[:2] == ["example.com/tools/busybox", "1"]
    assert "deleted sha256:" in kyb("image", "rm", "--root", str(root), "example.com/tools/busybox:1").stdout
    assert len(kyb("image", "ls", "--root", str(root)).stdout.splitlines()) == 1


def test_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    missing = kyb("image", "rm", "--root", str(tmp_path), "nginx", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "kyb image: image 'nginx' not found (pull or import it first)"
    (tmp_path / "junk").write_text("junk")
    junk = kyb("image", "import", "--root", str(tmp_path), str(tmp_path / "junk"), check=False)
    assert junk.returncode == 1 and "not a tar archive" in junk.stderr and len(junk.stderr.splitlines()) == 1


def test_pull_through_a_mirror_shows_progress_on_a_terminal(
    tmp_path: Path, registry: LocalRegistry, busybox_archive: Path
) -> None:
    registry.push(busybox_archive, "library/busybox:latest")
    config = tmp_path / "registries.toml"
    config.write_text(f'[registries."docker.io"]\nmirrors = ["{registry.url}"]\nskip_upstream = true\n')
    root = tmp_path / "runtime"
    pid, fd = pty.fork()
    if pid == 0:  # the child: kyb with a terminal on stdin/stdout/stderr
        os.execv(sys.executable, [*KYB, "image", "pull", "--root", str(root), "--registry-config", str(config), "busybox"])
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "pulling docker.io/library/busybox:latest: " in text
    assert "1/1 layers" in text
    assert "pulled docker.io/library/busybox:latest (sha256:" in text
    quiet = kyb("image", "pull", "--root", str(root), "--registry-config", str(config), "busybox")
    assert quiet.stderr == "" and quiet.stdout.startswith("sha256:")
