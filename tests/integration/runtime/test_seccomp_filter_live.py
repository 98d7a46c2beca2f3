"""Compiled seccomp profiles loaded into a real kernel: each test forks a child, loads the filter
there (with no_new_privs, as an unprivileged container process would) and reports which calls
failed with which errno, or how the child died."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runtime.linux import capabilities, seccomp, seccomp_bpf, seccomp_profile
from runtime.linux.syscalls import PR_SET_NO_NEW_PRIVS, LibcKernel

pytestmark = pytest.mark.root

CONTAINERS_COMMON_PROFILE = Path("/usr/share/containers/seccomp.json")


def compile_json(profile: dict, caps: list[str] | None = None) -> tuple[bytes, int]:
    parsed = seccomp_profile.parse(json.dumps(profile))
    assert parsed is not None
    narrowed = seccomp_profile.for_node(parsed, seccomp_profile.this_node(caps or []))
    return seccomp_bpf.compile_profile(narrowed), narrowed.flag_bits


def outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except OSError as e:
        return errno.errorcode.get(e.errno or 0, str(e.errno))
    return "ok"


def under_filter(program: bytes, flags: int, checks: dict[str, Callable[[], object]]) -> dict | int:
    """Run ``checks`` in a child under the filter: their outcomes, or the signal that killed it."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            kernel = LibcKernel()
            kernel.prctl(PR_SET_NO_NEW_PRIVS, 1)
            seccomp.install(kernel, program, flags)
            results = {name: outcome(check) for name, check in checks.items()}
            os.write(write_end, json.dumps(results).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return os.WTERMSIG(status)
    return json.loads(data)


@pytest.fixture
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="kybt-seccomp-") as directory:
        yield Path(directory)


def test_errno_rules_refuse_exactly_the_listed_calls(scratch: Path) -> None:
    program, flags = compile_json({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES},
        {"names": ["chmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO"}]})
    (scratch / "file").write_text("x")
    results = under_filter(program, flags, {
        "mkdir": lambda: os.mkdir(scratch / "d"),
        "chmod": lambda: os.chmod(scratch / "file", 0o600),
        "listdir": lambda: os.listdir(scratch),
        "rename": lambda: os.rename(scratch / "file", scratch / "moved"),
    })
    assert results == {"mkdir": "EACCES", "chmod": "EPERM", "listdir": "ok", "rename": "ok"}


def test_argument_rules_compare_the_full_64_bit_value(scratch: Path) -> None:
    program, flags = compile_json({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EDOM,
         "args": [{"index": 1, "value": 1 << 32, "op": "SCMP_CMP_GE"}]}]})
    fd = os.open(scratch, os.O_RDONLY)
    try:
        results = under_filter(program, flags, {
            "small": lambda: os.lseek(fd, 0xFFFFFFFF, os.SEEK_SET),
            "large": lambda: os.lseek(fd, 1 << 32, os.SEEK_SET),
            "larger": lambda: os.lseek(fd, (1 << 40) + 3, os.SEEK_SET),
        })
    finally:
        os.close(fd)
    assert results == {"small": "ok", "large": "EDOM", "larger": "EDOM"}


def test_masked_eq_refuses_setting_the_setuid_bit(scratch: Path) -> None:
    program, flags = compile_json({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["fchmod"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 1, "value": 0o4000, "valueTwo": 0o4000, "op": "SCMP_CMP_MASKED_EQ"}]}]})
    path = scratch / "program"
    path.write_text("")
    fd = os.open(path, os.O_RDONLY)
    try:
        results = under_filter(program, flags, {"plain": lambda: os.fchmod(fd, 0o755),
                                                "setuid": lambda: os.fchmod(fd, 0o4755)})
    finally:
        os.close(fd)
    assert results == {"plain": "ok", "setuid": "EPERM"}


def test_kill_process_ends_the_process_with_sigsys() -> None:
    program, flags = compile_json({"defaultAction": "SCMP_ACT_ALLOW",
                                   "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]})
    assert under_filter(program, flags, {"getppid": os.getppid}) == signal.SIGSYS


def test_filter_flags_load_through_the_seccomp_syscall(scratch: Path) -> None:
    program, flags = compile_json({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                                   "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})
    assert flags == 2
    assert under_filter(program, flags, {"mkdir": lambda: os.mkdir(scratch / "d")}) == {"mkdir": "EPERM"}


@pytest.mark.skipif(not CONTAINERS_COMMON_PROFILE.exists(), reason="containers-common's profile is not installed")
def test_the_containers_common_default_profile_loads_and_gates_on_capabilities(scratch: Path) -> None:
    profile = seccomp_profile.parse(CONTAINERS_COMMON_PROFILE.read_text())
    assert profile is not None
    libc = ctypes.CDLL(None, use_errno=True)

    def setns_bad_fd() -> None:  # the kernel answers EBADF when the filter lets it through
        if libc.setns(-1, 0) != 0:
            raise OSError(ctypes.get_errno(), "setns")

    checks: dict[str, Callable[[], object]] = {
        "setns": setns_bad_fd, "listdir": lambda: os.listdir(scratch), "uname": os.uname,
    }
    for caps, expected in ((capabilities.DEFAULT, "EPERM"), ([*capabilities.DEFAULT, "CAP_SYS_ADMIN"], "EBADF")):
        narrowed = seccomp_profile.for_node(profile, seccomp_profile.this_node(caps))
        results = under_filter(seccomp_bpf.compile_profile(narrowed), narrowed.flag_bits, checks)
        assert results == {"setns": expected, "listdir": "ok", "uname": "ok"}, caps
