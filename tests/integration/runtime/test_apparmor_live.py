"""AppArmor on a live runtime: what the host cannot enforce is refused at CreateContainer, what
it can is enforced on the container's process (the checks critest makes, run where the kernel
has AppArmor; this machine has none, so those are skipped here)."""

from __future__ import annotations

import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config, wait_exit_code

from cri import api_pb2
from cri.client import CRIError, RuntimeClient
from runtime.linux import apparmor

pytestmark = pytest.mark.root

ENFORCED = apparmor.host_enabled()
TEST_PROFILES = """#include <tunables/global>
profile kybt-deny-write flags=(attach_disconnected) {
  #include <abstractions/base>
  file,
  deny /** w,
}
profile kybt-audit-write flags=(attach_disconnected) {
  #include <abstractions/base>
  file,
  audit /** w,
}
"""


def with_apparmor(name: str, command: list[str], *, legacy: str = "",
                  profile: api_pb2.SecurityProfile | None = None) -> api_pb2.ContainerConfig:
    config = container_config(name, command)
    config.linux.security_context.apparmor_profile = legacy
    if profile is not None:
        config.linux.security_context.apparmor.CopyFrom(profile)
    return config


def localhost(name: str) -> api_pb2.SecurityProfile:
    return api_pb2.SecurityProfile(profile_type=api_pb2.SecurityProfile.Localhost, localhost_ref=f"localhost/{name}")


def run_to_exit(cri: RuntimeClient, config: api_pb2.ContainerConfig) -> int:
    pod = pod_config(config.metadata.name)
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    return wait_exit_code(cri, container)


@pytest.mark.skipif(ENFORCED, reason="this host enforces AppArmor")
@pytest.mark.parametrize("config", [
    with_apparmor("aa-local", ["true"], profile=localhost("kybt-deny-write")),
    with_apparmor("aa-legacy", ["true"], legacy="localhost/kybt-deny-write"),
    with_apparmor("aa-default", ["true"], profile=api_pb2.SecurityProfile(profile_type=api_pb2.SecurityProfile.RuntimeDefault)),
])
def test_without_apparmor_a_requested_profile_fails_the_create_and_leaves_nothing(
        cri: RuntimeClient, runtime: RuntimeUnderTest, config: api_pb2.ContainerConfig) -> None:
    pod = pod_config("aa-refused")
    sandbox = cri.run_pod_sandbox(pod)
    with pytest.raises(CRIError) as err:
        cri.create_container(sandbox, config, pod)
    assert err.value.code.name == "FAILED_PRECONDITION"
    assert "AppArmor is not enabled on this node" in err.value.details
    assert list((runtime.root / "containers").iterdir()) == []


@pytest.mark.skipif(ENFORCED, reason="this host enforces AppArmor")
def test_without_apparmor_unconfined_and_unnamed_containers_run(cri: RuntimeClient) -> None:
    unconfined = api_pb2.SecurityProfile(profile_type=api_pb2.SecurityProfile.Unconfined)
    assert run_to_exit(cri, with_apparmor("aa-unconfined", ["touch", "/tmp/x"], profile=unconfined)) == 0
    assert run_to_exit(cri, with_apparmor("aa-unnamed", ["touch", "/tmp/x"])) == 0


@pytest.fixture
def test_profiles() -> None:
    apparmor.load(TEST_PROFILES)


@pytest.mark.skipif(not ENFORCED, reason="the kernel does not enforce AppArmor here")
def test_a_profile_denying_writes_is_enforced(cri: RuntimeClient, test_profiles: None) -> None:
    assert run_to_exit(cri, with_apparmor("aa-deny", ["touch", "/tmp/foo"], profile=localhost("kybt-deny-write"))) != 0


@pytest.mark.skipif(not ENFORCED, reason="the kernel does not enforce AppArmor here")
def test_a_permissive_profile_lets_the_container_write(cri: RuntimeClient, test_profiles: None) -> None:
    assert run_to_exit(cri, with_apparmor("aa-audit", ["touch", "/tmp/foo"], legacy="localhost/kybt-audit-write")) == 0


@pytest.mark.skipif(not ENFORCED, reason="the kernel does not enforce AppArmor here")
def test_an_unloaded_profile_fails_the_create(cri: RuntimeClient) -> None:
    pod = pod_config("aa-unloaded")
    sandbox = cri.run_pod_sandbox(pod)
    with pytest.raises(CRIError) as err:
        cri.create_container(sandbox, with_apparmor("aa-x", ["true"], profile=localhost("kybt-no-such-profile")), pod)
    assert err.value.code.name == "FAILED_PRECONDITION"


@pytest.mark.skipif(not ENFORCED, reason="the kernel does not enforce AppArmor here")
def test_a_container_that_names_no_profile_runs_under_the_default(cri: RuntimeClient) -> None:
    pod = pod_config("aa-default-live")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, with_apparmor("aa-current", ["sleep", "60"]), pod)
    cri.start_container(container)
    current = cri.exec_sync(container, ["cat", "/proc/1/attr/current"], timeout=10).stdout.decode()
    assert current.startswith(f"{apparmor.DEFAULT_PROFILE} ")
