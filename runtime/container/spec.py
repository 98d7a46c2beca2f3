"""CRI ContainerConfig + sandbox + image -> the plain-data spec the shim executes.

The spec (saved in the container's record, under ``spec``) is to us what the OCI
``config.json`` is to runc: everything the shim needs, decided here, in the daemon, where it is
easy to validate and unit test. The shim only carries it out. Choices follow containerd's CRI
plugin: command is ``command``+``args`` or the image's Entrypoint+Cmd; env is a default PATH and
HOSTNAME (the pod's hostname, which programs read from the environment), then the image's,
then the config's; the user comes from the security context or else the image
config; capabilities start from Docker's default set; kubelet-provided /etc/hosts or /dev/shm
mounts win over the sandbox's own.
"""

from __future__ import annotations

import os
import socket
import stat

from cri import api_pb2
from runtime.container import image_volumes, userns_options
from runtime.errors import FailedPrecondition, InvalidArgument
from runtime.linux import apparmor, capabilities, idmap, seccomp, seccomp_profile
from runtime.shim import proc_mounts
from runtime.shim.process import DEFAULT_PATH

DEFAULT_MASKED_PATHS = [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
]
DEFAULT_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
PROPAGATION = {
    api_pb2.PROPAGATION_PRIVATE: "private",
    api_pb2.PROPAGATION_HOST_TO_CONTAINER: "rslave",
    api_pb2.PROPAGATION_BIDIRECTIONAL: "rshared",
}
NAMESPACE_MODES = {api_pb2.POD, api_pb2.CONTAINER, api_pb2.NODE, api_pb2.TARGET}


def command_of(config: api_pb2.ContainerConfig, image_config: dict) -> list[str]:
    if config.command:
        args = list(config.command) + list(config.args)
    else:
        entrypoint = list(image_config.get("Entrypoint") or [])
        args = entrypoint + (list(config.args) if config.args else list(image_config.get("Cmd") or []))
    if not args:
        raise InvalidArgument("no command specified: the container config sets no command/args and the image has no Entrypoint/Cmd")
    return args


def environment_of(config: api_pb2.ContainerConfig, image_config: dict, hostname: str) -> list[str]:
    merged: dict[str, str] = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname}
    for pair in image_config.get("Env") or []:
        key, _, value = pair.partition("=")
        merged[key] = value
    for kv in config.envs:
        merged[kv.key] = kv.value
    return [f"{k}={v}" for k, v in merged.items()]


def user_of(security: api_pb2.LinuxContainerSecurityContext, image_config: dict) -> dict:
    """What the shim resolves against the container's /etc/passwd and /etc/group."""
    user: dict = {}
    if security.HasField("run_as_user"):
        user["uid"] = security.run_as_user.value
    elif security.run_as_username:
        user["name"] = security.run_as_username
    elif image_config.get("User"):
        name, _, group = image_config["User"].partition(":")
        if name:
            user["name"] = name
        if group:
            user["group"] = group
    if security.HasField("run_as_group"):
        if "uid" not in user and not security.run_as_username:
            raise InvalidArgument("run_as_group is set without run_as_user or run_as_username")
        user["gid"] = security.run_as_group.value
        user.pop("group", None)
    if security.supplemental_groups:
        user["supplemental"] = list(security.supplemental_groups)
    return user


def mounts_of(config: api_pb2.ContainerConfig) -> list[dict]:
    """Volume mounts in config order. An image volume (``image`` set) is checked here as
    containerd checks it (no host_path, read-only, a relative sub path) and carries its image
    reference; ``image_volumes.resolve_mounts`` adds the image's layers at create."""
    mounts = []
    for m in config.mounts:
        if not m.container_path.startswith("/"):
            raise InvalidArgument(f"mount container_path {m.container_path!r} must be an absolute path")
        # Two leading slashes survive normpath (POSIX leaves their meaning open); here they are one.
        destination = "/" + os.path.normpath(m.container_path).lstrip("/")
        try:
            proc_mounts.check_destination(destination, None if m.image.image else m.host_path)
        except proc_mounts.ProcMountRefused as e:
            raise InvalidArgument(str(e)) from e
        propagation = PROPAGATION.get(m.propagation, "private")
        if m.recursive_read_only:
            # As the CRI defines it (and containerd checks it): only for a read-only mount whose
            # propagation is private, so the read-only flags cannot reach the host's mounts.
            if not m.readonly:
                raise InvalidArgument(f"mount {m.container_path!r}: recursive_read_only needs readonly: true")
            if propagation != "private":
                raise InvalidArgument(f"mount {m.container_path!r}: recursive_read_only needs private propagation "
                                      f"(got {api_pb2.MountPropagation.Name(m.propagation)})")
            if not idmap.recursive_readonly_supported():
                raise FailedPrecondition(f"mount {m.container_path!r}: recursive read-only mounts need Linux "
                                         f"{'.'.join(map(str, idmap.RECURSIVE_READ_ONLY_KERNEL))} (this node runs "
                                         f"{os.uname().release})")
        if m.image.image:
            where = f"{image_volumes.REASON}: image volume {m.image.image!r} at {m.container_path!r}"
            if m.host_path:
                raise InvalidArgument(f"{where}: host_path must be empty when image is set (got {m.host_path!r})")
            if not m.readonly:
                raise InvalidArgument(f"{where}: an image volume is read-only; set readonly: true")
            try:
                image_volumes.check_sub_path(m.image_sub_path)
            except image_volumes.SubPathError as e:
                raise InvalidArgument(f"{where}: {e}") from e
            mounts.append({
                "image": m.image.image,
                "image_sub_path": m.image_sub_path,
                "destination": destination,
                "readonly": True,
                "propagation": propagation,
            })
            continue
        if m.image_sub_path:
            raise InvalidArgument(f"mount {m.container_path!r}: image_sub_path {m.image_sub_path!r} is only valid "
                                  "for an image volume (image is not set)")
        if not m.host_path.startswith("/"):
            raise InvalidArgument(f"mount host_path {m.host_path!r} for {m.container_path!r} must be an absolute path")
        mounts.append({
            "source": os.path.normpath(m.host_path),
            "destination": destination,
            "readonly": m.readonly,
            "propagation": propagation,
            **({"recursive_readonly": True} if m.recursive_read_only else {}),
        })
    return mounts


def devices_of(config: api_pb2.ContainerConfig) -> list[dict]:
    """Host device nodes to recreate in the container's /dev (same type, numbers and mode)."""
    devices = []
    for d in config.devices:
        if not d.container_path.startswith("/") or not d.host_path.startswith("/"):
            raise InvalidArgument(f"device paths must be absolute: {d.host_path!r} -> {d.container_path!r}")
        try:
            st = os.stat(d.host_path)
        except OSError as e:
            raise InvalidArgument(f"device {d.host_path!r}: {e.strerror}") from e
        if stat.S_ISCHR(st.st_mode):
            kind = "c"
        elif stat.S_ISBLK(st.st_mode):
            kind = "b"
        else:
            raise InvalidArgument(f"{d.host_path!r} is not a device node")
        devices.append({"path": os.path.normpath(d.container_path), "type": kind, "major": os.major(st.st_rdev),
                        "minor": os.minor(st.st_rdev), "mode": stat.S_IMODE(st.st_mode)})
    return devices


# Nodes the shim makes in every container's /dev itself, and /dev directories that are not devices.
_HOST_DEV_SKIP = {"null", "zero", "full", "random", "urandom", "tty", "ptmx", "console"}
_HOST_DEV_SKIP_DIRS = {"pts", "shm", "mqueue", "fd"}


def host_devices(dev: str = "/dev") -> list[dict]:
    """Every device node of the host's /dev: what a privileged container sees, as with containerd."""
    devices = []
    for dirpath, dirnames, filenames in os.walk(dev):
        if dirpath == dev:
            dirnames[:] = [d for d in dirnames if d not in _HOST_DEV_SKIP_DIRS]
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            relative = os.path.relpath(path, dev)
            if relative in _HOST_DEV_SKIP:
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
                continue
            devices.append({"path": "/dev/" + relative, "type": "c" if stat.S_ISCHR(st.st_mode) else "b",
                            "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
                            "mode": stat.S_IMODE(st.st_mode)})
    return devices


# What every unprivileged container may use, as runc's default allow-list: creating any node is
# allowed (mknod), opening only these; the config's devices are added to it.
DEFAULT_DEVICE_RULES = [
    "c *:* m", "b *:* m",
    "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",  # null zero full random urandom
    "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",  # tty console ptmx pts
    "c 10:200 rwm",  # tun
]


def device_rules(config: api_pb2.ContainerConfig, devices: list[dict], privileged: bool) -> list[str]:
    """The device cgroup allow-list; empty means every device (privileged)."""
    if privileged:
        return []
    rules = list(DEFAULT_DEVICE_RULES)
    for device, requested in zip(devices, config.devices, strict=True):
        allowed = "".join(p for p in "rwm" if p in (requested.permissions or "rwm"))
        rules.append(f"{device['type']} {device['major']}:{device['minor']} {allowed}")
    return rules


def seccomp_of(security: api_pb2.LinuxContainerSecurityContext | api_pb2.LinuxSandboxSecurityContext,
               privileged: bool, granted: list[str]) -> str | dict:
    """The process's seccomp setting, chosen as containerd chooses it: a privileged container
    gets none; the ``seccomp`` field wins over the deprecated ``seccomp_profile_path``
    ("runtime/default", "docker/default", "unconfined", "localhost/<path>"); neither means
    unconfined. A Localhost profile is read and compiled now, so a missing or invalid file fails
    CreateContainer with a message naming it. A sandbox's security context has the same two
    fields and is read the same way (containerd applies it to the pause container)."""
    if privileged:
        return "unconfined"
    if security.HasField("seccomp"):
        profile = security.seccomp
        if profile.profile_type != api_pb2.SecurityProfile.Localhost and profile.localhost_ref:
            raise InvalidArgument(f"seccomp localhost_ref {profile.localhost_ref!r} is only valid with "
                                  "profile_type Localhost")
        if profile.profile_type == api_pb2.SecurityProfile.RuntimeDefault:
            return "runtime/default"
        if profile.profile_type == api_pb2.SecurityProfile.Unconfined:
            return "unconfined"
        if profile.profile_type != api_pb2.SecurityProfile.Localhost:
            raise InvalidArgument(f"unknown seccomp profile_type {profile.profile_type}")
        # The kubelet passes an absolute path; an older one may still add the prefix.
        path = profile.localhost_ref.removeprefix(seccomp.LOCALHOST_PREFIX)
    else:
        legacy = security.seccomp_profile_path
        if legacy in ("", "unconfined"):
            return "unconfined"
        if legacy in ("runtime/default", "docker/default"):
            return "runtime/default"
        if not legacy.startswith(seccomp.LOCALHOST_PREFIX):
            raise InvalidArgument(f"seccomp_profile_path {legacy!r}: expected runtime/default, docker/default, "
                                  "unconfined or localhost/<absolute path>")
        path = legacy.removeprefix(seccomp.LOCALHOST_PREFIX)
    if not path.startswith("/"):
        raise InvalidArgument(f"seccomp profile {path!r}: a Localhost profile must be an absolute path on the node")
    try:
        return seccomp.localhost(path, granted)
    except OSError as e:
        raise FailedPrecondition(f"cannot load seccomp profile {path!r}: {e.strerror or e}") from e
    except seccomp_profile.ProfileError as e:
        raise InvalidArgument(f"seccomp profile {path!r}: {e}") from e


NO_APPARMOR = apparmor.AppArmorHost(enabled=False)  # a host without it: as in unit tests
APPARMOR_TYPES = {
    api_pb2.SecurityProfile.RuntimeDefault: apparmor.Request.RUNTIME_DEFAULT,
    api_pb2.SecurityProfile.Unconfined: apparmor.Request.UNCONFINED,
    api_pb2.SecurityProfile.Localhost: apparmor.Request.LOCALHOST,
}


def apparmor_request(security: api_pb2.LinuxContainerSecurityContext) -> tuple[apparmor.Request, str]:
    """What the container asks of AppArmor and the Localhost profile it names: the ``apparmor``
    field wins over the deprecated ``apparmor_profile`` ("runtime/default", "unconfined",
    "localhost/<name>"); neither is a request for nothing in particular."""
    if security.HasField("apparmor"):
        profile = security.apparmor
        if profile.profile_type != api_pb2.SecurityProfile.Localhost and profile.localhost_ref:
            raise InvalidArgument(f"apparmor localhost_ref {profile.localhost_ref!r} is only valid with "
                                  "profile_type Localhost")
        if profile.profile_type not in APPARMOR_TYPES:
            raise InvalidArgument(f"unknown apparmor profile_type {profile.profile_type}")
        request, reference = APPARMOR_TYPES[profile.profile_type], profile.localhost_ref
    else:
        legacy = security.apparmor_profile
        if legacy == "":
            return apparmor.Request.UNSET, ""
        if legacy in ("runtime/default", "unconfined"):
            return apparmor.Request(legacy), ""
        if not legacy.startswith(apparmor.LOCALHOST_PREFIX):
            raise InvalidArgument(f"apparmor_profile {legacy!r}: expected runtime/default, unconfined or "
                                  "localhost/<profile name>")
        request, reference = apparmor.Request.LOCALHOST, legacy
    if request == apparmor.Request.LOCALHOST and not apparmor.localhost_name(reference):
        raise InvalidArgument("an apparmor Localhost profile needs the profile's name in localhost_ref")
    return request, reference


def apparmor_of(security: api_pb2.LinuxContainerSecurityContext, privileged: bool,
                host: apparmor.AppArmorHost) -> str | None:
    """The AppArmor profile the container's process runs under, None for unconfined; a request
    this node cannot honour fails CreateContainer (see ``AppArmorHost.profile_for``)."""
    request, reference = apparmor_request(security)
    try:
        return host.profile_for(request, reference, privileged)
    except apparmor.AppArmorError as e:
        raise FailedPrecondition(str(e)) from e


def check_namespace_modes(options: api_pb2.NamespaceOption, where: str) -> None:
    for field in ("network", "pid", "ipc"):
        mode = getattr(options, field)
        if mode not in NAMESPACE_MODES:
            raise InvalidArgument(f"{where}: unknown {field} namespace mode {mode}")
    if options.network == api_pb2.TARGET or options.ipc == api_pb2.TARGET:
        raise InvalidArgument(f"{where}: TARGET mode is only supported for the pid namespace")
    userns_options.pod_user_namespace(options, where)


def build_spec(
    *,
    container_dir: str,
    config: api_pb2.ContainerConfig,
    sandbox: dict,
    image_config: dict,
    layer_dirs: list[str],
    log_path: str,
    cgroup_procs: list[str],
    oom: dict | None,
    pid_namespace: tuple[str, str | None],
    last_cap: int,
    cgroup_view: dict | None = None,
    apparmor_host: apparmor.AppArmorHost | None = None,
) -> dict:
    """The spec for one container; raises InvalidArgument/FailedPrecondition on bad config."""
    security = config.linux.security_context
    privileged = security.privileged
    if privileged and not sandbox.get("privileged"):
        raise FailedPrecondition("a privileged container needs a privileged sandbox")
    cwd = config.working_dir or image_config.get("WorkingDir") or "/"
    if not cwd.startswith("/"):
        raise InvalidArgument(f"working_dir {cwd!r} must be an absolute path")
    try:
        caps = capabilities.effective_set(
            list(security.capabilities.add_capabilities), list(security.capabilities.drop_capabilities),
            privileged, last_cap,
        )
    except capabilities.UnknownCapability as e:
        raise InvalidArgument(str(e)) from e
    mounts = mounts_of(config)
    for mount, requested in zip(mounts, config.mounts, strict=True):
        if idmap := userns_options.mount_idmap(requested):
            mount["idmap"] = idmap
    namespace_options = security.namespace_options
    if namespace_options.HasField("userns_options"):  # absent: the container joins its pod's
        userns_options.check_same_as_sandbox(userns_options.pod_user_namespace(namespace_options, "container"),
                                             sandbox.get("userns"))
    userns_options.check_mounts_for_pod(mounts, sandbox.get("userns"))
    destinations = {m["destination"] for m in mounts}
    etc_files = {
        path: os.path.join(sandbox["dir"], os.path.basename(path))
        for path in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")
        if path not in destinations
    }
    shm = None if "/dev/shm" in destinations else sandbox.get("shm")
    masked = list(security.masked_paths) or DEFAULT_MASKED_PATHS
    readonly = list(security.readonly_paths) or DEFAULT_READONLY_PATHS
    namespaces = dict(sandbox["namespaces"])
    pid_mode, pid_path = pid_namespace
    namespaces["pid_mode"] = pid_mode
    namespaces["pid"] = pid_path
    adj = config.linux.resources.oom_score_adj
    devices = devices_of(config)
    rules = device_rules(config, devices, privileged)
    if privileged:
        requested = {d["path"] for d in devices}
        devices = [d for d in host_devices() if d["path"] not in requested] + devices
    return {
        "rootfs": {
            "lower": [str(d) for d in reversed(layer_dirs)],
            "upper": os.path.join(container_dir, "upper"),
            "work": os.path.join(container_dir, "work"),
            "target": os.path.join(container_dir, "rootfs"),
            "readonly": security.readonly_rootfs,
        },
        "process": {
            "args": command_of(config, image_config),
            "env": environment_of(config, image_config, sandbox.get("hostname") or socket.gethostname()),
            "cwd": cwd,
            "user": user_of(security, image_config),
            "capabilities": caps,
            "no_new_privs": security.no_new_privs,
            "seccomp": seccomp_of(security, privileged, caps),
            "apparmor_profile": apparmor_of(security, privileged, apparmor_host or NO_APPARMOR),
            "tty": config.tty,
            "stdin": config.stdin,
            "stdin_once": config.stdin_once,
            "oom_score_adj": adj if adj else None,
        },
        "namespaces": namespaces,
        "userns": sandbox.get("userns"),
        "etc_files": etc_files,
        "shm": shm,
        "mounts": mounts,
        "cgroup_view": cgroup_view,
        "devices": devices,
        "device_rules": rules,
        "masked_paths": [] if privileged else masked,
        "readonly_paths": [] if privileged else readonly,
        "privileged": privileged,
        "cgroup_procs": cgroup_procs,
        "oom": oom,
        "log_path": log_path,
    }
