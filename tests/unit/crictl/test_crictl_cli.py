"""The `kyb cri` command line against an in-process fake CRI server on a unix socket.

The fake keeps a few pods, containers and images in memory and records the requests it gets, so
these tests check what crictl users see (tables, ids, exit codes, one-line errors) and what
reaches the runtime (filters, credentials) without root or a real runtime.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from fake_cri_server import run_cri, serving

from cri import api_pb2, api_pb2_grpc
from kyb.main import main


class FakeRuntime(api_pb2_grpc.RuntimeServiceServicer, api_pb2_grpc.ImageServiceServicer):
    def __init__(self) -> None:
        # Ages are relative to when the fake is made, not when the module was imported: under
        # xdist a module may run minutes after collection.
        now = self.now = time.time_ns()
        self.requests: list[Any] = []
        self.pods = [
            api_pb2.PodSandbox(
                id="a" * 64,
                metadata=api_pb2.PodSandboxMetadata(name="web", namespace="prod", uid="u1", attempt=1),
                state=api_pb2.SANDBOX_READY,
                created_at=now - 5 * 60 * 10**9,
            ),
            api_pb2.PodSandbox(
                id="b" * 64,
                metadata=api_pb2.PodSandboxMetadata(name="db", namespace="dev", uid="u2"),
                state=api_pb2.SANDBOX_NOTREADY,
                created_at=now - 60 * 60 * 10**9,
            ),
        ]
        self.containers = [
            api_pb2.Container(
                id="c" * 64,
                pod_sandbox_id="a" * 64,
                metadata=api_pb2.ContainerMetadata(name="nginx"),
                image=api_pb2.ImageSpec(image="sha256:" + "d" * 64),
                state=api_pb2.CONTAINER_RUNNING,
                created_at=now - 30 * 10**9,
            )
        ]

    def ListPodSandbox(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        items = [p for p in self.pods if not request.filter.id or p.id == request.filter.id]
        if request.filter.HasField("state"):
            items = [p for p in items if p.state == request.filter.state.state]
        return api_pb2.ListPodSandboxResponse(items=items)

    def PodSandboxStatus(self, request: Any, context: Any) -> Any:
        for p in self.pods:
            if p.id == request.pod_sandbox_id:
                status = api_pb2.PodSandboxStatus(
                    id=p.id, metadata=p.metadata, state=p.state, created_at=p.created_at
                )
                return api_pb2.PodSandboxStatusResponse(status=status, info={"extra": '{"pid": 42}'})
        context.abort(
            grpc.StatusCode.NOT_FOUND, f"pod sandbox {request.pod_sandbox_id!r} not found\nsecond line"
        )

    def RemovePodSandbox(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return api_pb2.RemovePodSandboxResponse()

    def ListContainers(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        items = list(self.containers)
        if request.filter.HasField("state"):
            items = [c for c in items if c.state == request.filter.state.state]
        return api_pb2.ListContainersResponse(containers=items)

    log_path = ""
    state = api_pb2.CONTAINER_RUNNING
    states_after_first_status: list[int] = []

    def ContainerStatus(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        c = next((c for c in self.containers if c.id == request.container_id), None)
        if c is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"container {request.container_id!r} not found")
        state = self.states_after_first_status.pop(0) if self.states_after_first_status else self.state
        status = api_pb2.ContainerStatus(
            id=c.id, metadata=c.metadata, state=state, created_at=c.created_at, log_path=self.log_path
        )
        return api_pb2.ContainerStatusResponse(status=status)

    def StopContainer(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return api_pb2.StopContainerResponse()

    def RemoveContainer(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return api_pb2.RemoveContainerResponse()

    def ExecSync(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return api_pb2.ExecSyncResponse(stdout=b"out\n", stderr=b"err\n", exit_code=7)

    def PullImage(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return api_pb2.PullImageResponse(image_ref="sha256:" + "e" * 64)

    def GetContainerEvents(self, request: Any, context: Any) -> Any:
        for kind in (api_pb2.CONTAINER_CREATED_EVENT, api_pb2.CONTAINER_STARTED_EVENT):
            yield api_pb2.ContainerEventResponse(
                container_id="c" * 64, container_event_type=kind, created_at=self.now
            )

    def ListImages(self, request: Any, context: Any) -> Any:
        image = api_pb2.Image(
            id="sha256:" + "e" * 64,
            repo_tags=["docker.io/library/busybox:latest"],
            repo_digests=["docker.io/library/busybox@sha256:" + "f" * 64],
            size=4_261_412,
        )
        return api_pb2.ListImagesResponse(images=[image])


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[tuple[FakeRuntime, str]]:
    runtime = FakeRuntime()
    with serving(runtime, tmp_path) as endpoint:
        yield runtime, endpoint




def test_pods_table_has_crictls_columns_newest_first(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, endpoint = fake
    code, out, _ = run_cri(capsys, endpoint, "pods")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["POD", "ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"]
    assert lines[1].split()[0] == "a" * 13 and "5 minutes ago" in lines[1] and "Ready" in lines[1]
    assert lines[1].split()[-3:] == ["prod", "1", "(default)"]
    assert "NotReady" in lines[2] and "About an hour ago" in lines[2]


def test_pods_filters_by_name_regex_and_state(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    runtime, endpoint = fake
    code, out, _ = run_cri(capsys, endpoint, "pods", "-q", "--name", "^d", "--state", "notready")
    assert (code, out) == (0, "b" * 64 + "\n")
    assert runtime.requests[-1].filter.state.state == api_pb2.SANDBOX_NOTREADY


def test_pods_json_lists_items_with_camel_case_fields(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, endpoint = fake
    code, out, _ = run_cri(capsys, endpoint, "pods", "-o", "json", "--namespace", "prod")
    doc = json.loads(out)
    assert code == 0 and [p["metadata"]["name"] for p in doc["items"]] == ["web"]
    assert "createdAt" in doc["items"][0]


def test_ps_shows_running_containers_with_their_pod(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    runtime, endpoint = fake
    code, out, _ = run_cri(capsys, endpoint, "ps")
    header, row = out.splitlines()
    assert code == 0
    assert header.split() == [
        "CONTAINER",
        "IMAGE",
        "CREATED",
        "STATE",
        "NAME",
        "ATTEMPT",
        "POD",
        "ID",
        "POD",
        "NAMESPACE",
    ]
    assert row.split()[:2] == ["c" * 13, "d" * 13]
    assert row.split()[-3:] == ["a" * 13, "web", "prod"]
    assert runtime.requests[-1].filter.state.state == api_pb2.CONTAINER_RUNNING


def test_inspectp_prints_status_and_info_with_rfc3339_dates(
    fake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, endpoint = fake
    code, out, _ = run_cri(capsys, endpoint, "inspectp", "a" * 64)
    doc = json.loads(out)
    assert code == 0 and doc["status"]["state"] == "SANDBOX_READY"
    assert doc["status"]["createdAt"].endswith("Z") and doc["extra"] == {"pid": 42}


def test_grpc_errors_are_one_line_with_the_code_and_exit_1(
    fake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, endpoint = fake
    code, out, err = run_cri(capsys, endpoint, "inspectp", "nope")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "NOT_FOUND" in err and "'nope' not found second line" in err


def test_rmp_refuses_a_ready_pod_without_force(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    runtime, endpoint = fake
    code, _, err = run_cri(capsys, endpoint, "rmp", "a" * 64)
    assert code == 1 and "please stop it first" in err
    assert not any(isinstance(r, api_pb2.RemovePodSandboxRequest) for r in runtime.requests)


def test_exec_sync_passes_the_commands_output_and_exit_code(
    fake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, endpoint = fake
    code, out, err = run_cri(capsys, endpoint, "exec", "-s", "--timeout", "5", "c" * 64, "sh", "-c", "exit 7")
    assert (code, out, err) == (7, "out\n", "err\n")
    request = runtime.requests[-1]
    assert list(request.cmd) == ["sh", "-c", "exit 7"] and request.timeout == 5


def test_pull_sends_creds_as_username_and_password(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    runtime, endpoint = fake
    code, out, _ = run_cri(capsys, endpoint, "pull", "--creds", "alice:s3:cret", "registry.local/app:1")
    assert code == 0 and out == f"Image is up to date for sha256:{'e' * 64}\n"
    request = runtime.requests[-1]
    assert (request.image.image, request.auth.username, request.auth.password) == (
        "registry.local/app:1",
        "alice",
        "s3:cret",
    )


def test_images_table_splits_repository_and_tag(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, endpoint = fake
    code, out, _ = run_cri(capsys, endpoint, "images")
    header, row = out.splitlines()
    assert code == 0 and header.split() == ["IMAGE", "TAG", "IMAGE", "ID", "SIZE"]
    assert row.split() == ["docker.io/library/busybox", "latest", "e" * 13, "4.26MB"]


def test_bad_command_lines_exit_2(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, endpoint = fake
    assert run_cri(capsys, endpoint, "pods", "--state", "sleepy")[0] == 2
    assert run_cri(capsys, endpoint, "pods", "--label", "novalue")[0] == 2
    assert run_cri(capsys, endpoint, "no-such-verb")[0] == 2
    assert run_cri(capsys, "ftp://nowhere", "pods")[0] == 2


def test_bad_timeout_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["cri", "--timeout", "soon", "version"])
    assert exit_info.value.code == 2


def test_unreachable_runtime_is_one_line_unavailable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cri(capsys, f"unix://{tmp_path}/absent.sock", "--timeout", "1s", "version")
    assert code == 1 and "UNAVAILABLE" in err and len(err.strip().splitlines()) == 1


def test_bad_pod_config_names_the_field_and_calls_nothing(
    fake: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    runtime, endpoint = fake
    config = tmp_path / "pod.json"
    config.write_text(json.dumps({"metadata": {"name": "x", "namespace": "y"}, "hostname": ["not", "a", "string"]}))
    code, _, err = run_cri(capsys, endpoint, "runp", str(config))
    assert code == 1 and "hostname" in err and len(err.strip().splitlines()) == 1
    assert runtime.requests == []


def test_logs_prints_the_log_file_the_status_names(
    fake: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    runtime, endpoint = fake
    log = tmp_path / "c.log"
    log.write_text(
        "2024-01-01T00:00:00.1Z stdout P par\n2024-01-01T00:00:00.2Z stdout F tial\n2024-01-01T00:00:00.3Z stderr F e\n"
    )
    runtime.log_path = str(log)
    code, out, err = run_cri(capsys, endpoint, "logs", "c" * 64)
    assert (code, out, err) == (0, "partial\n", "e\n")


def test_logs_follow_stops_once_the_container_is_not_running(
    fake: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    runtime, endpoint = fake
    log = tmp_path / "c.log"
    log.write_text("2024-01-01T00:00:00Z stdout F only\n")
    runtime.log_path = str(log)
    runtime.states_after_first_status = [api_pb2.CONTAINER_RUNNING, api_pb2.CONTAINER_RUNNING]
    runtime.state = api_pb2.CONTAINER_EXITED
    started = time.monotonic()
    code, out, _ = run_cri(capsys, endpoint, "logs", "-f", "c" * 64)
    assert (code, out) == (0, "only\n")
    assert time.monotonic() - started < 10


def test_rm_removes_the_container_and_its_log_file(
    fake: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    runtime, endpoint = fake
    log = tmp_path / "c.log"
    log.write_text("")
    (tmp_path / "c.log.1").write_text("")
    runtime.log_path = str(log)
    runtime.state = api_pb2.CONTAINER_EXITED
    code, out, _ = run_cri(capsys, endpoint, "rm", "c" * 64)
    assert (code, out) == (0, "c" * 64 + "\n")
    assert not log.exists() and not (tmp_path / "c.log.1").exists()
    assert isinstance(runtime.requests[-1], api_pb2.RemoveContainerRequest)


def test_rm_keep_logs_leaves_the_log_file(
    fake: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    runtime, endpoint = fake
    log = tmp_path / "c.log"
    log.write_text("")
    runtime.log_path = str(log)
    runtime.state = api_pb2.CONTAINER_EXITED
    assert run_cri(capsys, endpoint, "rm", "--keep-logs", "c" * 64)[0] == 0
    assert log.exists()


def test_rm_refuses_a_running_container_without_force(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    runtime, endpoint = fake
    code, _, err = run_cri(capsys, endpoint, "rm", "c" * 64)
    assert code == 1 and "please stop it first" in err
    assert not any(isinstance(r, api_pb2.RemoveContainerRequest) for r in runtime.requests)


def test_stop_all_stops_every_running_container_with_the_timeout(
    fake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, endpoint = fake
    code, out, _ = run_cri(capsys, endpoint, "stop", "-a", "-t", "7")
    stops = [r for r in runtime.requests if isinstance(r, api_pb2.StopContainerRequest)]
    assert (code, out) == (0, "c" * 64 + "\n")
    assert [(r.container_id, r.timeout) for r in stops] == [("c" * 64, 7)]


def test_inspect_of_a_created_container_has_zero_start_and_finish_times(
    fake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, endpoint = fake
    runtime.state = api_pb2.CONTAINER_CREATED
    code, out, _ = run_cri(capsys, endpoint, "inspect", "c" * 64)
    status = json.loads(out)["status"]
    assert code == 0 and status["state"] == "CONTAINER_CREATED"
    assert status["startedAt"] == status["finishedAt"] == "0001-01-01T00:00:00Z"
    assert status["createdAt"].endswith("Z")


def test_yaml_output_is_the_same_document(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    _, endpoint = fake
    _, as_json, _ = run_cri(capsys, endpoint, "pods", "-o", "json")
    _, as_yaml, _ = run_cri(capsys, endpoint, "pods", "-o", "yaml")
    assert yaml.safe_load(as_yaml) == json.loads(as_json)


def test_image_verbs_use_the_image_endpoint(
    fake: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    runtime, endpoint = fake
    code, _, err = run_cri(
        capsys, f"unix://{tmp_path}/absent.sock", "-i", endpoint, "--timeout", "2s", "images", "-q"
    )
    assert code == 0, err
    code, _, err = run_cri(capsys, f"unix://{tmp_path}/absent.sock", "-i", endpoint, "--timeout", "2s", "pods")
    assert code == 1 and "UNAVAILABLE" in err


def test_images_filter_by_reference_and_dangling(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, endpoint = fake
    assert (
        run_cri(capsys, endpoint, "images", "-q", "--filter", "reference=busy")[1] == "sha256:" + "e" * 64 + "\n"
    )
    assert run_cri(capsys, endpoint, "images", "-q", "--filter", "reference=^nginx")[1] == ""
    assert run_cri(capsys, endpoint, "images", "-q", "-f", "dangling=true")[1] == ""
    assert run_cri(capsys, endpoint, "images", "-f", "color=blue")[0] == 2


def test_events_prints_one_json_line_per_event(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, endpoint = fake
    code, out, _ = run_cri(capsys, endpoint, "events")
    events = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [e["containerEventType"] for e in events] == ["CONTAINER_CREATED_EVENT", "CONTAINER_STARTED_EVENT"]
