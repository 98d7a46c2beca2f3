"""apimachinery's shared types: object and list metadata, owner references, label selectors."""

from __future__ import annotations

from apiserver.openapi.model import META, Prop, arr, b, define, free, i64, obj, s, strmap

define(META + "ObjectMeta", "Metadata every persisted object carries.", {
    "name": s("Unique name within the namespace (or cluster, for cluster-scoped kinds). Required on create "
              "unless generateName is set; cannot be changed afterwards."),
    "generateName": s("A prefix from which the server generates a unique name when name is empty; a random "
                      "suffix is appended."),
    "namespace": s("The namespace the object lives in; empty for cluster-scoped objects. Cannot be changed."),
    "uid": s("Unique identifier the server assigns at creation; it is never reused, even for an object "
             "recreated with the same name."),
    "resourceVersion": s("Opaque version of this object, changed by every write. Clients send it back on "
                         "update to detect concurrent changes (optimistic concurrency) and use it to resume "
                         "watches."),
    "generation": i64("Sequence number of a specific generation of the desired state, increased by the "
                      "server when the spec changes."),
    "creationTimestamp": obj("time", "When the server created the object (RFC 3339, UTC). Read-only."),
    "deletionTimestamp": obj("time", "When the object will be deleted; set by the server when a graceful "
                                     "deletion is requested. Read-only."),
    "deletionGracePeriodSeconds": i64("Seconds allowed for graceful termination before the object is removed; "
                                      "only set when deletionTimestamp is set."),
    "labels": strmap("Key/value pairs used to organize and select objects (label selectors)."),
    "annotations": strmap("Arbitrary non-identifying key/value metadata for tools and libraries."),
    "ownerReferences": arr(META + "OwnerReference", "Objects this object depends on; when all owners are "
                                                    "deleted the garbage collector deletes this object.",
                           merge_key="uid", strategy="merge", list_type="map", list_map_keys=("uid",)),
    "finalizers": arr("string", "Keys that must be removed before the object is deleted; each names a "
                                "controller with cleanup to do.", strategy="merge", list_type="set"),
    "selfLink": s("Deprecated; always empty."),
    "managedFields": arr(META + "ManagedFieldsEntry", "Which field manager manages which fields; internal "
                                                      "bookkeeping for server-side apply."),
})

define(META + "ListMeta", "Metadata of a list response.", {
    "resourceVersion": s("The revision of the store this list reflects; a watch started from it sees every "
                         "later change."),
    "continue": s("Token to fetch the next page when the list was limited; empty on the last page."),
    "remainingItemCount": i64("Approximate number of items after this page, when known."),
    "selfLink": s("Deprecated; always empty."),
})

define(META + "OwnerReference", "A reference to an owning object in the same namespace (or cluster scope).", {
    "apiVersion": s("API version of the owner."),
    "kind": s("Kind of the owner."),
    "name": s("Name of the owner."),
    "uid": s("UID of the owner."),
    "controller": b("True when the owner is the managing controller; at most one owner may be."),
    "blockOwnerDeletion": b("When true, foreground deletion of the owner waits until this object is gone."),
}, required=("apiVersion", "kind", "name", "uid"))

define(META + "ManagedFieldsEntry", "One field manager's ownership record.", {
    "manager": s("Name of the manager."),
    "operation": s("Apply or Update."),
    "apiVersion": s("API version of the fields."),
    "time": obj("time", "When the manager last changed these fields."),
    "fieldsType": s("Format of fieldsV1; always FieldsV1."),
    "fieldsV1": free("The set of fields managed."),
    "subresource": s("The subresource the fields were written through, if any."),
})

define(META + "LabelSelector", "A label query: all matchLabels and all matchExpressions must match. An empty "
                               "selector matches everything; a missing one matches nothing.", {
    "matchLabels": strmap("Exact key=value pairs, each equivalent to an In expression with one value."),
    "matchExpressions": arr(META + "LabelSelectorRequirement", "Set-based requirements, ANDed together.",
                            list_type="atomic"),
})

define(META + "LabelSelectorRequirement", "One set-based selector requirement.", {
    "key": s("The label key the requirement applies to."),
    "operator": s("In, NotIn, Exists or DoesNotExist.", enum=("DoesNotExist", "Exists", "In", "NotIn")),
    "values": arr("string", "Values for In/NotIn (must be non-empty); must be empty for Exists/DoesNotExist.",
                  list_type="atomic"),
}, required=("key", "operator"))

define(META + "Condition", "A standard condition of an object's status.", {
    "type": s("Condition type in CamelCase."),
    "status": s("True, False or Unknown.", enum=("False", "True", "Unknown")),
    "observedGeneration": i64("The metadata.generation the condition was computed from."),
    "lastTransitionTime": obj("time", "When status last changed."),
    "reason": s("Machine-readable CamelCase reason for the last transition."),
    "message": s("Human-readable details."),
}, required=("type", "status", "lastTransitionTime", "reason", "message"))

# Scalars that the OpenAPI renderer emits as formatted strings.
define("io.k8s.apimachinery.pkg.api.resource.Quantity",
       "A fixed-point number with an optional suffix, such as \"100m\" (0.1), \"64Mi\" (64 * 2^20) or \"1e3\". "
       "Serialized as a string; JSON numbers are accepted.")
define("io.k8s.apimachinery.pkg.util.intstr.IntOrString", "Either an integer or a string (such as a port "
                                                          "number or name, or a percentage like \"25%\").")
define(META + "Time", "A timestamp in RFC 3339 form, UTC, second precision.")
define(META + "MicroTime", "A timestamp in RFC 3339 form with microsecond precision.")

# OpenAPI v3 can say "either type" and upstream does for these two; explain then shows their names.
SCALARS_V3: dict[str, dict[str, object]] = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"oneOf": [{"type": "string"}, {"type": "number"}]},
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"format": "int-or-string",
                                                        "oneOf": [{"type": "integer"}, {"type": "string"}]},
}

SCALARS: dict[str, dict[str, str]] = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
    META + "Time": {"type": "string", "format": "date-time"},
    META + "MicroTime": {"type": "string", "format": "date-time"},
}

define(META + "Status", "The result of an operation that does not return an object, and every API error.", {
    "apiVersion": s("Always v1."), "kind": s("Always \"Status\"."),
    "metadata": obj(META + "ListMeta", "Standard list metadata."),
    "status": s("Success or Failure."),
    "message": s("Human-readable description of the status."),
    "reason": s("Machine-readable CamelCase reason, such as NotFound, AlreadyExists, Conflict or Invalid."),
    "details": obj(META + "StatusDetails", "Extra data about the reason; for Invalid, the causes per field."),
    "code": Prop("integer", "The HTTP status code."),
})
define(META + "StatusDetails", "Details of a Status.", {
    "name": s("Name of the object concerned."), "group": s("Its API group."), "kind": s("Its kind."),
    "uid": s("Its UID."),
    "causes": arr(META + "StatusCause", "One entry per problem, such as each invalid field.", list_type="atomic"),
    "retryAfterSeconds": Prop("integer", "Seconds to wait before retrying."),
})
define(META + "StatusCause", "One cause of an error.", {
    "reason": s("Machine-readable cause, such as FieldValueRequired or FieldValueInvalid."),
    "message": s("Human-readable description."),
    "field": s("The field concerned, such as spec.containers[0].image."),
})
define(META + "Patch", "A patch document: its type is given by the request's Content-Type (JSON patch, merge "
                       "patch, strategic merge patch or apply).")
define(META + "DeleteOptions", "Options for a delete.", {
    "apiVersion": s("API version."), "kind": s("Always \"DeleteOptions\"."),
    "gracePeriodSeconds": i64("Seconds before the object is deleted."),
    "propagationPolicy": s("Orphan, Background or Foreground."),
    "preconditions": free("uid and resourceVersion the object must still have."),
    "dryRun": arr("string", "All to validate without persisting.", list_type="atomic"),
    "orphanDependents": b("Deprecated: true means propagationPolicy Orphan, false Background."),
    "ignoreStoreReadErrorWithClusterBreakingPotential": b("Delete even if the stored object cannot be read."),
})
