"""`logs`: print a container's log, optionally following it, like crictl logs.

The runtime names the file (`ContainerStatus.log_path`); `kyb.crictl.logs` reads the CRI log
format from it. Following polls ContainerStatus to stop once the container no longer runs, so
`logs -f` of a finished container returns instead of waiting forever.
"""

from __future__ import annotations

import argparse
import datetime
import os
import time
from typing import Any

from cri import api_pb2
from kyb.crictl import logs
from kyb.crictl.session import CRIFailure, Session, UsageError, parse_duration


def run_logs(session: Session, args: argparse.Namespace) -> int:
    if args.stream not in (None, "stdout", "stderr"):
        raise UsageError(f'invalid stream {args.stream!r}, must be "stdout" or "stderr"')
    if args.reopen:
        with session.attempt(f"reopening the log of container {args.container_id}"):
            session.runtime.reopen_container_log(args.container_id)
    with session.attempt(f"getting the status of container {args.container_id}"):
        status = session.runtime.container_status(args.container_id).status
    path = status.log_path
    if not path:
        raise CRIFailure(f"container {args.container_id} has no log path")
    if args.previous:
        attempt = status.metadata.attempt
        if attempt == 0:
            raise CRIFailure(f"previous terminated container {status.metadata.name} not found")
        directory, base = os.path.split(path)
        path = os.path.join(directory, f"{attempt - 1}{os.path.splitext(base)[1]}")
    since_ns = 0
    if args.since:
        since_ns = _since_ns(args.since)
    options = logs.LogOptions(
        tail=args.tail,
        timestamps=args.timestamps,
        since_ns=since_ns,
        limit_bytes=args.limit_bytes,
        stream=args.stream,
        follow=args.follow,
    )
    container_id = status.id

    def still_running() -> bool:
        try:
            state = session.runtime.container_status(container_id).status.state
        except Exception:  # the container went away: nothing more will be written
            return False
        return state == api_pb2.CONTAINER_RUNNING

    try:
        f = logs.open_log(path)
    except OSError as e:
        raise CRIFailure(f"opening log file {path}: {e.strerror}") from e
    sinks = {"stdout": _binary(session.out), "stderr": _binary(session.err)}
    with f:
        try:
            logs.read_logs(
                f,
                sinks,
                options,
                is_running=still_running,
                on_bad_line=session.warn,
                reopened=logs.reopen_if_rotated(path),
            )
        except KeyboardInterrupt:
            return 0
    return 0


def _binary(stream: Any) -> Any:
    return getattr(stream, "buffer", None) or _TextSink(stream)


class _TextSink:
    """Lets the log reader write bytes to a text stream (tests capture output as text)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, data: bytes) -> int:
        self._stream.write(data.decode(errors="replace"))
        return len(data)

    def flush(self) -> None:
        self._stream.flush()


def _since_ns(text: str) -> int:
    """--since: a duration ago ('42m') or an RFC3339 time."""
    try:
        return int((time.time() - parse_duration(text)) * 1e9)
    except ValueError:
        pass
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"invalid --since {text!r}: want a duration (42m) or a time (2024-01-02T13:23:37Z)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return int(when.timestamp() * 1e9)


def register(sub: Any) -> None:
    p = sub.add_parser("logs", help="fetch the logs of a container")
    p.add_argument("container_id", metavar="CONTAINER-ID")
    p.add_argument("-f", "--follow", action="store_true", help="follow log output until the container stops")
    p.add_argument("-p", "--previous", action="store_true", help="logs of the previous attempt")
    p.add_argument("-r", "--reopen", action="store_true", help="reopen the container's log first")
    p.add_argument("--tail", type=int, default=-1, help="number of lines to show from the end (default: all)")
    p.add_argument("--limit-bytes", type=int, default=-1, help="maximum bytes of logs to return")
    p.add_argument("--since", help="show logs since a time (2013-01-02T13:23:37Z) or a duration ago (42m)")
    p.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    p.add_argument("-s", "--stream", help="only this stream: stdout or stderr")
    p.set_defaults(_cri_run=run_logs)
