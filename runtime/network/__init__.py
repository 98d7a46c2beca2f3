"""Pod networking: a bridge per node, a veth per pod, host-local IPAM, hostPort DNAT, host-gw routes.

The runtime calls ``PodNetwork`` from RunPodSandbox (``attach``), RemovePodSandbox (``detach``),
PodSandboxStatus (``ip_of``) and Status (``status``); the kubelet feeds ``set_routes`` from Node
objects. Everything underneath is reached through small modules: ``ipam`` and ``attachments``
(state on disk), ``portmap`` and ``rules`` (plain data), and the ``*_linux`` modules that talk
to the kernel (pyroute2 for rtnetlink, python-iptables for iptables, /proc/sys, setns).
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
