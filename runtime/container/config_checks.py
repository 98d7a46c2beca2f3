"""What a ContainerConfig must satisfy before anything is made for it, beyond what building its
spec checks: strings that reach the kernel hold no NUL byte, user and group ids fit the
kernel's 32-bit ids and the supplemental groups its group list, device permissions are made of
r, w and m, environment variables have a name, the OOM score adjustment is within the kernel's
range, and masked and read-only paths are absolute.

containerd passes such values on to runc, which fails the start (or, for ids, truncates them to
32 bits); refusing them at CreateContainer gives the caller the reason at once and leaves
nothing half-made.
"""

from __future__ import annotations

from cri import api_pb2
from runtime.config_text import reject_nul_bytes
from runtime.errors import InvalidArgument

# (uid_t)-1 means "leave unchanged" to setresuid/setresgid: it can never be anyone's id.
MAX_ID = 2**32 - 2
DEVICE_PERMISSIONS = set("rwm")
# NGROUPS_MAX: setgroups(2) takes no longer list.
MAX_SUPPLEMENTAL_GROUPS = 65536
OOM_SCORE_ADJ_RANGE = range(-1000, 1001)


def check_container_config(config: api_pb2.ContainerConfig) -> None:
    security = config.linux.security_context
    fields = [("command", s) for s in config.command] + [("args", s) for s in config.args]
    for kv in config.envs:
        fields += [("env name", kv.key), (f"env {kv.key!r}", kv.value)]
    fields += [("working_dir", config.working_dir), ("log_path", config.log_path),
               ("run_as_username", security.run_as_username)]  # the image reference parser checks the image
    for m in config.mounts:
        fields += [("mount container_path", m.container_path), ("mount host_path", m.host_path),
                   ("mount image_sub_path", m.image_sub_path)]
    for d in config.devices:
        fields += [("device container_path", d.container_path), ("device host_path", d.host_path)]
    fields += [("masked path", p) for p in security.masked_paths]
    fields += [("readonly path", p) for p in security.readonly_paths]
    fields += [("seccomp localhost_ref", security.seccomp.localhost_ref)]
    reject_nul_bytes(fields)

    ids = []
    if security.HasField("run_as_user"):
        ids.append(("run_as_user", security.run_as_user.value))
    if security.HasField("run_as_group"):
        ids.append(("run_as_group", security.run_as_group.value))
    ids += [("supplemental group", g) for g in security.supplemental_groups]
    for where, value in ids:
        if not 0 <= value <= MAX_ID:
            raise InvalidArgument(f"{where} {value} is not a valid id (0 to {MAX_ID})")

    for d in config.devices:
        unknown = set(d.permissions) - DEVICE_PERMISSIONS
        if unknown:
            raise InvalidArgument(f"device {d.host_path!r}: permissions {d.permissions!r} may only combine "
                                  "r (read), w (write) and m (mknod)")

    for kv in config.envs:
        if not kv.key:
            raise InvalidArgument(f"an environment variable has an empty name (value {kv.value[:64]!r})")
    groups = len(security.supplemental_groups)
    if groups > MAX_SUPPLEMENTAL_GROUPS:
        raise InvalidArgument(f"{groups} supplemental groups: the kernel takes at most {MAX_SUPPLEMENTAL_GROUPS}")
    adj = config.linux.resources.oom_score_adj
    if adj not in OOM_SCORE_ADJ_RANGE:
        raise InvalidArgument(f"oom_score_adj {adj} is outside the kernel's range "
                              f"({OOM_SCORE_ADJ_RANGE.start} to {OOM_SCORE_ADJ_RANGE.stop - 1})")
    for kind, paths in (("masked path", security.masked_paths), ("readonly path", security.readonly_paths)):
        for path in paths:
            if not path.startswith("/"):
                raise InvalidArgument(f"{kind} {path!r} must be an absolute path")
