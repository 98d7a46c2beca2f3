"""The files a sandbox gives all its containers: /etc/hostname, /etc/hosts, /etc/resolv.conf.

Written once into the sandbox directory and bind-mounted into every container, so the pod's
containers agree on them. resolv.conf comes from the CRI DNSConfig when the kubelet sends one
(as containerd writes it), otherwise from the host; host-network pods get the host's hosts file.
"""

from __future__ import annotations

import os

from cri import api_pb2

DEFAULT_HOSTS = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


def resolv_conf(dns: api_pb2.DNSConfig | None, host_file: str = "/etc/resolv.conf") -> str:
    if dns is not None and (dns.servers or dns.searches or dns.options):
        lines = []
        if dns.searches:
            lines.append("search " + " ".join(dns.searches))
        lines.extend(f"nameserver {s}" for s in dns.servers)
        if dns.options:
            lines.append("options " + " ".join(dns.options))
        return "\n".join(lines) + "\n"
    try:
        with open(host_file) as f:
            return f.read()
    except OSError:
        return ""


def hosts_file(host_network: bool, host_file: str = "/etc/hosts") -> str:
    if host_network:
        try:
            with open(host_file) as f:
                return f.read()
        except OSError:
            pass
    return DEFAULT_HOSTS


def write_sandbox_files(directory: str, hostname: str, config: api_pb2.PodSandboxConfig, host_network: bool) -> None:
    files = {
        "hostname": hostname + "\n",
        "hosts": hosts_file(host_network),
        "resolv.conf": resolv_conf(config.dns_config if config.HasField("dns_config") else None),
    }
    for name, content in files.items():
        with open(os.path.join(directory, name), "w") as f:
            f.write(content)
