"""Which watch event a selector sees for a store event: objects enter and leave selections."""

from __future__ import annotations

from apiserver.selection import classify, parse_selection


def obj(**labels: str) -> dict:
    return {"metadata": {"name": "x", "labels": labels}, "status": {"phase": "Running"}}


SEL = parse_selection("tier=web", "status.phase=Running")


def test_a_new_matching_object_is_added() -> None:
    assert classify("PUT", obj(tier="web"), None, SEL) == "ADDED"


def test_an_update_that_leaves_the_selection_is_a_delete() -> None:
    assert classify("PUT", obj(tier="db"), obj(tier="web"), SEL) == "DELETED"


def test_an_update_that_enters_the_selection_is_an_add() -> None:
    assert classify("PUT", obj(tier="web"), obj(tier="db"), SEL) == "ADDED"


def test_updates_outside_the_selection_are_not_seen() -> None:
    assert classify("PUT", obj(tier="db"), obj(tier="db"), SEL) is None
    assert classify("DELETE", obj(tier="db"), None, SEL) is None


def test_updates_inside_are_modified_and_deletes_deleted() -> None:
    assert classify("PUT", obj(tier="web"), obj(tier="web"), SEL) == "MODIFIED"
    assert classify("DELETE", obj(tier="web"), None, SEL) == "DELETED"
