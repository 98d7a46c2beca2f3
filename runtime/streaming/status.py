"""How a remote command's end is reported: a Kubernetes ``Status``, as the kubelet reports it.

Success, or Failure with reason ``NonZeroExitCode`` and the exit code as an ``ExitCode`` cause
(client-go turns that into its exit-code error, so kubectl exits with the command's code), or
Failure with reason ``InternalError`` when the command could not be run at all. WebSocket and
SPDY v4 clients read the JSON; SPDY v1-v3 clients read only a failure's message as text.
"""

from __future__ import annotations

from typing import Any


def exit_status(code: int) -> dict[str, Any]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {}, "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command, exit status {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def failure(message: str) -> dict[str, Any]:
    return {"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError", "code": 500}
