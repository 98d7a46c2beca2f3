"""``StatusResponse.runtime_handlers``: what each runtime handler supports.

The kubelet runs a pod with ``hostUsers: false`` only on a handler whose features say
``user_namespaces`` (KEP-127), and critest skips its user namespace specs otherwise. We say so
only when it holds on this machine: the kernel must overlay idmapped layers (Linux 5.19 and
later) and the filesystem holding the runtime's state (image layers, upper dirs) must take
idmapped mounts. The second is probed for real, once, the way critest probes it: a fresh
``python -m runtime.linux.idmap ROOT`` process (the daemon is multi-threaded and must not fork
without exec) makes a user namespace and idmaps a clone of ROOT's mount.

Recursive read-only mounts (``mount_setattr`` with AT_RECURSIVE) need Linux 5.12; the feature
says whether the kernel has it, and CreateContainer refuses such a mount where it does not.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading

from cri import api_pb2
from runtime.linux.idmap import recursive_readonly_supported

log = logging.getLogger(__name__)

MIN_KERNEL = (5, 19)  # overlayfs over idmapped lower layers
PROBE_TIMEOUT = 30.0


def kernel_version(release: str | None = None) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", release or os.uname().release)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


class RuntimeHandlers:
    """The handlers the runtime serves and their features, probed lazily and remembered."""

    def __init__(self, names: tuple[str, ...], state_dir: str) -> None:
        self.names = names
        self.state_dir = state_dir
        self._lock = threading.Lock()
        self._user_namespaces: bool | None = None

    def user_namespaces(self) -> bool:
        with self._lock:
            if self._user_namespaces is None:
                reason = self._probe()
                if reason:
                    log.warning("user namespaces unsupported", extra={"reason": reason})
                self._user_namespaces = reason is None
            return self._user_namespaces

    def _probe(self) -> str | None:
        if kernel_version() < MIN_KERNEL:
            return f"kernel {os.uname().release} cannot overlay idmapped layers (needs {MIN_KERNEL[0]}.{MIN_KERNEL[1]})"
        try:
            result = subprocess.run([sys.executable, "-m", "runtime.linux.idmap", self.state_dir],
                                    capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"cannot probe idmapped mounts: {e}"
        if result.returncode != 0:
            return f"no idmapped mounts on {self.state_dir}: {(result.stdout or result.stderr).strip()}"
        return None

    def messages(self) -> list[api_pb2.RuntimeHandler]:
        features = api_pb2.RuntimeHandlerFeatures(user_namespaces=self.user_namespaces(),
                                                  recursive_read_only_mounts=recursive_readonly_supported())
        return [api_pb2.RuntimeHandler(name=name, features=features) for name in self.names]
