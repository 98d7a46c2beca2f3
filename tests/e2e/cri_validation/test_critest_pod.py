"""critest "PodSandbox" (pod.go, pod_linux.go) and the sandbox half of "Idempotence" (idempotence.go).

A sandbox is READY after RunPodSandbox, listed by id, NOTREADY after StopPodSandbox (also when
stopped twice), gone after RemovePodSandbox; its metadata, labels and annotations round-trip;
sysctls reach the pod's namespaces. Stopping or removing a sandbox that does not exist succeeds.
"""

from __future__ import annotations

import secrets
import uuid

import pytest
from cri_validation_runtime import Cri, v1

pytestmark = pytest.mark.root


def test_run_pod_sandbox_is_ready_and_listed(cri: Cri) -> None:
    with cri.pod("PodSandbox-for-create-test-") as (pod_id, _config):
        assert cri.pod_status(pod_id).status.state == v1.SANDBOX_READY
        assert [p.id for p in cri.list_pods(id=pod_id)] == [pod_id]


def test_stopped_pod_sandbox_is_not_ready_and_keeps_its_status(cri: Cri) -> None:
    config = cri.pod_config("PodSandbox-for-test-stop-")
    pod_id = cri.run_pod(config)
    try:
        cri.stop_pod(pod_id)
        status = cri.pod_status(pod_id).status
        assert status.state == v1.SANDBOX_NOTREADY
        assert status.metadata.name == config.metadata.name and status.created_at > 0
    finally:
        cri.remove_pod(pod_id)


def test_stopping_a_stopped_pod_sandbox_succeeds(cri: Cri) -> None:
    pod_id = cri.run_pod(cri.pod_config("idempotence-pod-"))
    try:
        cri.stop_pod(pod_id)
        cri.stop_pod(pod_id)
        assert cri.pod_status(pod_id).status.state == v1.SANDBOX_NOTREADY
    finally:
        cri.remove_pod(pod_id)


def test_removed_pod_sandbox_is_not_listed(cri: Cri) -> None:
    pod_id = cri.run_pod(cri.pod_config("PodSandbox-for-test-remove-"))
    cri.stop_pod(pod_id)
    cri.remove_pod(pod_id)
    assert cri.list_pods(id=pod_id) == []
    assert pod_id not in [p.id for p in cri.list_pods()]


def test_stopping_a_pod_sandbox_that_does_not_exist_succeeds(cri: Cri) -> None:
    cri.stop_pod(str(uuid.uuid4()))


def test_removing_a_pod_sandbox_that_does_not_exist_succeeds(cri: Cri) -> None:
    cri.remove_pod(str(uuid.uuid4()))


def test_pod_sandbox_attributes_are_preserved(cri: Cri) -> None:
    config = cri.pod_config("PodSandbox-with-attributes-")
    config.metadata.attempt = 2
    labels = {"foo": "bar", "io.kubernetes.pod.name": config.metadata.name,
              "io.kubernetes.pod.namespace": config.metadata.namespace, "io.kubernetes.pod.uid": config.metadata.uid}
    config.labels.update(labels)
    config.annotations.update({"abc": "def"})
    pod_id = cri.run_pod(config)
    try:
        status = cri.pod_status(pod_id).status
        (listed,) = cri.list_pods(id=pod_id)
        for seen in (status, listed):
            assert seen.metadata == config.metadata
            assert labels.items() <= dict(seen.labels).items()
            assert dict(seen.annotations)["abc"] == "def"
    finally:
        cri.stop_pod(pod_id)
        cri.remove_pod(pod_id)


def test_list_pod_sandbox_filters_by_state_and_labels(cri: Cri) -> None:
    tag = secrets.token_hex(4)
    with cri.pod("ready-", labels={"filter-test": tag, "which": "ready"}) as (ready_id, _):
        stopped_id = cri.run_pod(cri.pod_config("stopped-", labels={"filter-test": tag, "which": "stopped"}))
        try:
            cri.stop_pod(stopped_id)
            assert [p.id for p in cri.list_pods(label_selector={"filter-test": tag})] != []
            assert {p.id for p in cri.list_pods(label_selector={"filter-test": tag})} == {ready_id, stopped_id}
            ready = cri.list_pods(label_selector={"filter-test": tag}, state=v1.SANDBOX_READY)
            assert [p.id for p in ready] == [ready_id]
            not_ready = cri.list_pods(label_selector={"filter-test": tag}, state=v1.SANDBOX_NOTREADY)
            assert [p.id for p in not_ready] == [stopped_id]
            assert [p.id for p in cri.list_pods(label_selector={"filter-test": tag, "which": "ready"})] == [ready_id]
            assert cri.list_pods(label_selector={"filter-test": "no-such-value"}) == []
        finally:
            cri.remove_pod(stopped_id)


def test_pod_sandbox_status_verbose_carries_info(cri: Cri) -> None:
    with cri.pod("verbose-") as (pod_id, _):
        response = cri.pod_status(pod_id, verbose=True)
        assert response.info and all(value for value in response.info.values())


@pytest.mark.parametrize(("key", "value", "path"), [
    ("kernel.shm_rmid_forced", "1", "/proc/sys/kernel/shm_rmid_forced"),  # critest: safe sysctl
    ("fs.mqueue.msg_max", "100", "/proc/sys/fs/mqueue/msg_max"),  # critest: unsafe sysctl
])
def test_pod_sysctls_are_set_in_the_pod(cri: Cri, key: str, value: str, path: str) -> None:
    linux = v1.LinuxPodSandboxConfig(sysctls={key: value})
    with cri.pod("pod-sandbox-with-sysctls-", linux=linux) as (pod_id, config):
        container_id = cri.run(pod_id, config, cri.container_config("container-sysctl-"))
        cri.wait_state(container_id, v1.CONTAINER_RUNNING)
        assert cri.exec_ok(container_id, ["cat", path]).strip() == value
