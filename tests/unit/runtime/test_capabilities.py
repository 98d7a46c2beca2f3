"""A container's capabilities: Docker's default set, adjusted by add/drop as containerd does."""

from __future__ import annotations

import struct

import pytest

from runtime.linux import capabilities as caps

LAST = 40


def test_default_set_is_dockers() -> None:
    assert caps.effective_set([], [], False, LAST) == [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE",
        "CAP_SETFCAP",
    ]
    assert caps.mask(caps.effective_set([], [], False, LAST)) == 0xA80425FB


def test_names_are_accepted_with_or_without_prefix_in_any_case() -> None:
    assert "CAP_NET_ADMIN" in caps.effective_set(["net_admin"], [], False, LAST)
    assert "CAP_CHOWN" not in caps.effective_set([], ["CAP_chown"], False, LAST)


def test_drop_all_then_add_some() -> None:
    assert caps.effective_set(["NET_BIND_SERVICE"], ["ALL"], False, LAST) == ["CAP_NET_BIND_SERVICE"]


def test_add_all_grants_every_known_capability_up_to_the_kernels_last() -> None:
    assert caps.effective_set(["ALL"], [], False, 37) == caps.NAMES[:38]


def test_privileged_ignores_drops() -> None:
    assert caps.effective_set([], ["ALL"], True, LAST) == caps.NAMES[: LAST + 1]


def test_unknown_names_are_rejected() -> None:
    with pytest.raises(caps.UnknownCapability):
        caps.effective_set(["CAP_FLY"], [], False, LAST)


def test_seccomp_default_denies_mount_unless_sys_admin_is_held() -> None:
    from runtime.linux import seccomp

    assert 165 in seccomp.denied_syscalls(caps.DEFAULT)
    assert 165 not in seccomp.denied_syscalls([*caps.DEFAULT, "CAP_SYS_ADMIN"])
    program = seccomp.build_filter(seccomp.denied_syscalls(caps.DEFAULT))
    assert len(program) % 8 == 0
    assert program[-8:] == struct.pack("HBBI", 0x06, 0, 0, 0x7FFF0000)  # ends in "allow"
