"""Every patch flavour refuses nonsense with PatchError, never with another exception (a 500)."""

import copy
import random

from apiserver.kinds import registry
from apiserver.patch import (
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_server_side,
    apply_strategic_merge_patch,
    record_update,
)

DEPLOYMENTS = registry.lookup("apps", "v1", "deployments")
BASE = {"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "labels": {"a": "b"}, "finalizers": ["x"]},
        "spec": {"replicas": 1, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                 "template": {"spec": {"containers": [{"name": "c", "image": "i", "env": [{"name": "A"}],
                                                       "ports": [{"containerPort": 80}]}],
                                       "volumes": [{"name": "v", "emptyDir": {}}]}}}}
KEYS = ["metadata", "spec", "template", "containers", "name", "image", "env", "ports", "containerPort", "volumes",
        "strategy", "rollingUpdate", "labels", "finalizers", "$patch", "$retainKeys", "$setElementOrder/containers",
        "$deleteFromPrimitiveList/finalizers", "replicas"]
VALUES = [None, 1, "s", True, "replace", "delete", "merge"]


def _random(rng, depth=0):
    r = rng.random()
    if depth > 4 or r < 0.3:
        return rng.choice(VALUES)
    if r < 0.65:
        return {rng.choice(KEYS): _random(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return [_random(rng, depth + 1) for _ in range(rng.randint(0, 3))]


def _only_patch_errors(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except PatchError:
        pass


def test_random_documents_never_crash_a_patch():
    rng = random.Random(1234)
    for _ in range(1500):
        doc = _random(rng)
        _only_patch_errors(apply_strategic_merge_patch, BASE, doc, DEPLOYMENTS)
        _only_patch_errors(apply_merge_patch, BASE, doc)
        applied = {"spec": doc} if not isinstance(doc, dict) else dict(doc)
        applied.update(apiVersion="apps/v1", kind="Deployment")
        _only_patch_errors(apply_server_side, copy.deepcopy(BASE), applied, DEPLOYMENTS, "m", force=True)
        _only_patch_errors(apply_server_side, copy.deepcopy(BASE), applied, DEPLOYMENTS, "m")
        record_update(BASE, copy.deepcopy(applied), DEPLOYMENTS, "u")
        ops = [{"op": rng.choice(["add", "remove", "replace", "move", "copy", "test", "x"]),
                "path": rng.choice(["", "/spec", "/spec/replicas", "/spec/template/spec/containers/-",
                                    "/spec/template/spec/containers/9", "/a/b", 5]),
                "from": rng.choice(["/spec", "/metadata", ""]), "value": _random(rng)}]
        _only_patch_errors(apply_json_patch, BASE, ops)
