"""Stop semantics, surviving a daemon crash, and removal that leaves nothing behind."""

from __future__ import annotations

import json
import os
import time

import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config, wait_for

from cri import api_pb2
from cri.client import RuntimeClient

pytestmark = pytest.mark.root


def exited(cri: RuntimeClient, container: str) -> api_pb2.ContainerStatus | None:
    status = cri.container_status(container).status
    return status if status.state == api_pb2.CONTAINER_EXITED else None


def test_stop_sends_sigterm_first(cri: RuntimeClient) -> None:
    pod = pod_config("term")
    sandbox = cri.run_pod_sandbox(pod)
    script = "trap 'exit 0' TERM; touch /ready; sleep 300 & wait"
    container = cri.create_container(sandbox, container_config("polite", ["sh", "-c", script]), pod)
    cri.start_container(container)
    wait_for(lambda: cri.exec_sync(container, ["test", "-e", "/ready"], timeout=5).exit_code == 0, what="trap set")
    started = time.monotonic()
    cri.stop_container(container, timeout=30)
    assert time.monotonic() - started < 10
    status = exited(cri, container)
    assert status is not None and status.exit_code == 0


def test_stop_kills_after_the_timeout_when_sigterm_is_ignored(cri: RuntimeClient) -> None:
    pod = pod_config("kill")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("stubborn", ["sh", "-c", "trap '' TERM; sleep 300 & wait"]), pod)
    cri.start_container(container)
    started = time.monotonic()
    cri.stop_container(container, timeout=2)
    elapsed = time.monotonic() - started
    assert 2 <= elapsed < 10
    status = exited(cri, container)
    assert status is not None and status.exit_code == 137


def test_stop_is_idempotent(cri: RuntimeClient) -> None:
    pod = pod_config("again")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("c", ["sleep", "300"]), pod)
    cri.start_container(container)
    cri.stop_container(container, 0)
    cri.stop_container(container, 0)
    cri.stop_pod_sandbox(sandbox)
    cri.stop_pod_sandbox(sandbox)
    assert cri.pod_sandbox_status(sandbox).status.state == api_pb2.SANDBOX_NOTREADY


def test_stop_and_remove_racing_a_remove_all_succeed(cri: RuntimeClient) -> None:
    # Whoever waited for the container while another call removed it finds it gone: stopped, removed.
    from concurrent.futures import ThreadPoolExecutor

    pod = pod_config("race")
    sandbox = cri.run_pod_sandbox(pod)
    with ThreadPoolExecutor(3) as pool:
        for index in range(10):
            container = cri.create_container(sandbox, container_config(f"c{index}", ["sleep", "300"]), pod)
            cri.start_container(container)
            calls = [pool.submit(cri.remove_container, container), pool.submit(cri.stop_container, container, 0),
                     pool.submit(cri.remove_container, container)]
            for call in calls:
                call.result(timeout=60)
    assert cri.list_containers() == []


def test_stop_and_remove_of_a_pod_racing_a_remove_all_succeed(cri: RuntimeClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(3) as pool:
        for index in range(8):
            pod = pod_config(f"race{index}")
            sandbox = cri.run_pod_sandbox(pod)
            cri.start_container(cri.create_container(sandbox, container_config("c", ["sleep", "300"]), pod))
            calls = [pool.submit(cri.remove_pod_sandbox, sandbox), pool.submit(cri.stop_pod_sandbox, sandbox),
                     pool.submit(cri.remove_pod_sandbox, sandbox)]
            for call in calls:
                call.result(timeout=60)
    assert cri.list_pod_sandbox() == [] and cri.list_containers() == []


def test_a_container_whose_shim_died_is_reported_exited_and_is_not_left_running(cri: RuntimeClient) -> None:
    import psutil

    pod = pod_config("orphan")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("c", ["sleep", "300"]), pod)
    cri.start_container(container)
    process = psutil.Process(json.loads(cri.container_status(container, verbose=True).info["info"])["pid"])
    process.parent().kill()  # the shim
    status = wait_for(lambda: exited(cri, container), what="the exit to be noticed")
    assert (status.exit_code, status.reason) == (255, "Unknown")
    wait_for(lambda: not process.is_running() or process.status() == psutil.STATUS_ZOMBIE, what="the container's process to go")


def test_killing_the_daemon_loses_no_container_or_exit_code(runtime: RuntimeUnderTest, cri: RuntimeClient) -> None:
    pod = pod_config("crash")
    sandbox = cri.run_pod_sandbox(pod)
    long = cri.create_container(sandbox, container_config("long", ["sleep", "300"]), pod)
    cri.start_container(long)
    short = cri.create_container(sandbox, container_config("short", ["sh", "-c", "sleep 1; exit 3"]), pod)
    cri.start_container(short)
    long_pid = runtime.state_pids()
    runtime.kill_daemon()
    time.sleep(2)  # "short" exits while no daemon runs
    cri = runtime.start()
    assert {c.id for c in cri.list_containers()} == {long, short}
    assert cri.container_status(long).status.state == api_pb2.CONTAINER_RUNNING
    short_status = wait_for(lambda: exited(cri, short), what="short's exit")
    assert (short_status.exit_code, short_status.reason) == (3, "Error")
    assert cri.pod_sandbox_status(sandbox).status.state == api_pb2.SANDBOX_READY
    assert cri.exec_sync(long, ["echo", "still here"], timeout=5).stdout == b"still here\n"
    assert long_pid <= runtime.state_pids() | long_pid
    cri.stop_container(long, 0)
    assert exited(cri, long).exit_code == 137  # type: ignore[union-attr]


def test_killing_the_daemon_in_the_middle_of_anything_loses_nothing_acknowledged_and_leaves_no_trace(
    runtime: RuntimeUnderTest, cri: RuntimeClient
) -> None:
    import random
    import threading

    from cri.client import CRIError

    pod = pod_config("anytime")
    sandbox = cri.run_pod_sandbox(pod)
    created: set[str] = set()  # acknowledged by CreateContainer
    started: set[str] = set()  # acknowledged by StartContainer
    removal_asked: set[str] = set()
    removed: set[str] = set()  # acknowledged by RemoveContainer
    pace = random.Random(4)
    for attempt in range(4):

        def churn(client: RuntimeClient, stop: threading.Event, attempt: int = attempt) -> None:
            for n in range(200):
                if stop.is_set():
                    return
                try:
                    container = client.create_container(
                        sandbox, container_config(f"c{attempt}-{n}", ["sleep", "300"] if n % 2 else ["true"]), pod)
                    created.add(container)
                    client.start_container(container)
                    started.add(container)
                    if n % 3 == 0:
                        removal_asked.add(container)
                        client.remove_container(container)
                        removed.add(container)
                except CRIError:
                    return  # the daemon is gone

        cri = runtime.kill_daemon_during(churn, pace.uniform(0.05, 0.4))
        listed = {c.id: c.state for c in cri.list_containers()}
        assert not removed & listed.keys(), "a removed container came back"
        assert created - removal_asked <= listed.keys(), "an acknowledged container was lost"
        assert all(listed[c] != api_pb2.CONTAINER_CREATED for c in started - removal_asked), "a start was forgotten"
        for container in listed:
            cri.container_status(container)  # each one listed can be inspected
    cri.stop_pod_sandbox(sandbox)
    cri.remove_pod_sandbox(sandbox)
    assert cri.list_containers() == [] and runtime.cgroup_dirs() == [] and runtime.mounts_under_root() == []
    assert os.listdir(runtime.root / "containers") == [] and os.listdir(runtime.root / "sandboxes") == []


def test_containers_created_while_their_pod_is_removed_are_never_left_behind(
    runtime: RuntimeUnderTest, cri: RuntimeClient
) -> None:
    import random
    import threading

    from cri.client import CRIError

    pace = random.Random(11)
    for attempt in range(6):
        pod = pod_config(f"racing-{attempt}")
        sandbox = cri.run_pod_sandbox(pod)

        def create_until_refused(worker: int, sandbox: str = sandbox, pod: api_pb2.PodSandboxConfig = pod) -> None:
            with RuntimeClient(f"unix://{runtime.socket}", timeout=20) as client:
                for n in range(50):
                    try:
                        client.create_container(sandbox, container_config(f"c{worker}-{n}", ["true"]), pod)
                    except CRIError:
                        return  # refused once the pod is stopping or gone

        # Several at once: the daemon makes one container at a time, so the others wait, past
        # their pod's check, while the pod is stopped and removed.
        creators = [threading.Thread(target=create_until_refused, args=(w,)) for w in range(4)]
        for creator in creators:
            creator.start()
        time.sleep(pace.uniform(0.02, 0.2))
        cri.stop_pod_sandbox(sandbox)
        cri.remove_pod_sandbox(sandbox)
        for creator in creators:
            creator.join(60)
        assert cri.list_containers() == [], "a container outlived its pod"
    assert runtime.cgroup_dirs() == [] and os.listdir(runtime.root / "containers") == []


def test_removing_everything_leaves_no_trace(runtime: RuntimeUnderTest, cri: RuntimeClient) -> None:
    pod = pod_config("trace", log_directory=str(runtime.logs / "pod"))
    sandbox = cri.run_pod_sandbox(pod)
    containers = []
    for name in ("a", "b"):
        c = cri.create_container(sandbox, container_config(name, ["sh", "-c", "echo hi; sleep 300"], log_path=f"{name}.log"), pod)
        cri.start_container(c)
        containers.append(c)
    pids = runtime.state_pids()
    assert pids and runtime.cgroup_dirs() and runtime.mounts_under_root()
    cri.stop_pod_sandbox(sandbox)
    cri.remove_pod_sandbox(sandbox)
    assert cri.list_pod_sandbox() == [] and cri.list_containers() == []
    assert runtime.cgroup_dirs() == []
    assert runtime.mounts_under_root() == []
    wait_for(lambda: not [p for p in pids if os.path.exists(f"/proc/{p}")], timeout=5, what="processes to be reaped")
    assert os.listdir(runtime.root / "sandboxes") == [] and os.listdir(runtime.root / "containers") == []
    assert not (runtime.logs / "pod").exists()
    cri.remove_pod_sandbox(sandbox)  # idempotent


def test_removing_a_running_container_kills_it(runtime: RuntimeUnderTest, cri: RuntimeClient) -> None:
    pod = pod_config("rm")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("c", ["sleep", "300"]), pod)
    cri.start_container(container)
    pids = runtime.state_pids()
    cri.remove_container(container)
    assert cri.list_containers() == []
    holder = cri.pod_sandbox_status(sandbox, verbose=True)
    assert holder.status.state == api_pb2.SANDBOX_READY
    gone = pids - runtime.state_pids()
    assert gone
    wait_for(lambda: not [p for p in gone if os.path.exists(f"/proc/{p}")], timeout=5, what="processes to be reaped")


def test_a_restarted_daemon_removes_what_a_crash_left_half_made(runtime: RuntimeUnderTest) -> None:
    runtime.kill_daemon()
    (runtime.root / "containers" / ("f" * 64) / "upper").mkdir(parents=True)
    (runtime.root / "sandboxes" / ("e" * 64)).mkdir(parents=True)
    runtime.start()
    assert os.listdir(runtime.root / "containers") == [] and os.listdir(runtime.root / "sandboxes") == []


def test_a_restarted_daemon_removes_the_holder_and_cgroups_of_a_sandbox_half_made_under_a_cgroup_parent(
    runtime: RuntimeUnderTest, cri: RuntimeClient
) -> None:
    import psutil

    pod = pod_config("halfmade")
    pod.linux.cgroup_parent = f"{runtime.cgroup_root}/kubepods/pod-halfmade"  # as the kubelet sets it
    sandbox = cri.run_pod_sandbox(pod)
    holder = psutil.Process(json.loads(cri.pod_sandbox_status(sandbox, verbose=True).info["info"])["pid"])
    runtime.kill_daemon()
    (runtime.root / "sandboxes" / sandbox / "record.json").unlink()  # as if it died before writing it
    cri = runtime.start()
    assert cri.list_pod_sandbox() == []
    assert os.listdir(runtime.root / "sandboxes") == []
    wait_for(lambda: not holder.is_running() or holder.status() == psutil.STATUS_ZOMBIE, what="the holder to go")
    assert not [d for d in runtime.cgroup_dirs() if "pod-halfmade" in d]


def test_the_sandbox_holder_lives_in_the_pod_cgroup(runtime: RuntimeUnderTest, cri: RuntimeClient) -> None:
    import json

    sandbox = cri.run_pod_sandbox(pod_config("holder"))
    info = json.loads(cri.pod_sandbox_status(sandbox, verbose=True).info["info"])
    assert info["pid"] in runtime.cgroup_pids()
    assert info["cgroup"].startswith(runtime.cgroup_root + "/")


def test_stopping_the_daemon_cleanly_leaves_containers_running(runtime: RuntimeUnderTest, cri: RuntimeClient) -> None:
    pod = pod_config("sigterm")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("c", ["sleep", "300"]), pod)
    cri.start_container(container)
    runtime.stop_daemon()
    cri = runtime.start()
    assert cri.container_status(container).status.state == api_pb2.CONTAINER_RUNNING
    assert cri.exec_sync(container, ["true"], timeout=5).exit_code == 0


def test_concurrent_creates_and_starts_in_one_pod(runtime: RuntimeUnderTest, cri: RuntimeClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    pod = pod_config("many")
    sandbox = cri.run_pod_sandbox(pod)

    def run(index: int) -> str:
        container = cri.create_container(sandbox, container_config(f"c{index}", ["sh", "-c", f"exit {index}"]), pod)
        cri.start_container(container)
        return container

    with ThreadPoolExecutor(8) as pool:
        containers = list(pool.map(run, range(12)))
    assert len(set(containers)) == 12
    codes = sorted(wait_for(lambda c=c: exited(cri, c), what="exit").exit_code for c in containers)
    assert codes == list(range(12))


def test_a_sandbox_whose_holder_died_is_not_ready(runtime: RuntimeUnderTest, cri: RuntimeClient) -> None:
    import json
    import signal

    sandbox = cri.run_pod_sandbox(pod_config("orphan"))
    holder = json.loads(cri.pod_sandbox_status(sandbox, verbose=True).info["info"])["pid"]
    os.kill(holder, signal.SIGKILL)
    wait_for(lambda: cri.pod_sandbox_status(sandbox).status.state == api_pb2.SANDBOX_NOTREADY, what="NOTREADY")
    cri.remove_pod_sandbox(sandbox)
    assert cri.list_pod_sandbox() == [] and runtime.cgroup_dirs() == []
