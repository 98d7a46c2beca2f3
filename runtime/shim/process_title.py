"""What ``ps`` shows for the runtime's holders and shims.

Every holder and shim is forked from the fork server, so each would show just the server's
command line (``python -m runtime.forkserver <socket>``) and nothing would tell an operator
which pod or container a process serves. As containerd's shims add ``-id <id>`` and conmon its
container id, the command line gets the role and the id appended: ``... -m runtime.forkserver
<socket> kyb-shim <container id>``. It still says where the process came from and which
runtime (the socket) it belongs to; the short name (``comm``: ``ps -e``, ``pgrep``) stays the
bare role. The fork server sets its own title first, so the library's one-time set-up (moving
the environment aside to make room) is inherited rather than paid in every start.
"""

from __future__ import annotations

import setproctitle

from runtime.linux.syscalls import Kernel, set_process_name

_forked_from = ""


def prepare(kernel: Kernel, role: str) -> None:
    """In the fork server, once: remember its command line, which every child's begins with."""
    global _forked_from
    _forked_from = setproctitle.getproctitle()
    setproctitle.setproctitle(_forked_from)
    set_process_name(kernel, role)


def show_as(kernel: Kernel, role: str, serves: str) -> None:
    """The fork server's command line, then ``role serves``; ``role`` as the process name."""
    setproctitle.setproctitle(f"{_forked_from} {role} {serves}".lstrip())
    set_process_name(kernel, role)  # after: the library sets the name to the title's start
