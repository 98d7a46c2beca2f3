"""How `kyb cri` prints: crictl's tables, its human sizes and durations, and CRI messages as JSON/YAML.

Tables follow Go's tabwriter as crictl configures it (minimum cell width 20, padding 3, the last
column unpadded), so scripts that cut crictl's columns work on ours. JSON is the protobuf JSON
mapping with lowerCamelCase names and every field shown, as crictl's `protojson` with
`EmitDefaultValues` prints it; YAML is the same document in YAML. Timestamps in inspect output
are rewritten to RFC3339 like crictl does, so people read dates rather than nanoseconds.
"""

from __future__ import annotations

import argparse
import datetime
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import yaml
from google.protobuf import json_format
from google.protobuf.message import Message

if TYPE_CHECKING:
    from kyb.crictl.session import Session

TRUNCATED_ID_LEN = 13
OUTPUT_FORMATS = ("json", "yaml", "table")


def render_table(rows: Sequence[Sequence[str]], min_width: int = 20, padding: int = 3) -> str:
    """Align cells into columns like Go's tabwriter(minwidth=20, padding=3): last column free."""
    if not rows:
        return ""
    ncols = max(len(r) for r in rows)
    widths = [0] * ncols
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell) + padding, min_width)
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        cells.append(row[-1] if row else "")
        lines.append("".join(cells))
    return "\n".join(lines) + "\n"


def truncate_id(value: str, prefix: str = "") -> str:
    """crictl's short ids: drop a prefix such as 'sha256:' and keep 13 characters."""
    if prefix and value.startswith(prefix):
        value = value[len(prefix) :]
    return value[:TRUNCATED_ID_LEN]


def human_duration(seconds: float) -> str:
    """How long ago, in the words Docker and crictl use ('About a minute', '3 hours')."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def ago(timestamp_ns: int, now_ns: int | None = None) -> str:
    """'<duration> ago' for a CRI nanosecond timestamp."""
    now = now_ns if now_ns is not None else datetime.datetime.now(datetime.UTC).timestamp() * 1e9
    return human_duration(max(0.0, (now - timestamp_ns) / 1e9)) + " ago"


def human_size(size: float, precision: int = 4) -> str:
    """Decimal sizes with `precision` significant digits ('4.26MB'), as go-units prints them."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    while size >= 1000.0 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.{precision}g}{units[i]}"


def rfc3339_ns(timestamp_ns: int) -> str:
    """A CRI nanosecond timestamp as RFC3339 with nanoseconds, in UTC."""
    seconds, nanos = divmod(int(timestamp_ns), 1_000_000_000)
    base = datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{nanos:09d}".rstrip("0")
    return f"{base}.{frac}Z" if frac else f"{base}Z"


def message_to_dict(message: Message) -> dict[str, Any]:
    """protobuf JSON with lowerCamelCase names and default values shown, as crictl prints."""
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


def dumps(document: Any, fmt: str) -> str:
    """A JSON (indented 2) or YAML rendering of plain data, ending in a newline."""
    if fmt == "yaml":
        return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
    return json.dumps(document, indent=2) + "\n"


def status_document(status: Message, info: dict[str, str], timestamps: dict[str, int]) -> dict[str, Any]:
    """What `inspect`, `inspectp` and `inspecti` print: {"status": ..., "info": ...}.

    `timestamps` maps lowerCamelCase field names to nanosecond values that are shown as
    RFC3339 strings instead of numbers; `info` values that hold JSON objects are embedded as
    objects, others as plain strings, as crictl does.
    """
    doc: dict[str, Any] = {}
    status_dict = message_to_dict(status)
    for key, value in timestamps.items():
        status_dict[key] = rfc3339_ns(value) if value else "1970-01-01T00:00:00Z"
    doc["status"] = status_dict
    for key in sorted(info):
        value = info[key]
        if value.startswith("{"):
            try:
                doc[key] = json.loads(value)
                continue
            except json.JSONDecodeError:
                pass
        doc[key] = value.strip('"')
    return doc


def sorted_items(mapping: Any) -> list[tuple[str, str]]:
    """Map entries sorted by key, for the 'Labels:' and 'Annotations:' blocks."""
    return sorted((str(k), str(v)) for k, v in dict(mapping).items())


def add_output_flag(parser: argparse.ArgumentParser, default: str | None, formats: tuple[str, ...]) -> None:
    parser.add_argument(
        "-o", "--output", choices=formats, default=default, help=f"output format, one of: {'|'.join(formats)}"
    )


def print_map(session: Session, title: str, mapping: Any) -> None:
    if len(mapping):
        session.print(f"{title}:")
        for key, value in sorted_items(mapping):
            session.print(f"\t{key} -> {value}")


def print_statuses(session: Session, documents: list[dict[str, Any]], fmt: str) -> None:
    """One status prints as an object, several as a list (crictl's behaviour)."""
    if not documents:
        return
    doc: Any = documents[0] if len(documents) == 1 else documents
    session.print(dumps(doc, fmt), end="")
