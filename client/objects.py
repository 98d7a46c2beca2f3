"""Small facts about objects that every controller needs: keys, metadata, owner references.

Objects are plain dicts shaped like Kubernetes JSON. Two disciplines keep them safe to share:

- **Keys.** A cache key is ``"<namespace>/<name>"`` for namespaced objects and ``"<name>"`` for
  cluster-scoped ones (client-go's ``MetaNamespaceKeyFunc``); ``split_key`` undoes it. Work
  queues carry keys, never objects, so a worker always reads the latest state.
- **Copies.** Objects handed out by an informer's cache are shared by every reader. Never change
  one in place: ``deep_copy`` it first, change the copy, send the copy. ``deep_copy`` goes through
  JSON-shaped values only, which is all an API object holds, and is about twice as fast as
  ``copy.deepcopy``.

Owner references follow upstream's rules: at most one owner has ``controller: true``; an
ownerReference is matched on ``uid``, since a name can be reused by a new object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from client.resources import Resource


def deep_copy(value: Any) -> Any:
    """A fully independent copy of a JSON-shaped value (dicts, lists, scalars)."""
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def name_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("name") or "")


def namespace_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("namespace") or "")


def uid_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("uid") or "")


def resource_version_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("resourceVersion") or "")


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return meta(obj).get("labels") or {}


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return meta(obj).get("annotations") or {}


def is_being_deleted(obj: Mapping[str, Any]) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def make_key(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def object_key(obj: Mapping[str, Any]) -> str:
    """``ns/name`` (or ``name`` when cluster-scoped): the key caches and work queues use."""
    name = name_of(obj)
    if not name:
        raise ValueError("object has no metadata.name, so it has no key")
    return make_key(namespace_of(obj), name)


def split_key(key: str) -> tuple[str, str]:
    """``(namespace, name)`` of a key; namespace is ``""`` for cluster-scoped keys."""
    parts = key.split("/")
    if len(parts) == 1 and parts[0]:
        return "", parts[0]
    if len(parts) == 2 and parts[0] and parts[1]:
        return parts[0], parts[1]
    raise ValueError(f"{key!r} is not a key of the form 'namespace/name' or 'name'")


# -- owner references ---------------------------------------------------------------------------


def owner_reference(owner: Mapping[str, Any], *, controller: bool = True,
                    block_owner_deletion: bool = True, resource: Resource | None = None) -> dict[str, Any]:
    """An ownerReference pointing at ``owner``; set it on objects ``owner`` creates.

    apiVersion and kind come from the owner object, or from ``resource`` for objects (such as
    those read from a list) whose apiVersion/kind fields are empty.
    """
    api_version = owner.get("apiVersion") or (resource.api_version if resource else "")
    kind = owner.get("kind") or (resource.kind if resource else "")
    if not (api_version and kind and name_of(owner) and uid_of(owner)):
        raise ValueError("an owner needs apiVersion, kind, metadata.name and metadata.uid")
    return {"apiVersion": api_version, "kind": kind, "name": name_of(owner), "uid": uid_of(owner),
            "controller": controller, "blockOwnerDeletion": block_owner_deletion}


def owner_references(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(meta(obj).get("ownerReferences") or [])


def controller_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ownerReference with ``controller: true``, if any (there is at most one)."""
    for ref in owner_references(obj):
        if ref.get("controller"):
            return ref
    return None


def is_owned_by(obj: Mapping[str, Any], owner: Mapping[str, Any] | str, *, controller_only: bool = False) -> bool:
    """Whether ``obj`` names ``owner`` (an object or a uid) among its owners (or as its controller)."""
    uid = owner if isinstance(owner, str) else uid_of(owner)
    if not uid:
        return False
    refs = [controller_of(obj)] if controller_only else owner_references(obj)
    return any(ref is not None and ref.get("uid") == uid for ref in refs)


def set_controller_reference(obj: dict[str, Any], owner: Mapping[str, Any], *,
                             resource: Resource | None = None) -> None:
    """Make ``owner`` the controller of ``obj`` (a copy being built), refusing to steal it.

    Raises ValueError when another owner already controls ``obj``, because two controllers
    fighting over one object is the bug this rule exists to stop.
    """
    ref = owner_reference(owner, resource=resource)
    current = controller_of(obj)
    if current is not None and current.get("uid") != ref["uid"]:
        raise ValueError(f"{object_key(obj) if name_of(obj) else 'object'} is already controlled by "
                         f"{current.get('kind')} {current.get('name')!r}")
    refs = [r for r in owner_references(obj) if r.get("uid") != ref["uid"]]
    obj.setdefault("metadata", {})["ownerReferences"] = [*refs, ref]
