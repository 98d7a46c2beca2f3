"""AppArmor: which profile a container runs under, decided as containerd decides it, and how
the host's AppArmor state is read. The kernel side is faked with files laid out like
securityfs and /proc; the default profile is compiled by the real apparmor_parser."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from cri import api_pb2
from runtime.container.spec import apparmor_of, apparmor_request, build_spec
from runtime.errors import FailedPrecondition, InvalidArgument
from runtime.linux import apparmor, apparmor_exec
from runtime.linux.apparmor import AppArmorError, AppArmorHost, Request

SANDBOX = {"dir": "/state/sandboxes/s1", "hostname": "web-0",
           "namespaces": {"net": "/proc/9/ns/net", "ipc": "/proc/9/ns/ipc", "uts": "/proc/9/ns/uts"},
           "shm": None, "privileged": True}


def securityfs(tmp_path: Path, *profiles: str) -> str:
    root = tmp_path / "apparmor"
    root.mkdir(exist_ok=True)
    (root / "profiles").write_text("".join(f"{p} (enforce)\n" for p in profiles))
    return str(root)


def enabled_host(tmp_path: Path, *profiles: str, default: str | None = apparmor.DEFAULT_PROFILE) -> AppArmorHost:
    return AppArmorHost(enabled=True, default_profile=default, default_problem="" if default else "no parser",
                        securityfs=securityfs(tmp_path, *profiles))


def security(**fields: object) -> api_pb2.LinuxContainerSecurityContext:
    return api_pb2.LinuxContainerSecurityContext(**fields)  # type: ignore[arg-type]


def localhost(ref: str) -> api_pb2.SecurityProfile:
    return api_pb2.SecurityProfile(profile_type=api_pb2.SecurityProfile.Localhost, localhost_ref=ref)


# ----------------------------------------------------------------------------- the host
def test_the_host_enforces_apparmor_only_when_the_module_says_yes_and_securityfs_is_there(tmp_path: Path) -> None:
    parameter = tmp_path / "enabled"
    fs = securityfs(tmp_path)
    parameter.write_text("Y\n")
    assert apparmor.host_enabled(str(parameter), fs)
    assert not apparmor.host_enabled(str(parameter), str(tmp_path / "no-securityfs"))
    parameter.write_text("N\n")
    assert not apparmor.host_enabled(str(parameter), fs)
    assert not apparmor.host_enabled(str(tmp_path / "no-module"), fs)


def test_loaded_profiles_are_read_by_name_whatever_their_mode(tmp_path: Path) -> None:
    root = Path(securityfs(tmp_path))
    (root / "profiles").write_text("kyb-default (enforce)\n/usr/bin/man (complain)\nname with spaces (enforce)\n")
    assert apparmor.loaded_profiles(str(root)) == {"kyb-default", "/usr/bin/man", "name with spaces"}


def test_a_host_without_apparmor_loads_nothing(tmp_path: Path) -> None:
    host = AppArmorHost.detect(parameter=str(tmp_path / "absent"), securityfs=str(tmp_path), parser="/bin/false")
    assert host == AppArmorHost(enabled=False, securityfs=str(tmp_path))


def fake_parser(tmp_path: Path, body: str) -> str:
    script = tmp_path / "apparmor_parser"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_where_apparmor_is_enforced_the_daemon_loads_its_default_profile(tmp_path: Path) -> None:
    parameter = tmp_path / "enabled"
    parameter.write_text("Y")
    got = tmp_path / "got"
    fs = securityfs(tmp_path)
    # As the kernel would: the loaded profile shows up in securityfs.
    parser = fake_parser(tmp_path, f'echo "$@" > {got}.args; cat > {got}; echo "kyb-default (enforce)" >> {fs}/profiles')
    host = AppArmorHost.detect(parameter=str(parameter), securityfs=fs, parser=parser)
    assert host.enabled and host.default_profile == apparmor.DEFAULT_PROFILE
    assert f"profile {apparmor.DEFAULT_PROFILE} " in got.read_text()
    assert "--replace" in Path(f"{got}.args").read_text().split()


def test_a_default_profile_that_does_not_load_leaves_unnamed_containers_unconfined_and_says_why(tmp_path: Path) -> None:
    parameter = tmp_path / "enabled"
    parameter.write_text("Y")
    parser = fake_parser(tmp_path, "echo 'syntax error at line 3' >&2; exit 0")  # a failure with status 0
    host = AppArmorHost.detect(parameter=str(parameter), securityfs=securityfs(tmp_path), parser=parser)
    assert host.enabled and host.default_profile is None
    assert "syntax error at line 3" in host.default_problem
    assert host.profile_for(Request.UNSET, "", privileged=False) is None
    with pytest.raises(AppArmorError, match="syntax error at line 3"):
        host.profile_for(Request.RUNTIME_DEFAULT, "", privileged=False)


def test_a_missing_parser_is_named_with_the_package_that_has_it(tmp_path: Path) -> None:
    with pytest.raises(AppArmorError, match="apparmor package"):
        apparmor.load("profile x {}", parser=str(tmp_path / "no-such-parser"))


@pytest.mark.skipif(shutil.which("apparmor_parser") is None, reason="apparmor_parser is not installed")
def test_the_default_profile_compiles() -> None:
    apparmor.load(apparmor.default_profile_text(), into_kernel=False)


def test_a_parser_that_fails_says_why(tmp_path: Path) -> None:
    parser = fake_parser(tmp_path, "echo 'AppArmor parser error at line 2' >&2; exit 1")
    with pytest.raises(AppArmorError, match="parser error at line 2"):
        apparmor.load("profile x {}", parser=parser)


def test_an_invalid_profile_does_not_compile() -> None:
    if shutil.which("apparmor_parser") is None:
        pytest.skip("apparmor_parser is not installed")
    with pytest.raises(AppArmorError):
        apparmor.load("profile broken { this is not a rule }", into_kernel=False)


# ----------------------------------------------------------------------------- the exec attribute
def test_confining_writes_the_profile_to_the_exec_attribute_of_the_apparmor_directory(tmp_path: Path) -> None:
    attr = tmp_path / "thread-self" / "attr"
    (attr / "apparmor").mkdir(parents=True)
    (attr / "apparmor" / "exec").write_text("")
    (attr / "exec").write_text("")
    apparmor_exec.confine_at_exec("cri-deny-write", proc=str(tmp_path))
    assert (attr / "apparmor" / "exec").read_text() == "exec cri-deny-write"
    assert (attr / "exec").read_text() == ""


def test_an_older_kernel_takes_the_profile_in_the_shared_exec_attribute(tmp_path: Path) -> None:
    attr = tmp_path / "thread-self" / "attr"
    attr.mkdir(parents=True)
    (attr / "exec").write_text("")
    apparmor_exec.confine_at_exec("cri-deny-write", proc=str(tmp_path))
    assert (attr / "exec").read_text() == "exec cri-deny-write"


# ----------------------------------------------------------------------------- the request
def test_the_apparmor_field_wins_over_the_deprecated_string() -> None:
    both = security(apparmor_profile="localhost/old", apparmor=localhost("localhost/new"))
    assert apparmor_request(both) == (Request.LOCALHOST, "localhost/new")


@pytest.mark.parametrize(("legacy", "expected"), [
    ("", (Request.UNSET, "")),
    ("runtime/default", (Request.RUNTIME_DEFAULT, "")),
    ("unconfined", (Request.UNCONFINED, "")),
    ("localhost/cri-deny-write", (Request.LOCALHOST, "localhost/cri-deny-write")),
])
def test_the_deprecated_string_is_read_as_containerd_reads_it(legacy: str, expected: tuple) -> None:
    assert apparmor_request(security(apparmor_profile=legacy)) == expected


@pytest.mark.parametrize("bad", [
    security(apparmor_profile="docker-default"),
    security(apparmor_profile="localhost/"),
    security(apparmor=localhost("")),
    security(apparmor=api_pb2.SecurityProfile(profile_type=api_pb2.SecurityProfile.RuntimeDefault, localhost_ref="x")),
    security(apparmor=api_pb2.SecurityProfile(profile_type=7)),  # type: ignore[arg-type]
])
def test_malformed_requests_are_invalid_arguments(bad: api_pb2.LinuxContainerSecurityContext) -> None:
    with pytest.raises(InvalidArgument):
        apparmor_request(bad)


# ----------------------------------------------------------------------------- the decision
def test_without_apparmor_asking_for_nothing_or_unconfined_runs_unconfined() -> None:
    host = AppArmorHost(enabled=False)
    assert apparmor_of(security(), False, host) is None
    assert apparmor_of(security(apparmor_profile="unconfined"), False, host) is None


@pytest.mark.parametrize("asked", [
    security(apparmor_profile="runtime/default"),
    security(apparmor=localhost("cri-deny-write")),
])
def test_without_apparmor_a_profile_that_was_asked_for_fails_the_create(asked: api_pb2.LinuxContainerSecurityContext) -> None:
    with pytest.raises(FailedPrecondition, match="AppArmor is not enabled on this node"):
        apparmor_of(asked, False, AppArmorHost(enabled=False))


def test_with_apparmor_a_container_that_names_no_profile_gets_the_default(tmp_path: Path) -> None:
    host = enabled_host(tmp_path)
    assert apparmor_of(security(), False, host) == apparmor.DEFAULT_PROFILE
    assert apparmor_of(security(apparmor_profile="runtime/default"), False, host) == apparmor.DEFAULT_PROFILE


def test_a_privileged_container_gets_no_default_profile(tmp_path: Path) -> None:
    host = enabled_host(tmp_path)
    assert apparmor_of(security(), True, host) is None
    assert apparmor_of(security(apparmor_profile="runtime/default"), True, host) is None


def test_a_loaded_localhost_profile_is_used_by_its_bare_name(tmp_path: Path) -> None:
    host = enabled_host(tmp_path, "cri-deny-write")
    assert apparmor_of(security(apparmor=localhost("localhost/cri-deny-write")), False, host) == "cri-deny-write"
    assert apparmor_of(security(apparmor=localhost("cri-deny-write")), False, host) == "cri-deny-write"
    assert apparmor_of(security(apparmor_profile="localhost/cri-deny-write"), True, host) == "cri-deny-write"


def test_a_localhost_profile_that_is_not_loaded_fails_the_create(tmp_path: Path) -> None:
    host = enabled_host(tmp_path, "cri-deny-write")
    with pytest.raises(FailedPrecondition, match="'non-existent-profile' is not loaded"):
        apparmor_of(security(apparmor=localhost("localhost/non-existent-profile")), False, host)


def test_the_spec_carries_the_decided_profile(tmp_path: Path) -> None:
    config = api_pb2.ContainerConfig(
        metadata=api_pb2.ContainerMetadata(name="c"), image=api_pb2.ImageSpec(image="busybox"), command=["true"],
        linux=api_pb2.LinuxContainerConfig(security_context=security(apparmor=localhost("cri-deny-write"))))
    spec = build_spec(
        container_dir="/state/containers/c1", config=config, sandbox=SANDBOX, image_config={}, layer_dirs=["/l"],
        log_path="", cgroup_procs=[], oom=None, pid_namespace=("new", None), last_cap=40,
        apparmor_host=enabled_host(tmp_path, "cri-deny-write"))
    assert spec["process"]["apparmor_profile"] == "cri-deny-write"
