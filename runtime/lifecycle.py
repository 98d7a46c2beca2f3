"""Sandbox and container state machines: enums, their allowed transitions, one guard.

Sandbox::

    READY --stop--> NOTREADY --remove--> (gone)
      \\___________remove (after implicit stop)___/

Container::

    CREATED --start--> RUNNING --exit/stop--> EXITED --remove--> (gone)
       |                                          ^
       +-------- start failed / sandbox stopped --+

The values are the CRI enum names, so records on disk read like the API.
"""

from __future__ import annotations

from enum import StrEnum

from runtime.errors import FailedPrecondition


class SandboxState(StrEnum):
    READY = "SANDBOX_READY"
    NOTREADY = "SANDBOX_NOTREADY"


class ContainerState(StrEnum):
    CREATED = "CONTAINER_CREATED"
    RUNNING = "CONTAINER_RUNNING"
    EXITED = "CONTAINER_EXITED"
    UNKNOWN = "CONTAINER_UNKNOWN"


SANDBOX_TRANSITIONS: dict[SandboxState, set[SandboxState]] = {
    SandboxState.READY: {SandboxState.NOTREADY},
    SandboxState.NOTREADY: set(),
}

CONTAINER_TRANSITIONS: dict[ContainerState, set[ContainerState]] = {
    ContainerState.CREATED: {ContainerState.RUNNING, ContainerState.EXITED},
    ContainerState.RUNNING: {ContainerState.EXITED, ContainerState.UNKNOWN},
    ContainerState.UNKNOWN: {ContainerState.EXITED},
    ContainerState.EXITED: set(),
}


def check_container_transition(current: ContainerState, target: ContainerState, what: str) -> None:
    if target not in CONTAINER_TRANSITIONS[current]:
        raise FailedPrecondition(f"cannot {what} a container in state {current.value}")


def check_sandbox_transition(current: SandboxState, target: SandboxState, what: str) -> None:
    if target not in SANDBOX_TRANSITIONS[current]:
        raise FailedPrecondition(f"cannot {what} a sandbox in state {current.value}")
