"""`kyb cri` drives a whole pod lifecycle from crictl-style config files against real runtimes.

The same steps run against Debian's containerd (any other CRI v1 runtime) and against our own
`kyb runtime`: run a pod, create and start a container, list, exec, read logs (a line longer than
the runtime's limit arrives as partial records and must come back whole), stats, stop, remove,
then images, rmi and a pull from a registry on the runtime's loopback.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from crictl_runtimes import POD_CALLS as ALL_POD_CALLS
from crictl_runtimes import RuntimeUnderTest

from bench.references import busybox_image
from bench.references.netns import nsenter_prefix

POD_CALLS = tuple(c for c in ALL_POD_CALLS if c not in ("Exec", "Attach", "PortForward"))

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(600)]

LONG_LINE = "x" * 20000  # containerd here splits lines above 16 KiB into partial records


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"rc={result.returncode} stderr={result.stderr!r} stdout={result.stdout[:500]!r}"
    )
    return result.stdout


def _pod_config(tmp: Path, runtime: RuntimeUnderTest, name: str) -> Path:
    logs = tmp / f"logs-{name}"
    logs.mkdir(exist_ok=True)
    config = {
        "metadata": {"name": name, "namespace": "kybt", "uid": secrets.token_hex(8), "attempt": 0},
        "hostname": name,
        "log_directory": str(logs),
        "labels": {"app": name},
        "linux": {"cgroup_parent": runtime.cgroup_parent},
    }
    path = tmp / f"{name}-pod.json"
    path.write_text(json.dumps(config))
    return path


def _container_config(tmp: Path, runtime: RuntimeUnderTest, name: str, script: str) -> Path:
    config = {
        "metadata": {"name": name},
        "image": {"image": runtime.image},
        "command": ["sh", "-c", script],
        "log_path": f"{name}.log",
        "labels": {"role": name},
    }
    path = tmp / f"{name}-container.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_version_names_the_runtime_and_cri_v1(cri_runtime: RuntimeUnderTest) -> None:
    out = _ok(cri_runtime.kyb("version"))
    assert "RuntimeApiVersion:  v1" in out
    assert "RuntimeName:  " in out


def test_info_reports_runtime_conditions(cri_runtime: RuntimeUnderTest) -> None:
    info = json.loads(_ok(cri_runtime.kyb("info")))
    conditions = {c["type"]: c["status"] for c in info["status"]["conditions"]}
    assert conditions.get("RuntimeReady") is True


def test_full_pod_lifecycle_from_config_files(
    request: pytest.FixtureRequest, cri_runtime: RuntimeUnderTest, tmp_path: Path
) -> None:
    cri_runtime.needs(request, *POD_CALLS)
    rt = cri_runtime
    pod_cfg = _pod_config(tmp_path, rt, "lifecycle")
    script = f"echo hello; echo oops >&2; echo {LONG_LINE}; echo last; exec sleep 3600"
    ctr_cfg = _container_config(tmp_path, rt, "worker", script)

    pod_id = _ok(rt.kyb("runp", str(pod_cfg))).strip()
    assert pod_id and "\n" not in pod_id

    table = _ok(rt.kyb("pods"))
    assert table.splitlines()[0].split()[:2] == ["POD", "ID"]
    row = next(line for line in table.splitlines() if "lifecycle" in line)
    assert "Ready" in row and "kybt" in row
    assert _ok(rt.kyb("pods", "-q", "--name", "^lifecycle$")).split() == [pod_id]
    listed = json.loads(_ok(rt.kyb("pods", "-o", "json", "--label", "app=lifecycle")))
    assert [p["id"] for p in listed["items"]] == [pod_id]
    status = json.loads(_ok(rt.kyb("inspectp", pod_id)))
    assert status["status"]["state"] == "SANDBOX_READY"
    assert status["status"]["metadata"]["name"] == "lifecycle"

    ctr_id = _ok(rt.kyb("create", pod_id, str(ctr_cfg), str(pod_cfg))).strip()
    created = _ok(rt.kyb("ps", "-a", "--pod", pod_id))
    assert "Created" in created and "worker" in created
    assert _ok(rt.kyb("start", ctr_id)).strip() == ctr_id
    running = json.loads(_ok(rt.kyb("ps", "-o", "json")))
    mine = [c for c in running["containers"] if c["id"] == ctr_id]
    assert mine and mine[0]["state"] == "CONTAINER_RUNNING"
    ps_row = next(line for line in _ok(rt.kyb("ps")).splitlines() if ctr_id[:13] in line)
    assert "Running" in ps_row and "lifecycle" in ps_row and pod_id[:13] in ps_row

    sync = rt.kyb("exec", "-s", ctr_id, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (sync.returncode, sync.stdout, sync.stderr) == (3, "out\n", "err\n")

    _wait_for(lambda: "last" in rt.kyb("logs", ctr_id).stdout, what="the container's output in its log")
    logs = rt.kyb("logs", ctr_id)
    assert logs.returncode == 0
    assert logs.stdout == f"hello\n{LONG_LINE}\nlast\n"
    assert logs.stderr == "oops\n"
    assert _ok(rt.kyb("logs", "--tail", "1", "--stream", "stdout", ctr_id)) == "last\n"
    stamped = _ok(rt.kyb("logs", "--timestamps", "--stream", "stdout", ctr_id)).splitlines()
    assert stamped[0].endswith(" hello") and stamped[0][:4].isdigit() and "T" in stamped[0].split()[0]

    stats = json.loads(_ok(rt.kyb("stats", "-o", "json", "--id", ctr_id)))
    assert [s["attributes"]["id"] for s in stats["stats"]] == [ctr_id]
    table = _ok(rt.kyb("stats", "-s", "0.2", ctr_id))
    assert table.splitlines()[0].split()[:3] == ["CONTAINER", "NAME", "CPU"]

    pod_stats = json.loads(_ok(rt.kyb("statsp", "-o", "json", pod_id)))
    assert [s["attributes"]["id"] for s in pod_stats["stats"]] == [pod_id]
    assert _ok(rt.kyb("statsp", "-s", "0.2")).splitlines()[0].split() == [
        "POD",
        "POD",
        "ID",
        "CPU",
        "%",
        "MEM",
    ]

    inspected = json.loads(_ok(rt.kyb("inspect", ctr_id)))
    assert inspected["status"]["state"] == "CONTAINER_RUNNING"
    assert inspected["status"]["logPath"].endswith("worker.log")

    assert _ok(rt.kyb("update", "--memory", str(64 << 20), ctr_id)).strip() == ctr_id
    limits = [
        int(open(os.path.join(d, "memory.limit_in_bytes")).read())
        for d, _, files in os.walk(f"/sys/fs/cgroup/memory{rt.cgroup_parent}")
        if "memory.limit_in_bytes" in files and ctr_id in d
    ]
    assert limits == [64 << 20]

    assert _ok(rt.kyb("stop", "-t", "1", ctr_id)).strip() == ctr_id
    stopped = json.loads(_ok(rt.kyb("inspect", ctr_id)))["status"]
    assert stopped["state"] == "CONTAINER_EXITED"
    assert stopped["exitCode"] in (128 + signal.SIGTERM, 128 + signal.SIGKILL)
    assert _ok(rt.kyb("rm", ctr_id)).strip() == ctr_id
    assert ctr_id not in _ok(rt.kyb("ps", "-a", "-q"))

    assert _ok(rt.kyb("stopp", pod_id)).strip() == f"Stopped sandbox {pod_id}"
    assert "NotReady" in _ok(rt.kyb("pods", "--id", pod_id))
    assert _ok(rt.kyb("rmp", pod_id)).strip() == f"Removed sandbox {pod_id}"
    assert pod_id not in _ok(rt.kyb("pods", "-q"))


def test_logs_follow_ends_when_the_container_exits(
    request: pytest.FixtureRequest, cri_runtime: RuntimeUnderTest, tmp_path: Path
) -> None:
    cri_runtime.needs(request, *POD_CALLS)
    rt = cri_runtime
    pod_cfg = _pod_config(tmp_path, rt, "follower")
    ctr_cfg = _container_config(tmp_path, rt, "ticker", "echo one; sleep 2; echo two")
    pod_id = _ok(rt.kyb("runp", str(pod_cfg))).strip()
    try:
        ctr_id = _ok(rt.kyb("create", pod_id, str(ctr_cfg), str(pod_cfg))).strip()
        _ok(rt.kyb("start", ctr_id))
        followed = rt.kyb("logs", "-f", ctr_id, timeout=60)
        assert followed.returncode == 0
        assert followed.stdout == "one\ntwo\n"
        assert json.loads(_ok(rt.kyb("inspect", ctr_id)))["status"]["state"] == "CONTAINER_EXITED"
    finally:
        rt.kyb("rmp", "-f", pod_id)


def test_exec_streams_through_the_runtime_streaming_url(
    request: pytest.FixtureRequest, cri_runtime: RuntimeUnderTest, tmp_path: Path
) -> None:
    cri_runtime.needs(request, *POD_CALLS, "Exec")
    rt = cri_runtime
    pod_cfg = _pod_config(tmp_path, rt, "streamer")
    ctr_cfg = _container_config(tmp_path, rt, "sleeper", "exec sleep 3600")
    pod_id = _ok(rt.kyb("runp", str(pod_cfg))).strip()
    try:
        ctr_id = _ok(rt.kyb("create", pod_id, str(ctr_cfg), str(pod_cfg))).strip()
        _ok(rt.kyb("start", ctr_id))
        # The streaming server listens on the runtime's loopback, so the client runs in its netns.
        result = rt.kyb("exec", ctr_id, "sh", "-c", "echo streamed; echo to-err >&2; exit 4", in_netns=True)
        assert (result.returncode, result.stdout, result.stderr) == (4, "streamed\n", "to-err\n")
        piped = rt.kyb("exec", "-i", ctr_id, "head", "-n", "1", in_netns=True, stdin="from stdin\n")
        assert (piped.returncode, piped.stdout) == (0, "from stdin\n")
        code, screen = _exec_in_terminal(rt, ctr_id, [b"tty; echo $((6*7))\r", b"exit 3\r"])
        assert code == 3
        assert b"/dev/pts/" in screen and b"\r\n42\r\n" in screen
    finally:
        rt.kyb("rmp", "-f", pod_id)


def test_attach_streams_the_containers_output_until_it_exits(
    request: pytest.FixtureRequest, cri_runtime: RuntimeUnderTest, tmp_path: Path
) -> None:
    rt = cri_runtime
    rt.needs(request, *POD_CALLS, "Attach")
    pod_cfg = _pod_config(tmp_path, rt, "attached")
    ctr_cfg = _container_config(tmp_path, rt, "talker", "sleep 5; echo attached; sleep 1; exit 5")
    pod_id = _ok(rt.kyb("runp", str(pod_cfg))).strip()
    try:
        ctr_id = _ok(rt.kyb("create", pod_id, str(ctr_cfg), str(pod_cfg))).strip()
        _ok(rt.kyb("start", ctr_id))
        result = rt.kyb("attach", ctr_id, in_netns=True, timeout=60)
        assert "attached\n" in result.stdout, result.stderr
        assert json.loads(_ok(rt.kyb("inspect", ctr_id)))["status"]["exitCode"] == 5
    finally:
        rt.kyb("rmp", "-f", pod_id)


def test_port_forward_reaches_a_server_in_the_pod(
    request: pytest.FixtureRequest, cri_runtime: RuntimeUnderTest, tmp_path: Path
) -> None:
    import re
    import select
    import sys

    rt = cri_runtime
    rt.needs(request, *POD_CALLS, "PortForward")
    pod_cfg = _pod_config(tmp_path, rt, "served")
    script = "mkdir -p /www && echo hello-pf > /www/index.html && exec httpd -f -p 8080 -h /www"
    ctr_cfg = _container_config(tmp_path, rt, "httpd", script)
    pod_id = _ok(rt.kyb("runp", str(pod_cfg))).strip()
    forwarder = None
    try:
        _ok(rt.kyb("start", _ok(rt.kyb("create", pod_id, str(ctr_cfg), str(pod_cfg))).strip()))
        cmd = [*nsenter_prefix(rt.netns), sys.executable, "-m", "kyb", "cri", "-r", rt.endpoint]
        forwarder = subprocess.Popen(
            [*cmd, "port-forward", pod_id, "0:8080"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert forwarder.stdout is not None
        ready, _, _ = select.select([forwarder.stdout], [], [], 30)
        assert ready, "port-forward printed nothing within 30s"
        match = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> 8080", forwarder.stdout.readline())
        assert match, "port-forward did not say where it listens"
        fetch = [*nsenter_prefix(rt.netns), "busybox", "wget", "-qO-", f"http://127.0.0.1:{match.group(1)}/"]

        def served() -> bool:
            return "hello-pf" in subprocess.run(fetch, capture_output=True, text=True, timeout=20).stdout

        _wait_for(served, timeout=30, what="the pod's httpd through port-forward")
        assert served(), "a second connection must work too (each one gets a fresh URL)"
    finally:
        if forwarder is not None:
            forwarder.send_signal(signal.SIGINT)
            try:
                forwarder.wait(timeout=10)
            except subprocess.TimeoutExpired:
                forwarder.kill()
                forwarder.wait(timeout=10)
        rt.kyb("rmp", "-f", pod_id)


def _exec_in_terminal(rt: RuntimeUnderTest, ctr_id: str, keystrokes: list[bytes]) -> tuple[int, bytes]:
    """`kyb cri exec -it CTR sh` on a pseudo-terminal, typing `keystrokes`; (exit code, screen)."""
    import pty
    import select
    import sys

    cmd = [*nsenter_prefix(rt.netns), sys.executable, "-m", "kyb", "cri", "-r", rt.endpoint]
    cmd += ["exec", "-it", ctr_id, "sh"]
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes the client
        os.execvp(cmd[0], cmd)
    screen = b""

    def read_for(seconds: float) -> None:
        nonlocal screen
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    screen += os.read(fd, 4096)
                except OSError:
                    return

    try:
        read_for(3)
        for keys in keystrokes:
            os.write(fd, keys)
            read_for(2)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status), screen
            read_for(0.2)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError(f"exec -it did not end: {screen[-300:]!r}")
    finally:
        os.close(fd)


def test_unknown_ids_fail_in_one_line_with_the_grpc_code(
    request: pytest.FixtureRequest, cri_runtime: RuntimeUnderTest
) -> None:
    cri_runtime.needs(request, *POD_CALLS)
    result = cri_runtime.kyb("inspect", "no-such-container")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "NOT_FOUND" in result.stderr or "NotFound" in result.stderr.replace(" ", "")


def test_images_inspecti_and_imagefsinfo_show_the_store(cri_runtime: RuntimeUnderTest) -> None:
    rt = cri_runtime
    table = _ok(rt.kyb("images"))
    assert table.splitlines()[0].split() == ["IMAGE", "TAG", "IMAGE", "ID", "SIZE"]
    assert any(line.split()[:2] == ["docker.io/library/busybox", "latest"] for line in table.splitlines()[1:])
    status = json.loads(_ok(rt.kyb("inspecti", rt.image)))
    assert rt.image in status["status"]["repoTags"]
    fsinfo = json.loads(_ok(rt.kyb("imagefsinfo")))
    assert fsinfo["status"]["imageFilesystems"]


def _bcrypt(password: str) -> str:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))


def test_pull_with_creds_then_rmi_from_a_loopback_registry(
    cri_runtime: RuntimeUnderTest, tmp_path: Path
) -> None:
    """A registry that wants basic auth: no creds is refused in one line, --creds pulls.

    The pulled image has a config of its own (another image id), so removing it leaves the
    busybox image the other tests use alone.
    """
    rt = cri_runtime
    archive = busybox_image.write_oci_archive(
        str(tmp_path / "pulled.tar"), "kybt/busybox:pulled", cmd=["echo", "pulled"]
    ).path
    if shutil.which("docker-registry") is None or shutil.which("skopeo") is None:
        pytest.fail("docker-registry and skopeo are needed (apt-get install docker-registry skopeo)")
    storage = tmp_path / "registry"
    storage.mkdir()
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"kybt:{_bcrypt('s3cret')}\n")
    config = tmp_path / "registry.yml"
    config.write_text(
        f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n"
        f"auth:\n  htpasswd:\n    realm: kybt\n    path: {htpasswd}\n"
        "http:\n  addr: 127.0.0.1:5000\n  secret: kybt\n"
    )
    registry = subprocess.Popen(
        [*nsenter_prefix(rt.netns), "docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    ref = "127.0.0.1:5000/kybt/busybox:pulled"
    try:
        push = [
            *nsenter_prefix(rt.netns),
            "skopeo",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            "--dest-creds",
            "kybt:s3cret",
            f"oci-archive:{archive}",
            f"docker://{ref}",
        ]

        def pushed() -> bool:
            return subprocess.run(push, capture_output=True, timeout=120).returncode == 0

        _wait_for(pushed, timeout=30, what="the loopback registry to accept a push")
        refused = rt.kyb("pull", ref)
        assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
        assert "PullImage" in refused.stderr
        wrong = rt.kyb("pull", "--creds", "kybt:wrong", ref)
        assert wrong.returncode == 1
        out = _ok(rt.kyb("pull", "--creds", "kybt:s3cret", ref))
        assert out.startswith("Image is up to date for ")
        assert any(
            line.startswith("127.0.0.1:5000/kybt/busybox") for line in _ok(rt.kyb("images")).splitlines()
        )
        deleted = _ok(rt.kyb("rmi", ref))
        assert f"Deleted: {ref}" in deleted
        assert "kybt/busybox" not in _ok(rt.kyb("images"))
    finally:
        os.killpg(registry.pid, signal.SIGKILL)
        registry.wait(timeout=10)


def test_bad_config_value_is_named_and_nothing_is_created(
    request: pytest.FixtureRequest, cri_runtime: RuntimeUnderTest, tmp_path: Path
) -> None:
    cri_runtime.needs(request, *POD_CALLS)
    rt = cri_runtime
    bad = tmp_path / "bad-pod.json"
    bad.write_text(json.dumps({"metadata": {"name": "bad", "namespace": "kybt"}, "hostname": ["not", "a", "string"]}))
    before = _ok(rt.kyb("pods", "-q"))
    result = rt.kyb("runp", str(bad))
    assert result.returncode == 1
    assert "hostname" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _ok(rt.kyb("pods", "-q")) == before


def test_unknown_config_field_is_named_in_a_warning_and_the_pod_runs(
    request: pytest.FixtureRequest, cri_runtime: RuntimeUnderTest, tmp_path: Path
) -> None:
    cri_runtime.needs(request, *POD_CALLS)
    rt = cri_runtime
    path = _pod_config(tmp_path, rt, "extra")
    config = json.loads(path.read_text())
    config["log_dirctory"] = "/tmp"  # a typo: crictl ignores it, and so do we, but not silently
    path.write_text(json.dumps(config))
    result = rt.kyb("runp", str(path))
    pod_id = result.stdout.strip()
    try:
        assert result.returncode == 0 and pod_id
        assert "warning" in result.stderr and "log_dirctory" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert pod_id in _ok(rt.kyb("pods", "-q")).split()
    finally:
        if pod_id:
            rt.kyb("rmp", "-f", pod_id)


def test_run_starts_a_container_in_a_new_pod(
    request: pytest.FixtureRequest, cri_runtime: RuntimeUnderTest, tmp_path: Path
) -> None:
    rt = cri_runtime
    rt.needs(request, *POD_CALLS)
    pod_cfg = _pod_config(tmp_path, rt, "runner")
    ctr_cfg = _container_config(tmp_path, rt, "napper", "exec sleep 3600")
    ctr_id = _ok(rt.kyb("run", str(ctr_cfg), str(pod_cfg))).strip()
    listed = json.loads(_ok(rt.kyb("ps", "-o", "json", "--id", ctr_id)))["containers"]
    try:
        assert [c["state"] for c in listed] == ["CONTAINER_RUNNING"]
        assert listed[0]["labels"]["role"] == "napper"
    finally:
        for pod in listed:
            rt.kyb("rmp", "-f", pod["podSandboxId"])
