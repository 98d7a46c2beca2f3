"""CreateContainer prepares the container's process ahead (runtime.container.prestart); only
StartContainer lets it run. A created container never runs its command early, and removing it,
restarting the daemon or losing its waiting shim changes nothing a CRI client can see."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config, wait_exit_code, wait_for

from cri import api_pb2
from cri.client import CRIError, RuntimeClient

pytestmark = pytest.mark.root


def touching(name: str, volume: Path) -> api_pb2.ContainerConfig:
    config = container_config(name, ["sh", "-c", "touch /out/ran"])
    config.mounts.append(api_pb2.Mount(container_path="/out", host_path=str(volume)))
    return config


def shims_of(runtime: RuntimeUnderTest) -> list[psutil.Process]:
    """Shims (prestarted ones included) of this runtime: processes named kyb-shim under its daemon."""
    assert runtime.process is not None
    daemon = psutil.Process(runtime.process.pid)
    shims = []
    for process in daemon.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # it may go between the listing and the look
            if process.name() == "kyb-shim":
                shims.append(process)
    return shims


def has_exited(process: psutil.Process) -> bool:
    """Gone, or a zombie: either way its descriptors are closed."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_created_container_does_not_run_its_command_before_it_is_started(cri: RuntimeClient, tmp_path: Path) -> None:
    pod = pod_config("prestart-wait")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, touching("c", tmp_path), pod)
    time.sleep(0.5)
    assert not (tmp_path / "ran").exists()
    assert cri.container_status(container).status.state == api_pb2.CONTAINER_CREATED
    cri.start_container(container)
    assert wait_exit_code(cri, container) == 0
    assert (tmp_path / "ran").exists()


def test_removing_a_created_container_leaves_no_waiting_process(
    runtime: RuntimeUnderTest, cri: RuntimeClient, tmp_path: Path
) -> None:
    pod = pod_config("prestart-rm")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, touching("c", tmp_path), pod)
    wait_for(lambda: shims_of(runtime), what="the prestarted shim")
    cri.remove_container(container)
    wait_for(lambda: not shims_of(runtime), what="the prestarted shim to go")
    assert not (tmp_path / "ran").exists()
    assert not (runtime.root / "containers" / container).exists()


def test_a_container_created_before_a_daemon_restart_starts_afterwards(
    runtime: RuntimeUnderTest, cri: RuntimeClient, tmp_path: Path
) -> None:
    pod = pod_config("prestart-restart")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, touching("c", tmp_path), pod)
    runtime.kill_daemon()
    cri = runtime.start()
    cri.start_container(container)
    assert wait_exit_code(cri, container) == 0
    assert (tmp_path / "ran").exists()


def test_a_start_succeeds_when_the_waiting_shim_was_killed(
    runtime: RuntimeUnderTest, cri: RuntimeClient, tmp_path: Path
) -> None:
    pod = pod_config("prestart-killed")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, touching("c", tmp_path), pod)
    shims = wait_for(lambda: shims_of(runtime), what="the prestarted shim")
    for shim in shims:
        os.kill(shim.pid, signal.SIGKILL)
    # SIGKILL lands asynchronously. A shim still running when go arrives may take go with it as it
    # dies; the daemon cannot tell whether it was passed on, so it reports an error (not this test).
    wait_for(lambda: all(has_exited(shim) for shim in shims), what="the killed shim to be gone")
    cri.start_container(container)
    assert wait_exit_code(cri, container) == 0
    assert (tmp_path / "ran").exists()


def test_a_start_succeeds_when_the_waiting_shim_dies_with_its_go_unread(
    runtime: RuntimeUnderTest, cri: RuntimeClient, tmp_path: Path
) -> None:
    # A stopped shim has said ready (given time) but cannot read go; killed then, its go is unread.
    pod = pod_config("prestart-unread")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, touching("c", tmp_path), pod)
    shims = wait_for(lambda: shims_of(runtime), what="the prestarted shim")
    time.sleep(0.5)
    for shim in shims:
        shim.suspend()
    with ThreadPoolExecutor(1) as pool:
        started = pool.submit(cri.start_container, container)
        time.sleep(0.5)
        for shim in shims:
            shim.kill()
        started.result(timeout=30)
    assert wait_exit_code(cri, container) == 0
    assert (tmp_path / "ran").exists()


def pipes_of(process: psutil.Process) -> set[str]:
    links = set()
    for fd in os.listdir(f"/proc/{process.pid}/fd"):
        try:
            links.add(os.readlink(f"/proc/{process.pid}/fd/{fd}"))
        except FileNotFoundError:
            continue
    return {link for link in links if link.startswith("pipe:")}


def test_a_start_whose_shim_dies_after_passing_go_fails_and_leaves_nothing_running(
    runtime: RuntimeUnderTest, cri: RuntimeClient, tmp_path: Path
) -> None:
    # The process is stopped once it waits for go, so it cannot exec before its shim is killed;
    # the daemon cannot know that, so it must fail the start and kill the process itself.
    pod = pod_config("prestart-passed")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, touching("c", tmp_path), pod)
    [shim] = wait_for(lambda: shims_of(runtime), what="the prestarted shim")
    [process] = wait_for(lambda: shim.children(), what="the container's process")
    # Waiting for go, it holds only its stdio, its error pipe and its go pipe.
    wait_for(lambda: process.num_fds() == 5, what="the container's process to wait for go")
    process.suspend()
    with ThreadPoolExecutor(1) as pool:
        started = pool.submit(cri.start_container, container)
        # Once go is passed on, the shim closes its end of the go pipe.
        wait_for(lambda: pipes_of(process) - pipes_of(shim), what="the shim to pass go on")
        shim.kill()
        with pytest.raises(CRIError, match="went away while starting"):
            started.result(timeout=30)
    wait_for(lambda: has_exited(process), what="the container's process to be killed")
    status = cri.container_status(container).status
    assert status.state == api_pb2.CONTAINER_EXITED and status.reason == "StartError"
    assert not (tmp_path / "ran").exists()


def test_an_unknown_user_prepared_ahead_fails_the_start_not_the_create(cri: RuntimeClient) -> None:
    pod = pod_config("prestart-user")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("c", ["true"], run_as_username="nobody-here")
    container = cri.create_container(sandbox, config, pod)
    with pytest.raises(CRIError, match="nobody-here"):
        cri.start_container(container)
    status = cri.container_status(container).status
    assert status.state == api_pb2.CONTAINER_EXITED and status.reason == "StartError"


def test_a_spec_too_large_to_travel_in_the_request_is_read_from_the_record(cri: RuntimeClient) -> None:
    pod = pod_config("prestart-big")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("c", ["sh", "-c", 'test "${#BIG}" -eq 70000'])
    config.envs.append(api_pb2.KeyValue(key="BIG", value="x" * 70000))
    container = cri.create_container(sandbox, config, pod)
    cri.start_container(container)
    assert wait_exit_code(cri, container) == 0


def test_a_create_whose_cgroup_cannot_be_made_leaves_no_waiting_process(runtime: RuntimeUnderTest, cri: RuntimeClient) -> None:
    # The shim is asked for before the cgroup is made; a failed cgroup must call it off.
    pod = pod_config("prestart-cgroup")
    sandbox = cri.run_pod_sandbox(pod)
    config = container_config("c", ["true"], resources=api_pb2.LinuxContainerResources(cpuset_cpus="4095"))
    with pytest.raises(CRIError, match="cpuset"):
        cri.create_container(sandbox, config, pod)
    wait_for(lambda: not shims_of(runtime), what="the called-off shim to go")
    assert not list((runtime.root / "containers").iterdir())
    container = cri.create_container(sandbox, container_config("c", ["true"]), pod)  # the name is free again
    cri.start_container(container)
    assert wait_exit_code(cri, container) == 0
