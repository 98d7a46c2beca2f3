"""Putting a container's process under its AppArmor profile, as runc does: it writes
``exec <profile>`` to its own AppArmor ``exec`` attribute just before ``execve``, so the program
starts under the profile and nothing of the runtime's set-up ever runs confined. Which profile,
if any, was decided at CreateContainer (``runtime.linux.apparmor``)."""

from __future__ import annotations

import os


def exec_attribute(proc: str = "/proc") -> str:
    """The file a process writes to change its profile at its next exec: the AppArmor
    directory's (Linux 5.8 and later, shared with other security modules), else the old one."""
    modern = os.path.join(proc, "thread-self", "attr", "apparmor", "exec")
    return modern if os.path.exists(modern) else os.path.join(proc, "thread-self", "attr", "exec")


def confine_at_exec(profile: str, proc: str = "/proc") -> None:
    """Have the kernel put this process under ``profile`` when it next calls execve."""
    path = exec_attribute(proc)
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, f"exec {profile}".encode())
    finally:
        os.close(fd)
