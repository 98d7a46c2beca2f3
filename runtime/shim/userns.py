"""The pod's user namespace on the shim side: made for the holder, joined by containers and execs.

Order matters, and follows what makes every part of a pod work:

* The holder's helper unshares the user namespace FIRST, waits while its parent (still host
  root in the host's namespace, where any range may be mapped) writes ``uid_map`` and
  ``gid_map``, becomes the namespace's root, and only then unshares net, uts, ipc (and pid), so
  the pod's namespaces are owned by its user namespace: container root may bind port 80, open
  raw sockets and set the pod's hostname there, and the sysctls the holder writes pass the
  owner checks. Host root keeps every capability over those namespaces, so the runtime still
  wires the pod's network from the host.
* A container's first process does all of its filesystem work as host root, in a mount
  namespace owned by the host: idmapped clones of the image layers (only host root may idmap
  an ext4 mount), the overlay over them with an upper dir owned by the pod's root, proc, sysfs,
  devpts, volumes, pivot_root. Then it joins the pod's user namespace and becomes its root;
  from there ``apply_process`` switches to the container's user (IDs inside the namespace).
* An exec joins the container's other namespaces first and the user namespace last: a pid
  namespace of the container's own belongs to the host's user namespace, so only host root may
  enter it.

Having joined, the first process unshares one more mount namespace, owned by the pod's user
namespace, as runc's would be: the pod's root may mount there with CAP_SYS_ADMIN, and every mount
the runtime made is locked to it (the kernel locks mounts copied from a more privileged
namespace), so masked paths cannot be unmounted. A pid namespace of the container's own is made
by the shim, so it belongs to the host's user namespace (only its procfs mount differs from runc).
"""

from __future__ import annotations

import copy
import errno
import json
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from runtime.linux import idmap
from runtime.linux.syscalls import CLONE_NEWNS, CLONE_NEWUSER, Kernel
from runtime.shim import rootfs

MAX_ANSWER = 1 << 12


class UserNamespaceError(Exception):
    """The pod's user namespace could not be made or joined; the message says which step."""


def become_root() -> None:
    """Take the namespace's root identity (host ID of container 0); capabilities stay full here."""
    os.setgroups([])
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)


def spawn_in_user_namespace(kernel: Kernel, mapping: dict, body: Callable[[], int]) -> int:
    """Run ``body`` in a child that unshared a new user namespace with ``mapping``
    (``{"uids": [...], "gids": [...]}``, written from here), as that namespace's root; return
    the int ``body`` returns (the holder's pid). Raises UserNamespaceError with the child's
    failure. Forks: the caller must be single-threaded."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    answer_r, answer_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.close(go_w)
        os.close(answer_r)
        try:
            kernel.unshare(CLONE_NEWUSER)
            os.write(ready_w, b"1")
            if os.read(go_r, 1) != b"1":
                os._exit(1)  # the parent could not write the maps: nothing to report
            become_root()
            answer: dict = {"pid": body()}
        except BaseException as e:  # noqa: B036 - the parent waits for an answer: give one
            answer = {"error": f"{type(e).__name__}: {e}"}
        os.write(answer_w, json.dumps(answer).encode())
        os._exit(0)
    for fd in (ready_w, go_r, answer_w):
        os.close(fd)
    try:
        if os.read(ready_r, 1) != b"1":
            raise UserNamespaceError("the process creating the pod's user namespace exited before unsharing it")
        try:
            idmap.write_id_maps(pid, mapping["uids"], mapping["gids"])
        except idmap.IdmapError as e:
            raise UserNamespaceError(f"cannot map the pod's user namespace: {e}") from e
        os.write(go_w, b"1")
        raw = os.read(answer_r, MAX_ANSWER)  # one small message, written at once
    finally:
        for fd in (ready_r, go_w, answer_r):
            os.close(fd)
        os.waitpid(pid, 0)
    try:
        answer = json.loads(raw)
    except ValueError as e:
        raise UserNamespaceError("the process creating the pod's namespaces died without answering") from e
    if "error" in answer:
        raise UserNamespaceError(answer["error"])
    return int(answer["pid"])


def open_if_foreign(path: str) -> int | None:
    """An fd of the user namespace at ``path`` if it is not the caller's own, else None.
    Open it before entering the mount namespace: afterwards ``/proc`` is the container's."""
    if idmap.same_user_namespace(path):
        return None
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


def join(kernel: Kernel, userns_fd: int | None) -> None:
    """Enter the user namespace (None: stay) and become its root. Closes the fd."""
    if userns_fd is None:
        return
    try:
        kernel.setns(userns_fd, CLONE_NEWUSER)
    finally:
        os.close(userns_fd)
    become_root()


def setup_rootfs(kernel: Kernel, spec: dict, before_pivot: Callable[[], None] | None = None) -> None:
    """``rootfs.setup_rootfs`` with idmapped layers and volumes, then into the pod's user namespace.

    Runs in the container's first process after ``unshare(CLONE_NEWNS)``; without a pod user
    namespace and idmapped volumes it is exactly ``rootfs.setup_rootfs``."""
    pod = spec.get("userns")
    with ExitStack() as held:
        pod_fd = os.open(pod["path"], os.O_RDONLY | os.O_CLOEXEC) if pod else None
        if pod_fd is not None:
            held.callback(os.close, pod_fd)
        prepared = idmapped_spec(spec, pod_fd, held)
        rootfs.setup_rootfs(kernel, prepared, before_pivot)
        if pod is not None and pod_fd is not None:
            give_made_dirs_to_pod_root(spec["process"].get("cwd") or "/", pod)
            kernel.setns(pod_fd, CLONE_NEWUSER)
            become_root()
            # A mount namespace of the pod's own, copied from the one built above: its root can
            # mount there (with CAP_SYS_ADMIN, as under runc), while everything the runtime
            # mounted came from a more privileged namespace and stays locked (masks included).
            kernel.unshare(CLONE_NEWNS)


def give_made_dirs_to_pod_root(cwd: str, pod: dict) -> None:
    """The working directory (and its parents) that the root filesystem setup had to create were
    made by host root, so inside they would belong to nobody and the pod's root could not write
    there. Seen from the host, image files show the pod's IDs (idmapped) and made ones 0:0; give
    those to the pod's root. Only on the root filesystem: a volume's files are not ours to change.
    Runs after pivot_root, before leaving the host's user namespace."""
    uid, gid = _host_root(pod["uids"]), _host_root(pod["gids"])
    root_dev = os.stat("/").st_dev
    path = "/"
    for part in [p for p in cwd.split("/") if p]:
        path = os.path.join(path, part)
        st = os.lstat(path)
        if st.st_dev != root_dev:
            return
        if (st.st_uid, st.st_gid) == (0, 0):
            try:
                os.lchown(path, uid, gid)
            except OSError as e:
                if e.errno != errno.EROFS:  # a read-only root stays as it is
                    raise


def idmapped_spec(spec: dict, pod_fd: int | None, held: ExitStack) -> dict:
    """A copy of ``spec`` whose layers and volumes point at idmapped clones (``/proc/self/fd``
    paths, or a user namespace fd for a bind volume to idmap when it is mounted). The fds stay
    open in ``held`` until the root filesystem is built."""
    pod = spec.get("userns")
    if pod is None and not any(m.get("idmap") for m in spec.get("mounts", [])):
        return spec
    prepared = copy.deepcopy(spec)
    if pod is not None and pod_fd is not None:
        layers = prepared["rootfs"]
        layers["lower"] = [_clone(path, pod_fd, held) for path in layers["lower"]]
        # The upper dir's root is the container's "/"; new files in it are created by the
        # overlay with the owner the pod's root has on the host, so it must own the top too.
        os.chown(layers["upper"], _host_root(pod["uids"]), _host_root(pod["gids"]))
    for mount in prepared.get("mounts", []):
        wanted = mount.get("idmap") or (pod if mount.get("image") else None)
        if wanted is None:
            continue
        userns_fd = pod_fd if _same_maps(wanted, pod) else held.enter_context(_mapping_userns(wanted))
        if userns_fd is None:
            continue
        if mount.get("image"):
            mount["lower"] = [_clone(path, userns_fd, held) for path in mount["lower"]]
        else:
            mount["idmap_userns_fd"] = userns_fd
    return prepared


def _host_root(mappings: list[dict]) -> int:
    found = idmap.host_id(mappings, 0)
    if found is None:  # refused at CreateContainer; a spec from elsewhere gets a clear error
        raise UserNamespaceError(f"the pod's user namespace maps no root: {mappings}")
    return found


def _same_maps(a: dict | None, b: dict | None) -> bool:
    return a is not None and b is not None and a["uids"] == b["uids"] and a["gids"] == b["gids"]


@contextmanager
def _mapping_userns(mapping: dict) -> Iterator[int]:
    with idmap.temporary_user_namespace(mapping["uids"], mapping["gids"]) as fd:
        yield fd


def _clone(path: str, userns_fd: int, held: ExitStack) -> str:
    fd = idmap.idmapped_tree(path, userns_fd)
    held.callback(os.close, fd)
    return idmap.fd_path(fd)
