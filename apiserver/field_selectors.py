"""Which fields a list or watch of each kind may select on (``fieldSelector``), as upstream has it.

Upstream registers, per kind, the field labels its field selectors understand; any other label
is refused with 400 before anything is read. Every kind knows ``metadata.name`` and
``metadata.namespace``; a few add their own (``spec.nodeName`` and ``status.phase`` for pods,
``type`` for secrets, ...), and those kinds word the refusal differently, so both messages are
kept. Custom resources add the ``selectableFields`` of their CRD version.

Field values are read as upstream's field sets hold them: a non-pointer boolean or number that
JSON leaves out reads as its zero value (``spec.unschedulable=false`` finds ordinary nodes).
"""

from __future__ import annotations

from dataclasses import dataclass

from apiserver.kinds.registry import ResourceType

META_FIELDS = ("metadata.name", "metadata.namespace")

_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")

# Kinds with their own field labels (beyond metadata.name and metadata.namespace).
_KIND_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("v1", "Pod"): ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                    "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"),
    ("v1", "Event"): (*(f"involvedObject.{f}" for f in _INVOLVED), "reason", "reportingComponent", "source",
                      "type"),
    ("events.k8s.io/v1", "Event"): (*(f"regarding.{f}" for f in _INVOLVED), "reason", "reportingController",
                                    "type"),
    ("v1", "Namespace"): ("status.phase",),
    ("v1", "Node"): ("spec.unschedulable",),
    ("v1", "Secret"): ("type",),
    ("v1", "Service"): ("spec.clusterIP", "spec.type"),
    ("apps/v1", "ReplicaSet"): ("status.replicas",),
    ("batch/v1", "Job"): ("status.successful",),
}

# Labels older clients send for a field that has another name now.
_ALIASES: dict[tuple[str, str], dict[str, str]] = {("v1", "Pod"): {"spec.host": "spec.nodeName"}}

# Non-pointer fields upstream always has a value for, and the value when JSON leaves them out.
_ZERO_VALUES = {"spec.unschedulable": "false", "spec.hostNetwork": "false", "status.replicas": "0",
                "status.successful": "0"}


class UnknownFieldLabel(ValueError):
    """A field selector names a field the kind cannot be selected by."""


@dataclass(frozen=True)
class FieldLabels:
    """The field labels of one kind, and how a selector's labels map onto them."""

    allowed: tuple[str, ...]
    own_labels: bool  # the kind registers its own labels (and so upstream's other message)
    aliases: dict[str, str]

    def resolve(self, label: str) -> str:
        """The field ``label`` selects on; raises UnknownFieldLabel with upstream's message."""
        label = self.aliases.get(label, label)
        if label in self.allowed:
            return label
        if self.own_labels:
            raise UnknownFieldLabel(f"field label not supported: {label}")
        listed = ", ".join(f'"{f}"' for f in self.allowed)
        raise UnknownFieldLabel(f'"{label}" is not a known field selector: only {listed}')


def field_labels(rt: ResourceType, custom_fields: tuple[str, ...] = ()) -> FieldLabels:
    key = (rt.api_version, rt.kind)
    if rt.custom:
        return FieldLabels(META_FIELDS + custom_fields, False, {})
    own = _KIND_FIELDS.get(key)
    return FieldLabels(META_FIELDS + (own or ()), own is not None, _ALIASES.get(key, {}))


def zero_value(label: str) -> str:
    """What an absent field reads as ("" unless upstream's field is a non-pointer bool or number)."""
    return _ZERO_VALUES.get(label, "")
