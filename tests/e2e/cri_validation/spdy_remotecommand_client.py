"""A small SPDY/3.1 client of the streaming server, as client-go's SPDY executor and port-forwarder
behave, for tests: the twin of ``remotecommand_client.py`` (WebSocket) with the same command line.

critest streams Exec and Attach with ``remotecommand.NewSPDYExecutor`` and port-forwards over
``spdy.RoundTripperFor`` unless told to use WebSocket. This client does what they do on the wire:
``POST`` with ``Upgrade: SPDY/3.1`` and ``X-Stream-Protocol-Version`` (v4 first), then one stream
per role named by ``streamType`` (error first; stdin, stdout, stderr as asked; resize with a
terminal), stdin written after a delay and closed with FIN, output read until the server closes
stdout, stderr and the error stream; port-forward opens an error and a data stream with a shared
``requestID``. Frames are encoded with the runtime's codec (the server's interop with Go's
framer is proven by the kubectl tests). It prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from runtime.streaming.spdy_frames import (
    DataFrame,
    FrameDecoder,
    FrameEncoder,
    GoAway,
    Ping,
    RstStream,
    SynReply,
    SynStream,
)

PROTOCOLS = ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"]
PORT_FORWARD_PROTOCOLS = ["portforward.k8s.io"]


class UpgradeRefused(Exception):
    def __init__(self, status: int, body: str, headers: dict[str, str]) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body, self.headers = status, body, headers


class SpdyClient:
    """One upgraded connection; streams are opened by this side (odd ids)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, protocol: str) -> None:
        self.reader, self.writer, self.protocol = reader, writer, protocol
        self.encoder, self.decoder = FrameEncoder(), FrameDecoder()
        self.next_id = 1
        self.data: dict[int, bytearray] = {}
        self.finished: set[int] = set()  # the server sent FIN or RST
        self.resets: dict[int, int] = {}
        self.replied: set[int] = set()
        self.pongs: list[int] = []
        self.goaway: GoAway | None = None
        self.closed = False
        self._changed = asyncio.Event()
        self._reader_task = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(cls, url: str, protocols: list[str], method: str = "POST",
                      upgrade: str = "SPDY/3.1") -> SpdyClient:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: Upgrade", f"Upgrade: {upgrade}"]
        lines += [f"X-Stream-Protocol-Version: {p}" for p in protocols]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        headers: dict[str, str] = {}
        for name, value in (line.split(":", 1) for line in head[1:] if ":" in line):
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        if status != 101:
            length = int(headers.get("content-length", "0"))
            body = (await reader.readexactly(length)).decode(errors="replace") if length else ""
            writer.close()
            raise UpgradeRefused(status, body, headers)
        return cls(reader, writer, headers.get("x-stream-protocol-version", ""))

    def send(self, frame: Any) -> None:
        self.writer.write(self.encoder.encode(frame))

    async def open(self, headers: dict[str, str], timeout: float = 10.0) -> int:
        stream_id = self.next_id
        self.next_id += 2
        self.data[stream_id] = bytearray()
        self.send(SynStream(stream_id, {k.lower(): [v] for k, v in headers.items()}))
        await self.wait(lambda: stream_id in self.replied or stream_id in self.resets, timeout)
        return stream_id

    async def wait(self, condition: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.closed:
                return bool(condition())
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                return bool(condition())
        return True

    async def _read(self) -> None:
        try:
            while chunk := await self.reader.read(65536):
                self.decoder.feed(chunk)
                for frame in self.decoder.frames():
                    if isinstance(frame, SynReply):
                        self.replied.add(frame.stream_id)
                    elif isinstance(frame, DataFrame):
                        self.data.setdefault(frame.stream_id, bytearray()).extend(frame.data)
                        if frame.fin:
                            self.finished.add(frame.stream_id)
                    elif isinstance(frame, RstStream):
                        self.resets[frame.stream_id] = frame.status
                        self.finished.add(frame.stream_id)
                    elif isinstance(frame, Ping):
                        self.pongs.append(frame.ping_id)
                    elif isinstance(frame, GoAway):
                        self.goaway = frame
                    self._changed.set()
        except ConnectionError:
            pass
        finally:
            self.closed = True
            self._changed.set()

    async def close(self) -> None:
        for stream_id in self.data:
            if stream_id not in self.finished:
                self.send(RstStream(stream_id, 5))
        self.send(GoAway(0))
        self.writer.close()
        self._reader_task.cancel()


async def remote_command(args: argparse.Namespace) -> dict[str, Any]:
    client = await SpdyClient.connect(args.url, [args.protocol] if args.protocol else PROTOCOLS)
    out: dict[str, Any] = {"stdout": "", "stderr": "", "status": None, "protocol": client.protocol, "error_text": ""}
    streams = {"error": await client.open({"streamType": "error"})}
    if args.stdin:
        streams["stdin"] = await client.open({"streamType": "stdin"})
    streams["stdout"] = await client.open({"streamType": "stdout"})
    if not args.no_stderr and not args.tty:
        streams["stderr"] = await client.open({"streamType": "stderr"})
    if args.tty and client.protocol in PROTOCOLS[:2]:
        streams["resize"] = await client.open({"streamType": "resize"})
        client.send(DataFrame(streams["resize"], json.dumps({"Width": args.width, "Height": args.height}).encode()))
    if args.send is not None and "stdin" in streams:
        await asyncio.sleep(args.send_after)
        client.send(DataFrame(streams["stdin"], args.send.encode()))
        await asyncio.sleep(args.close_after)
        client.send(DataFrame(streams["stdin"], b"", fin=True))
    ends = [streams[name] for name in ("error", "stdout", "stderr") if name in streams]
    await client.wait(lambda: all(s in client.finished for s in ends), args.timeout)
    out["stdout"] = client.data[streams["stdout"]].decode(errors="replace")
    if "stderr" in streams:
        out["stderr"] = client.data[streams["stderr"]].decode(errors="replace")
    error = bytes(client.data[streams["error"]])
    if client.protocol == "v4.channel.k8s.io" and error:
        out["status"] = json.loads(error)
    else:
        out["error_text"] = error.decode(errors="replace")
    out["complete"] = all(s in client.finished for s in ends)
    await client.close()
    return out


async def port_forward(args: argparse.Namespace) -> dict[str, Any]:
    port = urlsplit(args.url).query.partition("port=")[2].split("&")[0] or str(args.port)
    client = await SpdyClient.connect(args.url, PORT_FORWARD_PROTOCOLS)
    error = await client.open({"streamType": "error", "port": port, "requestID": "0"})
    data = await client.open({"streamType": "data", "port": port, "requestID": "0"})
    if args.send is not None:
        await asyncio.sleep(args.send_after)
        client.send(DataFrame(data, args.send.encode()))
    await client.wait(lambda: data in client.finished and error in client.finished, args.timeout)
    out = {"stdout": client.data[data].decode(errors="replace"), "stderr": client.data[error].decode(errors="replace"),
           "protocol": client.protocol, "ports": [int(port)]}
    await client.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--send", default=None, help="text to write to stdin (or the forwarded port)")
    parser.add_argument("--send-after", type=float, default=0.0)
    parser.add_argument("--close-after", type=float, default=0.0, help="close stdin this long after sending")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--port-forward", action="store_true", help="speak the port-forward protocol")
    parser.add_argument("--port", type=int, default=0, help="the port to forward when the URL names none")
    parser.add_argument("--stdin", action="store_true", help="open a stdin stream (sent with --send)")
    parser.add_argument("--no-stderr", action="store_true", help="open no stderr stream")
    parser.add_argument("--tty", action="store_true", help="a terminal: no stderr, a resize stream from v3")
    parser.add_argument("--width", type=int, default=80)
    parser.add_argument("--height", type=int, default=24)
    parser.add_argument("--protocol", default="", help="offer only this remote-command version")
    args = parser.parse_args()
    if args.send is not None and not args.port_forward:
        args.stdin = True
    run = port_forward if args.port_forward else remote_command
    json.dump(asyncio.run(asyncio.wait_for(run(args), args.timeout + 30)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
