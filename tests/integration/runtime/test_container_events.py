"""GetContainerEvents streams created/started/stopped/deleted as they happen; exits are noticed
by the runtime itself, without anyone polling ContainerStatus."""

from __future__ import annotations

import json
import threading
import time

import pytest
from runtime_harness import RuntimeUnderTest, container_config, pod_config, wait_for

from cri import api_pb2
from cri.client import RuntimeClient

pytestmark = pytest.mark.root


def test_lifecycle_events_arrive_in_order_with_statuses(runtime: RuntimeUnderTest, cri: RuntimeClient) -> None:
    events: list[api_pb2.ContainerEventResponse] = []
    stream = cri.runtime.GetContainerEvents(api_pb2.GetEventsRequest(), timeout=60)

    def collect() -> None:
        try:
            for event in stream:
                events.append(event)
                if event.container_event_type == api_pb2.CONTAINER_DELETED_EVENT:
                    return
        except Exception:
            return

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    time.sleep(0.5)
    pod = pod_config("events")
    sandbox = cri.run_pod_sandbox(pod)
    container = cri.create_container(sandbox, container_config("brief", ["sh", "-c", "sleep 0.5"]), pod)
    cri.start_container(container)
    record = runtime.root / "containers" / container / "record.json"
    wait_for(lambda: json.loads(record.read_text())["state"] == "CONTAINER_EXITED", what="the exit to be recorded")
    cri.remove_container(container)
    reader.join(10)
    stream.cancel()
    kinds = [e.container_event_type for e in events if e.container_id == container]
    assert kinds == [api_pb2.CONTAINER_CREATED_EVENT, api_pb2.CONTAINER_STARTED_EVENT,
                     api_pb2.CONTAINER_STOPPED_EVENT, api_pb2.CONTAINER_DELETED_EVENT]
    stopped = next(e for e in events if e.container_event_type == api_pb2.CONTAINER_STOPPED_EVENT)
    assert stopped.pod_sandbox_status.id == sandbox
    assert [s.state for s in stopped.containers_statuses] == [api_pb2.CONTAINER_EXITED]
