"""A shim's exit notice reaches the daemon's exit watcher at once; anything else sent to the
socket is ignored, and a second watcher for the same root leaves the first one listening."""

from __future__ import annotations

import secrets
import threading

from runtime.container.exit_watcher import ExitWatcher
from runtime.shim.exit_notice import notice_address, send_notice


def watcher() -> tuple[ExitWatcher, str, list[str], threading.Event]:
    address = notice_address(f"/test-root-{secrets.token_hex(8)}")
    seen: list[str] = []
    arrived = threading.Event()

    def on_exit(container_id: str) -> None:
        seen.append(container_id)
        arrived.set()

    w = ExitWatcher(on_exit, address)
    w.start()
    return w, address, seen, arrived


def test_a_notice_names_the_exited_container_to_the_watcher() -> None:
    w, address, seen, arrived = watcher()
    try:
        send_notice(address, "c" * 64)
        assert arrived.wait(5)
        assert seen == ["c" * 64]
    finally:
        w.stop()


def test_a_notice_that_is_not_a_container_id_is_ignored() -> None:
    w, address, seen, arrived = watcher()
    try:
        send_notice(address, "../../etc/passwd")
        send_notice(address, "d" * 64)
        assert arrived.wait(5)
        assert seen == ["d" * 64]
    finally:
        w.stop()


def test_a_second_watcher_for_the_same_root_does_not_take_the_notices() -> None:
    w, address, seen, arrived = watcher()
    ExitWatcher(lambda _id: None, address)  # its bind fails: it would rely on pidfds alone
    try:
        send_notice(address, "e" * 64)
        assert arrived.wait(5)
        assert seen == ["e" * 64]
    finally:
        w.stop()


def test_sending_with_nobody_listening_is_quiet() -> None:
    send_notice(notice_address(f"/nobody-{secrets.token_hex(8)}"), "f" * 64)
