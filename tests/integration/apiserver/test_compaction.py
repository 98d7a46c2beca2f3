"""The server compacts its store on its own, keeping one interval of history for watchers."""

from __future__ import annotations

import time

from apiserver_harness import start_server


def test_periodic_compaction_keeps_the_previous_interval(tmp_path) -> None:
    server = start_server(tmp_path, compaction_interval=0.3)
    try:
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
        first = server.request("POST", "/api/v1/namespaces/default/configmaps", cm).body
        deadline = time.monotonic() + 10
        compacted = 0
        while time.monotonic() < deadline and compacted < int(first["metadata"]["resourceVersion"]):
            time.sleep(0.1)
            compacted = server.run(server.server.store.compacted_revision())
        assert compacted >= int(first["metadata"]["resourceVersion"])
        assert compacted <= server.run(server.server.store.current_revision())
        r = server.request("GET", f"/api/v1/namespaces/default/configmaps?resourceVersion={compacted - 1}"
                                  "&resourceVersionMatch=Exact")
        assert r.status == 410
    finally:
        server.stop()
