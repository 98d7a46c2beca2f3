"""A command-line client of Kubernetes' WebSocket remote-command protocol, for the streaming tests.

critest streams Exec and Attach with client-go's remotecommand executor (SPDY, or WebSocket with
``--websocket-exec``/``--websocket-attach``). This is the WebSocket variant, small enough to read:
it opens the URL the runtime returned with the ``v5.channel.k8s.io`` subprotocol (``v4`` as a
fallback), optionally writes to stdin after a delay and then closes it (v5's ``[255, 0]``), and
collects stdout, stderr and the final status (channel 3) until the server closes the stream.
It prints one JSON object. The tests run it inside the runtime's network namespace, where the
streaming server listens.

With ``--port-forward`` it speaks the streaming server's port-forward protocol instead
(``portforward.k8s.io``, ports named in the ``port`` query): each port's data and error channels
(2i, 2i+1) open with the port number, which is checked and dropped; what is sent goes to the
first port's data channel, its data is reported as stdout and its errors as stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import aiohttp

PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
PORT_FORWARD_PROTOCOLS = ["portforward.k8s.io"]
STDIN, STDOUT, STDERR, ERROR, CLOSE = 0, 1, 2, 3, 255


async def stream(args: argparse.Namespace) -> dict[str, object]:
    out = {"stdout": "", "stderr": "", "status": None, "protocol": None, "ports": []}
    protocols = PORT_FORWARD_PROTOCOLS if args.port_forward else PROTOCOLS
    # port-forward: data channel 0 plays stdin/stdout, error channel 1 plays stderr
    channels = {0: "stdout", 1: "stderr"} if args.port_forward else {STDOUT: "stdout", STDERR: "stderr"}
    opened: set[int] = set()
    async with aiohttp.ClientSession() as session, session.ws_connect(args.url, protocols=protocols) as ws:
        out["protocol"] = ws.protocol

        async def writer() -> None:
            if args.send is None:
                return
            await asyncio.sleep(args.send_after)
            await ws.send_bytes(bytes([STDIN]) + args.send.encode())
            await asyncio.sleep(args.close_after)
            if ws.protocol == "v5.channel.k8s.io":
                await ws.send_bytes(bytes([CLOSE, STDIN]))

        task = asyncio.create_task(writer())
        deadline = time.monotonic() + args.timeout
        try:
            while time.monotonic() < deadline:
                try:
                    msg = await asyncio.wait_for(ws.receive(), max(0.1, deadline - time.monotonic()))
                except TimeoutError:
                    break
                if msg.type != aiohttp.WSMsgType.BINARY:
                    break
                if not msg.data:
                    continue
                channel, data = msg.data[0], msg.data[1:]
                if args.port_forward and channel not in opened:
                    opened.add(channel)
                    out["ports"].append(int.from_bytes(data[:2], "little"))  # type: ignore[attr-defined]
                    continue
                if channel in channels:
                    out[channels[channel]] += data.decode(errors="replace")  # type: ignore[operator]
                elif channel == ERROR and not args.port_forward and data:
                    out["status"] = json.loads(data)
        finally:
            task.cancel()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--send", default=None, help="text to write to stdin")
    parser.add_argument("--send-after", type=float, default=0.0)
    parser.add_argument("--close-after", type=float, default=0.0, help="close stdin this long after sending")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--port-forward", action="store_true", help="speak the port-forward protocol")
    args = parser.parse_args()
    json.dump(asyncio.run(stream(args)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
