"""Field sets: which fields of an object a field manager owns (``managedFields[].fieldsV1``).

A field set is a set of paths; a path is a tuple of tokens in upstream's fieldsV1 notation:
``f:<field>`` for a member of an object, ``k:<json keys>`` for an element of a list keyed by its
list-map keys (containers by ``{"name": ...}``), ``v:<json value>`` for a member of a set-like
list (finalizers). A path ending in a ``k:`` token stands for the element itself. Atomic lists
and scalars are leaves. Which lists are keyed, set-like or atomic comes from ``Shape``, a small
view over either the built-in type model or a CRD's structural schema.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from apiserver.openapi.model import Definition, Prop, lookup

Path = tuple[str, ...]

# Identity and server-owned metadata is never owned by a field manager.
_UNOWNED_METADATA = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                     "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"}


@dataclass(frozen=True)
class Shape:
    """How a value merges: as an object (with member shapes), a keyed list, a set, or atomically."""

    kind: str  # "object", "map-list", "set-list", "atomic"
    keys: tuple[str, ...] = ()
    key_defaults: tuple[tuple[str, Any], ...] = ()  # list-map keys that default when left out
    definition: Definition | None = None
    schema: dict | None = None
    element: Shape | None = None
    # Member shapes already worked out: every write walks the same few shapes again and again.
    _members: dict[str, Shape] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def member(self, name: str) -> Shape:
        found = self._members.get(name)
        if found is None:
            found = self._members[name] = self._member(name)
        return found

    def _member(self, name: str) -> Shape:
        if self.definition is not None:
            prop = self.definition.properties.get(name)
            return shape_of_prop(prop) if prop is not None else ATOMIC
        if self.schema is not None:
            props = self.schema.get("properties") or {}
            if name in props:
                return shape_of_schema(props[name])
            additional = self.schema.get("additionalProperties")
            if isinstance(additional, dict):
                return shape_of_schema(additional)
        return OBJECT


ATOMIC = Shape("atomic")
OBJECT = Shape("object")  # a free-form object: members merge, unknown members are objects too


@functools.lru_cache(maxsize=2048)
def shape_of_prop(prop: Prop, element: bool = False) -> Shape:
    if prop.array and not element:
        inner = shape_of_prop(prop, element=True)
        if prop.list_type == "map" and prop.list_map_keys:
            # Port lists are keyed by (port, protocol) and protocol defaults to TCP.
            defaults = (("protocol", "TCP"),) if "protocol" in prop.list_map_keys else ()
            return Shape("map-list", prop.list_map_keys, defaults, element=inner)
        if prop.merge_key and prop.list_type != "atomic":
            return Shape("map-list", (prop.merge_key,), element=inner)
        if prop.list_type == "set" or (not prop.merge_key and "merge" in prop.strategy.split(",")):
            return Shape("set-list", element=inner)
        return ATOMIC
    if prop.map and not element:
        inner = shape_of_prop(prop, element=True)
        return Shape("object", element=inner)
    if prop.type == "map-string":
        return Shape("object", element=ATOMIC)
    if prop.type == "object":
        return OBJECT
    target = lookup(prop.ref) if prop.ref else None
    if target is not None and target.properties:
        return Shape("object", definition=target)
    return ATOMIC


def shape_of_schema(schema: Any) -> Shape:
    if not isinstance(schema, dict):
        return ATOMIC
    kind = schema.get("type")
    if kind == "array":
        list_type = schema.get("x-kubernetes-list-type", "atomic")
        items = shape_of_schema(schema.get("items"))
        if list_type == "map":
            keys = tuple(schema.get("x-kubernetes-list-map-keys") or ())
            item_props = (schema.get("items") or {}).get("properties") or {}
            defaults = tuple((k, item_props[k]["default"]) for k in keys
                             if isinstance(item_props.get(k), dict) and "default" in item_props[k])
            return Shape("map-list", keys, defaults, element=items)
        if list_type == "set":
            return Shape("set-list", element=items)
        return ATOMIC
    if kind == "object" or "properties" in schema:
        if schema.get("x-kubernetes-map-type") == "atomic":
            return ATOMIC
        return Shape("object", schema=schema)
    return ATOMIC


def element_shape(shape: Shape) -> Shape:
    return shape.element or OBJECT


def key_token(element: dict, keys: tuple[str, ...], defaults: tuple[tuple[str, Any], ...] = ()) -> str:
    fallback = dict(defaults)
    values = {k: element[k] if element.get(k) is not None else fallback.get(k) for k in keys}
    return "k:" + json.dumps(values, sort_keys=True, separators=(",", ":"))


def value_token(value: Any) -> str:
    return "v:" + json.dumps(value, sort_keys=True, separators=(",", ":"))


def member_shape(shape: Shape, name: str) -> Shape:
    if shape.definition is None and shape.schema is None and shape.element is not None:
        return shape.element  # a map: every member has the element shape
    return shape.member(name)


def field_set(value: Any, shape: Shape, prefix: Path = (), root: bool = True) -> set[Path]:
    """The paths a manager owns by applying ``value``."""
    return set(field_values(value, shape, prefix, root))


def field_values(value: Any, shape: Shape, prefix: Path = (), root: bool = True) -> dict[Path, Any]:
    """Every owned path of ``value`` with the value found there (elements map to themselves)."""
    out: dict[Path, Any] = {}
    _walk(value, shape, prefix, root, out)
    return out


def _walk(value: Any, shape: Shape, prefix: Path, root: bool, out: dict[Path, Any]) -> None:
    if shape.kind == "object" and isinstance(value, dict):
        if not value and prefix:
            out[prefix] = value
            return
        for name, member in value.items():
            if root and name in ("apiVersion", "kind"):
                continue
            if prefix == ("f:metadata",) and name in _UNOWNED_METADATA:
                continue
            _walk(member, member_shape(shape, name), prefix + (f"f:{name}",), False, out)
        return
    if shape.kind == "map-list" and isinstance(value, list):
        inner = element_shape(shape)
        for element in value:
            if not isinstance(element, dict):
                continue
            path = prefix + (key_token(element, shape.keys, shape.key_defaults),)
            out[path] = element
            for name, member in element.items():
                _walk(member, member_shape(inner, name), path + (f"f:{name}",), False, out)
        return
    if shape.kind == "set-list" and isinstance(value, list):
        for item in value:
            out[prefix + (value_token(item),)] = item
        return
    if prefix:
        out[prefix] = value


def changed_paths(old: Any, new: Any, shape: Shape) -> tuple[set[Path], set[Path]]:
    """(paths whose value ``new`` sets or changes, paths of ``old`` that ``new`` no longer has).

    The same answer as comparing ``field_values`` of both, but equal subtrees are skipped with
    one (C-speed) comparison, so a write costs in proportion to what it changed.
    """
    changed: set[Path] = set()
    removed: set[Path] = set()
    _diff(old, new, shape, (), True, changed, removed)
    return changed, removed


def _diff(old: Any, new: Any, shape: Shape, prefix: Path, root: bool, changed: set[Path],
          removed: set[Path]) -> None:
    if old == new:
        return
    if shape.kind == "object" and isinstance(old, dict) and isinstance(new, dict) and old and new:
        for name in new.keys() | old.keys():
            if root and name in ("apiVersion", "kind"):
                continue
            if prefix == ("f:metadata",) and name in _UNOWNED_METADATA:
                continue
            path = prefix + (f"f:{name}",)
            if name not in new:
                removed.update(field_values(old[name], member_shape(shape, name), path, False))
            elif name not in old:
                changed.update(field_values(new[name], member_shape(shape, name), path, False))
            else:
                _diff(old[name], new[name], member_shape(shape, name), path, False, changed, removed)
        return
    if shape.kind == "map-list" and isinstance(old, list) and isinstance(new, list):
        inner = element_shape(shape)
        before = {key_token(e, shape.keys, shape.key_defaults): e for e in old if isinstance(e, dict)}
        after = {key_token(e, shape.keys, shape.key_defaults): e for e in new if isinstance(e, dict)}
        for token, element in after.items():
            path = prefix + (token,)
            was = before.get(token)
            if was == element:
                continue
            changed.add(path)
            for name in element.keys() | (was.keys() if was is not None else set()):
                _diff_member(was, element, name, inner, path, changed, removed)
        for token, element in before.items():
            if token not in after:
                path = prefix + (token,)
                removed.add(path)
                for name, member in element.items():
                    removed.update(field_values(member, member_shape(inner, name), path + (f"f:{name}",), False))
        return
    before_values = field_values(old, shape, prefix, root)
    after_values = field_values(new, shape, prefix, root)
    changed.update(p for p, v in after_values.items() if p not in before_values or before_values[p] != v)
    removed.update(before_values.keys() - after_values.keys())


def _diff_member(was: dict | None, element: dict, name: str, inner: Shape, path: Path, changed: set[Path],
                 removed: set[Path]) -> None:
    member_path = path + (f"f:{name}",)
    shape = member_shape(inner, name)
    if was is None or name not in was:
        changed.update(field_values(element[name], shape, member_path, False))
    elif name not in element:
        removed.update(field_values(was[name], shape, member_path, False))
    else:
        _diff(was[name], element[name], shape, member_path, False, changed, removed)


@functools.lru_cache(maxsize=4096)
def _parse_token(rest: str) -> Any:
    return json.loads(rest)


def _find(items: list, token: str, shape: Shape | None) -> int | None:
    """Index of the element a ``k:`` token names; the list's shape fills in defaulted keys."""
    if shape is not None and shape.kind == "map-list":
        for i, e in enumerate(items):
            if isinstance(e, dict) and key_token(e, shape.keys, shape.key_defaults) == token:
                return i
        return None
    keys = _parse_token(token[2:])
    for i, e in enumerate(items):
        if isinstance(e, dict) and all(e.get(k) == v for k, v in keys.items()):
            return i
    return None


def _step(shape: Shape | None, token: str) -> Shape | None:
    if shape is None:
        return None
    if token.startswith("f:"):
        return member_shape(shape, token[2:])
    if token.startswith("k:"):
        return element_shape(shape)
    return None


def get_at(obj: Any, path: Path, shape: Shape | None = None) -> tuple[bool, Any]:
    """(found, value) at ``path``; with the object's ``shape``, keyed elements match by defaulted keys."""
    cur = obj
    for token in path:
        kind, _, rest = token.partition(":")
        if kind == "f":
            if not isinstance(cur, dict) or rest not in cur:
                return False, None
            cur = cur[rest]
        elif kind == "k":
            index = _find(cur, token, shape) if isinstance(cur, list) else None
            if index is None:
                return False, None
            cur = cur[index]
        elif kind == "v":
            value = _parse_token(rest)
            if not isinstance(cur, list) or value not in cur:
                return False, None
            cur = value
        else:
            return False, None
        shape = _step(shape, token)
    return True, cur


def remove_at(obj: Any, path: Path, shape: Shape | None = None) -> None:
    """Delete the field, keyed element or set member at ``path`` if present."""
    if not path:
        return
    parent_shape = shape
    for token in path[:-1]:
        parent_shape = _step(parent_shape, token)
    found, parent = get_at(obj, path[:-1], shape)
    if not found:
        return
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind == "k" and isinstance(parent, list):
        index = _find(parent, path[-1], parent_shape)
        if index is not None:
            del parent[index]
    elif kind == "v" and isinstance(parent, list):
        value = _parse_token(rest)
        parent[:] = [e for e in parent if e != value]


def encode(paths: set[Path]) -> dict:
    """A field set as a fieldsV1 document."""
    root: dict = {}
    for path in sorted(paths):
        node = root
        for token in path:
            node = node.setdefault(token, {})
        if path and path[-1].startswith("k:"):
            node.setdefault(".", {})
    return root


def decode(fields: Any, prefix: Path = ()) -> set[Path]:
    """The field set of a fieldsV1 document."""
    out: set[Path] = set()
    if not isinstance(fields, dict):
        return out
    for token, child in fields.items():
        if token == ".":
            out.add(prefix)
            continue
        path = prefix + (token,)
        if isinstance(child, dict) and child:
            out |= decode(child, path)
        else:
            out.add(path)
    return out


def format_path(path: Path) -> str:
    """A path the way conflict messages print it: ``.spec.containers[name="web"].image``."""
    parts = []
    for token in path:
        kind, _, rest = token.partition(":")
        if kind == "f":
            parts.append("." + rest)
        elif kind == "k":
            keys = json.loads(rest)
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]")
        else:
            parts.append(f"[={rest}]")
    return "".join(parts)
