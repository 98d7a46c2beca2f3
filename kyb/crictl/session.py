"""What every `kyb cri` verb shares: the connections, printing, and turning failures into one line.

A verb gets a `Session`: it opens the runtime and image connections lazily (the image endpoint
defaults to the runtime endpoint, as in crictl), prints to the session's streams (tests pass
their own), and raises `UsageError` for bad command lines (exit 2) or `CRIFailure` for a call the
runtime refused (exit 1, printed as `<what we tried>: <Method>: <CODE>: <message>` on one line).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import grpc

from cri.client import CRIError, RuntimeClient, parse_endpoint


class UsageError(Exception):
    """The command line asks for something impossible; exit code 2, like argparse errors."""


class CRIFailure(Exception):
    """A CRI call failed or a step around it did; printed as one line, exit code 1."""


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds from a Go duration ('2s', '1m30s', '500ms') or a bare number of seconds."""
    value = text.strip()
    try:
        return float(value)
    except ValueError:
        pass
    pos, total = 0, 0.0
    sign = -1.0 if value.startswith("-") else 1.0
    value = value.lstrip("+-")
    while pos < len(value):
        m = _DURATION_PART.match(value, pos)
        if m is None:
            raise ValueError(f"invalid duration {text!r}: want e.g. 2s, 500ms, 1m30s")
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if not value:
        raise ValueError("invalid duration '': want e.g. 2s, 500ms, 1m30s")
    return sign * total


def one_line(text: str) -> str:
    """Collapse whitespace so a multi-line runtime message stays on one line."""
    return " ".join(text.split())


class Session:
    """Connections and output streams for one `kyb cri` invocation."""

    def __init__(
        self,
        runtime_endpoint: str,
        image_endpoint: str | None,
        timeout: float,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        for endpoint in (runtime_endpoint, image_endpoint):
            if endpoint:
                try:
                    parse_endpoint(endpoint)
                except ValueError as e:
                    raise UsageError(str(e)) from None
        self.runtime_endpoint = runtime_endpoint
        self.image_endpoint = image_endpoint or runtime_endpoint
        self.timeout = timeout
        self.out = stdout or sys.stdout
        self.err = stderr or sys.stderr
        self._runtime: RuntimeClient | None = None
        self._image: RuntimeClient | None = None

    @property
    def runtime(self) -> RuntimeClient:
        if self._runtime is None:
            self._runtime = RuntimeClient(self.runtime_endpoint, timeout=self.timeout)
        return self._runtime

    @property
    def image(self) -> RuntimeClient:
        if self.image_endpoint == self.runtime_endpoint:
            return self.runtime
        if self._image is None:
            self._image = RuntimeClient(self.image_endpoint, timeout=self.timeout)
        return self._image

    def close(self) -> None:
        for client in (self._runtime, self._image):
            if client is not None:
                client.close()

    def print(self, text: str = "", end: str = "\n") -> None:
        self.out.write(text + end)

    def warn(self, text: str) -> None:
        self.err.write(f"kyb cri: {text}\n")

    def call_runtime(self, method: str, request: Any, what: str) -> Any:
        """Call a RuntimeService method the typed client has no wrapper for (Exec, Attach, ...).

        Failures take the same one-line shape as `attempt`: '<what>: <Method>: <CODE>: <message>'.
        """
        try:
            return getattr(self.runtime.runtime, method)(request, timeout=self.timeout)
        except grpc.RpcError as e:
            code = e.code().name if isinstance(e, grpc.Call) else "UNKNOWN"
            details = (e.details() if isinstance(e, grpc.Call) else None) or str(e)
            raise CRIFailure(one_line(f"{what}: {method}: {code}: {details}")) from e

    @contextmanager
    def attempt(self, what: str) -> Iterator[None]:
        """Run CRI calls; a failure becomes CRIFailure('<what>: <Method>: <CODE>: <message>')."""
        try:
            yield
        except CRIError as e:
            raise CRIFailure(one_line(f"{what}: {e.method}: {e.code.name}: {e.details}")) from e
