"""The streaming server behind the CRI Exec, Attach and PortForward: one-time URLs, two transports.

    server.py                   lifecycle, tokens to sessions, SPDY or WebSocket by the Upgrade header
    tokens.py                   the one-time tokens the URLs carry
    exec_process.py             a command exec'd into a container, and its fds, for any transport
    attach_socket.py            reaching a container's shim for Attach
    status.py                   the Kubernetes Status that ends a remote command
    websocket_remotecommand.py  Exec/Attach over the WebSocket channel protocols (v5, v4, v1)
    portforward.py              port-forward over WebSocket channels; connecting inside a pod
    spdy_dictionary.py          SPDY/3's header compression dictionary
    spdy_frames.py              SPDY/3 frames: encoding, incremental decoding, header blocks
    spdy_session.py             a server-side SPDY/3.1 connection: streams, FIN, reset, ping, GOAWAY
    spdy_upgrade.py             the HTTP upgrade handshake; raw and WebSocket-tunnelled byte channels
    spdy_remotecommand.py       Exec/Attach over SPDY (v4.channel.k8s.io .. channel.k8s.io)
    spdy_portforward.py         port-forward over SPDY (portforward.k8s.io): stream pairs by request id
"""
