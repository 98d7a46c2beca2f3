"""Localhost seccomp profiles through the CRI, in real containers: the profile file is read at
CreateContainer, its rules hold for the container's first process and for exec'd ones, and a
bad profile fails CreateContainer clearly and leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config, wait_for

from cri import api_pb2
from cri.client import CRIError, RuntimeClient

pytestmark = pytest.mark.root

SP = api_pb2.SecurityProfile
EPERM_TEXT = b"Operation not permitted"


def write_profile(directory: Path, syscalls: list[dict], name: str = "profile.json", **fields: object) -> Path:
    path = directory / name
    path.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": syscalls, **fields}))
    return path


def localhost(path: Path) -> api_pb2.SecurityProfile:
    return SP(profile_type=SP.Localhost, localhost_ref=str(path))


def configured(name: str, command: list[str], seccomp: api_pb2.SecurityProfile | None = None,
               **security: object) -> api_pb2.ContainerConfig:
    config = container_config(name, command, **security)  # type: ignore[arg-type]
    if seccomp is not None:
        config.linux.security_context.seccomp.CopyFrom(seccomp)
    return config


def create(cri: RuntimeClient, name: str, command: list[str], **security: object) -> str:
    pod = pod_config(name)
    sandbox = cri.run_pod_sandbox(pod)
    return cri.create_container(sandbox, configured(name, command, **security), pod)  # type: ignore[arg-type]


def running(cri: RuntimeClient, name: str, **security: object) -> str:
    container = create(cri, name, ["sleep", "300"], **security)
    cri.start_container(container)
    return container


def exited_code(cri: RuntimeClient, container: str) -> int:
    cri.start_container(container)
    status = wait_for(lambda: (s := cri.container_status(container).status).state == api_pb2.CONTAINER_EXITED and s,
                      timeout=20, what="container exit")
    return status.exit_code


def sh(cri: RuntimeClient, container: str, script: str) -> api_pb2.ExecSyncResponse:
    return cri.exec_sync(container, ["sh", "-c", script], timeout=10)


def test_listed_calls_fail_with_eperm_in_exec_while_others_work(cri: RuntimeClient, tmp_path: Path) -> None:
    profile = write_profile(tmp_path, [{"names": ["mkdir", "mkdirat", "chmod", "fchmodat", "fchmodat2", "sethostname"],
                                        "action": "SCMP_ACT_ERRNO"}])
    container = running(cri, "blocked", seccomp=localhost(profile),
                        capabilities=api_pb2.Capability(add_capabilities=["SYS_ADMIN"]))
    for script in ("mkdir /tmp/dir", "touch /tmp/file && chmod 600 /tmp/file", "hostname renamed"):
        result = sh(cri, container, script)
        assert result.exit_code != 0 and EPERM_TEXT in result.stderr, script
    assert sh(cri, container, "touch /tmp/ok && ls /tmp/ok && hostname").stdout.split()[0] == b"/tmp/ok"
    status = sh(cri, container, "grep -E '^Seccomp:' /proc/1/status /proc/self/status").stdout.decode()
    assert status.count("\t2") == 2  # the first process and the exec'd one are both filtered


def test_the_first_process_runs_under_the_profile(cri: RuntimeClient, tmp_path: Path) -> None:
    profile = write_profile(tmp_path, [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}])
    assert exited_code(cri, create(cri, "init-blocked", ["mkdir", "/tmp/dir"], seccomp=localhost(profile))) == 1
    assert exited_code(cri, create(cri, "init-free", ["mkdir", "/tmp/dir"])) == 0


def test_an_argument_rule_refuses_only_the_matching_calls(cri: RuntimeClient, tmp_path: Path) -> None:
    setuid_bit = {"index": 1, "value": 0o4000, "valueTwo": 0o4000, "op": "SCMP_CMP_MASKED_EQ"}
    profile = write_profile(tmp_path, [{"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO", "args": [setuid_bit]}])
    container = running(cri, "setuid", seccomp=localhost(profile))
    assert sh(cri, container, "touch /tmp/f && chmod 755 /tmp/f && stat -c %a /tmp/f").stdout == b"755\n"
    refused = sh(cri, container, "chmod 4755 /tmp/f")
    assert refused.exit_code != 0 and EPERM_TEXT in refused.stderr
    assert sh(cri, container, "stat -c %a /tmp/f").stdout == b"755\n"


def test_kill_process_ends_the_container_with_exit_code_159(cri: RuntimeClient, tmp_path: Path) -> None:
    profile = write_profile(tmp_path, [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}])
    container = create(cri, "killed", ["mkdir", "/tmp/dir"], seccomp=localhost(profile))
    assert exited_code(cri, container) == 128 + signal.SIGSYS == 159


def test_an_exec_killed_by_the_profile_reports_exit_code_159(cri: RuntimeClient, tmp_path: Path) -> None:
    profile = write_profile(tmp_path, [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}])
    container = running(cri, "exec-killed", seccomp=localhost(profile))
    assert cri.exec_sync(container, ["mkdir", "/tmp/dir"], timeout=10).exit_code == 159
    assert sh(cri, container, "echo alive").stdout == b"alive\n"


def test_the_deprecated_localhost_path_form_applies_the_profile(cri: RuntimeClient, tmp_path: Path) -> None:
    profile = write_profile(tmp_path, [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}])
    container = running(cri, "legacy", seccomp_profile_path=f"localhost/{profile}")
    result = sh(cri, container, "mkdir /tmp/dir")
    assert result.exit_code != 0 and EPERM_TEXT in result.stderr


def test_with_no_new_privs_the_profile_need_not_allow_the_runtimes_own_setup(cri: RuntimeClient, tmp_path: Path) -> None:
    # runc's order: with no_new_privs the filter is loaded last, right before execve; without it,
    # before the uid change, so a profile refusing setgroups stops the start, as with runc.
    profile = write_profile(tmp_path, [{"names": ["setgroups", "setresuid", "setresgid"], "action": "SCMP_ACT_ERRNO"}])
    container = running(cri, "nnp", seccomp=localhost(profile), no_new_privs=True,
                        run_as_user=api_pb2.Int64Value(value=1000))
    assert sh(cri, container, "id -u").stdout == b"1000\n"
    refused = create(cri, "no-nnp", ["sleep", "300"], seccomp=localhost(profile), run_as_user=api_pb2.Int64Value(value=1000))
    with pytest.raises(CRIError) as err:
        cri.start_container(refused)
    assert "Operation not permitted" in err.value.details


@pytest.mark.parametrize(("content", "code", "message"), [
    (None, "FAILED_PRECONDITION", "No such file or directory"),
    ("{ not json", "INVALID_ARGUMENT", "not valid JSON"),
    (json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_BLOCK"}]}),
     "INVALID_ARGUMENT", "syscalls[0].action: unknown action 'SCMP_ACT_BLOCK'"),
])
def test_a_bad_profile_fails_create_container_naming_the_file_and_leaves_nothing(
    cri: RuntimeClient, runtime: RuntimeUnderTest, tmp_path: Path, content: str | None, code: str, message: str
) -> None:
    path = tmp_path / "profile.json"
    if content is not None:
        path.write_text(content)
    pod = pod_config("bad-profile")
    sandbox = cri.run_pod_sandbox(pod)
    cgroups_before = set(runtime.cgroup_dirs())
    with pytest.raises(CRIError) as err:
        cri.create_container(sandbox, configured("bad", ["true"], seccomp=localhost(path)), pod)
    assert err.value.code.name == code
    assert str(path) in err.value.details and message in err.value.details
    assert cri.list_containers() == []
    assert os.listdir(runtime.root / "containers") == []
    assert set(runtime.cgroup_dirs()) == cgroups_before


def test_a_pod_naming_a_missing_localhost_profile_fails_run_pod_sandbox(cri: RuntimeClient, tmp_path: Path) -> None:
    pod = pod_config("pod-profile")
    pod.linux.security_context.seccomp.CopyFrom(api_pb2.SecurityProfile(
        profile_type=api_pb2.SecurityProfile.Localhost, localhost_ref=str(tmp_path / "missing.json")))
    with pytest.raises(CRIError, match="missing.json"):
        cri.run_pod_sandbox(pod)
    assert cri.list_pod_sandbox() == []


def holder_seccomp_mode(cri: RuntimeClient, sandbox: str) -> str:
    info = json.loads(cri.pod_sandbox_status(sandbox, verbose=True).info["info"])
    status = Path(f"/proc/{info['pid']}/status").read_text()
    return next(line.split()[1] for line in status.splitlines() if line.startswith("Seccomp:"))


@pytest.mark.parametrize(("profile", "mode"), [
    (None, "0"),
    (SP(profile_type=SP.Unconfined), "0"),
    (SP(profile_type=SP.RuntimeDefault), "2"),
])
def test_the_pods_holder_runs_under_the_pods_profile_as_pause_does(
    cri: RuntimeClient, profile: api_pb2.SecurityProfile | None, mode: str
) -> None:
    pod = pod_config("holder-profile", pid=api_pb2.POD)
    if profile is not None:
        pod.linux.security_context.seccomp.CopyFrom(profile)
    sandbox = cri.run_pod_sandbox(pod)
    assert holder_seccomp_mode(cri, sandbox) == mode
    # Under the filter the holder is still the pod's PID 1: it reaps an orphan of a container.
    container = cri.create_container(sandbox, configured("c", ["sh", "-c", "(sleep 0.2 &) ; sleep 300"], pid=api_pb2.POD),
                                     pod)
    cri.start_container(container)
    orphan_gone = 'ps -o stat,comm | grep -q "^Z" && echo zombie || echo clean'
    wait_for(lambda: sh(cri, container, orphan_gone).stdout.strip() == b"clean" and
             b"sleep 0.2" not in sh(cri, container, "ps -o args").stdout, timeout=10, what="the orphan reaped")
    cri.stop_pod_sandbox(sandbox)
    assert cri.pod_sandbox_status(sandbox).status.state == api_pb2.SANDBOX_NOTREADY


def test_the_pods_holder_runs_under_a_localhost_profile(cri: RuntimeClient, tmp_path: Path) -> None:
    path = write_profile(tmp_path, [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}])
    pod = pod_config("holder-localhost")
    pod.linux.security_context.seccomp.CopyFrom(localhost(path))
    sandbox = cri.run_pod_sandbox(pod)
    assert holder_seccomp_mode(cri, sandbox) == "2"
    cri.stop_pod_sandbox(sandbox)
