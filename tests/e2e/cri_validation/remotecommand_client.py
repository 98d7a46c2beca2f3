"""A command-line client of Kubernetes' WebSocket remote-command protocol, for the streaming tests.

critest streams Exec and Attach with client-go's remotecommand executor (SPDY, or WebSocket with
``--websocket-exec``/``--websocket-attach``). This is the WebSocket variant, small enough to read:
it opens the URL the runtime returned with the ``v5.channel.k8s.io`` subprotocol (``v4`` as a
fallback), optionally writes to stdin after a delay and then closes it (v5's ``[255, 0]``), and
collects stdout, stderr and the final status (channel 3) until the server closes the stream.
It prints one JSON object. The tests run it inside the runtime's network namespace, where the
streaming server listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import aiohttp

PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
STDIN, STDOUT, STDERR, ERROR, CLOSE = 0, 1, 2, 3, 255


async def stream(args: argparse.Namespace) -> dict[str, object]:
    out = {"stdout": "", "stderr": "", "status": None, "protocol": None}
    async with aiohttp.ClientSession() as session, session.ws_connect(args.url, protocols=PROTOCOLS) as ws:
        out["protocol"] = ws.protocol

        async def writer() -> None:
            if args.send is None:
                return
            await asyncio.sleep(args.send_after)
            await ws.send_bytes(bytes([STDIN]) + args.send.encode())
            await asyncio.sleep(args.close_after)
            if ws.protocol == PROTOCOLS[0]:
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
                if channel == STDOUT:
                    out["stdout"] += data.decode(errors="replace")
                elif channel == STDERR:
                    out["stderr"] += data.decode(errors="replace")
                elif channel == ERROR and data:
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
    args = parser.parse_args()
    json.dump(asyncio.run(stream(args)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
