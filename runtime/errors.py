"""The runtime's exception tree; the CRI layer maps each class to one gRPC code in one place.

Messages are written for the person reading ``crictl`` output: they say what was wrong and,
where it helps, what to do.
"""

from __future__ import annotations


class RuntimeFailure(Exception):
    """Base of every runtime domain error."""


class NotFound(RuntimeFailure):
    """No sandbox or container with that id (or id prefix)."""


class UnreadableRecord(NotFound):
    """A sandbox's or container's record that does not parse: torn by a machine crash that lost
    an unflushed write, or changed by hand. It is set aside and the object is no longer served:
    for the rest of the runtime it is gone, as a NotFound says."""


class AlreadyExists(RuntimeFailure):
    """A sandbox or container with that name already exists."""


class InvalidArgument(RuntimeFailure):
    """The request itself is malformed: missing fields, relative paths, unknown modes."""


class FailedPrecondition(RuntimeFailure):
    """The request is well formed but the current state forbids it (wrong state, image absent)."""


class InternalError(RuntimeFailure):
    """Something on the machine failed (a mount, a cgroup write, the fork server)."""


class ProcessStartFailed(RuntimeFailure):
    """A container's process or an exec'd command could not be started in the container (a
    missing or non-executable binary, a failed setup step). containerd answers these with the
    OCI runtime's message as UNKNOWN, so we use that code too."""


class Timeout(RuntimeFailure):
    """The operation did not finish within the time the caller gave it."""


class Unimplemented(RuntimeFailure):
    """A CRI call this runtime does not serve; the message says what to use instead."""
