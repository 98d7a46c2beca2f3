"""What ``ps`` shows for the runtime's own processes.

Every holder and shim is forked from the fork server, so without this each would show the
server's command line (``python -m runtime.forkserver <socket>``) and nothing would tell an
operator which pod or container a process serves. As containerd's shims show ``-id <id>`` and
their socket, and conmon its container id and directory, the command line becomes ``kyb-shim
<container id> <container directory>`` (the directory names the runtime's root); the short name
(``comm``: ``ps -e``, ``pgrep``, ``/proc/<pid>/comm``) stays the bare role, which is how the
runtime's own tests and tools find them. The fork server titles itself first, so the library's
one-time set-up (moving the environment aside to make room) is inherited, not paid per start.
"""

from __future__ import annotations

import setproctitle

from runtime.linux.syscalls import Kernel, set_process_name


def show_as(kernel: Kernel, role: str, *details: str) -> None:
    """``role details...`` as the command line, ``role`` as the process name."""
    setproctitle.setproctitle(" ".join((role, *details)))
    set_process_name(kernel, role)  # after: the library sets the name to the title's start
