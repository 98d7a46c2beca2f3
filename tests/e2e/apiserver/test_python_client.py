"""The official Python client (`kubernetes` from PyPI) against a running `kyb apiserver`."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


@pytest.fixture(scope="module")
def core(apiserver) -> client.CoreV1Api:
    api_client = config.new_client_from_config(config_file=str(apiserver.kubeconfig))
    return client.CoreV1Api(api_client)


def make_pod(name: str, labels: dict[str, str]) -> client.V1Pod:
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name, labels=labels),
                        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]))


def test_create_and_read_a_pod(core) -> None:
    created = core.create_namespaced_pod("default", make_pod("py-one", {"via": "python"}))
    assert created.metadata.uid and created.status.phase == "Pending"
    read = core.read_namespaced_pod("py-one", "default")
    assert read.spec.containers[0].image == "busybox"
    assert read.metadata.creation_timestamp is not None


def test_list_with_a_label_selector(core) -> None:
    core.create_namespaced_pod("default", make_pod("py-two", {"via": "python", "n": "2"}))
    pods = core.list_namespaced_pod("default", label_selector="via=python,n=2")
    assert [p.metadata.name for p in pods.items] == ["py-two"]


def test_patch_a_pod(core) -> None:
    core.create_namespaced_pod("default", make_pod("py-patched", {"via": "python"}))
    patched = core.patch_namespaced_pod("py-patched", "default", {"metadata": {"labels": {"extra": "yes"}}})
    assert patched.metadata.labels == {"via": "python", "extra": "yes"}


def test_errors_are_api_exceptions_with_status(core) -> None:
    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod("py-missing", "default")
    assert info.value.status == 404


def test_watch_pods(core) -> None:
    rv = core.list_namespaced_pod("default").metadata.resource_version

    def create_later() -> None:
        time.sleep(0.5)
        core.create_namespaced_pod("default", make_pod("py-watched", {"watch": "me"}))
        core.delete_namespaced_pod("py-watched", "default")

    threading.Thread(target=create_later, daemon=True).start()
    seen = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_pod, "default", label_selector="watch=me", resource_version=rv,
                          timeout_seconds=10):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 2:
            w.stop()
    assert seen == [("ADDED", "py-watched"), ("DELETED", "py-watched")]
