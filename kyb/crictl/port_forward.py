"""`port-forward`: local TCP ports forwarded to ports inside a pod, through the streaming URL.

`kyb cri port-forward POD [LOCAL:]REMOTE ...` listens on `--address` (default 127.0.0.1) and,
for every connection it accepts, asks the runtime for a PortForward URL (URLs are single-use
tokens on the kubelet's streaming library) and speaks Kubernetes' port-forward WebSocket
protocol on it: subprotocol `v4.channel.k8s.io` (or `portforward.k8s.io`), channel 0 carries
the data and channel 1 errors, and the server opens each channel with the port number as a
little-endian uint16, which we drop. It runs until interrupted, like crictl's.

crictl port-forwards over SPDY by default; the streaming servers of containerd, CRI-O and our
runtime also serve this WebSocket form.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from cri import api_pb2
from kyb.crictl.session import Session, UsageError

if TYPE_CHECKING:
    import asyncio

DATA, ERROR = 0, 1
SUBPROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")


def parse_port_pairs(specs: list[str]) -> list[tuple[int, int]]:
    """`[LOCAL:]REMOTE` strings to (local, remote) pairs; local 0 picks a free port."""
    pairs = []
    for spec in specs:
        local_text, sep, remote_text = spec.rpartition(":")
        if not sep:
            local_text = remote_text
        try:
            local, remote = int(local_text or 0), int(remote_text)
        except ValueError:
            raise UsageError(f"invalid port {spec!r}: want [LOCAL_PORT:]REMOTE_PORT") from None
        if not 0 < remote < 65536 or not 0 <= local < 65536:
            raise UsageError(f"invalid port {spec!r}: ports are 1-65535 (local 0: any free port)")
        pairs.append((local, remote))
    return pairs


async def pump_connection(
    url: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, warn: Any
) -> None:
    """Copy one local TCP connection to and from the pod over one WebSocket session."""
    import asyncio

    import aiohttp

    async with aiohttp.ClientSession() as http:
        try:
            ws = await http.ws_connect(url, protocols=SUBPROTOCOLS, max_msg_size=0)
        except aiohttp.ClientError as e:
            warn(f"port-forward: connecting to {url}: {e}")
            writer.close()
            return
        async with ws:

            async def local_to_pod() -> None:
                while True:
                    data = await reader.read(32 * 1024)
                    if not data:
                        return
                    await ws.send_bytes(bytes([DATA]) + data)

            upstream = asyncio.create_task(local_to_pod())
            seen_prefix = {DATA: False, ERROR: False}
            try:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.BINARY or not msg.data:
                        if msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                            break
                        continue
                    channel, data = msg.data[0], msg.data[1:]
                    if channel in seen_prefix and not seen_prefix[channel]:
                        seen_prefix[channel] = True
                        data = data[2:]  # the port number every channel starts with
                    if not data:
                        continue
                    if channel == DATA:
                        writer.write(data)
                        await writer.drain()
                    elif channel == ERROR:
                        warn(f"port-forward: {data.decode(errors='replace').strip()}")
            finally:
                upstream.cancel()
                writer.close()


async def forward(session: Session, pod_id: str, pairs: list[tuple[int, int]], address: str) -> None:
    import asyncio

    servers = []
    for local, remote in pairs:

        async def handle(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, remote: int = remote
        ) -> None:
            request = api_pb2.PortForwardRequest(pod_sandbox_id=pod_id, port=[remote])
            try:
                url = session.call_runtime("PortForward", request, f"port-forward to pod {pod_id}").url
            except Exception as e:  # one failed connection must not end the others
                session.warn(str(e))
                writer.close()
                return
            separator = "&" if "?" in url else "?"
            await pump_connection(f"{url}{separator}port={remote}", reader, writer, session.warn)

        server = await asyncio.start_server(handle, address, local)
        bound = server.sockets[0].getsockname()
        session.print(f"Forwarding from {bound[0]}:{bound[1]} -> {remote}")
        session.out.flush()
        servers.append(server)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def run_port_forward(session: Session, args: argparse.Namespace) -> int:
    import asyncio

    pairs = parse_port_pairs(args.ports)
    with session.attempt(f"getting the status of pod sandbox {args.pod_id}"):
        session.runtime.pod_sandbox_status(args.pod_id)
    try:
        asyncio.run(forward(session, args.pod_id, pairs, args.address))
    except KeyboardInterrupt:
        return 0
    except OSError as e:
        raise UsageError(f"cannot listen on {args.address}: {e.strerror}") from e
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("port-forward", help="forward local ports to a pod")
    p.add_argument("pod_id", metavar="POD-ID")
    p.add_argument("ports", nargs="+", metavar="[LOCAL_PORT:]REMOTE_PORT")
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.set_defaults(_cri_run=run_port_forward)
