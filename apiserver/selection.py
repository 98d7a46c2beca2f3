"""Which objects a list or watch returns: label and field selectors, and watch transitions.

A watch with a selector must tell a client when an object *enters* or *leaves* its selection,
not only when a selected object changes: upstream sends ADDED when an update makes an object
match, DELETED (carrying the new state) when an update makes it stop matching, and nothing for
objects that match neither before nor after. ``classify`` encodes that table:

    before \\ after   match      no match
    match             MODIFIED   DELETED
    no match          ADDED      (skip)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apiserver import crds
from apiserver.errors import BadRequest
from apiserver.field_selectors import UnknownFieldLabel, field_labels, zero_value
from apiserver.kinds.registry import ResourceType
from client.fields import (
    FieldRequirement,
    FieldSelector,
    FieldSelectorError,
    field_value,
    parse_field_selector,
)
from client.labels import Selector, SelectorError, parse_selector


@dataclass(frozen=True)
class Selection:
    labels: Selector
    fields: FieldSelector

    @property
    def everything(self) -> bool:
        return self.labels.empty() and self.fields.empty()

    def matches(self, obj: Mapping[str, Any] | None) -> bool:
        if obj is None:
            return False
        meta = obj.get("metadata") or {}
        return self.labels.matches(meta.get("labels") or {}) and all(
            _field_matches(r, obj) for r in self.fields.requirements)

    def exact_name(self) -> str | None:
        """The one name ``metadata.name=X`` pins the selection to, so a get can replace a scan."""
        return self.fields.exact_value("metadata.name")


def _field_matches(r: FieldRequirement, obj: Mapping[str, Any]) -> bool:
    have = field_value(obj, r.field) or zero_value(r.field)
    return (have != r.value) if r.operator == "!=" else (have == r.value)


def parse_selection(label_selector: str, field_selector: str, rt: ResourceType | None = None) -> Selection:
    """The selection a list or watch asks for; with ``rt``, field labels the kind does not
    support are refused (400) and old aliases resolved, as upstream does."""
    try:
        labels = parse_selector(label_selector or "")
    except SelectorError as e:
        raise BadRequest(f"unable to parse requirement: {e}") from e
    try:
        fields = parse_field_selector(field_selector or "")
    except FieldSelectorError as e:
        raise BadRequest(f'invalid field selector "{field_selector}": {e}') from e
    if rt is not None and not fields.empty():
        known = field_labels(rt, crds.selectable_fields(rt) if rt.custom else ())
        try:
            fields = FieldSelector([FieldRequirement(known.resolve(r.field), r.operator, r.value)
                                    for r in fields.requirements])
        except UnknownFieldLabel as e:
            raise BadRequest(str(e)) from e
    return Selection(labels, fields)


def classify(event_type: str, obj: Mapping[str, Any], prev: Mapping[str, Any] | None,
             selection: Selection) -> str | None:
    """The watch event type a client with ``selection`` sees for a store event, or None."""
    if event_type == "DELETE":
        return "DELETED" if selection.matches(obj) else None
    now = selection.matches(obj)
    if prev is None:
        return "ADDED" if now else None
    before = selection.matches(prev)
    if now and before:
        return "MODIFIED"
    if now:
        return "ADDED"
    if before:
        return "DELETED"
    return None
