"""How StartContainer uses a container's prestarted shim: what it takes as the start's reply,
and when it must start the container from scratch instead."""

from __future__ import annotations

from typing import Any

from runtime.container.prestart import ABORT_WAIT, Prestarts
from runtime.forkserver_client import ForkServerError, UnreadByChild


class FakeConnection:
    """Plays the shim's side: a list of replies (dicts, or errors to raise) and what was sent."""

    def __init__(self, replies: list[Any], send_fails: bool = False) -> None:
        self.replies = list(replies)
        self.send_fails = send_fails
        self.sent: list[dict] = []
        self.closed = False
        self.called_off: float | None = None

    def receive(self, timeout: float | None) -> dict:
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def send(self, message: dict) -> None:
        if self.send_fails:
            raise ForkServerError("broken pipe")
        self.sent.append(message)

    def close(self) -> None:
        self.closed = True

    def call_off(self, timeout: float) -> None:
        self.called_off = timeout
        self.close()


class FakeForkServer:
    def __init__(self, connection: FakeConnection | None = None) -> None:
        self.connection = connection
        self.requests: list[dict] = []

    def request(self, message: dict) -> FakeConnection:
        self.requests.append(message)
        if self.connection is None:
            raise ForkServerError("unreachable")
        return self.connection


def prestarted(connection: FakeConnection) -> Prestarts:
    prestarts = Prestarts(FakeForkServer(connection))  # type: ignore[arg-type]
    prestarts.begin("c1", "/containers/c1", "new")
    return prestarts


STARTED = {"pid": 10, "shim_pid": 9, "started_at": 1, "user": None}


def test_a_ready_shim_is_told_to_go_and_its_reply_is_the_start_reply() -> None:
    connection = FakeConnection([{"ready": True, "shim_pid": 9}, STARTED])
    assert prestarted(connection).finish("c1", 5) == STARTED
    assert connection.sent == [{"go": True}]
    assert connection.closed


def test_the_request_names_the_container_and_its_pid_namespace_mode() -> None:
    forkserver = FakeForkServer(FakeConnection([]))
    Prestarts(forkserver).begin("c1", "/containers/c1", "join")  # type: ignore[arg-type]
    assert forkserver.requests == [{"op": "prestart", "container_dir": "/containers/c1", "pid_mode": "join"}]


def test_without_a_prestart_the_container_is_started_from_scratch() -> None:
    assert Prestarts(FakeForkServer()).finish("c1", 5) is None  # type: ignore[arg-type]


def test_an_unreachable_fork_server_at_create_only_means_no_prestart() -> None:
    prestarts = Prestarts(FakeForkServer(None))  # type: ignore[arg-type]
    prestarts.begin("c1", "/containers/c1", "new")
    assert prestarts.finish("c1", 5) is None


def test_a_shim_gone_before_ready_means_a_start_from_scratch() -> None:
    assert prestarted(FakeConnection([ForkServerError("eof")])).finish("c1", 5) is None


def test_a_shim_gone_before_hearing_go_means_a_start_from_scratch() -> None:
    connection = FakeConnection([{"ready": True, "shim_pid": 9}], send_fails=True)
    assert prestarted(connection).finish("c1", 5) is None


def test_a_shim_gone_after_go_is_a_start_error_never_a_second_process() -> None:
    connection = FakeConnection([{"ready": True, "shim_pid": 9}, ForkServerError("eof")])
    reply = prestarted(connection).finish("c1", 5)
    assert reply is not None and "went away" in reply["error"]


def test_a_shim_that_died_with_go_unread_means_a_start_from_scratch() -> None:
    # Sending worked (the shim was still closing) but the kernel says go was never read.
    connection = FakeConnection([{"ready": True, "shim_pid": 9}, UnreadByChild("reset")])
    assert prestarted(connection).finish("c1", 5) is None


def test_a_setup_error_of_the_prepared_process_is_the_start_error() -> None:
    error = {"error": "mount /data: no such file or directory"}
    assert prestarted(FakeConnection([error])).finish("c1", 5) == error


def test_a_lost_pre_forked_process_means_a_start_from_scratch() -> None:
    assert prestarted(FakeConnection([{"error": "gone", "retry": True}])).finish("c1", 5) is None


def test_aborting_calls_the_shim_off_and_a_later_start_does_it_all() -> None:
    connection = FakeConnection([{"ready": True, "shim_pid": 9}, STARTED])
    prestarts = prestarted(connection)
    prestarts.abort("c1")
    assert connection.called_off == ABORT_WAIT and connection.closed
    assert prestarts.finish("c1", 5) is None


def test_the_start_is_recorded_after_go_is_sent_and_before_the_exec_is_confirmed() -> None:
    ready = {"ready": True, "shim_pid": 9, "pid": 10, "user": {"uid": 0}}
    connection = FakeConnection([ready, STARTED])
    seen: list[tuple[dict, list[dict]]] = []
    prestarted(connection).finish("c1", 5, while_exec=lambda r: seen.append((r, list(connection.sent))))
    assert seen == [(ready, [{"go": True}])]


def test_nothing_is_recorded_when_the_go_never_reached_the_shim() -> None:
    connection = FakeConnection([{"ready": True, "shim_pid": 9, "pid": 10}], send_fails=True)
    seen: list[dict] = []
    assert prestarted(connection).finish("c1", 5, while_exec=seen.append) is None
    assert seen == []
