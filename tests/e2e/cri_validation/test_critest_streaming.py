"""critest "Streaming" (streaming.go): Exec and Attach return a URL that streams the command's
output; PortForward returns a URL that forwards a pod port.

Every spec runs over both transports critest has: SPDY/3.1 (its default: client-go's SPDY
executor and port-forwarder, re-expressed by ``spdy_remotecommand_client.py``) and WebSocket
(``--websocket-exec``/``--websocket-attach``/``--websocket-portforward``, by
``remotecommand_client.py``). The clients run inside the daemon's network namespace, where its
streaming server listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from cri_validation_runtime import Cri, NetworkedKybRuntime, v1, wait_for

pytestmark = pytest.mark.root

CLIENTS = {"websocket": str(Path(__file__).with_name("remotecommand_client.py")),
           "spdy": str(Path(__file__).with_name("spdy_remotecommand_client.py"))}
WEB_SERVER = ["sh", "-c", "mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 80 -h /www"]


@pytest.fixture(params=["spdy", "websocket"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def stream(harness: NetworkedKybRuntime, transport: str, url: str, *args: str, spdy: tuple[str, ...] = ()) -> dict:  # type: ignore[type-arg]
    """Run the transport's client; ``spdy`` are the streams a SPDY client must open explicitly."""
    extra = list(spdy) if transport == "spdy" else []
    result = harness.in_netns([sys.executable, CLIENTS[transport], url, *args, *extra], timeout=90)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def running_container(cri: Cri):  # type: ignore[no-untyped-def]
    with cri.pod("PodSandbox-for-streaming-") as pod:
        container_id = cri.run(*pod, cri.container_config("container-for-exec-test"))
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)
        yield container_id


def test_exec_with_tty_false_and_stdin_false(cri: Cri, harness: NetworkedKybRuntime, running_container: str,
                                             transport: str) -> None:
    request = v1.ExecRequest(container_id=running_container, cmd=["echo", "-n", "hello"], stdout=True, stderr=True)
    url = cri.rt.Exec(request, timeout=10).url
    assert urlparse(url).netloc
    out = stream(harness, transport, url)
    assert (out["stdout"], out["stderr"], out["status"]["status"]) == ("hello", "", "Success")


def test_exec_with_tty_true_and_stdin_true(cri: Cri, harness: NetworkedKybRuntime, running_container: str,
                                           transport: str) -> None:
    request = v1.ExecRequest(container_id=running_container, cmd=["echo", "-n", "hello"], stdout=True, tty=True,
                             stdin=True)
    out = stream(harness, transport, cri.rt.Exec(request, timeout=10).url, spdy=("--stdin", "--tty"))
    assert "hello" in out["stdout"] and out["stderr"] == ""


def test_exec_reports_a_non_zero_exit_code(cri: Cri, harness: NetworkedKybRuntime, running_container: str,
                                           transport: str) -> None:
    request = v1.ExecRequest(container_id=running_container, cmd=["sh", "-c", "echo oops >&2; exit 3"],
                             stdout=True, stderr=True)
    out = stream(harness, transport, cri.rt.Exec(request, timeout=10).url)
    assert out["stderr"] == "oops\n"
    assert out["status"]["reason"] == "NonZeroExitCode"
    assert out["status"]["details"]["causes"][0] == {"reason": "ExitCode", "message": "3"}


def test_attach(cri: Cri, harness: NetworkedKybRuntime, transport: str) -> None:
    """critest's checkAttach: a shell with stdin_once; what is typed runs, nothing else is printed."""
    with cri.pod("PodSandbox-for-attach-") as pod:
        config = cri.container_config("container-for-attach-test", ["/bin/sh"], stdin=True, stdin_once=True,
                                      linux=v1.LinuxContainerConfig())
        container_id = cri.run(*pod, config)
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)
        request = v1.AttachRequest(container_id=container_id, stdin=True, stdout=True, stderr=True, tty=False)
        out = stream(harness, transport, cri.rt.Attach(request, timeout=10).url,
                     "--send", "echo -n hello\n", "--send-after", "1", "--close-after", "3", "--timeout", "20")
        assert (out["stdout"], out["stderr"]) == ("hello", "")
        # stdin_once: closing the attached stdin ends the shell
        assert cri.wait_state(container_id, v1.CONTAINER_EXITED, 20).exit_code == 0


def test_port_forward(cri: Cri, harness: NetworkedKybRuntime, transport: str) -> None:
    """critest's checkPortForward: a web server in the pod is reached through the forwarded port."""
    with cri.pod("PodSandbox-for-portforward-", port_mappings=[v1.PortMapping(container_port=80)]) as pod:
        container_id = cri.run(*pod, cri.container_config("container-for-portforward-test", WEB_SERVER))
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)
        wait_for(lambda: cri.exec_sync(container_id, ["wget", "-q", "-O", "-", "http://127.0.0.1:80/"]).exit_code == 0,
                 30, what="the web server")
        url = cri.rt.PortForward(v1.PortForwardRequest(pod_sandbox_id=pod[0], port=[80]), timeout=10).url
        assert urlparse(url).netloc
        out = stream(harness, transport, url + ("&" if "?" in url else "?") + "port=80", "--port-forward",
                     "--send", "GET / HTTP/1.0\r\n\r\n", "--close-after", "0", "--timeout", "20")
        assert set(out["ports"]) == {80} and out["stderr"] == ""
        assert out["stdout"].split("\r\n", 1)[0].endswith(" 200 OK") and out["stdout"].endswith("hello-from-pod\n")


def test_port_forward_in_host_network(cri: Cri, harness: NetworkedKybRuntime, transport: str) -> None:
    """critest's "portforward in host network" (streaming_linux.go): the forwarded port is the node's."""
    port = 12003  # critest's webServerHostNetContainerPort; the node namespace is this module's alone
    server = ["sh", "-c", f"mkdir -p /www && echo hello-from-host-network > /www/index.html && exec httpd -f -p {port} -h /www"]
    linux = v1.LinuxPodSandboxConfig(security_context=v1.LinuxSandboxSecurityContext(
        namespace_options=v1.NamespaceOption(network=v1.NODE)))
    with cri.pod("PodSandbox-for-host-net-portforward-", linux=linux,
                 port_mappings=[v1.PortMapping(container_port=port)]) as pod:
        container_id = cri.run(*pod, cri.container_config("container-for-host-net-portforward-test", server))
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)
        wait_for(lambda: cri.exec_sync(container_id, ["wget", "-q", "-O", "-", f"http://127.0.0.1:{port}/"]).exit_code == 0,
                 30, what="the web server")
        url = cri.rt.PortForward(v1.PortForwardRequest(pod_sandbox_id=pod[0], port=[port]), timeout=10).url
        out = stream(harness, transport, url + ("&" if "?" in url else "?") + f"port={port}", "--port-forward",
                     "--send", "GET / HTTP/1.0\r\n\r\n", "--timeout", "20")
        assert out["stderr"] == "" and out["stdout"].endswith("hello-from-host-network\n")
