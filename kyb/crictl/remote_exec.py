"""`exec` and `attach`: a command in a container, synchronously (ExecSync) or streamed (URL).

`exec -s` calls ExecSync and prints the command's stdout and stderr to ours, then exits with the
command's exit code. Without `-s`, crictl's default, we call Exec: the runtime answers with a URL
on its streaming server, which speaks Kubernetes' remote-command protocol. We connect over
WebSocket with the `v4.channel.k8s.io` subprotocol (every message is one channel byte then data:
0 stdin, 1 stdout, 2 stderr, 3 the final Status as JSON, 4 terminal size), copy our stdin (`-i`)
to the container and its output to ours, and exit with the code the Status carries.

crictl speaks SPDY by default and WebSocket with `--transport websocket`; we only speak
WebSocket, which the kubelet's streaming library (used by containerd and CRI-O) serves too. The
v4 protocol has no way to close stdin alone, so `-i` with a command that waits for end of input
(like `cat`) ends only when the user interrupts it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import termios
import threading
import tty
from typing import TYPE_CHECKING, Any

from cri import api_pb2
from kyb.crictl.session import CRIFailure, Session, UsageError

if TYPE_CHECKING:
    import asyncio

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
SUBPROTOCOLS = ("v4.channel.k8s.io",)


def exit_code_from_status(status: dict[str, Any]) -> int:
    """The command's exit code from the remote-command Status (Success, or NonZeroExitCode)."""
    if status.get("status") == "Success":
        return 0
    if status.get("reason") == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                try:
                    return int(cause.get("message", "1"))
                except ValueError:
                    return 1
    raise CRIFailure(f"exec failed: {status.get('message') or status}")


async def stream_exec(url: str, stdin: bool, use_tty: bool, out: Any, err: Any) -> int:
    """Attach to an exec session at `url`; return the remote command's exit code."""
    import asyncio

    import aiohttp

    loop = asyncio.get_running_loop()
    code: int | None = None
    async with aiohttp.ClientSession() as http:
        try:
            ws = await http.ws_connect(url, protocols=SUBPROTOCOLS, max_msg_size=0, autoping=True)
        except aiohttp.ClientError as e:
            raise CRIFailure(f"connecting to the streaming URL {url}: {e}") from e
        async with ws:
            pump: asyncio.Task[None] | None = None
            if stdin:
                pump = asyncio.create_task(_pump_stdin(ws, loop))
            if use_tty:
                await _send_size(ws)
                try:
                    loop.add_signal_handler(signal.SIGWINCH, lambda: loop.create_task(_send_size(ws)))
                except (NotImplementedError, RuntimeError):
                    pass
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.BINARY or not msg.data:
                    if msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                        break
                    continue
                channel, data = msg.data[0], msg.data[1:]
                if channel == STDOUT:
                    out.write(data)
                    out.flush()
                elif channel == STDERR:
                    err.write(data)
                    err.flush()
                elif channel == ERROR and data:
                    code = exit_code_from_status(json.loads(data))
            if pump is not None:
                pump.cancel()
    if code is None:
        # The server closed without a Status: by the protocol that means success.
        code = 0
    return code


async def _pump_stdin(ws: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Copy our stdin to channel 0 until it ends.

    Reads are driven by the event loop (add_reader) so nothing blocks when the remote command
    ends first; stdin that epoll cannot watch (a regular file) is read by a daemon thread,
    which the process does not wait for at exit.
    """
    import asyncio

    fd = sys.stdin.fileno()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()

    def readable() -> None:
        try:
            data = os.read(fd, 32 * 1024)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
        chunks.put_nowait(data)

    try:
        loop.add_reader(fd, readable)
        watched = True
    except (PermissionError, ValueError, OSError):
        watched = False

        def read_in_thread() -> None:
            while True:
                data = os.read(fd, 32 * 1024)
                loop.call_soon_threadsafe(chunks.put_nowait, data)
                if not data:
                    return

        threading.Thread(target=read_in_thread, name="exec-stdin", daemon=True).start()
    try:
        while True:
            data = await chunks.get()
            if not data:
                return
            await ws.send_bytes(bytes([STDIN]) + data)
    finally:
        if watched:
            loop.remove_reader(fd)


async def _send_size(ws: Any) -> None:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return
    await ws.send_bytes(bytes([RESIZE]) + json.dumps({"Width": size.columns, "Height": size.lines}).encode())


def run_exec(session: Session, args: argparse.Namespace) -> int:
    if not args.command:
        raise UsageError("exec needs a CONTAINER-ID and a COMMAND")
    container_id, command = args.container_id, list(args.command)
    if args.sync:
        with session.attempt(f"execing command in container {container_id} synchronously"):
            response = session.runtime.exec_sync(container_id, command, timeout=args.exec_timeout)
        _write_bytes(session.out, response.stdout)
        _write_bytes(session.err, response.stderr)
        return response.exit_code
    if args.tty and not args.interactive:
        raise UsageError("tty=true must be specified with interactive=true (-it)")
    if args.transport == "spdy":
        session.warn("the spdy transport is not supported; using websocket")
    request = api_pb2.ExecRequest(
        container_id=container_id,
        cmd=command,
        tty=args.tty,
        stdin=args.interactive,
        stdout=True,
        stderr=not args.tty,
    )
    url = session.call_runtime("Exec", request, f"execing command in container {container_id}").url
    return _stream(session, url, args.interactive, args.tty)


def _stream(session: Session, url: str, stdin: bool, use_tty: bool) -> int:
    """Run the remote-command client on our stdio, the terminal raw while a tty is in use."""
    if url.startswith("/"):
        url = "http://127.0.0.1:10250" + url  # crictl's default for runtimes answering with a path
    out = getattr(session.out, "buffer", session.out)
    err = getattr(session.err, "buffer", session.err)
    saved = None
    if use_tty and sys.stdin.isatty():
        saved = termios.tcgetattr(sys.stdin.fileno())
        tty.setraw(sys.stdin.fileno())
    import asyncio

    try:
        return asyncio.run(stream_exec(url, stdin, use_tty, out, err))
    except KeyboardInterrupt:
        return 130
    finally:
        if saved is not None:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)


def run_attach(session: Session, args: argparse.Namespace) -> int:
    """crictl's `attach`: the container's own stdio through the streaming URL, until it exits."""
    if args.tty and not args.stdin:
        raise UsageError("tty=true must be specified with stdin=true (-it)")
    request = api_pb2.AttachRequest(
        container_id=args.container_id, stdin=args.stdin, tty=args.tty, stdout=True, stderr=not args.tty
    )
    url = session.call_runtime("Attach", request, f"attaching to container {args.container_id}").url
    return _stream(session, url, args.stdin, args.tty)


def _write_bytes(stream: Any, data: bytes) -> None:
    if not data:
        return
    target = getattr(stream, "buffer", None)
    if target is not None:
        stream.flush()
        target.write(data)
        target.flush()
    else:
        stream.write(data.decode(errors="replace"))


def register(sub: Any) -> None:
    p = sub.add_parser("exec", help="run a command in a running container")
    p.add_argument("-s", "--sync", action="store_true", help="run the command synchronously (ExecSync)")
    p.add_argument(
        "--timeout", dest="exec_timeout", type=int, default=0, help="timeout in seconds for -s (0: none)"
    )
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open")
    p.add_argument(
        "-r",
        "--transport",
        choices=("websocket", "spdy"),
        default="websocket",
        help="streaming transport; only websocket is spoken (spdy falls back to it with a warning)",
    )
    p.add_argument("container_id", metavar="CONTAINER-ID")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]")
    p.set_defaults(_cri_run=run_exec)

    p = sub.add_parser("attach", help="attach to a running container")
    p.add_argument("-i", "--stdin", action="store_true", help="pass our stdin to the container")
    p.add_argument("-t", "--tty", action="store_true", help="stdin is a TTY")
    p.add_argument("container_id", metavar="CONTAINER-ID")
    p.set_defaults(_cri_run=run_attach)
