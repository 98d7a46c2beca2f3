"""The API type model: one hand-written description of each served type's fields.

Two consumers read it: the OpenAPI documents (``kubectl explain``, client-side tooling) and
strategic merge patch, which needs each list field's ``patchStrategy``/``patchMergeKey``.
Keeping both in one model means the server merges lists exactly the way the schema it publishes
says it does, which is what ``kubectl apply`` relies on when it computes a patch.

A ``Definition`` is named like upstream's OpenAPI definitions (``io.k8s.api.core.v1.Pod``). A
``Prop`` names either a primitive (``string``, ``integer``, ``int64``, ``boolean``, ``number``),
one of the shared apimachinery types by short alias (``quantity``, ``int-or-string``, ``time``,
``object`` for free-form), or another definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CORE = "io.k8s.api.core.v1."
APPS = "io.k8s.api.apps.v1."
BATCH = "io.k8s.api.batch.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."

PRIMITIVES = {"string", "integer", "int64", "boolean", "number", "object", "byte", "map-string"}
ALIASES = {
    "quantity": "io.k8s.apimachinery.pkg.api.resource.Quantity",
    "int-or-string": "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    "time": META + "Time",
    "microtime": META + "MicroTime",
}


@dataclass(frozen=True)
class Prop:
    type: str
    description: str = ""
    array: bool = False
    map: bool = False  # a map from string keys to values of ``type``
    merge_key: str = ""
    strategy: str = ""  # "merge", "retainKeys", "merge,retainKeys" or "replace"
    list_type: str = ""  # "atomic", "map" or "set"
    list_map_keys: tuple[str, ...] = ()
    enum: tuple[str, ...] = ()

    @property
    def ref(self) -> str | None:
        """The definition this property points at (for objects/arrays of objects), if any."""
        if self.type in PRIMITIVES:
            return None
        return ALIASES.get(self.type, self.type)


@dataclass(frozen=True)
class Definition:
    name: str
    description: str
    properties: dict[str, Prop] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    gvk: tuple[str, str, str] | None = None
    preserve_unknown: bool = False


DEFINITIONS: dict[str, Definition] = {}


def define(name: str, description: str, properties: dict[str, Prop] | None = None,
           required: tuple[str, ...] = (), gvk: tuple[str, str, str] | None = None,
           preserve_unknown: bool = False) -> Definition:
    d = Definition(name, description, properties or {}, required, gvk, preserve_unknown)
    DEFINITIONS[name] = d
    return d


# Short constructors keep the type files readable.
def s(description: str, **kw) -> Prop:  # noqa: ANN003
    return Prop("string", description, **kw)


def i32(description: str) -> Prop:
    return Prop("integer", description)


def i64(description: str) -> Prop:
    return Prop("int64", description)


def b(description: str) -> Prop:
    return Prop("boolean", description)


def obj(type_name: str, description: str, **kw) -> Prop:  # noqa: ANN003
    return Prop(type_name, description, **kw)


def arr(type_name: str, description: str, **kw) -> Prop:  # noqa: ANN003
    return Prop(type_name, description, array=True, **kw)


def strmap(description: str) -> Prop:
    return Prop("map-string", description)


def free(description: str) -> Prop:
    return Prop("object", description)


def type_meta_props(kind: str) -> dict[str, Prop]:
    return {
        "apiVersion": s("The versioned schema of this object's representation, such as \"v1\" or \"apps/v1\". "
                        "The server uses it to decode the object."),
        "kind": s(f"The REST resource this object represents, in CamelCase; here always \"{kind}\"."),
        "metadata": obj(META + "ObjectMeta", "Standard object metadata: name, namespace, labels, annotations, "
                                             "owner references and the fields the server maintains."),
    }


def resource(name: str, group: str, version: str, kind: str, description: str,
             spec: str | None = None, spec_desc: str = "", status: str | None = None,
             status_desc: str = "", extra: dict[str, Prop] | None = None) -> Definition:
    """A top-level kind: type meta, metadata, and optional spec/status definitions."""
    props = type_meta_props(kind)
    if spec:
        props["spec"] = obj(spec, spec_desc)
    if status:
        props["status"] = obj(status, status_desc)
    props.update(extra or {})
    return define(name, description, props, gvk=(group, version, kind))


def generic_resource(name: str, group: str, version: str, kind: str, description: str,
                     fields: tuple[str, ...] = ("spec",)) -> Definition:
    """A kind published without a detailed schema: its top-level fields keep whatever is sent."""
    props = type_meta_props(kind)
    for f in fields:
        props[f] = free(f"The {f} of this {kind}; see the Kubernetes API reference for its fields.")
    return define(name, description, props, gvk=(group, version, kind))


def list_definition(item: Definition) -> Definition:
    group, version, kind = item.gvk or ("", "", "")
    props = {
        "apiVersion": s("The versioned schema of this list's representation."),
        "kind": s(f"Always \"{kind}List\"."),
        "metadata": obj(META + "ListMeta", "Standard list metadata: resourceVersion and continue token."),
        "items": arr(item.name, f"The {kind} objects in this list."),
    }
    return define(item.name + "List", f"A list of {kind} objects.", props, required=("items",),
                  gvk=(group, version, kind + "List"))


def lookup(name: str) -> Definition | None:
    return DEFINITIONS.get(ALIASES.get(name, name))
