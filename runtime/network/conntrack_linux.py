"""Forgetting UDP flows to a hostPort when its DNAT target changes.

Conntrack keeps the NAT decision of a flow for as long as packets keep coming (UDP has no
close), so after a hostPort moves to a new pod, a client that keeps sending from the same source
port would keep reaching the old pod's address, which no longer exists. Deleting the conntrack
entries whose original destination port is the hostPort makes the next packet go through the
current DNAT rules again. TCP needs nothing: a new connection is a new flow. This mirrors what
the kubelet's hostport manager does.
"""

from __future__ import annotations

import socket

from pyroute2 import Conntrack
from pyroute2.netlink.exceptions import NetlinkError as PyRoute2NetlinkError
from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple

from runtime.network.errors import ConntrackError


def forget_udp_flows(port: int) -> int:
    """Delete IPv4 UDP conntrack entries with original destination ``port``; how many went."""
    op = f"forget UDP flows to port {port}"
    deleted = 0
    try:
        with Conntrack() as ct:
            wanted = NFCTAttrTuple(proto=socket.IPPROTO_UDP, dport=port)
            for entry in list(ct.dump_entries(tuple_orig=wanted)):
                try:
                    ct.delete(entry)
                    deleted += 1
                except PyRoute2NetlinkError as e:
                    if e.code != 2:  # ENOENT: it expired meanwhile
                        raise
    except PyRoute2NetlinkError as e:
        raise ConntrackError(op, e.code) from e
    except OSError as e:
        raise ConntrackError(op, e.errno) from e
    return deleted
