"""The shim's log writer produces the CRI log format the kubelet parses."""

from __future__ import annotations

import re
from pathlib import Path

from runtime.shim.crilog import CriLogWriter, timestamp

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) ([FP]) (.*)$")


def parsed(path: Path) -> list[tuple[str, str, str]]:
    out = []
    for line in path.read_text().splitlines():
        m = LINE.match(line)
        assert m, line
        out.append((m.group(1), m.group(2), m.group(3)))
    return out


def test_timestamps_are_rfc3339_utc_with_nanoseconds() -> None:
    assert timestamp(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"
    assert timestamp(1_700_000_000_000_000_001) == "2023-11-14T22:13:20.000000001Z"


def test_complete_lines_become_full_records_per_stream(tmp_path: Path) -> None:
    log = CriLogWriter(str(tmp_path / "c.log"))
    log.write("stdout", b"one\ntw")
    log.write("stderr", b"err\n")
    log.write("stdout", b"o\n")
    log.close()
    assert parsed(tmp_path / "c.log") == [("stdout", "F", "one"), ("stderr", "F", "err"), ("stdout", "F", "two")]


def test_lines_longer_than_the_buffer_are_split_into_partials(tmp_path: Path) -> None:
    log = CriLogWriter(str(tmp_path / "c.log"), max_line=4)
    log.write("stdout", b"abcdefghij\nxy\n")
    log.close()
    assert parsed(tmp_path / "c.log") == [
        ("stdout", "P", "abcd"), ("stdout", "P", "efgh"), ("stdout", "F", "ij"), ("stdout", "F", "xy"),
    ]


def test_unterminated_text_at_close_is_a_partial_record(tmp_path: Path) -> None:
    """The container never ended the line: a reader must not add a newline (containerd writes P)."""
    log = CriLogWriter(str(tmp_path / "c.log"))
    log.write("stderr", b"no newline")
    log.close()
    assert parsed(tmp_path / "c.log") == [("stderr", "P", "no newline")]


def test_a_carriage_return_before_the_newline_is_not_content(tmp_path: Path) -> None:
    log = CriLogWriter(str(tmp_path / "c.log"))
    log.write("stdout", b"dos\r\nmid\rdle\n\r\n")
    log.close()
    records = [line.split(b" ", 3)[1:] for line in (tmp_path / "c.log").read_bytes().split(b"\n")[:-1]]
    assert records == [[b"stdout", b"F", b"dos"], [b"stdout", b"F", b"mid\rdle"], [b"stdout", b"F", b""]]


def test_a_line_as_long_as_the_limit_is_one_full_record(tmp_path: Path) -> None:
    log = CriLogWriter(str(tmp_path / "c.log"), max_line=4)
    log.write("stdout", b"abcd")
    log.write("stdout", b"\r\nefghi\n")
    log.close()
    assert parsed(tmp_path / "c.log") == [("stdout", "F", "abcd"), ("stdout", "P", "efgh"), ("stdout", "F", "i")]


def test_the_unterminated_rest_of_a_long_line_is_partial_at_close(tmp_path: Path) -> None:
    log = CriLogWriter(str(tmp_path / "c.log"), max_line=4)
    log.write("stdout", b"abcdef")
    log.close()
    assert parsed(tmp_path / "c.log") == [("stdout", "P", "abcd"), ("stdout", "P", "ef")]


def test_reopen_continues_in_a_new_file_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "c.log"
    log = CriLogWriter(str(path))
    log.write("stdout", b"before\n")
    path.rename(tmp_path / "c.log.1")
    log.reopen()
    log.write("stdout", b"after\n")
    log.close()
    assert parsed(tmp_path / "c.log.1") == [("stdout", "F", "before")]
    assert parsed(path) == [("stdout", "F", "after")]


def test_no_log_path_discards_output(tmp_path: Path) -> None:
    log = CriLogWriter("")
    log.write("stdout", b"gone\n")
    log.close()
    assert list(tmp_path.iterdir()) == []
