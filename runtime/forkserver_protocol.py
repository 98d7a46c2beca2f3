"""What the fork server and its clients agree on: message size, and which socket takes what.

The server listens on two sockets. Requests that a prepared spare can serve (a container start
whose process gets a pid namespace of its own, see ``runtime.shim.prepared_init``) go to the
one named by ``prepared_socket``; everything else goes to the main socket. The client picks,
so a spare accepts its own connection and no process in between has to read the request.
"""

from __future__ import annotations

MAX_MESSAGE = 1 << 16  # a container's spec may travel in a request
# The user a container runs as travels in its shim's ready message and start reply, unless it
# would not fit one message (thousands of supplemental groups): then the shim leaves it in this
# file of the container's directory and the message says {"user_file": USER_FILE}.
USER_INLINE_LIMIT = 16 * 1024
USER_FILE = "user.json"


def takes_prepared(request: dict) -> bool:
    """Whether a prepared spare can serve ``request``."""
    return (request.get("op") in ("start", "prestart") and request.get("pid_mode") == "new"
            and request.get("prepared", True))


def prepared_socket(socket_path: str) -> str:
    """The socket for requests ``takes_prepared`` accepts, beside the main one."""
    return socket_path + ".newpid"
