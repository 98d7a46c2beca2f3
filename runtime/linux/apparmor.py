"""AppArmor for containers: whether the host enforces it, which profiles it has loaded, the
runtime's default profile, and confining a container's process at its exec.

A container is confined the way runc confines it, by its first process just before ``execve``
(``runtime.linux.apparmor_exec``, kept apart so the fork server need not import this module's
subprocess and logging). Which profile a container gets
is decided at CreateContainer (``AppArmorHost.profile_for``) with containerd's rules, so a
request this node cannot honour fails there, with a message, and is never run unconfined
silently.

The default profile (``DEFAULT_PROFILE``) is what a container gets when it asks for the
runtime's default, or asks for nothing on a host that enforces AppArmor: everything a program
in a container normally does, but no mounts and no writes to the kernel's knobs under /proc and
/sys that reach beyond the container, and signals and ptrace only among processes under the
same profile. The daemon loads it with ``apparmor_parser`` when it starts.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from enum import Enum

log = logging.getLogger(__name__)

ENABLED_PARAMETER = "/sys/module/apparmor/parameters/enabled"
SECURITYFS = "/sys/kernel/security/apparmor"
DEFAULT_PROFILE = "kyb-default"
LOCALHOST_PREFIX = "localhost/"
PARSER = "apparmor_parser"
PARSER_TIMEOUT = 60.0  # seconds; compiling a profile takes well under one


class AppArmorError(Exception):
    """An AppArmor request this node cannot honour; the message says what and why."""


class Request(Enum):
    """What a container's security context asks for, whichever CRI field said it."""

    UNSET = "unset"
    UNCONFINED = "unconfined"
    RUNTIME_DEFAULT = "runtime/default"
    LOCALHOST = "localhost"


def host_enabled(parameter: str = ENABLED_PARAMETER, securityfs: str = SECURITYFS) -> bool:
    """Whether the kernel enforces AppArmor: the module says so and its filesystem is there."""
    try:
        with open(parameter) as f:
            enabled = f.read(1) == "Y"
    except OSError:
        return False
    return enabled and os.path.isdir(securityfs)


def loaded_profiles(securityfs: str = SECURITYFS) -> set[str]:
    """The names of the profiles the kernel has loaded (lines ``name (mode)``)."""
    names = set()
    with open(os.path.join(securityfs, "profiles")) as f:
        for line in f:
            name, sep, _mode = line.rstrip("\n").rpartition(" (")
            if sep:
                names.add(name)
    return names


def default_profile_text(name: str = DEFAULT_PROFILE) -> str:
    """The runtime's default profile, as apparmor_parser reads it."""
    return f"""#include <tunables/global>

profile {name} flags=(attach_disconnected,mediate_deleted) {{
  #include <abstractions/base>

  # A container's own work: its files, the network, the capabilities it was given.
  network,
  capability,
  file,
  umount,

  # Signals and tracing only among processes confined by this same profile.
  signal (receive) peer=unconfined,
  signal (send,receive) peer={name},
  ptrace (trace,read,tracedby,readby) peer={name},

  # No mounts: what a container sees is set up before it runs.
  deny mount,

  # Read-only kernel knobs: files directly under /proc, the system-wide directories there,
  # and /proc/sys but for the IPC limits a container may set for its own namespace.
  deny @{{PROC}}/* w,
  deny @{{PROC}}/{{acpi,asound,bus,driver,dynamic_debug,fs,irq,pressure,scsi,sysvipc,tty}}/** w,
  deny @{{PROC}}/sys/[^k]** w,
  deny @{{PROC}}/sys/kernel/{{?,??,[^s][^h][^m]**}} w,
  deny @{{PROC}}/sysrq-trigger rwklx,
  deny @{{PROC}}/kcore rwklx,

  # /sys is read-only but for the container's own cgroup; firmware and LSM state stay hidden.
  deny /sys/[^f]*/** wklx,
  deny /sys/f[^s]*/** wklx,
  deny /sys/fs/[^c]*/** wklx,
  deny /sys/fs/c[^g]*/** wklx,
  deny /sys/fs/cg[^r]*/** wklx,
  deny /sys/firmware/** rwklx,
  deny /sys/kernel/security/** rwklx,
}}
"""


def load(text: str, parser: str = PARSER, into_kernel: bool = True) -> str:
    """Compile ``text`` and (with ``into_kernel``) load or replace its profiles in the kernel;
    without it the profile is only compiled, the check that it is valid. Returns what the parser
    said on stderr when it succeeded (warnings: a missing ``abi`` rule, a kernel with no cache):
    a load that reports success without loading is caught by looking at the loaded profiles."""
    args = [parser, "--skip-cache"] + (["--replace"] if into_kernel else ["--skip-kernel-load"])
    try:
        result = subprocess.run(args, input=text.encode(), capture_output=True, timeout=PARSER_TIMEOUT)
    except FileNotFoundError as e:
        raise AppArmorError(f"{parser} is not installed (Debian and Ubuntu: the apparmor package)") from e
    except subprocess.TimeoutExpired as e:
        raise AppArmorError(f"{parser} did not finish within {PARSER_TIMEOUT:.0f}s") from e
    said = result.stderr.decode(errors="replace").strip()
    if result.returncode != 0:
        raise AppArmorError(f"{parser} failed ({result.returncode}): {said or 'no message'}")
    return said


def localhost_name(reference: str) -> str:
    """The profile's name in a Localhost reference: the kubelet passes the bare name, older
    clients and critest prefix it with ``localhost/``."""
    return reference.removeprefix(LOCALHOST_PREFIX)


@dataclass
class AppArmorHost:
    """What this node can do with AppArmor, found once when the daemon starts."""

    enabled: bool
    default_profile: str | None = None  # loaded and ready, or None
    default_problem: str = ""  # why there is no default profile, when AppArmor is enabled
    securityfs: str = SECURITYFS

    @classmethod
    def detect(cls, parameter: str = ENABLED_PARAMETER, securityfs: str = SECURITYFS,
               parser: str = PARSER) -> AppArmorHost:
        """Look at the host; where AppArmor is enforced, load (or replace, so an upgrade takes
        effect) the default profile."""
        if not host_enabled(parameter, securityfs):
            return cls(enabled=False, securityfs=securityfs)
        try:
            said = load(default_profile_text(), parser)
            if DEFAULT_PROFILE not in loaded_profiles(securityfs):
                raise AppArmorError(f"{parser} did not load {DEFAULT_PROFILE}: {said or 'no message'}")
        except (AppArmorError, OSError) as e:
            log.warning("no default AppArmor profile: containers that do not name one run unconfined",
                        extra={"error": str(e)})
            return cls(enabled=True, default_problem=str(e), securityfs=securityfs)
        return cls(enabled=True, default_profile=DEFAULT_PROFILE, securityfs=securityfs)

    def profile_for(self, request: Request, localhost_ref: str, privileged: bool) -> str | None:
        """The profile a container runs under, or None for unconfined, as containerd decides:
        on a host without AppArmor any request but unconfined fails; with it, asking nothing
        means the default (none for a privileged container), a named profile must be loaded."""
        if not self.enabled:
            if request in (Request.UNSET, Request.UNCONFINED):
                return None
            wanted = "the runtime's default profile" if request == Request.RUNTIME_DEFAULT else f"profile {localhost_name(localhost_ref)!r}"
            raise AppArmorError(f"AppArmor {wanted} was asked for, but AppArmor is not enabled on this node")
        if request == Request.UNCONFINED:
            return None
        if request in (Request.UNSET, Request.RUNTIME_DEFAULT):
            if privileged:
                return None
            if self.default_profile is None and request == Request.RUNTIME_DEFAULT:
                raise AppArmorError(f"the runtime's default AppArmor profile is not available: {self.default_problem}")
            return self.default_profile
        name = localhost_name(localhost_ref)
        try:
            loaded = loaded_profiles(self.securityfs)
        except OSError as e:
            raise AppArmorError(f"cannot list the loaded AppArmor profiles: {e.strerror or e}") from e
        if name not in loaded:
            raise AppArmorError(f"AppArmor profile {name!r} is not loaded on this node")
        return name
