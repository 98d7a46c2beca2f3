"""crictl's output conventions: tabwriter tables, short ids, human sizes and durations, dates."""

from __future__ import annotations

from kyb.crictl.output import human_duration, human_size, render_table, rfc3339_ns, truncate_id
from kyb.crictl.session import parse_duration


def test_table_columns_are_at_least_twenty_wide_and_the_last_is_free() -> None:
    text = render_table([["POD ID", "NAME"], ["abc", "web"]])
    assert text == "POD ID".ljust(20) + "NAME\n" + "abc".ljust(20) + "web\n"


def test_table_column_grows_to_the_longest_cell_plus_three() -> None:
    long_cell = "x" * 25
    lines = render_table([["A", "B", "C"], [long_cell, "y", "z"]]).splitlines()
    assert lines[0].index("B") == 28 and lines[1].index("y") == 28
    assert lines[0].index("C") == 48


def test_truncated_ids_are_thirteen_characters_without_the_prefix() -> None:
    assert truncate_id("sha256:" + "a" * 64, "sha256:") == "a" * 13
    assert truncate_id("short") == "short"


def test_human_sizes_are_decimal_with_significant_digits() -> None:
    assert human_size(999) == "999B"
    assert human_size(4_261_412) == "4.261MB"
    assert human_size(4_261_412, 3) == "4.26MB"
    assert human_size(1_000_000_000) == "1GB"


def test_human_durations_read_like_docker() -> None:
    assert human_duration(0.2) == "Less than a second"
    assert human_duration(1) == "1 second"
    assert human_duration(45) == "45 seconds"
    assert human_duration(90) == "About a minute"
    assert human_duration(600) == "10 minutes"
    assert human_duration(3600) == "About an hour"
    assert human_duration(5 * 3600) == "5 hours"
    assert human_duration(3 * 86400) == "3 days"


def test_nanosecond_timestamps_print_as_rfc3339() -> None:
    assert rfc3339_ns(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"
    assert rfc3339_ns(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"


def test_durations_accept_go_syntax_and_plain_seconds() -> None:
    assert parse_duration("2s") == 2
    assert parse_duration("1m30s") == 90
    assert parse_duration("500ms") == 0.5
    assert parse_duration("3") == 3
