"""Which seccomp setting CreateContainer puts in a container's spec, as containerd chooses it, and
how a bad Localhost profile fails the call."""

from __future__ import annotations

import base64
import json
import platform
from pathlib import Path

import pytest

from cri import api_pb2
from runtime.container.spec import seccomp_of
from runtime.errors import FailedPrecondition, InvalidArgument
from runtime.linux import capabilities, seccomp

SP = api_pb2.SecurityProfile
BLOCK_MKDIR = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
x86_64_only = pytest.mark.skipif(platform.machine() != "x86_64", reason="profiles compile for x86_64")


def context(profile: api_pb2.SecurityProfile | None = None, legacy: str = "") -> api_pb2.LinuxContainerSecurityContext:
    security = api_pb2.LinuxContainerSecurityContext(seccomp_profile_path=legacy)
    if profile is not None:
        security.seccomp.CopyFrom(profile)
    return security


def localhost(path: Path | str) -> api_pb2.SecurityProfile:
    return SP(profile_type=SP.Localhost, localhost_ref=str(path))


def write(tmp_path: Path, profile: object, name: str = "profile.json") -> Path:
    path = tmp_path / name
    path.write_text(profile if isinstance(profile, str) else json.dumps(profile))
    return path


def choose(security: api_pb2.LinuxContainerSecurityContext, privileged: bool = False) -> str | dict:
    return seccomp_of(security, privileged, list(capabilities.DEFAULT))


def test_no_profile_is_unconfined_and_the_builtin_types_map_to_their_names() -> None:
    assert choose(context()) == "unconfined"
    assert choose(context(SP(profile_type=SP.Unconfined))) == "unconfined"
    assert choose(context(SP(profile_type=SP.RuntimeDefault))) == "runtime/default"


@pytest.mark.parametrize(("legacy", "expected"), [
    ("runtime/default", "runtime/default"), ("docker/default", "runtime/default"), ("unconfined", "unconfined"),
])
def test_the_deprecated_path_names_the_builtin_profiles(legacy: str, expected: str) -> None:
    assert choose(context(legacy=legacy)) == expected


@x86_64_only
def test_a_localhost_profile_is_compiled_into_the_spec(tmp_path: Path) -> None:
    path = write(tmp_path, BLOCK_MKDIR)
    setting = choose(context(localhost(path)))
    assert isinstance(setting, dict)
    assert setting["profile"] == f"localhost/{path}"
    assert setting["flags"] == 0
    assert len(base64.b64decode(setting["program"])) % 8 == 0
    assert seccomp.filter_for(setting, []) == (base64.b64decode(setting["program"]), 0)


@x86_64_only
def test_the_deprecated_localhost_path_form_loads_the_same_profile(tmp_path: Path) -> None:
    path = write(tmp_path, BLOCK_MKDIR)
    assert choose(context(legacy=f"localhost/{path}")) == choose(context(localhost(path)))


@x86_64_only
def test_the_seccomp_field_wins_over_the_deprecated_path(tmp_path: Path) -> None:
    path = write(tmp_path, BLOCK_MKDIR)
    assert choose(context(SP(profile_type=SP.Unconfined), legacy=f"localhost/{path}")) == "unconfined"


@x86_64_only
def test_an_empty_profile_file_means_unconfined(tmp_path: Path) -> None:
    assert choose(context(localhost(write(tmp_path, {})))) == "unconfined"


def test_a_privileged_container_gets_no_filter_and_its_profile_is_not_read(tmp_path: Path) -> None:
    assert choose(context(localhost(tmp_path / "absent.json")), privileged=True) == "unconfined"


def test_a_missing_profile_file_is_a_failed_precondition_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    with pytest.raises(FailedPrecondition) as err:
        choose(context(localhost(missing)))
    assert str(missing) in str(err.value) and "No such file or directory" in str(err.value)


@x86_64_only
@pytest.mark.parametrize(("content", "message"), [
    ("{broken", "not valid JSON"),
    ({"defaultAction": "SCMP_ACT_WHATEVER"}, "defaultAction: unknown action 'SCMP_ACT_WHATEVER'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]},
     "SCMP_ACT_NOTIFY"),
])
def test_an_unusable_profile_is_an_invalid_argument_naming_file_and_fault(tmp_path: Path, content: object,
                                                                          message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(InvalidArgument) as err:
        choose(context(localhost(path)))
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize("security", [
    context(localhost("profiles/block.json")),
    context(legacy="localhost/profiles/block.json"),
    context(legacy="my-profile"),
    context(SP(profile_type=SP.RuntimeDefault, localhost_ref="/etc/profile.json")),
])
def test_malformed_profile_references_are_invalid_arguments(security: api_pb2.LinuxContainerSecurityContext) -> None:
    with pytest.raises(InvalidArgument):
        choose(security)


@x86_64_only
def test_a_sandbox_security_context_is_read_the_same_way(tmp_path: Path) -> None:
    sandbox = api_pb2.LinuxSandboxSecurityContext(seccomp=localhost(write(tmp_path, BLOCK_MKDIR)))
    assert isinstance(seccomp_of(sandbox, False, list(capabilities.DEFAULT)), dict)
    with pytest.raises(FailedPrecondition):
        seccomp_of(api_pb2.LinuxSandboxSecurityContext(seccomp_profile_path=f"localhost/{tmp_path}/absent.json"),
                   False, list(capabilities.DEFAULT))
