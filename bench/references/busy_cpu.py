"""How much CPU the whole machine spent: the cost of a container whichever process pays it
(runtime, shim, kernel threads tearing namespaces down)."""

from __future__ import annotations

import os


def busy_cpu_seconds() -> float:
    """CPU time this machine has spent busy since boot: user, nice, system, irq and softirq (not
    idle, not waiting for I/O, not stolen by the hypervisor)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in f.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
