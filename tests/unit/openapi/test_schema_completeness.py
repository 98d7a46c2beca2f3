"""The published schemas name every field the upstream API types have, so that strict field
validation (``kubectl apply`` sends ``fieldValidation=Strict``) never refuses a real field.

The official Python client's models are generated from the upstream OpenAPI document, so their
attribute maps are an independent list of each type's fields.
"""

import kubernetes.client as kc
import pytest

from apiserver.openapi.types import DEFINITIONS

# Fields that exist only in API versions newer than the one this cluster serves (1.32).
NEWER_THAN_SERVED = {
    "io.k8s.api.batch.v1.JobSpec": {"scheduling"},
    "io.k8s.api.core.v1.ConfigMapVolumeSource": {"defaultUser"},
    "io.k8s.api.core.v1.SecretVolumeSource": {"defaultUser"},
    "io.k8s.api.core.v1.Container": {"restartPolicyRules"},
    "io.k8s.api.core.v1.EphemeralContainer": {"restartPolicyRules"},
    "io.k8s.api.core.v1.EmptyDirVolumeSource": {"mode"},
    "io.k8s.api.core.v1.EnvVarSource": {"fileKeyRef"},
    "io.k8s.api.core.v1.HTTPGetAction": {"protocol"},
    "io.k8s.api.core.v1.KeyToPath": {"user"},
    "io.k8s.api.core.v1.NodeSpec": {"podPreemptionPolicy"},
    "io.k8s.api.core.v1.NodeStatus": {"declaredFeatures"},
    "io.k8s.api.core.v1.PodSpec": {"evictionResponders", "hostnameOverride", "schedulingGroup"},
    "io.k8s.api.core.v1.PodStatus": {"allocatedResources", "extendedResourceClaimStatus",
                                     "nodeAllocatableResourceClaimStatuses", "resources", "volumeHealth"},
    "io.k8s.api.core.v1.VolumeMount": {"bindMountOptions"},
    "io.k8s.api.core.v1.PersistentVolumeClaimStatus": {"healthStatus"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta": {"shardInfo"},
}


_GROUP_PREFIX = {"core": "Core", "discovery": "Discovery", "events": "Events", "networking": "Networking",
                 "storage": "Storage", "rbac": "Rbac", "apps": "Apps", "batch": "Batch", "autoscaling": "Autoscaling"}


def _client_model(name: str):
    parts = name.split(".")
    kind, version, group = parts[-1], parts[-2], parts[-3]
    prefix = _GROUP_PREFIX.get(group, "")
    for candidate in (f"{prefix}{version.capitalize()}{kind}", f"{version.capitalize()}{kind}", f"V1{kind}"):
        model = getattr(kc, candidate, None)
        if model is not None:
            return model
    return None


DETAILED = sorted(n for n, d in DEFINITIONS.items() if d.properties and _client_model(n) is not None)


def test_the_comparison_covers_the_main_types():
    for name in ("io.k8s.api.core.v1.PodSpec", "io.k8s.api.core.v1.Container", "io.k8s.api.apps.v1.DeploymentSpec",
                 "io.k8s.api.core.v1.ServiceSpec", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"):
        assert name in DETAILED


@pytest.mark.parametrize("name", DETAILED)
def test_definition_has_every_upstream_field(name):
    upstream = set(_client_model(name).attribute_map.values())
    missing = upstream - set(DEFINITIONS[name].properties) - NEWER_THAN_SERVED.get(name, set())
    assert not missing, f"{name} lacks {sorted(missing)}"


def _client_shape(type_name: str) -> str:
    t = type_name.lower()
    if t.startswith("list["):
        return "list"
    if t.startswith("dict["):
        return "map"
    return {"str": "scalar", "datetime": "scalar", "bytearray": "scalar", "int": "scalar", "bool": "scalar",
            "float": "scalar", "object": "any"}.get(t, "object")


def _our_shape(prop) -> str:
    if prop.array:
        return "list"
    if prop.map or prop.type == "map-string":
        return "map"
    if prop.type in ("quantity", "int-or-string"):
        return "any"
    if prop.type in ("string", "byte", "time", "microtime", "integer", "int64", "boolean", "number"):
        return "scalar"
    return "object"


@pytest.mark.parametrize("name", DETAILED)
def test_fields_have_the_upstream_shape(name):
    model = _client_model(name)
    attribute = {json: attr for attr, json in model.attribute_map.items()}
    wrong = []
    for field, prop in DEFINITIONS[name].properties.items():
        if field not in attribute:
            continue
        theirs, ours = _client_shape(model.openapi_types[attribute[field]]), _our_shape(prop)
        if theirs != ours and "any" not in (theirs, ours):
            wrong.append(f"{field}: upstream {theirs}, ours {ours}")
    assert not wrong, f"{name}: {wrong}"
