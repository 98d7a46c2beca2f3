"""The container runtime behind `kyb runtime`: CRI v1 over Linux namespaces and cgroups.

Map of the package (each module's docstring says why it is built the way it is)::

    daemon.py          socket ownership, fork server and streaming server start, gRPC server
    cri_service.py     the RuntimeService, composed of the call groups in service/
    service/           pods, containers, exec/streaming, stats and metrics, container events;
                       errors.py maps domain errors to gRPC codes in one interceptor that also
                       logs every call
    sandbox/           RunPodSandbox & co.: holder process, /etc files, /dev/shm, pod cgroup
    container/         CreateContainer & co.: spec.py turns a ContainerConfig into the plain
                       spec the shim executes; manager.py drives the state machine; prestart.py
                       prepares a created container's process ahead of its start;
                       config_checks.py refuses values that could only fail in the kernel;
                       image_volumes.py, userns_options.py; exec_sync.py
    config_text.py     text that reaches the kernel or a line-based file: no NUL, no newline
    lifecycle.py       state enums and their transition table
    state/store.py     one directory per object, JSON records changed through update(fn)
    forkserver.py      the single-threaded process every holder, shim and exec is forked from,
                       with spares forked ahead (one with a container process prepared)
    shim/              what runs outside the daemon: holder, per-container shim (parent of the
                       container, CRI logs, exit status, attach), the container's first process
                       up to its exec (container_init.py), rootfs/mount setup, users,
                       terminals, exec helper, user namespaces
    streaming/         the exec/attach/port-forward server (SPDY/3.1 and WebSocket, as the
                       kubelet's) and its one-time tokens
    cgroups/           one interface, v1 and v2 drivers (v2 devices as an eBPF program)
    linux/             ctypes syscalls behind a Kernel interface, capability sets, seccomp
                       (RuntimeDefault and Localhost profiles compiled to BPF), idmapped mounts
    images/, network/  the image store and pod networking (separate owners)

Nothing here imports ``kyb``; the daemon is started by ``kyb runtime``.
"""
