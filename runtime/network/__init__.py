"""Pod networking: a bridge per node, a veth per pod, host-local IPAM, hostPort DNAT, host-gw routes.

The runtime calls ``PodNetwork`` from RunPodSandbox (``attach``), RemovePodSandbox (``detach``),
PodSandboxStatus (``ip_of``) and Status (``status``); the kubelet feeds ``set_routes`` from Node
objects. Everything underneath is reached through small modules: ``ipam`` and ``attachments``
(state on disk), ``portmap`` and ``rules`` (plain data), and the ``*_linux`` modules that talk
to the kernel (pyroute2 for rtnetlink, python-iptables for iptables, /proc/sys, setns).

Use from plain threads (the gRPC server's workers are fine): pyroute2 runs its own event loop
per call, so from asyncio code go through ``asyncio.to_thread``. Anything else in the same
process that uses python-iptables must hold ``iptables_linux.PROCESS_LOCK`` around its own
table work, because python-iptables shares one handle per table across the whole process.

    network = PodNetwork(Path("/var/lib/kyb/network"), "10.244.1.0/24", "10.244.0.0/16")
    network.ensure_node()
    ip = network.attach(sandbox_id, f"/proc/{holder_pid}/ns/net", [PortMapping("TCP", 80, 8080)])
    network.detach(sandbox_id, None)
"""

from runtime.network.errors import (
    AlreadyAttached,
    ConntrackError,
    HostPortConflict,
    InvalidNetworkConfig,
    IPAMError,
    IPAMExhausted,
    IptablesError,
    KernelError,
    NetlinkError,
    NetnsError,
    NetnsNotFound,
    NetworkError,
    NodeNotReady,
    SysctlError,
)
from runtime.network.podnetwork import PodNetwork, host_veth_name
from runtime.network.portmap import PortMapping

__all__ = [
    "AlreadyAttached",
    "ConntrackError",
    "HostPortConflict",
    "IPAMError",
    "IPAMExhausted",
    "InvalidNetworkConfig",
    "IptablesError",
    "KernelError",
    "NetlinkError",
    "NetnsError",
    "NetnsNotFound",
    "NetworkError",
    "NodeNotReady",
    "PortMapping",
    "PodNetwork",
    "SysctlError",
    "host_veth_name",
]
