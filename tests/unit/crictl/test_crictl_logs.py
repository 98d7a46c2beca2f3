"""Reading the CRI log format: records, partial lines, tail, timestamps, limits and follow."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kyb.crictl.logs import LogFormatError, LogOptions, parse_record, read_logs, tail_offset


def _log(*records: str) -> io.BytesIO:
    return io.BytesIO("".join(r + "\n" for r in records).encode())


def _read(data: io.BytesIO, **options: object) -> tuple[str, str]:
    out, err = io.BytesIO(), io.BytesIO()
    read_logs(data, {"stdout": out, "stderr": err}, LogOptions(**options))  # type: ignore[arg-type]
    return out.getvalue().decode(), err.getvalue().decode()


def test_full_record_parses_into_its_fields() -> None:
    record = parse_record(b"2016-10-06T00:17:09.669794202Z stdout F log content 1\n")
    assert (record.stream, record.partial, record.content) == ("stdout", False, b"log content 1")
    assert record.fixed_timestamp == "2016-10-06T00:17:09.669794202Z"


def test_partial_record_and_extra_tags() -> None:
    record = parse_record(b"2016-10-06T00:17:09.1Z stderr P:more half")
    assert (record.stream, record.partial, record.content) == ("stderr", True, b"half")


def test_empty_content_is_an_empty_line() -> None:
    assert parse_record(b"2016-10-06T00:17:09Z stdout F\n").content == b""


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (b"yesterday stdout F x", "timestamp"),
        (b"2016-10-06T00:17:09Z stdin F x", "stream"),
        (b"2016-10-06T00:17:09Z stdout X x", "tag"),
        (b"just text", "CRI log line"),
    ],
)
def test_malformed_records_name_the_bad_field(line: bytes, field: str) -> None:
    with pytest.raises(LogFormatError, match=field):
        parse_record(line)


def test_partial_pieces_are_joined_into_one_line() -> None:
    data = _log(
        "2024-01-01T00:00:00.1Z stdout P abc",
        "2024-01-01T00:00:00.2Z stdout P def",
        "2024-01-01T00:00:00.3Z stdout F ghi",
    )
    assert _read(data) == ("abcdefghi\n", "")


def test_streams_go_to_their_own_sinks() -> None:
    data = _log("2024-01-01T00:00:00Z stdout F out", "2024-01-01T00:00:01Z stderr F err")
    assert _read(data) == ("out\n", "err\n")


def test_stream_option_keeps_only_that_stream() -> None:
    data = _log("2024-01-01T00:00:00Z stdout F out", "2024-01-01T00:00:01Z stderr F err")
    assert _read(data, stream="stderr") == ("", "err\n")


def test_timestamps_prefix_each_logical_line_with_nine_digits() -> None:
    data = _log(
        "2024-01-01T00:00:00.5Z stdout P ab",
        "2024-01-01T00:00:01Z stdout F cd",
        "2024-01-01T00:00:02+02:00 stdout F e",
    )
    out, _ = _read(data, timestamps=True)
    assert out == "2024-01-01T00:00:00.500000000Z abcd\n2024-01-01T00:00:02.000000000+02:00 e\n"


def test_tail_counts_logical_lines_not_records() -> None:
    data = _log(
        "2024-01-01T00:00:00Z stdout F one",
        "2024-01-01T00:00:01Z stdout P tw",
        "2024-01-01T00:00:02Z stdout F o",
        "2024-01-01T00:00:03Z stdout F three",
    )
    assert _read(data, tail=2) == ("two\nthree\n", "")
    assert _read(_log("2024-01-01T00:00:00Z stdout F one"), tail=5) == ("one\n", "")
    assert _read(_log("2024-01-01T00:00:00Z stdout F one"), tail=0) == ("", "")


def test_tail_counts_a_last_line_the_container_never_ended() -> None:
    data = _log(
        "2024-01-01T00:00:00Z stdout F one",
        "2024-01-01T00:00:01Z stderr F err",
        "2024-01-01T00:00:02Z stdout P no-",
        "2024-01-01T00:00:03Z stdout P newline",
    )
    assert _read(data, tail=1) == ("no-newline", "")
    assert _read(data, tail=2) == ("no-newline", "err\n")


def test_tail_with_a_stream_counts_that_streams_lines() -> None:
    data = _log(
        "2024-01-01T00:00:00Z stdout F a",
        "2024-01-01T00:00:01Z stdout F b",
        "2024-01-01T00:00:02Z stderr F c",
    )
    assert tail_offset(data, 1, "stdout") == len(b"2024-01-01T00:00:00Z stdout F a\n")


def test_limit_bytes_cuts_the_output() -> None:
    data = _log("2024-01-01T00:00:00Z stdout F hello", "2024-01-01T00:00:01Z stdout F world")
    assert _read(data, limit_bytes=8) == ("hello\nwo", "")


def test_since_skips_older_records() -> None:
    data = _log("2024-01-01T00:00:00Z stdout F old", "2024-01-01T00:00:10Z stdout F new")
    since = parse_record(b"2024-01-01T00:00:05Z stdout F x").epoch_ns
    assert _read(data, since_ns=since) == ("new\n", "")


def test_unparseable_lines_are_reported_and_skipped() -> None:
    data = _log("garbage", "2024-01-01T00:00:00Z stdout F good")
    bad: list[str] = []
    out = io.BytesIO()
    read_logs(data, {"stdout": out, "stderr": io.BytesIO()}, LogOptions(), on_bad_line=bad.append)
    assert out.getvalue() == b"good\n" and len(bad) == 1


class _GrowingLog(io.BytesIO):
    """A log file the 'runtime' appends to while the reader follows it."""

    def append(self, data: bytes) -> None:
        pos = self.tell()
        self.seek(0, io.SEEK_END)
        self.write(data)
        self.seek(pos)


def test_follow_reads_new_lines_until_the_container_stops() -> None:
    log = _GrowingLog(b"2024-01-01T00:00:00Z stdout F first\n")
    log.seek(0)
    checks = iter(
        [
            lambda: log.append(b"2024-01-01T00:00:01Z stdout F sec"),  # half a record: held back
            lambda: log.append(b"ond\n2024-01-01T00:00:02Z stdout F third\n"),
        ]
    )
    now = [0.0]

    def is_running() -> bool:
        step = next(checks, None)
        if step is None:
            return False
        step()
        return True

    def sleep(seconds: float) -> None:
        now[0] += seconds

    out = io.BytesIO()
    options = LogOptions(follow=True, poll_interval=0.1, state_check_interval=0.2)
    read_logs(
        log,
        {"stdout": out, "stderr": io.BytesIO()},
        options,
        is_running=is_running,
        clock=lambda: now[0],
        sleep=sleep,
    )
    assert out.getvalue() == b"first\nsecond\nthird\n"


def test_follow_moves_to_the_new_file_after_rotation(tmp_path: Path) -> None:
    from kyb.crictl.logs import open_log, reopen_if_rotated

    path = tmp_path / "c.log"
    path.write_bytes(b"2024-01-01T00:00:00Z stdout F before\n")
    checks = iter([True, True, False])

    def is_running() -> bool:
        running = next(checks, False)
        if not (tmp_path / "c.log.1").exists():
            path.rename(tmp_path / "c.log.1")  # the kubelet rotates, the runtime reopens
            path.write_bytes(b"2024-01-01T00:00:01Z stdout F after\n")
        return running

    out = io.BytesIO()
    now = [0.0]
    options = LogOptions(follow=True, poll_interval=0.1, state_check_interval=0.2)
    read_logs(
        open_log(str(path)),
        {"stdout": out, "stderr": io.BytesIO()},
        options,
        is_running=is_running,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
        reopened=reopen_if_rotated(str(path)),
    )
    assert out.getvalue() == b"before\nafter\n"
