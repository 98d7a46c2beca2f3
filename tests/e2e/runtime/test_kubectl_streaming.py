"""kubectl exec, attach and port-forward reach containers of a real `kyb runtime` through its
streaming server, over SPDY/3.1 and over WebSocket.

kubectl 1.32 prefers WebSocket; ``KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`` and
``KUBECTL_PORT_FORWARD_WEBSOCKETS=false`` make it use SPDY, as older kubectls, kubelets and
critest do. kubectl talks to a relay posing as the apiserver's pod subresources
(``kubectl_apiserver_relay``), which gets the streaming URL over the CRI and passes kubectl's
bytes through untouched, so each test is kubectl's own client against our server. Every test
runs once per transport; the relay records the Upgrade header kubectl sent, proving which one.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import os
import pty
import re
import select
import socket
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubectl_apiserver_relay import ContainerEntry, KubectlApiserverRelay, PodEntry
from runtime_harness import RuntimeUnderTest, container_config, pod_config, wait_for

from cri.client import RuntimeClient
from runtime.linux.syscalls import CLONE_NEWNET, LibcKernel

pytestmark = pytest.mark.root


@pytest.fixture(autouse=True)
def no_tracebacks_in_the_daemon_log(runtime: RuntimeUnderTest) -> Iterator[None]:
    """Whatever a client does, the streaming server logs no unexpected exception."""
    yield
    log = runtime.daemon_log()
    assert "Traceback" not in log and "exception was never retrieved" not in log, log[-3000:]

NAMESPACE = "default"
KUBECTL_TIMEOUT = 60


@pytest.fixture(params=["spdy", "websocket"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def cri(runtime: RuntimeUnderTest) -> RuntimeClient:
    assert runtime.client is not None
    return runtime.client


@pytest.fixture
def relay(cri: RuntimeClient, runtime: RuntimeUnderTest) -> Iterator[KubectlApiserverRelay]:
    server = KubectlApiserverRelay(cri, runtime.netns)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Kubectl:
    def __init__(self, relay: KubectlApiserverRelay, netns: str, transport: str, home: Path) -> None:
        self.relay = relay
        self.netns = netns
        self.home = home
        websockets = "true" if transport == "websocket" else "false"
        kubeconfig = home / "kubeconfig"
        kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
        self.env = {**os.environ, "HOME": str(home), "KUBECONFIG": str(kubeconfig),
                    "KUBECTL_REMOTE_COMMAND_WEBSOCKETS": websockets, "KUBECTL_PORT_FORWARD_WEBSOCKETS": websockets}

    def argv(self, *args: str) -> list[str]:
        return ["nsenter", f"--net=/run/netns/{self.netns}", "kubectl", "--server", self.relay.url,
                "--cache-dir", str(self.home / "cache"), "-n", NAMESPACE, *args]

    def run(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(self.argv(*args), input=stdin, capture_output=True, env=self.env,
                              timeout=KUBECTL_TIMEOUT, stdin=None if stdin is not None else subprocess.DEVNULL)

    def popen(self, *args: str, **kwargs: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.argv(*args), env=self.env, **kwargs)  # type: ignore[call-overload, no-any-return]


@pytest.fixture
def kubectl(relay: KubectlApiserverRelay, runtime: RuntimeUnderTest, transport: str, tmp_path: Path) -> Kubectl:
    home = tmp_path / "kubectl-home"
    home.mkdir()
    return Kubectl(relay, runtime.netns, transport, home)


def start_pod(cri: RuntimeClient, relay: KubectlApiserverRelay, name: str, command: list[str], *,
              stdin: bool = False, stdin_once: bool = False, tty: bool = False) -> str:
    pod = pod_config(name)
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("main", command)
    config.stdin, config.stdin_once, config.tty = stdin, stdin_once, tty
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    relay.add_pod(NAMESPACE, name, PodEntry(sandbox, {"main": ContainerEntry(container, stdin=stdin, tty=tty)}))
    return container


def assert_transport(relay: KubectlApiserverRelay, transport: str) -> None:
    assert relay.upgrades, "kubectl never reached a streaming subresource"
    expected = "spdy/3.1" if transport == "spdy" else "websocket"
    assert {u.lower() for u in relay.upgrades} == {expected}


# ------------------------------------------------------------------------------------- exec
def test_exec_streams_stdout_and_stderr(cri: RuntimeClient, relay: KubectlApiserverRelay, kubectl: Kubectl,
                                        transport: str) -> None:
    start_pod(cri, relay, "exec-out", ["sleep", "300"])
    result = kubectl.run("exec", "exec-out", "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"to-stdout\n"
    assert b"to-stderr\n" in result.stderr
    assert_transport(relay, transport)


def test_exec_exits_with_the_commands_exit_code(cri: RuntimeClient, relay: KubectlApiserverRelay, kubectl: Kubectl,
                                                transport: str) -> None:
    start_pod(cri, relay, "exec-code", ["sleep", "300"])
    result = kubectl.run("exec", "exec-code", "--", "sh", "-c", "echo partial; exit 7")
    assert result.returncode == 7, result.stderr
    assert result.stdout == b"partial\n"
    assert_transport(relay, transport)


def test_exec_streams_megabytes_of_output(cri: RuntimeClient, relay: KubectlApiserverRelay, kubectl: Kubectl,
                                          transport: str) -> None:
    start_pod(cri, relay, "exec-big", ["sleep", "300"])
    result = kubectl.run("exec", "exec-big", "--", "sh", "-c", "head -c 5000000 /dev/urandom | od -An -v -tx1 | head -c 8000000")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) == 8_000_000
    assert_transport(relay, transport)


def test_exec_of_a_missing_command_fails_with_a_message(cri: RuntimeClient, relay: KubectlApiserverRelay,
                                                        kubectl: Kubectl, transport: str) -> None:
    start_pod(cri, relay, "exec-missing", ["sleep", "300"])
    result = kubectl.run("exec", "exec-missing", "--", "no-such-command")
    assert result.returncode != 0
    assert b"no-such-command" in result.stderr, result.stderr
    assert_transport(relay, transport)


def test_exec_feeds_stdin_until_it_closes(cri: RuntimeClient, relay: KubectlApiserverRelay, kubectl: Kubectl,
                                          transport: str) -> None:
    start_pod(cri, relay, "exec-in", ["sleep", "300"])
    payload = b"".join(b"line %d of the input\n" % i for i in range(3000))  # ~70 KiB: several frames
    result = kubectl.run("exec", "-i", "exec-in", "--", "sh", "-c", "cat > /tmp/in; wc -l < /tmp/in; md5sum < /tmp/in",
                         stdin=payload)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().split()
    assert lines[0] == "3000" and lines[1] == hashlib.md5(payload).hexdigest()  # noqa: S324
    assert_transport(relay, transport)


def test_kubectl_cp_copies_a_file_in_and_back_out(cri: RuntimeClient, relay: KubectlApiserverRelay, kubectl: Kubectl,
                                                  transport: str, tmp_path: Path) -> None:
    """kubectl cp is tar over exec: stdin in one direction, stdout in the other."""
    start_pod(cri, relay, "cp", ["sleep", "300"])
    original = tmp_path / "original.bin"
    original.write_bytes(os.urandom(300_000))
    pushed = kubectl.run("cp", str(original), "cp:/tmp/copied.bin")
    assert pushed.returncode == 0, pushed.stderr
    back = tmp_path / "back.bin"
    pulled = kubectl.run("cp", "cp:/tmp/copied.bin", str(back))
    assert pulled.returncode == 0, pulled.stderr
    assert back.read_bytes() == original.read_bytes()
    assert_transport(relay, transport)


def test_exec_with_a_terminal_gets_the_callers_window_size(cri: RuntimeClient, relay: KubectlApiserverRelay,
                                                           kubectl: Kubectl, transport: str) -> None:
    start_pod(cri, relay, "exec-tty", ["sleep", "300"])
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
    try:
        process = kubectl.popen("exec", "-i", "-t", "exec-tty", "--", "sh", "-c", "sleep 1; tty; stty size; exit 3",
                                stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        slave = -1
        output = read_until_exit(master, process)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    text = output.decode(errors="replace")
    assert process.returncode == 3, text
    assert re.search(r"/dev/pts/\d+", text), text
    assert "33 111" in text, text
    assert_transport(relay, transport)


def read_until_exit(master: int, process: subprocess.Popen[bytes]) -> bytes:
    output = b""
    deadline = time.monotonic() + KUBECTL_TIMEOUT
    closed = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([] if closed else [master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every slave end is closed
                chunk = b""
            closed = not chunk
            output += chunk
        if process.poll() is not None and (closed or not ready):
            return output
    process.kill()
    process.wait(5)
    raise AssertionError(f"kubectl did not finish: {output!r}")


# ------------------------------------------------------------------------------------- attach
def test_attach_relays_stdin_and_output(cri: RuntimeClient, relay: KubectlApiserverRelay, kubectl: Kubectl,
                                        transport: str) -> None:
    container = start_pod(cri, relay, "attach", ["sh", "-c", "while read line; do echo got:$line; done; echo bye"],
                          stdin=True, stdin_once=True)
    result = kubectl.run("attach", "-i", "attach", stdin=b"one\ntwo\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"got:one\ngot:two\nbye\n"
    wait_for(lambda: cri.container_status(container).status.state == 2, 20, what="the container to exit")
    assert_transport(relay, transport)


def test_attach_without_input_follows_the_output_until_the_container_exits(
        cri: RuntimeClient, relay: KubectlApiserverRelay, kubectl: Kubectl, transport: str) -> None:
    start_pod(cri, relay, "attach-out", ["sh", "-c", "sleep 3; echo late-out; echo late-err >&2"])
    result = kubectl.run("attach", "attach-out")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"late-out\n"
    assert b"late-err\n" in result.stderr
    assert_transport(relay, transport)


def test_attach_to_a_terminal_resizes_it_and_types_into_it(cri: RuntimeClient, relay: KubectlApiserverRelay,
                                                           kubectl: Kubectl, transport: str) -> None:
    container = start_pod(cri, relay, "attach-tty", ["sh"], stdin=True, stdin_once=True, tty=True)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 27, 99, 0, 0))
    try:
        process = kubectl.popen("attach", "-i", "-t", "attach-tty", stdin=slave, stdout=slave, stderr=slave,
                                start_new_session=True)
        os.close(slave)
        slave = -1
        time.sleep(2)  # attached, and the first resize delivered
        os.write(master, b"stty size; exit 5\r")
        output = read_until_exit(master, process)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    text = output.decode(errors="replace")
    assert "27 99" in text, text
    status = wait_for(lambda: (s := cri.container_status(container).status).state == 2 and s, 20,
                      what="the shell to exit")
    assert status.exit_code == 5
    assert_transport(relay, transport)


# ------------------------------------------------------------------------------------- port-forward
def in_netns(netns: str, fn):  # type: ignore[no-untyped-def]
    result: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with open(f"/run/netns/{netns}") as f:
                LibcKernel().setns(f.fileno(), CLONE_NEWNET)
            result.append(fn())
        except BaseException as e:  # noqa: B036 - re-raised in the test's thread
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(KUBECTL_TIMEOUT)
    if errors:
        raise errors[0]
    return result[0]


def http_get(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


@pytest.fixture
def port_forward(cri: RuntimeClient, relay: KubectlApiserverRelay, kubectl: Kubectl) -> Iterator[tuple[int, str]]:
    """(the local port kubectl forwards to the pod's 8080, the daemon's netns)"""
    container = start_pod(cri, relay, "web", ["sh", "-c", "mkdir /www; echo through-kubectl > /www/index.html; "
                                                           "exec httpd -f -p 127.0.0.1:8080 -h /www"])
    wait_for(lambda: cri.exec_sync(container, ["sh", "-c", "netstat -ltn | grep -q :8080"], timeout=5).exit_code == 0,
             20, what="httpd")
    process = kubectl.popen("port-forward", "pod/web", ":8080", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        match = re.search(r"Forwarding from 127\.0\.0\.1:(\d+) -> 8080", line)
        assert match, line + (process.stderr.read().decode() if process.poll() is not None and process.stderr else "")
        yield int(match.group(1)), kubectl.netns
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_port_forward_reaches_a_web_server_in_the_pod(port_forward: tuple[int, str], relay: KubectlApiserverRelay,
                                                      transport: str) -> None:
    port, netns = port_forward
    response = in_netns(netns, lambda: http_get(port))
    assert response.startswith(b"HTTP/1.") and response.endswith(b"through-kubectl\n")
    assert_transport(relay, transport)


def test_port_forward_to_a_port_nobody_listens_on_reports_the_error(cri: RuntimeClient, relay: KubectlApiserverRelay,
                                                                    kubectl: Kubectl, transport: str) -> None:
    start_pod(cri, relay, "closed", ["sleep", "300"])
    process = kubectl.popen("port-forward", "pod/closed", ":9", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stderr is not None
        match = re.search(r"127\.0\.0\.1:(\d+) -> 9", process.stdout.readline().decode())
        assert match
        with contextlib.suppress(OSError):
            in_netns(kubectl.netns, lambda: http_get(int(match.group(1))))
        stderr = b""
        deadline = time.monotonic() + 20
        while b"error forwarding port 9" not in stderr and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stderr], [], [], 0.5)
            if ready:
                chunk = os.read(process.stderr.fileno(), 65536)
                if not chunk:
                    break
                stderr += chunk
        assert b"error forwarding port 9" in stderr and b"refused" in stderr, stderr
    finally:
        process.kill()
        process.wait(10)
    assert_transport(relay, transport)


def test_port_forward_carries_several_connections_in_turn_and_at_once(port_forward: tuple[int, str],
                                                                      relay: KubectlApiserverRelay) -> None:
    port, netns = port_forward
    for _ in range(3):
        assert in_netns(netns, lambda: http_get(port)).endswith(b"through-kubectl\n")

    def five_at_once() -> list[bytes]:
        with concurrent.futures.ThreadPoolExecutor(5) as pool:  # threads made here share the netns
            return list(pool.map(lambda _: http_get(port), range(5)))
    assert all(r.endswith(b"through-kubectl\n") for r in in_netns(netns, five_at_once))


def test_port_forward_carries_raw_tcp_both_ways_with_half_close(cri: RuntimeClient, relay: KubectlApiserverRelay,
                                                                kubectl: Kubectl, transport: str) -> None:
    """A plain nc listener: what the client sends arrives, what nc sends comes back, and the
    client's half-close reaches nc as end of input."""
    container = start_pod(cri, relay, "nc", ["sh", "-c", "echo from-nc | nc -l -p 9000 127.0.0.1 > /tmp/got; sleep 300"])
    wait_for(lambda: cri.exec_sync(container, ["sh", "-c", "netstat -ltn | grep -q :9000"], timeout=5).exit_code == 0,
             20, what="nc")
    process = kubectl.popen("port-forward", "pod/nc", ":9000", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        match = re.search(r"127\.0\.0\.1:(\d+) -> 9000", process.stdout.readline().decode())
        assert match

        def talk() -> bytes:
            with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=20) as sock:
                sock.sendall(b"hello nc\n")
                sock.shutdown(socket.SHUT_WR)
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
                return data
        assert in_netns(kubectl.netns, talk) == b"from-nc\n"
    finally:
        process.terminate()
        process.wait(10)
    wait_for(lambda: cri.exec_sync(container, ["cat", "/tmp/got"], timeout=5).stdout == b"hello nc\n", 20,
             what="nc to write what it got")
    assert_transport(relay, transport)
